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

/* The fixed part of every request; GET_DISPLAY_INFO is a bare header. */
typedef union VirtIODeskReq {
    struct virtio_desk_ctrl_hdr hdr;
    struct virtio_desk_resource_create resource_create;
    struct virtio_desk_resource_destroy resource_destroy;
    struct virtio_desk_set_scanout set_scanout;
    struct virtio_desk_transfer_rects transfer_rects;
    struct virtio_desk_get_input_info get_input_info;
    struct virtio_desk_get_edid get_edid;
    struct virtio_desk_outputs_current outputs_current;
} VirtIODeskReq;

/* One control request while it is being handled. */
typedef struct VirtIODeskCmd {
    VirtQueueElement *elem;
    VirtIODeskReq req;   /* read once, before the handler runs */
    uint32_t type;
    uint32_t error;      /* 0, or the VIRTIO_DESK_RESP_ERR_* to answer */
    size_t out_len;      /* device-readable bytes in the chain */
    size_t in_len;       /* device-writable bytes in the chain */
    uint64_t copied;     /* pixel bytes the request copied */
    bool responded;
    bool may_defer;      /* in the queue notification: big copies wait */
    bool deferred;       /* left to the bottom half, untouched */
} VirtIODeskCmd;

/* ------------------------------------------------------------------ */
/* request plumbing                                                   */

static void virtio_desk_respond(VirtIODesk *s, VirtIODeskCmd *cmd,
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
    virtqueue_push(s->ctrl_vq, elem, written);
    cmd->responded = true;
}

static void virtio_desk_respond_nodata(VirtIODesk *s, VirtIODeskCmd *cmd,
                                       uint32_t type)
{
    struct virtio_desk_ctrl_hdr resp = { .type = cpu_to_le32(type) };

    virtio_desk_respond(s, cmd, &resp, sizeof(resp));
}

/* ------------------------------------------------------------------ */
/* commands                                                           */

/* The resource a request names; if there is none, reject the request. */
static VirtIODeskResource *
virtio_desk_find_check_resource(VirtIODesk *s, uint32_t id,
                                const char *caller, VirtIODeskCmd *cmd)
{
    VirtIODeskResource *res = virtio_desk_find_resource(s, id);

    if (!res) {
        desk_guest_error_in(caller, cmd,
                            VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID,
                            "no resource %u", id);
    }
    return res;
}

static void virtio_desk_cmd_get_display_info(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    struct virtio_desk_resp_display_info resp = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_RESP_OK_DISPLAY_INFO),
    };

    trace_virtio_desk_get_display_info();
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        VirtIODeskOutput *out = &s->outputs[i];

        resp.outputs[i].width = cpu_to_le32(out->pref_width);
        resp.outputs[i].height = cpu_to_le32(out->pref_height);
        resp.outputs[i].enabled = cpu_to_le32(out->connected);
        resp.outputs[i].refresh = cpu_to_le32(out->pref_refresh);
    }
    virtio_desk_respond(s, cmd, &resp, sizeof(resp));
}

/*
 * The monitor's EDID describes what GET_DISPLAY_INFO says of the output:
 * its preferred mode and refresh rate (60 Hz when the UI does not say,
 * as drivers assume), so the two never disagree.
 */
static void virtio_desk_cmd_get_edid(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_get_edid *req = &cmd->req.get_edid;
    struct virtio_desk_resp_edid resp = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_RESP_OK_EDID),
    };
    uint32_t output_id = le32_to_cpu(req->output_id);
    VirtIODeskOutput *out;
    qemu_edid_info info = { 0 };

    trace_virtio_desk_get_edid(output_id);
    if (req->padding) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "padding not zero");
        return;
    }
    if (output_id >= s->max_outputs) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID,
                         "output %u of %u", output_id, s->max_outputs);
        return;
    }
    out = &s->outputs[output_id];
    info.prefx = out->pref_width;
    info.prefy = out->pref_height;
    info.maxx = VIRTIO_DESK_MAX_DIMENSION;
    info.maxy = VIRTIO_DESK_MAX_DIMENSION;
    info.refresh_rate = out->pref_refresh ? out->pref_refresh : 60000;
    info.width_mm = out->width_mm;  /* 0: qemu_edid_generate assumes 100 dpi */
    info.height_mm = out->height_mm;
    qemu_edid_generate(resp.edid, sizeof(resp.edid), &info);
    resp.size = cpu_to_le32(qemu_edid_size(resp.edid));
    virtio_desk_respond(s, cmd, &resp, sizeof(resp));
}

