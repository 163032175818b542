#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install everything the build, the demo and the tests need on a Debian bookworm host.
# Adds deb-src plus the trixie and bookworm-backports suites, pinned at priority 100 so that
# nothing already installed is upgraded from them; only packages named with /suite come from
# there.  Idempotent: a second run with everything present does no network access at all.
set -euo pipefail

packages=(
    # QEMU build
    gcc make ninja-build pkgconf python3-venv flex bison ccache dpkg-dev xz-utils
    libglib2.0-dev zlib1g-dev libpixman-1-dev libepoxy-dev libpng-dev libslirp-dev libfdt-dev
    libspice-server-dev libspice-protocol-dev gcc-multilib seabios ipxe-qemu
    # guest kernel, module and initramfs
    gcc-12 dwarves kmod busybox-static cpio dkms
    # real clients used by the tests
    gvncviewer spice-client-gtk
    # fuzzing and sanitizers (scripts/fuzz.sh)
    clang libclang-rt-14-dev
    # the libvirt test (tests/libvirt/): a real libvirtd, started by hand
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
)
backports=(meson/bookworm-backports python3-pycotap/bookworm-backports)

# "package" or "package>=version": what counts as already there
have() {
    local name=${1%%>=*} min= ver
    [ "$name" != "$1" ] && min=${1#*>=}
    ver=$(dpkg-query -W -f='${Status} ${Version}\n' "$name" 2>/dev/null |
          awk '/install ok installed/ {print $4}')
    [ -n "$ver" ] && { [ -z "$min" ] || dpkg --compare-versions "$ver" ge "$min"; }
}
missing=0
for p in "${packages[@]}" meson'>=1.5' python3-pycotap'>=1.3'; do
    have "$p" || missing=1
done
[ $missing -eq 0 ] && [ -e /etc/apt/sources.list.d/virtio-desk.sources ] && exit 0

cat > /etc/apt/sources.list.d/virtio-desk.sources <<'SRC'
# Written by virtio-desk scripts/host-deps.sh: QEMU 10.0 sources and newer meson.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: trixie bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
cat > /etc/apt/preferences.d/virtio-desk <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100
PIN

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${packages[@]}" "${backports[@]}"
