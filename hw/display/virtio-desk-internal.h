/*
 * virtio-desk: what the device's files share, not part of its interface
 *
 * The limits, the guest error macro and the functions one part of the
 * device calls in another, as vga_int.h is for VGA.  The QOM type and its
 * state are in include/hw/virtio/virtio-desk.h.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_DISPLAY_VIRTIO_DESK_INTERNAL_H
#define HW_DISPLAY_VIRTIO_DESK_INTERNAL_H

#include "qemu/log.h"
#include "hw/virtio/virtio-desk.h"

/* Limits the device advertises in its config space. */
#define VIRTIO_DESK_MAX_RECTS         1024
#define VIRTIO_DESK_MAX_DIMENSION     16384
#define VIRTIO_DESK_MAX_RESOURCES     1024
#define VIRTIO_DESK_CTRL_QUEUE_SIZE   1024  /* == VIRTQUEUE_MAX_SIZE */
/*
 * max_segments, descriptors in one request chain.  QEMU's virtio core maps
 * a chain into at most VIRTQUEUE_MAX_SIZE host segments, one for each guest
 * memory region a descriptor touches, and fails a chain that needs more
 * with virtio_error() before the device sees it.  Half of that leaves room
 * for every descriptor of a chain to cross one region boundary.
 */
#define VIRTIO_DESK_MAX_SEGMENTS      (VIRTQUEUE_MAX_SIZE / 2)

#define VIRTIO_DESK_INPUT_QUEUE_SIZE  256
#define VIRTIO_DESK_CURSOR_QUEUE_SIZE 64

/*
 * Requests one run of a queue's handler takes at most: the rest wait for
 * the queue's bottom half, after the main loop's turn (QMP, the UIs), so
 * that vCPUs that keep a ring full cannot starve them.
 */
#define VIRTIO_DESK_BATCH             64
#define VIRTIO_DESK_INPUT_PENDING_MAX 65536  /* events waiting for buffers */

/*
 * The PCI proxies' properties (virtio-desk-pci, virtio-desk-vga): an MSI-X
 * vector for each of the four queues and one for configuration changes, as
 * virtio-gpu-pci has, instead of a legacy interrupt shared with others.
 */
#define VIRTIO_DESK_PCI_VECTORS       5
#define DEFINE_VIRTIO_DESK_PCI_PROPERTIES(_state)                      \
    DEFINE_PROP_UINT32("vectors", _state, nvectors, VIRTIO_DESK_PCI_VECTORS)

/*
 * Reject a request: one guest error line, "virtio-desk: <func>: ...", and
 * the VIRTIO_DESK_RESP_ERR_* to answer in (req)->error.
 */
#define desk_guest_error_in(func, req, err, fmt, ...)                   \
    do {                                                                \
        qemu_log_mask(LOG_GUEST_ERROR, "virtio-desk: %s: " fmt "\n",    \
                      (func), ## __VA_ARGS__);                          \
        (req)->error = (err);                                           \
    } while (0)

#define desk_guest_error(req, err, fmt, ...) \
    desk_guest_error_in(__func__, req, err, fmt, ## __VA_ARGS__)

/* virtio-desk.c */
bool virtio_desk_queue_yield(VirtIODevice *vdev, VirtQueue *vq, bool spent,
                             unsigned int handled);
void virtio_desk_queue_continue(VirtIODevice *vdev, VirtQueue *vq, QEMUBH *bh,
                                bool more, bool in_bh);

/* virtio-desk-resource.c */
VirtIODeskResource *virtio_desk_find_resource(VirtIODesk *s, uint32_t id);
uint32_t virtio_desk_resource_new(VirtIODesk *s, uint32_t id, uint32_t format,
                                  uint32_t width, uint32_t height,
                                  const char **why);
void virtio_desk_resource_free(gpointer res);
void virtio_desk_resource_destroy(VirtIODesk *s, VirtIODeskResource *res);
void virtio_desk_destroy_all(VirtIODesk *s);
bool virtio_desk_rect_valid(VirtIODeskResource *res, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h);
extern const VMStateInfo virtio_desk_vmstate_info_resources;

/* virtio-desk-output.c: output consoles' ops, wrapped by virtio-desk-vga */
extern const GraphicHwOps virtio_desk_hw_ops;
void virtio_desk_output_set(VirtIODesk *s, uint32_t output_id,
                            VirtIODeskResource *res, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h);
void virtio_desk_output_disable(VirtIODesk *s, uint32_t output_id);
void virtio_desk_outputs_update(VirtIODesk *s, VirtIODeskResource *res,
                                uint32_t x, uint32_t y, uint32_t w, uint32_t h);
void virtio_desk_prompt_init(VirtIODesk *s);
void virtio_desk_prompt_fini(VirtIODesk *s);

/* virtio-desk-watch.c */
void virtio_desk_watch_realize(VirtIODesk *s);
void virtio_desk_watch_unrealize(VirtIODesk *s);
void virtio_desk_watch_reset(VirtIODesk *s);
bool virtio_desk_output_pull(VirtIODesk *s, uint32_t output_id);
void virtio_desk_outputs_current(VirtIODesk *s, uint32_t outputs);
extern const VMStateDescription vmstate_virtio_desk_watch;

/* virtio-desk-cursor.c */
void virtio_desk_cursor_realize(VirtIODesk *s);
void virtio_desk_cursor_unrealize(VirtIODesk *s);
void virtio_desk_cursor_reset(VirtIODesk *s);
extern const VMStateDescription vmstate_virtio_desk_cursor;

/* virtio-desk-input.c */
void virtio_desk_input_realize(VirtIODesk *s);
void virtio_desk_input_unrealize(VirtIODesk *s);
void virtio_desk_input_reset(VirtIODesk *s);
void virtio_desk_input_set_status(VirtIODesk *s, uint8_t status);
bool virtio_desk_input_info(VirtIODesk *s, uint32_t device,
                            struct virtio_desk_resp_input_info *info);
extern const VMStateDescription vmstate_virtio_desk_input;

#endif