static void virtio_desk_cmd_get_layout(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    struct virtio_desk_resp_layout resp = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_RESP_OK_LAYOUT),
    };

    trace_virtio_desk_get_layout();
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        resp.outputs[i].x = cpu_to_le32(s->outputs[i].pos_x);
        resp.outputs[i].y = cpu_to_le32(s->outputs[i].pos_y);
    }
    virtio_desk_respond(s, cmd, &resp, sizeof(resp));
}

static void virtio_desk_cmd_resource_create(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_resource_create *req = &cmd->req.resource_create;
    const char *why;
    uint32_t id, format, width, height;

    id = le32_to_cpu(req->resource_id);
    format = le32_to_cpu(req->format);
    width = le32_to_cpu(req->width);
    height = le32_to_cpu(req->height);
    trace_virtio_desk_resource_create(id, format, width, height);

    cmd->error = virtio_desk_resource_new(s, id, format, width, height, &why);
    if (cmd->error) {
        desk_guest_error(cmd, cmd->error, "resource %u format 0x%x %ux%u: %s",
                         id, format, width, height, why);
    }
}

static void virtio_desk_cmd_resource_destroy(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_resource_destroy *req = &cmd->req.resource_destroy;
    VirtIODeskResource *res;
    uint32_t id;

    id = le32_to_cpu(req->resource_id);
    trace_virtio_desk_resource_destroy(id);

    if (req->padding) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "padding not zero");
        return;
    }
    res = virtio_desk_find_check_resource(s, id, __func__, cmd);
    if (!res) {
        return;
    }
    virtio_desk_resource_destroy(s, res);
}

static void virtio_desk_cmd_set_scanout(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_set_scanout *req = &cmd->req.set_scanout;
    VirtIODeskResource *res;
    uint32_t output_id, id, x, y, w, h;

    output_id = le32_to_cpu(req->output_id);
    id = le32_to_cpu(req->resource_id);
    x = le32_to_cpu(req->src.x);
    y = le32_to_cpu(req->src.y);
    w = le32_to_cpu(req->src.width);
    h = le32_to_cpu(req->src.height);
    trace_virtio_desk_set_scanout(output_id, id, x, y, w, h);

    if (output_id >= s->max_outputs) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID,
                         "output %u of %u", output_id, s->max_outputs);
        return;
    }
    if (id == 0) {
        virtio_desk_output_disable(s, output_id);
        return;
    }
    res = virtio_desk_find_check_resource(s, id, __func__, cmd);
    if (!res) {
        return;
    }
    if (!virtio_desk_rect_valid(res, x, y, w, h)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_RECT,
                         "%ux%u+%u+%u not inside resource %u (%ux%u)",
                         w, h, x, y, id, res->width, res->height);
        return;
    }

    virtio_desk_output_set(s, output_id, res, x, y, w, h);
}

