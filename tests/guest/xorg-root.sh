#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# xorg-root.sh: a Debian bookworm root filesystem with Xorg for the X11 tests
# and benchmark (xorg_tests.py, bench/x11.py), as an ext4 image for the same
# read-only AHCI ide-cd boot as the Weston root.
#
#   xorg-root.sh              prints the image's path (builds it if needed)
#
# It is weston-root.sh, run with its own cache directory and more packages:
# that script already resolves a closure of Debian packages without
# recommends, extracts it, does what the postinsts would and caches the image
# keyed by the exact .deb list; it is not written to be sourced, and its
# WESTON_ROOT_EXTRA and VIRTIO_DESK_CACHE are the parameters it has.  The
# image therefore also holds everything of the Weston root (weston, modetest,
# drm_info, evtest, udev), plus:
#
#   xserver-xorg-core            Xorg 21.1 with its modesetting driver (glamor is
#                                not used: AccelMethod none, see xorgguest.py)
#   xserver-xorg-input-libinput  so that the VNC client's pointer moves X's cursor
#   x11-apps                     x11perf, xwd (X's own picture of the root window)
#   x11-xserver-utils            xrandr, xsetroot
#   x11-utils                    xdpyinfo, xwininfo
#   xterm
#   gzip                         to bring xwd's pictures to the host over the serial line
#
# The image lands in $VIRTIO_DESK_CACHE/xorg-root/weston-root/ (about 1 GiB;
# a first build downloads the closure once more into that directory, about
# 40 s; a warm run costs apt's resolution, a few seconds).
set -eu

CACHE=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
HERE=$(cd "$(dirname "$0")" && pwd)
VIRTIO_DESK_CACHE=$CACHE/xorg-root \
WESTON_ROOT_EXTRA="xserver-xorg-core xserver-xorg-input-libinput x11-apps x11-xserver-utils x11-utils xterm gzip ${XORG_ROOT_EXTRA:-}" \
	exec sh "$HERE/weston-root.sh"
