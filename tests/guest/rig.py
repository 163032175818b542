# SPDX-License-Identifier: GPL-2.0
"""Guest test rig: build the guest (kernel from Debian, our module, test
programs, initramfs) and drive QEMU guests over serial and QMP.

Python 3 standard library only.
"""

import json
import lzma
import os
import re
import signal
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import rfb

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("VIRTIO_DESK_CACHE", Path.home() / ".cache/virtio-desk"))
QEMU = Path(os.environ.get("QEMU", CACHE / "qemu-10.0.13/build/qemu-system-x86_64"))
OUT = Path(os.environ.get("VIRTIO_DESK_GUEST_OUT", CACHE / "guest-out"))
CC = os.environ.get("GUEST_CC", "gcc-12")

# Kernel modules the initramfs carries (dependencies are added).
WANT_MODULES = ["drm", "drm_kms_helper", "drm_shmem_helper", "evdev", "virtio-gpu", "virtio_blk"]
# Loaded by /init before the display driver (like an initramfs would).
PRELOAD = ["drm", "drm_kms_helper", "drm_shmem_helper", "evdev"]


def log(*a):
    print("[rig]", *a, flush=True)


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)


# --- build -------------------------------------------------------------------


def fetch_kernel():
    out = run([str(HERE / "fetch-kernel.sh")], stdout=subprocess.PIPE, text=True).stdout
    kdir = Path(out.strip().splitlines()[-1])
    krel = (kdir / "krel").read_text().strip()
    return kdir, krel


def build_module(kdir, krel, tree=None, out=None):
    """tree: the kernel tree to build against (default: Debian's headers in
    kdir); out: where (default OUT/build), the module in out/driver."""
    src = (out or OUT / "build") / "driver"
    if src.exists():
        shutil.rmtree(src)
    run(["make", "-s", "-C", str(REPO / "guest-driver"), "dkms-src", "DESTDIR=" + str(src)],
        stdout=subprocess.DEVNULL)
    hdr = tree or kdir / "root/usr/src" / ("linux-headers-" + krel)
    run(["make", "-s", "-C", str(src), "KDIR=" + str(hdr), "CC=" + CC, "modules"])
    return src / "virtio_desk.ko"


def build_programs(kdir, krel):
    common = next((kdir / "root/usr/src").glob("linux-headers-*-common"))
    progs = []
    # every *.c but the shared kmslib.c is a program; kmslib.c is linked into each
    lib = HERE / "kmslib.c"
    for c in sorted(HERE.glob("*.c")):
        if c == lib:
            continue
        exe = OUT / "build" / c.stem
        run([CC, "-static", "-O2", "-Wall", "-D__user=", "-idirafter", str(common / "include/uapi"),
             "-ffunction-sections", "-Wl,--gc-sections", "-o", str(exe), str(c), str(lib)])
        progs.append(exe)
    return progs


def ko_depends(data):
    m = re.search(rb"\0depends=([^\0]*)\0", b"\0" + data)
    if not m or not m.group(1):
        return []
    return m.group(1).decode().split(",")


INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /tmp
exec </dev/ttyS0 >/dev/ttyS0 2>&1
stty -echo 2>/dev/null
# hibernation: virtio_blk is a module, so the swap disk named by
# vdesk.swap= goes to /sys/power/resume here (the kernel's resume= cannot);
# with an image on it this write does not return, the image runs instead
for a in $(cat /proc/cmdline); do
	case $a in vdesk.swap=*)
		modprobe virtio_blk
		d=/sys/block/${a#vdesk.swap=}/dev
		for i in 1 2 3 4 5 6 7 8 9 10; do [ -e $d ] && break; sleep 0.1; done
		cat $d > /sys/power/resume;;
	esac
done
for m in $(cat /etc/preload); do modprobe $m; done
# what udev would do: load drivers by modalias
for a in /sys/bus/virtio/devices/*/modalias; do [ -f "$a" ] && modprobe "$(cat $a)"; done
echo "@@READY@@"
while IFS= read -r line; do
	eval "$line"
	echo "@@DONE $?@@"
done
poweroff -f
"""


def modules_closure(kdir, krel, names, dst_root):
    """Copy the kernel modules names and all they depend on, decompressed,
    into dst_root/lib/modules/krel (built-in ones need nothing)."""
    mods = kdir / "root/lib/modules" / krel
    index = {}
    for f in (mods / "kernel").rglob("*.ko*"):
        index[f.name.split(".ko")[0].replace("-", "_")] = f
    todo = [m.replace("-", "_") for m in names]
    done = set()
    while todo:
        m = todo.pop()
        if m in done:
            continue
        done.add(m)
        f = index.get(m)
        if f is None:  # built into this kernel
            continue
        data = f.read_bytes()
        if f.name.endswith(".xz"):
            data = lzma.decompress(data)
        dst = dst_root / "lib/modules" / krel / f.relative_to(mods).parent / f.name.replace(".xz", "")
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(data)
        todo += [d.replace("-", "_") for d in ko_depends(data) if d]


def build_initramfs(kdir, krel, ko, progs, tree=None, out=None):
    """tree: a built kernel tree with every module in WANT_MODULES built in
    (the debug kernel): no modules from kdir, its modules.builtin*; out:
    where (default OUT/build), out/initramfs and out/initramfs.cpio."""
    out = out or OUT / "build"
    root = out / "initramfs"
    if root.exists():
        shutil.rmtree(root)
    for d in ["bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "root"]:
        (root / d).mkdir(parents=True)
    bb = shutil.which("busybox") or "/bin/busybox"
    shutil.copy(bb, root / "bin/busybox")
    for p in progs:
        shutil.copy(p, root / "bin" / p.name)
    if tree is None:
        mods = kdir / "root/lib/modules" / krel
        modules_closure(kdir, krel, WANT_MODULES, root)
    else:
        mods = tree
    extra = root / "lib/modules" / krel / "extra"
    extra.mkdir(parents=True, exist_ok=True)
    shutil.copy(ko, extra / "virtio_desk.ko")
    for f in ["modules.order", "modules.builtin", "modules.builtin.modinfo"]:
        if (mods / f).exists():
            shutil.copy(mods / f, root / "lib/modules" / krel / f)
    run(["depmod", "-b", str(root), krel])
    if DKMS.get("ko") and tree is None:
        dst = root / DKMS_KO.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DKMS["ko"], dst)
    (root / "etc/preload").write_text("\n".join(PRELOAD) + "\n")
    (root / "init").write_text(INIT)
    (root / "init").chmod(0o755)
    cpio = out / "initramfs.cpio"
    files = run("cd '%s' && find . | LC_ALL=C sort" % root, shell=True, stdout=subprocess.PIPE).stdout
    with open(cpio, "wb") as fo:
        run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root, input=files, stdout=fo)
    return cpio


# What build_dkms() gave: {"ko": Path} or {"error": str}.
DKMS = {}
DKMS_KO = "/root/dkms/virtio_desk.ko"  # where the initramfs carries it


def build_dkms(kdir, krel):
    """The distro path: `dkms add` and `dkms build` of a `make dkms-src` tree
    with guest-driver/dkms.conf, for the extracted kernel headers
    (--kernelsourcedir), in a private DKMS tree: nothing on the host changes.
    Returns the module DKMS built."""
    top = OUT / "build/dkms"
    if top.exists():
        shutil.rmtree(top)
    src = top / "src"
    for d in ("src", "tree", "install"):
        (top / d).mkdir(parents=True)
    run(["make", "-s", "-C", str(REPO / "guest-driver"), "dkms-src",
         "DESTDIR=" + str(src / "virtio-desk-1.0")], stdout=subprocess.DEVNULL)
    trees = ["--dkmstree", str(top / "tree"), "--sourcetree", str(src),
             "--installtree", str(top / "install")]
    hdr = kdir / "root/usr/src" / ("linux-headers-" + krel)
    out = ""
    for cmd in (["add", "-m", "virtio-desk", "-v", "1.0"],
                ["build", "-m", "virtio-desk", "-v", "1.0", "-k", krel, "--kernelsourcedir", str(hdr)]):
        r = run(["dkms"] + cmd + trees, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out += "$ dkms %s\n%s" % (" ".join(cmd), r.stdout)
        if r.returncode:
            raise RuntimeError("dkms %s failed (%d):\n%s" % (cmd[0], r.returncode, out[-3000:]))
    (top / "dkms.log").write_text(out)
    kos = list((top / "tree/virtio-desk/1.0" / krel).glob("*/module/virtio_desk.ko*"))
    if len(kos) != 1:
        raise RuntimeError("dkms built %s:\n%s" % (kos, out[-3000:]))
    return kos[0]


def build_all(dkms=False):
    """dkms: also build the module with DKMS (result in DKMS), carried in the
    initramfs as DKMS_KO."""
    (OUT / "build").mkdir(parents=True, exist_ok=True)
    t = time.time()
    kdir, krel = fetch_kernel()
    log("kernel", krel)
    ko = build_module(kdir, krel)
    log("module", ko)
    DKMS.clear()
    if dkms:
        try:
            if not shutil.which("dkms"):
                raise RuntimeError("dkms is not installed (apt-get install --no-install-recommends dkms)")
            DKMS["ko"] = build_dkms(kdir, krel)
            log("dkms module", DKMS["ko"])
        except Exception as e:  # noqa: BLE001  the dkms test reports it
            DKMS["error"] = str(e)
            log("dkms build failed:", e)
    progs = build_programs(kdir, krel)
    cpio = build_initramfs(kdir, krel, ko, progs)
    log("initramfs %s (%d KiB), build %.1f s" % (cpio, cpio.stat().st_size // 1024, time.time() - t))
    return kdir / "vmlinuz", cpio


def debug_kernel():
    """tests/guest/debug-kernel.sh: (its dir, the tree, krel)."""
    out = run([str(HERE / "debug-kernel.sh")], stdout=subprocess.PIPE, text=True).stdout
    ddir = Path(out.strip().splitlines()[-1])
    return ddir, ddir / "linux", (ddir / "krel").read_text().strip()


def build_debug():
    """Like build_all(), for the debug kernel (debug-kernel.sh: KASAN,
    lockdep, ...; DRM, virtio and evdev built in): our module built against
    its tree, the same programs, an initramfs of its own in OUT/build/debug
    (build_all's stays).  Returns (bzImage, initramfs)."""
    out = OUT / "build/debug"
    out.mkdir(parents=True, exist_ok=True)
    t = time.time()
    ddir, tree, krel = debug_kernel()
    log("debug kernel", krel, ddir)
    ko = build_module(None, krel, tree=tree, out=out)
    log("module", ko)
    kdir, pkrel = fetch_kernel()  # the programs use the uapi headers of Debian's
    progs = build_programs(kdir, pkrel)
    cpio = build_initramfs(None, krel, ko, progs, tree=tree, out=out)
    log("initramfs %s (%d KiB), build %.1f s" % (cpio, cpio.stat().st_size // 1024, time.time() - t))
    return ddir / "bzImage", cpio


# --- images ------------------------------------------------------------------


class Image:
    """RGB, 8 bits per channel."""

    def __init__(self, w, h, data):
        assert len(data) == w * h * 3, (w, h, len(data))
        self.w, self.h, self.data = w, h, bytes(data)

    def px(self, x, y):
        i = (y * self.w + x) * 3
        return tuple(self.data[i:i + 3])

    def diff(self, other, max_report=5):
        """None if equal, else a short description."""
        if (self.w, self.h) != (other.w, other.h):
            return "size %dx%d != %dx%d" % (self.w, self.h, other.w, other.h)
        if self.data == other.data:
            return None
        bad = []
        n = 0
        row = self.w * 3
        for y in range(self.h):
            a, b = self.data[y * row:(y + 1) * row], other.data[y * row:(y + 1) * row]
            if a == b:
                continue
            for x in range(self.w):
                if a[x * 3:x * 3 + 3] != b[x * 3:x * 3 + 3]:
                    n += 1
                    if len(bad) < max_report:
                        bad.append("(%d,%d) %s!=%s" % (x, y, tuple(a[x * 3:x * 3 + 3]), tuple(b[x * 3:x * 3 + 3])))
        return "%d pixels differ: %s" % (n, " ".join(bad))


def read_ppm(path):
    data = Path(path).read_bytes()
    toks = []
    i = 0
    while len(toks) < 4:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            while data[i:i + 1] != b"\n":
                i += 1
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        toks.append(data[i:j])
        i = j
    i += 1
    assert toks[0] == b"P6" and toks[3] == b"255", toks
    w, h = int(toks[1]), int(toks[2])
    return Image(w, h, data[i:i + w * h * 3])


def read_png(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    i = 8
    idat = b""
    while i < len(data):
        n, typ = struct.unpack(">I4s", data[i:i + 8])
        body = data[i + 8:i + 8 + n]
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        i += 12 + n
    assert depth == 8 and ctype in (2, 6) and interlace == 0, (depth, ctype, interlace)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray()
    prev = bytearray(stride)
    p = 0
    for _ in range(h):
        f = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        if f == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif f == 2:
            for x in range(stride):
                line[x] = (line[x] + prev[x]) & 255
        elif f == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif f == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pr) & 255
        prev = line
        if bpp == 4:
            line = bytearray(line)
            del line[3::4]
        out += line
    return Image(w, h, out)


# The pixel formulas of kmstest.c.
COLORS = [0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0x00ffff, 0xff00ff, 0xffffff, 0x808080]
CLIPS1 = [(10, 10, 100, 50), (300, 20, 64, 64), (700, 500, 200, 100), (5, 600, 33, 17), (900, 40, 100, 300)]
UNDAMAGED1 = (400, 300, 100, 100)
CLIPS2 = [(0, 0, 1, 1), (513, 257, 8, 8), (1001, 3, 17, 13), (128, 700, 64, 1), (611, 129, 3, 61)]
UNDAMAGED2 = (200, 200, 40, 40)


class Canvas:
    def __init__(self, w, h, invert=False):
        self.w, self.h = w, h
        rows = []
        inv = 255 if invert else 0
        rchan = bytes((x & 255) ^ inv for x in range(w))
        templ = {}
        for y in range(h):
            yb = (y >> 8) * 4
            if yb not in templ:
                t = bytearray(w * 3)
                t[0::3] = rchan
                t[2::3] = bytes((((x >> 8) * 16 + yb + 128) & 255) ^ inv for x in range(w))
                templ[yb] = t
            row = bytearray(templ[yb])
            row[1::3] = bytes([(y & 255) ^ inv]) * w
            rows.append(row)
        self.rows = rows

    def rect(self, r, k):
        x0, y0, w, h = r
        col = COLORS[k % 8]
        cr, cg, cb = col >> 16, (col >> 8) & 255, col & 255
        for y in range(y0, min(y0 + h, self.h)):
            row = self.rows[y]
            for x in range(x0, min(x0 + w, self.w)):
                v = (x * 3 + y * 7) & 0x3f
                row[x * 3:x * 3 + 3] = bytes((cr ^ v, cg ^ v, cb ^ v))

    def image(self):
        return Image(self.w, self.h, b"".join(self.rows))


def expected_pattern(w, h, stage):
    """What kmstest pattern shows at a stage: base, clips, partial."""
    c = Canvas(w, h)
    if stage in ("clips", "partial"):
        for i, r in enumerate(CLIPS1):
            c.rect(r, i)
    if stage == "partial":
        for i, r in enumerate(CLIPS2):
            c.rect(r, i + 3)
    return c.image()


def expected_rgb565(w, h):
    """The base pattern after a trip through RGB565 (bits replicated on expansion)."""
    img = Canvas(w, h).image()
    d = bytearray(img.data)
    lut5 = bytes(((v >> 3) << 3) | (v >> 5) for v in range(256))
    lut6 = bytes(((v >> 2) << 2) | (v >> 6) for v in range(256))
    d[0::3] = d[0::3].translate(lut5)
    d[1::3] = d[1::3].translate(lut6)
    d[2::3] = d[2::3].translate(lut5)
    return Image(w, h, d)


def expected_mode(w, h):
    c = Canvas(w, h)
    c.rect((w // 3, h // 3, 64, 48), 1)
    return c.image()


# --- QEMU guest --------------------------------------------------------------


def free_port(base):
    for p in range(base, base + 200):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
            return p
        except OSError:
            pass
        finally:
            s.close()
    raise RuntimeError("no free port")


class SessionBus:
    """A private D-Bus message bus for QEMU's D-Bus display
    (-display dbus,addr=...): the QEMU UI that places monitors on a desktop
    (org.qemu.Display1.Console.SetUIInfo has xoff/yoff), as a client such as
    qemu-display does.  Debian's dbus-daemon, driven with glib's gdbus."""

    def __init__(self, path):
        self.addr = "unix:path=%s" % path
        self.proc = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address",
                                      "--address=" + self.addr], stdout=subprocess.PIPE,
                                     stderr=open(str(path) + ".log", "wb"))
        self.proc.stdout.readline()  # printed once it listens

    def qemu_args(self):
        return ["-display", "dbus,addr=" + self.addr]

    def set_ui_info(self, console, w, h, x=0, y=0, width_mm=0, height_mm=0):
        """What a D-Bus display client sends when it shows console N as a
        monitor of w x h pixels at x, y (w = h = 0: monitor off)."""
        run(["gdbus", "call", "--address", self.addr, "--dest", "org.qemu",
             "--object-path", "/org/qemu/Display1/Console_%d" % console,
             "--method", "org.qemu.Display1.Console.SetUIInfo",
             str(width_mm), str(height_mm), str(x), str(y), str(w), str(h)],
            stdout=subprocess.DEVNULL, timeout=20)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class SerialConsole:
    """The initramfs /init shell on a serial socket.  A thread keeps all it
    printed; expect() and sh() consume it in order.  Used for rig guests and
    for the libvirt test's domain."""

    def __init__(self, sock, logfile):
        self.ser = sock
        self.serial_log = logfile
        self.buf = b""
        self.pos = 0
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read_serial, daemon=True)
        self.reader.start()

    def alive(self):
        """Can the other end still print?  Overridden where that is known."""
        return True

    def _read_serial(self):
        with open(self.serial_log, "ab") as lf:
            while True:
                try:
                    d = self.ser.recv(65536)
                except OSError:
                    return
                if not d:
                    return
                lf.write(d)
                lf.flush()
                with self.lock:
                    self.buf += d

    def text(self):
        with self.lock:
            return self.buf.decode(errors="replace")

    def expect(self, pattern, timeout=60):
        """Wait for regex in serial output after the current position."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        while True:
            with self.lock:
                s = self.buf[self.pos:].decode(errors="replace")
            m = rx.search(s)
            if m:
                with self.lock:
                    self.pos += len(s[:m.end()].encode())
                return m
            if not self.alive():
                raise RuntimeError("guest went away while waiting for %r" % pattern)
            if time.time() > end:
                raise TimeoutError("timeout waiting for %r; serial tail: %s" % (pattern, s[-1500:]))
            time.sleep(0.05)

    def send(self, line):
        self.ser.sendall(line.encode() + b"\n")

    def sh(self, line, timeout=120):
        """Run a shell line in the guest; returns (rc, output)."""
        start = self.pos
        self.send(line)
        m = self.expect(r"@@DONE (\d+)@@", timeout)
        with self.lock:
            out = self.buf[start:self.pos].decode(errors="replace")
        return int(m.group(1)), out[:out.rfind("@@DONE")]


class Guest(SerialConsole):
    def __init__(self, name, kernel, initrd, device, append="", extra=(), trace=False, servers=True,
                 display_bus="rp1", tcg="", spice=True):
        """servers: start QEMU's VNC and SPICE servers (on 127.0.0.1);
        spice=False: the VNC server only (QEMU's SPICE display asks for
        the picture on every refresh, client or not: always watched).
        kernel None: no -kernel, the firmware boots a disk in extra.
        display_bus: where the display device sits (rp1: a PCIe root port).
        tcg: options of -accel tcg."""
        self.name = name
        self.dir = OUT / name
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        self.vnc = free_port(5900 + 60 + (os.getpid() % 50)) - 5900
        self.spice = free_port(6000 + (os.getpid() % 100))
        ser = self.dir / "serial.sock"
        qmp = self.dir / "qmp.sock"
        self.serial_log = self.dir / "serial.log"
        self.qemu_log = self.dir / "qemu.log"
        fw = QEMU.parent / "pc-bios"
        cmd = [str(QEMU), "-machine", "q35", "-m", "512", "-nodefaults", "-no-user-config",
               "-display", "none", "-vga", "none",
               "-L", "/usr/share/seabios", "-L", "/usr/lib/ipxe/qemu", "-L", str(fw)]
        if kernel:
            cmd += ["-kernel", str(kernel), "-initrd", str(initrd),
                    # no_timer_check: a TCG guest on a busy host can fail the
                    # IO-APIC timer check at boot ("IO-APIC + timer doesn't work")
                    "-append", "console=ttyS0 loglevel=7 mitigations=off vt.global_cursor_default=0 no_timer_check "
                    "video=Virtual-1:1024x768 " + os.environ.get("GUEST_APPEND", "") + " " + append]
        cmd += ["-chardev", "socket,id=ser,path=%s,server=on,wait=off" % ser,
               "-serial", "chardev:ser",
               "-qmp", "unix:%s,server=on,wait=off" % qmp]
        if servers:
            cmd += ["-vnc", "127.0.0.1:%d" % self.vnc]
        if servers and spice:
            cmd += ["-spice", "port=%d,addr=127.0.0.1,disable-ticketing=on,image-compression=off,"
                    "jpeg-wan-compression=never,zlib-glz-wan-compression=never,streaming-video=off" % self.spice]
        cmd += ["-device", "pcie-root-port,id=rp1,bus=pcie.0,chassis=1,addr=0x5",
               "-device", device + ",id=disp,bus=" + display_bus,
               "-D", str(self.qemu_log)]
        if os.environ.get("VIRTIO_DESK_KVM") == "1":
            cmd += ["-accel", "kvm", "-cpu", "host"]
        else:
            cmd += ["-accel", "tcg" + tcg]
        if trace:
            cmd += ["-trace", "virtio_desk_transfer_rect", "-trace", "virtio_desk_transfer_rects"]
        # every guest has several vCPUs (multi-threaded TCG); extra may ask for more
        cmd += ["-smp", os.environ.get("VIRTIO_DESK_SMP", "2")]
        cmd += list(extra)
        (self.dir / "cmdline").write_text(" ".join(cmd) + "\n")
        self.proc = subprocess.Popen(cmd, stdout=open(self.dir / "qemu.out", "wb"), stderr=subprocess.STDOUT)
        SerialConsole.__init__(self, self._connect(ser), self.serial_log)
        self.events = []
        self.qmp_buf = b""
        self.qmp = self._connect(qmp)
        self._qmp_read()
        self.qmp_cmd("qmp_capabilities")
        self.cmdno = 0

    def _connect(self, path):
        t = time.time()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("QEMU exited: " + (self.dir / "qemu.out").read_text(errors="replace")[-2000:])
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(str(path))
                return s
            except OSError:
                if time.time() - t > 30:
                    raise
                time.sleep(0.05)

    def alive(self):
        return self.proc.poll() is None

    def _qmp_read(self):
        while b"\n" not in self.qmp_buf:
            d = self.qmp.recv(65536)
            if not d:
                raise RuntimeError("QMP closed")
            self.qmp_buf += d
        line, self.qmp_buf = self.qmp_buf.split(b"\n", 1)
        return json.loads(line)

    def qmp_cmd(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.qmp.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._qmp_read()
            if "event" in r:
                self.events.append(r)
                continue
            if "error" in r:
                raise RuntimeError("QMP %s: %s" % (cmd, r["error"]))
            return r.get("return")

    def wait_event(self, name, timeout):
        end = time.time() + timeout
        while time.time() < end:
            for e in self.events:
                if e["event"] == name:
                    return e
            self.qmp.settimeout(max(0.1, end - time.time()))
            try:
                r = self._qmp_read()
                if "event" in r:
                    self.events.append(r)
            except socket.timeout:
                pass
            finally:
                self.qmp.settimeout(None)
        return None

    def boot(self, timeout=120):
        self.expect(r"@@READY@@", timeout)

    def log_mark(self):
        return self.qemu_log.stat().st_size if self.qemu_log.exists() else 0

    def log_since(self, mark):
        """What QEMU wrote to its log (-D: traces, guest errors) since mark."""
        with open(self.qemu_log, "rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")

    def traces_since(self, mark):
        """(requests, rects) traced since mark: [(res, nrects)], [(res, x, y, w, h)]."""
        new = self.log_since(mark)
        reqs = [tuple(int(v) for v in m.groups()) for m in
                re.finditer(r"virtio_desk_transfer_rects\D*?(\d+)\D+?(\d+)", new)]
        rects = [tuple(int(v) for v in m.groups()) for m in
                 re.finditer(r"virtio_desk_transfer_rect(?!s)\D*?(\d+)\D+?(\d+)\D+?(\d+)\D+?(\d+)\D+?(\d+)", new)]
        return reqs, rects

    def screendump(self, name):
        path = self.dir / (name + ".ppm")
        self.qmp_cmd("screendump", filename=str(path))
        return read_ppm(path)

    def vnc_capture(self, name, display=None):
        """display: another VNC server's display number (-vnc ...,head=N)."""
        path = self.dir / (name + "-vnc.png")
        if path.exists():
            path.unlink()
        run(["timeout", "20", "gvnccapture", "127.0.0.1:%d" % (self.vnc if display is None else display), str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return read_png(path)

    def vnc_set_desktop_size(self, w, h):
        """Ask for a new display size like a resized VNC viewer window does
        (RFB SetDesktopSize); QEMU hands it to the device as ui_info."""
        rfb.set_desktop_size(5900 + self.vnc, w, h)

    def spice_capture(self, name):
        path = self.dir / (name + "-spice.ppm")
        if path.exists():
            path.unlink()
        run(["timeout", "20", "spicy-screenshot", "-h", "127.0.0.1", "-p", str(self.spice), "-o", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return read_ppm(path)

    def oopses(self):
        pat = re.compile(r"(Oops|BUG:|WARNING:|Call Trace|general protection fault|Kernel panic|KASAN|"
                         r"UBSAN|refcount_t:|list_(add|del) corruption|blocked for more than)")
        return [l for l in self.text().splitlines() if pat.search(l)]

    def stop(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.qmp_cmd("quit")
                except Exception:
                    pass
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            for s in (self.ser, self.qmp):
                try:
                    s.close()
                except Exception:
                    pass


def capture_until(fn, expected, tries=8, delay=0.4):
    """Captures through a real client are eventually consistent: retry."""
    why = None
    for _ in range(tries):
        try:
            img = fn()
            why = img.diff(expected)
            if why is None:
                return None
        except Exception as e:  # noqa: BLE001
            why = "capture failed: %s" % e
        time.sleep(delay)
    return why


# --- command line: demo and ad-hoc runs -----------------------------------------


def main(argv):
    """rig.py demo [DEVICE]        boot, show fbcon text and a moving pattern, print how to connect
    rig.py exec [-d DEVICE] LINE...  boot, run each LINE in the guest shell, print the output"""
    if not argv or argv[0] not in ("demo", "exec"):
        print(main.__doc__)
        return 2
    device = "virtio-desk-pci"
    args = argv[1:]
    if argv[0] == "exec" and args[:1] == ["-d"]:
        device, args = args[1], args[2:]
    elif argv[0] == "demo" and args:
        device = args[0]
    kernel, initrd = build_all()
    g = Guest(argv[0], kernel, initrd, device, trace=os.environ.get("RIG_TRACE") == "1")
    try:
        g.boot()
        if argv[0] == "exec":
            rc = 0
            for line in args:
                r, out = g.sh(line, timeout=600)
                print(out, end="")
                rc = rc or r
            return rc
        g.sh(r"printf '\033[2J\033[Hvirtio-desk demo: kernel console on fbcon\n' > /dev/tty1; "
             r"cat /proc/version > /dev/tty1")
        print("guest up. VNC: gvncviewer 127.0.0.1:%d   SPICE: remote-viewer spice://127.0.0.1:%d"
              % (g.vnc, g.spice), flush=True)
        print("console text for 10 s, then a moving pattern; Ctrl-C to stop", flush=True)
        time.sleep(10)
        while True:
            g.sh("kmstest anim 1024 768 30", timeout=120)
            g.sh(r"echo 'back on the console' > /dev/tty1")
            time.sleep(5)
    except KeyboardInterrupt:
        return 0
    finally:
        g.stop()


if __name__ == "__main__":
    # SIGTERM (timeout, CI) unwinds like Ctrl-C, so guests are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main(sys.argv[1:]))
