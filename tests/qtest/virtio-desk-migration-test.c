/*
 * QTest for virtio-desk-pci migration: a running machine moves to a new
 * QEMU with its pixels and the input events waiting in the device; hostile
 * migration streams are each rejected by the destination without a crash,
 * and a good stream restores the state.
 *
 * Every stream test builds the same source state, saves it to a file,
 * changes one field of the device's section in the file's bytes
 * (docs/system/devices/virtio-desk.rst, "Migration stream", gives the
 * layout) and loads the result into a new destination QEMU that must
 * survive a failure.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "libqos/qgraph.h"
#include "libqos/pci.h"
#include "libqos/virtio-desk-client.h"
#include "libqos/virtio-desk-vnc.h"
#include "standard-headers/linux/input-event-codes.h"

#define KBD VIRTIO_DESK_INPUT_KEYBOARD
#define PTR VIRTIO_DESK_INPUT_POINTER

/* --- two QEMUs ----------------------------------------------------------- */

/* The command line qos-test built for the running test. */
static char *test_cmdline;

/* QOSGraphTestOptions.before: what start_incoming() starts. */
static void *remember_cmdline(GString *cmd_line, void *arg)
{
    g_free(test_cmdline);
    test_cmdline = g_strdup(cmd_line->str);
    return arg;
}

/* Wait for the migration on @qts to end: NULL if it completed, else why not. */
static char *migration_end(QTestState *qts)
{
    gint64 start = g_get_monotonic_time();

    for (;;) {
        QDict *r = qtest_qmp_assert_success_ref(qts,
                                                "{'execute': 'query-migrate'}");
        const char *status = qdict_get_try_str(r, "status");
        bool completed = !g_strcmp0(status, "completed");
        char *error = NULL;

        if (!g_strcmp0(status, "failed")) {
            error = g_strdup(qdict_get_try_str(r, "error-desc") ?: status);
        }
        qobject_unref(r);
        if (completed || error) {
            return error;
        }
        g_assert(g_get_monotonic_time() - start <= QDESK_TIMEOUT_US);
        g_usleep(10 * 1000);
    }
}

static void wait_migration(QTestState *qts)
{
    g_autofree char *error = migration_end(qts);

    g_assert_cmpstr(error, ==, NULL);
}

/* Start a QEMU like the test's, plus @extra options, -incoming defer. */
static QTestState *start_incoming(const char *extra)
{
    g_assert(test_cmdline);
    return qtest_initf("%s %s -incoming defer", test_cmdline, extra);
}

/*
 * Move the machine to a new QEMU and return it, running.  The source
 * stays stopped: the test must then call qos_invalidate_command_line() so
 * that the next test gets a new QEMU.
 */
static QTestState *migrate_to_new_qemu_with(QTestState *src, const char *extra)
{
    g_autofree char *path = NULL;
    g_autofree char *uri = NULL;
    int fd = g_file_open_tmp("virtio-desk-migrate-XXXXXX", &path, NULL);
    QTestState *dst;

    g_assert(fd >= 0);
    close(fd);
    uri = g_strdup_printf("file:%s", path);
    dst = start_incoming(extra);
    qobject_unref(qtest_qmp_assert_success_ref(src,
        "{'execute': 'migrate', 'arguments': {'uri': %s}}", uri));
    wait_migration(src);
    qobject_unref(qtest_qmp_assert_success_ref(dst,
        "{'execute': 'migrate-incoming', 'arguments': {'uri': %s}}", uri));
    wait_migration(dst);
    unlink(path);
    return dst;
}

static QTestState *migrate_to_new_qemu(QTestState *src)
{
    return migrate_to_new_qemu_with(src, "");
}

/* --- a running machine --------------------------------------------------- */

