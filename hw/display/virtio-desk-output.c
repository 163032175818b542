/*
 * virtio-desk: the outputs, each a QEMU console
 *
 * An output shows a rectangle of one resource without copying it: the
 * console's surface points at the resource's pixels, and a transfer's
 * damage is reported for the part each output shows.  The UI's window
 * tells the output its preferred mode (ui_info), and the device's own
 * display listener prompts the UIs' refresh when damage arrives.
 * Everything here trusts its arguments: the command handlers in
 * virtio-desk.c validate guest values first.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/timer.h"
#include "hw/display/edid.h"
#include "virtio-desk-internal.h"
#include "ui/console.h"
#include "ui/qemu-pixman.h"
#include "ui/rect.h"
#include "trace.h"

/* QemuRect holds any rect inside a resource */
QEMU_BUILD_BUG_ON(VIRTIO_DESK_MAX_DIMENSION > INT16_MAX);

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
/* commands                                                           */

void virtio_desk_cmd_get_display_info(VirtIODesk *s, VirtIODeskCmd *cmd)
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
void virtio_desk_cmd_get_edid(VirtIODesk *s, VirtIODeskCmd *cmd)
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

void virtio_desk_cmd_get_layout(VirtIODesk *s, VirtIODeskCmd *cmd)
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

void virtio_desk_cmd_set_scanout(VirtIODesk *s, VirtIODeskCmd *cmd)
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


/* ------------------------------------------------------------------ */
/* console                                                            */

static void virtio_desk_ui_info(void *opaque, uint32_t output_id,
                                QemuUIInfo *info)
{
    VirtIODesk *s = ((VirtIODeskOutput *)opaque)->desk;
    VirtIODeskOutput *out;
    VirtIODeskOutput old;

    if (output_id >= s->max_outputs) {
        return;
    }
    trace_virtio_desk_ui_info(output_id, info->width, info->height,
                              info->refresh_rate, info->xoff, info->yoff);
    out = &s->outputs[output_id];
    old = *out;
    out->connected = info->width && info->height;
    if (out->connected) {
        out->pref_width = MIN(info->width, VIRTIO_DESK_MAX_DIMENSION);
        out->pref_height = MIN(info->height, VIRTIO_DESK_MAX_DIMENSION);
        out->pref_refresh = info->refresh_rate;
        out->width_mm = info->width_mm;
        out->height_mm = info->height_mm;
        /* a desktop's top-left corner is 0,0: nothing lies left of it */
        out->pos_x = MAX(info->xoff, 0);
        out->pos_y = MAX(info->yoff, 0);
    }
    if (out->connected == old.connected && out->pref_width == old.pref_width &&
        out->pref_height == old.pref_height &&
        out->pref_refresh == old.pref_refresh &&
        out->width_mm == old.width_mm && out->height_mm == old.height_mm &&
        out->pos_x == old.pos_x && out->pos_y == old.pos_y) {
        return;
    }
    s->events_read |= VIRTIO_DESK_EVENT_DISPLAY;
    virtio_notify_config(VIRTIO_DEVICE(s));
}

static void virtio_desk_gfx_update(void *opaque)
{
    VirtIODeskOutput *out = opaque;

    if (virtio_desk_output_pull(out->desk, out->index)) {
        graphic_hw_update_done(out->con);
    }
}

/* The opaque is the output; gfx_update only tells who watches. */
const GraphicHwOps virtio_desk_hw_ops = {
    .gfx_update = virtio_desk_gfx_update,
    .gfx_update_async = true,
    .ui_info = virtio_desk_ui_info,
};
