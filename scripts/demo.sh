#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The demo, from a fresh Debian bookworm machine (as root): installs what it
# needs, builds QEMU with virtio-desk and a Debian bookworm disk
# (tests/guest/disk-image.sh: GRUB, Debian's 6.12 kernel, systemd, the
# virtio-desk-dkms package installed with apt, Weston with weston-terminal;
# about 10 minutes the first time, cached after), boots it from power-on on
# -device virtio-desk-vga under TCG and prints where its VNC and SPICE
# servers listen (127.0.0.1).  The screen shows SeaBIOS, GRUB's menu and
# the boot in VGA text mode, then Weston drawn by virtio_desk, with a
# terminal to type into.  Ctrl-C ends.
#   demo.sh --busybox   the fast guest instead: -kernel, a busybox initramfs,
#                       -device virtio-desk-pci, console text then a moving pattern
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/scripts/host-deps.sh"
build=$(bash "$repo/scripts/qemu/build.sh" | tail -n 1)
if [ "${1:-}" = "--busybox" ]; then
    QEMU="$build/qemu-system-x86_64" exec python3 "$repo/tests/guest/rig.py" demo
fi
QEMU="$build/qemu-system-x86_64" exec python3 "$repo/tests/guest/diskguest.py"
