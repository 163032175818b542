/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shim: the protocol header (include/standard-headers/linux/virtio_desk.h)
 * is shared with QEMU and includes "standard-headers/linux/types.h".  In the
 * kernel the types come from <linux/types.h>.
 */
#ifndef _VIRTIO_DESK_SHIM_TYPES_H
#define _VIRTIO_DESK_SHIM_TYPES_H
#include <linux/types.h>
#endif
