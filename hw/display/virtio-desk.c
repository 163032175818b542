/*
 * virtio-desk: paravirtual desktop device, display part
 *
 * The guest owns its framebuffer.  For every change it sends the damage
 * rectangles together with their pixels (descriptors over its own pages);
 * the device copies each rect into a host-side pixman image and tells the
 * console layer about exactly that rect.  No guest memory stays mapped
 * once a request has completed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "hw/display/edid.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio.h"
#include "virtio-desk-internal.h"
#include "migration/vmstate.h"
#include "ui/console.h"
#include "trace.h"
#include "virtio-desk-copy.h"

QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_config) != 48);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_ctrl_hdr) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_rect) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_output_info) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_resp_display_info) != 264);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_resource_create) != 24);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_resource_destroy) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_set_scanout) != 32);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_xfer_rect) != 32);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_transfer_rects) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_get_edid) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_resp_edid) != 1040);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_output_position) != 8);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_resp_layout) != 136);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_outputs_current) != 16);
QEMU_BUILD_BUG_ON(VIRTIO_DESK_MAX_OUTPUTS > 32);   /* watched is a u32 */
QEMU_BUILD_BUG_ON(VIRTIO_DESK_CTRL_QUEUE_SIZE > VIRTQUEUE_MAX_SIZE);

/* ------------------------------------------------------------------ */
/* the request path                                                   */

void virtio_desk_respond(VirtIODesk *s, VirtIODeskCmd *cmd,
                         void *resp, size_t size)
{
    VirtQueueElement *elem = cmd->elem;
    size_t written = 0;

    if (cmd->in_len < size) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "virtio-desk: response buffer of request 0x%x "
                      "shorter than %zu bytes\n", cmd->type, size);
        trace_virtio_desk_bad_response_buffer(cmd->type, size);
    } else {
        written = iov_from_buf(elem->in_sg, elem->in_num, 0, resp, size);
    }
    virtqueue_push(cmd->vq, elem, written);
    cmd->responded = true;
}

static void virtio_desk_respond_nodata(VirtIODesk *s, VirtIODeskCmd *cmd,
                                       uint32_t type)
{
    struct virtio_desk_ctrl_hdr resp = { .type = cpu_to_le32(type) };

    virtio_desk_respond(s, cmd, &resp, sizeof(resp));
}

static void virtio_desk_trace_status_error(uint32_t type, uint32_t error)
{
    trace_virtio_desk_input_status_error(error);
}

/* What sets the queues apart; every answer is a virtio_desk_ctrl_hdr. */
typedef struct VirtIODeskQueueType {
    const char *what;       /* a request's name in guest error lines */
    bool typed;             /* requests begin with a virtio_desk_ctrl_hdr */
    /* no request is looked at without room for its answer */
    bool room_first;
    bool stalls;            /* x-stall holds it */
    uint64_t features;      /* the driver must have them for the queue */
    const char *feature_name;
    void (*trace_cmd)(uint32_t type, uint32_t flags, uint64_t len);
    void (*trace_error)(uint32_t type, uint32_t error);
} VirtIODeskQueueType;

static const VirtIODeskQueueType virtio_desk_queue_types[] = {
    [VIRTIO_DESK_QUEUE_CTRL] = {
        .what = "request",
        .typed = true,
        .stalls = true,
        .trace_cmd = trace_virtio_desk_cmd,
        .trace_error = trace_virtio_desk_cmd_error,
    },
    [VIRTIO_DESK_QUEUE_STATUS] = {
        .what = "status message",
        .room_first = true,
        .features = BIT_ULL(VIRTIO_DESK_F_INPUT),
        .feature_name = "VIRTIO_DESK_F_INPUT",
        .trace_error = virtio_desk_trace_status_error,
    },
    [VIRTIO_DESK_QUEUE_CURSOR] = {
        .what = "cursor request",
        .typed = true,
        .room_first = true,
        .features = BIT_ULL(VIRTIO_DESK_F_CURSOR),
        .feature_name = "VIRTIO_DESK_F_CURSOR",
        .trace_cmd = trace_virtio_desk_cursor_cmd,
        .trace_error = trace_virtio_desk_cursor_error,
    },
};

