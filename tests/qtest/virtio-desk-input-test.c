/*
 * QTest for virtio-desk-pci input: what QMP input-send-event injects (as a
 * VNC or SPICE client would) arrives on the event queue as exact evdev
 * frames, in order, also when the guest is slow to give buffers; LED
 * messages on the status queue are checked.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "libqos/qgraph.h"
#include "libqos/pci.h"
#include "libqos/virtio-desk-client.h"
#include "standard-headers/linux/input-event-codes.h"

#define KBD VIRTIO_DESK_INPUT_KEYBOARD
#define PTR VIRTIO_DESK_INPUT_POINTER

static uint32_t get_input_info(QDesk *d, uint32_t device,
                               struct virtio_desk_resp_input_info *info)
{
    struct virtio_desk_get_input_info req = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_INPUT_INFO),
        .device = cpu_to_le32(device),
    };
    QDeskSeg seg = { &req, sizeof(req) };

    memset(info, 0, sizeof(*info));
    qdesk_submit(d, &seg, 1, info, sizeof(*info), false);
    return le32_to_cpu(info->hdr.type);
}

static bool key_bit(const struct virtio_desk_resp_input_info *info,
                    unsigned int code)
{
    return info->key_bits[code / 8] & (1 << (code % 8));
}

/* --- capabilities ------------------------------------------------------- */

