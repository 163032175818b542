/*
 * virtio-desk: paravirtual desktop device (2D display by damage rectangles)
 *
 * The QOM type and its state; what the device's own files share is in
 * hw/display/virtio-desk-internal.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_VIRTIO_DESK_H
#define HW_VIRTIO_DESK_H

#include "hw/virtio/virtio.h"
#include "ui/console.h"
#include "ui/input.h"
#include "qemu/notify.h"
#include "qemu/timer.h"
#include "qom/object.h"
#include "standard-headers/linux/virtio_desk.h"

#define TYPE_VIRTIO_DESK "virtio-desk-device"
OBJECT_DECLARE_SIMPLE_TYPE(VirtIODesk, VIRTIO_DESK)

typedef struct VirtIODeskResource {
    uint32_t id;
    uint32_t format;              /* VIRTIO_DESK_FORMAT_* */
    uint32_t width;
    uint32_t height;
    uint32_t bpp;                 /* bytes per pixel */
    uint64_t hostmem;             /* bytes charged against max_hostmem */
    pixman_image_t *image;        /* host copy of the pixels */
} VirtIODeskResource;

/* The cursor of one output, as the guest last defined and moved it. */
typedef struct VirtIODeskCursor {
    bool defined;                 /* an image was defined since reset */
    bool visible;
    bool shown;                   /* the console has this image, not hidden */
    int32_t x, y;                 /* hotspot position on the output */
    uint32_t width, height;       /* 0 until defined */
    uint32_t hot_x, hot_y;
    uint32_t npixels;             /* width * height, for the stream */
    uint32_t pixels[VIRTIO_DESK_CURSOR_MAX * VIRTIO_DESK_CURSOR_MAX];
} VirtIODeskCursor;

typedef struct VirtIODeskOutput {
    VirtIODesk *desk;             /* the console's opaque is the output */
    uint32_t index;
    QemuConsole *con;
    /* what the guest shows: NULL resource means disabled */
    VirtIODeskResource *res;
    uint32_t src_x, src_y, src_width, src_height;
    uint32_t resource_id;         /* res's id, in the migration stream only */
    /* what the user's window asks for (GET_DISPLAY_INFO, GET_EDID) */
    uint32_t pref_width, pref_height;
    uint32_t pref_refresh;        /* mHz, 0 if the UI does not say */
    uint16_t width_mm, height_mm; /* physical size, 0 if the UI does not say */
    uint32_t pos_x, pos_y;        /* place on the UI's desktop (GET_LAYOUT) */
    bool connected;
    /* F_WATCH, QEMU_CLOCK_REALTIME in ms (virtio-desk-watch.c) */
    int64_t watch_seen_ms;        /* the console's last gfx_update */
    int64_t pull_deadline_ms;     /* a gfx_update waits until then, or 0 */
} VirtIODeskOutput;

struct VirtIODesk {
    VirtIODevice parent_obj;

    /* properties */
    uint32_t xres;
    uint32_t yres;
    uint32_t max_outputs;
    uint64_t max_hostmem;
    bool input;
    bool edid;
    bool cursor;
    bool relative_pointer;
    uint32_t refresh_prompt_ms;   /* 0: never prompt the UIs' refresh */
    bool watch;                   /* offer VIRTIO_DESK_F_WATCH */
    uint32_t watch_timeout_ms;    /* unwatched this long after a pull */
    uint32_t pull_timeout_ms;     /* a pull waits this long for the driver */
    /*
     * x-stall, for tests: while set, control requests stay in the ring
     * unanswered, as on a host too busy to serve them (not migrated)
     */
    bool stall;

    /* virtqueues */
    VirtQueue *ctrl_vq;
    QEMUBH *ctrl_bh;              /* handles the control queue */
    VirtQueue *event_vq;          /* NULL without input and cursor */
    VirtQueue *status_vq;
    QEMUBH *status_bh;            /* the status queue after a batch */
    VirtQueue *cursor_vq;         /* NULL without cursor */
    QEMUBH *cursor_bh;            /* the cursor queue after a batch */

    /* config space */
    uint32_t events_read;
    uint32_t watched;             /* bit per output somebody looks at */

    /* who watches (virtio-desk-watch.c) */
    QEMUTimer *watch_timer;
    NotifierWithReturn migration_notifier;
    bool migrating;

    /* resources, by id */
    GHashTable *resources;
    uint64_t hostmem_used;

    /* outputs */
    VirtIODeskOutput outputs[VIRTIO_DESK_MAX_OUTPUTS];
    DisplayChangeListener prompt_dcl; /* pulls the UIs' refresh in on damage */
    /* QEMU_CLOCK_REALTIME of the last refresh that a prompt pulled in */
    int64_t prompted_refresh_ms;
    VirtIODeskCursor cursors[VIRTIO_DESK_MAX_OUTPUTS];
    /*
     * For virtio-desk-vga, whose VGA shares output 0's console: the driver
     * has shown a resource on output 0 since the last reset (VGA is off),
     * and how many times output 0 has put its surface on the console (VGA
     * must draw a new one after that).
     */
    bool scanout_enabled;
    uint32_t console_claims;

    /* input: events wait in a ring, in wire format, for guest buffers */
    QemuInputHandlerState *input_handler;
    bool input_active;            /* driver OK with VIRTIO_DESK_F_INPUT */
    struct virtio_desk_input_event *pending;
    uint32_t pending_head;        /* index of the oldest event */
    uint32_t pending_count;
    uint32_t frame_start;         /* pending_count when the frame began */
    uint32_t frame_devices;       /* bit per input device in this frame */
    bool frame_dropped;           /* this frame did not fit: drop it all */
    uint32_t dropped_frames;
    int ledstate;                 /* QEMU_*_LOCK_LED */
};

#endif
