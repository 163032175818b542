/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-desk: a paravirtual desktop device (2D display by damage
 * rectangles, and input).  Wire protocol shared by the device and drivers.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions
 * are met:
 * 1. Redistributions of source code must retain the above copyright
 *    notice, this list of conditions and the following disclaimer.
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 * 3. Neither the name of the copyright holders nor the names of its
 *    contributors may be used to endorse or promote products derived from
 *    this software without specific prior written permission.
 *
 * THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS
 * ``AS IS'' AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT
 * LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS
 * FOR A PARTICULAR PURPOSE ARE DISCLAIMED.  IN NO EVENT SHALL THE
 * COPYRIGHT HOLDERS OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT,
 * INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING,
 * BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS
 * OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND
 * ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR
 * TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE
 * USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
 *
 * The normative description is docs/specs/virtio-desk.rst.  All fields are
 * little-endian.  Every struct is padded explicitly to a multiple of 8 bytes.
 */

#ifndef _LINUX_VIRTIO_DESK_H
#define _LINUX_VIRTIO_DESK_H

#include "standard-headers/linux/types.h"

/*
 * The virtio device ID.  63 is the highest ID a modern virtio-pci device can
 * have (PCI device ID 0x1040 + 63 = 0x107f); the virtio 1.3 spec assigns it
 * to nothing.
 */
#define VIRTIO_ID_DESK 63

/* --- Feature bits ---------------------------------------------------------
 *
 * Bits 0..23 are the device-specific range.  Reserved for later additions,
 * so that they never change the meaning of anything a driver relies on:
 *   bit 2  copy/blit of rectangles inside a resource
 * A driver acknowledges only the bits it knows; the device never sends and
 * accepts no command that belongs to a feature which was not negotiated.
 */
#define VIRTIO_DESK_F_INPUT  0 /* event and status queues, GET_INPUT_INFO */
#define VIRTIO_DESK_F_CURSOR 1 /* cursor queue: a cursor image and position per output */
#define VIRTIO_DESK_F_EDID   3 /* GET_EDID: an EDID per output */
#define VIRTIO_DESK_F_LAYOUT 4 /* GET_LAYOUT: where the outputs are on the desktop */
#define VIRTIO_DESK_F_WATCH  5 /* watched outputs, OUTPUTS_CURRENT: no copies for nobody */

/* --- Virtqueues ------------------------------------------------------------ */

#define VIRTIO_DESK_QUEUE_CONTROL 0  /* driver -> device commands, with responses */
#define VIRTIO_DESK_QUEUE_EVENT   1  /* device -> driver input events (F_INPUT) */
#define VIRTIO_DESK_QUEUE_STATUS  2  /* driver -> device LED state (F_INPUT) */
/*
 * driver -> device cursor updates (F_CURSOR).  A device that offers F_CURSOR
 * has queues 1 and 2 as well, even without F_INPUT, so that the cursor queue
 * is always queue 3.
 */
#define VIRTIO_DESK_QUEUE_CURSOR  3

/* --- Limits --------------------------------------------------------------- */

#define VIRTIO_DESK_MAX_OUTPUTS 16   /* outputs in one GET_DISPLAY_INFO answer */
#define VIRTIO_DESK_CURSOR_MAX  64   /* largest cursor width and height, in pixels */

/* --- Configuration space ---------------------------------------------------- */

/* Bits of events_read / events_clear. */
#define VIRTIO_DESK_EVENT_DISPLAY 0x1  /* bit 0: display info changed, re-read it */
#define VIRTIO_DESK_EVENT_WATCH   0x2  /* bit 1: watched changed, re-read it (F_WATCH) */