typedef struct VirtIODeskCmdType {
    unsigned int queue;     /* VIRTIO_DESK_QUEUE_* */
    uint32_t type;          /* the status queue's one row has none */
    size_t req_size;        /* fixed part of the request, header included */
    size_t resp_size;       /* writable bytes the answer needs */
    uint64_t features;      /* feature bits the driver must have accepted */
    void (*handle)(VirtIODesk *s, VirtIODeskCmd *cmd);
} VirtIODeskCmdType;

/* the answer without data, a bare header */
#define VIRTIO_DESK_NODATA_SIZE sizeof(struct virtio_desk_ctrl_hdr)

static const VirtIODeskCmdType virtio_desk_cmd_types[] = {
    {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_GET_DISPLAY_INFO,
        .req_size = sizeof(struct virtio_desk_ctrl_hdr),
        .resp_size = sizeof(struct virtio_desk_resp_display_info),
        .handle = virtio_desk_cmd_get_display_info,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_RESOURCE_CREATE,
        .req_size = sizeof(struct virtio_desk_resource_create),
        .resp_size = VIRTIO_DESK_NODATA_SIZE,
        .handle = virtio_desk_cmd_resource_create,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_RESOURCE_DESTROY,
        .req_size = sizeof(struct virtio_desk_resource_destroy),
        .resp_size = VIRTIO_DESK_NODATA_SIZE,
        .handle = virtio_desk_cmd_resource_destroy,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_SET_SCANOUT,
        .req_size = sizeof(struct virtio_desk_set_scanout),
        .resp_size = VIRTIO_DESK_NODATA_SIZE,
        .handle = virtio_desk_cmd_set_scanout,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_TRANSFER_RECTS,
        .req_size = sizeof(struct virtio_desk_transfer_rects),
        .resp_size = VIRTIO_DESK_NODATA_SIZE,
        .handle = virtio_desk_cmd_transfer_rects,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_GET_INPUT_INFO,
        .req_size = sizeof(struct virtio_desk_get_input_info),
        .resp_size = sizeof(struct virtio_desk_resp_input_info),
        .features = BIT_ULL(VIRTIO_DESK_F_INPUT),
        .handle = virtio_desk_cmd_get_input_info,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_GET_EDID,
        .req_size = sizeof(struct virtio_desk_get_edid),
        .resp_size = sizeof(struct virtio_desk_resp_edid),
        .features = BIT_ULL(VIRTIO_DESK_F_EDID),
        .handle = virtio_desk_cmd_get_edid,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_GET_LAYOUT,
        .req_size = sizeof(struct virtio_desk_ctrl_hdr),
        .resp_size = sizeof(struct virtio_desk_resp_layout),
        .features = BIT_ULL(VIRTIO_DESK_F_LAYOUT),
        .handle = virtio_desk_cmd_get_layout,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CTRL,
        .type = VIRTIO_DESK_CMD_OUTPUTS_CURRENT,
        .req_size = sizeof(struct virtio_desk_outputs_current),
        .resp_size = VIRTIO_DESK_NODATA_SIZE,
        .features = BIT_ULL(VIRTIO_DESK_F_WATCH),
        .handle = virtio_desk_cmd_outputs_current,
    }, {
        /* the message is one input event: its handler checks its size */
        .queue = VIRTIO_DESK_QUEUE_STATUS,
        .resp_size = VIRTIO_DESK_NODATA_SIZE,
        .handle = virtio_desk_cmd_status,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CURSOR,
        .type = VIRTIO_DESK_CMD_CURSOR_DEFINE,
        .req_size = sizeof(struct virtio_desk_cursor_define),
        .resp_size = VIRTIO_DESK_NODATA_SIZE,
        .handle = virtio_desk_cmd_cursor_define,
    }, {
        .queue = VIRTIO_DESK_QUEUE_CURSOR,
        .type = VIRTIO_DESK_CMD_CURSOR_MOVE,
        .req_size = sizeof(struct virtio_desk_cursor_pos),
        .resp_size = VIRTIO_DESK_NODATA_SIZE,
        .handle = virtio_desk_cmd_cursor_move,
    },
};

