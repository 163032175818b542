#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mkdeb.sh OUTDIR: build virtio-desk-dkms_<version>_all.deb from this
# directory and print its path.  The package holds the `make dkms-src` tree in
# /usr/src/virtio-desk-<version>/ and the maintainer scripts dh-dkms writes:
# postinst runs DKMS's common.postinst (dkms add, build and install for the
# installed kernels that have headers), prerm runs `dkms remove --all`.  So
# `apt install ./virtio-desk-dkms_*.deb` builds the module the way any DKMS
# package does, and a kernel installed later gets it through DKMS's kernel
# hook.  Needs make and dpkg-deb only (dkms itself is the package's
# dependency, in the guest).
set -eu

src=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: mkdeb.sh OUTDIR}
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"$/\1/p' "$src/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$src/dkms.conf")
[ -n "$name" ] && [ -n "$ver" ] || { echo "mkdeb.sh: no name/version in dkms.conf" >&2; exit 1; }
deb=$out/$name-dkms_${ver}_all.deb

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"
make -s -C "$src" dkms-src DESTDIR="$stage/usr/src/$name-$ver"
mkdir -p "$stage/DEBIAN" "$stage/usr/share/doc/$name-dkms"
cp "$src/README.md" "$stage/usr/share/doc/$name-dkms/"
cat > "$stage/DEBIAN/control" <<CTL
Package: $name-dkms
Version: $ver
Architecture: all
Section: kernel
Priority: optional
Maintainer: virtio-desk developers <virtio-desk@localhost>
Depends: dkms (>= 3.0)
Installed-Size: $(du -sk "$stage/usr" | cut -f1)
Description: virtio-desk guest driver (DKMS source)
 The Linux KMS, fbdev console and input driver (module virtio_desk) for
 QEMU's virtio-desk-pci and virtio-desk-vga paravirtual desktop devices.
 DKMS builds it for every installed kernel that has its headers.
CTL
cat > "$stage/DEBIAN/postinst" <<POST
#!/bin/sh
set -e
case "\$1" in
configure)
	/usr/lib/dkms/common.postinst $name $ver "" "" "\$2"
	;;
esac
POST
cat > "$stage/DEBIAN/prerm" <<PRERM
#!/bin/sh
set -e
case "\$1" in
remove|upgrade|deconfigure)
	if [ -n "\$(dkms status -m $name -v $ver)" ]; then
		dkms remove -m $name -v $ver --all
	fi
	;;
esac
PRERM
chmod 755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm"
# the same bytes for the same sources: fixed times, sorted by dpkg-deb
find "$stage" -exec touch -h -d @0 {} +
mkdir -p "$out"
SOURCE_DATE_EPOCH=0 dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
