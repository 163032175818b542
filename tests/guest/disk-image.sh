#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# disk-image.sh: a Debian bookworm disk as a user installs it, for booting
# through the firmware and GRUB (virtio-blk or AHCI), and prints its path.
#
#   disk-image.sh            prints the raw disk image's path (builds it if needed)
#
# Two layers, each cached under $VIRTIO_DESK_CACHE/disk/ keyed by its inputs:
#
#  base-KEY/   debootstrap --variant=minbase bookworm from deb.debian.org,
#              then apt (no recommends) in the chroot: systemd, udev, Debian's
#              6.12 kernel and its headers as packages (the release
#              fetch-kernel.sh resolves), initramfs-tools, GRUB for BIOS,
#              weston 10 (weston-terminal), dkms.  KEY: this script's base
#              section, the kernel release and the package list.  ~10 min cold.
#  disk-KEY.img  the base plus the configuration below, with
#              virtio-desk-dkms_*.deb (guest-driver/mkdeb.sh) installed by
#              `apt-get install ./….deb` in the chroot, so DKMS builds the
#              module for the installed kernel; ext4 in an MBR partition, GRUB's
#              boot.img and core.img on the disk (grub-mkimage, and what
#              grub-bios-setup would write).  KEY: the base key, this script and the .deb.
#              ~1 min from a warm base.
#
# The configuration: root on LABEL=deskroot, console on tty0 and ttyS0
# (GRUB's too), root without a password and logged in on ttyS0 (the tests'
# shell), weston.service (root, --tty=1, DRM backend) started by udev when a
# DRM device appears, with weston-terminal as its autolaunched client, the
# .deb kept in /root.
#
# Concurrent calls wait for each other (flock on $TOP/lock).
#
# Environment: VIRTIO_DESK_CACHE (default ~/.cache/virtio-desk),
# VIRTIO_DESK_MIRROR (default http://deb.debian.org/debian).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
TOP=$CACHE/disk
MIRROR=${VIRTIO_DESK_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$TOP/debs"
# one build at a time: scripts/test.sh starts one early in the background,
# the guest tests' call then waits for it and finds the image cached
exec 9> "$TOP/lock"
flock 9

KREL=$(basename "$(sh "$HERE/fetch-kernel.sh")")
PKGS="systemd-sysv udev kmod procps less initramfs-tools
      linux-image-$KREL-unsigned linux-headers-$KREL
      grub-pc-bin grub2-common
      weston fonts-dejavu-core xkb-data libdrm-tests evtest
      dkms"

# The mounts a chroot needs for apt, DKMS and update-initramfs; undone on exit.
MOUNTED=""
chroot_mounts() {
	for m in proc sys dev dev/pts; do
		mount --bind "/$m" "$1/$m"
		MOUNTED="$1/$m $MOUNTED"
	done
}
cleanup() {
	for m in $MOUNTED; do umount -l "$m" 2>/dev/null || true; done
	MOUNTED=""
}
trap cleanup EXIT INT TERM

# --- base layer --------------------------------------------------------------
# (everything from here to "end of base layer" is the base key's script)
build_base() {
	root=$1
	debootstrap --variant=minbase --cache-dir="$TOP/debs" bookworm "$root" "$MIRROR" \
		> "$TOP/debootstrap.log" 2>&1 || {
		tail -20 "$TOP/debootstrap.log" >&2
		return 1
	}
	cat > "$root/etc/apt/sources.list" <<SRC
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SRC
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	chroot_mounts "$root"
	# no services start inside the chroot
	printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	# shellcheck disable=SC2086
	chroot "$root" sh -c "export DEBIAN_FRONTEND=noninteractive
		apt-get -q update &&
		apt-get -q -y -o APT::Install-Recommends=0 install $(echo $PKGS) &&
		apt-get clean" > "$TOP/apt.log" 2>&1 || {
		tail -30 "$TOP/apt.log" >&2
		return 1
	}
	rm -f "$root/usr/sbin/policy-rc.d"
	cleanup
}
# --- end of base layer -------------------------------------------------------

base_key=$( (sed -n '/^# --- base layer/,/^# --- end of base layer/p' "$0"; echo "$KREL $PKGS") |
	sha256sum | cut -c1-16)
base=$TOP/base-$base_key
if [ ! -f "$base.ok" ]; then
	t0=$(date +%s)
	echo "disk-image.sh: building the bookworm base $base (debootstrap + apt)" >&2
	rm -rf "$base" "$base.ok"
	mkdir -p "$base"
	build_base "$base"
	touch "$base.ok"
	for d in "$TOP"/base-*; do
		case $d in "$base"|"$base.ok") ;; *) rm -rf "$d";; esac
	done
	echo "disk-image.sh: base built in $(( $(date +%s) - t0 )) s" >&2
fi

# --- disk layer ----------------------------------------------------------------
deb=$(sh "$HERE/../../guest-driver/mkdeb.sh" "$TOP/deb")
key=$( (echo "$base_key"; cat "$0"; sha256sum < "$deb") | sha256sum | cut -c1-16)
img=$TOP/disk-$key.img
if [ -s "$img" ]; then
	echo "$img"
	exit 0
fi

t0=$(date +%s)
echo "disk-image.sh: building $img" >&2
root=$TOP/work-root
rm -rf "$root"
cp -a "$base" "$root"

