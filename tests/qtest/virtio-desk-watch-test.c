/*
 * QTest for virtio-desk's VIRTIO_DESK_F_WATCH: which outputs somebody
 * watches (the config's watched bits and EVENT_WATCH), the pull of an
 * unwatched output by a screendump or a VNC client connecting, the
 * screendump waiting for OUTPUTS_CURRENT (or pull-timeout-ms), the bits
 * clearing watch-timeout-ms after the last pull, and OUTPUTS_CURRENT's
 * validation.  Here the test is the driver: it answers the pulls itself.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-desk-client.h"
#include "libqos/virtio-desk-vnc.h"
#include "standard-headers/linux/virtio_desk.h"

#define W 64
#define H 32

static const uint32_t all[][4] = { { 0, 0, W, H } };

static QDesk start_watch(void *obj, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start_features(obj, alloc, ~0ull);

    g_assert(d.vdev->features & (1ull << VIRTIO_DESK_F_WATCH));
    return d;
}

static uint32_t watched(QDesk *d)
{
    return qvirtio_config_readl(d->vdev, QDESK_CFG(watched));
}

static uint32_t events(QDesk *d)
{
    return qvirtio_config_readl(d->vdev, QDESK_CFG(events_read));
}

static void clear_events(QDesk *d)
{
    QVirtioPCIDevice *v = &d->pci->pci_vdev;

    qpci_io_writel(v->pdev, v->bar,
                   v->device_cfg_offset + QDESK_CFG(events_clear), ~0u);
    g_assert_cmphex(events(d), ==, 0);
}

/* The device's watched bits become @want, in real time (its clock). */
static void wait_watched(QDesk *d, uint32_t want)
{
    gint64 end = g_get_monotonic_time() + QDESK_TIMEOUT_US;

    while (watched(d) != want) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
}

static uint32_t outputs_current(QDesk *d, uint32_t outputs, uint32_t padding)
{
    struct virtio_desk_outputs_current req = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_OUTPUTS_CURRENT),
        .outputs = cpu_to_le32(outputs),
        .padding = cpu_to_le32(padding),
    };

    return qdesk_cmd(d, &req, sizeof(req));
}

