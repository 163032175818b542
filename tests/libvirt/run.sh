#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# virtio-desk under a real libvirtd: boots docs/examples/virtio-desk-domain.xml
# with virsh, checks the display over VNC/SPICE and keys from virsh send-key
# in the guest, then removes the domain and stops the daemons.  Last line:
# "N passed, N failed"; non-zero exit on any failure.  Needs root.
#   QEMU=...               QEMU binary (default: the project's build in the cache)
#   VIRTIO_DESK_CACHE=...  cache dir (default ~/.cache/virtio-desk)
#   run.sh --screenshots   also write docs/images/virtio-desk-*.png
#
# libvirtd and virtlogd run in a private mount namespace (unshare -m) in which
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt and
# /var/cache/libvirt are folders of the cache: a libvirt the machine may
# already run is neither seen nor touched, and nothing stays behind.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" != 0 ]; then
    echo "tests/libvirt/run.sh must run as root (libvirtd in qemu:///system mode)"
    echo "0 passed, 1 failed"
    exit 1
fi
# its own build folder, so that it can run next to tests/guest/run.sh
export VIRTIO_DESK_GUEST_OUT="${VIRTIO_DESK_GUEST_OUT:-${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}/libvirt-out}"
if ! unshare --mount --propagation private true 2>/dev/null; then
    echo "tests/libvirt/run.sh: cannot create a mount namespace (unshare -m needs CAP_SYS_ADMIN)"
    echo "0 passed, 1 failed"
    exit 1
fi
export VIRTIO_DESK_LIBVIRT_NS=1
exec unshare --mount --propagation private /usr/bin/python3 "$HERE/libvirt_test.py" "$@"
