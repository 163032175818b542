/*
 * virtio-desk: paravirtual desktop device, input part
 *
 * QEMU's input layer (keys, buttons, wheels, absolute or relative moves)
 * becomes Linux evdev events for two guest input devices, a keyboard and a
 * pointer, on the event queue.  The guest's LED state comes back on the
 * status queue.  Events wait in a bounded ring while the guest has no free
 * buffers; nothing is dropped until the ring is full, and then only whole
 * frames.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/iov.h"
#include "qemu/log.h"
#include "hw/virtio/virtio.h"
#include "virtio-desk-internal.h"
#include "migration/qemu-file-types.h"
#include "migration/vmstate.h"
#include "ui/console.h"
#include "ui/input.h"
#include "standard-headers/linux/input.h"
#include "trace.h"

QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_input_event) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_get_input_info) != 16);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_input_absinfo) != 24);
QEMU_BUILD_BUG_ON(sizeof(struct virtio_desk_resp_input_info) != 216);
QEMU_BUILD_BUG_ON(VIRTIO_DESK_INPUT_DEVICES > 32);

/* the LEDs a keyboard has, as QEMU's UI knows them */
#define VIRTIO_DESK_LEDS \
    (QEMU_NUM_LOCK_LED | QEMU_CAPS_LOCK_LED | QEMU_SCROLL_LOCK_LED)

static const uint16_t virtio_desk_buttons[INPUT_BUTTON__MAX] = {
    [INPUT_BUTTON_LEFT]   = BTN_LEFT,
    [INPUT_BUTTON_RIGHT]  = BTN_RIGHT,
    [INPUT_BUTTON_MIDDLE] = BTN_MIDDLE,
    [INPUT_BUTTON_SIDE]   = BTN_SIDE,
    [INPUT_BUTTON_EXTRA]  = BTN_EXTRA,
};

static const uint16_t virtio_desk_abs_axes[INPUT_AXIS__MAX] = {
    [INPUT_AXIS_X] = ABS_X,
    [INPUT_AXIS_Y] = ABS_Y,
};

static const uint16_t virtio_desk_rel_axes[INPUT_AXIS__MAX] = {
    [INPUT_AXIS_X] = REL_X,
    [INPUT_AXIS_Y] = REL_Y,
};

/* the keyboard's LEDs: evdev LED_* code to QEMU_*_LOCK_LED */
static const int virtio_desk_leds[] = {
    [LED_NUML]    = QEMU_NUM_LOCK_LED,
    [LED_CAPSL]   = QEMU_CAPS_LOCK_LED,
    [LED_SCROLLL] = QEMU_SCROLL_LOCK_LED,
};

/* Wheels are buttons to QEMU and relative axes to evdev: a step a press. */
static const struct {
    uint16_t code;
    int8_t step;
} virtio_desk_wheels[INPUT_BUTTON__MAX] = {
    [INPUT_BUTTON_WHEEL_UP]    = { REL_WHEEL, 1 },
    [INPUT_BUTTON_WHEEL_DOWN]  = { REL_WHEEL, -1 },
    [INPUT_BUTTON_WHEEL_LEFT]  = { REL_HWHEEL, -1 },
    [INPUT_BUTTON_WHEEL_RIGHT] = { REL_HWHEEL, 1 },
};

/* ------------------------------------------------------------------ */
/* the pending ring                                                   */

static struct virtio_desk_input_event *
virtio_desk_pending_at(VirtIODesk *s, uint32_t i)
{
    return &s->pending[(s->pending_head + i) % VIRTIO_DESK_INPUT_PENDING_MAX];
}

/* Hand waiting events to the guest, oldest first, one per buffer. */
static void virtio_desk_input_flush(VirtIODesk *s)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    VirtQueueElement *elem;
    bool pushed = false;

    /* only whole frames: an open one waits for its SYN_REPORT */
    while (s->frame_start) {
        struct virtio_desk_input_event *ev = virtio_desk_pending_at(s, 0);

        elem = virtqueue_pop(s->event_vq, sizeof(VirtQueueElement));
        if (!elem) {
            break;
        }
        if (iov_size(elem->in_sg, elem->in_num) < sizeof(*ev)) {
            qemu_log_mask(LOG_GUEST_ERROR, "virtio-desk: event buffer of "
                          "%zu bytes, needs %zu\n",
                          iov_size(elem->in_sg, elem->in_num), sizeof(*ev));
            trace_virtio_desk_input_bad_buffer(iov_size(elem->in_sg,
                                                        elem->in_num));
            virtqueue_push(s->event_vq, elem, 0);
        } else {
            iov_from_buf(elem->in_sg, elem->in_num, 0, ev, sizeof(*ev));
            virtqueue_push(s->event_vq, elem, sizeof(*ev));
            s->pending_head = (s->pending_head + 1) %
                              VIRTIO_DESK_INPUT_PENDING_MAX;
            s->pending_count--;
            s->frame_start--;
        }
        g_free(elem);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, s->event_vq);
    }
}