/* The host image is the only copy of the pixels: it migrates with them. */
static void test_migrate(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XBGR8888, 64, 48, 256);
    static const uint32_t r[][4] = { { 0, 0, 64, 48 } };
    QTestState *src = d.qts, *dst;

    qdesk_fb_paint(&fb, 0, 0, 64, 48, 8);
    g_assert_cmphex(qdesk_create(&d, 4, fb.format, 64, 48), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_create(&d, 5, fb.format, 16, 16), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 4, r, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 4, 8, 4, 48, 40), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);

    dst = migrate_to_new_qemu(d.qts);
    qos_invalidate_command_line();
    d.qts = dst;
    qdesk_assert_screen(&d, 0, &fb, 8, 4, 48, 40);
    qtest_quit(dst);
    d.qts = src;
    g_free(fb.data);
    qdesk_stop(&d);
}

/*
 * virtio-desk-vga: once the driver has shown output 0, VGA is off until a
 * reset, also while output 0 is disabled again; so after a migration too.
 */
static void test_vga_migrate_disabled(void *obj, void *data,
                                      QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QPCIBus *bus = d.pci->pci_vdev.pdev->bus;
    QTestState *src = d.qts;

    qdesk_vga_set_mode(&d);
    qdesk_assert_vga_shown(&d);
    g_assert_cmphex(qdesk_create(&d, 1, VIRTIO_DESK_FORMAT_XRGB8888, 80, 60),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 80, 60), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 0, 0, 0, 0, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);

    d.qts = bus->qts = migrate_to_new_qemu(src);
    qos_invalidate_command_line();
    qdesk_assert_vga_hidden(&d);

    /* a reset there gives the console back to VGA, as at the source */
    qdesk_stop(&d);
    qvirtio_start_device(d.vdev);
    d = qdesk_start(obj, alloc);
    qdesk_assert_vga_shown(&d);
    qtest_quit(d.qts);
    d.qts = bus->qts = src;
    qdesk_stop(&d);
}

/* Events waiting in the device when the machine migrates arrive after it. */
static void test_input_migrate(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QPCIBus *bus = d.pci->pci_vdev.pdev->bus;
    QTestState *src = d.qts;
    QDeskEv want[] = {
        { KBD, EV_KEY, KEY_M, 1 }, { KBD, EV_SYN, SYN_REPORT, 0 },
        { KBD, EV_KEY, KEY_M, 0 }, { KBD, EV_SYN, SYN_REPORT, 0 },
        { PTR, EV_KEY, BTN_RIGHT, 1 }, { PTR, EV_SYN, SYN_REPORT, 0 },
    };

    qdesk_send_key(d.qts, "m", true);
    qdesk_send_key(d.qts, "m", false);
    qdesk_send_events(d.qts, -1,
                      "{'type': 'btn', "
                      "'data': {'down': true, 'button': 'right'}}");
    g_assert_false(qdesk_event_pending(&d));

    /* the guest (its memory, its rings) is now on the destination */
    d.qts = bus->qts = migrate_to_new_qemu(src);
    qos_invalidate_command_line();
    qdesk_event_post(&d, ARRAY_SIZE(want),
                     sizeof(struct virtio_desk_input_event));
    qdesk_expect_events(&d, want, ARRAY_SIZE(want));
    qtest_quit(d.qts);
    d.qts = bus->qts = src;
    qdesk_stop(&d);
}

#ifdef CONFIG_VNC
/*
 * The cursor migrates: a viewer of the destination gets its image and
 * hotspot, and the destination's cursor queue goes on from there.
 */