static bool virtio_desk_check_xfer_rect(VirtIODeskCmd *cmd,
                                        VirtIODeskResource *res,
                                        const struct virtio_desk_xfer_rect *xr,
                                        uint64_t payload_len)
{
    uint32_t x = le32_to_cpu(xr->r.x), y = le32_to_cpu(xr->r.y);
    uint32_t w = le32_to_cpu(xr->r.width), h = le32_to_cpu(xr->r.height);
    uint32_t stride = le32_to_cpu(xr->stride);
    uint64_t offset = le64_to_cpu(xr->offset);
    uint64_t row = (uint64_t)w * res->bpp, need;

    if (!virtio_desk_rect_valid(res, x, y, w, h)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_RECT,
                         "%ux%u+%u+%u not inside resource %u (%ux%u)",
                         w, h, x, y, res->id, res->width, res->height);
        return false;
    }
    if (xr->padding) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "padding not zero");
        return false;
    }
    if (stride < row) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "stride %u below row size %" PRIu64, stride, row);
        return false;
    }
    /* h <= 2^14, stride < 2^32, row <= 2^16: fits in 64 bits */
    need = (uint64_t)(h - 1) * stride + row;
    if (offset > payload_len || need > payload_len - offset) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "rect needs payload bytes %" PRIu64 "+%" PRIu64
                         ", request has %" PRIu64, offset, need, payload_len);
        return false;
    }
    return true;
}

/* A TRANSFER_RECTS request that has been validated. */
typedef struct VirtIODeskTransfer {
    VirtIODeskResource *res;
    uint32_t num_rects;
    struct virtio_desk_xfer_rect *rects;  /* as the guest sent them */
    uint64_t payload_start;               /* chain offset of payload byte 0 */
    uint64_t bytes;                       /* pixel bytes to copy */
} VirtIODeskTransfer;

/*
 * Validate every rect before copying any: all or nothing.  Fills @xfer;
 * xfer->rects is the caller's to free, even on failure.
 */
static bool virtio_desk_check_transfer(VirtIODesk *s, VirtIODeskCmd *cmd,
                                       uint32_t id, uint32_t num_rects,
                                       VirtIODeskTransfer *xfer)
{
    VirtIODeskResource *res;
    uint64_t area = 0, payload_len;

    res = virtio_desk_find_check_resource(s, id, __func__, cmd);
    if (!res) {
        return false;
    }
    if (num_rects == 0 || num_rects > VIRTIO_DESK_MAX_RECTS) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "%u rects, allowed 1..%u", num_rects,
                         VIRTIO_DESK_MAX_RECTS);
        return false;
    }
    xfer->payload_start = sizeof(struct virtio_desk_transfer_rects) +
                          (uint64_t)num_rects * sizeof(*xfer->rects);
    if (cmd->out_len < xfer->payload_start) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "%u rects need %" PRIu64 " bytes, request has %zu",
                         num_rects, xfer->payload_start, cmd->out_len);
        return false;
    }
    payload_len = cmd->out_len - xfer->payload_start;

    xfer->rects = g_new(struct virtio_desk_xfer_rect, num_rects);
    iov_to_buf(cmd->elem->out_sg, cmd->elem->out_num,
               sizeof(struct virtio_desk_transfer_rects),
               xfer->rects, num_rects * sizeof(*xfer->rects));
    for (uint32_t i = 0; i < num_rects; i++) {
        if (!virtio_desk_check_xfer_rect(cmd, res, &xfer->rects[i],
                                         payload_len)) {
            return false;
        }
        area += (uint64_t)le32_to_cpu(xfer->rects[i].r.width) *
                le32_to_cpu(xfer->rects[i].r.height);
    }
    /* Bounds the host's work per request to one full copy of the resource. */
    if (area > (uint64_t)res->width * res->height) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "rects cover %" PRIu64 " pixels, resource %u has %u",
                         area, id, res->width * res->height);
        return false;
    }
    xfer->res = res;
    xfer->num_rects = num_rects;
    xfer->bytes = area * res->bpp;
    return true;
}

