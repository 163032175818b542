#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The QEMU side of virtio-desk in upstream form: writes a git format-patch
# series to OUTDIR (default ./virtio-desk-series), one logical change per
# patch, that `git am` applies to a pristine QEMU 10.0 tree (the orig tarball
# build.sh uses) and that ends in exactly the tree build.sh grafts.
#   VIRTIO_DESK_AUTHOR  "Name <email>" for From: and Signed-off-by:, else
#                       this repository's git identity (user.name and
#                       user.email, else HEAD's author)
# Every patch has a Signed-off-by: and a subject of at most 72 characters
# (check-series.sh checks both).
# The series is made from this repository and the tarball alone (not from a
# grafted tree), and dated by this repository's HEAD, so the same commit
# always gives the same patches.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:-virtio-desk-series}")
cache=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
orig=$(ls "$cache"/dl/qemu_10.0.*+ds.orig.tar.xz | sort -V | tail -n 1)
version=$(basename "$orig" | sed -E 's/^qemu_(10\.0\.[0-9]+)\+ds\.orig\.tar\.xz$/\1/')
if [ -z "${VIRTIO_DESK_AUTHOR:-}" ]; then
    name=$(git -C "$repo" config user.name || git -C "$repo" log -1 --format=%an)
    email=$(git -C "$repo" config user.email || git -C "$repo" log -1 --format=%ae)
    VIRTIO_DESK_AUTHOR="$name <$email>"
fi
author=$VIRTIO_DESK_AUTHOR
source "$repo/scripts/qemu/patches.sh"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Only the files the patches touch are needed: format-patch diffs those, and
# their pristine blobs are the same as in the full tree.
mapfile -t wired < <(sed -n 's|^--- a/||p' "${patches[@]}" | sort -u)
mkdir -p "$work/q" "$work/final"
tar -xf "$orig" -C "$work/q" --strip-components=1 "${wired[@]/#/qemu-$version/}"
cp -a "$work/q/." "$work/final/"
for p in "${patches[@]}"; do
    patch -d "$work/final" -p1 -s --no-backup-if-mismatch < "$p"
done

export GIT_AUTHOR_NAME=${author% <*} GIT_AUTHOR_EMAIL=${author##*<}
GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL%>}
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
GIT_AUTHOR_DATE=$(git -C "$repo" log -1 --format=%cI)
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
git() { command git -C "$work/q" -c core.autocrlf=false "$@"; }
git init -q
git add -A -f
git commit -q -m "QEMU $version (pristine)"
git tag base

# Where a QEMU path comes from: our repository, or the patched pristine file.
source_of() {
    case $1 in
        configs/devices/x86_64-softmmu/virtio-desk.mak)
            echo "$repo/scripts/qemu/devices.mak" ;;
        *) if [ -e "$work/final/$1" ]; then echo "$work/final/$1"
           else echo "$repo/$1"; fi ;;
    esac
}
# patch SUBJECT FILE... : commit FILE... as they end up, the message (body)
# on stdin; "-FILE BLOCK" leaves the exact text BLOCK out of FILE for now
# (it belongs to a later patch of the same file).
patch_() {
    local subject=$1 f
    shift
    if [ ${#subject} -gt 72 ]; then
        echo "patch-series: subject over 72 characters: $subject" >&2
        exit 1
    fi
    while [ $# -gt 0 ]; do
        f=$1
        shift
        if [ "${f#-}" != "$f" ]; then
            python3 - "$work/q/${f#-}" "$1" <<'PY'
import sys
path, block = sys.argv[1], sys.argv[2]
text = open(path).read()
if text.count(block) != 1:
    sys.exit(f"patch-series: {path}: the text to leave out is not there once")
open(path, "w").write(text.replace(block, ""))
PY
            shift
            continue
        fi
        install -D -m 644 "$(source_of "$f")" "$work/q/$f"
    done
    git add -A
    { echo "$subject"; echo; cat; echo; echo "Signed-off-by: $author"; } |
        git commit -q -F -
}

checkpatch_maintainers="checkpatch: the WARNING \"added, moved or deleted file(s), does
MAINTAINERS need updating?\" is expected: the MAINTAINERS section for all
of virtio-desk's files comes with the documentation patch."

patch_ "pc-bios: don't unpack edk2 blobs the source tree does not have" \
    pc-bios/meson.build <<'MSG'
Debian's repacked orig tarball (qemu_*+ds.orig.tar.xz) leaves out the
prebuilt edk2 firmware, pc-bios/edk2-*.fd.bz2, but meson still tries to
unpack it whenever bzip2 is found and an edk2 target such as x86_64 is
configured, and fails.  Only unpack when the blobs are there.

Not part of virtio-desk and not meant for upstream, where the tarball
has the blobs: this series carries it so that every later patch builds
on the tree it is tested on.
MSG

patch_ "tests/qtest/fuzz: don't leak the qos paths walk_path() replaces" \
    tests/qtest/fuzz/qos_fuzz.c <<'MSG'
walk_path() keeps the last of the qos graph's paths that end in the
fuzz target, and the path vector and command line of an earlier one
were lost.  A target on an interface that two drivers produce has two
paths (virtio-desk-fuzz's "virtio-desk": virtio-desk-pci and
virtio-desk-vga).  LeakSanitizer reports them whenever libFuzzer runs a leak check,
so a run that only leaves an RCU-deferred free pending (every virtqueue
setup does) fails as a leak.  Free the replaced path.

Not virtio-desk's; meant for upstream on its own.
MSG

patch_ "include/standard-headers: add virtio_desk.h" \
    include/standard-headers/linux/virtio_desk.h <<MSG
The virtio-desk wire protocol, shared by the device and the Linux
driver: the device ID, feature bits, config space, request and response
structures, input events and error codes.  BSD-3-Clause, like the other
virtio headers.

The driver is not in Linux yet, so the header is added here directly
instead of through scripts/update-linux-headers.sh; hence the checkpatch
WARNING "added, moved or deleted file(s) imported from Linux, are you
using scripts/update-linux-headers.sh?".

$checkpatch_maintainers
MSG

pci_block="  virtio_desk_ss.add(when: ['CONFIG_VIRTIO_DESK', 'CONFIG_VIRTIO_PCI'],
                     if_true: files('virtio-desk-pci.c'))
"
vga_block="  virtio_desk_ss.add(when: 'CONFIG_VIRTIO_DESK_VGA',
                     if_true: files('virtio-desk-vga.c'))
"
vga_kconfig="
config VIRTIO_DESK_VGA
    bool
    default y
    depends on VIRTIO_PCI && VGA_PCI
    select VGA
    select VIRTIO_DESK
"
vga_trace="
# virtio-desk-vga.c
virtio_desk_vga_console(bool vga) \"console shows vga %d\"
"
input_block="  virtio_desk_ss.add(when: 'CONFIG_VIRTIO_DESK',
                     if_true: files('virtio-desk-input.c'))
