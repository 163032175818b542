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
#include "virtio-desk-internal.h"
#include "migration/qemu-file-types.h"
#include "migration/vmstate.h"
#include "ui/console.h"
#include "ui/qemu-pixman.h"
#include "trace.h"

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