static const VirtIODeskCmdType *
virtio_desk_find_cmd_type(unsigned int queue, bool typed, uint32_t type)
{
    for (size_t i = 0; i < ARRAY_SIZE(virtio_desk_cmd_types); i++) {
        const VirtIODeskCmdType *ct = &virtio_desk_cmd_types[i];

        if (ct->queue == queue && (!typed || ct->type == type)) {
            return ct;
        }
    }
    return NULL;
}

/* The header of a typed request; false if it rejects the request. */
static bool virtio_desk_check_hdr(VirtIODesk *s, const VirtIODeskQueueType *qt,
                                  VirtIODeskCmd *cmd, size_t req_len,
                                  bool has_features)
{
    uint32_t flags;

    if (req_len < sizeof(cmd->req.hdr)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "%s shorter than %zu bytes", qt->what,
                         sizeof(cmd->req.hdr));
        return false;
    }
    cmd->type = le32_to_cpu(cmd->req.hdr.type);
    flags = le32_to_cpu(cmd->req.hdr.flags);
    qt->trace_cmd(cmd->type, flags, cmd->out_len);
    if (flags) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND,
                         "%s 0x%x has flags 0x%x", qt->what, cmd->type, flags);
        return false;
    }
    if (!has_features) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND,
                         "%s 0x%x without %s", qt->what, cmd->type,
                         qt->feature_name);
        return false;
    }
    return true;
}

/* The row that takes the request, or NULL if it rejects the request. */
static const VirtIODeskCmdType *
virtio_desk_check_cmd(VirtIODesk *s, unsigned int queue, VirtIODeskCmd *cmd)
{
    const VirtIODeskQueueType *qt = &virtio_desk_queue_types[queue];
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    bool has_features = (vdev->guest_features & qt->features) == qt->features;
    const VirtIODeskCmdType *ct;
    size_t req_len, resp_len;

    if (!qt->typed && !has_features) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND,
                         "%s without %s", qt->what, qt->feature_name);
        return NULL;
    }
    if (qt->room_first && cmd->in_len < VIRTIO_DESK_NODATA_SIZE) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "%s with %zu result bytes, needs %zu", qt->what,
                         cmd->in_len, VIRTIO_DESK_NODATA_SIZE);
        return NULL;
    }
    req_len = iov_to_buf(cmd->elem->out_sg, cmd->elem->out_num, 0,
                         &cmd->req, sizeof(cmd->req));
    if (qt->typed && !virtio_desk_check_hdr(s, qt, cmd, req_len,
                                            has_features)) {
        return NULL;
    }
    ct = virtio_desk_find_cmd_type(queue, qt->typed, cmd->type);
    if (ct && (vdev->guest_features & ct->features) != ct->features) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND,
                         "%s 0x%x needs features 0x%" PRIx64
                         ", driver has 0x%" PRIx64, qt->what, cmd->type,
                         ct->features, vdev->guest_features);
        return NULL;
    }
    /* Act only on requests whose answer, even an error, can be delivered. */
    resp_len = ct ? ct->resp_size : VIRTIO_DESK_NODATA_SIZE;
    if (cmd->in_len < resp_len) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "%s 0x%x has %zu response bytes, needs %zu",
                         qt->what, cmd->type, cmd->in_len, resp_len);
        return NULL;
    }
    if (!ct) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND,
                         "unknown %s 0x%x", qt->what, cmd->type);
        return NULL;
    }
    if (req_len < ct->req_size) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "%s 0x%x shorter than %zu bytes",
                         qt->what, cmd->type, ct->req_size);
        return NULL;
    }
    return ct;
}

