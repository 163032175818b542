#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Build QEMU 10.0 (Debian's qemu source package, pristine upstream tarball)
# with virtio-desk grafted in.  Everything lives under $VIRTIO_DESK_CACHE
# (default ~/.cache/virtio-desk), keyed by QEMU version, so a second run only
# recompiles what changed.  Prints the build directory on the last line.
#
# The graft: our QEMU-side files are copied to the same paths in the tree
# (only when they differ, so timestamps stay put), and scripts/qemu/wiring.patch
# adds the few lines that hook them in (Kconfig, meson, trace events, the
# virtio name table, docs index, MAINTAINERS).  scripts/qemu/edk2-blobs.patch,
# a build fix for Debian's tarball, and scripts/qemu/qos-fuzz-leak.patch, a
# leak fix in QEMU's fuzz harness, are applied with it.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
build_name=${VIRTIO_DESK_BUILD:-build}
mkdir -p "$cache/dl"

# --- source ---------------------------------------------------------------
orig=$(ls "$cache"/dl/qemu_10.0.*+ds.orig.tar.xz 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$orig" ]; then
    # through a private apt configuration: see apt-trixie.sh
    bash "$repo/scripts/qemu/apt-trixie.sh" update >&2
    (cd "$cache/dl" &&
     bash "$repo/scripts/qemu/apt-trixie.sh" source --download-only qemu/trixie >&2)
    orig=$(ls "$cache"/dl/qemu_10.0.*+ds.orig.tar.xz | sort -V | tail -n 1)
fi
version=$(basename "$orig" | sed -E 's/^qemu_(10\.0\.[0-9]+)\+ds\.orig\.tar\.xz$/\1/')
tree="$cache/qemu-$version"
if [ ! -e "$tree/VERSION" ]; then
    echo "extracting QEMU $version" >&2
    rm -rf "$tree.tmp"
    mkdir -p "$tree.tmp"
    tar -xf "$orig" -C "$tree.tmp" --strip-components=1
    mv "$tree.tmp" "$tree"
fi

# --- graft ----------------------------------------------------------------
overlay=(
    include/standard-headers/linux/virtio_desk.h
    include/hw/virtio/virtio-desk.h
    hw/display/virtio-desk.c
    hw/display/virtio-desk-internal.h
    hw/display/virtio-desk-copy.h
    hw/display/virtio-desk-resource.c
    hw/display/virtio-desk-output.c
    hw/display/virtio-desk-cursor.c
    hw/display/virtio-desk-watch.c
    hw/display/virtio-desk-pci.c
    hw/display/virtio-desk-vga.c
    hw/display/virtio-desk-input.c
    tests/qtest/virtio-desk-test.c
    tests/qtest/virtio-desk-validation-test.c
    tests/qtest/virtio-desk-input-test.c
    tests/qtest/virtio-desk-transport-test.c
    tests/qtest/virtio-desk-migration-test.c
    tests/qtest/virtio-desk-cursor-test.c
    tests/qtest/virtio-desk-vga-test.c
    tests/qtest/virtio-desk-watch-test.c
    tests/qtest/libqos/virtio-desk.c
    tests/qtest/libqos/virtio-desk.h
    tests/qtest/libqos/virtio-desk-client.c
    tests/qtest/libqos/virtio-desk-client.h
    tests/qtest/libqos/virtio-desk-vnc.c
    tests/qtest/libqos/virtio-desk-vnc.h
    tests/qtest/fuzz/virtio_desk_fuzz.c
    docs/specs/virtio-desk.rst
    docs/system/devices/virtio-desk.rst
    docs/images/virtio-desk-vnc-pattern.png
    docs/images/virtio-desk-fbcon.png
)
for f in "${overlay[@]}"; do
    if ! cmp -s "$repo/$f" "$tree/$f"; then
        install -D -m 644 "$repo/$f" "$tree/$f"
    fi
done
# overlay files that moved or went: a cached tree must not keep them
retired=(
    hw/input/virtio-desk-input.c
)
for f in "${retired[@]}"; do
    rm -f "$tree/$f"
done
if ! cmp -s "$repo/scripts/qemu/devices.mak" \
        "$tree/configs/devices/x86_64-softmmu/virtio-desk.mak"; then
    cp "$repo/scripts/qemu/devices.mak" "$tree/configs/devices/x86_64-softmmu/virtio-desk.mak"
fi
# The patches are applied to pristine copies of the files they touch (now or
# in the version applied before), and only files whose result differs from
# the tree are replaced: unchanged files keep their timestamps.  $applied
# keeps the patches as last applied, concatenated.
source "$repo/scripts/qemu/patches.sh"
applied="$tree/.virtio-desk-wiring.patch"
if ! cat "${patches[@]}" | cmp -s - "$applied"; then
    scratch=$(mktemp -d)
    mapfile -t wired < <(sed -n 's|^--- a/||p' "${patches[@]}" \
                         "$applied" 2>/dev/null | sort -u)
    tar -xf "$orig" -C "$scratch" --strip-components=1 \
        "${wired[@]/#/qemu-$version/}"
    for p in "${patches[@]}"; do
        patch -d "$scratch" -p1 -s --no-backup-if-mismatch < "$p"
    done
    for f in "${wired[@]}"; do
        cmp -s "$scratch/$f" "$tree/$f" || cp "$scratch/$f" "$tree/$f"
    done
    rm -rf "$scratch"
    cat "${patches[@]}" > "$applied"
fi

# --- configure --------------------------------------------------------------
# A minimal x86_64 build: the devices the tests and the benchmark compare,
# the VNC and SPICE servers, the D-Bus display (a UI that sends a monitor
# layout), and modules so that virtio-desk loads on demand.
config=(
    --python=/usr/bin/python3 --target-list=x86_64-softmmu
    --without-default-features --without-default-devices
    --with-devices-x86_64=virtio-desk
    --disable-download --disable-install-blobs --disable-docs
    --enable-tcg --enable-kvm --enable-modules --enable-trace-backends=log
    --enable-pixman --enable-vnc --enable-png --enable-spice --enable-spice-protocol
    --enable-opengl --enable-slirp --enable-gio --enable-dbus-display
)
config+=(${VIRTIO_DESK_CONFIGURE_EXTRA:-})
build="$tree/$build_name"
export PATH=/usr/lib/ccache:$PATH
export CCACHE_DIR="$cache/ccache" CCACHE_BASEDIR="$cache" CCACHE_NOHASHDIR=true
if [ "$(cat "$build/.virtio-desk-configure" 2>/dev/null)" != "${config[*]}" ]; then
    rm -rf "$build"
    mkdir -p "$build"
    (cd "$build" && ../configure "${config[@]}" >&2)
    echo "${config[*]}" > "$build/.virtio-desk-configure"
fi

# --- build ------------------------------------------------------------------
ninja -C "$build" ${VIRTIO_DESK_TARGETS:-qemu-system-x86_64 modules tests/qtest/qos-test} >&2
# linuxboot_dma.bin (for -kernel) and friends, where configure found a
# compiler for them (not in the clang fuzzing build, which boots no guest)
if [ -e "$build/pc-bios/optionrom/config.mak" ]; then
    make -C "$build/pc-bios/optionrom" -s >&2
fi

# Run from the build tree, QEMU looks for firmware in qemu-bundle first.
fw="$build/qemu-bundle/usr/local/share/qemu"
mkdir -p "$fw"
for f in /usr/share/seabios/*.bin /usr/lib/ipxe/qemu/*.rom \
         "$build"/pc-bios/optionrom/*.bin; do
    [ -e "$f" ] && ln -sf "$f" "$fw/"
done
echo "$build"
