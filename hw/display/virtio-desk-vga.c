/*
 * virtio-desk-vga: virtio-desk-pci with VGA compatibility
 *
 * The pairing of hw/display/virtio-vga.c: a VGACommonState (text mode,
 * the bochs VBE registers at I/O ports 0x1ce/0x1cf and in the stdvga MMIO
 * area of BAR 2, the VGA memory in BAR 0) shares output 0's console with
 * the virtio-desk device.  The firmware's VGA BIOS, GRUB and the kernel's
 * early console draw through VGA; once the driver shows a resource on
 * output 0 the console is the device's, until the next reset.
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
#include "vga_int.h"
#include "qom/object.h"
#include "trace.h"

#define TYPE_VIRTIO_DESK_VGA "virtio-desk-vga"
OBJECT_DECLARE_TYPE(VirtIODeskVGA, VirtIODeskVGAClass, VIRTIO_DESK_VGA)

struct VirtIODeskVGA {
    VirtIOPCIProxy parent_obj;

    VirtIODesk vdev;
    VGACommonState vga;
    MemoryRegion vga_mrs[3];      /* stdvga MMIO: VGA ports, VBE, qext */
    bool vga_shown;               /* VGA drew the console last */
    uint32_t vga_claims;          /* vdev.console_claims when VGA last drew */
};

struct VirtIODeskVGAClass {
    VirtioPCIClass parent_class;

    ResettablePhases parent_phases;
};

/* ------------------------------------------------------------------ */
/* the shared console                                                 */

static bool virtio_desk_vga_off(VirtIODeskVGA *d)
{
    return d->vdev.scanout_enabled;
}

static void virtio_desk_vga_invalidate(void *opaque)
{
    VirtIODeskVGA *d = opaque;

    if (!virtio_desk_vga_off(d)) {
        d->vga.hw_ops->invalidate(&d->vga);
    }
}

static void virtio_desk_vga_gfx_update(void *opaque)
{
    VirtIODeskVGA *d = opaque;

    if (virtio_desk_vga_off(d)) {
        /* the device puts its own surface and damage on the console */
        if (d->vga_shown) {
            d->vga_shown = false;
            trace_virtio_desk_vga_console(false);
        }
        virtio_desk_hw_ops.gfx_update(&d->vdev.outputs[0]);
        return;
    }
    /*
     * Somebody watches output 0 all the same, the driver's once it shows;
     * VGA's picture is complete once VGA has drawn it.
     */
    virtio_desk_output_pull(&d->vdev, 0);
    /*
     * The console's surface may be the device's or QEMU's placeholder
     * (a scanout came and went since VGA last drew): VGA must not draw
     * into it, so have it make its own again.
     */
    if (!d->vga_shown || d->vga_claims != d->vdev.console_claims) {
        d->vga.hw_ops->invalidate(&d->vga);
        d->vga_claims = d->vdev.console_claims;
        if (!d->vga_shown) {
            d->vga_shown = true;
            trace_virtio_desk_vga_console(true);
        }
    }
    d->vga.hw_ops->gfx_update(&d->vga);
    graphic_hw_update_done(d->vga.con);
}

static void virtio_desk_vga_text_update(void *opaque, console_ch_t *chardata)
{
    VirtIODeskVGA *d = opaque;

    if (!virtio_desk_vga_off(d) && d->vga.hw_ops->text_update) {
        d->vga.hw_ops->text_update(&d->vga, chardata);
    }
}

static void virtio_desk_vga_ui_info(void *opaque, uint32_t idx,
                                    QemuUIInfo *info)
{
    VirtIODeskVGA *d = opaque;

    virtio_desk_hw_ops.ui_info(&d->vdev.outputs[0], idx, info);
}

static const GraphicHwOps virtio_desk_vga_ops = {
    .invalidate = virtio_desk_vga_invalidate,
    .gfx_update = virtio_desk_vga_gfx_update,
    .gfx_update_async = true,     /* as the device's own consoles */
    .text_update = virtio_desk_vga_text_update,
    .ui_info = virtio_desk_vga_ui_info,
};

/* ------------------------------------------------------------------ */
/* device                                                             */

static const VMStateDescription vmstate_virtio_desk_vga = {
    .name = "virtio-desk-vga",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (const VMStateField[]) {
        /* the PCI and virtio state travel with the virtio device */
        VMSTATE_STRUCT(vga, VirtIODeskVGA, 0, vmstate_vga_common,
                       VGACommonState),
        VMSTATE_END_OF_LIST()
    }
};