static void test_input_info(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_resp_input_info info;
    struct virtio_desk_get_input_info padded = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_INPUT_INFO),
    };
    QDeskSeg seg;

    g_assert(d.vdev->features & (1ull << VIRTIO_DESK_F_INPUT));

    g_assert_cmphex(get_input_info(&d, KBD, &info), ==,
                    VIRTIO_DESK_RESP_OK_INPUT_INFO);
    g_assert_cmpstr(info.name, ==, "virtio-desk keyboard");
    g_assert_cmphex(le32_to_cpu(info.ev_bits), ==,
                    1 << EV_SYN | 1 << EV_KEY | 1 << EV_LED);
    g_assert_cmphex(le32_to_cpu(info.led_bits), ==,
                    1 << LED_NUML | 1 << LED_CAPSL | 1 << LED_SCROLLL);
    g_assert(key_bit(&info, KEY_A) && key_bit(&info, KEY_ESC) &&
             key_bit(&info, KEY_LEFTMETA) && key_bit(&info, KEY_F12) &&
             key_bit(&info, KEY_KP0));
    g_assert(!key_bit(&info, BTN_LEFT));

    g_assert_cmphex(get_input_info(&d, PTR, &info), ==,
                    VIRTIO_DESK_RESP_OK_INPUT_INFO);
    g_assert_cmpstr(info.name, ==, "virtio-desk pointer");
    g_assert_cmphex(le32_to_cpu(info.ev_bits), ==,
                    1 << EV_SYN | 1 << EV_KEY | 1 << EV_REL | 1 << EV_ABS);
    g_assert_cmphex(le32_to_cpu(info.rel_bits), ==,
                    1 << REL_WHEEL | 1 << REL_HWHEEL);
    g_assert_cmphex(le64_to_cpu(info.abs_bits), ==, 1 << ABS_X | 1 << ABS_Y);
    g_assert_cmpint(le32_to_cpu(info.abs_x.max), ==, 32767);
    g_assert_cmpint(le32_to_cpu(info.abs_y.max), ==, 32767);
    g_assert_cmpint(le32_to_cpu(info.abs_x.min), ==, 0);
    for (unsigned int b = BTN_LEFT; b <= BTN_EXTRA; b++) {
        g_assert(key_bit(&info, b));
    }
    g_assert(!key_bit(&info, KEY_A));

    /* validation */
    g_assert_cmphex(get_input_info(&d, 2, &info), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(get_input_info(&d, 0xffffffff, &info), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    padded.device = cpu_to_le32(KBD);
    padded.padding = cpu_to_le32(1);
    seg = (QDeskSeg) { &padded, sizeof(padded) };
    qdesk_submit(&d, &seg, 1, &info, sizeof(info), false);
    g_assert_cmphex(le32_to_cpu(info.hdr.type), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    /* request without its device field */
    seg.len = sizeof(padded.hdr);
    qdesk_submit(&d, &seg, 1, &info, sizeof(info), false);
    g_assert_cmphex(le32_to_cpu(info.hdr.type), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    /* no room for the 216-byte answer */
    padded.padding = 0;
    seg.len = sizeof(padded);
    g_assert_cmpuint(qdesk_submit(&d, &seg, 1, &info, sizeof(info) - 1, false),
                     ==, sizeof(info.hdr));
    g_assert_cmphex(le32_to_cpu(info.hdr.type), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* A driver that does not take F_INPUT gets no input command and no events. */
static void test_input_not_negotiated(void *obj, void *data,
                                      QGuestAllocator *alloc)
{
    QDesk d = qdesk_start_features(obj, alloc, 0);
    struct virtio_desk_resp_input_info info;
    struct virtio_desk_get_input_info req = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_INPUT_INFO),
    };
    QDeskSeg seg = { &req, sizeof(req) };

    struct virtio_desk_input_event caps = {
        .device = cpu_to_le16(KBD), .type = cpu_to_le16(EV_LED),
        .code = cpu_to_le16(LED_CAPSL), .value = cpu_to_le32(1),
    };

    g_assert_cmphex(get_input_info(&d, KBD, &info), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    /* an unknown command, whatever room the answer has */
    g_assert_cmpuint(qdesk_submit(&d, &seg, 1, &info, sizeof(info.hdr), false),
                     ==, sizeof(info.hdr));
    g_assert_cmphex(le32_to_cpu(info.hdr.type), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    g_assert_cmphex(qdesk_cmd(&d, &req, sizeof(req.hdr)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    g_assert_cmphex(qdesk_status_send(&d, &caps, sizeof(caps)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    /* the device does not take input focus: nothing reaches its ring */
    qdesk_event_post(&d, 4, sizeof(struct virtio_desk_input_event));
    qdesk_send_key(d.qts, "a", true);
    qdesk_send_key(d.qts, "a", false);
    g_assert_false(qdesk_event_pending(&d));
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/*
 * Reset releases QEMU's input focus and empties the ring; a new driver
 * that negotiates input gets it back.
 */
static void test_input_reset(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskEv want[] = {
        { KBD, EV_KEY, KEY_C, 1 }, { KBD, EV_SYN, SYN_REPORT, 0 },
    };

    qdesk_send_key(d.qts, "q", true);      /* waits in the ring: no buffer yet */
    qvirtio_start_device(d.vdev);  /* reset */
    qdesk_stop(&d);
    d = qdesk_start_features(obj, alloc, 0);
    qdesk_event_post(&d, 4, sizeof(struct virtio_desk_input_event));
    qdesk_send_key(d.qts, "b", true);
    g_assert_false(qdesk_event_pending(&d));

    qvirtio_start_device(d.vdev);
    qdesk_stop(&d);
    d = qdesk_start(obj, alloc);
    qdesk_event_post(&d, 4, sizeof(struct virtio_desk_input_event));
    qdesk_send_key(d.qts, "c", true);
    qdesk_expect_events(&d, want, 2);
    qdesk_stop(&d);
}

/* --- events ------------------------------------------------------------------ */

static void test_keys(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    static const struct {
        const char *qcode;
        uint16_t code;
    } keys[] = {
        { "a", KEY_A }, { "esc", KEY_ESC }, { "shift", KEY_LEFTSHIFT },
        { "ctrl_r", KEY_RIGHTCTRL }, { "meta_l", KEY_LEFTMETA },
        { "f12", KEY_F12 }, { "kp_enter", KEY_KPENTER }, { "up", KEY_UP },
        { "print", KEY_SYSRQ }, { "caps_lock", KEY_CAPSLOCK },
    };

    for (int i = 0; i < ARRAY_SIZE(keys); i++) {
        QDeskEv want[] = {
            { KBD, EV_KEY, keys[i].code, 1 }, { KBD, EV_SYN, SYN_REPORT, 0 },
            { KBD, EV_KEY, keys[i].code, 0 }, { KBD, EV_SYN, SYN_REPORT, 0 },
        };

        qdesk_event_post(&d, 4, sizeof(struct virtio_desk_input_event));
        qdesk_send_key(d.qts, keys[i].qcode, true);
        qdesk_send_key(d.qts, keys[i].qcode, false);
        qdesk_expect_events(&d, want, 4);
    }
    qdesk_stop(&d);
}

static void test_pointer(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    static const struct {
        const char *button;
        uint16_t type, code;
        int32_t down, up;   /* value on press; on release (-1: nothing) */
    } buttons[] = {
        { "left", EV_KEY, BTN_LEFT, 1, 0 },
        { "middle", EV_KEY, BTN_MIDDLE, 1, 0 },
        { "right", EV_KEY, BTN_RIGHT, 1, 0 },
        { "side", EV_KEY, BTN_SIDE, 1, 0 },
        { "extra", EV_KEY, BTN_EXTRA, 1, 0 },
        { "wheel-up", EV_REL, REL_WHEEL, 1, -1 },
        { "wheel-down", EV_REL, REL_WHEEL, -1, -1 },
        { "wheel-left", EV_REL, REL_HWHEEL, -1, -1 },
        { "wheel-right", EV_REL, REL_HWHEEL, 1, -1 },
    };
    QDeskEv move[] = {
        { PTR, EV_ABS, ABS_X, 1234 }, { PTR, EV_ABS, ABS_Y, 32767 },
        { PTR, EV_SYN, SYN_REPORT, 0 },
    };

    qdesk_event_post(&d, 3, sizeof(struct virtio_desk_input_event));
    qdesk_send_events(d.qts, -1,
                      "{'type': 'abs', 'data': {'axis': 'x', 'value': 1234}},"
                      "{'type': 'abs', 'data': {'axis': 'y', 'value': 32767}}");
    qdesk_expect_events(&d, move, 3);

    for (int i = 0; i < ARRAY_SIZE(buttons); i++) {
        g_autofree char *down = g_strdup_printf(
            "{'type': 'btn', 'data': {'down': true, 'button': '%s'}}",
            buttons[i].button);
        g_autofree char *up = g_strdup_printf(
            "{'type': 'btn', 'data': {'down': false, 'button': '%s'}}",
            buttons[i].button);
        QDeskEv want[] = {
            { PTR, buttons[i].type, buttons[i].code, buttons[i].down },
            { PTR, EV_SYN, SYN_REPORT, 0 },
            { PTR, buttons[i].type, buttons[i].code, buttons[i].up },
            { PTR, EV_SYN, SYN_REPORT, 0 },
        };
        unsigned int n = buttons[i].up < 0 ? 2 : 4;

        qdesk_event_post(&d, 4, sizeof(struct virtio_desk_input_event));
        qdesk_send_events(d.qts, -1, down);
        qdesk_send_events(d.qts, -1, up);
        qdesk_expect_events(&d, want, n);
    }
    qdesk_stop(&d);
}

/* One frame with keyboard and pointer events: a SYN_REPORT for each. */
static void test_mixed_frame(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    g_autofree char *key = qdesk_key_event("b", true);
    g_autofree char *events = g_strdup_printf(
        "%s, {'type': 'btn', 'data': {'down': true, 'button': 'left'}}", key);
    QDeskEv want[] = {
        { KBD, EV_KEY, KEY_B, 1 }, { PTR, EV_KEY, BTN_LEFT, 1 },
        { KBD, EV_SYN, SYN_REPORT, 0 }, { PTR, EV_SYN, SYN_REPORT, 0 },
    };

    qdesk_event_post(&d, 4, sizeof(struct virtio_desk_input_event));
    qdesk_send_events(d.qts, -1, events);
    qdesk_expect_events(&d, want, 4);
    qdesk_stop(&d);
}

/*
 * Events that find no buffer wait in the device and arrive in order as
 * buffers come, a few at a time.
 */
static void test_queue_full(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    static const char *const qcodes[] = { "1", "2", "3", "4", "5", "6", "7",
                                          "8", "9", "0" };
    static const uint16_t codes[] = { KEY_1, KEY_2, KEY_3, KEY_4, KEY_5,
                                      KEY_6, KEY_7, KEY_8, KEY_9, KEY_0 };
    g_autofree QDeskEv *want = g_new(QDeskEv, 4 * 10 * 20);
    unsigned int n = 0;

    /* 200 presses and releases, 800 events, with no buffer at all */
    for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 10; k++) {
            qdesk_send_key(d.qts, qcodes[k], true);
            qdesk_send_key(d.qts, qcodes[k], false);
            want[n++] = (QDeskEv) { KBD, EV_KEY, codes[k], 1 };
            want[n++] = (QDeskEv) { KBD, EV_SYN, SYN_REPORT, 0 };
            want[n++] = (QDeskEv) { KBD, EV_KEY, codes[k], 0 };
            want[n++] = (QDeskEv) { KBD, EV_SYN, SYN_REPORT, 0 };
        }
    }
    g_assert_false(qdesk_event_pending(&d));
    /* then buffers, 7 at a time (frames straddle the batches) */
    for (unsigned int i = 0; i < n; i += 7) {
        unsigned int batch = MIN(7, n - i);

        qdesk_event_post(&d, batch, sizeof(struct virtio_desk_input_event));
        qdesk_expect_events(&d, want + i, batch);
    }
    qdesk_stop(&d);
}

/* Past the bound whole frames are dropped; the ones before and after arrive. */
static void test_queue_overflow(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    /* frames of 1000 presses of "x" and a SYN_REPORT: 1001 events each */
    GString *frame = g_string_new("");
    struct virtio_desk_input_event ev[16];
    const unsigned int frames = 65536 / 1001 + 1;   /* the last one overflows */

    for (int i = 0; i < 1000; i++) {
        g_autofree char *key = qdesk_key_event("x", true);

        g_string_append_printf(frame, "%s%s", i ? "," : "", key);
    }
    for (unsigned int i = 0; i < frames; i++) {
        qdesk_send_events(d.qts, -1, frame->str);
    }
    /* a small frame after the overflow still fits and keeps its place */
    qdesk_send_key(d.qts, "y", true);
    g_string_free(frame, true);

    for (unsigned int f = 0; f < frames - 1; f++) {
        for (unsigned int e = 0; e < 1001; e += 16) {
            unsigned int batch = MIN(16, 1001 - e);

            qdesk_event_post(&d, batch, sizeof(ev[0]));
            qdesk_event_read(&d, batch, ev, NULL);
            for (unsigned int i = 0; i < batch; i++) {
                bool syn = e + i == 1000;

                g_assert_cmpuint(le16_to_cpu(ev[i].type), ==,
                                 syn ? EV_SYN : EV_KEY);
                g_assert_cmpuint(le16_to_cpu(ev[i].code), ==,
                                 syn ? SYN_REPORT : KEY_X);
            }
        }
    }
    qdesk_event_post(&d, 3, sizeof(ev[0]));
    qdesk_event_read(&d, 2, ev, NULL);
    g_assert_cmpuint(le16_to_cpu(ev[0].code), ==, KEY_Y);
    g_assert_cmpuint(le16_to_cpu(ev[1].type), ==, EV_SYN);
    g_assert_false(qdesk_event_pending(&d));
    qdesk_stop(&d);
}

/* A buffer too small for an event is returned empty; the event waits. */
static void test_bad_event_buffer(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_input_event ev[3];
    uint32_t lens[3];

    qdesk_event_post(&d, 3, sizeof(ev[0]) - 1);
    qdesk_send_key(d.qts, "z", true);
    qdesk_event_read(&d, 3, ev, lens);
    g_assert_cmpuint(lens[0] | lens[1] | lens[2], ==, 0);
    qdesk_event_post(&d, 2, sizeof(ev[0]));
    qdesk_event_read(&d, 2, ev, lens);
    g_assert_cmpuint(lens[0], ==, sizeof(ev[0]));
    g_assert_cmpuint(le16_to_cpu(ev[0].code), ==, KEY_Z);
    g_assert_cmpuint(le16_to_cpu(ev[1].type), ==, EV_SYN);
    qdesk_stop(&d);
}

/* --- status queue -------------------------------------------------------- */

static struct virtio_desk_input_event led(uint16_t device, uint16_t type,
                                          uint16_t code, uint32_t value)
{
    return (struct virtio_desk_input_event) {
        .device = cpu_to_le16(device),
        .type = cpu_to_le16(type),
        .code = cpu_to_le16(code),
        .value = cpu_to_le32(value),
    };
}

static void test_status(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_input_event ev;
    uint8_t longer[sizeof(ev) + 1] = { 0 };

    for (uint16_t code = LED_NUML; code <= LED_SCROLLL; code++) {
        ev = led(KBD, EV_LED, code, 1);
        g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
        ev = led(KBD, EV_LED, code, 0);
        g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
    }

    /* each field checked */
    ev = led(PTR, EV_LED, LED_CAPSL, 1);
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    ev = led(KBD, EV_KEY, LED_CAPSL, 1);
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    ev = led(KBD, EV_LED, LED_KANA, 1);
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    ev = led(KBD, EV_LED, 0xffff, 1);
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    ev = led(KBD, EV_LED, LED_CAPSL, 2);
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    ev = led(KBD, EV_LED, LED_CAPSL, 1);
    ev.padding = cpu_to_le32(1);
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    ev = led(KBD, EV_LED, LED_CAPSL, 1);
    ev.output = cpu_to_le16(1);
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    ev = led(KBD, EV_LED, LED_CAPSL, 0xffffffff);
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    /* no room for the result: not applied, nothing written */
    ev = led(KBD, EV_LED, LED_CAPSL, 1);
    g_assert_cmpuint(qdesk_status_submit(&d, &ev, sizeof(ev), longer, 7), ==,
                     0);
    /* lengths */
    g_assert_cmphex(qdesk_status_send(&d, &ev, sizeof(ev) - 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    g_assert_cmphex(qdesk_status_send(&d, longer, sizeof(longer)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* A move on the second output's console says so in the event. */
static void test_pointer_output(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_input_event ev[3];

    qdesk_event_post(&d, 3, sizeof(ev[0]));
    qdesk_send_events(d.qts, 1,
                      "{'type': 'abs', 'data': {'axis': 'x', 'value': 100}},"
                      "{'type': 'abs', 'data': {'axis': 'y', 'value': 200}}");
    qdesk_event_read(&d, 3, ev, NULL);
    for (int i = 0; i < 2; i++) {
        g_assert_cmpuint(le16_to_cpu(ev[i].device), ==, PTR);
        g_assert_cmpuint(le16_to_cpu(ev[i].output), ==, 1);
    }
    g_assert_cmpuint(le32_to_cpu(ev[0].value), ==, 100);
    g_assert_cmpuint(le32_to_cpu(ev[1].value), ==, 200);
    g_assert_cmpuint(le16_to_cpu(ev[2].type), ==, EV_SYN);
    qdesk_stop(&d);
}

/* With relative-pointer=on moves are REL_X/REL_Y and no ABS is offered. */
static void test_relative(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_resp_input_info info;
    QDeskEv want[] = {
        { PTR, EV_REL, REL_X, -5 }, { PTR, EV_REL, REL_Y, 7 },
        { PTR, EV_SYN, SYN_REPORT, 0 },
    };

    g_assert_cmphex(get_input_info(&d, PTR, &info), ==,
                    VIRTIO_DESK_RESP_OK_INPUT_INFO);
    g_assert_cmphex(le32_to_cpu(info.ev_bits), ==,
                    1 << EV_SYN | 1 << EV_KEY | 1 << EV_REL);
    g_assert_cmphex(le32_to_cpu(info.rel_bits), ==,
                    1 << REL_X | 1 << REL_Y | 1 << REL_WHEEL | 1 << REL_HWHEEL);
    g_assert_cmphex(le64_to_cpu(info.abs_bits), ==, 0);
    qdesk_event_post(&d, 3, sizeof(struct virtio_desk_input_event));
    qdesk_send_events(d.qts, -1,
                      "{'type': 'rel', 'data': {'axis': 'x', 'value': -5}},"
                      "{'type': 'rel', 'data': {'axis': 'y', 'value': 7}}");
    qdesk_expect_events(&d, want, 3);
    qdesk_stop(&d);
}

/* With input=off the device is display only. */
static void test_input_off(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_resp_input_info info;

    g_assert_false(d.vdev->features & (1ull << VIRTIO_DESK_F_INPUT));
    g_assert_null(d.event_vq);
    g_assert_cmphex(get_input_info(&d, KBD, &info), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

static void register_virtio_desk_input_test(void)
{
    qos_add_test("input-info", "virtio-desk-pci", test_input_info, NULL);
    qos_add_test("input-not-negotiated", "virtio-desk-pci",
                 test_input_not_negotiated, NULL);
    qos_add_test("input-keys", "virtio-desk-pci", test_keys, NULL);
    qos_add_test("input-pointer", "virtio-desk-pci", test_pointer, NULL);
    qos_add_test("input-mixed-frame", "virtio-desk-pci", test_mixed_frame,
                 NULL);
    qos_add_test("input-queue-full", "virtio-desk-pci", test_queue_full,
                 NULL);
    qos_add_test("input-queue-overflow", "virtio-desk-pci",
                 test_queue_overflow, NULL);
    qos_add_test("input-bad-event-buffer", "virtio-desk-pci",
                 test_bad_event_buffer, NULL);
    qos_add_test("input-status", "virtio-desk-pci", test_status, NULL);
    qos_add_test("input-reset", "virtio-desk-pci", test_input_reset, NULL);
    qos_add_test("input-pointer-output", "virtio-desk-pci",
                 test_pointer_output, &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "max_outputs=2",
                 });
    qos_add_test("input-relative", "virtio-desk-pci", test_relative,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "relative-pointer=on",
                 });
    qos_add_test("input-off", "virtio-desk-pci", test_input_off,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "input=off",
                 });
}

libqos_init(register_virtio_desk_input_test);
