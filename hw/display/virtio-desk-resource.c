/*
 * virtio-desk: the device's resources (host-side images)
 *
 * A resource is a pixman image the guest fills with TRANSFER_RECTS, which
 * outputs (virtio-desk-output.c) show.  Everything here trusts its
 * arguments: the command handlers in virtio-desk.c validate guest values
 * first.  Migration is the
 * exception and validates the stream with the same rules as the commands.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "virtio-desk-internal.h"
#include "migration/qemu-file-types.h"
#include "migration/vmstate.h"
#include "ui/console.h"
#include "ui/qemu-pixman.h"
#include "trace.h"
#include "virtio-desk-copy.h"

/* ------------------------------------------------------------------ */
/* pixel formats                                                      */

typedef struct VirtIODeskFormat {
    uint32_t format;
    pixman_format_code_t pixman;
    uint32_t bpp;                 /* bytes per pixel */
} VirtIODeskFormat;

/* DRM fourcc formats are little-endian, pixman formats host-endian. */
static const VirtIODeskFormat virtio_desk_formats[] = {
    { VIRTIO_DESK_FORMAT_XRGB8888, PIXMAN_LE_x8r8g8b8, 4 },
    { VIRTIO_DESK_FORMAT_ARGB8888, PIXMAN_LE_a8r8g8b8, 4 },
    { VIRTIO_DESK_FORMAT_XBGR8888, PIXMAN_LE_x8b8g8r8, 4 },
    { VIRTIO_DESK_FORMAT_ABGR8888, PIXMAN_LE_a8b8g8r8, 4 },
#if !HOST_BIG_ENDIAN
    { VIRTIO_DESK_FORMAT_RGB565,   PIXMAN_r5g6b5,      2 },
#endif
};