/* Output 0 shows resource 1, @fb painted with @seed. */
static void show(QDesk *d, QDeskFb *fb, uint32_t seed)
{
    g_assert_cmphex(qdesk_create(d, 1, fb->format, W, H), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_fb_paint(fb, 0, 0, W, H, seed);
    g_assert_cmphex(qdesk_fb_send(d, fb, 1, all, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(d, 0, 1, 0, 0, W, H), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
}

/* What a driver does when its output is watched again: send, then say so. */
static void send_kept(QDesk *d, QDeskFb *fb, uint32_t seed)
{
    qdesk_fb_paint(fb, 0, 0, W, H, seed);
    g_assert_cmphex(qdesk_fb_send(d, fb, 1, all, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(outputs_current(d, 1, 0), ==, VIRTIO_DESK_RESP_OK_NODATA);
}

/*
 * Nobody watches a device without UIs.  A screendump pulls output 0: its
 * bit and EVENT_WATCH go up, and the screendump waits until the driver has
 * sent what it kept and OUTPUTS_CURRENT: it shows that, not the stale
 * picture.  Once watched, a screendump shows the latest transfer at once.
 */
static void test_watch_pull_screendump(void *obj, void *data,
                                       QGuestAllocator *alloc)
{
    QDesk d = start_watch(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, W, H, W * 4);
    char *dump;

    show(&d, &fb, 1);
    g_assert_cmphex(watched(&d), ==, 0);
    g_assert_cmphex(events(&d), ==, 0);

    dump = qdesk_screendump_begin(d.qts, 0);
    wait_watched(&d, 1);
    g_assert_cmphex(events(&d), ==, VIRTIO_DESK_EVENT_WATCH);
    clear_events(&d);
    send_kept(&d, &fb, 2);
    qdesk_assert_image(qdesk_screendump_end(d.qts, dump), &fb, 0, 0, W, H);

    /* watched: no event, no wait (pull-timeout-ms is 60 s here) */
    qdesk_fb_paint(&fb, 0, 0, W, H, 3);
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 1, all, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 0, 0, W, H);
    g_assert_cmphex(events(&d), ==, 0);

    g_free(fb.data);
    qdesk_stop(&d);
}

static void remove_log(void *path)
{
    unlink(path);
    g_free(path);
}

/* -d guest_errors into a file of the test's, whose path is its data. */
static void *guest_error_log(GString *cmd_line, void *arg)
{
    char *path = NULL;
    int fd = g_file_open_tmp("virtio-desk-watch-XXXXXX.log", &path, NULL);

    g_assert(fd >= 0);
    close(fd);
    g_string_append_printf(cmd_line, " -d guest_errors -D %s", path);
    g_test_queue_destroy(remove_log, path);
    return path;
}

/*
 * A driver that does not answer the pull: the screendump comes back after
 * pull-timeout-ms (200 ms here) with the picture the device has, and the
 * device says why in its guest error log.
 */
static void test_watch_pull_timeout(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QDesk d = start_watch(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, W, H, W * 4);
    g_autofree char *log = NULL;
    gint64 start;
    char *dump;

    show(&d, &fb, 4);
    start = g_get_monotonic_time();
    dump = qdesk_screendump_begin(d.qts, 0);
    qdesk_assert_image(qdesk_screendump_end(d.qts, dump), &fb, 0, 0, W, H);
    g_assert_cmpint(g_get_monotonic_time() - start, >=, 200 * 1000);
    g_assert_cmphex(watched(&d), ==, 1);
    qdesk_assert_alive(&d);

    g_assert(g_file_get_contents(data, &log, NULL, NULL));
    g_assert_nonnull(strstr(log, "virtio-desk: output 0: no OUTPUTS_CURRENT "
                                 "within 200 ms of a pull"));
    g_free(fb.data);
    qdesk_stop(&d);
}

/*
 * watch-timeout-ms (300 here) after the last pull the bit goes down again,
 * with an event; a pull during a wait for OUTPUTS_CURRENT does not end it.
 */
static void test_watch_timeout(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = start_watch(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, W, H, W * 4);
    char *dump;

    show(&d, &fb, 5);
    dump = qdesk_screendump_begin(d.qts, 0);
    wait_watched(&d, 1);
    clear_events(&d);
    send_kept(&d, &fb, 6);
    qdesk_assert_image(qdesk_screendump_end(d.qts, dump), &fb, 0, 0, W, H);

    wait_watched(&d, 0);
    g_assert_cmphex(events(&d), ==, VIRTIO_DESK_EVENT_WATCH);
    clear_events(&d);

    /* unwatched again: the next screendump pulls again */
    dump = qdesk_screendump_begin(d.qts, 0);
    wait_watched(&d, 1);
    send_kept(&d, &fb, 7);
    qdesk_assert_image(qdesk_screendump_end(d.qts, dump), &fb, 0, 0, W, H);
    g_free(fb.data);
    qdesk_stop(&d);
}

/*
 * A VNC server without a client asks for nothing; a client connecting
 * pulls at once, and its refreshes keep the output watched; once it has
 * gone, watch-timeout-ms (300 here) later nobody watches.
 */
static void test_watch_vnc_client(void *obj, void *data, QGuestAllocator *alloc)
{
    static const int32_t encodings[] = { 0 /* Raw */ };
    QDesk d = start_watch(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, W, H, W * 4);
    int vnc;

    show(&d, &fb, 8);
    g_usleep(500 * 1000);
    g_assert_cmphex(watched(&d), ==, 0);

    vnc = qdesk_vnc_connect(data, encodings, ARRAY_SIZE(encodings));
    wait_watched(&d, 1);
    g_assert_cmphex(outputs_current(&d, 1, 0), ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_usleep(600 * 1000);
    g_assert_cmphex(watched(&d), ==, 1);

    close(vnc);
    wait_watched(&d, 0);
    g_free(fb.data);
    qdesk_stop(&d);
}

/*
 * A reset ends a wait for the old driver's answer (the screendump returns);
 * the bits describe the host's side and stay.
 */
static void test_watch_reset(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = start_watch(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, W, H, W * 4);
    QDeskImage img;
    char *dump;

    show(&d, &fb, 9);
    dump = qdesk_screendump_begin(d.qts, 0);
    wait_watched(&d, 1);
    qdesk_stop(&d);
    qvirtio_start_device(d.vdev);
    img = qdesk_screendump_end(d.qts, dump);
    g_free(img.rgb);
    d = start_watch(obj, alloc);
    g_assert_cmphex(watched(&d), ==, 1);
    g_free(fb.data);
    qdesk_stop(&d);
}

/* OUTPUTS_CURRENT is checked like any request, and needs F_WATCH. */
static void test_outputs_current_invalid(void *obj, void *data,
                                         QGuestAllocator *alloc)
{
    QDesk d = start_watch(obj, alloc);

    g_assert_cmphex(outputs_current(&d, 0, 0), ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(outputs_current(&d, 1, 0), ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(outputs_current(&d, 1, 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(outputs_current(&d, 2, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    g_assert_cmphex(outputs_current(&d, 1u << 31, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

static void test_outputs_current_not_negotiated(void *obj, void *data,
                                                QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, W, H, W * 4);

    g_assert_false(d.vdev->features & (1ull << VIRTIO_DESK_F_WATCH));
    g_assert_cmphex(outputs_current(&d, 1, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    /* a driver of before F_WATCH: its screendumps never wait, no event */
    show(&d, &fb, 10);
    qdesk_assert_screen(&d, 0, &fb, 0, 0, W, H);
    g_assert_cmphex(events(&d), ==, 0);
    g_free(fb.data);
    qdesk_stop(&d);
}

/* watch=off: the device does not offer F_WATCH. */
static void test_watch_off(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioDeskPCI *pci = obj;

    g_assert_false(qvirtio_get_features(pci->desk.vdev) &
                   (1ull << VIRTIO_DESK_F_WATCH));
}

/* Two outputs: a pull of one leaves the other unwatched. */
static void test_watch_two_outputs(void *obj, void *data,
                                   QGuestAllocator *alloc)
{
    QDesk d = start_watch(obj, alloc);
    QDeskImage img;
    char *dump;

    dump = qdesk_screendump_begin(d.qts, 1);
    wait_watched(&d, 2);
    g_assert_cmphex(outputs_current(&d, 2, 0), ==, VIRTIO_DESK_RESP_OK_NODATA);
    img = qdesk_screendump_end(d.qts, dump);
    g_free(img.rgb);
    g_assert_cmphex(watched(&d), ==, 2);
    qdesk_stop(&d);
}

static void register_virtio_desk_watch_test(void)
{
    qos_add_test("watch-pull-screendump", "virtio-desk-pci",
                 test_watch_pull_screendump,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "pull-timeout-ms=60000",
                 });
    qos_add_test("watch-pull-timeout", "virtio-desk-pci",
                 test_watch_pull_timeout,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "pull-timeout-ms=200",
                     .before = guest_error_log,
                 });
    qos_add_test("watch-timeout", "virtio-desk-pci", test_watch_timeout,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "watch-timeout-ms=300,"
                                               "pull-timeout-ms=60000",
                 });
    qos_add_test("watch-vnc-client", "virtio-desk-pci", test_watch_vnc_client,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "watch-timeout-ms=300",
                     .before = qdesk_vnc_add,
                 });
    qos_add_test("watch-reset", "virtio-desk-pci", test_watch_reset,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "pull-timeout-ms=60000",
                 });
    qos_add_test("outputs-current-invalid", "virtio-desk-pci",
                 test_outputs_current_invalid, NULL);
    qos_add_test("outputs-current-not-negotiated", "virtio-desk-pci",
                 test_outputs_current_not_negotiated, NULL);
    qos_add_test("watch-off", "virtio-desk-pci", test_watch_off,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "watch=off",
                 });
    qos_add_test("watch-two-outputs", "virtio-desk-pci",
                 test_watch_two_outputs,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "max_outputs=2,"
                                               "pull-timeout-ms=60000",
                 });
    /* the VGA half's console once the driver shows output 0 */
    qos_add_test("watch-pull-screendump", "virtio-desk-vga",
                 test_watch_pull_screendump,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "pull-timeout-ms=60000",
                 });
}

libqos_init(register_virtio_desk_watch_test);
