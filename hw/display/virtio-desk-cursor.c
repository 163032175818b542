/*
 * virtio-desk: the cursor of each output (VIRTIO_DESK_F_CURSOR)
 *
 * The guest defines a cursor image with its hotspot and moves it on the
 * cursor queue, apart from the control queue so that no big transfer
 * delays it.  The device hands both to the output's console
 * (dpy_cursor_define, dpy_mouse_set): VNC sends the image to its clients
 * as a client-side cursor and SPICE on its cursor channel, and a move
 * costs no framebuffer update.  The image travels in the request: no guest
 * memory stays mapped.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/log.h"
#include "hw/virtio/virtio.h"
#include "virtio-desk-internal.h"
#include "migration/vmstate.h"
#include "ui/console.h"
#include "trace.h"

QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_cursor_pos) != 24);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_cursor_define) != 40);
QEMU_BUILD_BUG_ON(VIRTIO_DESK_CURSOR_QUEUE_SIZE > VIRTQUEUE_MAX_SIZE);

/*
 * Show output @output_id's cursor on its console.  The image is handed
 * over only when it or the visibility changed (a hidden cursor is QEMU's
 * transparent one, as VNC has no other way to hide it): a move is only
 * dpy_mouse_set(), which sends nothing to a VNC client.
 */
static void virtio_desk_cursor_show(VirtIODesk *s, uint32_t output_id,
                                    bool new_image)
{
    VirtIODeskCursor *cur = &s->cursors[output_id];
    QemuConsole *con = s->outputs[output_id].con;
    bool on = cur->defined && cur->visible;

    if (new_image || on != cur->shown) {
        QEMUCursor *c;

        if (on) {
            c = cursor_alloc(cur->width, cur->height);
            c->hot_x = cur->hot_x;
            c->hot_y = cur->hot_y;
            memcpy(c->data, cur->pixels, cur->npixels * sizeof(uint32_t));
        } else {
            c = cursor_builtin_hidden();
        }
        dpy_cursor_define(con, c);
        cursor_unref(c);
        cur->shown = on;
    }
    dpy_mouse_set(con, cur->x, cur->y, on);
}

/* The position part that both commands share; false if it is invalid. */
static bool virtio_desk_cursor_check_pos(VirtIODesk *s,
                                         VirtIODeskCmd *cmd,
                                         const char *caller)
{
    const struct virtio_desk_cursor_pos *pos = &cmd->req.cursor_pos;
    uint32_t output_id = le32_to_cpu(pos->output_id);
    uint32_t visible = le32_to_cpu(pos->visible);
    int32_t x = le32_to_cpu(pos->x), y = le32_to_cpu(pos->y);

    if (output_id >= s->max_outputs) {
        desk_guest_error_in(caller, cmd,
                            VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID,
                            "output %u of %u", output_id, s->max_outputs);
        return false;
    }
    if (visible > 1) {
        desk_guest_error_in(caller, cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                            "visible is %u, not 0 or 1", visible);
        return false;
    }
    if (x < -VIRTIO_DESK_MAX_DIMENSION || x >= VIRTIO_DESK_MAX_DIMENSION ||
        y < -VIRTIO_DESK_MAX_DIMENSION || y >= VIRTIO_DESK_MAX_DIMENSION) {
        desk_guest_error_in(caller, cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                            "position %d,%d outside -%d..%d", x, y,
                            VIRTIO_DESK_MAX_DIMENSION,
                            VIRTIO_DESK_MAX_DIMENSION - 1);
        return false;
    }
    return true;
}

static void virtio_desk_cursor_set_pos(VirtIODeskCursor *cur,
                                       const struct virtio_desk_cursor_pos *pos)
{
    cur->visible = le32_to_cpu(pos->visible);
    cur->x = le32_to_cpu(pos->x);
    cur->y = le32_to_cpu(pos->y);
}

