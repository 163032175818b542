#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest driver in upstream form: writes a git format-patch series to
# OUTDIR (default ./virtio-desk-linux) that applies (patch -p1, git am) to
# Debian's linux-source-6.12 tree and adds
#   1. include/uapi/linux/virtio_desk.h, the wire header in Linux uapi form,
#      made from include/standard-headers/linux/virtio_desk.h (the reverse
#      of QEMU's scripts/update-linux-headers.sh);
#   2. drivers/gpu/drm/virtio-desk/: guest-driver/'s sources, an in-tree
#      Makefile and Kconfig (DRM_VIRTIO_DESK), hooked into
#      drivers/gpu/drm/Kconfig and Makefile;
#   3. the MAINTAINERS section, in its alphabetical place.
#   scripts/linux/patch.sh [OUTDIR [LINUX_TREE]]
# LINUX_TREE (the pristine files the patches change) defaults to
# scripts/linux/source.sh's.  VIRTIO_DESK_AUTHOR "Name <email>" for From:
# and Signed-off-by:, else this repository's git identity (user.name and
# user.email, else HEAD's author).  Dated by HEAD, like the QEMU series, so
# the same commit always gives the same patches.  Nothing in guest-driver/
# changes: the in-tree copies differ only in the protocol header's include.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:-virtio-desk-linux}")
tree=${2:-}
[ -n "$tree" ] || tree=$(bash "$repo/scripts/linux/source.sh")
tree=$(realpath "$tree")
if [ -z "${VIRTIO_DESK_AUTHOR:-}" ]; then
    name=$(git -C "$repo" config user.name || git -C "$repo" log -1 --format=%an)
    email=$(git -C "$repo" config user.email || git -C "$repo" log -1 --format=%ae)
    VIRTIO_DESK_AUTHOR="$name <$email>"
fi
author=$VIRTIO_DESK_AUTHOR
drv=drivers/gpu/drm/virtio-desk
hdr=include/uapi/linux/virtio_desk.h
touched=(drivers/gpu/drm/Kconfig drivers/gpu/drm/Makefile MAINTAINERS)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for f in "${touched[@]}"; do
    install -D -m 644 "$tree/$f" "$work/l/$f"
done
export GIT_AUTHOR_NAME=${author% <*} GIT_AUTHOR_EMAIL=${author##*<}
GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL%>}
export GIT_COMMITTER_NAME=$GIT_AUTHOR_NAME GIT_COMMITTER_EMAIL=$GIT_AUTHOR_EMAIL
GIT_AUTHOR_DATE=$(git -C "$repo" log -1 --format=%cI)
export GIT_AUTHOR_DATE GIT_COMMITTER_DATE=$GIT_AUTHOR_DATE
git() { command git -C "$work/l" -c core.autocrlf=false "$@"; }
git init -q
git add -A -f
git commit -q -m "Linux $(make -s -C "$tree" kernelversion 2>/dev/null || echo 6.12) (the files this series changes)"
git tag base

# commit_ SUBJECT NOTES: commit what is in the work tree, the message (body)
# on stdin; NOTES (may be empty) go below the "---" of the patch, where
# notes for the reviewers belong.
commit_() {
    git add -A
    { echo "$1"; echo; cat; echo; echo "Signed-off-by: $author"; } |
        git commit -q -F -
    [ -z "$2" ] || git notes add -m "$2"
}
maint_note="checkpatch: the WARNING \"added, moved or deleted file(s), does
MAINTAINERS need updating?\" is expected: the MAINTAINERS section comes
with patch 3."

# --- 1: the uapi header ------------------------------------------------------
# QEMU's update-linux-headers.sh turns <linux/X> into
# "standard-headers/linux/X" (and __uN, __leN into uintN_t, which our header
# does not use: it is written with the kernel's types).  Undo that; refuse
# what cannot be undone unambiguously.
python3 - "$repo/include/standard-headers/linux/virtio_desk.h" "$work/l/$hdr" <<'PY'
import re, sys
src, dst = sys.argv[1], sys.argv[2]
text = open(src).read()
bad = re.findall(r'\b(?:u?int\d+_t|QEMU_PACKED|HOST_LONG_BITS)\b', text)
if bad:
    sys.exit(f"patch.sh: {src}: {sorted(set(bad))} have no single Linux form")
