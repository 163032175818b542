/*
 * virtio-desk: the device's resources (host-side images) and outputs
 *
 * A resource is a pixman image the guest fills with TRANSFER_RECTS; an
 * output is a QEMU console that shows a rectangle of one resource without
 * copying it.  Everything here trusts its arguments: the command handlers
 * in virtio-desk.c validate guest values first.  Migration is the
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
#include "ui/rect.h"
#include "trace.h"

/* QemuRect holds any rect inside a resource */
QEMU_BUILD_BUG_ON(VIRTIO_DESK_MAX_DIMENSION > INT16_MAX);

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
/* outputs                                                            */

void virtio_desk_output_disable(VirtIODesk *s, uint32_t output_id)
{
    VirtIODeskOutput *out = &s->outputs[output_id];

    if (!out->res) {
        return;
    }
    out->res = NULL;
    /* NULL installs QEMU's "Guest disabled display" placeholder */
    dpy_gfx_replace_surface(out->con, NULL);
}

/* Point the console at the resource's pixels; no copy is made. */
static void virtio_desk_output_show(VirtIODesk *s, uint32_t output_id)
{
    VirtIODeskOutput *out = &s->outputs[output_id];
    VirtIODeskResource *res = out->res;
    uint32_t stride = pixman_image_get_stride(res->image);
    uint8_t *data = (uint8_t *)pixman_image_get_data(res->image);
    DisplaySurface *surface;

    data += (uint64_t)out->src_y * stride +
            (uint64_t)out->src_x * res->bpp;
    surface = qemu_create_displaysurface_from(
        out->src_width, out->src_height, pixman_image_get_format(res->image),
        stride, data);
    dpy_gfx_replace_surface(out->con, surface);
    dpy_gfx_update_full(out->con);
}

void virtio_desk_output_set(VirtIODesk *s, uint32_t output_id,
                            VirtIODeskResource *res, uint32_t x, uint32_t y,
                            uint32_t w, uint32_t h)
{
    VirtIODeskOutput *out = &s->outputs[output_id];

    out->res = res;
    out->src_x = x;
    out->src_y = y;
    out->src_width = w;
    out->src_height = h;
    if (output_id == 0) {
        /* output 0's console is VGA's too in virtio-desk-vga: see there */
        s->scanout_enabled = true;
        s->console_claims++;
    }
    virtio_desk_output_show(s, output_id);
}

/*
 * Prompting the display refresh.  QEMU's UIs send pixels only from the
 * console layer's refresh timer, which VNC backs off from 30 ms to 3 s
 * while nothing changes, so damage would wait for the next tick.  The
 * device's own listener, which draws nothing, pulls that tick in to
 * refresh_prompt_ms after the last one when damage arrives, and lets go
 * again from its dpy_refresh.
 *
 * While damage keeps coming, a prompt pulls the tick in at most once per
 * frame of output 0 (its UI's refresh rate, 60 Hz when none says): no
 * screen shows more, and every refresh costs the UIs a compare and copy
 * of the damaged area (SPICE's mirror, VNC's server surface), which at
 * 500 refreshes a second of full-screen damage cost more host CPU than
 * the transfers.  Damage after a quiet frame still gets the short bound.
 */
static void virtio_desk_prompt_done(DisplayChangeListener *dcl)
{
    VirtIODesk *s = container_of(dcl, VirtIODesk, prompt_dcl);

    if (dcl->update_interval != GUI_REFRESH_INTERVAL_IDLE) {
        s->prompted_refresh_ms = qemu_clock_get_ms(QEMU_CLOCK_REALTIME);
    }
    update_displaychangelistener(dcl, GUI_REFRESH_INTERVAL_IDLE);
}

/* It shows nothing, so it takes every format. */
static bool virtio_desk_prompt_check_format(DisplayChangeListener *dcl,
                                            pixman_format_code_t format)
{
    return true;
}

static const DisplayChangeListenerOps virtio_desk_prompt_ops = {
    .dpy_name = "virtio-desk refresh prompt",
    .dpy_refresh = virtio_desk_prompt_done,
    .dpy_gfx_check_format = virtio_desk_prompt_check_format,
};

void virtio_desk_prompt_init(VirtIODesk *s)
{
    if (!s->refresh_prompt_ms) {
        return;
    }
    s->prompt_dcl.ops = &virtio_desk_prompt_ops;
    s->prompt_dcl.con = s->outputs[0].con;
    s->prompt_dcl.update_interval = GUI_REFRESH_INTERVAL_IDLE;
    register_displaychangelistener(&s->prompt_dcl);
}

void virtio_desk_prompt_fini(VirtIODesk *s)
{
    if (s->prompt_dcl.ds) {
        unregister_displaychangelistener(&s->prompt_dcl);
    }
}

static void virtio_desk_prompt(VirtIODesk *s)
{
    uint32_t refresh = s->outputs[0].pref_refresh ? : 60000;   /* mHz */
    /* never slower than the console's own default tick */
    uint64_t frame_ms = MIN(1000000 / refresh, GUI_REFRESH_INTERVAL_DEFAULT);
    uint64_t interval = s->refresh_prompt_ms;

    if (!s->prompt_dcl.ds ||
        s->prompt_dcl.update_interval != GUI_REFRESH_INTERVAL_IDLE) {
        return;     /* no prompting, or a prompt is pending */
    }
    if (qemu_clock_get_ms(QEMU_CLOCK_REALTIME) - s->prompted_refresh_ms <
        frame_ms) {
        interval = MAX(interval, frame_ms);
    }
    trace_virtio_desk_refresh_prompt(interval);
    update_displaychangelistener(&s->prompt_dcl, interval);
}

/* Tell every output showing @res that rect x,y,w,h of it changed. */
void virtio_desk_outputs_update(VirtIODesk *s, VirtIODeskResource *res,
                                uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    QemuRect damage;

    qemu_rect_init(&damage, x, y, w, h);
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        VirtIODeskOutput *out = &s->outputs[i];
        QemuRect shown;

        if (out->res != res) {
            continue;
        }
        qemu_rect_init(&shown, out->src_x, out->src_y,
                       out->src_width, out->src_height);
        if (qemu_rect_intersect(&damage, &shown, &shown)) {
            qemu_rect_translate(&shown, -(int16_t)out->src_x,
                                -(int16_t)out->src_y);
            dpy_gfx_update(out->con, shown.x, shown.y,
                           shown.width, shown.height);
            virtio_desk_prompt(s);
        }
    }
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