void virtio_desk_cmd_cursor_move(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_cursor_pos *req = &cmd->req.cursor_pos;
    uint32_t output_id = le32_to_cpu(req->output_id);

    trace_virtio_desk_cursor_move(output_id, le32_to_cpu(req->x),
                                  le32_to_cpu(req->y),
                                  le32_to_cpu(req->visible));
    if (cmd->out_len != sizeof(*req)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "request of %zu bytes, must be %zu",
                         cmd->out_len, sizeof(*req));
        return;
    }
    if (!virtio_desk_cursor_check_pos(s, cmd, __func__)) {
        return;
    }
    virtio_desk_cursor_set_pos(&s->cursors[output_id], req);
    virtio_desk_cursor_show(s, output_id, false);
}

void virtio_desk_cmd_cursor_define(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_cursor_define *req = &cmd->req.cursor_define;
    uint32_t output_id = le32_to_cpu(req->pos.output_id);
    uint32_t w = le32_to_cpu(req->width), h = le32_to_cpu(req->height);
    uint32_t hot_x = le32_to_cpu(req->hot_x), hot_y = le32_to_cpu(req->hot_y);
    VirtIODeskCursor *cur;
    size_t need;

    trace_virtio_desk_cursor_define(output_id, w, h, hot_x, hot_y);
    if (!virtio_desk_cursor_check_pos(s, cmd, __func__)) {
        return;
    }
    if (w < 1 || w > VIRTIO_DESK_CURSOR_MAX ||
        h < 1 || h > VIRTIO_DESK_CURSOR_MAX) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "cursor %ux%u, allowed 1..%d", w, h,
                         VIRTIO_DESK_CURSOR_MAX);
        return;
    }
    if (hot_x >= w || hot_y >= h) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "hotspot %u,%u outside the %ux%u image",
                         hot_x, hot_y, w, h);
        return;
    }
    need = sizeof(*req) + (size_t)w * h * sizeof(uint32_t);
    if (cmd->out_len != need) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "%ux%u cursor in a request of %zu bytes, must be %zu",
                         w, h, cmd->out_len, need);
        return;
    }

    cur = &s->cursors[output_id];
    iov_to_buf(cmd->elem->out_sg, cmd->elem->out_num, sizeof(*req),
               cur->pixels, (size_t)w * h * sizeof(uint32_t));
    for (uint32_t i = 0; i < w * h; i++) {
        cur->pixels[i] = le32_to_cpu(cur->pixels[i]);
    }
    cur->defined = true;
    cur->width = w;
    cur->height = h;
    cur->npixels = w * h;
    cur->hot_x = hot_x;
    cur->hot_y = hot_y;
    virtio_desk_cursor_set_pos(cur, &req->pos);
    virtio_desk_cursor_show(s, output_id, true);
}

/* ------------------------------------------------------------------ */
/* device life cycle                                                  */

/*
 * Cursor requests are small (at most 16 KiB of pixels) and handled right
 * in the queue notification, in bounded runs, by virtio_desk_run_queue().
 */
static void virtio_desk_cursor_bh(void *opaque)
{
    virtio_desk_run_queue(opaque, VIRTIO_DESK_QUEUE_CURSOR, true);
}

void virtio_desk_cursor_realize(VirtIODesk *s)
{
    if (!s->cursor) {
        return;
    }
    /* virtio_desk_input_realize() made queues 1 and 2: this is queue 3 */
    s->cursor_vq = virtio_add_queue(VIRTIO_DEVICE(s),
                                    VIRTIO_DESK_CURSOR_QUEUE_SIZE,
                                    virtio_desk_handle_queue);
    s->cursor_bh = virtio_bh_new_guarded(DEVICE(s), virtio_desk_cursor_bh, s);
}

void virtio_desk_cursor_unrealize(VirtIODesk *s)
{
    if (s->cursor_vq) {
        qemu_bh_delete(s->cursor_bh);
        virtio_delete_queue(s->cursor_vq);
    }
}

/*
 * A reset forgets every cursor.  A console that showed one gets the
 * hidden cursor; one that never did is left alone, so that a guest that
 * never uses the cursor leaves the UI's own pointer in place.
 */
