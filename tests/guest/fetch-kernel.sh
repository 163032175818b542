#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's 6.12 kernel (image, headers, kbuild) into the cache without
# installing anything.  Idempotent.  Prints the path of the kernel dir.
#   $CACHE/kernel/<release>/{root/ (extracted packages), vmlinuz, krel, ok}
set -eu
CACHE=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
mkdir -p "$CACHE/kernel"

# Resolve the newest 6.12 amd64 flavour that apt knows about.
resolve() {
	apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12[.0-9]*-amd64-unsigned$' |
		sed -n 's/^linux-image-\(6\.12\.[^ ]*\)-amd64-unsigned .*/\1/p' | sort -V | tail -n 1
}
if [ -n "${VIRTIO_DESK_KVER:-}" ]; then
	KVER=$VIRTIO_DESK_KVER
else
	KVER=$(resolve)
	if [ -z "$KVER" ] && [ -z "$(ls "$CACHE/kernel" 2>/dev/null)" ]; then
		# no package lists yet (fresh machine)
		apt-get update -q >&2 || true
		KVER=$(resolve)
	fi
	if [ -z "$KVER" ]; then
		# No package lists yet, or nothing found: fall back to the newest cached one.
		KVER=$(ls "$CACHE/kernel" 2>/dev/null | sed -n 's/-amd64$//p' | sort -V | tail -n 1)
	fi
fi
[ -n "$KVER" ] || { echo "fetch-kernel: cannot resolve a linux-image-6.12.*-amd64-unsigned package (apt-get update?)" >&2; exit 1; }
KREL=$KVER-amd64
DIR=$CACHE/kernel/$KREL
if [ -f "$DIR/ok" ]; then echo "$DIR"; exit 0; fi

rm -rf "$DIR.tmp"
mkdir -p "$DIR.tmp/debs" "$DIR.tmp/root"
KB=$(echo "$KVER" | sed 's/^\(6\.12\.[0-9]*\).*/\1/')
(
	cd "$DIR.tmp/debs"
	apt-get download -q \
		"linux-image-$KREL-unsigned" \
		"linux-headers-$KREL" \
		"linux-headers-$KVER-common" \
		"linux-kbuild-$KVER" >&2 || {
		# linux-kbuild is sometimes named by the short upstream version
		apt-get download -q "linux-image-$KREL-unsigned" "linux-headers-$KREL" \
			"linux-headers-$KVER-common" "linux-kbuild-$KB" >&2
	}
)
for d in "$DIR.tmp"/debs/*.deb; do dpkg-deb -x "$d" "$DIR.tmp/root"; done
R=$DIR.tmp/root
# The amd64 headers include the -common tree and kbuild by absolute paths.
HD=$R/usr/src/linux-headers-$KREL
sed -i "s|/usr/src/|$DIR/root/usr/src/|g" "$HD/Makefile"
# scripts/ and tools/ are relative symlinks into usr/lib/linux-kbuild-*: they
# keep working.  Make absolute ones (if a version has them) point inside.
for l in $(find "$R/usr/src" -maxdepth 2 -type l); do
	t=$(readlink "$l")
	case $t in /*) ln -sfn "$DIR/root$t" "$l";; esac
done
cp "$R/boot/vmlinuz-$KREL" "$DIR.tmp/vmlinuz"
echo "$KREL" > "$DIR.tmp/krel"
rm -rf "$DIR.tmp/debs"
rm -rf "$DIR"
mv "$DIR.tmp" "$DIR"
touch "$DIR/ok"
echo "$DIR"