"
input_trace="
# virtio-desk-input.c
virtio_desk_input_bad_buffer(uint64_t len) \"event buffer of %\" PRIu64 \" bytes\"
virtio_desk_input_frame_dropped(uint32_t total) \"input queue full, %u frames dropped so far\"
virtio_desk_input_status(uint16_t device, uint16_t type, uint16_t code, uint32_t value) \"device %u type %u code %u value %u\"
virtio_desk_get_input_info(uint32_t device) \"device %u\"
"
patch_ "hw/display: add the virtio-desk device" \
    include/hw/virtio/virtio-desk.h hw/display/virtio-desk.c \
    hw/display/virtio-desk-internal.h hw/display/virtio-desk-copy.h \
    hw/display/virtio-desk-resource.c hw/display/virtio-desk-output.c \
    hw/display/virtio-desk-cursor.c hw/display/virtio-desk-watch.c \
    hw/display/trace-events \
    hw/display/Kconfig hw/display/meson.build \
    -hw/display/meson.build "$pci_block$vga_block$input_block" \
    -hw/display/Kconfig "$vga_kconfig" \
    -hw/display/trace-events "$vga_trace$input_trace" \
    hw/virtio/virtio.c hw/virtio/virtio-qmp.c <<MSG
virtio-desk is a paravirtual 2D display for Linux guests.  The guest
keeps its framebuffer; on each change it sends the damage rectangles
with their pixels, as descriptors pointing at the framebuffer's pages,
many rectangles per request.  The device copies each rectangle into a
pixman image (a resource, within the max_hostmem budget) and reports
exactly that rectangle to the console layer, so VNC, SPICE and the other
UIs encode only what changed.  Guest memory is mapped only while a
request is processed.  A cursor queue carries each output's cursor image
and moves to the console (dpy_cursor_define, dpy_mouse_set), so VNC and
SPICE show it as a client-side cursor.

The device builds as the hw-display-virtio-desk module, all of it in
hw/display/.  virtio.c and virtio-qmp.c learn the device's name and ID.

The device calls functions of the input patch later in this series
(virtio_desk_input_*() and the handlers of GET_INPUT_INFO and of the
status queue): the module builds from here on, and loads once that
patch is in.

$checkpatch_maintainers
MSG

patch_ "hw/display: add virtio-desk-pci" \
    hw/display/virtio-desk-pci.c hw/display/meson.build \
    -hw/display/meson.build "$vga_block$input_block" <<MSG
The PCI proxy, -device virtio-desk-pci (modern virtio only), in the same
module as the device.

$checkpatch_maintainers
MSG

patch_ "hw/display: add virtio-desk-vga" \
    hw/display/virtio-desk-vga.c hw/display/meson.build hw/display/Kconfig \
    hw/display/trace-events -hw/display/meson.build "$input_block" \
    -hw/display/trace-events "$input_trace" <<MSG
