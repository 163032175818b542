/*
 * QTest for virtio-desk-pci: every command's happy path, checked pixel by
 * pixel through QMP screendump.  The validation rules are tested in
 * virtio-desk-validation-test.c, migration in virtio-desk-migration-test.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "libqos/qgraph.h"
#include "libqos/pci.h"
#include "libqos/virtio-desk-client.h"
#include "standard-headers/linux/pci_regs.h"
#include "standard-headers/linux/virtio_desk.h"

/* --- happy paths ----------------------------------------------------------- */

static void test_pci_ids(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioDeskPCI *pci = obj;
    QPCIDevice *pdev = pci->pci_vdev.pdev;

    g_assert_cmphex(qpci_config_readw(pdev, PCI_VENDOR_ID), ==, 0x1af4);
    g_assert_cmphex(qpci_config_readw(pdev, PCI_DEVICE_ID), ==,
                    0x1040 + VIRTIO_ID_DESK);
    g_assert_cmphex(qpci_config_readw(pdev, PCI_CLASS_DEVICE), ==, 0x0380);
    g_assert_cmpuint(pci->desk.vdev->device_type, ==, VIRTIO_ID_DESK);
}

static void test_config(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);

    g_assert_cmpuint(qvirtio_config_readl(d.vdev, QDESK_CFG(events_read)),
                     ==, 0);
    g_assert_cmpuint(qvirtio_config_readl(d.vdev, QDESK_CFG(num_outputs)),
                     ==, 1);
    g_assert_cmpuint(qvirtio_config_readl(d.vdev, QDESK_CFG(max_rects)),
                     ==, 1024);
    /* half of QEMU's 1024 mapped segments: see the transport tests */
    g_assert_cmpuint(qvirtio_config_readl(d.vdev, QDESK_CFG(max_segments)),
                     ==, 512);
    g_assert_cmpuint(qvirtio_config_readl(d.vdev, QDESK_CFG(max_dimension)),
                     ==, 16384);
    g_assert_cmpuint(qvirtio_config_readl(d.vdev, QDESK_CFG(max_resources)),
                     ==, 1024);
    g_assert_cmpuint(qvirtio_config_readq(d.vdev, QDESK_CFG(max_hostmem)), ==,
                     256 * 1024 * 1024);
    qdesk_stop(&d);
}

static void test_display_info(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_desk_resp_display_info resp;
    QDeskSeg seg = { &req, sizeof(req) };

    g_assert_cmpuint(qdesk_submit(&d, &seg, 1, &resp, sizeof(resp), false),
                     ==, sizeof(resp));
    g_assert_cmphex(le32_to_cpu(resp.hdr.type), ==,
                    VIRTIO_DESK_RESP_OK_DISPLAY_INFO);
    g_assert_cmpuint(le32_to_cpu(resp.outputs[0].width), ==, 1280);
    g_assert_cmpuint(le32_to_cpu(resp.outputs[0].height), ==, 800);
    g_assert_cmpuint(le32_to_cpu(resp.outputs[0].enabled), ==, 1);
    for (int i = 1; i < VIRTIO_DESK_MAX_OUTPUTS; i++) {
        g_assert_cmpuint(resp.outputs[i].width | resp.outputs[i].height |
                         resp.outputs[i].enabled, ==, 0);
    }
    qdesk_stop(&d);
}

/*
 * Several rects in one request, with a pitch wider than the rows, shown
 * pixel-exact; then a second request updates part of it.
 */
