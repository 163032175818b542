/*
 * virtio-desk protocol client for qtests: the driver side of the control,
 * event, status and cursor queues, QMP input injection and screendumps.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_DESK_CLIENT_H
#define TESTS_LIBQOS_VIRTIO_DESK_CLIENT_H

#include "virtio-desk.h"
#include "standard-headers/linux/virtio_desk.h"

/* Offset of @field in the device's configuration space. */
#define QDESK_CFG(field) offsetof(struct virtio_desk_config, field)

/* How long to wait for the device to use a buffer, or a migration to end. */
#define QDESK_TIMEOUT_US (30 * G_USEC_PER_SEC)

typedef struct QDesk {
    QTestState *qts;
    QVirtioDeskPCI *pci;
    QVirtioDevice *vdev;
    QGuestAllocator *alloc;
    QVirtQueue *vq;
    /* with VIRTIO_DESK_F_INPUT */
    QVirtQueue *event_vq;
    QVirtQueue *status_vq;
    uint64_t event_bufs;   /* one event-sized slot per event_vq descriptor */
    /* where the device offers VIRTIO_DESK_F_CURSOR */
    QVirtQueue *cursor_vq;
} QDesk;

/* One device-readable piece of a request. */
typedef struct QDeskSeg {
    const void *data;
    size_t len;
} QDeskSeg;

/* Start the device accepting the device-specific features in @accept. */
QDesk qdesk_start_features(void *obj, QGuestAllocator *alloc, uint64_t accept);
/*
 * ... accepting every feature the device offers but F_WATCH, whose pulls
 * hold up screendumps until the driver answers them (virtio-desk-watch-test).
 */
QDesk qdesk_start(void *obj, QGuestAllocator *alloc);
/* Free what qdesk_start() set up in the guest and the test. */
void qdesk_stop(QDesk *d);

uint32_t qdesk_submit(QDesk *d, const QDeskSeg *segs, int nseg, void *resp,
                      size_t resp_len, bool indirect);
/* qdesk_submit() on queue @vq, without an indirect table. */
uint32_t qdesk_submit_vq(QDesk *d, QVirtQueue *vq, const QDeskSeg *segs,
                         int nseg, void *resp, size_t resp_len);
uint32_t qdesk_cmd_segs(QDesk *d, const QDeskSeg *segs, int nseg);
uint32_t qdesk_cmd(QDesk *d, const void *req, size_t len);
uint32_t qdesk_create(QDesk *d, uint32_t id, uint32_t format,
                      uint32_t width, uint32_t height);
uint32_t qdesk_destroy(QDesk *d, uint32_t id);
uint32_t qdesk_scanout(QDesk *d, uint32_t output, uint32_t id,
                       uint32_t x, uint32_t y, uint32_t w, uint32_t h);
struct virtio_desk_xfer_rect qdesk_xrect(uint32_t x, uint32_t y, uint32_t w,
                                         uint32_t h, uint32_t stride,
                                         uint64_t offset);
uint32_t qdesk_transfer(QDesk *d, uint32_t id, uint32_t num_rects,
                        const struct virtio_desk_xfer_rect *rects,
                        size_t rects_len, const void *payload,
                        size_t payload_len, size_t chunk);
void qdesk_assert_alive(QDesk *d);

/* --- cursor ------------------------------------------------------------ */

/* Send a request of @nseg segments on the cursor queue; the response type. */
uint32_t qdesk_cursor_cmd_segs(QDesk *d, const QDeskSeg *segs, int nseg);
/* CURSOR_MOVE */
uint32_t qdesk_cursor_move(QDesk *d, uint32_t output, int32_t x, int32_t y,
                           bool visible);
/* CURSOR_DEFINE of a @w x @h image @argb (host-endian 0xAARRGGBB). */
uint32_t qdesk_cursor_define(QDesk *d, uint32_t output, int32_t x, int32_t y,
                             uint32_t w, uint32_t h, uint32_t hot_x,
                             uint32_t hot_y, const uint32_t *argb);
/* A @w x @h image that differs in every pixel and with @seed. */
uint32_t *qdesk_cursor_image(uint32_t w, uint32_t h, uint32_t seed);

/* --- input ------------------------------------------------------------- */

/* Make @n event buffers of @len bytes available (descriptors 0..n-1). */
void qdesk_event_post(QDesk *d, unsigned int n, uint32_t len);
/* Wait for @n used event buffers; returns their events (and lengths). */
void qdesk_event_read(QDesk *d, unsigned int n,
                      struct virtio_desk_input_event *ev, uint32_t *lens);
