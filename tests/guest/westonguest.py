# SPDX-License-Identifier: GPL-2.0
"""A guest that boots Debian's userland: the bookworm root of weston-root.sh
on a read-only AHCI ide-cd with a tmpfs overlay, Debian's 6.12 kernel, and an
initramfs of our own that mounts it.

The initramfs (busybox) loads the storage modules, mounts /dev/sr0 under an
overlay, copies in the kernel's display and input modules with virtio_desk.ko
(decompressed, depmod'ed) and the static test programs (/usr/local/bin), and
switch_roots to /sbin/desk-init: devpts, /run, a standalone systemd-udevd
that loads drivers by modalias, then the same serial shell loop as rig.py's
guests (@@READY@@, one line per command, @@DONE rc@@).  Works with
virtio-desk-pci, virtio-gpu-pci and bochs-display alike.

    python3 westonguest.py [-d DEVICE] LINE...   boot, run each line, print the output

Python 3 standard library only.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import rig

HERE = Path(__file__).resolve().parent
# Loaded by the initramfs to reach the root filesystem.
STORAGE = ["ahci", "sr_mod", "crc32c_generic", "ext4", "overlay"]
# Carried into the root for udev (with their dependencies).
DISPLAY = ["drm", "drm_kms_helper", "drm_shmem_helper", "virtio-gpu", "bochs", "evdev", "virtio_input"]

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/ttyS0 >/dev/ttyS0 2>&1
for m in $(cat /etc/storage); do modprobe $m || echo "initramfs: modprobe $m failed"; done
for i in $(seq 100); do [ -b /dev/sr0 ] && break; sleep 0.1; done
mkdir -p /lower /rw /newroot
mount -t ext4 -o ro,noload /dev/sr0 /lower || { echo "initramfs: cannot mount /dev/sr0"; poweroff -f; }
mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot
cp -a /lib/modules /newroot/lib/
mkdir -p /newroot/usr/local/bin
cp -a /progs/. /newroot/usr/local/bin/
cp /desk-init /newroot/sbin/desk-init
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/desk-init
"""

DESK_INIT = r"""#!/bin/sh
export PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /run/udev /run/user/0
chmod 700 /run/user/0
exec </dev/ttyS0 >/dev/ttyS0 2>&1
stty -echo 2>/dev/null
/lib/systemd/systemd-udevd --daemon
udevadm trigger --type=subsystems --action=add
udevadm trigger --type=devices --action=add
udevadm settle --timeout=60
echo "@@READY@@"
while IFS= read -r line; do
	eval "$line"
	echo "@@DONE $?@@"
done
poweroff -f
"""


def root_image():
    out = rig.run(["sh", str(HERE / "weston-root.sh")], stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def build(dkms=False):
    """Returns (kernel, initrd, root image)."""
    (rig.OUT / "build").mkdir(parents=True, exist_ok=True)
    t = time.time()
    img = root_image()
    kdir, krel = rig.fetch_kernel()
    ko = rig.build_module(kdir, krel)
    progs = rig.build_programs(kdir, krel)
    root = rig.OUT / "build/weston-initramfs"
    if root.exists():
        shutil.rmtree(root)
    for d in ["bin", "sbin", "etc", "proc", "sys", "dev", "progs"]:
        (root / d).mkdir(parents=True)
    shutil.copy(shutil.which("busybox") or "/bin/busybox", root / "bin/busybox")
    for p in progs:
        shutil.copy(p, root / "progs" / p.name)
    rig.modules_closure(kdir, krel, STORAGE + DISPLAY, root)
    mods = kdir / "root/lib/modules" / krel
    extra = root / "lib/modules" / krel / "extra"
    extra.mkdir(parents=True, exist_ok=True)
    shutil.copy(ko, extra / "virtio_desk.ko")
    for f in ["modules.order", "modules.builtin", "modules.builtin.modinfo"]:
        if (mods / f).exists():
            shutil.copy(mods / f, root / "lib/modules" / krel / f)
    rig.run(["depmod", "-b", str(root), krel])
    (root / "etc/storage").write_text("\n".join(STORAGE) + "\n")
    (root / "init").write_text(INIT)
    (root / "desk-init").write_text(DESK_INIT)
    (root / "init").chmod(0o755)
    (root / "desk-init").chmod(0o755)
    cpio = rig.OUT / "build/weston-initramfs.cpio"
    files = rig.run("cd '%s' && find . | LC_ALL=C sort" % root, shell=True, stdout=subprocess.PIPE).stdout
    with open(cpio, "wb") as fo:
        rig.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root, input=files, stdout=fo)
    rig.log("weston guest: root %s, initramfs %d KiB, build %.1f s"
            % (img.name, cpio.stat().st_size // 1024, time.time() - t))
    return kdir / "vmlinuz", cpio, img


def cdrom_args(img):
    """The root image as a read-only CD on the q35's AHCI controller (an
    ide-hd would cost ~32 s of SeaBIOS probing)."""
    return ["-drive", "file=%s,if=none,id=rootcd,media=cdrom,readonly=on,format=raw" % img,
            "-device", "ide-cd,drive=rootcd,bus=ide.0"]


class WestonGuest(rig.Guest):
    def __init__(self, name, kernel, initrd, img, device, append="", extra=(), trace=False, mem=None):
        extra = list(extra) + cdrom_args(img)
        if mem:
            extra += ["-m", str(mem)]
        rig.Guest.__init__(self, name, kernel, initrd, device, append=append, extra=extra, trace=trace)

    def boot(self, timeout=180):
        self.expect(r"@@READY@@", timeout)

    # Bookworm's weston 10 has no libseat: as root on tty1; socket wayland-1.
    START_WESTON = ("export XDG_RUNTIME_DIR=/run/user/0 WAYLAND_DISPLAY=wayland-1; "
                    "(weston --backend=drm-backend.so --use-pixman --tty=1 --socket=wayland-1 "
                    "--log=/tmp/weston.log </dev/null >/tmp/weston.out 2>&1 &); "
                    "for i in $(seq 600); do [ -S /run/user/0/wayland-1 ] && break; sleep 0.1; done; "
                    "[ -S /run/user/0/wayland-1 ]")

    def start_weston(self):
        """Start Weston (DRM backend, pixman) and wait for its socket:
        (status, output) of the shell line."""
        return self.sh(self.START_WESTON, 120)


def main(argv):
    device = "virtio-desk-pci"
    if argv[:1] == ["-d"]:
        device, argv = argv[1], argv[2:]
    kernel, initrd, img = build()
    g = WestonGuest("weston-exec", kernel, initrd, img, device, trace=os.environ.get("RIG_TRACE") == "1")
    try:
        t = time.time()
        g.boot()
        rig.log("booted in %.1f s" % (time.time() - t))
        rc = 0
        for line in argv:
            r, out = g.sh(line, timeout=600)
            print(out, end="")
            rc = rc or r
        return rc
    finally:
        g.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