/* Copy a validated transfer into its resource and show what changed. */
static void virtio_desk_copy_transfer(VirtIODesk *s, VirtIODeskCmd *cmd,
                                      const VirtIODeskTransfer *xfer)
{
    VirtIODeskResource *res = xfer->res;
    uint32_t bpp = res->bpp;
    uint32_t img_stride = pixman_image_get_stride(res->image);
    uint8_t *img = (uint8_t *)pixman_image_get_data(res->image);
    unsigned int idx = 0;
    size_t base = 0;

    for (uint32_t i = 0; i < xfer->num_rects; i++) {
        const struct virtio_desk_xfer_rect *xr = &xfer->rects[i];
        uint32_t x = le32_to_cpu(xr->r.x), y = le32_to_cpu(xr->r.y);
        uint32_t w = le32_to_cpu(xr->r.width), h = le32_to_cpu(xr->r.height);
        uint32_t stride = le32_to_cpu(xr->stride);
        uint64_t src = xfer->payload_start + le64_to_cpu(xr->offset);

        trace_virtio_desk_transfer_rect(res->id, x, y, w, h);
        if (x == 0 && (uint64_t)w * bpp == img_stride && stride == img_stride) {
            /* whole rows, packed on both sides: one copy, not one a row */
            virtio_desk_copy_from_chain(cmd->elem->out_sg, &idx, &base, src,
                                        img + (uint64_t)y * img_stride,
                                        (size_t)h * img_stride);
        } else {
            for (uint32_t row = 0; row < h; row++) {
                virtio_desk_copy_from_chain(cmd->elem->out_sg, &idx, &base,
                                            src + (uint64_t)row * stride,
                                            img + (uint64_t)(y + row) *
                                            img_stride + (uint64_t)x * bpp,
                                            (size_t)w * bpp);
            }
        }
        virtio_desk_outputs_update(s, res, x, y, w, h);
    }
}

static void virtio_desk_cmd_transfer_rects(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_transfer_rects *req = &cmd->req.transfer_rects;
    VirtIODeskTransfer xfer = { 0 };
    uint32_t id, num_rects;

    id = le32_to_cpu(req->resource_id);
    num_rects = le32_to_cpu(req->num_rects);
    if (!virtio_desk_check_transfer(s, cmd, id, num_rects, &xfer)) {
        goto out;
    }
    if (cmd->may_defer && xfer.bytes > VIRTIO_DESK_INLINE_MAX) {
        cmd->deferred = true;
        goto out;
    }
    trace_virtio_desk_transfer_rects(id, num_rects, cmd->out_len,
                                     cmd->elem->out_num);
    virtio_desk_copy_transfer(s, cmd, &xfer);
    cmd->copied = xfer.bytes;
out:
    g_free(xfer.rects);
}

static void virtio_desk_cmd_get_input_info(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_get_input_info *req = &cmd->req.get_input_info;
    struct virtio_desk_resp_input_info resp;
    uint32_t device;

    device = le32_to_cpu(req->device);
    trace_virtio_desk_get_input_info(device);
    if (req->padding) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "padding not zero");
        return;
    }
    if (!virtio_desk_input_info(s, device, &resp)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "no input device %u", device);
        return;
    }
    virtio_desk_respond(s, cmd, &resp, sizeof(resp));
}

static void virtio_desk_cmd_outputs_current(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_outputs_current *req = &cmd->req.outputs_current;
    uint32_t outputs = le32_to_cpu(req->outputs);

    trace_virtio_desk_outputs_current(outputs);
    if (req->padding) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "padding not zero");
        return;
    }
    if (outputs & ~MAKE_64BIT_MASK(0, s->max_outputs)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID,
                         "outputs 0x%x of %u", outputs, s->max_outputs);
        return;
    }
    virtio_desk_outputs_current(s, outputs);
}

/* ------------------------------------------------------------------ */
/* dispatch                                                           */

typedef struct VirtIODeskCmdType {
    uint32_t type;
    size_t req_size;        /* fixed part of the request, header included */
    size_t resp_size;       /* writable bytes the answer needs */
    uint64_t features;      /* feature bits the driver must have accepted */
    void (*handle)(VirtIODesk *s, VirtIODeskCmd *cmd);
} VirtIODeskCmdType;