/* The answer of a request its handler did not answer itself. */
static void virtio_desk_answer(VirtIODesk *s, unsigned int queue,
                               VirtIODeskCmd *cmd)
{
    const VirtIODeskQueueType *qt = &virtio_desk_queue_types[queue];

    if (cmd->error) {
        qt->trace_error(cmd->type, cmd->error);
    }
    if (qt->room_first && cmd->in_len < VIRTIO_DESK_NODATA_SIZE) {
        /* said so before the request was looked at */
        virtqueue_push(cmd->vq, cmd->elem, 0);
    } else if (cmd->error) {
        virtio_desk_respond_nodata(s, cmd, cmd->error);
    } else if (!cmd->responded) {
        virtio_desk_respond_nodata(s, cmd, VIRTIO_DESK_RESP_OK_NODATA);
    }
}

/*
 * Queue handlers run in bounded batches (see VIRTIO_DESK_BATCH).  After
 * @handled requests, if the run has @spent its budget: should it stop and
 * leave what is left to the queue's bottom half?  Not if nothing is left
 * (a broken device pops nothing, so nothing is left for it either).
 */
static bool virtio_desk_queue_yield(VirtIODevice *vdev, VirtQueue *vq,
                                    bool spent, unsigned int handled)
{
    if (!spent || virtio_queue_empty(vq) || virtio_device_disabled(vdev)) {
        return false;
    }
    trace_virtio_desk_queue_yield(virtio_get_queue_index(vq), handled);
    return true;
}

/*
 * The end of a handler's run: with @more left, the bottom half @bh goes on
 * after the main loop's turn, with the queue's notifications off.  The
 * bottom half (@in_bh) that finds the ring empty turns them back on, and
 * then takes a request that came in just before in another run.
 */
static void virtio_desk_queue_continue(VirtIODevice *vdev, VirtQueue *vq,
                                       QEMUBH *bh, bool more, bool in_bh)
{
    if (!more && in_bh) {
        virtio_queue_set_notification(vq, 1);
        more = !virtio_queue_empty(vq) && !virtio_device_disabled(vdev);
    }
    if (more) {
        virtio_queue_set_notification(vq, 0);
        qemu_bh_schedule(bh);
    }
}

static QEMUBH *virtio_desk_queue_bh(VirtIODesk *s, unsigned int queue)
{
    switch (queue) {
    case VIRTIO_DESK_QUEUE_CTRL:
        return s->ctrl_bh;
    case VIRTIO_DESK_QUEUE_STATUS:
        return s->status_bh;
    default:
        return s->cursor_bh;
    }
}

/*
 * One bounded run over a request queue, in ring order: every request is
 * checked against its row of the command table, handled, and answered.
 */
void virtio_desk_run_queue(VirtIODesk *s, unsigned int queue, bool in_bh)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    VirtQueue *vq = virtio_get_queue(vdev, queue);
    VirtQueueElement *elem;
    unsigned int handled = 0;
    uint64_t copied = 0;
    bool more;

    /* x-stall: left in the ring until it is cleared */
    if (virtio_desk_queue_types[queue].stalls && s->stall) {
        return;
    }
    while (!(more = virtio_desk_queue_yield(vdev, vq,
                                            handled == VIRTIO_DESK_BATCH ||
                                            copied >= VIRTIO_DESK_BATCH_BYTES,
                                            handled)) &&
           (elem = virtqueue_pop(vq, sizeof(VirtQueueElement)))) {
        VirtIODeskCmd cmd = {
            .vq = vq,
            .elem = elem,
            .out_len = iov_size(elem->out_sg, elem->out_num),
            .in_len = iov_size(elem->in_sg, elem->in_num),
            .may_defer = !in_bh,
        };
        const VirtIODeskCmdType *ct = virtio_desk_check_cmd(s, queue, &cmd);

        if (ct) {
            ct->handle(s, &cmd);
        }
        if (cmd.deferred) {
            virtqueue_unpop(vq, elem, 0);
            g_free(elem);
            more = true;
            break;
        }
        virtio_desk_answer(s, queue, &cmd);
        g_free(elem);
        handled++;
        copied += cmd.copied;
    }
    if (handled) {
        virtio_notify(vdev, vq);
    }
    virtio_desk_queue_continue(vdev, vq, virtio_desk_queue_bh(s, queue),
                               more, in_bh);
}

