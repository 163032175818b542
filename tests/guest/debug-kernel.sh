#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the debug guest kernel: Debian's own 6.12 source (linux-source-6.12,
# the version of the production kernel fetch-kernel.sh resolves if there is
# one, else the newest), configured from allnoconfig plus
# debug-kernel.config (KASAN, lockdep, debug objects, lockup detectors; DRM,
# virtio and evdev built in), bzImage + modules_prepare, so that
#   make -C <dir>/linux M=<module dir> CC=gcc-12 modules
# builds our module against it.  Nothing is installed on the host.
# Idempotent; cached by a hash of its inputs; prints the kernel dir last:
#   $CACHE/debug-kernel/<6.12.N>-<key>/{linux/, bzImage, krel, version, build.log, ok}
# Environment: VIRTIO_DESK_DEBUG_SRCVER=<linux-source-6.12 version> forces one;
# VIRTIO_DESK_KVER is honoured like fetch-kernel.sh does; JOBS (default 2).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SELF=$HERE/debug-kernel.sh
FRAG=$HERE/debug-kernel.config
CACHE=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
TOP=$CACHE/debug-kernel
JOBS=${JOBS:-2}
mkdir -p "$TOP"

# --- which source version -------------------------------------------------------
# apt-cache is slow (~0.5 s a call): its answer is remembered until the
# package lists change, so that the cached case costs no apt call at all.
lists_stamp() {
	# shellcheck disable=SC2012
	ls -l --time-style=+%s /var/lib/apt/lists/ 2>/dev/null | cksum | cut -d' ' -f1
}
resolve_prod() {	# the 6.12.N of the production kernel, like fetch-kernel.sh
	if [ -n "${VIRTIO_DESK_KVER:-}" ]; then
		echo "$VIRTIO_DESK_KVER"
	else
		apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12[.0-9]*-amd64-unsigned$' |
			sed -n 's/^linux-image-\(6\.12\.[^ ]*\)-amd64-unsigned .*/\1/p' | sort -V | tail -n 1
	fi | sed -n 's/^\(6\.12\.[0-9]*\).*/\1/p'
}
resolve_src() {
	avail=$(apt-cache madison linux-source-6.12 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}')
	prod=$(resolve_prod)
	# prefer bookworm(-security)'s ~deb12uN builds over backports' ~bpo12
	pats="~deb12 ."
	[ -z "$prod" ] || pats="^$prod-.*~deb12 ^$prod- $pats"
	set -f
	for pat in $pats; do
		v=$(printf '%s\n' "$avail" | grep -e "$pat" | sort -V | tail -n 1)
		[ -n "$v" ] && break
	done
	set +f
	echo "$v"
}
if [ -n "${VIRTIO_DESK_DEBUG_SRCVER:-}" ]; then
	VER=$VIRTIO_DESK_DEBUG_SRCVER
else
	memo=$TOP/resolved
	stamp="$(lists_stamp) ${VIRTIO_DESK_KVER:-}"
	VER=
	if [ -f "$memo" ] && [ "$(sed -n 1p "$memo")" = "$stamp" ]; then
		VER=$(sed -n 2p "$memo")
	fi
	if [ -z "$VER" ]; then
		VER=$(resolve_src)
		if [ -n "$VER" ]; then
			printf '%s\n%s\n' "$stamp" "$VER" > "$memo.$$" && mv "$memo.$$" "$memo"
		fi
	fi
	if [ -z "$VER" ]; then
		# no package lists (offline): the newest complete cached build
		# of these inputs
		for d in $(ls -d "$TOP"/6.12.*/ 2>/dev/null | sort -rV); do
			[ -f "$d/ok" ] && [ -f "$d/version" ] || continue
			v=$(cat "$d/version")
			k=$(printf '%s\n' "$v" | cat - "$FRAG" "$SELF" | sha256sum | cut -c1-12)
			[ "$(basename "$d")" = "$(echo "$v" | sed 's/-.*//')-$k" ] && { VER=$v; break; }
		done
	fi
fi
[ -n "$VER" ] || { echo "debug-kernel: no linux-source-6.12 package known to apt (apt-get update?)" >&2; exit 1; }

