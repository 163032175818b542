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
#include "qemu/units.h"
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

/*
 * Where requests run, measured in docs/performance.md: a bottom half adds
 * a main-loop round trip to each request (64x64 updates under TCG went
 * from ~10,000/s to ~5,000/s), more than a small copy costs, so small
 * requests are handled right in the queue notification.  A transfer that
 * copies more than VIRTIO_DESK_INLINE_MAX bytes is put back, once it is
 * validated and before anything is copied, and left to the bottom half,
 * so that the vCPU goes on with the guest while the main loop copies;
 * notifications stay off while the bottom half is pending.  Either way
 * requests are handled and answered in ring order.
 *
 * Neither runs for as long as the ring has requests: vCPUs can refill it
 * as fast as it drains.  A run ends after VIRTIO_DESK_BATCH requests, or
 * once it has copied VIRTIO_DESK_BATCH_BYTES, and the bottom half takes
 * up the rest after the main loop has had its turn.
 */
#define VIRTIO_DESK_INLINE_MAX (1 * MiB)
#define VIRTIO_DESK_BATCH_BYTES (16 * MiB)

/* The virtqueues, by index. */
#define VIRTIO_DESK_QUEUE_CTRL        0
#define VIRTIO_DESK_QUEUE_EVENT       1
#define VIRTIO_DESK_QUEUE_STATUS      2
#define VIRTIO_DESK_QUEUE_CURSOR      3

/*
 * The fixed part of every request, on any queue; GET_DISPLAY_INFO is a
 * bare header, a status message has none.
 */
typedef union VirtIODeskReq {
    struct virtio_desk_ctrl_hdr hdr;
    struct virtio_desk_resource_create resource_create;
    struct virtio_desk_resource_destroy resource_destroy;
    struct virtio_desk_set_scanout set_scanout;
    struct virtio_desk_transfer_rects transfer_rects;
    struct virtio_desk_get_input_info get_input_info;
    struct virtio_desk_get_edid get_edid;
    struct virtio_desk_outputs_current outputs_current;
    struct virtio_desk_cursor_pos cursor_pos;
    struct virtio_desk_cursor_define cursor_define;
    struct virtio_desk_input_event status;
} VirtIODeskReq;

/* One request while it is being handled. */
typedef struct VirtIODeskCmd {
    VirtQueue *vq;       /* where it came from, where the answer goes */
    VirtQueueElement *elem;
    VirtIODeskReq req;   /* read once, before the handler runs */
    uint32_t type;       /* 0 on the status queue */
    uint32_t error;      /* 0, or the VIRTIO_DESK_RESP_ERR_* to answer */
    size_t out_len;      /* device-readable bytes in the chain */
    size_t in_len;       /* device-writable bytes in the chain */
    uint64_t copied;     /* pixel bytes the request copied */
    bool responded;
    bool may_defer;      /* in the queue notification: big copies wait */
    bool deferred;       /* left to the bottom half, untouched */
} VirtIODeskCmd;

/* virtio-desk.c: the request path of every queue */
void virtio_desk_respond(VirtIODesk *s, VirtIODeskCmd *cmd,
                         void *resp, size_t size);
void virtio_desk_run_queue(VirtIODesk *s, unsigned int queue, bool in_bh);
void virtio_desk_handle_queue(VirtIODevice *vdev, VirtQueue *vq);

/*
 * The command handlers, the rows of virtio-desk.c's command table, are
 * the virtio_desk_cmd_*() below, each in the file of its part.  Each
 * traces the request, validates it (sets cmd->error and returns) and
 * carries it out.
 */

/* virtio-desk-resource.c */
VirtIODeskResource *virtio_desk_find_resource(VirtIODesk *s, uint32_t id);
VirtIODeskResource *virtio_desk_find_check_resource(VirtIODesk *s, uint32_t id,
                                                    const char *caller,
                                                    VirtIODeskCmd *cmd);
uint32_t virtio_desk_resource_new(VirtIODesk *s, uint32_t id, uint32_t format,
                                  uint32_t width, uint32_t height,
                                  const char **why);
void virtio_desk_resource_free(gpointer res);
void virtio_desk_resource_destroy(VirtIODesk *s, VirtIODeskResource *res);
void virtio_desk_destroy_all(VirtIODesk *s);
bool virtio_desk_rect_valid(VirtIODeskResource *res, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h);
extern const VMStateInfo virtio_desk_vmstate_info_resources;
void virtio_desk_cmd_resource_create(VirtIODesk *s, VirtIODeskCmd *cmd);
void virtio_desk_cmd_resource_destroy(VirtIODesk *s, VirtIODeskCmd *cmd);
void virtio_desk_cmd_transfer_rects(VirtIODesk *s, VirtIODeskCmd *cmd);

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
void virtio_desk_cmd_get_display_info(VirtIODesk *s, VirtIODeskCmd *cmd);
void virtio_desk_cmd_get_edid(VirtIODesk *s, VirtIODeskCmd *cmd);
void virtio_desk_cmd_get_layout(VirtIODesk *s, VirtIODeskCmd *cmd);
void virtio_desk_cmd_set_scanout(VirtIODesk *s, VirtIODeskCmd *cmd);

/* virtio-desk-watch.c */
void virtio_desk_watch_realize(VirtIODesk *s);
void virtio_desk_watch_unrealize(VirtIODesk *s);
void virtio_desk_watch_reset(VirtIODesk *s);
bool virtio_desk_output_pull(VirtIODesk *s, uint32_t output_id);
void virtio_desk_outputs_current(VirtIODesk *s, uint32_t outputs);
extern const VMStateDescription vmstate_virtio_desk_watch;
void virtio_desk_cmd_outputs_current(VirtIODesk *s, VirtIODeskCmd *cmd);

/* virtio-desk-cursor.c */
void virtio_desk_cursor_realize(VirtIODesk *s);
void virtio_desk_cursor_unrealize(VirtIODesk *s);
void virtio_desk_cursor_reset(VirtIODesk *s);
extern const VMStateDescription vmstate_virtio_desk_cursor;
void virtio_desk_cmd_cursor_define(VirtIODesk *s, VirtIODeskCmd *cmd);
void virtio_desk_cmd_cursor_move(VirtIODesk *s, VirtIODeskCmd *cmd);

/* virtio-desk-input.c */
void virtio_desk_input_realize(VirtIODesk *s);
void virtio_desk_input_unrealize(VirtIODesk *s);
void virtio_desk_input_reset(VirtIODesk *s);
void virtio_desk_input_set_status(VirtIODesk *s, uint8_t status);
bool virtio_desk_input_info(VirtIODesk *s, uint32_t device,
                            struct virtio_desk_resp_input_info *info);
extern const VMStateDescription vmstate_virtio_desk_input;
void virtio_desk_cmd_get_input_info(VirtIODesk *s, VirtIODeskCmd *cmd);
void virtio_desk_cmd_status(VirtIODesk *s, VirtIODeskCmd *cmd);

#endif
