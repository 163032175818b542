/*
 * QTest for virtio-desk-vga: the VGA half (PCI identity, the bochs VBE
 * registers a VGA BIOS drives, the VGA memory in BAR 0) and the console it
 * shares with the device's output 0: VGA until a scanout, the device's
 * picture then, VGA again after a reset.  The protocol itself runs through
 * the virtio-desk-pci tests, a few of them on this device too
 * (virtio-desk-test.c).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "libqos/qgraph.h"
#include "libqos/pci.h"
#include "libqos/virtio-desk-client.h"
#include "hw/display/bochs-vbe.h"
#include "standard-headers/linux/pci_regs.h"
#include "standard-headers/linux/virtio_desk.h"

#define VBE_PORT_INDEX 0x1ce
#define VBE_PORT_DATA  0x1cf
#define VGA_ATTR_INDEX 0x3c0
#define VGA_INPUT_STATUS_1 0x3da  /* reading it resets the attr flip-flop */
#define VGA_DAC_WRITE_INDEX 0x3c8
#define VGA_DAC_DATA 0x3c9

/*
 * The VBE mode the tests set: small, 8 bits a pixel through the palette,
 * so that VGA draws into a surface of its own (a 32-bit mode would share
 * VGA memory, and VGA notices by itself when that surface was replaced).
 */
#define VGA_W 64
#define VGA_H 32
#define VGA_INDEX 1               /* in VGA memory at 0, 0 */
#define VGA_PIXEL 0xff0000u       /* palette entry VGA_INDEX: 6-bit 63, 0, 0 */

static void vbe_write(QTestState *qts, uint16_t index, uint16_t value)
{
    qtest_outw(qts, VBE_PORT_INDEX, index);
    qtest_outw(qts, VBE_PORT_DATA, value);
}

static uint16_t vbe_read(QTestState *qts, uint16_t index)
{
    qtest_outw(qts, VBE_PORT_INDEX, index);
    return qtest_inw(qts, VBE_PORT_DATA);
}

/* What a VGA BIOS does for a VBE mode with a linear framebuffer. */
static void vga_set_mode(QDesk *d)
{
    QTestState *qts = d->qts;
    QPCIDevice *pdev = d->pci->pci_vdev.pdev;
    QPCIBar vram;

    g_assert_cmphex(vbe_read(qts, VBE_DISPI_INDEX_ID), ==, VBE_DISPI_ID5);
    vbe_write(qts, VBE_DISPI_INDEX_XRES, VGA_W);
    vbe_write(qts, VBE_DISPI_INDEX_YRES, VGA_H);
    vbe_write(qts, VBE_DISPI_INDEX_BPP, 8);
    vbe_write(qts, VBE_DISPI_INDEX_ENABLE,
              VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    /* the palette address source bit: display on */
    qtest_inb(qts, VGA_INPUT_STATUS_1);
    qtest_outb(qts, VGA_ATTR_INDEX, 0x20);
    qtest_outb(qts, VGA_DAC_WRITE_INDEX, VGA_INDEX);
    qtest_outb(qts, VGA_DAC_DATA, 63);
    qtest_outb(qts, VGA_DAC_DATA, 0);
    qtest_outb(qts, VGA_DAC_DATA, 0);
    vram = qpci_iomap(pdev, 0, NULL);
    qpci_io_writeb(pdev, vram, 0, VGA_INDEX);
}

/* The console shows the VBE mode of vga_set_mode(). */
static void assert_vga_shown(QDesk *d)
{
    QDeskImage img = qdesk_screendump(d->qts, 0);

    g_assert_cmpuint(img.width, ==, VGA_W);
    g_assert_cmpuint(img.height, ==, VGA_H);
    g_assert_cmphex(img.rgb[0] << 16 | img.rgb[1] << 8 | img.rgb[2], ==,
                    VGA_PIXEL);
    g_assert_cmphex(img.rgb[3 * VGA_W], ==, 0);
    g_free(img.rgb);
}

static void test_vga_ids(void *obj, void *data, QGuestAllocator *alloc)
{
    QVirtioDeskPCI *pci = obj;
    QPCIDevice *pdev = pci->pci_vdev.pdev;
    uint64_t size;

    g_assert_cmphex(qpci_config_readw(pdev, PCI_VENDOR_ID), ==, 0x1af4);
    g_assert_cmphex(qpci_config_readw(pdev, PCI_DEVICE_ID), ==,
                    0x1040 + VIRTIO_ID_DESK);
    g_assert_cmphex(qpci_config_readw(pdev, PCI_CLASS_DEVICE), ==, 0x0300);
    qpci_device_enable(pdev);
    qpci_iomap(pdev, 0, &size);
    g_assert_cmpuint(size, ==, 16 * MiB);
    g_assert_cmpuint(pci->desk.vdev->device_type, ==, VIRTIO_ID_DESK);
}

/*
 * VGA draws the console until the driver shows a resource on output 0;
 * then the device does, also once the output is disabled again (QEMU's
 * placeholder, not VGA's stale picture), until a reset gives it back to
 * VGA.  The last round has no screendump between the scanout and the
 * reset: VGA must not draw into the surface the device left.
 */
static void test_vga_console(void *obj, void *data, QGuestAllocator *alloc)
{
    QDesk d = qdesk_start(obj, alloc);
    QDeskFb fb = qdesk_fb_new(VIRTIO_DESK_FORMAT_XRGB8888, 80, 60, 80 * 4);
    static const uint32_t all[][4] = { { 0, 0, 80, 60 } };
    QDeskImage img;

    vga_set_mode(&d);
    assert_vga_shown(&d);

    g_assert_cmphex(qdesk_create(&d, 1, fb.format, 80, 60), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_fb_paint(&fb, 0, 0, 80, 60, 3);
    g_assert_cmphex(qdesk_fb_send(&d, &fb, 1, all, 1, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 80, 60), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_assert_screen(&d, 0, &fb, 0, 0, 80, 60);

    g_assert_cmphex(qdesk_scanout(&d, 0, 0, 0, 0, 0, 0), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    img = qdesk_screendump(d.qts, 0);
    g_assert_false(img.width == VGA_W && img.height == VGA_H);
    g_free(img.rgb);

    qdesk_stop(&d);
    qvirtio_start_device(d.vdev);
    d = qdesk_start(obj, alloc);
    assert_vga_shown(&d);

    g_assert_cmphex(qdesk_create(&d, 1, fb.format, 80, 60), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 80, 60), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_stop(&d);
    qvirtio_start_device(d.vdev);
    d = qdesk_start(obj, alloc);
    assert_vga_shown(&d);

    g_free(fb.data);
    qdesk_stop(&d);
}

static void register_virtio_desk_vga_test(void)
{
    qos_add_test("vga-ids", "virtio-desk-vga", test_vga_ids, NULL);
    qos_add_test("vga-console", "virtio-desk-vga", test_vga_console, NULL);
}

libqos_init(register_virtio_desk_vga_test);
