/*
 * libqos driver for virtio-desk-pci: the qgraph node
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef TESTS_LIBQOS_VIRTIO_DESK_H
#define TESTS_LIBQOS_VIRTIO_DESK_H

#include "qgraph.h"
#include "virtio.h"
#include "virtio-pci.h"

/* The qdev id tests use for screendump and QMP queries. */
#define QVIRTIO_DESK_ID "desk0"

typedef struct QVirtioDesk {
    QVirtioDevice *vdev;
} QVirtioDesk;

typedef struct QVirtioDeskPCI {
    QVirtioPCIDevice pci_vdev;
    QVirtioDesk desk;
} QVirtioDeskPCI;

#endif