static const VirtIODeskFormat *virtio_desk_find_format(uint32_t format)
{
    for (int i = 0; i < ARRAY_SIZE(virtio_desk_formats); i++) {
        if (virtio_desk_formats[i].format == format) {
            return &virtio_desk_formats[i];
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* resources                                                          */

VirtIODeskResource *virtio_desk_find_resource(VirtIODesk *s, uint32_t id)
{
    return g_hash_table_lookup(s->resources, GUINT_TO_POINTER(id));
}

/*
 * Validate and create a resource; used by the guest command and by
 * migration, so both trust nothing.  Returns 0 or a VIRTIO_DESK_RESP_ERR_*.
 */
uint32_t virtio_desk_resource_new(VirtIODesk *s, uint32_t id,
                                  uint32_t format, uint32_t width,
                                  uint32_t height, const char **why)
{
    const VirtIODeskFormat *fmt = virtio_desk_find_format(format);
    VirtIODeskResource *res;
    uint64_t stride, hostmem;

    if (id == 0 || virtio_desk_find_resource(s, id)) {
        *why = "resource id 0 or in use";
        return VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID;
    }
    if (!fmt) {
        *why = "unknown format";
        return VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER;
    }
    if (width == 0 || width > VIRTIO_DESK_MAX_DIMENSION ||
        height == 0 || height > VIRTIO_DESK_MAX_DIMENSION) {
        *why = "size out of range";
        return VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER;
    }
    if (g_hash_table_size(s->resources) >= VIRTIO_DESK_MAX_RESOURCES) {
        *why = "too many resources";
        return VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY;
    }
    /* both factors are <= 2^16 * 4 and 2^14: no overflow in 64 bits */
    stride = ROUND_UP((uint64_t)width * fmt->bpp, sizeof(uint32_t));
    hostmem = stride * height;
    if (hostmem > s->max_hostmem - s->hostmem_used) {
        *why = "max_hostmem exceeded";
        return VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY;
    }

    res = g_new0(VirtIODeskResource, 1);
    /* pixman zero-fills: a new resource is black */
    res->image = pixman_image_create_bits(fmt->pixman, width, height,
                                          NULL, stride);
    if (!res->image) {
        g_free(res);
        *why = "host allocation failed";
        return VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY;
    }
    res->id = id;
    res->format = format;
    res->width = width;
    res->height = height;
    res->bpp = fmt->bpp;
    res->hostmem = hostmem;
    s->hostmem_used += hostmem;
    g_hash_table_insert(s->resources, GUINT_TO_POINTER(id), res);
    return 0;
}

void virtio_desk_resource_free(gpointer data)
{
    VirtIODeskResource *res = data;

    pixman_image_unref(res->image);
    g_free(res);
}

void virtio_desk_resource_destroy(VirtIODesk *s, VirtIODeskResource *res)
{
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        if (s->outputs[i].res == res) {
            virtio_desk_output_disable(s, i);
        }
    }
    s->hostmem_used -= res->hostmem;
    g_hash_table_remove(s->resources, GUINT_TO_POINTER(res->id));
}

void virtio_desk_destroy_all(VirtIODesk *s)
{
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        virtio_desk_output_disable(s, i);
    }
    g_hash_table_remove_all(s->resources);
    s->hostmem_used = 0;
}

/* A non-empty rect entirely inside the resource; overflow-safe. */
bool virtio_desk_rect_valid(VirtIODeskResource *res, uint32_t x,
                            uint32_t y, uint32_t w, uint32_t h)
{
    return w && h && x <= res->width && w <= res->width - x &&
           y <= res->height && h <= res->height - y;
}

/* ------------------------------------------------------------------ */
/* commands                                                           */

/* The resource a request names; if there is none, reject the request. */
VirtIODeskResource *
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

void virtio_desk_cmd_resource_create(VirtIODesk *s, VirtIODeskCmd *cmd)
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

void virtio_desk_cmd_resource_destroy(VirtIODesk *s, VirtIODeskCmd *cmd)
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

void virtio_desk_cmd_transfer_rects(VirtIODesk *s, VirtIODeskCmd *cmd)
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


/* ------------------------------------------------------------------ */
/* migration                                                          */

/*
 * The host copy of every resource is the only one, so it migrates with
 * its pixels.  Layout: per resource id, format, width, height, pixels;
 * id 0 ends the list.  The outputs follow as VMState fields.
 */
static int virtio_desk_resources_save(QEMUFile *f, void *opaque, size_t size,
                                      const VMStateField *field,
                                      JSONWriter *vmdesc)
{
    VirtIODesk *s = opaque;
    GHashTableIter iter;
    VirtIODeskResource *res;

    g_hash_table_iter_init(&iter, s->resources);
    while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&res)) {
        qemu_put_be32(f, res->id);
        qemu_put_be32(f, res->format);
        qemu_put_be32(f, res->width);
        qemu_put_be32(f, res->height);
        qemu_put_buffer(f, (uint8_t *)pixman_image_get_data(res->image),
                        res->hostmem);
    }
    qemu_put_be32(f, 0);
    return 0;
}

static int virtio_desk_resources_load(QEMUFile *f, void *opaque, size_t size,
                                      const VMStateField *field)
{
    VirtIODesk *s = opaque;
    const char *why;
    uint32_t id;

    virtio_desk_destroy_all(s);
    while ((id = qemu_get_be32(f))) {
        uint32_t format = qemu_get_be32(f);
        uint32_t width = qemu_get_be32(f);
        uint32_t height = qemu_get_be32(f);
        VirtIODeskResource *res;

        if (qemu_file_get_error(f)) {
            /* a short stream, not a bad resource */
            return qemu_file_get_error(f);
        }
        if (virtio_desk_resource_new(s, id, format, width, height, &why)) {
            error_report("virtio-desk: bad resource %u in migration: %s",
                         id, why);
            return -EINVAL;
        }
        res = virtio_desk_find_resource(s, id);
        qemu_get_buffer(f, (uint8_t *)pixman_image_get_data(res->image),
                        res->hostmem);
    }
    return qemu_file_get_error(f);
}

const VMStateInfo virtio_desk_vmstate_info_resources = {
    .name = "virtio-desk-resources",
    .get = virtio_desk_resources_load,
    .put = virtio_desk_resources_save,
};