static void virtio_desk_input_push(VirtIODesk *s, uint16_t device,
                                   uint16_t output, uint16_t type,
                                   uint16_t code, int32_t value)
{
    struct virtio_desk_input_event *ev;

    if (s->frame_dropped) {
        return;
    }
    if (s->pending_count == VIRTIO_DESK_INPUT_PENDING_MAX) {
        /* forget the frame so far: the guest never sees half of one */
        s->pending_count = s->frame_start;
        s->frame_dropped = true;
        return;
    }
    ev = virtio_desk_pending_at(s, s->pending_count++);
    *ev = (struct virtio_desk_input_event) {
        .device = cpu_to_le16(device),
        .output = cpu_to_le16(output),
        .type = cpu_to_le16(type),
        .code = cpu_to_le16(code),
        .value = cpu_to_le32(value),
    };
    s->frame_devices |= 1u << device;
}

/* ------------------------------------------------------------------ */
/* QEMU input handler                                                 */

static uint16_t virtio_desk_output_of(VirtIODesk *s, QemuConsole *src)
{
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        if (s->outputs[i].con == src) {
            return i;
        }
    }
    return 0;
}

static void virtio_desk_input_event(DeviceState *dev, QemuConsole *src,
                                    InputEvent *evt)
{
    VirtIODesk *s = VIRTIO_DESK(dev);
    uint16_t out = virtio_desk_output_of(s, src);
    InputKeyEvent *key;
    InputBtnEvent *btn;
    InputMoveEvent *move;
    int qcode;

    if (!s->input_active) {
        return;
    }
    switch (evt->type) {
    case INPUT_EVENT_KIND_KEY:
        key = evt->u.key.data;
        qcode = qemu_input_key_value_to_qcode(key->key);
        if (qcode < qemu_input_map_qcode_to_linux_len &&
            qemu_input_map_qcode_to_linux[qcode]) {
            virtio_desk_input_push(s, VIRTIO_DESK_INPUT_KEYBOARD, 0, EV_KEY,
                                   qemu_input_map_qcode_to_linux[qcode],
                                   key->down);
        }
        break;
    case INPUT_EVENT_KIND_BTN:
        btn = evt->u.btn.data;
        if (virtio_desk_wheels[btn->button].step) {
            if (btn->down) {
                virtio_desk_input_push(s, VIRTIO_DESK_INPUT_POINTER, out,
                                       EV_REL,
                                       virtio_desk_wheels[btn->button].code,
                                       virtio_desk_wheels[btn->button].step);
            }
        } else if (virtio_desk_buttons[btn->button]) {
            virtio_desk_input_push(s, VIRTIO_DESK_INPUT_POINTER, out, EV_KEY,
                                   virtio_desk_buttons[btn->button], btn->down);
        }
        break;
    case INPUT_EVENT_KIND_ABS:
        move = evt->u.abs.data;
        virtio_desk_input_push(s, VIRTIO_DESK_INPUT_POINTER, out, EV_ABS,
                               virtio_desk_abs_axes[move->axis], move->value);
        break;
    case INPUT_EVENT_KIND_REL:
        move = evt->u.rel.data;
        virtio_desk_input_push(s, VIRTIO_DESK_INPUT_POINTER, out, EV_REL,
                               virtio_desk_rel_axes[move->axis], move->value);
        break;
    default:
        break;
    }
}

/* End the frame: one SYN_REPORT per input device that had events in it. */
static void virtio_desk_input_sync(DeviceState *dev)
{
    VirtIODesk *s = VIRTIO_DESK(dev);

    if (!s->input_active) {
        return;
    }
    for (uint16_t d = 0; d < VIRTIO_DESK_INPUT_DEVICES && !s->frame_dropped;
         d++) {
        if (s->frame_devices & (1u << d)) {
            virtio_desk_input_push(s, d, 0, EV_SYN, SYN_REPORT, 0);
        }
    }
    if (s->frame_dropped) {
        s->dropped_frames++;
        trace_virtio_desk_input_frame_dropped(s->dropped_frames);
    }
    s->frame_start = s->pending_count;
    s->frame_devices = 0;
    s->frame_dropped = false;
    virtio_desk_input_flush(s);
}