static void test_transfer_rects(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 96, 64, 96 * 4 + 52);
    static const uint32_t first[][4] = {
        { 0, 0, 96, 20 }, { 0, 20, 40, 44 }, { 40, 20, 56, 44 },
    };
    static const uint32_t second[][4] = {
        { 1, 1, 3, 5 }, { 90, 60, 6, 4 }, { 30, 31, 17, 9 },
    };

    g_assert_cmphex(qdesk_create(&d, 1, fb.format, 96, 64), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 96, 64), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_fb_paint(&fb, 0, 0, 96, 64, 1);
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 1, first, 3, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 0, 0, 96, 64);

    for (int i = 0; i < 3; i++) {
        qdesk_fb_paint(&fb, second[i][0], second[i][1], second[i][2],
                       second[i][3], 2 + i);
    }
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 1, second, 3, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 0, 0, 96, 64);
    g_free(fb.data);
    qdesk_stop(&d);
}

/* Payload split in odd-sized descriptors, rows straddling them, indirect. */
static void test_transfer_scattered(void *obj, void *data,
                                    QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 50, 30, 50 * 4);
    static const uint32_t r[][4] = { { 0, 0, 50, 30 } };
    struct virtio_desk_transfer_rects hdr = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_TRANSFER_RECTS),
        .resource_id = cpu_to_le32(7),
        .num_rects = cpu_to_le32(1),
    };
    struct virtio_desk_xfer_rect xr = qdesk_xrect(10, 5, 30, 20, fb.pitch,
                                            5 * fb.pitch + 10 * 4);
    struct virtio_desk_ctrl_hdr resp;
    QDeskSeg segs[64];
    int n = 0;

    g_assert_cmphex(qdesk_create(&d, 7, fb.format, 50, 30), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 7, 0, 0, 50, 30), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_fb_paint(&fb, 0, 0, 50, 30, 3);
    /* 97-byte pieces: never aligned to a row or a pixel */
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 7, r, 1, 97), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 0, 0, 50, 30);

    /* Header split from its rect, payload in 60 pieces, indirect table. */
    qdesk_fb_paint(&fb, 10, 5, 30, 20, 4);
    segs[n++] = (QDeskSeg) { &hdr, sizeof(hdr) };
    segs[n++] = (QDeskSeg) { &xr, sizeof(xr) };
    for (size_t off = 0; off < fb.pitch * 30; off += 100) {
        segs[n++] = (QDeskSeg) { fb.data + off, 100 };
    }
    g_assert_cmpuint(qdesk_submit(&d, segs, n, &resp, sizeof(resp), true), ==,
                     sizeof(resp));
    g_assert_cmphex(le32_to_cpu(resp.type), ==, VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 0, 0, 50, 30);
    g_free(fb.data);
    qdesk_stop(&d);
}

/* Every format of the protocol reaches the screen with the right colours. */
static void test_formats(void *obj, void *data, QGuestAllocator *alloc)
{
    static const uint32_t formats[] = {
        VIRTIO_DESK_FORMAT_XRGB8888, VIRTIO_DESK_FORMAT_ARGB8888,
        VIRTIO_DESK_FORMAT_XBGR8888, VIRTIO_DESK_FORMAT_ABGR8888,
        VIRTIO_DESK_FORMAT_RGB565,
    };
    QDesk d = qdesk_start(obj, alloc);

    for (int i = 0; i < ARRAY_SIZE(formats); i++) {
        uint32_t bpp = qdesk_format_bpp(formats[i]);
        QDeskFb fb = qdesk_fb_new(formats[i], 33, 17, 33 * bpp + 6);
        static const uint32_t r[][4] = { { 0, 0, 33, 17 } };

        g_assert_cmphex(qdesk_create(&d, 10 + i, formats[i], 33, 17), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
        qdesk_fb_paint(&fb, 0, 0, 33, 17, i);
        g_assert_cmphex(qdesk_fb_send(&d, &fb, 10 + i, r, 1, 0), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
        g_assert_cmphex(qdesk_scanout(&d, 0, 10 + i, 0, 0, 33, 17), ==,
                        VIRTIO_DESK_RESP_OK_NODATA);
        qdesk_assert_screen(&d, 0, &fb, 0, 0, 33, 17);
        g_free(fb.data);
    }
    qdesk_stop(&d);
}

/* SET_SCANOUT of a sub-rect shows that part only; updates follow it. */
static void test_scanout_src(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 80, 60, 80 * 4);
    static const uint32_t all[][4] = { { 0, 0, 80, 60 } };
    static const uint32_t part[][4] = { { 20, 15, 10, 10 } };

    g_assert_cmphex(qdesk_create(&d, 3, fb.format, 80, 60), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_fb_paint(&fb, 0, 0, 80, 60, 5);
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 3, all, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 3, 16, 8, 40, 30), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 16, 8, 40, 30);
    qdesk_fb_paint(&fb, 20, 15, 10, 10, 6);
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 3, part, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 16, 8, 40, 30);
    g_free(fb.data);
    qdesk_stop(&d);
}