void virtio_desk_handle_queue(VirtIODevice *vdev, VirtQueue *vq)
{
    virtio_desk_run_queue(VIRTIO_DESK(vdev), virtio_get_queue_index(vq),
                          false);
}

static void virtio_desk_ctrl_bh(void *opaque)
{
    virtio_desk_run_queue(opaque, VIRTIO_DESK_QUEUE_CTRL, true);
}

/* ------------------------------------------------------------------ */
/* virtio device                                                      */

static void virtio_desk_get_config(VirtIODevice *vdev, uint8_t *config)
{
    VirtIODesk *s = VIRTIO_DESK(vdev);
    struct virtio_desk_config cfg = {
        .events_read = cpu_to_le32(s->events_read),
        .num_outputs = cpu_to_le32(s->max_outputs),
        .max_rects = cpu_to_le32(VIRTIO_DESK_MAX_RECTS),
        .max_segments = cpu_to_le32(VIRTIO_DESK_MAX_SEGMENTS),
        .max_dimension = cpu_to_le32(VIRTIO_DESK_MAX_DIMENSION),
        .max_resources = cpu_to_le32(VIRTIO_DESK_MAX_RESOURCES),
        .max_hostmem = cpu_to_le64(s->max_hostmem),
        .watched = cpu_to_le32(s->watched),
    };

    memcpy(config, &cfg, sizeof(cfg));
}

static void virtio_desk_set_config(VirtIODevice *vdev, const uint8_t *config)
{
    VirtIODesk *s = VIRTIO_DESK(vdev);
    const size_t clear = offsetof(struct virtio_desk_config, events_clear);

    /* Every field but events_clear is read-only: ignore writes to them. */
    s->events_read &= ~ldl_le_p(config + clear);
    /*
     * The core calls this after each config write, with what was written
     * still in vdev->config until the next config read: forget the 1s now,
     * or the next write to any field would clear a newer event again.
     */
    stl_le_p(vdev->config + clear, 0);
}

static uint64_t virtio_desk_get_features(VirtIODevice *vdev, uint64_t features,
                                         Error **errp)
{
    VirtIODesk *s = VIRTIO_DESK(vdev);

    if (s->input) {
        virtio_add_feature(&features, VIRTIO_DESK_F_INPUT);
    }
    if (s->edid) {
        virtio_add_feature(&features, VIRTIO_DESK_F_EDID);
    }
    if (s->cursor) {
        virtio_add_feature(&features, VIRTIO_DESK_F_CURSOR);
    }
    virtio_add_feature(&features, VIRTIO_DESK_F_LAYOUT);
    if (s->watch) {
        virtio_add_feature(&features, VIRTIO_DESK_F_WATCH);
    }
    return features;
}

static void virtio_desk_set_status(VirtIODevice *vdev, uint8_t status)
{
    virtio_desk_input_set_status(VIRTIO_DESK(vdev), status);
}

/*
 * virtio_load() calls this last, once the driver's status and features are
 * in place: the input focus, which is not migrated, follows them as at a
 * status write, so that no stream gives the focus to a driver that did not
 * negotiate VIRTIO_DESK_F_INPUT.
 */
static int virtio_desk_post_load(VirtIODevice *vdev)
{
    VirtIODesk *s = VIRTIO_DESK(vdev);

    virtio_desk_input_set_status(s, vdev->status);
    /* requests the source had not got to, maybe with notifications off */
    qemu_bh_schedule(s->ctrl_bh);
    if (s->status_bh) {
        qemu_bh_schedule(s->status_bh);
    }
    if (s->cursor_bh) {
        qemu_bh_schedule(s->cursor_bh);
    }
    return 0;
}

static void virtio_desk_reset(VirtIODevice *vdev)
{
    VirtIODesk *s = VIRTIO_DESK(vdev);

    /* what the guest left: the reboot test adds it to what it destroyed */
    trace_virtio_desk_reset(g_hash_table_size(s->resources), s->hostmem_used);
    virtio_desk_destroy_all(s);
    virtio_desk_input_reset(s);
    virtio_desk_cursor_reset(s);
    virtio_desk_watch_reset(s);
    s->events_read = 0;
    s->scanout_enabled = false;
}

