#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# apt-get with a private configuration under $VIRTIO_DESK_CACHE/apt-trixie
# that knows only trixie's source packages: build.sh fetches Debian's QEMU
# 10.0 source from it, so the machine's own apt sources never learn about
# trixie.  Its lists, caches and locks live there too (not under /var), so
# it never waits for, nor blocks, the system's apt or dpkg.
#   apt-trixie.sh update
#   apt-trixie.sh source --download-only qemu/trixie   (in the target dir)
set -euo pipefail

cache=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
dir="$cache/apt-trixie"
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
# .sources: deb822, read as such by apt because of the extension
cat > "$dir/trixie.sources" <<'SRC'
# Written by virtio-desk scripts/qemu/apt-trixie.sh: QEMU 10.0's source package.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC

exec apt-get -q \
    -o Dir::Etc::sourcelist="$dir/trixie.sources" \
    -o Dir::Etc::sourceparts=- \
    -o Dir::State::Lists="$dir/lists" \
    -o Dir::Cache="$dir/cache" \
    "$@"