/* Is another used event buffer there right now? */
bool qdesk_event_pending(QDesk *d);
/* One expected event: its device, type, code and value (output 0). */
typedef struct QDeskEv {
    uint16_t device, type, code;
    int32_t value;
} QDeskEv;
/* Read @n events and assert they are @want, and that no more are there. */
void qdesk_expect_events(QDesk *d, const QDeskEv *want, unsigned int n);
/* Send @len bytes on the status queue; returns the used length. */
uint32_t qdesk_status_submit(QDesk *d, const void *msg, size_t len,
                             void *resp, size_t resp_len);
/* ... with a full result buffer; returns the response type. */
uint32_t qdesk_status_send(QDesk *d, const void *msg, size_t len);

/*
 * Inject input as a VNC or SPICE client would, with one QMP
 * input-send-event: @events is a comma-separated list of InputEvent
 * objects in JSON.  With @head >= 0 they come from that output's console
 * of the device QVIRTIO_DESK_ID; else from no console in particular, and
 * go where QEMU's input focus is.
 */
void qdesk_send_events(QTestState *qts, int head, const char *events);
/* The InputEvent pressing (@down) or releasing a key, by QKeyCode name. */
char *qdesk_key_event(const char *qcode, bool down);
/* Press (@down) or release a key, by QKeyCode name. */
void qdesk_send_key(QTestState *qts, const char *qcode, bool down);

/* --- screen ------------------------------------------------------------ */

/* What QMP screendump shows of one output: 3 bytes a pixel, R G B. */
typedef struct QDeskImage {
    uint32_t width, height;
    uint8_t *rgb;           /* g_free() it */
} QDeskImage;

/* Screendump of output @head of the device with id QVIRTIO_DESK_ID. */
QDeskImage qdesk_screendump(QTestState *qts, int head);
/*
 * The same in two steps, for a device that waits for its driver: ask, and
 * read the answer (frees the path begin returned).
 */
char *qdesk_screendump_begin(QTestState *qts, int head);
QDeskImage qdesk_screendump_end(QTestState *qts, char *path);

/* A guest framebuffer: what the guest believes is on screen. */
typedef struct QDeskFb {
    uint32_t format, width, height, pitch, bpp;
    uint8_t *data;          /* g_free() it */
} QDeskFb;

/* Bytes per pixel of a VIRTIO_DESK_FORMAT_*. */
uint32_t qdesk_format_bpp(uint32_t format);
/* A black framebuffer of @pitch bytes a row. */
QDeskFb qdesk_fb_new(uint32_t format, uint32_t width, uint32_t height,
                     uint32_t pitch);
/* Fill a rect of @fb with a pattern that differs in every pixel and byte. */
void qdesk_fb_paint(QDeskFb *fb, uint32_t x, uint32_t y, uint32_t w,
                    uint32_t h, uint32_t seed);
/*
 * Send the @n rects x, y, width, height of @fb to resource @id, the whole
 * framebuffer as payload (stride = pitch) in descriptors of @chunk bytes
 * (0: one); returns the response type.
 */
uint32_t qdesk_fb_send(QDesk *d, const QDeskFb *fb, uint32_t id,
                       const uint32_t (*r)[4], int n, size_t chunk);
/*
 * Output @head shows exactly rect sx, sy, w, h of @shown (what was never
 * sent is black on both).
 */
void qdesk_assert_screen(QDesk *d, int head, const QDeskFb *shown,
                         uint32_t sx, uint32_t sy, uint32_t w, uint32_t h);
/* ... of a screendump taken already; frees its pixels. */
void qdesk_assert_image(QDeskImage img, const QDeskFb *shown,
                        uint32_t sx, uint32_t sy, uint32_t w, uint32_t h);

/* --- VGA (virtio-desk-vga) --------------------------------------------- */

/*
 * The VBE mode qdesk_vga_set_mode() sets: small, 8 bits a pixel through the
 * palette, so that VGA draws into a surface of its own (a 32-bit mode would
 * share VGA memory, and VGA notices by itself when that surface was
 * replaced).
 */
#define QDESK_VGA_W 64
#define QDESK_VGA_H 32

/* What a VGA BIOS does for a VBE mode with a linear framebuffer. */
void qdesk_vga_set_mode(QDesk *d);
/* The console shows the VBE mode of qdesk_vga_set_mode(). */
void qdesk_assert_vga_shown(QDesk *d);
void qdesk_assert_vga_hidden(QDesk *d);

#endif