void virtio_desk_cursor_reset(VirtIODesk *s)
{
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        VirtIODeskCursor *cur = &s->cursors[i];
        bool shown = cur->shown;

        memset(cur, 0, sizeof(*cur));
        if (shown) {
            cur->shown = true;
            virtio_desk_cursor_show(s, i, false);
        }
    }
}

/* ------------------------------------------------------------------ */
/* migration                                                          */

static int virtio_desk_cursor_pre_save(void *opaque)
{
    VirtIODeskCursor *cur = opaque;

    cur->npixels = cur->width * cur->height;
    return 0;
}

/* Before the pixels are read: the same rules as CURSOR_DEFINE. */
static bool virtio_desk_cursor_size_valid(void *opaque, int version_id)
{
    VirtIODeskCursor *cur = opaque;

    if (!cur->defined) {
        return !cur->width && !cur->height && !cur->npixels;
    }
    return cur->width >= 1 && cur->width <= VIRTIO_DESK_CURSOR_MAX &&
           cur->height >= 1 && cur->height <= VIRTIO_DESK_CURSOR_MAX &&
           cur->hot_x < cur->width && cur->hot_y < cur->height &&
           cur->npixels == cur->width * cur->height &&
           cur->x >= -VIRTIO_DESK_MAX_DIMENSION &&
           cur->x < VIRTIO_DESK_MAX_DIMENSION &&
           cur->y >= -VIRTIO_DESK_MAX_DIMENSION &&
           cur->y < VIRTIO_DESK_MAX_DIMENSION;
}

static const VMStateDescription vmstate_virtio_desk_cursor_one = {
    .name = "virtio-desk-cursor-one",
    .version_id = 1,
    .minimum_version_id = 1,
    .pre_save = virtio_desk_cursor_pre_save,
    .fields = (const VMStateField[]) {
        VMSTATE_BOOL(defined, VirtIODeskCursor),
        VMSTATE_BOOL(visible, VirtIODeskCursor),
        VMSTATE_INT32(x, VirtIODeskCursor),
        VMSTATE_INT32(y, VirtIODeskCursor),
        VMSTATE_UINT32(width, VirtIODeskCursor),
        VMSTATE_UINT32(height, VirtIODeskCursor),
        VMSTATE_UINT32(hot_x, VirtIODeskCursor),
        VMSTATE_UINT32(hot_y, VirtIODeskCursor),
        VMSTATE_UINT32(npixels, VirtIODeskCursor),
        VMSTATE_VALIDATE("cursor image", virtio_desk_cursor_size_valid),
        {
            /* the npixels first entries of the array in place */
            .name = "pixels",
            .num_offset = offsetof(VirtIODeskCursor, npixels),
            .info = &vmstate_info_uint32,
            .size = sizeof(uint32_t),
            .flags = VMS_VARRAY_UINT32,
            .offset = offsetof(VirtIODeskCursor, pixels),
        },
        VMSTATE_END_OF_LIST()
    },
};

/* Only once a guest has defined a cursor: other streams stay as they were. */
static bool virtio_desk_cursor_needed(void *opaque)
{
    VirtIODesk *s = opaque;

    for (uint32_t i = 0; i < s->max_outputs; i++) {
        if (s->cursors[i].defined) {
            return true;
        }
    }
    return false;
}

static int virtio_desk_cursor_post_load(void *opaque, int version_id)
{
    VirtIODesk *s = opaque;

    if (!s->cursor) {
        error_report("virtio-desk: cursor is off here, on on the source");
        return -EINVAL;
    }
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        if (s->cursors[i].defined) {
            virtio_desk_cursor_show(s, i, true);
        }
    }
    return 0;
}

const VMStateDescription vmstate_virtio_desk_cursor = {
    .name = "virtio-desk-device/cursor",
    .version_id = 1,
    .minimum_version_id = 1,
    .needed = virtio_desk_cursor_needed,
    .post_load = virtio_desk_cursor_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_STRUCT_VARRAY_UINT32(cursors, VirtIODesk, max_outputs, 0,
                                     vmstate_virtio_desk_cursor_one,
                                     VirtIODeskCursor),
        VMSTATE_END_OF_LIST()
    },
};