static void test_cursor_migrate(void *obj, void *data, QGuestAllocator *alloc)
{
    static const int32_t encodings[] = { QDESK_VNC_ALPHA_CURSOR };
    QDesk d = qdesk_start(obj, alloc);
    QPCIBus *bus = d.pci->pci_vdev.pdev->bus;
    g_autofree uint32_t *argb = qdesk_cursor_image(40, 30, 9);
    const char *sock = qdesk_vnc_socket_path();
    g_autofree char *vnc_opt = qdesk_vnc_option(sock, 0);
    QTestState *src = d.qts;
    QDeskVncCursor c;
    int vnc;

    g_assert_cmphex(qdesk_cursor_define(&d, 0, 100, 200, 40, 30, 39, 1, argb),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_cursor_move(&d, 0, -20, 300, true), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);

    d.qts = bus->qts = migrate_to_new_qemu_with(src, vnc_opt);
    qos_invalidate_command_line();
    vnc = qdesk_vnc_connect(sock, encodings, ARRAY_SIZE(encodings));
    c = qdesk_vnc_read_cursor(vnc);
    g_assert_cmpuint(c.width, ==, 40);
    g_assert_cmpuint(c.height, ==, 30);
    g_assert_cmpuint(c.hot_x, ==, 39);
    g_assert_cmpuint(c.hot_y, ==, 1);
    g_assert(!memcmp(c.argb, argb, 40 * 30 * 4));
    g_free(c.argb);
    g_assert_cmphex(qdesk_cursor_move(&d, 0, 0, 0, false), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    c = qdesk_vnc_read_cursor(vnc);
    for (uint32_t i = 0; i < c.width * c.height; i++) {
        g_assert_cmphex(c.argb[i] >> 24, ==, 0);
    }
    g_free(c.argb);
    close(vnc);
    qtest_quit(d.qts);
    d.qts = bus->qts = src;
    qdesk_stop(&d);
}
#endif

/* --- hostile streams ----------------------------------------------------- */

/*
 * The source state.  Ids and sizes are distinctive: each record's
 * big-endian encoding occurs once in the stream (the guest's RAM, migrated
 * too, still holds the requests that made them, but little-endian).
 */
#define RES_A       0x5a17      /* XRGB8888, painted, shown on output 0 */
#define RES_A_W     48
#define RES_A_H     40
#define RES_B       0x5b29      /* ABGR8888, black */
#define RES_B_W     24
#define RES_B_H     20
#define OUT_X       4           /* output 0 shows this rect of RES_A */
#define OUT_Y       6
#define OUT_W       40
#define OUT_H       30
#define NO_RES      0x5c3b      /* no such resource */
#define LEDS        6           /* QEMU_NUM_LOCK_LED | QEMU_CAPS_LOCK_LED */
#define CUR_W       29          /* output 0's cursor, hotspot CUR_HX, CUR_HY */
#define CUR_H       23
#define CUR_HX      17
#define CUR_HY      11

/* The events the source has waiting when it is saved, oldest first. */
static const QDeskEv pending[] = {
    { KBD, EV_KEY, KEY_M, 1 }, { KBD, EV_SYN, SYN_REPORT, 0 },
    { KBD, EV_KEY, KEY_M, 0 }, { KBD, EV_SYN, SYN_REPORT, 0 },
    { PTR, EV_KEY, BTN_RIGHT, 1 }, { PTR, EV_SYN, SYN_REPORT, 0 },
};

/* Records of the device's section, each found by its distinctive values. */
typedef enum Rec {
    REC_NONE,
    REC_SECTION,    /* the device's section: instance id, version */
    REC_RES_A,      /* id, format, width, height, then the pixels */
    REC_RES_B,
    REC_OUTPUT,     /* output 0: resource id, src x, y, width, height */
    REC_INPUT,      /* LEDs, dropped frames, count, then the events */
    REC_CURSOR,     /* output 0: width, height, hotspot, pixel count */
} Rec;

#define SECTION "0000:00:04.0/virtio-desk"
#define INPUT_SUBSECTION "virtio-desk-device/input"
#define HOSTMEM_SMALL "-global virtio-desk-device.max_hostmem=10K"

typedef struct MigCase {
    const char *name;
    bool no_input;          /* the source's driver does not take F_INPUT */
    const char *src_opts;   /* more options for both sides */
    const char *dst_opts;   /* more options for the destination */
    Rec rec;                /* in this record ... */
    unsigned int word;      /* ... the be32 at this index becomes ... */
    uint32_t value;         /* ... this value, or, with @cut, ... */
    bool cut;               /* ... the stream ends @value bytes after it */
    int error;              /* the errno the load fails with; 0: it loads */
    const char *why;        /* ... and what the destination reports */
} MigCase;

static const MigCase cases[] = {
    /* the control: the state arrives whole */
    { "migration-good" },
    /* a stream of the device's first layout */
    { "migration-version-1", .rec = REC_SECTION, .word = 1, .value = 1,
      .error = EINVAL,
      .why = "virtio-desk: incoming version_id 1 is too old" },
    /* resources: the RESOURCE_CREATE rules, against the destination */
    { "migration-width-zero", .rec = REC_RES_A, .word = 2, .value = 0,
      .error = EINVAL, .why = "size out of range" },
    { "migration-width-too-big", .rec = REC_RES_A, .word = 2,
      .value = 16385, .error = EINVAL, .why = "size out of range" },
    { "migration-format-unknown", .rec = REC_RES_A, .word = 1,
      .value = 0x20203859 /* 'Y8  ' */, .error = EINVAL,
      .why = "unknown format" },
    { "migration-id-duplicate", .rec = REC_RES_B, .word = 0, .value = RES_A,
      .error = EINVAL, .why = "resource id 0 or in use" },
    /* 10 KiB hold RES_A (7680 bytes) and RES_B, not RES_A 60 rows high */
    { "migration-hostmem", .src_opts = HOSTMEM_SMALL, .rec = REC_RES_A,
      .word = 3, .value = 60, .error = EINVAL,
      .why = "max_hostmem exceeded" },
    /* outputs: the SET_SCANOUT rules */
    { "migration-scanout-no-resource", .rec = REC_OUTPUT, .word = 0,
      .value = NO_RES, .error = EINVAL, .why = "bad scanout 0" },
    { "migration-scanout-outside", .rec = REC_OUTPUT, .word = 3,
      .value = RES_A_W - OUT_X + 1, .error = EINVAL, .why = "bad scanout 0" },
    /* the stream ends 1000 bytes into RES_A's pixels */
    { "migration-truncated", .rec = REC_RES_A, .word = 4, .value = 1000,
      .cut = true, .error = EIO,
      .why = "Failed to load virtio-desk-device:resources" },
    /* input */
    /* a VMSTATE_VALIDATE field: vmstate_load_state() fails with -1 */
    { "migration-events-too-many", .rec = REC_INPUT, .word = 2,
      .value = 65537, .error = EPERM,
      .why = "65537 pending input events" },
    { "migration-leds-unknown", .rec = REC_INPUT, .word = 0,
      .value = LEDS | 8, .error = EINVAL, .why = "LED state 0xe" },
    /*
     * the cursor: the CURSOR_DEFINE rules, before any pixel is read (a
     * VMSTATE_VALIDATE that fails makes the load fail with -1, EPERM)
     */
    { "migration-cursor-hotspot-outside", .rec = REC_CURSOR, .word = 2,
      .value = CUR_W, .error = EPERM,
      .why = "Input validation failed: virtio-desk-cursor-one/cursor image" },
    { "migration-cursor-too-big", .rec = REC_CURSOR, .word = 0,
      .value = 65, .error = EPERM,
      .why = "Input validation failed: virtio-desk-cursor-one/cursor image" },
    { "migration-cursor-pixels-too-many", .rec = REC_CURSOR, .word = 4,
      .value = 1000000, .error = EPERM,
      .why = "Input validation failed: virtio-desk-cursor-one/cursor image" },
    /*
     * The focus is not in the stream: it follows the driver's status and
     * features, here a driver that did not take F_INPUT.
     */
    { "migration-no-focus-without-input", .no_input = true },
    /* the properties both sides must share, each named when they differ */
    { "migration-two-outputs",
      .src_opts = "-global virtio-desk-device.max_outputs=2" },
    { "migration-max-outputs-1-to-2",
      .dst_opts = "-global virtio-desk-device.max_outputs=2",
      .error = EINVAL,
      .why = "2 != 1\nvirtio-desk: max_outputs here != on the source" },
    { "migration-max-outputs-2-to-1",
      .src_opts = "-global virtio-desk-device.max_outputs=2",
      .dst_opts = "-global virtio-desk-device.max_outputs=1",
      .error = EINVAL,
      .why = "1 != 2\nvirtio-desk: max_outputs here != on the source" },
    { "migration-max-hostmem",
      .dst_opts = "-global virtio-desk-device.max_hostmem=4K",
      .error = EINVAL,
      .why = "1000 != 10000000\nvirtio-desk: max_hostmem here != on the "
             "source" },
    { "migration-input-off",
      .dst_opts = "-global virtio-desk-device.input=off", .error = EINVAL,
      .why = "virtio-desk: input is off here, on on the source" },
    { "migration-input-on",
      .src_opts = "-global virtio-desk-device.input=off",
      .dst_opts = "-global virtio-desk-device.input=on", .error = EINVAL,
      .why = "virtio-desk: input is on here, off on the source" },
    { "migration-relative-pointer",
      .dst_opts = "-global virtio-desk-device.relative-pointer=on",
      .error = EINVAL,
      .why = "virtio-desk: relative-pointer is on here, off on the source" },
};

/* --- source ------------------------------------------------------------- */

/* The pixel the source puts at x, y of RES_A, as XRGB. */
static uint32_t pattern(uint32_t x, uint32_t y)
{
    return (x * 5) << 16 | (y * 6) << 8 | (((x + y) * 3) & 0xff);
}

static void set_led(QDesk *d, uint16_t code)
{
    struct virtio_desk_input_event ev = {
        .device = cpu_to_le16(KBD), .type = cpu_to_le16(EV_LED),
        .code = cpu_to_le16(code), .value = cpu_to_le32(1),
    };

    g_assert_cmphex(qdesk_status_send(d, &ev, sizeof(ev)), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
}

static bool has_input(QDesk *d)
{
    return d->vdev->features & (1ull << VIRTIO_DESK_F_INPUT);
}

static void build_source(QDesk *d)
{
    g_autofree uint32_t *px = g_new(uint32_t, RES_A_W * RES_A_H);
    struct virtio_desk_xfer_rect r = qdesk_xrect(0, 0, RES_A_W, RES_A_H,
                                                 RES_A_W * 4, 0);

    for (uint32_t y = 0; y < RES_A_H; y++) {
        for (uint32_t x = 0; x < RES_A_W; x++) {
            px[y * RES_A_W + x] = cpu_to_le32(pattern(x, y));
        }
    }
    g_assert_cmphex(qdesk_create(d, RES_A, VIRTIO_DESK_FORMAT_XRGB8888,
                                 RES_A_W, RES_A_H), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_create(d, RES_B, VIRTIO_DESK_FORMAT_ABGR8888,
                                 RES_B_W, RES_B_H), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_transfer(d, RES_A, 1, &r, sizeof(r), px,
                                   RES_A_W * RES_A_H * 4, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(d, 0, RES_A, OUT_X, OUT_Y, OUT_W, OUT_H),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    if (d->vdev->features & (1ull << VIRTIO_DESK_F_CURSOR)) {
        g_autofree uint32_t *argb = qdesk_cursor_image(CUR_W, CUR_H, 8);

        g_assert_cmphex(qdesk_cursor_define(d, 0, 10, 10, CUR_W, CUR_H,
                                            CUR_HX, CUR_HY, argb), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
    }
    if (!has_input(d)) {
        return;
    }
    set_led(d, LED_NUML);
    set_led(d, LED_CAPSL);
    /* the driver has posted no event buffer: these wait in the device */
    qdesk_send_key(d->qts, "m", true);
    qdesk_send_key(d->qts, "m", false);
    qdesk_send_events(d->qts, -1,
                      "{'type': 'btn', "
                      "'data': {'down': true, 'button': 'right'}}");
    g_assert_false(qdesk_event_pending(d));
}

/* Stop @src and return its migration stream, as a file holds it. */
static GByteArray *save_stream(QTestState *src)
{
    g_autofree char *path = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *error = NULL;
    gchar *data;
    gsize len;
    int fd = g_file_open_tmp("virtio-desk-migration-XXXXXX", &path, NULL);

    g_assert(fd >= 0);
    close(fd);
    uri = g_strdup_printf("file:%s", path);
    qtest_qmp_assert_success(src, "{'execute': 'stop'}");
    qtest_qmp_assert_success(src, "{'execute': 'migrate', "
                             "'arguments': {'uri': %s}}", uri);
    error = migration_end(src);
    g_assert_cmpstr(error, ==, NULL);
    g_assert(g_file_get_contents(path, &data, &len, NULL));
    unlink(path);
    return g_byte_array_new_take((guint8 *)data, len);
}

/* --- the stream --------------------------------------------------------- */

/* Where the only occurrence of @len bytes @pat is in @stream. */
static size_t find_bytes(GByteArray *stream, const uint8_t *pat, size_t len)
{
    size_t at = SIZE_MAX;

    for (size_t i = 0; i + len <= stream->len; i++) {
        if (!memcmp(stream->data + i, pat, len)) {
            g_assert_cmpuint(at, ==, SIZE_MAX);
            at = i;
        }
    }
    g_assert_cmpuint(at, !=, SIZE_MAX);
    return at;
}

/* Where the only occurrence of @n big-endian values is in @stream. */
static size_t find_be32(GByteArray *stream, const uint32_t *v, int n)
{
    uint8_t pat[5 * 4];

    g_assert(n <= ARRAY_SIZE(pat) / 4);
    for (int i = 0; i < n; i++) {
        stl_be_p(pat + i * 4, v[i]);
    }
    return find_bytes(stream, pat, n * 4);
}

/*
 * Where the header of section or subsection @name goes on after the name:
 * the name follows its length byte there (the stream's JSON description
 * at the end writes it in quotes).
 */
static size_t find_name(GByteArray *stream, const char *name)
{
    size_t len = strlen(name);
    g_autofree uint8_t *pat = g_malloc(len + 1);

    pat[0] = len;
    memcpy(pat + 1, name, len);
    return find_bytes(stream, pat, len + 1) + len + 1;
}

static size_t record_offset(GByteArray *stream, Rec rec)
{
    static const uint32_t res_a[] = {
        RES_A, VIRTIO_DESK_FORMAT_XRGB8888, RES_A_W, RES_A_H,
    };
    static const uint32_t res_b[] = {
        RES_B, VIRTIO_DESK_FORMAT_ABGR8888, RES_B_W, RES_B_H,
    };
    static const uint32_t output[] = { RES_A, OUT_X, OUT_Y, OUT_W, OUT_H };
    static const uint32_t cursor[] = {
        CUR_W, CUR_H, CUR_HX, CUR_HY, CUR_W * CUR_H,
    };

    switch (rec) {
    case REC_SECTION:
        return find_name(stream, SECTION);
    case REC_RES_A:
        return find_be32(stream, res_a, ARRAY_SIZE(res_a));
    case REC_RES_B:
        return find_be32(stream, res_b, ARRAY_SIZE(res_b));
    case REC_OUTPUT:
        return find_be32(stream, output, ARRAY_SIZE(output));
    case REC_INPUT:
        /* after the subsection's version */
        return find_name(stream, INPUT_SUBSECTION) + 4;
    case REC_CURSOR:
        return find_be32(stream, cursor, ARRAY_SIZE(cursor));
    default:
        g_assert_not_reached();
    }
}

static void patch_stream(GByteArray *stream, const MigCase *c)
{
    size_t at;

    if (c->rec == REC_NONE) {
        return;
    }
    at = record_offset(stream, c->rec) + c->word * 4;
    if (c->cut) {
        g_assert_cmpuint(at + c->value, <, stream->len);
        g_byte_array_set_size(stream, at + c->value);
    } else {
        g_assert_cmpuint(at + 4, <=, stream->len);
        stl_be_p(stream->data + at, c->value);
    }
}

/*
 * Load @stream into a new destination started with @opts, which stays
 * alive if the load fails.  Returns it once the migration has ended, with
 * *error NULL or why it failed, and *log what it wrote on stderr.
 */
static QTestState *load_stream(const char *opts, GByteArray *stream,
                               char **error, char **log)
{
    g_autofree char *path = NULL;
    g_autofree char *log_path = NULL;
    g_autofree char *uri = NULL;
    g_autofree char *args = NULL;
    int fd = g_file_open_tmp("virtio-desk-migration-XXXXXX", &path, NULL);
    int log_fd = g_file_open_tmp("virtio-desk-migration-XXXXXX.log",
                                 &log_path, NULL);
    QTestState *dst;

    g_assert(fd >= 0 && log_fd >= 0);
    close(fd);
    close(log_fd);
    g_assert(g_file_set_contents(path, (const gchar *)stream->data,
                                 stream->len, NULL));
    uri = g_strdup_printf("file:%s", path);
    /* libqtest starts QEMU through the shell, as tests/qtest/migration do */
    args = g_strdup_printf("%s 2>%s", opts ? opts : "", log_path);
    dst = start_incoming(args);
    qtest_qmp_assert_success(dst, "{'execute': 'migrate-incoming', "
                             "'arguments': {'uri': %s, "
                             "'exit-on-error': false}}", uri);
    *error = migration_end(dst);
    g_assert(g_file_get_contents(log_path, log, NULL, NULL));
    unlink(log_path);
    unlink(path);
    return dst;
}

/* --- the destination ---------------------------------------------------- */

/* Output 0 shows the source's rect of RES_A, pixel by pixel. */
static void assert_screen(QTestState *qts)
{
    QDeskImage img = qdesk_screendump(qts, 0);
    const uint8_t *rgb = img.rgb;

    g_assert_cmpuint(img.width, ==, OUT_W);
    g_assert_cmpuint(img.height, ==, OUT_H);
    for (uint32_t y = 0; y < OUT_H; y++) {
        for (uint32_t x = 0; x < OUT_W; x++, rgb += 3) {
            uint32_t v = pattern(OUT_X + x, OUT_Y + y);

            g_assert_cmphex(rgb[0] << 16 | rgb[1] << 8 | rgb[2], ==, v);
        }
    }
    g_free(img.rgb);
}

/*
 * Has the device QEMU's input focus?  The most recently activated handler
 * is the current mouse; the PS/2 mouse is the other one.
 */
static bool has_focus(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-mice'}");
    QList *mice = qdict_get_qlist(resp, "return");
    const QListEntry *e;
    int found = 0;
    bool current = false;

    g_assert_cmpuint(qlist_size(mice), >=, 2);
    QLIST_FOREACH_ENTRY(mice, e) {
        QDict *mouse = qobject_to(QDict, qlist_entry_obj(e));

        if (!strcmp(qdict_get_str(mouse, "name"), "virtio-desk")) {
            current = qdict_get_bool(mouse, "current");
            found++;
        }
    }
    g_assert_cmpint(found, ==, 1);
    qobject_unref(resp);
    return current;
}

/*
 * The destination @d->qts, paused as the source was, has the source's
 * screen, and the focus exactly if the source's driver had input running;
 * once it runs, the waiting events arrive and then a new key, or none.
 */
static void check_loaded(QDesk *d)
{
    QDeskEv want[ARRAY_SIZE(pending) + 2];

    assert_screen(d->qts);
    g_assert(has_focus(d->qts) == has_input(d));
    qtest_qmp_assert_success(d->qts, "{'execute': 'cont'}");
    g_assert(has_focus(d->qts) == has_input(d));

    qdesk_event_post(d, ARRAY_SIZE(want),
                     sizeof(struct virtio_desk_input_event));
    qdesk_send_key(d->qts, "f", true);
    if (!has_input(d)) {
        /* the key went to the PS/2 keyboard */
        g_assert_false(qdesk_event_pending(d));
        return;
    }
    memcpy(want, pending, sizeof(pending));
    want[ARRAY_SIZE(pending)] = (QDeskEv) { KBD, EV_KEY, KEY_F, 1 };
    want[ARRAY_SIZE(pending) + 1] = (QDeskEv) { KBD, EV_SYN, SYN_REPORT, 0 };
    qdesk_expect_events(d, want, ARRAY_SIZE(want));
}

static void test_migration(void *obj, void *data, QGuestAllocator *alloc)
{
    const MigCase *c = data;
    QDesk d = qdesk_start_features(obj, alloc, c->no_input ? 0 : ~0ull);
    QPCIBus *bus = d.pci->pci_vdev.pdev->bus;
    QTestState *src = d.qts, *dst;
    g_autoptr(GByteArray) stream = NULL;
    g_autofree char *error = NULL;
    g_autofree char *log = NULL;

    build_source(&d);
    stream = save_stream(src);
    patch_stream(stream, c);
    dst = load_stream(c->dst_opts, stream, &error, &log);
    if (c->error) {
        g_autofree char *want = g_strdup_printf("load of migration failed: %s",
                                                g_strerror(c->error));
        QDict *r;

        g_assert_cmpstr(error, ==, want);
        /* on a mismatch, show all the destination said */
        g_assert_cmpstr(strstr(log, c->why) ? c->why : log, ==, c->why);
        /* it still answers */
        r = qtest_qmp_assert_success_ref(dst, "{'execute': 'query-status'}");
        g_assert_cmpstr(qdict_get_str(r, "status"), ==, "inmigrate");
        qobject_unref(r);
    } else {
        g_assert_cmpstr(error, ==, NULL);
        /* the guest (its memory, its rings) is now on the destination */
        d.qts = bus->qts = dst;
        check_loaded(&d);
        d.qts = bus->qts = src;
    }
    qtest_quit(dst);
    qos_invalidate_command_line();
    qdesk_stop(&d);
}

/* The source, and so the destination, get the case's src_opts. */
static void *before_migration(GString *cmd_line, void *arg)
{
    const MigCase *c = arg;

    if (c->src_opts) {
        g_string_append_printf(cmd_line, " %s", c->src_opts);
    }
    return remember_cmdline(cmd_line, arg);
}

static void register_virtio_desk_migration_test(void)
{
    qos_add_test("migrate", "virtio-desk-pci", test_migrate,
                 &(QOSGraphTestOptions) { .before = remember_cmdline });
    qos_add_test("input-migrate", "virtio-desk-pci", test_input_migrate,
                 &(QOSGraphTestOptions) { .before = remember_cmdline });
    qos_add_test("vga-migrate-disabled", "virtio-desk-vga",
                 test_vga_migrate_disabled,
                 &(QOSGraphTestOptions) { .before = remember_cmdline });
#ifdef CONFIG_VNC
    qos_add_test("cursor-migrate", "virtio-desk-pci", test_cursor_migrate,
                 &(QOSGraphTestOptions) { .before = remember_cmdline });
#endif
    for (int i = 0; i < ARRAY_SIZE(cases); i++) {
        qos_add_test(cases[i].name, "virtio-desk-pci", test_migration,
                     &(QOSGraphTestOptions) {
                         .before = before_migration,
                         .arg = (void *)&cases[i],
                     });
    }
}

libqos_init(register_virtio_desk_migration_test);
