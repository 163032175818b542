/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmslib: the raw-ioctl DRM and evdev plumbing the guest test programs
 * (kmstest, keypaint) share.  One connector and its CRTC at a time; dumb
 * buffers.
 */
#ifndef KMSLIB_H
#define KMSLIB_H

#define _GNU_SOURCE	/* program_invocation_short_name; include this header first */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drm/drm.h>
#include <drm/drm_mode.h>

extern int fd;			/* the DRM device */
extern uint32_t conn_id, crtc_id;
extern struct drm_mode_modeinfo modes[256];
extern unsigned int nmodes;

#define die(...) do { fprintf(stderr, "%s: ", program_invocation_short_name); \
		      fprintf(stderr, __VA_ARGS__); \
		      fprintf(stderr, " (%s)\n", strerror(errno)); exit(1); } while (0)

#define FMT_XR24 0x34325258
#define FMT_AR24 0x34325241
#define FMT_XB24 0x34324258
#define FMT_AB24 0x34324241
#define FMT_RG16 0x36314752

struct fb {
	uint32_t w, h, pitch, handle, id;
	uint64_t size;
	uint32_t *map;
};

struct rect { uint32_t x, y, w, h; };

static inline uint32_t *px(struct fb *f, uint32_t x, uint32_t y)
{
	return (uint32_t *)((char *)f->map + (size_t)y * f->pitch) + x;
}

/* --- DRM --- */

int xioctl(unsigned long req, void *arg);
void probe(void);			/* the first connected connector, CRTC 0 */
void probe_output(unsigned int n);	/* connector n, which must be connected, and CRTC n */
const struct drm_mode_modeinfo *find_mode(uint32_t w, uint32_t h);
void fb_create_fmt(struct fb *f, uint32_t w, uint32_t h, uint32_t fmt);
void fb_create(struct fb *f, uint32_t w, uint32_t h);
void fb_destroy(struct fb *f);
void set_crtc(struct fb *f, const struct drm_mode_modeinfo *mode);
/* DIRTYFB of n (at most 64) rects: 0 or -errno; dirty() dies on an error. */
int try_dirty(struct fb *f, const struct rect *r, unsigned int n);
void dirty(struct fb *f, const struct rect *r, unsigned int n);
void flip(struct fb *f);
double now(void);

/* --- the base pattern (mirrored in rig.py, Canvas) --- */

uint32_t base_px(uint32_t x, uint32_t y);
void fill_base(struct fb *f, uint32_t inv);	/* inv 0xffffff: Canvas(invert=True) */

/*
 * Print "@@STAGE <name>@@" and wait for a line on stdin (exit at its end),
 * so that the host can capture the screen at each stage.
 */
void stage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- evdev --- */

/* The input device whose name contains @name, opened non-blocking; -1 if none. */
int open_input(const char *name, char *devname, size_t len);

#endif