static void virtio_desk_realize(DeviceState *dev, Error **errp)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIODesk *s = VIRTIO_DESK(dev);

    if (s->max_outputs < 1 || s->max_outputs > VIRTIO_DESK_MAX_OUTPUTS) {
        error_setg(errp, "max_outputs must be 1..%d", VIRTIO_DESK_MAX_OUTPUTS);
        return;
    }
    if (s->xres < 1 || s->xres > VIRTIO_DESK_MAX_DIMENSION ||
        s->yres < 1 || s->yres > VIRTIO_DESK_MAX_DIMENSION) {
        error_setg(errp, "xres and yres must be 1..%d",
                   VIRTIO_DESK_MAX_DIMENSION);
        return;
    }
    if (!s->watch_timeout_ms || !s->pull_timeout_ms) {
        error_setg(errp, "watch-timeout-ms and pull-timeout-ms must not be 0");
        return;
    }

    virtio_init(vdev, VIRTIO_ID_DESK, sizeof(struct virtio_desk_config));
    s->ctrl_vq = virtio_add_queue(vdev, VIRTIO_DESK_CTRL_QUEUE_SIZE,
                                  virtio_desk_handle_queue);
    s->ctrl_bh = virtio_bh_new_guarded(dev, virtio_desk_ctrl_bh, s);
    virtio_desk_input_realize(s);
    virtio_desk_cursor_realize(s);
    s->resources = g_hash_table_new_full(NULL, NULL, NULL,
                                         virtio_desk_resource_free);

    for (uint32_t i = 0; i < s->max_outputs; i++) {
        VirtIODeskOutput *out = &s->outputs[i];

        out->pref_width = s->xres;
        out->pref_height = s->yres;
        out->desk = s;
        out->index = i;
        out->connected = i == 0;
        out->con = graphic_console_init(dev, i, &virtio_desk_hw_ops, out);
    }
    virtio_desk_prompt_init(s);
    virtio_desk_watch_realize(s);
}

static void virtio_desk_unrealize(DeviceState *dev)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);
    VirtIODesk *s = VIRTIO_DESK(dev);

    virtio_desk_destroy_all(s);
    virtio_desk_watch_unrealize(s);
    virtio_desk_prompt_fini(s);
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        graphic_console_close(s->outputs[i].con);
    }
    g_hash_table_destroy(s->resources);
    virtio_desk_cursor_unrealize(s);
    virtio_desk_input_unrealize(s);
    qemu_bh_delete(s->ctrl_bh);
    virtio_delete_queue(s->ctrl_vq);
    virtio_cleanup(vdev);
}

/*
 * The migration stream.  The properties that shape the device and its
 * state must be the same on both sides; they come first, so that a
 * mismatch fails with its name before anything else is read.
 */
typedef struct VirtIODeskInputConf {
    VirtIODesk *parent;
    bool input;
    bool relative_pointer;
} VirtIODeskInputConf;

static int virtio_desk_input_conf_pre_save(void *opaque)
{
    VirtIODeskInputConf *tmp = opaque;

    tmp->input = tmp->parent->input;
    tmp->relative_pointer = tmp->parent->relative_pointer;
    return 0;
}

static int virtio_desk_input_conf_post_load(void *opaque, int version_id)
{
    VirtIODeskInputConf *tmp = opaque;
    VirtIODesk *s = tmp->parent;

    if (tmp->input != s->input) {
        error_report("virtio-desk: input is %s here, %s on the source",
                     s->input ? "on" : "off", tmp->input ? "on" : "off");
        return -EINVAL;
    }
    if (tmp->relative_pointer != s->relative_pointer) {
        error_report("virtio-desk: relative-pointer is %s here, %s on the "
                     "source", s->relative_pointer ? "on" : "off",
                     tmp->relative_pointer ? "on" : "off");
        return -EINVAL;
    }
    return 0;
}