-device virtio-desk-vga: virtio-desk-pci with VGA compatibility, paired
the way virtio-vga pairs virtio-gpu with VGACommonState.  VGA (text
mode, the bochs VBE registers, stdvga's MMIO area at the start of BAR 2,
the VGA memory in BAR 0) draws output 0's console until the driver shows
a resource there, and again after a reset, so the firmware, GRUB and the
kernel's early console are visible.  The VGA BIOS is SeaBIOS's
vgabios-virtio.bin, which drives the VBE registers through ports
0x1ce/0x1cf and finds the framebuffer in BAR 0.

$checkpatch_maintainers
MSG

patch_ "hw/display: virtio-desk keyboard and pointer" \
    hw/display/virtio-desk-input.c hw/display/trace-events \
    hw/display/meson.build <<MSG
The input half of virtio-desk: a keyboard and an absolute (or, with
relative-pointer=on, relative) pointer fed from QEMU's input layer, sent
to the guest as batched frames on the event queue, and the LED status
the guest sends back.  It is part of the hw-display-virtio-desk module,
next to the rest of the device.

$checkpatch_maintainers
MSG

patch_ "tests/qtest: virtio-desk qtests and libqos driver" \
    tests/qtest/libqos/virtio-desk.c tests/qtest/libqos/virtio-desk.h \
    tests/qtest/libqos/virtio-desk-client.c \
    tests/qtest/libqos/virtio-desk-client.h \
    tests/qtest/libqos/virtio-desk-vnc.c tests/qtest/libqos/virtio-desk-vnc.h \
    tests/qtest/libqos/meson.build \
    tests/qtest/virtio-desk-test.c tests/qtest/virtio-desk-validation-test.c \
    tests/qtest/virtio-desk-input-test.c \
    tests/qtest/virtio-desk-transport-test.c \
    tests/qtest/virtio-desk-migration-test.c \
    tests/qtest/virtio-desk-cursor-test.c tests/qtest/virtio-desk-vga-test.c \
    tests/qtest/virtio-desk-watch-test.c tests/qtest/meson.build <<MSG
A libqos driver for virtio-desk-pci and qos-test cases for requests and
resources, the validation rules of the specification, input, the
transport (queues, reset, feature negotiation), the cursor as a VNC
viewer gets it, migration, and virtio-desk-vga's VGA half and shared
console.

checkpatch: the WARNINGs "line over 80 characters" in the tests are
left for now: test assertions and section rulers between 81 and 90
columns (90 is checkpatch's error limit), to be wrapped in a follow-up.

$checkpatch_maintainers
MSG

patch_ "tests/qtest/fuzz: virtio-desk fuzz target" \
    tests/qtest/fuzz/virtio_desk_fuzz.c tests/qtest/fuzz/meson.build \
    tests/qtest/fuzz/generic_fuzz_configs.h <<MSG
A structured libFuzzer target that builds well-formed and malformed
virtio-desk requests, and a generic-fuzz configuration for the device.

$checkpatch_maintainers
MSG

patch_ "docs: virtio-desk specification and user guide; MAINTAINERS" \
    docs/specs/virtio-desk.rst docs/specs/index.rst \
    docs/system/devices/virtio-desk.rst docs/system/device-emulation.rst \
    docs/images/virtio-desk-vnc-pattern.png docs/images/virtio-desk-fbcon.png \
    MAINTAINERS <<'MSG'
The protocol specification (docs/specs/virtio-desk.rst, with the table of
validation rules) and the user guide (docs/system/devices/virtio-desk.rst,
with two screenshots), each linked from its index, and a MAINTAINERS
section for all of the device's files.

checkpatch: the WARNINGs "Does new file
'docs/images/virtio-desk-fbcon.png' need 'SPDX-License-Identifier'?" and
"Does new file 'docs/images/virtio-desk-vnc-pattern.png' need
'SPDX-License-Identifier'?" are expected: PNG screenshots have no place
for the tag; they are covered by the documentation's license,
GPL-2.0-or-later.
MSG

patch_ "configs/devices: virtio-desk device set for x86_64" \
    configs/devices/x86_64-softmmu/virtio-desk.mak <<'MSG'
The device set of a small x86_64 build for virtio-desk's tests and
benchmark (--without-default-devices --with-devices-x86_64=virtio-desk):
the PC machines, PCIe ports, virtio-desk and the display devices it is
compared with.  Build wiring for the tests, not meant for upstream.

checkpatch: the WARNING "added, moved or deleted file(s), does
MAINTAINERS need updating?" is expected: the virtio-desk section already
lists the file.
MSG

# Every patched file must have ended up whole.
for f in "${wired[@]}"; do
    cmp -s "$work/q/$f" "$work/final/$f" ||
        { echo "patch-series: $f is not complete at the end" >&2; exit 1; }
done
rm -rf "$out"
git format-patch -q --no-signature -o "$out" base..HEAD
ls "$out"/*.patch
