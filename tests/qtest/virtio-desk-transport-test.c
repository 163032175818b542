/*
 * QTest for virtio-desk-pci: the virtio transport as the guest can abuse it,
 * descriptor chains the virtio core rejects and the configuration space.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-desk.h"

static void register_virtio_desk_transport_test(void)
{
}

libqos_init(register_virtio_desk_transport_test);
