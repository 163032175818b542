# SPDX-License-Identifier: GPL-2.0-or-later
# virtio-desk test build: the devices its tests and benchmark use
CONFIG_Q35=y
CONFIG_I440FX=y
CONFIG_PCIE_PORT=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_GPU=y
CONFIG_VIRTIO_INPUT=y
CONFIG_BOCHS_DISPLAY=y
CONFIG_VGA_PCI=y
CONFIG_VIRTIO_DESK=y
CONFIG_VIRTIO_DESK_VGA=y
# the control for virtio-desk-vga
CONFIG_VIRTIO_VGA=y
# the Debian disk's controller; the lifecycle tests hibernate to a swap disk
CONFIG_VIRTIO_BLK=y
