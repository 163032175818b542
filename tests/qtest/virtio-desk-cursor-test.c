/*
 * QTest for virtio-desk-pci: the cursor queue (VIRTIO_DESK_F_CURSOR), as a
 * VNC viewer gets the cursor, and one test per validation rule.
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
#include "libqos/virtio-desk-vnc.h"

#define DEFINE_LEN sizeof(struct virtio_desk_cursor_define)
#define MOVE_LEN sizeof(struct virtio_desk_cursor_pos)
#define CMAX VIRTIO_DESK_CURSOR_MAX  /* largest cursor side */

/* The cursor @c the viewer got is image @argb, @w x @h, hotspot @hx, @hy. */
static void assert_cursor(QDeskVncCursor *c, uint32_t w, uint32_t h,
                          uint32_t hx, uint32_t hy, const uint32_t *argb)
{
    g_assert_cmpuint(c->width, ==, w);
    g_assert_cmpuint(c->height, ==, h);
    g_assert_cmpuint(c->hot_x, ==, hx);
    g_assert_cmpuint(c->hot_y, ==, hy);
    for (uint32_t i = 0; i < w * h; i++) {
        g_assert_cmphex(c->argb[i], ==, argb[i]);
    }
    g_free(c->argb);
}

/* The viewer got QEMU's hidden cursor: nothing but transparent pixels. */
static void assert_hidden(QDeskVncCursor *c)
{
    g_assert_cmpuint(c->width * c->height, >, 0);
    for (uint32_t i = 0; i < c->width * c->height; i++) {
        g_assert_cmphex(c->argb[i] >> 24, ==, 0);
    }
    g_free(c->argb);
}

static int vnc_connect(const char *sock)
{
    static const int32_t encodings[] = { QDESK_VNC_ALPHA_CURSOR };

    return qdesk_vnc_connect(sock, encodings, ARRAY_SIZE(encodings));
}

/*
 * A VNC viewer that asked for AlphaCursor gets the image and the hotspot
 * of output 0's cursor, and nothing when it moves; hiding it sends the
 * transparent cursor, showing it the image again; a cursor of output 1 is
 * not output 0's; a reset hides it.
 */
