/*
 * libqos driver for virtio-desk-pci and virtio-desk-vga: the qgraph
 * nodes (the same virtio-pci device to a test, the VGA half aside).  What a
 * test's driver says to the device is in virtio-desk-client.c.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "../libqtest.h"
#include "qemu/module.h"
#include "qgraph.h"
#include "virtio-desk.h"

static void *qvirtio_desk_pci_get_driver(void *object, const char *interface)
{
    QVirtioDeskPCI *v_desk = object;

    if (!g_strcmp0(interface, "pci-device")) {
        return v_desk->pci_vdev.pdev;
    }
    if (!g_strcmp0(interface, "virtio-desk")) {
        return &v_desk->desk;
    }
    if (!g_strcmp0(interface, "virtio")) {
        return v_desk->desk.vdev;
    }

    fprintf(stderr, "%s not present in virtio-desk\n", interface);
    g_assert_not_reached();
}

static void *virtio_desk_pci_create(void *pci_bus, QGuestAllocator *t_alloc,
                                    void *addr)
{
    QVirtioDeskPCI *virtio_dpci = g_new0(QVirtioDeskPCI, 1);
    QOSGraphObject *obj = &virtio_dpci->pci_vdev.obj;

    virtio_pci_init(&virtio_dpci->pci_vdev, pci_bus, addr);
    virtio_dpci->desk.vdev = &virtio_dpci->pci_vdev.vdev;
    obj->get_driver = qvirtio_desk_pci_get_driver;
    return obj;
}

static void virtio_desk_register_nodes(void)
{
    QPCIAddress addr = {
        .devfn = QPCI_DEVFN(4, 0),
    };
    QOSGraphEdgeOptions opts = {
        .extra_device_opts = "addr=04.0,id=" QVIRTIO_DESK_ID,
    };
    static const char *const names[] = { "virtio-desk-pci", "virtio-desk-vga" };

    add_qpci_address(&opts, &addr);
    for (int i = 0; i < ARRAY_SIZE(names); i++) {
        qos_node_create_driver(names[i], virtio_desk_pci_create);
        qos_node_consumes(names[i], "pci-bus", &opts);
        qos_node_produces(names[i], "pci-device");
        qos_node_produces(names[i], "virtio");
        qos_node_produces(names[i], "virtio-desk");
    }
}

libqos_init(virtio_desk_register_nodes);
