#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the guest (Debian 6.12 kernel, virtio_desk.ko, test programs,
# initramfs) and run the guest tests under QEMU (TCG).  Last line:
# "N passed, N failed"; non-zero exit on any failure.
#   QEMU=...               QEMU binary (default: the project's build in the cache)
#   VIRTIO_DESK_CACHE=...  cache dir (default ~/.cache/virtio-desk)
#   VIRTIO_DESK_KVM=1      use KVM instead of TCG
#   run.sh -k NAME         only tests whose name contains NAME
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$HERE/run_tests.py" "$@"
