/*
 * virtio-desk-pci: the PCI transport of virtio-desk
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "hw/pci/pci.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio-pci.h"
#include "virtio-desk-internal.h"
#include "qom/object.h"

#define TYPE_VIRTIO_DESK_PCI "virtio-desk-pci"
OBJECT_DECLARE_SIMPLE_TYPE(VirtIODeskPCI, VIRTIO_DESK_PCI)

struct VirtIODeskPCI {
    VirtIOPCIProxy parent_obj;
    VirtIODesk vdev;
};

static void virtio_desk_pci_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VirtIODeskPCI *dev = VIRTIO_DESK_PCI(vpci_dev);
    VirtIODesk *s = &dev->vdev;

    /* A new device: no legacy interface, so PCI device id 0x107f. */
    virtio_pci_force_virtio_1(vpci_dev);
    if (!qdev_realize(DEVICE(s), BUS(&vpci_dev->bus), errp)) {
        return;
    }
    /* Let input routing and QMP find the console by the PCI device's id. */
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        object_property_set_link(OBJECT(s->outputs[i].con), "device",
                                 OBJECT(vpci_dev), &error_abort);
    }
}

static const Property virtio_desk_pci_properties[] = {
    DEFINE_VIRTIO_DESK_PCI_PROPERTIES(VirtIOPCIProxy),
};

static void virtio_desk_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);

    set_bit(DEVICE_CATEGORY_DISPLAY, dc->categories);
    device_class_set_props(dc, virtio_desk_pci_properties);
    k->realize = virtio_desk_pci_realize;
    pcidev_k->class_id = PCI_CLASS_DISPLAY_OTHER;
}

static void virtio_desk_pci_instance_init(Object *obj)
{
    VirtIODeskPCI *dev = VIRTIO_DESK_PCI(obj);

    virtio_instance_init_common(obj, &dev->vdev, sizeof(dev->vdev),
                                TYPE_VIRTIO_DESK);
}

static const VirtioPCIDeviceTypeInfo virtio_desk_pci_info = {
    .generic_name = TYPE_VIRTIO_DESK_PCI,
    .instance_size = sizeof(VirtIODeskPCI),
    .instance_init = virtio_desk_pci_instance_init,
    .class_init = virtio_desk_pci_class_init,
};
module_obj(TYPE_VIRTIO_DESK_PCI);
module_kconfig(VIRTIO_DESK);

static void virtio_desk_pci_register_types(void)
{
    virtio_pci_types_register(&virtio_desk_pci_info);
}

type_init(virtio_desk_pci_register_types)