static void virtio_desk_vga_realize(VirtIOPCIProxy *vpci_dev, Error **errp)
{
    VirtIODeskVGA *d = VIRTIO_DESK_VGA(vpci_dev);
    VirtIODesk *s = &d->vdev;
    VGACommonState *vga = &d->vga;
    uint32_t offset;

    /* stdvga's default: the VBE modes up to 1920x1080x32 fit */
    vga->vram_size_mb = 16;
    if (!vga_common_init(vga, OBJECT(vpci_dev), errp)) {
        return;
    }
    vga_init(vga, OBJECT(vpci_dev), pci_address_space(&vpci_dev->pci_dev),
             pci_address_space_io(&vpci_dev->pci_dev), true);
    pci_register_bar(&vpci_dev->pci_dev, 0, PCI_BASE_ADDRESS_MEM_PREFETCH,
                     &vga->vram);

    /*
     * stdvga's layout, as virtio-vga: VGA memory in BAR 0, the MMIO
     * registers at the start of BAR 2 with the virtio regions moved to
     * its end, MSI-X in BAR 4, the virtio I/O BAR in 5.
     */
    vpci_dev->modern_io_bar_idx = 5;
    vpci_dev->modern_mem_bar_idx = 2;
    vpci_dev->msix_bar_idx = 4;
    if (!(vpci_dev->flags & VIRTIO_PCI_FLAG_PAGE_PER_VQ)) {
        /* no padding to spare for the stdvga registers: shrink these */
        vpci_dev->common.size /= 2;
        vpci_dev->isr.size /= 2;
    }
    offset = memory_region_size(&vpci_dev->modern_bar);
    offset -= vpci_dev->notify.size;
    vpci_dev->notify.offset = offset;
    offset -= vpci_dev->device.size;
    vpci_dev->device.offset = offset;
    offset -= vpci_dev->isr.size;
    vpci_dev->isr.offset = offset;
    offset -= vpci_dev->common.size;
    vpci_dev->common.offset = offset;

    /* A new device: no legacy interface, so PCI device id 0x107f. */
    virtio_pci_force_virtio_1(vpci_dev);
    if (!qdev_realize(DEVICE(s), BUS(&vpci_dev->bus), errp)) {
        return;
    }
    pci_std_vga_mmio_region_init(vga, OBJECT(d), &vpci_dev->modern_bar,
                                 d->vga_mrs, true, false);

    vga->con = s->outputs[0].con;
    graphic_console_set_hwops(vga->con, &virtio_desk_vga_ops, d);
    /* Let input routing and QMP find the console by the PCI device's id. */
    for (uint32_t i = 0; i < s->max_outputs; i++) {
        object_property_set_link(OBJECT(s->outputs[i].con), "device",
                                 OBJECT(vpci_dev), &error_abort);
    }
}

static void virtio_desk_vga_reset_hold(Object *obj, ResetType type)
{
    VirtIODeskVGAClass *k = VIRTIO_DESK_VGA_GET_CLASS(obj);
    VirtIODeskVGA *d = VIRTIO_DESK_VGA(obj);

    /* the virtio device first: it gives the console back to VGA */
    if (k->parent_phases.hold) {
        k->parent_phases.hold(obj, type);
    }
    vga_common_reset(&d->vga);
    vga_dirty_log_start(&d->vga);
}

static const Property virtio_desk_vga_properties[] = {
    DEFINE_VIRTIO_DESK_PCI_PROPERTIES(VirtIOPCIProxy),
};

static void virtio_desk_vga_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    VirtIODeskVGAClass *v = VIRTIO_DESK_VGA_CLASS(klass);
    PCIDeviceClass *pcidev_k = PCI_DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    set_bit(DEVICE_CATEGORY_DISPLAY, dc->categories);
    device_class_set_props(dc, virtio_desk_vga_properties);
    dc->vmsd = &vmstate_virtio_desk_vga;
    dc->hotpluggable = false;
    resettable_class_set_parent_phases(rc, NULL, virtio_desk_vga_reset_hold,
                                       NULL, &v->parent_phases);
    k->realize = virtio_desk_vga_realize;
    /*
     * SeaBIOS's bochs VBE BIOS built for virtio-vga: it drives the VBE
     * registers through ports 0x1ce/0x1cf and finds the linear framebuffer
     * in BAR 0, as here.  Its PCI header names 1af4:1050; QEMU patches the
     * device id to ours when it loads the ROM (same vendor).
     */
    pcidev_k->romfile = "vgabios-virtio.bin";
    pcidev_k->class_id = PCI_CLASS_DISPLAY_VGA;
}

static void virtio_desk_vga_instance_init(Object *obj)
{
    VirtIODeskVGA *d = VIRTIO_DESK_VGA(obj);

    virtio_instance_init_common(obj, &d->vdev, sizeof(d->vdev),
                                TYPE_VIRTIO_DESK);
}

static const VirtioPCIDeviceTypeInfo virtio_desk_vga_info = {
    .generic_name = TYPE_VIRTIO_DESK_VGA,
    .instance_size = sizeof(VirtIODeskVGA),
    .class_size = sizeof(VirtIODeskVGAClass),
    .instance_init = virtio_desk_vga_instance_init,
    .class_init = virtio_desk_vga_class_init,
};
module_obj(TYPE_VIRTIO_DESK_VGA);
module_kconfig(VIRTIO_DESK_VGA);

static void virtio_desk_vga_register_types(void)
{
    virtio_pci_types_register(&virtio_desk_vga_info);
}

type_init(virtio_desk_vga_register_types)