struct virtio_desk_config {
	__le32 events_read;    /* device: pending VIRTIO_DESK_EVENT_* bits (read-only) */
	__le32 events_clear;   /* driver: write 1s here to clear those bits */
	__le32 num_outputs;    /* outputs of this device, 1..VIRTIO_DESK_MAX_OUTPUTS */
	__le32 max_rects;      /* most rects in one TRANSFER_RECTS request */
	__le32 max_segments;   /* most descriptors in one request chain, response included */
	__le32 max_dimension;  /* largest resource width and height, in pixels */
	__le32 max_resources;  /* most resources alive at the same time */
	__le32 padding;        /* zero */
	__le64 max_hostmem;    /* bytes of pixel storage for all resources together */
	/*
	 * F_WATCH: bit N is set while something looks at output N (a UI client,
	 * a screendump, a migration).  While its bit is clear, a driver may keep
	 * an output's damage instead of transferring it; when the bit is set
	 * again, the driver transfers what it kept, then sends OUTPUTS_CURRENT.
	 * Without F_WATCH the field means nothing.
	 */
	__le32 watched;
	__le32 padding2;       /* zero */
};

/* --- Pixel formats ----------------------------------------------------------
 *
 * Values are the Linux DRM fourcc codes of the same name (drm_fourcc.h):
 * packed little-endian pixels, no padding between pixels of a row.  A device
 * that cannot show a format answers RESOURCE_CREATE with INVALID_PARAMETER
 * (QEMU: RGB565 on big-endian hosts).
 */
#define VIRTIO_DESK_FORMAT_XRGB8888 0x34325258  /* 'XR24': 32 bpp, [31:0] x:R:G:B */
#define VIRTIO_DESK_FORMAT_ARGB8888 0x34325241  /* 'AR24': 32 bpp, [31:0] A:R:G:B */
#define VIRTIO_DESK_FORMAT_XBGR8888 0x34324258  /* 'XB24': 32 bpp, [31:0] x:B:G:R */
#define VIRTIO_DESK_FORMAT_ABGR8888 0x34324241  /* 'AB24': 32 bpp, [31:0] A:B:G:R */
#define VIRTIO_DESK_FORMAT_RGB565   0x36314752  /* 'RG16': 16 bpp, [15:0] R:G:B 5:6:5 */

/* --- Control queue ------------------------------------------------------------
 *
 * Each request is one descriptor chain: the device-readable part holds the
 * command struct (and, for TRANSFER_RECTS, the rects and their pixels), the
 * device-writable part has room for the response.  The device handles
 * requests in the order the driver makes them available.  A request whose
 * writable part is too short for its response is not executed: it gets
 * ERR_INVALID_LENGTH if a virtio_desk_ctrl_hdr fits, else nothing is written.
 * Fields named padding must be zero (ERR_INVALID_PARAMETER).
 */
enum virtio_desk_ctrl_type {
	/* commands */
	VIRTIO_DESK_CMD_GET_DISPLAY_INFO = 0x0100,
	VIRTIO_DESK_CMD_RESOURCE_CREATE,
	VIRTIO_DESK_CMD_RESOURCE_DESTROY,
	VIRTIO_DESK_CMD_SET_SCANOUT,
	VIRTIO_DESK_CMD_TRANSFER_RECTS,
	VIRTIO_DESK_CMD_GET_INPUT_INFO,      /* F_INPUT */
	VIRTIO_DESK_CMD_GET_EDID,            /* F_EDID */
	VIRTIO_DESK_CMD_GET_LAYOUT,          /* F_LAYOUT */
	VIRTIO_DESK_CMD_OUTPUTS_CURRENT,     /* F_WATCH */

	/* cursor queue commands (F_CURSOR), answered with a ctrl_hdr */
	VIRTIO_DESK_CMD_CURSOR_DEFINE = 0x0300,
	VIRTIO_DESK_CMD_CURSOR_MOVE,

	/* success responses */
	VIRTIO_DESK_RESP_OK_NODATA = 0x1100,
	VIRTIO_DESK_RESP_OK_DISPLAY_INFO,
	VIRTIO_DESK_RESP_OK_INPUT_INFO,
	VIRTIO_DESK_RESP_OK_EDID,
	VIRTIO_DESK_RESP_OK_LAYOUT,

	/* error responses */
	VIRTIO_DESK_RESP_ERR_INVALID_COMMAND = 0x1200, /* unknown type, flags not 0 */
	VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY,            /* max_hostmem, max_resources, host */
	VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID,
	VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID,
	/* format, size, stride, count, area, padding not 0 */
	VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
	VIRTIO_DESK_RESP_ERR_INVALID_RECT,             /* empty, or outside the resource */
	/* request, payload or response buffer too short */
	VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
};