static const VirtIODeskCmdType virtio_desk_cmd_types[] = {
    {
        .type = VIRTIO_DESK_CMD_GET_DISPLAY_INFO,
        .req_size = sizeof(struct virtio_desk_ctrl_hdr),
        .resp_size = sizeof(struct virtio_desk_resp_display_info),
        .handle = virtio_desk_cmd_get_display_info,
    }, {
        .type = VIRTIO_DESK_CMD_RESOURCE_CREATE,
        .req_size = sizeof(struct virtio_desk_resource_create),
        .resp_size = sizeof(struct virtio_desk_ctrl_hdr),
        .handle = virtio_desk_cmd_resource_create,
    }, {
        .type = VIRTIO_DESK_CMD_RESOURCE_DESTROY,
        .req_size = sizeof(struct virtio_desk_resource_destroy),
        .resp_size = sizeof(struct virtio_desk_ctrl_hdr),
        .handle = virtio_desk_cmd_resource_destroy,
    }, {
        .type = VIRTIO_DESK_CMD_SET_SCANOUT,
        .req_size = sizeof(struct virtio_desk_set_scanout),
        .resp_size = sizeof(struct virtio_desk_ctrl_hdr),
        .handle = virtio_desk_cmd_set_scanout,
    }, {
        .type = VIRTIO_DESK_CMD_TRANSFER_RECTS,
        .req_size = sizeof(struct virtio_desk_transfer_rects),
        .resp_size = sizeof(struct virtio_desk_ctrl_hdr),
        .handle = virtio_desk_cmd_transfer_rects,
    }, {
        .type = VIRTIO_DESK_CMD_GET_INPUT_INFO,
        .req_size = sizeof(struct virtio_desk_get_input_info),
        .resp_size = sizeof(struct virtio_desk_resp_input_info),
        .features = BIT_ULL(VIRTIO_DESK_F_INPUT),
        .handle = virtio_desk_cmd_get_input_info,
    }, {
        .type = VIRTIO_DESK_CMD_GET_EDID,
        .req_size = sizeof(struct virtio_desk_get_edid),
        .resp_size = sizeof(struct virtio_desk_resp_edid),
        .features = BIT_ULL(VIRTIO_DESK_F_EDID),
        .handle = virtio_desk_cmd_get_edid,
    }, {
        .type = VIRTIO_DESK_CMD_GET_LAYOUT,
        .req_size = sizeof(struct virtio_desk_ctrl_hdr),
        .resp_size = sizeof(struct virtio_desk_resp_layout),
        .features = BIT_ULL(VIRTIO_DESK_F_LAYOUT),
        .handle = virtio_desk_cmd_get_layout,
    }, {
        .type = VIRTIO_DESK_CMD_OUTPUTS_CURRENT,
        .req_size = sizeof(struct virtio_desk_outputs_current),
        .resp_size = sizeof(struct virtio_desk_ctrl_hdr),
        .features = BIT_ULL(VIRTIO_DESK_F_WATCH),
        .handle = virtio_desk_cmd_outputs_current,
    },
};

static const VirtIODeskCmdType *virtio_desk_find_cmd_type(uint32_t type)
{
    for (size_t i = 0; i < ARRAY_SIZE(virtio_desk_cmd_types); i++) {
        if (virtio_desk_cmd_types[i].type == type) {
            return &virtio_desk_cmd_types[i];
        }
    }
    return NULL;
}

