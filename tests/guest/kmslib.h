/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmslib: the raw-ioctl DRM and evdev plumbing the guest test programs
 * (kmstest, keypaint, stress, ...) share.  One connector and its CRTC at a time; dumb
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

/* --- atomic (needs DRM_CLIENT_CAP_ATOMIC) --- */

/* Id (and value) of the property called name of a KMS object; dies without it. */
uint32_t obj_prop(uint32_t obj, uint32_t type, const char *name, uint64_t *value);
/* Index of a CRTC in the card's list: its bit in possible_crtcs, its vblank pipe. */
uint32_t crtc_index_of(uint32_t crtc);
/* The primary plane that can show crtc (needs DRM_CLIENT_CAP_UNIVERSAL_PLANES). */
uint32_t primary_plane(uint32_t crtc);

/* An atomic request built object by object: req_add() the props of one object in a row. */
struct atomic_req {
	uint32_t objs[8], counts[8], props[32];
	uint64_t vals[32];
	unsigned int nobj, nprop;
};

void req_add(struct atomic_req *r, uint32_t obj, uint32_t prop, uint64_t val);
/* DRM_IOCTL_MODE_ATOMIC of the request: 0 or -errno. */
int req_commit(struct atomic_req *r, uint32_t flags, uint64_t user_data);

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