/* Starts every request and every response. */
struct virtio_desk_ctrl_hdr {
	__le32 type;   /* enum virtio_desk_ctrl_type */
	__le32 flags;  /* none defined: 0 in requests and responses */
};

/* A rectangle in pixels; x, y is its top-left corner. */
struct virtio_desk_rect {
	__le32 x;
	__le32 y;
	__le32 width;
	__le32 height;
};

/* VIRTIO_DESK_CMD_GET_DISPLAY_INFO: request is a bare virtio_desk_ctrl_hdr. */
struct virtio_desk_output_info {
	__le32 width;    /* preferred mode in pixels (what the user's window shows) */
	__le32 height;
	__le32 enabled;  /* 1 if a monitor is connected to this output */
	/*
	 * Refresh rate of the user's display in mHz; 0: unknown, drivers
	 * assume 60 Hz (devices before this field sent 0 here).
	 */
	__le32 refresh;
};

struct virtio_desk_resp_display_info {
	struct virtio_desk_ctrl_hdr hdr;  /* VIRTIO_DESK_RESP_OK_DISPLAY_INFO */
	struct virtio_desk_output_info outputs[VIRTIO_DESK_MAX_OUTPUTS];  /* past num_outputs: 0 */
};

/*
 * VIRTIO_DESK_CMD_RESOURCE_CREATE: a host-side 2D image, initially black.
 * A device reset destroys every resource and disables every output.
 */
struct virtio_desk_resource_create {
	struct virtio_desk_ctrl_hdr hdr;
	__le32 resource_id;  /* chosen by the driver, not 0, not in use */
	__le32 format;       /* VIRTIO_DESK_FORMAT_* */
	__le32 width;        /* 1..max_dimension */
	__le32 height;       /* 1..max_dimension */
};

/* VIRTIO_DESK_CMD_RESOURCE_DESTROY: outputs showing it are disabled first. */
struct virtio_desk_resource_destroy {
	struct virtio_desk_ctrl_hdr hdr;
	__le32 resource_id;
	__le32 padding;      /* zero */
};

/* VIRTIO_DESK_CMD_SET_SCANOUT: show rect src of a resource on an output. */
struct virtio_desk_set_scanout {
	struct virtio_desk_ctrl_hdr hdr;
	__le32 output_id;    /* 0..num_outputs-1 */
	__le32 resource_id;  /* 0 disables the output; src is then ignored */
	struct virtio_desk_rect src;  /* inside the resource; its size is the mode */
};

/*
 * VIRTIO_DESK_CMD_TRANSFER_RECTS: copy pixels into a resource.
 *
 * The device-readable bytes of the request form one stream:
 *   struct virtio_desk_transfer_rects
 *   struct virtio_desk_xfer_rect rects[num_rects]
 *   payload: pixel bytes, typically descriptors pointing straight at the
 *            driver's framebuffer pages
 * Row i (0-based) of rect r is read from payload bytes
 *   [r.offset + i * r.stride, r.offset + i * r.stride + r.width * bpp)
 * so a driver may send its whole framebuffer once and point every rect at
 * y * pitch + x * bpp, or send only the pages a rect covers.  Either all
 * rects are valid and copied, or nothing is.  The rects' areas add up to at
 * most the resource's (else ERR_INVALID_PARAMETER: send one full rect then),
 * which bounds the host's work per request.  Each rect is reported to every
 * output showing the resource, clipped to the output's src rectangle: the
 * display is told about exactly the pixels that changed.
 */
struct virtio_desk_xfer_rect {
	struct virtio_desk_rect r;  /* destination in the resource, not empty */
	__le32 stride;   /* payload bytes from one row to the next, >= width * bpp */
	__le32 padding;  /* zero */
	__le64 offset;   /* payload byte of the first pixel (r.x, r.y) */
};

struct virtio_desk_transfer_rects {
	struct virtio_desk_ctrl_hdr hdr;
	__le32 resource_id;
	__le32 num_rects;    /* 1..max_rects */
};

