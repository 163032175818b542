#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The demo, from a fresh Debian bookworm machine (as root): installs what it
# needs, builds QEMU with virtio-desk and the guest (Debian's 6.12 kernel,
# virtio_desk.ko, a busybox initramfs), boots it on -device virtio-desk-pci
# under TCG and prints where its VNC and SPICE servers listen (127.0.0.1).
# The guest shows its kernel console, then a moving test pattern.  Ctrl-C ends.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/scripts/host-deps.sh"
build=$(bash "$repo/scripts/qemu/build.sh" | tail -n 1)
QEMU="$build/qemu-system-x86_64" exec python3 "$repo/tests/guest/rig.py" demo