static void test_cursor_vnc(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    g_autofree uint32_t *big = qdesk_cursor_image(CMAX, CMAX, 1);
    g_autofree uint32_t *small = qdesk_cursor_image(16, 8, 2);
    g_autofree uint32_t *other = qdesk_cursor_image(32, 32, 3);
    int vnc = vnc_connect(data);
    QDeskVncCursor c;

    /* no cursor yet: the viewer keeps its own pointer */
    g_assert_cmphex(qdesk_cursor_move(&d, 0, 10, 10, true), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_cursor_define(&d, 0, 100, 50, CMAX, CMAX, 5, 7, big),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    c = qdesk_vnc_read_cursor(vnc);
    assert_cursor(&c, CMAX, CMAX, 5, 7, big);

    /*
     * Moves send nothing: the next message is the next image.  (A move
     * is answered once the console has it; VNC writes nothing for it.)
     */
    for (int i = 0; i < 500; i++) {
        g_assert_cmphex(qdesk_cursor_move(&d, 0, i, 1000 - i, true), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
    }
    g_assert_cmphex(qdesk_cursor_define(&d, 0, 3, 4, 16, 8, 15, 0, small), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    c = qdesk_vnc_read_cursor(vnc);
    assert_cursor(&c, 16, 8, 15, 0, small);

    /* hidden, then shown again with the image it had */
    g_assert_cmphex(qdesk_cursor_move(&d, 0, 3, 4, false), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    c = qdesk_vnc_read_cursor(vnc);
    assert_hidden(&c);
    g_assert_cmphex(qdesk_cursor_move(&d, 0, 5, 6, true), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    c = qdesk_vnc_read_cursor(vnc);
    assert_cursor(&c, 16, 8, 15, 0, small);

    /* output 1's cursor goes to output 1's console only */
    g_assert_cmphex(qdesk_cursor_define(&d, 1, 0, 0, 32, 32, 1, 1, other), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_cursor_define(&d, 0, 0, 0, CMAX, CMAX, 63, 63, big),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    c = qdesk_vnc_read_cursor(vnc);
    assert_cursor(&c, CMAX, CMAX, 63, 63, big);

    /* a reset hides it */
    qdesk_stop(&d);
    qvirtio_start_device(d.vdev);
    c = qdesk_vnc_read_cursor(vnc);
    assert_hidden(&c);
    d = qdesk_start(obj, alloc);
    close(vnc);
    qdesk_stop(&d);
}

/* The pixels may come in any descriptors, like a transfer's payload. */
static void test_cursor_split(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    g_autofree uint32_t *argb = qdesk_cursor_image(24, 24, 4);
    struct virtio_desk_cursor_define req = {
        .pos.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_DEFINE),
        .pos.visible = cpu_to_le32(1),
        .width = cpu_to_le32(24),
        .height = cpu_to_le32(24),
        .hot_x = cpu_to_le32(23),
        .hot_y = cpu_to_le32(12),
    };
    uint8_t *bytes = (uint8_t *)argb;
    int vnc = vnc_connect(data);
    QDeskVncCursor c;
    /* the struct in two pieces, the pixels in three, one of 3 bytes */
    QDeskSeg segs[] = {
        { &req, 12 }, { (uint8_t *)&req + 12, DEFINE_LEN - 12 },
        { bytes, 1000 }, { bytes + 1000, 3 }, { bytes + 1003, 24 * 24 * 4 - 1003 },
    };

    for (int i = 0; i < 24 * 24; i++) {
        argb[i] = cpu_to_le32(argb[i]);
    }
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, segs, ARRAY_SIZE(segs)), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    for (int i = 0; i < 24 * 24; i++) {
        argb[i] = le32_to_cpu(argb[i]);
    }
    c = qdesk_vnc_read_cursor(vnc);
    assert_cursor(&c, 24, 24, 23, 12, argb);
    close(vnc);
    qdesk_stop(&d);
}

/* A CURSOR_DEFINE of a 2x2 image, with fields to spoil and its length. */
typedef struct BadDefine {
    const char *what;
    uint32_t output, visible, width, height, hot_x, hot_y;
    int32_t x, y;
    int extra;              /* readable bytes more (or fewer) than required */
    uint32_t want;
} BadDefine;

static const BadDefine bad_defines[] = {
    { "output", .output = 2, .want = VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID },
    { "output-max", .output = UINT32_MAX,
      .want = VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID },
    { "visible", .visible = 2, .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "x-high", .x = 16384, .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "x-low", .x = -16385, .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "y-high", .y = 16384, .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "y-low", .y = INT32_MIN, .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "width-0", .width = 0, .height = 2,
      .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "height-0", .width = 2, .height = 0,
      .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "width-65", .width = CMAX + 1, .height = 2,
      .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "height-huge", .width = 2, .height = 0x40000001,
      .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "hot-x", .hot_x = 2, .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "hot-y", .hot_y = 2, .want = VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER },
    { "pixels-short", .extra = -4, .want = VIRTIO_DESK_RESP_ERR_INVALID_LENGTH },
    { "pixels-long", .extra = 4, .want = VIRTIO_DESK_RESP_ERR_INVALID_LENGTH },
    { "no-pixels", .extra = -16, .want = VIRTIO_DESK_RESP_ERR_INVALID_LENGTH },
    { "struct-short", .extra = -17, .want = VIRTIO_DESK_RESP_ERR_INVALID_LENGTH },
};

static uint32_t send_define(QDesk *d, const BadDefine *b)
{
    uint8_t buf[DEFINE_LEN + 2 * 2 * 4 + 4] = { 0 };
    struct virtio_desk_cursor_define *req = (void *)buf;
    QDeskSeg seg = { buf, DEFINE_LEN + 2 * 2 * 4 + b->extra };

    req->pos.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_DEFINE);
    req->pos.output_id = cpu_to_le32(b->output);
    req->pos.visible = cpu_to_le32(b->visible);
    req->pos.x = cpu_to_le32(b->x);
    req->pos.y = cpu_to_le32(b->y);
    /* a case that sets neither size gets 2x2 */
    req->width = cpu_to_le32(b->width || b->height ? b->width : 2);
    req->height = cpu_to_le32(b->width || b->height ? b->height : 2);
    req->hot_x = cpu_to_le32(b->hot_x);
    req->hot_y = cpu_to_le32(b->hot_y);
    return qdesk_cursor_cmd_segs(d, &seg, 1);
}

/*
 * Every rule of CURSOR_DEFINE and CURSOR_MOVE: the error status, and the
 * viewer's cursor is still the last good one (a good define after the bad
 * ones is the next thing it gets).
 */
static void test_cursor_invalid(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    g_autofree uint32_t *argb = qdesk_cursor_image(4, 4, 5);
    struct virtio_desk_cursor_pos move = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_MOVE),
    };
    struct virtio_desk_ctrl_hdr hdr = { 0 };
    uint8_t buf[DEFINE_LEN + 4] = { 0 };
    struct virtio_desk_cursor_define *define = (void *)buf;
    QDeskSeg seg = { buf, MOVE_LEN };
    int vnc = vnc_connect(data);
    QDeskVncCursor c;
    uint32_t len;

    for (int i = 0; i < ARRAY_SIZE(bad_defines); i++) {
        g_test_message("define: %s", bad_defines[i].what);
        g_assert_cmphex(send_define(&d, &bad_defines[i]), ==,
                        bad_defines[i].want);
    }

    /* CURSOR_MOVE: the same position rules, exactly 24 bytes */
    move.output_id = cpu_to_le32(2);
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &(QDeskSeg) { &move, MOVE_LEN },
                                          1),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    move.output_id = 0;
    move.visible = cpu_to_le32(3);
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &(QDeskSeg) { &move, MOVE_LEN },
                                          1),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    move.visible = 0;
    move.x = cpu_to_le32(-16385);
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &(QDeskSeg) { &move, MOVE_LEN },
                                          1),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    move.x = 0;
    move.y = cpu_to_le32(16384);
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &(QDeskSeg) { &move, MOVE_LEN },
                                          1),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    move.y = 0;
    memcpy(buf, &move, sizeof(move));
    seg.len = MOVE_LEN - 1;
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &seg, 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    seg.len = MOVE_LEN + 4;
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &seg, 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);

    /* the header: flags, unknown types, control commands, too short */
    move.hdr.flags = cpu_to_le32(1);
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &(QDeskSeg) { &move, MOVE_LEN },
                                          1),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    move.hdr.flags = 0;
    move.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_MOVE + 1);
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &(QDeskSeg) { &move, MOVE_LEN },
                                          1),
                    ==, VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO);
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &(QDeskSeg) { &hdr, 8 }, 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    g_assert_cmphex(qdesk_cursor_cmd_segs(&d, &(QDeskSeg) { &hdr, 7 }, 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    /* cursor commands are not control queue commands */
    move.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_MOVE);
    g_assert_cmphex(qdesk_cmd(&d, &move, sizeof(move)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);

    /* no room for the result: not executed, nothing written */
    memset(buf, 0, sizeof(buf));
    define->pos.hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_CURSOR_DEFINE);
    define->pos.visible = cpu_to_le32(1);
    define->width = define->height = cpu_to_le32(1);
    len = qdesk_submit_vq(&d, d.cursor_vq, &(QDeskSeg) { buf, DEFINE_LEN + 4 },
                          1, &hdr, 7);
    g_assert_cmpuint(len, ==, 0);
    len = qdesk_submit_vq(&d, d.cursor_vq, &(QDeskSeg) { buf, DEFINE_LEN + 4 },
                          1, NULL, 0);
    g_assert_cmpuint(len, ==, 0);

    /* none of it reached the console */
    g_assert(qdesk_vnc_quiet(vnc, 100));
    g_assert_cmphex(qdesk_cursor_define(&d, 0, 1, 1, 4, 4, 3, 3, argb), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    c = qdesk_vnc_read_cursor(vnc);
    assert_cursor(&c, 4, 4, 3, 3, argb);
    close(vnc);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* A driver that did not take F_CURSOR: the queue answers INVALID_COMMAND. */
static void test_cursor_not_negotiated(void *obj, void *data,
                                       QGuestAllocator *alloc)
{
    QDesk d = qdesk_start_features(obj, alloc,
                                   ~(1ull << VIRTIO_DESK_F_CURSOR));
    g_autofree uint32_t *argb = qdesk_cursor_image(2, 2, 6);

    g_assert_false(d.vdev->features & (1ull << VIRTIO_DESK_F_CURSOR));
    g_assert(d.cursor_vq);
    g_assert_cmphex(qdesk_cursor_define(&d, 0, 0, 0, 2, 2, 0, 0, argb), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    g_assert_cmphex(qdesk_cursor_move(&d, 0, 0, 0, true), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* cursor=off: the bit is not offered (and the queue is not there). */
static void test_cursor_off(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);

    g_assert_false(d.vdev->features & (1ull << VIRTIO_DESK_F_CURSOR));
    g_assert_null(d.cursor_vq);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/*
 * input=off: the cursor queue is still queue 3; queues 1 and 2 exist but
 * serve nothing (a status message is INVALID_COMMAND).
 */
static void test_cursor_input_off(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    g_autofree uint32_t *argb = qdesk_cursor_image(8, 8, 7);
    struct virtio_desk_input_event led = {
        .device = cpu_to_le16(VIRTIO_DESK_INPUT_KEYBOARD),
        .type = cpu_to_le16(0x11),      /* EV_LED */
    };
    int vnc = vnc_connect(data);
    QDeskVncCursor c;

    g_assert_false(d.vdev->features & (1ull << VIRTIO_DESK_F_INPUT));
    g_assert_cmphex(qdesk_cursor_define(&d, 0, 0, 0, 8, 8, 4, 4, argb), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    c = qdesk_vnc_read_cursor(vnc);
    assert_cursor(&c, 8, 8, 4, 4, argb);
    d.status_vq = qvirtqueue_setup(d.vdev, alloc, VIRTIO_DESK_QUEUE_STATUS);
    g_assert_cmphex(qdesk_status_send(&d, &led, sizeof(led)), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    qvirtqueue_cleanup(d.vdev->bus, d.status_vq, alloc);
    d.status_vq = NULL;
    close(vnc);
    qdesk_stop(&d);
}

/* Two outputs, a VNC server on output 0. */
static void *two_outputs_vnc(GString *cmd_line, void *arg)
{
    g_string_append(cmd_line, " -global virtio-desk-device.max_outputs=2");
    return qdesk_vnc_add(cmd_line, arg);
}

static void register_virtio_desk_cursor_test(void)
{
#ifdef CONFIG_VNC
    qos_add_test("cursor-vnc", "virtio-desk-pci", test_cursor_vnc,
                 &(QOSGraphTestOptions) { .before = two_outputs_vnc });
    qos_add_test("cursor-split", "virtio-desk-pci", test_cursor_split,
                 &(QOSGraphTestOptions) { .before = qdesk_vnc_add });
    qos_add_test("cursor-invalid", "virtio-desk-pci", test_cursor_invalid,
                 &(QOSGraphTestOptions) { .before = two_outputs_vnc });
    qos_add_test("cursor-input-off", "virtio-desk-pci", test_cursor_input_off,
                 &(QOSGraphTestOptions) {
                     .before = qdesk_vnc_add,
                     .edge.extra_device_opts = "input=off",
                 });
#endif
    qos_add_test("cursor-not-negotiated", "virtio-desk-pci",
                 test_cursor_not_negotiated, NULL);
    qos_add_test("cursor-off", "virtio-desk-pci", test_cursor_off,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "cursor=off",
                 });
}

libqos_init(register_virtio_desk_cursor_test);