KEY=$(printf '%s\n' "$VER" | cat - "$FRAG" "$SELF" | sha256sum | cut -c1-12)
DIR=$TOP/$(echo "$VER" | sed 's/-.*//')-$KEY
if [ -f "$DIR/ok" ]; then echo "$DIR"; exit 0; fi

# --- build (one at a time) ----------------------------------------------------------
exec 9> "$TOP/lock"
flock 9
if [ -f "$DIR/ok" ]; then echo "$DIR"; exit 0; fi
t0=$(date +%s)
echo "debug-kernel: building linux-source-6.12 $VER in $DIR (log: $DIR/build.log)" >&2
mkdir -p "$DIR"
SRC=$DIR/linux
if [ ! -f "$DIR/extracted" ]; then
	rm -rf "$SRC" "$DIR/deb"
	mkdir -p "$DIR/deb"
	(cd "$DIR/deb" && apt-get download -q "linux-source-6.12=$VER" >&2)
	dpkg-deb -x "$DIR"/deb/linux-source-6.12_*.deb "$DIR/deb/x"
	tar -C "$DIR" -xf "$DIR/deb/x/usr/src/linux-source-6.12.tar.xz"
	mv "$DIR/linux-source-6.12" "$SRC"
	rm -rf "$DIR/deb"
	echo "$VER" > "$DIR/version"
	touch "$DIR/extracted"
fi

if command -v ccache > /dev/null && [ -d /usr/lib/ccache ]; then
	# in the cache directory, as QEMU's builds (scripts/qemu/build.sh)
	PATH=/usr/lib/ccache:$PATH
	CCACHE_DIR=$CACHE/ccache
	CCACHE_BASEDIR=$SRC
	CCACHE_NOHASHDIR=true
	export PATH CCACHE_DIR CCACHE_BASEDIR CCACHE_NOHASHDIR
fi
MK="make -C $SRC ARCH=x86_64 CC=gcc-12 HOSTCC=gcc-12 KBUILD_BUILD_USER=virtio-desk KBUILD_BUILD_HOST=debug"
{
	$MK KCONFIG_ALLCONFIG="$FRAG" allnoconfig
	# every line of the fragment must have come through (a dependency
	# it lacks makes Kconfig drop a symbol silently)
	bad=0
	while IFS= read -r l; do
		case $l in
		CONFIG_*=*) s=${l%%=*};;
		"# CONFIG_"*" is not set") s=${l#\# }; s=${s%% *};;
		*) continue;;
		esac
		if grep -qxF "$l" "$SRC/.config"; then continue; fi
		case $l in "#"*) grep -q "^$s=" "$SRC/.config" || continue;; esac
		echo "debug-kernel: $FRAG: '$l' did not stick: $(grep -E "^$s=|^# $s is" "$SRC/.config" || echo absent)" >&2
		bad=1
	done < "$FRAG"
	[ $bad -eq 0 ]
	nice -n 19 ionice -c 3 $MK -j"$JOBS" bzImage modules
	$MK modules_prepare
} > "$DIR/build.log" 2>&1 || {
	tail -n 40 "$DIR/build.log" >&2
	echo "debug-kernel: build failed, log: $DIR/build.log" >&2
	exit 1
}
$MK -s kernelrelease > "$DIR/krel"
cp "$SRC/arch/x86/boot/bzImage" "$DIR/bzImage"
cp "$SRC/.config" "$DIR/config"
# The objects are not needed any more (M= builds use the headers, the
# generated files, scripts/, tools/objtool and Module.symvers): drop them.
find "$SRC" \( -path "$SRC/scripts" -o -path "$SRC/tools" \) -prune -o \
	\( -name '*.o' -o -name '*.a' -o -name '.tmp_vmlinux*' \) -type f -print0 | xargs -0 rm -f
rm -f "$SRC/vmlinux.o"
t1=$(date +%s)
echo "debug-kernel: $(cat "$DIR/krel") built in $((t1 - t0)) s" >&2
touch "$DIR/ok"
echo "$DIR"