static const QemuInputHandler virtio_desk_abs_handler = {
    .name  = "virtio-desk",
    .mask  = INPUT_EVENT_MASK_KEY | INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_ABS,
    .event = virtio_desk_input_event,
    .sync  = virtio_desk_input_sync,
};

static const QemuInputHandler virtio_desk_rel_handler = {
    .name  = "virtio-desk",
    .mask  = INPUT_EVENT_MASK_KEY | INPUT_EVENT_MASK_BTN | INPUT_EVENT_MASK_REL,
    .event = virtio_desk_input_event,
    .sync  = virtio_desk_input_sync,
};

/* ------------------------------------------------------------------ */
/* virtqueues                                                         */

/* The keyboard's LEDs as the guest last set them, shown by QEMU's UI. */
static void virtio_desk_input_set_leds(VirtIODesk *s, int ledstate)
{
    s->ledstate = ledstate;
    kbd_put_ledstate(ledstate);
}

static void virtio_desk_handle_event(VirtIODevice *vdev, VirtQueue *vq)
{
    virtio_desk_input_flush(VIRTIO_DESK(vdev));
}

/*
 * A status message, one input event (the status queue's row of the
 * command table): the guest's LED state.
 */
void virtio_desk_cmd_status(VirtIODesk *s, VirtIODeskCmd *cmd)
{
    const struct virtio_desk_input_event *ev = &cmd->req.status;
    uint16_t device, type, code;
    uint32_t value;
    int led;

    if (cmd->out_len != sizeof(*ev)) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_LENGTH,
                         "status message of %zu bytes, expected %zu",
                         cmd->out_len, sizeof(*ev));
        return;
    }
    device = le16_to_cpu(ev->device);
    type = le16_to_cpu(ev->type);
    code = le16_to_cpu(ev->code);
    value = le32_to_cpu(ev->value);
    trace_virtio_desk_input_status(device, type, code, value);

    led = code < ARRAY_SIZE(virtio_desk_leds) ? virtio_desk_leds[code] : 0;
    if (device != VIRTIO_DESK_INPUT_KEYBOARD || type != EV_LED || !led ||
        value > 1 || ev->output || ev->padding) {
        desk_guest_error(cmd, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER,
                         "bad status message device %u type %u code %u "
                         "value %u", device, type, code, value);
        return;
    }
    virtio_desk_input_set_leds(s, (s->ledstate & ~led) | (value ? led : 0));
}

/* The status queue after a batch (see VIRTIO_DESK_BATCH). */
static void virtio_desk_status_bh(void *opaque)
{
    virtio_desk_run_queue(opaque, VIRTIO_DESK_QUEUE_STATUS, true);
}

/* ------------------------------------------------------------------ */
/* capabilities                                                       */

/* Every input device's identity; its codes follow from the maps above. */
static const struct {
    const char *name;
    uint16_t product;
} virtio_desk_input_ids[VIRTIO_DESK_INPUT_DEVICES] = {
    [VIRTIO_DESK_INPUT_KEYBOARD] = { "virtio-desk keyboard", 1 },
    [VIRTIO_DESK_INPUT_POINTER]  = { "virtio-desk pointer", 2 },
};

static void virtio_desk_input_set_bit_le(uint8_t *bits, unsigned int n)
{
    bits[n / BITS_PER_BYTE] |= 1 << (n % BITS_PER_BYTE);
}

/* Report that the device sends events of @type with @code. */
static void virtio_desk_input_set_code(struct virtio_desk_resp_input_info *info,
                                       uint16_t type, uint16_t code)
{
    switch (type) {
    case EV_KEY:
        assert(code < sizeof(info->key_bits) * BITS_PER_BYTE);
        virtio_desk_input_set_bit_le(info->key_bits, code);
        break;
    case EV_REL:
        info->rel_bits |= cpu_to_le32(1u << code);
        break;
    case EV_ABS:
        info->abs_bits |= cpu_to_le64(1ull << code);
        break;
    case EV_LED:
        info->led_bits |= cpu_to_le32(1u << code);
        break;
    default:
        g_assert_not_reached();
    }
    info->ev_bits |= cpu_to_le32(1u << type);
}

/* The EV_KEY codes of a QEMU-to-evdev map; 0 (KEY_RESERVED) is no key. */
static void virtio_desk_input_set_keys(struct virtio_desk_resp_input_info *info,
                                       const uint16_t *map, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (map[i]) {
            virtio_desk_input_set_code(info, EV_KEY, map[i]);
        }
    }
}