static const VMStateDescription vmstate_virtio_desk_input_conf = {
    .name = "virtio-desk-input-conf",
    .pre_save = virtio_desk_input_conf_pre_save,
    .post_load = virtio_desk_input_conf_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(input, VirtIODeskInputConf),
        VMSTATE_BOOL(relative_pointer, VirtIODeskInputConf),
        VMSTATE_END_OF_LIST()
    },
};

static int virtio_desk_output_pre_save(void *opaque)
{
    VirtIODeskOutput *out = opaque;

    out->resource_id = out->res ? out->res->id : 0;
    return 0;
}

static const VMStateDescription vmstate_virtio_desk_output = {
    .name = "virtio-desk-output",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = virtio_desk_output_pre_save,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(resource_id, VirtIODeskOutput),
        VMSTATE_UINT32(src_x, VirtIODeskOutput),
        VMSTATE_UINT32(src_y, VirtIODeskOutput),
        VMSTATE_UINT32(src_width, VirtIODeskOutput),
        VMSTATE_UINT32(src_height, VirtIODeskOutput),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * virtio-desk-vga's VGA stays off once the driver has shown output 0, also
 * while output 0 is disabled again.  A shown output 0 says so at the
 * destination by itself; a disabled one needs this.
 */
static bool virtio_desk_scanout_enabled_needed(void *opaque)
{
    VirtIODesk *s = opaque;

    return s->scanout_enabled && !s->outputs[0].res;
}

static const VMStateDescription vmstate_virtio_desk_scanout_enabled = {
    .name = "virtio-desk-device/scanout-enabled",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_desk_scanout_enabled_needed,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(scanout_enabled, VirtIODesk),
        VMSTATE_END_OF_LIST()
    },
};

static int virtio_desk_device_pre_load(void *opaque)
{
    VirtIODesk *s = opaque;

    /* what a stream without the subsection means */
    s->scanout_enabled = false;
    return 0;
}

/* The resources are loaded: show the outputs, by the SET_SCANOUT rules. */
static int virtio_desk_device_post_load(void *opaque, int version_id)
{
    VirtIODesk *s = opaque;
    bool vga_off = s->scanout_enabled;   /* the subsection says so */

    for (uint32_t i = 0; i < s->max_outputs; i++) {
        VirtIODeskOutput *out = &s->outputs[i];
        VirtIODeskResource *res;

        if (!out->resource_id) {
            continue;
        }
        res = virtio_desk_find_resource(s, out->resource_id);
        if (!res || !virtio_desk_rect_valid(res, out->src_x, out->src_y,
                                            out->src_width, out->src_height)) {
            error_report("virtio-desk: bad scanout %u in migration", i);
            return -EINVAL;
        }
        virtio_desk_output_set(s, i, res, out->src_x, out->src_y,
                               out->src_width, out->src_height);
    }
    if (vga_off && !s->outputs[0].res) {
        /* QEMU's placeholder, as at the source, not what VGA drew here */
        dpy_gfx_replace_surface(s->outputs[0].con, NULL);
    }
    return 0;
}

static const VMStateDescription vmstate_virtio_desk_device = {
    .name = "virtio-desk-device",
    .version_id = 2,
    .minimum_version_id = 2,
    .pre_load = virtio_desk_device_pre_load,
    .post_load = virtio_desk_device_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32_EQUAL(max_outputs, VirtIODesk,
                             "virtio-desk: max_outputs here != on the source"),
        VMSTATE_UINT64_EQUAL(max_hostmem, VirtIODesk,
                             "virtio-desk: max_hostmem here != on the source"),
        VMSTATE_WITH_TMP(VirtIODesk, VirtIODeskInputConf,
                         vmstate_virtio_desk_input_conf),
        VMSTATE_UINT32(events_read, VirtIODesk),
        {
            .name = "resources",
            .info = &virtio_desk_vmstate_info_resources,
            .flags = VMS_SINGLE,
        },
        VMSTATE_STRUCT_VARRAY_UINT32(outputs, VirtIODesk, max_outputs, 0,
                                     vmstate_virtio_desk_output,
                                     VirtIODeskOutput),
        VMSTATE_END_OF_LIST()
    },
    .subsections = (const VMStateDescription * const []) {
        &vmstate_virtio_desk_input,
        &vmstate_virtio_desk_cursor,
        &vmstate_virtio_desk_scanout_enabled,
        &vmstate_virtio_desk_watch,
        NULL
    },
};