text, n = re.subn(r'#include "standard-headers/linux/([^"]+)"', r'#include <linux/\1>', text)
if n == 0 or "standard-headers" in text:
    sys.exit(f"patch.sh: {src}: unexpected standard-headers references")
# the specification lives in QEMU's tree, not in Linux's
text = text.replace(" docs/specs/virtio-desk.rst", " QEMU's docs/specs/virtio-desk.rst", 1)
import os
os.makedirs(os.path.dirname(dst), exist_ok=True)
open(dst, "w").write(text)
PY
commit_ "uapi: linux: add virtio_desk.h for the virtio-desk device" "$maint_note" <<'MSG'
virtio-desk is a paravirtual desktop device: a 2D display that is sent
damage rectangles with their pixels, straight from the guest's
framebuffer pages, many rectangles per request, plus a keyboard, a
pointer and a cursor queue.  QEMU implements it as -device
virtio-desk-pci and virtio-desk-vga.

Add its wire protocol: the device ID, feature bits, configuration space,
the control, cursor, event and status queues' structures, and error
codes.  BSD-3-Clause like the other virtio headers, so that devices can
share it.  The driver follows in the next patch.

The device ID is 63, the highest one a modern virtio-pci device can
have (PCI device ID 0x107f), which the virtio specification assigns to
nothing; it is defined in this header rather than in virtio_ids.h until
the specification reserves an ID.
MSG

# --- 2: the driver -------------------------------------------------------------
mkdir -p "$work/l/$drv"
# The module's objects, as guest-driver/Kbuild lists them: their sources and
# the headers.
objs=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$repo/guest-driver/Kbuild" |
       sed -n 's/^virtio_desk-y[[:space:]]*:=[[:space:]]*//p' | tr -s ' \t' ' ')
[ -n "$objs" ] || { echo "patch.sh: no virtio_desk-y in guest-driver/Kbuild" >&2; exit 1; }
sources=()
for o in $objs; do
    [ -f "$repo/guest-driver/${o%.o}.c" ] || { echo "patch.sh: $o has no source" >&2; exit 1; }
    sources+=("${o%.o}.c")