/*
 * Destroying a resource that is shown disables the output: the console gets
 * QEMU's placeholder (gray text on black), not stale pixels.  The id can be
 * reused.
 */
static void test_destroy(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 320, 64, 320 * 4);
    static const uint32_t r[][4] = { { 0, 0, 320, 64 } };
    uint32_t black = 0, text = 0;
    QDeskImage img;

    memset(fb.data, 0x40, 320 * 64 * 4);
    g_assert_cmphex(qdesk_create(&d, 5, fb.format, 320, 64), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 5, r, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 5, 0, 0, 320, 64), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 0, 0, 320, 64);
    g_assert_cmphex(qdesk_destroy(&d, 5), ==, VIRTIO_DESK_RESP_OK_NODATA);

    img = qdesk_screendump(d.qts, 0);
    for (size_t i = 0; i < (size_t)img.width * img.height; i++) {
        const uint8_t *p = img.rgb + i * 3;

        g_assert(p[0] == p[1] && p[1] == p[2] && p[0] != 0x40);
        if (p[0]) {
            text++;
        } else {
            black++;
        }
    }
    g_assert_cmpuint(text, >, 0);
    g_assert_cmpuint(black, >, text);
    g_free(img.rgb);

    g_assert_cmphex(qdesk_fb_send(&d, &fb, 5, r, 1, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qdesk_scanout(&d, 0, 5, 0, 0, 320, 64), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qdesk_create(&d, 5, fb.format, 8, 8), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    /* disabling by SET_SCANOUT with resource 0 is not an error */
    g_assert_cmphex(qdesk_scanout(&d, 0, 5, 0, 0, 8, 8), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 0, 0, 0, 0, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_free(fb.data);
    qdesk_stop(&d);
}

/* Device reset frees every resource and all of max_hostmem. */
static void test_reset(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);

    /* 8192 x 8192 x 4 = all 256 MiB of max_hostmem */
    g_assert_cmphex(qdesk_create(&d, 1, VIRTIO_DESK_FORMAT_XRGB8888, 8192, 8192),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_create(&d, 2, VIRTIO_DESK_FORMAT_XRGB8888, 1, 1), ==,
                    VIRTIO_DESK_RESP_ERR_OUT_OF_MEMORY);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 1024, 768), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);

    qdesk_stop(&d);
    qvirtio_start_device(d.vdev);
    d = qdesk_start(obj, alloc);
    g_assert_cmphex(qdesk_destroy(&d, 1), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RESOURCE_ID);
    g_assert_cmphex(qdesk_create(&d, 2, VIRTIO_DESK_FORMAT_XRGB8888, 8192, 8192),
                    ==, VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_stop(&d);
}

/* QMP introspection of the device works (it once aborted on unknown ids). */
static void test_query_virtio(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDict *resp = qtest_qmp_assert_success_ref(d.qts,
        "{'execute': 'x-query-virtio-status', 'arguments': {'path': %s}}",
        "/machine/peripheral/" QVIRTIO_DESK_ID "/virtio-backend");

    g_assert_cmpstr(qdict_get_str(resp, "name"), ==, "virtio-desk");
    g_assert_cmpint(qdict_get_int(resp, "device-id"), ==, VIRTIO_ID_DESK);
    qobject_unref(resp);
    qdesk_stop(&d);
}

