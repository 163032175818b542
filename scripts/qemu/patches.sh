# SPDX-License-Identifier: GPL-2.0-or-later
#
# Sourced by build.sh, patch-series.sh and refresh-wiring.sh (which set
# $repo): the patches to QEMU's own files, in the order they are applied.
patches=("$repo/scripts/qemu/edk2-blobs.patch"     # Debian's tarball has no edk2 blobs
         "$repo/scripts/qemu/qos-fuzz-leak.patch"  # a leak in QEMU's qos fuzz harness
         "$repo/scripts/qemu/wiring.patch")        # the lines that hook our files in
