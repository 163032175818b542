#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Install everything the build, the demo and the tests need on a Debian bookworm host.
# What it changes on the machine: the packages below, plus one apt source and its pin,
# bookworm-backports at priority 100, so that nothing installed is ever upgraded from it;
# only packages named with /bookworm-backports (meson, python3-pycotap) come from there.
# QEMU's source package comes from trixie through a private apt configuration under the
# cache (scripts/qemu/apt-trixie.sh), never through the system's sources.
# Idempotent: a second run with everything present does no network access at all.
set -euo pipefail

packages=(
    # QEMU build
    gcc make ninja-build pkgconf python3-venv flex bison ccache dpkg-dev xz-utils
    libglib2.0-dev zlib1g-dev libpixman-1-dev libepoxy-dev libpng-dev libslirp-dev libfdt-dev
    libspice-server-dev libspice-protocol-dev gcc-multilib seabios ipxe-qemu
    # guest kernel, module and initramfs
    gcc-12 dwarves kmod busybox-static cpio dkms
    # the debug guest kernel, built from source (tests/guest/debug-kernel.sh)
    bc libelf-dev
    # the Debian guest disk (tests/guest/disk-image.sh): debootstrap, sfdisk
    debootstrap fdisk
    # real clients used by the tests
    gvncviewer spice-client-gtk edid-decode
    # a D-Bus display client for the multi-monitor test: a private bus, gdbus calls
    dbus-daemon libglib2.0-bin
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
sources=/etc/apt/sources.list.d/virtio-desk.sources
prefs=/etc/apt/preferences.d/virtio-desk
want_sources='# Written by virtio-desk scripts/host-deps.sh: meson >= 1.5 and python3-pycotap.
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg'
want_prefs='Package: *
Pin: release n=bookworm-backports
Pin-Priority: 100'
# Older versions of this script wrote trixie and deb-src lines into the same
# file: any other content is replaced, and the lists refreshed to forget them.
current=1
[ "$(cat "$sources" 2>/dev/null)" = "$want_sources" ] || current=0
[ "$(cat "$prefs" 2>/dev/null)" = "$want_prefs" ] || current=0
[ $missing -eq 0 ] && [ $current -eq 1 ] && exit 0

export DEBIAN_FRONTEND=noninteractive
if [ $current -eq 0 ]; then
    printf '%s\n' "$want_sources" > "$sources"
    printf '%s\n' "$want_prefs" > "$prefs"
fi
apt-get update -q
[ $missing -eq 0 ] ||
    apt-get install -y -q --no-install-recommends "${packages[@]}" "${backports[@]}"