echo desk > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 desk\n' > "$root/etc/hosts"
printf 'LABEL=deskroot / ext4 errors=remount-ro 0 1\n' > "$root/etc/fstab"
# root without a password (a test and demo machine)
chroot "$root" passwd -d root > /dev/null
mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'UNIT'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 - $TERM
UNIT
cat > "$root/etc/systemd/system/weston.service" <<'UNIT'
[Unit]
Description=Weston desktop on tty1
Documentation=man:weston(1)
After=systemd-user-sessions.service
Conflicts=getty@tty1.service
ConditionPathExists=/dev/tty1

[Service]
# bookworm's weston 10 has no libseat: as root it opens the tty and the
# DRM device itself (launcher-direct)
Environment=XDG_RUNTIME_DIR=/run/weston HOME=/root
RuntimeDirectory=weston
RuntimeDirectoryMode=0700
# the pixman renderer: no GL driver for a 2D device
ExecStart=/usr/bin/weston --tty=1 --use-pixman --log=/var/log/weston.log
Restart=on-failure
RestartSec=5
UNIT
# started when a display driver's DRM device appears (at boot, or when the
# module is installed later), so without one tty1 keeps its text console
cat > "$root/etc/udev/rules.d/71-weston.rules" <<'RULE'
SUBSYSTEM=="drm", KERNEL=="card[0-9]*", TAG+="systemd", ENV{SYSTEMD_WANTS}+="weston.service"
RULE
mkdir -p "$root/etc/xdg/weston"
cat > "$root/etc/xdg/weston/weston.ini" <<'INI'
[core]
idle-time=0
require-input=false

[shell]
locking=false
panel-position=top
# a plain background (no image: desktop-shell fills it with the colour), so
# that tests can tell the desktop and Weston's cursor on it
background-image=
background-color=0xff002244

[autolaunch]
path=/usr/bin/weston-terminal
INI
chroot "$root" systemctl -q set-default graphical.target

# the guest module as a user installs it: apt and DKMS, in the chroot
cp "$deb" "$root/root/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot_mounts "$root"
chroot "$root" sh -c "DEBIAN_FRONTEND=noninteractive apt-get -q -y install /root/$(basename "$deb")" \
	> "$TOP/dkms-install.log" 2>&1 || {
	tail -30 "$TOP/dkms-install.log" >&2
	exit 1
}
chroot "$root" dkms status > "$TOP/dkms-status.log"
grep -q "virtio-desk/.*$KREL.*installed" "$TOP/dkms-status.log" || {
	cat "$TOP/dkms-install.log" "$TOP/dkms-status.log" >&2
	echo "disk-image.sh: DKMS did not install virtio-desk for $KREL" >&2
	exit 1
}

# GRUB for BIOS, as grub-install does it: modules in /boot/grub/i386-pc,
# core.img in the gap after the MBR, boot.img in the MBR
mkdir -p "$root/boot/grub/i386-pc"
cp "$root"/usr/lib/grub/i386-pc/*.mod "$root"/usr/lib/grub/i386-pc/*.lst \
	"$root"/usr/lib/grub/i386-pc/boot.img "$root/boot/grub/i386-pc/"
chroot "$root" grub-mkimage -O i386-pc -o /boot/grub/i386-pc/core.img \
	-p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2
cat > "$root/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_input console serial
terminal_output console serial
set timeout=5
set default=0
menuentry 'Debian GNU/Linux 12 (bookworm), Linux $KREL' {
	insmod part_msdos
	insmod ext2
	search --no-floppy --label --set=root deskroot
	set gfxpayload=text
	echo 'Loading Linux $KREL ...'
	linux /boot/vmlinuz-$KREL root=LABEL=deskroot ro console=tty0 console=ttyS0,115200 mitigations=off
	echo 'Loading initial ramdisk ...'
	initrd /boot/initrd.img-$KREL
}
CFG
cleanup
rm -f "$root/etc/resolv.conf"

# the disk: MBR, one bootable ext4 partition from 1 MiB
kib=$(du -sk "$root" | cut -f1)
part_mib=$(( (kib + kib / 4 + 262144) / 1024 ))
rm -f "$img.tmp" "$img.part"
truncate -s "${part_mib}M" "$img.part"
mke2fs -q -t ext4 -L deskroot -d "$root" "$img.part"
truncate -s "$(( part_mib + 1 ))M" "$img.tmp"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$img.tmp"
dd if="$img.part" of="$img.tmp" bs=1M seek=1 conv=notrunc,sparse status=none
rm -f "$img.part"
# what grub-bios-setup writes for a core.img embedded after the MBR (it
# will not run on an image file): boot.img's code in the MBR, before the
# partition table, and core.img from sector 1.  boot.img loads sector 1
# (its default kernel_sector) and core.img's first sector the rest from
# sector 2 (diskboot.img's default blocklist; grub-mkimage set its length).
core=$root/boot/grub/i386-pc/core.img
[ "$(stat -c %s "$core")" -lt $(( 2047 * 512 )) ] || { echo "disk-image.sh: core.img too big" >&2; exit 1; }
dd if="$root/boot/grub/i386-pc/boot.img" of="$img.tmp" bs=440 count=1 conv=notrunc status=none
dd if="$core" of="$img.tmp" bs=512 seek=1 conv=notrunc status=none
rm -rf "$root"
mv "$img.tmp" "$img"
for f in "$TOP"/disk-*.img "$TOP"/disk-*.img.tmp; do [ "$f" = "$img" ] || rm -f "$f"; done
echo "disk-image.sh: $img (${part_mib} MiB, $(( $(date +%s) - t0 )) s)" >&2
echo "$img"
