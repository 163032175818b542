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
#include "standard-headers/linux/pci_regs.h"
#include "standard-headers/linux/virtio_desk.h"

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

    qdesk_vga_set_mode(&d);
    qdesk_assert_vga_shown(&d);

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
    qdesk_assert_vga_hidden(&d);

    qdesk_stop(&d);
    qvirtio_start_device(d.vdev);
    d = qdesk_start(obj, alloc);
    qdesk_assert_vga_shown(&d);

    g_assert_cmphex(qdesk_create(&d, 1, fb.format, 80, 60), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    g_assert_cmphex(qdesk_scanout(&d, 0, 1, 0, 0, 80, 60), ==,
                    VIRTIO_DESK_RESP_OK_NODATA);
    qdesk_stop(&d);
    qvirtio_start_device(d.vdev);
    d = qdesk_start(obj, alloc);
    qdesk_assert_vga_shown(&d);

    g_free(fb.data);
    qdesk_stop(&d);
}

static void register_virtio_desk_vga_test(void)
{
    qos_add_test("vga-ids", "virtio-desk-vga", test_vga_ids, NULL);
    qos_add_test("vga-console", "virtio-desk-vga", test_vga_console, NULL);
}

libqos_init(register_virtio_desk_vga_test);
