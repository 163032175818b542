#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# For developers: after editing the wiring lines in the grafted QEMU tree,
# regenerate scripts/qemu/wiring.patch from it.  Diffs every file the patch
# already touches, plus any QEMU-relative paths given as arguments, against
# the pristine tarball.  (edk2-blobs.patch and qos-fuzz-leak.patch, fixes to
# QEMU itself, are kept by hand.)
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
orig=$(ls "$cache"/dl/qemu_10.0.*+ds.orig.tar.xz | sort -V | tail -n 1)
version=$(basename "$orig" | sed -E 's/^qemu_(10\.0\.[0-9]+)\+ds\.orig\.tar\.xz$/\1/')
tree="$cache/qemu-$version"
pristine=$(mktemp -d)
trap 'rm -rf "$pristine"' EXIT

mapfile -t files < <({ sed -n 's|^--- a/||p' "$repo/scripts/qemu/wiring.patch"; printf '%s\n' "$@"; } | awk 'NF && !seen[$0]++')
tar -xf "$orig" -C "$pristine" --strip-components=1 "${files[@]/#/qemu-$version/}"
for f in "${files[@]}"; do
    diff -u --label "a/$f" --label "b/$f" "$pristine/$f" "$tree/$f" || true
done > "$repo/scripts/qemu/wiring.patch"
# what build.sh records as applied: the same patches, in its order
source "$repo/scripts/qemu/patches.sh"
cat "${patches[@]}" > "$tree/.virtio-desk-wiring.patch"