/*
 * VIRTIO_DESK_CMD_GET_EDID (F_EDID): the EDID of the monitor on an output,
 * describing the preferred mode and refresh rate of GET_DISPLAY_INFO, so a
 * display-change event means the EDID may have changed too.
 */
struct virtio_desk_get_edid {
	struct virtio_desk_ctrl_hdr hdr;
	__le32 output_id;    /* 0..num_outputs-1 */
	__le32 padding;      /* zero */
};

struct virtio_desk_resp_edid {
	struct virtio_desk_ctrl_hdr hdr;  /* VIRTIO_DESK_RESP_OK_EDID */
	__le32 size;         /* bytes of edid used: a multiple of 128, >= 128 */
	__le32 padding;      /* zero */
	__u8 edid[1024];     /* base block and extension blocks; the rest 0 */
};

/*
 * VIRTIO_DESK_CMD_GET_LAYOUT (F_LAYOUT): request is a bare
 * virtio_desk_ctrl_hdr.  Where the user's UI places each output's top-left
 * corner on one desktop spanning all outputs (QEMU: QemuUIInfo xoff/yoff),
 * so the guest can arrange its outputs the same way.  A display-change event
 * means the layout may have changed too.
 */
struct virtio_desk_output_position {
	__le32 x;        /* pixels from the desktop's left edge, 0 if unknown */
	__le32 y;        /* pixels from the desktop's top edge, 0 if unknown */
};

struct virtio_desk_resp_layout {
	struct virtio_desk_ctrl_hdr hdr;  /* VIRTIO_DESK_RESP_OK_LAYOUT */
	/* one per output; past num_outputs: 0 */
	struct virtio_desk_output_position outputs[VIRTIO_DESK_MAX_OUTPUTS];
};

/*
 * VIRTIO_DESK_CMD_OUTPUTS_CURRENT (F_WATCH): the driver has transferred all
 * it kept for these outputs: the resources they show are current as of this
 * request.  Answered with OK_NODATA.  A device that was asked for an
 * output's picture (a screendump) while its watched bit was clear waits for
 * this request, for a while; a driver sends it after every watched event
 * that set bits, for the outputs whose bits it found set.
 */
struct virtio_desk_outputs_current {
	struct virtio_desk_ctrl_hdr hdr;
	__le32 outputs;      /* bit per output; bits >= num_outputs are 0 */
	__le32 padding;      /* zero */
};

/* --- Cursor (F_CURSOR) -----------------------------------------------------
 *
 * Cursor requests go on their own queue, so that a big TRANSFER_RECTS on the
 * control queue never delays them.  Each request is one chain: the readable
 * part is exactly the command (for CURSOR_DEFINE with its pixels), the
 * writable part has room for a virtio_desk_ctrl_hdr, which gets OK_NODATA or
 * an error as on the control queue.  The device handles them in ring order.
 * A device reset hides the cursor of every output.
 */

/*
 * VIRTIO_DESK_CMD_CURSOR_MOVE: where the pointer is, a few bytes and no
 * pixels.  x, y is the position of the hotspot on the output, in pixels of
 * its mode; it may lie outside the mode, as a cursor can be partly off.
 */
struct virtio_desk_cursor_pos {
	struct virtio_desk_ctrl_hdr hdr;
	__le32 output_id;    /* 0..num_outputs-1 */
	__le32 visible;      /* 1 shows the cursor, 0 hides it */
	__le32 x;            /* signed, -max_dimension..max_dimension-1 */
	__le32 y;            /* signed, likewise */
};

/*
 * VIRTIO_DESK_CMD_CURSOR_DEFINE: a new cursor image for an output, and its
 * position.  The request is this struct followed by width * height ARGB8888
 * pixels (VIRTIO_DESK_FORMAT_ARGB8888, rows packed, alpha as the guest's
 * cursor plane has it), so its readable part is 40 + width * height * 4
 * bytes, no more, no less.  The device hands the pixels to the UI as they
 * are.
 */