bool virtio_desk_input_info(VirtIODesk *s, uint32_t device,
                            struct virtio_desk_resp_input_info *info)
{
    const struct virtio_desk_input_absinfo abs = {
        .max = cpu_to_le32(VIRTIO_DESK_INPUT_ABS_MAX),
    };

    if (device >= VIRTIO_DESK_INPUT_DEVICES) {
        return false;
    }
    memset(info, 0, sizeof(*info));
    info->hdr.type = cpu_to_le32(VIRTIO_DESK_RESP_OK_INPUT_INFO);
    pstrcpy(info->name, sizeof(info->name), virtio_desk_input_ids[device].name);
    info->bustype = cpu_to_le16(BUS_VIRTUAL);
    info->vendor = cpu_to_le16(0x0627);   /* QEMU's input devices' vendor */
    info->product = cpu_to_le16(virtio_desk_input_ids[device].product);
    info->version = cpu_to_le16(1);
    info->ev_bits = cpu_to_le32(1 << EV_SYN);

    switch (device) {
    case VIRTIO_DESK_INPUT_KEYBOARD:
        virtio_desk_input_set_keys(info, qemu_input_map_qcode_to_linux,
                                   qemu_input_map_qcode_to_linux_len);
        for (uint16_t code = 0; code < ARRAY_SIZE(virtio_desk_leds); code++) {
            if (virtio_desk_leds[code]) {
                virtio_desk_input_set_code(info, EV_LED, code);
            }
        }
        break;
    case VIRTIO_DESK_INPUT_POINTER:
        virtio_desk_input_set_keys(info, virtio_desk_buttons,
                                   ARRAY_SIZE(virtio_desk_buttons));
        for (int b = 0; b < INPUT_BUTTON__MAX; b++) {
            if (virtio_desk_wheels[b].step) {
                virtio_desk_input_set_code(info, EV_REL,
                                           virtio_desk_wheels[b].code);
            }
        }
        /* the axes of the input handler virtio_desk_input_realize() took */
        if (s->relative_pointer) {
            for (int a = 0; a < INPUT_AXIS__MAX; a++) {
                virtio_desk_input_set_code(info, EV_REL,
                                           virtio_desk_rel_axes[a]);
            }
        } else {
            for (int a = 0; a < INPUT_AXIS__MAX; a++) {
                virtio_desk_input_set_code(info, EV_ABS,
                                           virtio_desk_abs_axes[a]);
            }
            info->abs_x = abs;
            info->abs_y = abs;
        }
        break;
    }
    return true;
}

void virtio_desk_cmd_get_input_info(VirtIODesk *s, VirtIODeskCmd *cmd)
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


/* ------------------------------------------------------------------ */
/* device life cycle                                                  */

void virtio_desk_input_realize(VirtIODesk *s)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);

    /*
     * With the cursor but without input the queues still exist, unused (no
     * event is sent, every status message is INVALID_COMMAND), so that the
     * cursor queue is queue 3 either way.
     */
    if (s->input || s->cursor) {
        s->event_vq = virtio_add_queue(vdev, VIRTIO_DESK_INPUT_QUEUE_SIZE,
                                       virtio_desk_handle_event);
        s->status_vq = virtio_add_queue(vdev, VIRTIO_DESK_INPUT_QUEUE_SIZE,
                                        virtio_desk_handle_queue);
        s->status_bh = virtio_bh_new_guarded(DEVICE(s), virtio_desk_status_bh,
                                             s);
    }
    if (!s->input) {
        return;
    }
    s->pending = g_new0(struct virtio_desk_input_event,
                        VIRTIO_DESK_INPUT_PENDING_MAX);
    s->input_handler = qemu_input_handler_register(DEVICE(s),
                                                   s->relative_pointer ?
                                                   &virtio_desk_rel_handler :
                                                   &virtio_desk_abs_handler);
}

void virtio_desk_input_unrealize(VirtIODesk *s)
{
    if (s->event_vq) {
        qemu_bh_delete(s->status_bh);
        virtio_delete_queue(s->event_vq);
        virtio_delete_queue(s->status_vq);
    }
    if (!s->input) {
        return;
    }
    qemu_input_handler_unregister(s->input_handler);
    g_free(s->pending);
}