done
mapfile -t -O ${#sources[@]} sources < <(cd "$repo/guest-driver" && ls ./*.h | sed 's|^\./||')
for f in "${sources[@]}"; do
    sed -e 's|#include "standard-headers/linux/virtio_desk.h"|#include <linux/virtio_desk.h>|' \
        -e 's|include/standard-headers/linux/virtio_desk\.h|include/uapi/linux/virtio_desk.h|g' \
        "$repo/guest-driver/$f" > "$work/l/$drv/$f"
done
if [ "$(cat "$work/l/$drv"/*.[ch] | grep -c '^#include <linux/virtio_desk.h>$')" != 1 ] ||
   grep -q standard-headers "$work/l/$drv"/*.[ch]; then
    echo "patch.sh: the protocol header's include in guest-driver/ is not as expected" >&2
    exit 1
fi
{
    echo "# SPDX-License-Identifier: GPL-2.0"
    echo
    line="virtio_desk-y :="
    for o in $objs; do
        if [ $(( ${#line} + ${#o} + 1 )) -gt 78 ]; then
            printf '%s \\\n' "$line"
            line=$'\t'
            line+=$o
        else
            line+=" $o"
        fi
    done
    echo "$line"
    echo
    echo 'obj-$(CONFIG_DRM_VIRTIO_DESK) += virtio_desk.o'
} > "$work/l/$drv/Makefile"
cat > "$work/l/$drv/Kconfig" <<'EOF'
# SPDX-License-Identifier: GPL-2.0
config DRM_VIRTIO_DESK
	tristate "Virtio desktop display (virtio-desk)"
	depends on DRM && VIRTIO_MENU && MMU && INPUT
	select VIRTIO
	select DRM_KMS_HELPER
	select DRM_GEM_SHMEM_HELPER
	help
	  Driver for virtio-desk, a paravirtual desktop device of QEMU
	  (-device virtio-desk-pci or virtio-desk-vga): a 2D display to
	  which the guest sends only the changed rectangles of its
	  framebuffers, with a cursor plane, plus a keyboard and a pointer.

	  To compile this driver as a module, choose M here: the module
	  will be called virtio_desk.
EOF
# insert_after FILE ANCHOR TEXT: TEXT on its own line after the line ANCHOR,
# which must be there exactly once.
insert_after() {
    python3 - "$work/l/$1" "$2" "$3" <<'PY'
import sys
path, anchor, text = sys.argv[1:]
lines = open(path).read().split("\n")
hits = [i for i, l in enumerate(lines) if l == anchor]
if len(hits) != 1:
    sys.exit(f"patch.sh: {path}: {anchor!r} is there {len(hits)} times, not once")
lines.insert(hits[0] + 1, text)
open(path, "w").write("\n".join(lines))
PY
}
insert_after drivers/gpu/drm/Kconfig 'source "drivers/gpu/drm/virtio/Kconfig"' \
    'source "drivers/gpu/drm/virtio-desk/Kconfig"'
insert_after drivers/gpu/drm/Makefile 'obj-$(CONFIG_DRM_VIRTIO_GPU) += virtio/' \
    'obj-$(CONFIG_DRM_VIRTIO_DESK) += virtio-desk/'
commit_ "drm/virtio-desk: add a driver for the virtio-desk display" "$maint_note" <<'MSG'
A DRM/KMS driver for virtio-desk, whose protocol the previous patch
added.  Per device output it has a CRTC, a primary plane (XRGB8888,
ARGB8888, XBGR8888, ABGR8888, RGB565), a virtual encoder and a
connector, with the device's preferred mode and EDID; with
VIRTIO_DESK_F_CURSOR also a 64x64 cursor plane fed through the cursor
queue, which never waits behind a transfer.

Framebuffers are shmem GEM objects.  On each update the driver sends
the damage clips as rectangles of one TRANSFER_RECTS request whose
payload descriptors point at the framebuffer's own pages, so the host
copies exactly the changed pixels and reports exactly those to its
display: no shadow copy in the guest, no full-frame upload.  Requests
are queued without waiting; page-flip events come from a vblank timer
at the output's refresh rate.  fbdev emulation uses drm_fbdev_shmem.
With VIRTIO_DESK_F_WATCH the device says which outputs anybody on the
host looks at; the damage of the others is kept and sent when they are
looked at again.

With VIRTIO_DESK_F_INPUT the device is also a keyboard and an absolute
(or relative) pointer: evdev events come in frames on the event queue,
LED state goes back on the status queue.

On virtio-desk-vga the firmware framebuffer is removed first, as
virtio-gpu and bochs do.  Suspend and resume, and recovery from a
device reset, re-create the host resources from the current state.
MSG

# --- 3: MAINTAINERS ------------------------------------------------------------
python3 - "$work/l/MAINTAINERS" "$author" <<'PY'
import sys
path, author = sys.argv[1:]
title = "VIRTIO DESK DRIVER"
section = [title, f"M:\t{author}",
           "L:\tdri-devel@lists.freedesktop.org",
           "L:\tvirtualization@lists.linux.dev",
           "S:\tMaintained",
           "F:\tdrivers/gpu/drm/virtio-desk/",
           "F:\tinclude/uapi/linux/virtio_desk.h", ""]
lines = open(path).read().split("\n")
start = lines.index("Maintainers List") + 1
# a section's title: after a blank line, followed by a "X:\t" line
titles = [i for i in range(start + 1, len(lines) - 1)
          if lines[i - 1] == "" and lines[i] and lines[i + 1][1:3] == ":\t"]
key = lambda t: t.upper()
after = [i for i in titles if key(lines[i]) > key(title)]
if not after or title in (lines[i] for i in titles):
    sys.exit("patch.sh: MAINTAINERS: no place for the section")
at = after[0]
prev = max(i for i in titles if i < at)
assert key(lines[prev]) < key(title), (lines[prev], title)
lines[at:at] = section
open(path, "w").write("\n".join(lines))
PY
commit_ "MAINTAINERS: add the virtio-desk DRM driver" "" <<'MSG'
A section for the virtio-desk driver and its uapi header, on the DRM
and virtualization lists.
MSG

rm -rf "$out"
git format-patch -q --no-signature --notes -o "$out" base..HEAD
ls "$out"/*.patch