/* With max_outputs=2 each output is a console of its own. */
static void test_two_outputs(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb a = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 40, 20, 160);
    QDeskFb b = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 24, 36, 96);
    static const uint32_t ra[][4] = { { 0, 0, 40, 20 } };
    static const uint32_t rb[][4] = { { 0, 0, 24, 36 } };
    struct virtio_desk_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_DISPLAY_INFO),
    };
    struct virtio_desk_resp_display_info resp;
    QDeskSeg seg = { &req, sizeof(req) };

    g_assert_cmpuint(qvirtio_config_readl(d.vdev, QDESK_CFG(num_outputs)), ==,
                     2);
    qdesk_submit(&d, &seg, 1, &resp, sizeof(resp), false);
    g_assert_cmpuint(le32_to_cpu(resp.outputs[1].width), ==, 1280);
    g_assert_cmpuint(le32_to_cpu(resp.outputs[1].enabled), ==, 0);
    g_assert_cmpuint(le32_to_cpu(resp.outputs[2].width), ==, 0);

    qdesk_fb_paint(&a, 0, 0, 40, 20, 1);
    qdesk_fb_paint(&b, 0, 0, 24, 36, 2);
    g_assert_cmphex(qdesk_create(&d, 1, a.format, 40, 20), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_create(&d, 2, b.format, 24, 36), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_fb_send(&d, &a, 1, ra, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_fb_send(&d, &b, 2, rb, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 40, 20), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 1, 2, 0, 0, 24, 36), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 2, 2, 0, 0, 24, 36), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    qdesk_assert_screen(&d, 0, &a, 0, 0, 40, 20);
    qdesk_assert_screen(&d, 1, &b, 0, 0, 24, 36);
    g_free(a.data);
    g_free(b.data);
    qdesk_stop(&d);
}

/* A request with one bad rect changes no pixel at all. */
static void test_transfer_atomic(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 16, 16, 64);
    QDeskFb black = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 16, 16, 64);
    struct virtio_desk_xfer_rect r[2] = {
        qdesk_xrect(0, 0, 8, 8, 64, 0),
        qdesk_xrect(8, 8, 9, 8, 64, 8 * 64 + 32),   /* one column too wide */
    };

    g_assert_cmphex(qdesk_create(&d, 1, fb.format, 16, 16), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 16, 16), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_fb_paint(&fb, 0, 0, 16, 16, 9);
    g_assert_cmphex(qdesk_transfer(&d, 1, 2, r, sizeof(r), fb.data,
                                  64 * 16, 0), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_RECT);
    qdesk_assert_screen(&d, 0, &black, 0, 0, 16, 16);
    g_free(fb.data);
    g_free(black.data);
    qdesk_stop(&d);
}

/* --- EDID (F_EDID) --------------------------------------------------------- */

static uint32_t get_edid(QDesk *d, uint32_t output, uint32_t padding,
                         size_t req_len, size_t resp_len,
                         struct virtio_desk_resp_edid *resp)
{
    struct virtio_desk_get_edid req = {
        .hdr.type = cpu_to_le32(VIRTIO_DESK_CMD_GET_EDID),
        .output_id = cpu_to_le32(output),
        .padding = cpu_to_le32(padding),
    };
    QDeskSeg seg = { &req, req_len };

    memset(resp, 0xaa, sizeof(*resp));
    qdesk_submit(d, &seg, 1, resp, resp_len, false);
    return le32_to_cpu(resp->hdr.type);
}

/* The first detailed timing descriptor's active area: the preferred mode. */
static void edid_preferred(const uint8_t *edid, uint32_t *w, uint32_t *h)
{
    const uint8_t *dtd = edid + 54;

    *w = dtd[2] | (dtd[4] & 0xf0) << 4;
    *h = dtd[5] | (dtd[7] & 0xf0) << 4;
}

