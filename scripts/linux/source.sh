#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's linux-source-6.12 tree, pristine, for the in-tree form of the
# guest driver (patch.sh, check-patch.sh): prints its directory,
#   $CACHE/linux-src/<VER>/linux
# VER is the argument, else the debug kernel's (tests/guest/debug-kernel.sh,
# the same 6.12.N as the guest kernel; that script builds the debug kernel
# when it is not cached yet, as scripts/test.sh does anyway).
#
# The tree is extracted once from the package (apt-get download, ~150 MB, a
# few seconds) and never written to afterwards: its users hard-link copy it
# (cp -al) and must only replace files in the copy, never rewrite them.  Each
# call checks that nothing in it changed since the extraction (mtime newer
# than the "ok" stamp, ~1 s) and extracts it afresh if something did.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
ver=${1:-}
if [ -z "$ver" ]; then
    dk=$(sh "$repo/tests/guest/debug-kernel.sh")
    ver=$(cat "$dk/version")
fi
top=$cache/linux-src/$ver
tree=$top/linux

intact() {
    [ -f "$top/ok" ] && [ -d "$tree" ] &&
        [ -z "$(find "$tree" -newer "$top/ok" -print -quit)" ]
}
if intact; then echo "$tree"; exit 0; fi

mkdir -p "$top"
exec 9> "$top/lock"
flock 9
if intact; then echo "$tree"; exit 0; fi
if [ -f "$top/ok" ]; then
    echo "linux-source: $tree was written to after its extraction" \
         "($(find "$tree" -newer "$top/ok" -print -quit)); extracting it again" >&2
fi
t0=$(date +%s)
rm -rf "$top/ok" "$tree" "$top/tmp"
mkdir -p "$top/tmp"
(cd "$top/tmp" && apt-get download -q "linux-source-6.12=$ver" >&2)
dpkg-deb --fsys-tarfile "$top"/tmp/linux-source-6.12_*.deb |
    tar -x -C "$top/tmp" ./usr/src/linux-source-6.12.tar.xz
tar -x -C "$top/tmp" -f "$top/tmp/usr/src/linux-source-6.12.tar.xz"
mv "$top/tmp/linux-source-6.12" "$tree"
rm -rf "$top/tmp"
echo "$ver" > "$top/version"
touch "$top/ok"
echo "linux-source: $ver extracted in $(( $(date +%s) - t0 )) s: $tree" >&2
echo "$tree"