void virtio_desk_input_reset(VirtIODesk *s)
{
    if (!s->input) {
        return;
    }
    if (s->input_active) {
        qemu_input_handler_deactivate(s->input_handler);
        s->input_active = false;
    }
    s->pending_head = s->pending_count = s->frame_start = 0;
    s->frame_devices = 0;
    s->frame_dropped = false;
    s->dropped_frames = 0;
    if (s->ledstate) {
        /* a keyboard that is reset turns its LEDs off */
        virtio_desk_input_set_leds(s, 0);
    }
}

/* Take QEMU's input focus once a driver that knows input is running. */
void virtio_desk_input_set_status(VirtIODesk *s, uint8_t status)
{
    VirtIODevice *vdev = VIRTIO_DEVICE(s);
    bool active = s->input && (status & VIRTIO_CONFIG_S_DRIVER_OK) &&
                  virtio_vdev_has_feature(vdev, VIRTIO_DESK_F_INPUT);

    if (active == s->input_active) {
        return;
    }
    s->input_active = active;
    if (active) {
        qemu_input_handler_activate(s->input_handler);
    } else {
        qemu_input_handler_deactivate(s->input_handler);
    }
}

/* ------------------------------------------------------------------ */
/* migration                                                          */

/*
 * Waiting events are part of what the user typed: they migrate, from the
 * oldest, and only whole frames (frame_start of them): the rest of an
 * open frame never arrives there.  Before saving, the ring is turned so
 * that the oldest event is pending[0], which makes it a plain array.
 */
static int virtio_desk_input_pre_save(void *opaque)
{
    VirtIODesk *s = opaque;
    g_autofree struct virtio_desk_input_event *oldest_first = NULL;

    if (!s->pending_count) {    /* g_new() of 0 is NULL: nothing to turn */
        s->pending_head = 0;
        return 0;
    }
    oldest_first = g_new(struct virtio_desk_input_event, s->pending_count);
    for (uint32_t i = 0; i < s->pending_count; i++) {
        oldest_first[i] = *virtio_desk_pending_at(s, i);
    }
    memcpy(s->pending, oldest_first, s->pending_count * sizeof(*s->pending));
    s->pending_head = 0;
    return 0;
}

static bool virtio_desk_pending_count_valid(void *opaque, int version_id)
{
    VirtIODesk *s = opaque;

    if (s->frame_start > VIRTIO_DESK_INPUT_PENDING_MAX) {
        error_report("virtio-desk: %u pending input events in migration",
                     s->frame_start);
        return false;
    }
    return true;
}

static const VMStateDescription vmstate_virtio_desk_input_event = {
    .name = "virtio-desk-input-event",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT16(device, struct virtio_desk_input_event),
        VMSTATE_UINT16(output, struct virtio_desk_input_event),
        VMSTATE_UINT16(type, struct virtio_desk_input_event),
        VMSTATE_UINT16(code, struct virtio_desk_input_event),
        VMSTATE_UINT32(value, struct virtio_desk_input_event),
        VMSTATE_END_OF_LIST()
    },
};

/*
 * The input focus is not migrated: virtio_desk_post_load() derives it from
 * the driver's status and features.
 */
static int virtio_desk_input_post_load(void *opaque, int version_id)
{
    VirtIODesk *s = opaque;

    if (s->ledstate & ~VIRTIO_DESK_LEDS) {
        error_report("virtio-desk: LED state 0x%x in migration", s->ledstate);
        return -EINVAL;
    }
    s->pending_head = 0;
    s->pending_count = s->frame_start;
    s->frame_devices = 0;
    s->frame_dropped = false;
    virtio_desk_input_set_leds(s, s->ledstate);
    return 0;
}

static bool virtio_desk_input_needed(void *opaque)
{
    return VIRTIO_DESK(opaque)->input;
}

const VMStateDescription vmstate_virtio_desk_input = {
    .name = "virtio-desk-device/input",
    .version_id = 2,
    .minimum_version_id = 2,
    .needed = virtio_desk_input_needed,
    .pre_save = virtio_desk_input_pre_save,
    .post_load = virtio_desk_input_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_INT32(ledstate, VirtIODesk),
        VMSTATE_UINT32(dropped_frames, VirtIODesk),
        VMSTATE_UINT32(frame_start, VirtIODesk),
        VMSTATE_VALIDATE("pending input events",
                         virtio_desk_pending_count_valid),
        VMSTATE_STRUCT_VARRAY_POINTER_UINT32(pending, VirtIODesk, frame_start,
                                             vmstate_virtio_desk_input_event,
                                             struct virtio_desk_input_event),
        VMSTATE_END_OF_LIST()
    },
};
