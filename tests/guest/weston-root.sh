#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# weston-root.sh: a Debian bookworm root filesystem for real display clients,
# built from Debian's .debs without installing anything on the host, as an ext4
# image for a read-only AHCI ide-cd (the guest puts a tmpfs overlay on it).
#
#   weston-root.sh            prints the image's path (builds it if needed)
#
# Contents: weston 10 (DRM backend, pixman renderer; weston-simple-shm and
# weston-terminal come with the package), modetest (libdrm-tests), drm_info,
# evtest, libinput-tools, a standalone systemd-udevd (package udev), kmod, a
# shell and coreutils.  Kernel modules are NOT in the image: the initramfs that
# boots it (westonguest.py) carries the kernel's display/input modules and
# virtio_desk.ko and copies them into the overlay, so a new module needs no new
# image.
#
# How: `apt-get install --download-only` against an empty dpkg status resolves
# the closure (no recommends) from the host's apt lists, bookworm candidates;
# `dpkg-deb -x` each package; /etc/passwd and /etc/group from base-passwd;
# `ldconfig -r`; `fc-cache` and `systemd-hwdb update` chrooted; `mke2fs -d`.
# The image is cached under $VIRTIO_DESK_CACHE/weston-root/ keyed by the
# exact list of .deb file names (and this script's contents): a warm run costs
# the apt resolution only (about a second).
#
# Environment: VIRTIO_DESK_CACHE (default ~/.cache/virtio-desk),
# WESTON_ROOT_EXTRA (more package names, space separated).
set -eu

CACHE=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
TOP=$CACHE/weston-root
PKGS="base-files base-passwd bash dash coreutils util-linux mount findutils grep sed gawk
      procps kmod udev libc-bin
      weston libdrm-tests drm-info evtest libinput-tools
      fontconfig fonts-dejavu-core xkb-data ${WESTON_ROOT_EXTRA:-}"

mkdir -p "$TOP/debs/partial" "$TOP/apt/none/partial"
: > "$TOP/apt/status"
APT="apt-get -q -o Dir::State::status=$TOP/apt/status
     -o Dir::State::extended_states=$TOP/apt/extended_states -o Debug::NoLocking=1
     -o APT::Install-Recommends=0 -o APT::Install-Suggests=0 -o APT::Default-Release=bookworm"

# --print-uris leaves out what the archive directory already holds: resolve
# against an empty one
# shellcheck disable=SC2086
$APT -o Dir::Cache::archives="$TOP/apt/none" install --print-uris -y -qq $PKGS > "$TOP/apt/uris" 2> "$TOP/apt/resolve.log" || {
	cat "$TOP/apt/resolve.log" >&2
	echo "weston-root.sh: cannot resolve the package closure (apt-get update?)" >&2
	exit 1
}
awk '{print $2}' "$TOP/apt/uris" | LC_ALL=C sort > "$TOP/apt/debs.list"
n=$(wc -l < "$TOP/apt/debs.list")
[ "$n" -gt 50 ] || { echo "weston-root.sh: only $n packages resolved" >&2; exit 1; }
key=$( (cat "$TOP/apt/debs.list"; cat "$0") | sha256sum | cut -c1-16)
img=$TOP/root-$key.ext4
if [ -s "$img" ]; then
	echo "$img"
	exit 0
fi

t0=$(date +%s)
echo "weston-root.sh: $n packages, building $img" >&2
# shellcheck disable=SC2086
$APT -o Dir::Cache::archives="$TOP/debs" install --download-only -y $PKGS > "$TOP/apt/download.log" 2>&1 || {
	tail -20 "$TOP/apt/download.log" >&2
	exit 1
}
root=$TOP/build-root
rm -rf "$root"
mkdir -p "$root"
while read -r deb; do
	dpkg-deb -x "$TOP/debs/$deb" "$root"
done < "$TOP/apt/debs.list"

cp "$root/usr/share/base-passwd/passwd.master" "$root/etc/passwd"
cp "$root/usr/share/base-passwd/group.master" "$root/etc/group"
# groups udev's rules name (systemd's sysusers would add them)
for g in input:101 kvm:102 render:103 sgx:104 systemd-journal:105; do
	grep -q "^${g%%:*}:" "$root/etc/group" || echo "${g%%:*}:x:${g#*:}:" >> "$root/etc/group"
done
echo "root::19000:0:99999:7:::" > "$root/etc/shadow"
echo guest > "$root/etc/hostname"
printf '127.0.0.1 localhost guest\n' > "$root/etc/hosts"
# the alternatives that postinsts would set up
[ -e "$root/usr/bin/awk" ] || ln -s gawk "$root/usr/bin/awk"
mkdir -p "$root/proc" "$root/sys" "$root/dev" "$root/run" "$root/tmp" "$root/root" \
	"$root/var/tmp" "$root/lib/modules"
chmod 1777 "$root/tmp" "$root/var/tmp"
# what dpkg's triggers and postinsts would have done
ldconfig -r "$root"
chroot "$root" /usr/bin/fc-cache -f >/dev/null 2>&1 || chroot "$root" fc-cache -f
if [ -x "$root/bin/systemd-hwdb" ] || [ -x "$root/usr/bin/systemd-hwdb" ]; then
	chroot "$root" systemd-hwdb update
else
	chroot "$root" udevadm hwdb --update
fi
cp "$TOP/apt/debs.list" "$root/etc/weston-root.debs"

kib=$(du -sk "$root" | cut -f1)
size=$(( (kib + kib / 5 + 65536) / 1024 ))M
rm -f "$img.tmp"
truncate -s "$size" "$img.tmp"
mke2fs -q -t ext4 -O ^has_journal -L westonroot -d "$root" "$img.tmp" "$size"
mv "$img.tmp" "$img"
rm -rf "$root"
# older images of this cache
for f in "$TOP"/root-*.ext4; do [ "$f" = "$img" ] || rm -f "$f"; done
echo "weston-root.sh: $img ($size, $(( $(date +%s) - t0 )) s)" >&2
echo "$img"