static const VMStateDescription vmstate_virtio_desk = {
    .name = "virtio-desk",
    .version_id = 2,
    .minimum_version_id = 2,
    .fields = (const VMStateField[]) {
        VMSTATE_VIRTIO_DEVICE,
        VMSTATE_END_OF_LIST()
    },
};

/* ------------------------------------------------------------------ */
/* type                                                               */

static const Property virtio_desk_properties[] = {
    DEFINE_PROP_UINT32("xres", VirtIODesk, xres, 1280),
    DEFINE_PROP_UINT32("yres", VirtIODesk, yres, 800),
    DEFINE_PROP_UINT32("max_outputs", VirtIODesk, max_outputs, 1),
    DEFINE_PROP_SIZE("max_hostmem", VirtIODesk, max_hostmem, 256 * MiB),
    DEFINE_PROP_BOOL("input", VirtIODesk, input, true),
    DEFINE_PROP_BOOL("edid", VirtIODesk, edid, true),
    DEFINE_PROP_BOOL("cursor", VirtIODesk, cursor, true),
    DEFINE_PROP_BOOL("relative-pointer", VirtIODesk, relative_pointer, false),
    DEFINE_PROP_UINT32("refresh-prompt-ms", VirtIODesk, refresh_prompt_ms, 2),
    DEFINE_PROP_BOOL("watch", VirtIODesk, watch, true),
    DEFINE_PROP_UINT32("watch-timeout-ms", VirtIODesk, watch_timeout_ms, 5000),
    DEFINE_PROP_UINT32("pull-timeout-ms", VirtIODesk, pull_timeout_ms, 1000),
};

static bool virtio_desk_get_stall(Object *obj, Error **errp)
{
    return VIRTIO_DESK(obj)->stall;
}

/* x-stall off: what waited in the ring is handled in the bottom half. */
static void virtio_desk_set_stall(Object *obj, bool value, Error **errp)
{
    VirtIODesk *s = VIRTIO_DESK(obj);

    trace_virtio_desk_stall(value);
    s->stall = value;
    if (!value && s->ctrl_bh) {
        qemu_bh_schedule(s->ctrl_bh);
    }
}

static void virtio_desk_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);

    set_bit(DEVICE_CATEGORY_DISPLAY, dc->categories);
    device_class_set_props(dc, virtio_desk_properties);
    /* settable at run time (qom-set), unlike the properties above */
    object_class_property_add_bool(klass, "x-stall", virtio_desk_get_stall,
                                   virtio_desk_set_stall);
    object_class_property_set_description(klass, "x-stall",
        "for tests: leave control requests unanswered while true");
    dc->vmsd = &vmstate_virtio_desk;
    vdc->vmsd = &vmstate_virtio_desk_device;
    vdc->realize = virtio_desk_realize;
    vdc->unrealize = virtio_desk_unrealize;
    vdc->get_config = virtio_desk_get_config;
    vdc->set_config = virtio_desk_set_config;
    vdc->get_features = virtio_desk_get_features;
    vdc->set_status = virtio_desk_set_status;
    vdc->post_load = virtio_desk_post_load;
    vdc->reset = virtio_desk_reset;
}

static const TypeInfo virtio_desk_info = {
    .name = TYPE_VIRTIO_DESK,
    .parent = TYPE_VIRTIO_DEVICE,
    .instance_size = sizeof(VirtIODesk),
    .class_init = virtio_desk_class_init,
};
module_obj(TYPE_VIRTIO_DESK);
module_kconfig(VIRTIO_DESK);

static void virtio_desk_register_types(void)
{
    type_register_static(&virtio_desk_info);
}

type_init(virtio_desk_register_types)