struct virtio_desk_cursor_define {
	struct virtio_desk_cursor_pos pos;  /* hdr.type: CURSOR_DEFINE */
	__le32 width;        /* 1..VIRTIO_DESK_CURSOR_MAX */
	__le32 height;       /* 1..VIRTIO_DESK_CURSOR_MAX */
	__le32 hot_x;        /* hotspot in the image: 0..width-1 */
	__le32 hot_y;        /* 0..height-1 */
};

/* --- Input (F_INPUT) -------------------------------------------------------
 *
 * Two input devices, a keyboard and a pointer, speak Linux evdev: type,
 * code and value are those of linux/input-event-codes.h, and the events of
 * one device are grouped into frames ended by EV_SYN/SYN_REPORT.
 *
 * The event queue carries device -> driver events: the driver makes
 * device-writable buffers of one struct virtio_desk_input_event available;
 * the device fills one event per buffer, in order.  Events for which the
 * driver has no buffer wait in the device, in order, up to a bound (65536
 * events in QEMU); a frame that does not fit is dropped whole.
 *
 * The status queue carries driver -> device events: EV_LED of the keyboard
 * (LED_NUML, LED_CAPSL, LED_SCROLLL; value 0 or 1).  Each buffer is one
 * device-readable struct virtio_desk_input_event followed by a
 * device-writable struct virtio_desk_ctrl_hdr for the result.
 *
 * Pointer coordinates: ABS_X and ABS_Y run from 0 to 32767 across the output
 * named in the event, whatever its mode: the pixel in a mode of width W is
 * min(W - 1, round(value * W / 32767)), likewise for y (QEMU's UIs send
 * pixel * 32767 / W).  With the relative-pointer
 * property the device sends REL_X and REL_Y instead.  Wheels are REL_WHEEL
 * (+1 up, -1 down) and REL_HWHEEL (+1 right, -1 left).
 */
enum virtio_desk_input_device {
	VIRTIO_DESK_INPUT_KEYBOARD = 0,
	VIRTIO_DESK_INPUT_POINTER = 1,
	VIRTIO_DESK_INPUT_DEVICES = 2,  /* how many there are */
};

#define VIRTIO_DESK_INPUT_ABS_MAX 32767

struct virtio_desk_input_event {
	__le16 device;   /* enum virtio_desk_input_device */
	__le16 output;   /* pointer events: the output the coordinates refer to */
	__le16 type;     /* EV_* */
	__le16 code;     /* KEY_*, BTN_*, REL_*, ABS_*, LED_*, SYN_* */
	__le32 value;    /* signed */
	__le32 padding;  /* zero */
};

/* VIRTIO_DESK_CMD_GET_INPUT_INFO: what one input device can report. */
struct virtio_desk_get_input_info {
	struct virtio_desk_ctrl_hdr hdr;
	__le32 device;   /* enum virtio_desk_input_device */
	__le32 padding;  /* zero */
};

struct virtio_desk_input_absinfo {
	__le32 min;      /* signed, like struct input_absinfo */
	__le32 max;
	__le32 fuzz;
	__le32 flat;
	__le32 res;
	__le32 padding;  /* zero */
};

struct virtio_desk_resp_input_info {
	struct virtio_desk_ctrl_hdr hdr;  /* VIRTIO_DESK_RESP_OK_INPUT_INFO */
	char name[32];        /* NUL-terminated */
	__le16 bustype;       /* struct input_id */
	__le16 vendor;
	__le16 product;
	__le16 version;
	__le32 ev_bits;       /* bit n: events of type n (EV_CNT = 32) */
	__le32 rel_bits;      /* bit n: REL_* n (REL_CNT = 16) */
	__le64 abs_bits;      /* bit n: ABS_* n (ABS_CNT = 64) */
	__le32 led_bits;      /* bit n: LED_* n (LED_CNT = 16) */
	__le32 padding;       /* zero */
	__u8 key_bits[96];    /* bit n of byte n / 8: KEY_* or BTN_* n (KEY_CNT = 768) */
	struct virtio_desk_input_absinfo abs_x;  /* valid if abs_bits has ABS_X */
	struct virtio_desk_input_absinfo abs_y;  /* valid if abs_bits has ABS_Y */
};

#endif /* _LINUX_VIRTIO_DESK_H */