static void virtio_desk_handle_cmd(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    const VirtIODeskCmdType *ct;
    size_t req_len, resp_len;
    uint32_t flags;

    req_len = iov_to_buf(cmd->elem->out_sg, cmd->elem->out_num, 0,
                         &cmd->req, sizeof(cmd->req));
    if (req_len < sizeof(cmd->req.hdr)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "request shorter than %zu bytes",
                         sizeof(cmd->req.hdr));
        return;
    }
    cmd->type = le32_to_cpu(cmd->req.hdr.type);
    flags = le32_to_cpu(cmd->req.hdr.flags);
    trace_virtio_desk_cmd(cmd->type, flags, cmd->out_len);
    if (flags) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND,
                         "request 0x%x has flags 0x%x", cmd->type, flags);
        return;
    }
    ct = virtio_desk_find_cmd_type(cmd->type);
    if (ct && (vdev->guest_features & ct->features) != ct->features) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND,
                         "request 0x%x needs features 0x%" PRIx64
                         ", driver has 0x%" PRIx64, cmd->type, ct->features,
                         vdev->guest_features);
        return;
    }
    /* Act only on requests whose answer, even an error, can be delivered. */
    resp_len = ct ? ct->resp_size : sizeof(struct virtio_desk_ctrl_hdr);
    if (cmd->in_len < resp_len) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "request 0x%x has %zu response bytes, needs %zu",
                         cmd->type, cmd->in_len, resp_len);
        return;
    }
    if (!ct) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND,
                         "unknown request 0x%x", cmd->type);
        return;
    }
    if (req_len < ct->req_size) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "request 0x%x shorter than %zu bytes",
                         cmd->type, ct->req_size);
        return;
    }
    ct->handle(s, cmd);
}

/*
 * Queue handlers run in bounded batches (see VIRTIO_DESK_BATCH).  After
 * @handled requests, if the run has @spent its budget: should it stop and
 * leave what is left to the queue's bottom half?  Not if nothing is left
 * (a broken device pops nothing, so nothing is left for it either).
 */
bool virtio_desk_queue_yield(VirtIODevice *vdev, VirtQueue *vq, bool spent,
                             unsigned int handled)
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
void virtio_desk_queue_continue(VirtIODevice *vdev, VirtQueue *vq, QEMUBH *bh,
                                bool more, bool in_bh)
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

static void virtio_desk_ctrl_run(VirtIODesk *s, bool in_bh)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    VirtQueueElement *elem;
    unsigned int handled = 0;
    uint64_t copied = 0;
    bool more;

    /* x-stall: left in the ring until it is cleared */
    if (s->stall) {
        return;
    }
    while (!(more = virtio_desk_queue_yield(vdev, s->ctrl_vq,
                                            handled == VIRTIO_DESK_BATCH ||
                                            copied >= VIRTIO_DESK_BATCH_BYTES,
                                            handled)) &&
           (elem = virtqueue_pop(s->ctrl_vq, sizeof(VirtQueueElement)))) {
        VirtIODeskCmd cmd = {
            .elem = elem,
            .out_len = iov_size(elem->out_sg, elem->out_num),
            .in_len = iov_size(elem->in_sg, elem->in_num),
            .may_defer = !in_bh,
        };

        virtio_desk_handle_cmd(s, &cmd);
        if (cmd.deferred) {
            virtqueue_unpop(s->ctrl_vq, elem, 0);
            g_free(elem);
            more = true;
            break;
        }
        if (cmd.error) {
            trace_virtio_desk_cmd_error(cmd.type, cmd.error);
            virtio_desk_respond_nodata(s, &cmd, cmd.error);
        } else if (!cmd.responded) {
            virtio_desk_respond_nodata(s, &cmd, VIRTIO_DESK_RESP_OK_NODATA);
        }
        g_free(elem);
        handled++;
        copied += cmd.copied;
    }
    if (handled) {
        virtio_notify(vdev, s->ctrl_vq);
    }
    virtio_desk_queue_continue(vdev, s->ctrl_vq, s->ctrl_bh, more, in_bh);
}

static void virtio_desk_ctrl_bh(void *opaque)
{
    virtio_desk_ctrl_run(opaque, true);
}

static void virtio_desk_handle_ctrl(VirtIODevice *vdev, VirtQueue *vq)
{
    virtio_desk_ctrl_run(VIRTIO_DESK(vdev), false);
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
                                  virtio_desk_handle_ctrl);
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