/*
 * Each output has an EDID naming QEMU's monitor, whose preferred mode is the
 * one GET_DISPLAY_INFO reports (xres x yres here); bad requests get errors.
 */
static void test_edid(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_resp_edid resp;
    const size_t len = sizeof(struct virtio_desk_get_edid);
    uint32_t size, w, h;
    uint8_t sum = 0;

    g_assert(d.vdev->features & (1ull << VIRTIO_DESK_F_EDID));
    for (uint32_t i = 0; i < 2; i++) {
        g_assert_cmphex(get_edid(&d, i, 0, len, sizeof(resp), &resp), ==,
                        VIRTIO_DESK_RESP_OK_EDID);
        size = le32_to_cpu(resp.size);
        g_assert_cmpuint(size, >=, 128);
        g_assert_cmpuint(size % 128, ==, 0);
        g_assert_cmpuint(size, <=, sizeof(resp.edid));
        g_assert_cmpuint(resp.padding, ==, 0);
        g_assert(!memcmp(resp.edid, "\0\xff\xff\xff\xff\xff\xff\0", 8));
        g_assert(memmem(resp.edid, 128, "QEMU Monitor", 12));
        edid_preferred(resp.edid, &w, &h);
        g_assert_cmpuint(w, ==, 1100);
        g_assert_cmpuint(h, ==, 700);
        for (uint32_t b = 0; b < 128; b++) {
            sum += resp.edid[b];
        }
        g_assert_cmpuint(sum, ==, 0);
    }

    /* validation */
    g_assert_cmphex(get_edid(&d, 2, 0, len, sizeof(resp), &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    g_assert_cmphex(get_edid(&d, UINT32_MAX, 0, len, sizeof(resp), &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_OUTPUT_ID);
    g_assert_cmphex(get_edid(&d, 0, 1, len, sizeof(resp), &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_PARAMETER);
    g_assert_cmphex(get_edid(&d, 0, 0, len - 4, sizeof(resp), &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    /* no room for the 1040-byte answer */
    g_assert_cmphex(get_edid(&d, 0, 0, len, sizeof(resp) - 1, &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* A driver that does not take F_EDID, or edid=off: no GET_EDID. */
static void test_edid_unavailable(void *obj, void *data,
                                  QGuestAllocator *alloc)
{
    QDesk d = qdesk_start_features(obj, alloc,
                                   ~(1ull << VIRTIO_DESK_F_EDID));
    struct virtio_desk_resp_edid resp;

    g_assert_false(d.vdev->features & (1ull << VIRTIO_DESK_F_EDID));
    g_assert_cmphex(get_edid(&d, 0, 0, sizeof(struct virtio_desk_get_edid),
                             sizeof(resp), &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

static void test_edid_off(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioDeskPCI *pci = obj;

    g_assert_false(qvirtio_get_features(pci->desk.vdev) &
                   (1ull << VIRTIO_DESK_F_EDID));
    test_edid_unavailable(obj, data, alloc);
}

/* --- layout (F_LAYOUT) ------------------------------------------------------ */

static uint32_t get_layout(QDesk *d, size_t req_len, size_t resp_len,
                           struct virtio_desk_resp_layout *resp)
{
    struct virtio_desk_ctrl_hdr req = {
        .type = cpu_to_le32(VIRTIO_DESK_CMD_GET_LAYOUT),
    };
    QDeskSeg seg = { &req, req_len };

    memset(resp, 0xaa, sizeof(*resp));
    qdesk_submit(d, &seg, 1, resp, resp_len, false);
    return le32_to_cpu(resp->hdr.type);
}

/*
 * Without a UI that places them (the D-Bus display does: the guest test
 * layout_from_dbus_ui), every output is at 0,0; past num_outputs it is 0.
 */
static void test_layout(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    struct virtio_desk_resp_layout resp;
    const size_t len = sizeof(struct virtio_desk_ctrl_hdr);

    g_assert(d.vdev->features & (1ull << VIRTIO_DESK_F_LAYOUT));
    g_assert_cmphex(get_layout(&d, len, sizeof(resp), &resp), ==,
                    VIRTIO_DESK_RESP_OK_LAYOUT);
    g_assert_cmpuint(resp.hdr.flags, ==, 0);
    for (uint32_t i = 0; i < VIRTIO_DESK_MAX_OUTPUTS; i++) {
        g_assert_cmpuint(resp.outputs[i].x, ==, 0);
        g_assert_cmpuint(resp.outputs[i].y, ==, 0);
    }

    /* validation */
    g_assert_cmphex(get_layout(&d, len - 1, sizeof(resp), &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    /* no room for the 136-byte answer */
    g_assert_cmphex(get_layout(&d, len, sizeof(resp) - 1, &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_LENGTH);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

/* A driver that does not take F_LAYOUT: no GET_LAYOUT. */
static void test_layout_not_negotiated(void *obj, void *data,
                                       QGuestAllocator *alloc)
{
    QDesk d = qdesk_start_features(obj, alloc,
                                   ~(1ull << VIRTIO_DESK_F_LAYOUT));
    struct virtio_desk_resp_layout resp;

    g_assert_false(d.vdev->features & (1ull << VIRTIO_DESK_F_LAYOUT));
    g_assert_cmphex(get_layout(&d, sizeof(struct virtio_desk_ctrl_hdr),
                               sizeof(resp), &resp), ==,
                    VIRTIO_DESK_RESP_ERR_INVALID_COMMAND);
    qdesk_assert_alive(&d);
    qdesk_stop(&d);
}

static void register_virtio_desk_test(void)
{
    qos_add_test("pci-ids", "virtio-desk-pci", test_pci_ids, NULL);
    qos_add_test("config", "virtio-desk-pci", test_config, NULL);
    qos_add_test("display-info", "virtio-desk-pci", test_display_info, NULL);
    qos_add_test("transfer-rects", "virtio-desk-pci", test_transfer_rects,
                 NULL);
    qos_add_test("transfer-scattered", "virtio-desk-pci",
                 test_transfer_scattered, NULL);
    qos_add_test("formats", "virtio-desk-pci", test_formats, NULL);
    qos_add_test("scanout-src", "virtio-desk-pci", test_scanout_src, NULL);
    qos_add_test("destroy", "virtio-desk-pci", test_destroy, NULL);
    qos_add_test("reset", "virtio-desk-pci", test_reset, NULL);
    qos_add_test("query-virtio", "virtio-desk-pci", test_query_virtio, NULL);
    qos_add_test("two-outputs", "virtio-desk-pci", test_two_outputs,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "max_outputs=2",
                 });
    qos_add_test("transfer-atomic", "virtio-desk-pci", test_transfer_atomic,
                 NULL);
    qos_add_test("edid", "virtio-desk-pci", test_edid,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "max_outputs=2,xres=1100,"
                                               "yres=700",
                 });
    qos_add_test("edid-not-negotiated", "virtio-desk-pci",
                 test_edid_unavailable, NULL);
    qos_add_test("edid-off", "virtio-desk-pci", test_edid_off,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "edid=off",
                 });
    qos_add_test("layout", "virtio-desk-pci", test_layout,
                 &(QOSGraphTestOptions) {
                     .edge.extra_device_opts = "max_outputs=2",
                 });
    qos_add_test("layout-not-negotiated", "virtio-desk-pci",
                 test_layout_not_negotiated, NULL);
    /* the same virtio device behind virtio-desk-vga's BAR layout */
    qos_add_test("config", "virtio-desk-vga", test_config, NULL);
    qos_add_test("transfer-rects", "virtio-desk-vga", test_transfer_rects,
                 NULL);
    qos_add_test("scanout-src", "virtio-desk-vga", test_scanout_src, NULL);
    qos_add_test("reset", "virtio-desk-vga", test_reset, NULL);
}

libqos_init(register_virtio_desk_test);
