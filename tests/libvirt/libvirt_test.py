#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-desk under a real libvirtd (Debian bookworm's libvirt 9.0).

Run through run.sh, which puts this process in a private mount namespace:
libvirtd's directories (/etc/libvirt, /run/libvirt, /var/lib/libvirt,
/var/log/libvirt, /var/cache/libvirt) are bind mounts of folders under
$VIRTIO_DESK_CACHE/guest-out/libvirt here, so the daemons started here see
only this test's configuration and domain, and nothing of theirs stays on
the machine.

Boots docs/examples/virtio-desk-domain.xml (only the paths replaced) with
the guest rig's kernel and initramfs, drives the guest's /init shell over
the serial unix socket, checks the pattern over the VNC (and SPICE) display
libvirt assigned, sends keys with virsh send-key and reads them from the
virtio-desk keyboard in the guest, then powers the guest off, undefines the
domain and stops libvirtd and virtlogd.

Prints "N passed, N failed" last; exits non-zero on any failure.
  --screenshots   also write docs/images/virtio-desk-{vnc-pattern,fbcon}.png
"""

import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests/guest"))
import rig  # noqa: E402

EXAMPLE = REPO / "docs/examples/virtio-desk-domain.xml"
IMAGES = REPO / "docs/images"
QEMU_NS = "http://libvirt.org/schemas/domain/qemu/1.0"
WORK = rig.OUT / "libvirt"
CAPCACHE = rig.CACHE / "libvirt-capabilities"  # survives runs: the first probe of a QEMU binary takes seconds
URI = "qemu:///system"
# libvirtd's own directories, replaced by folders of WORK in our mount namespace
MOUNTS = ["/etc/libvirt", "/run/libvirt", "/var/lib/libvirt", "/var/log/libvirt", "/var/cache/libvirt"]

W, H = 1024, 768
KEYS = {"KEY_H": 35, "KEY_I": 23, "KEY_LEFTSHIFT": 42, "KEY_A": 30}
KEYBOARD_NAME = "virtio-desk keyboard"
AT_KEYBOARD_NAME = "AT Translated Set 2 keyboard"  # the i8042 keyboard q35 always has

RESULTS = []
T0 = time.time()
STOPPING = False  # SIGTERM/SIGINT: skip to the cleanup


def log(*a):
    print("[libvirt %5.1fs]" % (time.time() - T0), *a, flush=True)


def check(name, fn, *args):
    t = time.time()
    try:
        r = fn(*args)
        RESULTS.append((name, True))
        print("PASS %s (%.1f s)" % (name, time.time() - t), flush=True)
        return r
    except Exception as e:  # noqa: BLE001
        if STOPPING:
            raise SystemExit(143)
        RESULTS.append((name, False))
        print("FAIL %s (%.1f s): %s" % (name, time.time() - t, e), flush=True)
        if not isinstance(e, AssertionError):
            traceback.print_exc()
        return None


def run(cmd, timeout=120, check_rc=True, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode, r.stdout.strip()[-2000:]))
    return r.stdout


def virsh(*args, timeout=120, check_rc=True):
    return run(["virsh", "-q", "-c", URI] + list(args), timeout=timeout, check_rc=check_rc)


# --- the domain XML: the example, with this machine's paths ------------------------


def domain_xml(qemu, kernel, initrd):
    """The example domain with this machine's QEMU, kernel and initramfs,
    nothing else changed; returns (name, serial socket path, XML)."""
    ET.register_namespace("qemu", QEMU_NS)
    tree = ET.parse(EXAMPLE)
    dom = tree.getroot()
    for path, value in (("devices/emulator", qemu), ("os/kernel", kernel), ("os/initrd", initrd)):
        el = dom.find(path)
        assert el is not None, "example has no <%s>" % path
        el.text = str(value)
    src = dom.find("devices/serial[@type='unix']/source")
    assert src is not None and src.get("mode") == "bind", "example has no unix serial socket"
    return dom.findtext("name"), Path(src.get("path")), ET.tostring(dom, encoding="unicode")


# --- private libvirtd ------------------------------------------------------------------

LIBVIRTD_CONF = """\
# written by tests/libvirt: a private libvirtd for one test run
log_outputs = "3:file:{work}/libvirtd.log"
"""

VIRTLOGD_CONF = """\
log_outputs = "3:file:{work}/virtlogd.log"
"""

# QEMU runs as root with the paths as they are: no chown/xattr labels on the
# rig's kernel and initramfs, no cgroups created on the host.
QEMU_CONF = """\
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "logd"
"""


class Daemons:
    def __init__(self):
        self.procs = {}
        self.mounted = []
        self.created = []

    def setup_mounts(self):
        if WORK.exists():
            shutil.rmtree(WORK)
        CAPCACHE.mkdir(parents=True, exist_ok=True)
        for m in MOUNTS:
            src = WORK / m.strip("/").replace("/", "_")
            if m == "/var/cache/libvirt":
                src = CAPCACHE
            src.mkdir(parents=True, exist_ok=True)
            if not os.path.isdir(m):
                os.makedirs(m)
                self.created.append(m)
            run(["mount", "--bind", str(src), m])
            self.mounted.append(m)
        etc = Path("/etc/libvirt")
        (etc / "libvirtd.conf").write_text(LIBVIRTD_CONF.format(work=WORK))
        (etc / "virtlogd.conf").write_text(VIRTLOGD_CONF.format(work=WORK))
        (etc / "qemu.conf").write_text(QEMU_CONF)
        os.makedirs("/var/log/libvirt/qemu", exist_ok=True)
        # libvirt's QEMU driver looks the user libvirt-qemu up even when
        # qemu.conf says root (Debian's libvirt-daemon-system creates it):
        # give this namespace a passwd/group with it instead of adding it to the machine.
        try:
            pwd.getpwnam("libvirt-qemu")
        except KeyError:
            for f, line in (("passwd", "libvirt-qemu:x:64055:64055:Libvirt Qemu:/var/lib/libvirt:/usr/sbin/nologin\n"),
                            ("group", "libvirt-qemu:x:64055:\n")):
                copy = WORK / f
                copy.write_text(Path("/etc", f).read_text() + line)
                run(["mount", "--bind", str(copy), "/etc/" + f])
                self.mounted.append("/etc/" + f)

    def start(self):
        self.setup_mounts()
        self.procs["virtlogd"] = subprocess.Popen(
            ["virtlogd", "-f", "/etc/libvirt/virtlogd.conf", "-p", str(WORK / "virtlogd.pid")],
            stdout=open(WORK / "virtlogd.out", "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)  # Ctrl-C and timeout(1) stop the test, which stops the daemons
        self._wait_sock("/run/libvirt/virtlogd-sock", "virtlogd")
        self.procs["libvirtd"] = subprocess.Popen(
            ["libvirtd", "-f", "/etc/libvirt/libvirtd.conf", "-p", str(WORK / "libvirtd.pid")],
            stdout=open(WORK / "libvirtd.out", "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        self._wait_sock("/run/libvirt/libvirt-sock", "libvirtd")
        # (virsh version would look for a QEMU on PATH: the domain names its own)
        log("%s, %s" % (run(["libvirtd", "--version"]).strip(), virsh("uri", timeout=60).strip()))

    def _wait_sock(self, path, name, timeout=60):
        end = time.time() + timeout
        while time.time() < end:
            if self.procs[name].poll() is not None:
                raise RuntimeError("%s exited (%s): %s" % (name, self.procs[name].returncode,
                                   (WORK / (name + ".out")).read_text(errors="replace")[-2000:]))
            if os.path.exists(path):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(path)
                    return
                except OSError:
                    pass
                finally:
                    s.close()
            time.sleep(0.1)
        raise RuntimeError("%s did not create %s" % (name, path))

    def stop(self):
        """SIGTERM libvirtd then virtlogd; returns the names that had to be killed."""
        killed = []
        for name in ("libvirtd", "virtlogd"):
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                killed.append(name)
        return killed

    def unmount(self):
        for m in reversed(self.mounted):
            subprocess.run(["umount", m], check=False)
        self.mounted = []
        for m in reversed(self.created):
            try:
                os.rmdir(m)
            except OSError:
                pass


# --- the guest's serial shell --------------------------------------------------------


class Serial(rig.SerialConsole):
    """The rig's /init shell over the serial unix socket libvirt's QEMU listens on."""

    def __init__(self, path, logfile, timeout=60):
        end = time.time() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX)
            try:
                sock.connect(str(path))
                break
            except OSError:
                sock.close()
                if time.time() > end:
                    raise
                time.sleep(0.05)
        super().__init__(sock, logfile)

    def sh_ok(self, line, timeout=120):
        rc, out = self.sh(line, timeout)
        assert rc == 0, "guest command %r failed (%d): %s" % (line, rc, out[-2000:])
        return out

    def close(self):
        try:
            self.ser.close()
        except OSError:
            pass


# --- captures ------------------------------------------------------------------------


def vnc_address(name):
    """virsh vncdisplay prints e.g. 127.0.0.1:0 (display number, not port)."""
    out = virsh("vncdisplay", name).strip()
    m = re.fullmatch(r"(\S+):(\d+)", out)
    assert m, "vncdisplay: %r" % out
    return m.group(1), int(m.group(2))


def spice_address(name):
    out = virsh("domdisplay", "--type", "spice", name).strip()
    m = re.fullmatch(r"spice://(\S+):(\d+)/?", out)
    assert m, "domdisplay --type spice: %r" % out
    return m.group(1), int(m.group(2))


def vnc_capture(name, file):
    host, disp = vnc_address(name)
    path = WORK / file
    if path.exists():
        path.unlink()
    run(["timeout", "30", "gvnccapture", "%s:%d" % (host, disp), str(path)], timeout=60)
    return rig.read_png(path)


def spice_capture(name, file):
    host, port = spice_address(name)
    path = WORK / file
    if path.exists():
        path.unlink()
    run(["timeout", "30", "spicy-screenshot", "-h", host, "-p", str(port), "-o", str(path)], timeout=60)
    return rig.read_ppm(path)


def virsh_screenshot(name, file):
    """QMP screendump, through libvirt (PPM from QEMU)."""
    path = WORK / file
    if path.exists():
        path.unlink()
    virsh("screenshot", name, "--file", str(path))
    if path.read_bytes()[:4] == b"\x89PNG":  # libvirt asks QEMU for PNG when it can
        return rig.read_png(path)
    return rig.read_ppm(path)


def write_png(img, path, scale=1):
    """Small PNG for the docs: optional nearest-neighbour downscale, per-row
    filter (None/Sub/Up, least sum of magnitudes), zlib level 9."""
    w, h, data = img.w, img.h, img.data
    if scale > 1:
        rows = []
        for y in range(0, h - h % scale, scale):
            row = data[y * w * 3:(y + 1) * w * 3]
            rows.append(b"".join(row[x * 3:x * 3 + 3] for x in range(0, w - w % scale, scale)))
        w, h, data = w // scale, h // scale, b"".join(rows)
    stride = w * 3
    prev = bytes(stride)
    raw = bytearray()
    for y in range(h):
        line = data[y * stride:(y + 1) * stride]
        sub = bytes((line[i] - (line[i - 3] if i >= 3 else 0)) & 255 for i in range(stride))
        up = bytes((a - b) & 255 for a, b in zip(line, prev))
        cands = [(0, line), (1, sub), (2, up)]
        f, best = min(cands, key=lambda c: sum(v if v < 128 else 256 - v for v in c[1]))
        raw += bytes([f]) + best
        prev = line

    def chunk(t, body):
        return struct.pack(">I", len(body)) + t + body + struct.pack(">I", zlib.crc32(t + body) & 0xffffffff)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))
    Path(path).write_bytes(png)
    back = rig.read_png(path)
    assert (back.w, back.h, back.data) == (w, h, data), "PNG encoder: %s does not read back" % path
    return len(png)


# --- input -------------------------------------------------------------------------------


def event_device_script(name, var):
    """Guest shell: set $var to the eventN whose input device is called name."""
    return ('%s=; for e in /sys/class/input/event*; do [ "$(cat $e/device/name)" = "%s" ] && %s=${e##*/}; done; '
            '[ -n "$%s" ]' % (var, name, var, var))


def parse_events(hexdump):
    """od -An -v -tx1 of struct input_event records (x86_64: 24 bytes)."""
    data = bytes(int(b, 16) for b in hexdump.split() if re.fullmatch(r"[0-9a-f]{2}", b))
    evs = []
    for i in range(0, len(data) - len(data) % 24, 24):
        _, _, typ, code, value = struct.unpack("<qqHHi", data[i:i + 24])
        evs.append((typ, code, value))
    return evs


# --- the test ------------------------------------------------------------------------------


class Test:
    def __init__(self, screenshots):
        self.screenshots = screenshots
        self.daemons = Daemons()
        self.name = None
        self.ser = None
        self.defined = False

    def test_example_validates(self):
        out = run(["virt-xml-validate", str(EXAMPLE), "domain"])
        assert "validates" in out, out

    def prepare(self):
        kernel, initrd = rig.build_all()
        qemu = rig.QEMU
        assert qemu.exists(), "QEMU not found at %s (set $QEMU)" % qemu
        self.daemons.start()
        # the socket is in /var/lib/libvirt/qemu, which here is a folder of WORK
        self.name, self.serial, xml = domain_xml(qemu, kernel, initrd)
        path = WORK / "domain.xml"
        path.write_text(xml)
        out = run(["virt-xml-validate", str(path), "domain"])
        assert "validates" in out, out
        return path

    def test_define_start(self, xml):
        virsh("define", str(xml))
        self.defined = True
        t = time.time()
        virsh("start", self.name, timeout=300)
        log("virsh start took %.1f s" % (time.time() - t))
        assert virsh("domstate", self.name).strip() == "running"
        self.ser = Serial(self.serial, WORK / "serial.log")
        self.ser.expect(r"@@READY@@", 180)
        log("guest /init ready")
        dumped = virsh("dumpxml", self.name)
        assert "virtio-desk-pci,id=desk0,bus=pcie.0,addr=0x10" in dumped, "qemu:commandline lost: " + dumped

    def test_tainted_custom_argv(self):
        """libvirt taints a domain with <qemu:commandline> as custom-argv
        (and, with user = root in qemu.conf, as high-privileges)."""
        status = Path("/run/libvirt/qemu/%s.xml" % self.name).read_text()
        taints = re.findall(r"<taint flag='([^']+)'/>", status)
        qlog = Path("/var/log/libvirt/qemu/%s.log" % self.name).read_text(errors="replace")
        log("taints:", taints, "| log:", " / ".join(l.split(": ", 1)[-1] for l in qlog.splitlines() if "tainted" in l))
        assert "custom-argv" in taints, taints
        assert re.search(r"is tainted: custom-argv", qlog), qlog[-2000:]
        # the device reached QEMU's command line unchanged, after libvirt's own
        args = [l.rstrip(" \\") for l in qlog.splitlines()]
        assert "-device virtio-desk-pci,id=desk0,bus=pcie.0,addr=0x10" in args, \
            "QEMU command line: %s" % qlog[-3000:]

    def test_driver_bound(self):
        out = self.ser.sh_ok("cat /sys/bus/virtio/devices/*/modalias; lsmod | grep virtio_desk; ls /dev/dri; "
                             "cat /proc/fb; cat /sys/class/input/*/name")
        assert "virtio:d0000003F" in out and "virtio_desk" in out and "card0" in out, out

    def test_fbcon(self):
        """Text on the kernel console (fbcon on virtio-desk): VNC shows what
        QEMU's screendump (virsh screenshot) shows, and it is text."""
        self.ser.sh_ok(r"printf '\033[2J\033[H' > /dev/tty1; "
                       r"echo 'virtio-desk: Linux console (fbcon) under libvirt' > /dev/tty1; "
                       r"echo > /dev/tty1; echo '# cat /proc/fb' > /dev/tty1; cat /proc/fb > /dev/tty1; "
                       r"echo '# ls /dev/dri /dev/input' > /dev/tty1; ls /dev/dri /dev/input > /dev/tty1; "
                       r"echo '# dmesg | grep virtio' > /dev/tty1; "
                       r"dmesg | grep -i virtio | sed 's/^\[[ 0-9.]*\] //' | cut -c1-128 | tail -n 16 > /dev/tty1; "
                       r"uname -sr > /dev/tty1")
        time.sleep(1.5)  # fbdev deferred io
        ref = None
        for _ in range(10):
            ref = virsh_screenshot(self.name, "fbcon-screenshot.img")
            img = vnc_capture(self.name, "fbcon-vnc.png")
            if img.diff(ref) is None:
                break
            time.sleep(0.5)
        why = img.diff(ref)
        assert why is None, "VNC and screendump differ: " + why
        lit = sum(1 for i in range(0, len(img.data), 3) if img.data[i:i + 3] != b"\0\0\0")
        assert (img.w, img.h) == (W, H), (img.w, img.h)
        assert lit > 5000, "no text on the console (%d lit pixels)" % lit
        if self.screenshots:
            n = write_png(img, IMAGES / "virtio-desk-fbcon.png")
            log("wrote docs/images/virtio-desk-fbcon.png (%d bytes)" % n)

    def test_pattern(self):
        """kmstest's pattern, its damage clips and partial updates: the VNC
        display libvirt assigned, SPICE and virsh screenshot show exactly
        rig's expected images."""
        self.ser.send("kmstest pattern %d %d strict" % (W, H))
        errs = []
        done = False
        try:
            for stage in ("base", "clips", "partial"):
                self.ser.expect(r"@@STAGE %s@@" % stage, 120)
                exp = rig.expected_pattern(W, H, stage)
                for what, fn in (("vnc", lambda: vnc_capture(self.name, "pattern-%s-vnc.png" % stage)),
                                 ("spice", lambda: spice_capture(self.name, "pattern-%s-spice.ppm" % stage)),
                                 ("screenshot", lambda: virsh_screenshot(self.name, "pattern-%s-screenshot.img" % stage))):
                    why = rig.capture_until(fn, exp)
                    if why:
                        errs.append("%s %s: %s" % (stage, what, why))
                    elif what == "vnc" and stage == "clips" and self.screenshots:
                        n = write_png(rig.read_png(WORK / "pattern-clips-vnc.png"), IMAGES / "virtio-desk-vnc-pattern.png")
                        log("wrote docs/images/virtio-desk-vnc-pattern.png (%d bytes)" % n)
                if stage != "partial":
                    self.ser.send("")
            self.ser.send("")
            m = self.ser.expect(r"@@DONE (\d+)@@", 60)
            done = True
        finally:
            if not done and not STOPPING:
                # let kmstest run through its remaining stages
                for _ in range(4):
                    self.ser.send("")
                    try:
                        self.ser.expect(r"@@DONE (\d+)@@", 10)
                        break
                    except TimeoutError:
                        pass
        assert not errs, "; ".join(errs)
        assert m.group(1) == "0", "kmstest exited with %s" % m.group(1)

    def input_ready(self):
        """Does the guest have the virtio-desk keyboard (driver input support)?"""
        rc, out = self.ser.sh(event_device_script(KEYBOARD_NAME, "KB"))
        return rc == 0

    def test_send_key(self):
        """virsh send-key reaches the guest through the virtio-desk keyboard;
        the PS/2 keyboard libvirt adds stays idle."""
        want = [(KEYS["KEY_H"], 1), (KEYS["KEY_H"], 0), (KEYS["KEY_I"], 1), (KEYS["KEY_I"], 0),
                (KEYS["KEY_LEFTSHIFT"], 1), (KEYS["KEY_A"], 1), (KEYS["KEY_A"], 0), (KEYS["KEY_LEFTSHIFT"], 0)]
        has_evread = self.ser.sh("command -v evread")[0] == 0
        if has_evread:
            # tests/guest/evread.c: both keyboards, found by name; ends 3 s after the last event
            self.ser.sh_ok("evread -t 3000 '%s' '%s' > /tmp/kb.txt 2>&1 </dev/null & echo $! > /tmp/kb.pid; "
                           "for i in $(seq 100); do grep -q @@EVREADY@@ /tmp/kb.txt && break; sleep 0.1; done; "
                           "cat /tmp/kb.txt" % (KEYBOARD_NAME, AT_KEYBOARD_NAME))
        else:
            # raw evdev records of the two devices found by name in sysfs
            self.ser.sh_ok(event_device_script(KEYBOARD_NAME, "KB") + " && echo KB=$KB")
            self.ser.sh_ok(event_device_script(AT_KEYBOARD_NAME, "AT") + " && echo AT=$AT")
            self.ser.sh_ok("cat /dev/input/$KB > /tmp/kb.bin </dev/null & echo $! > /tmp/kb.pid; "
                           "cat /dev/input/$AT > /tmp/at.bin </dev/null & echo $! >> /tmp/kb.pid; sleep 0.5")
        for keys in (["KEY_H"], ["KEY_I"], ["KEY_LEFTSHIFT", "KEY_A"]):
            virsh("send-key", self.name, *keys)
        if has_evread:
            out = self.ser.sh_ok("wait $(cat /tmp/kb.pid); cat /tmp/kb.txt", timeout=60)
            evs = [tuple(int(v) for v in m.groups())
                   for m in re.finditer(r"^EV (\d+) (\d+) (\d+) (-?\d+)", out, re.M)]
            desk = [(t, c, v) for i, t, c, v in evs if i == 0]
            at = [e for e in evs if e[0] == 1]
        else:
            time.sleep(2)
            self.ser.sh_ok("kill $(cat /tmp/kb.pid); sleep 0.2")
            desk = parse_events(self.ser.sh_ok("od -An -v -tx1 /tmp/kb.bin"))
            at = parse_events(self.ser.sh_ok("od -An -v -tx1 /tmp/at.bin"))
        got = [(c, v) for t, c, v in desk if t == 1]
        assert got == want, "keys in the guest %s, sent %s; all events: %s" % (got, want, desk)
        syn = [(t, c, v) for t, c, v in desk if t == 0]
        assert len(syn) == len(want) and len(desk) == 2 * len(want), \
            "expected one SYN_REPORT per key event: %s" % desk
        assert not at, "the PS/2 keyboard got input: %s" % at
        log("keys via the virtio-desk keyboard (%s): %s; PS/2 keyboard: %d events" %
            ("evread" if has_evread else "raw evdev", got, len(at)))

    def shutdown(self):
        """Power the guest off from inside (this /init has no ACPI daemon for
        virsh shutdown), then undefine."""
        self.ser.send("poweroff -f")
        end = time.time() + 120
        state = ""
        while time.time() < end:
            state = virsh("domstate", self.name).strip()
            if state == "shut off":
                break
            time.sleep(0.5)
        assert state == "shut off", "domain still %r after poweroff" % state
        virsh("undefine", self.name)
        self.defined = False
        out = virsh("list", "--all", "--name").strip()
        assert self.name not in out.split(), out

    def cleanup(self):
        """Whatever happened: no domain, no QEMU, no daemon, no mounts."""
        if self.ser:
            self.ser.close()
        if self.name and self.daemons.procs.get("libvirtd") and self.daemons.procs["libvirtd"].poll() is None:
            if virsh("domstate", self.name, check_rc=False).strip() not in ("shut off", ""):
                virsh("destroy", self.name, check_rc=False)
            if self.defined:
                virsh("undefine", self.name, check_rc=False)
        killed = self.daemons.stop()
        left = []
        for pid in leftover_processes():
            try:
                left.append("%d %s" % (pid, Path("/proc/%d/cmdline" % pid).read_bytes()
                                       .replace(b"\0", b" ").decode(errors="replace")[:200]))
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.daemons.unmount()
        return killed, left


def leftover_processes():
    """Processes left in this test's private mount namespace (QEMU, a
    daemon): every one there is ours, nothing outside it is looked at."""
    me = os.readlink("/proc/self/ns/mnt")
    left = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            if os.readlink(d / "ns/mnt") == me and (d / "cmdline").read_bytes():
                left.append(int(d.name))
        except OSError:
            continue
    return left


def main(argv):
    screenshots = "--screenshots" in argv
    def stop(signum, _frame):
        global STOPPING
        STOPPING = True
        raise SystemExit(128 + signum)  # unwinds through the cleanup
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if os.environ.get("VIRTIO_DESK_LIBVIRT_NS") != "1":
        print("run this through tests/libvirt/run.sh (private mount namespace)")
        print("0 passed, 1 failed")
        return 1
    missing = [t for t in ("libvirtd", "virtlogd", "virsh", "virt-xml-validate", "gvnccapture", "spicy-screenshot")
               if not shutil.which(t)]
    if missing:
        print("missing: %s (bash scripts/host-deps.sh installs them)" % " ".join(missing))
        print("0 passed, 1 failed")
        return 1
    t = Test(screenshots)
    check("example_xml_validates", t.test_example_validates)
    try:
        xml = check("libvirtd_and_virtlogd_start", t.prepare)
        if xml:
            check("define_and_start_example_domain", t.test_define_start, xml)
            if RESULTS[-1][1]:
                check("domain_tainted_custom_argv", t.test_tainted_custom_argv)
                check("driver_bound_fbdev_and_card", t.test_driver_bound)
                check("fbcon_over_vnc", t.test_fbcon)
                check("pattern_exact_over_vnc_spice_screenshot", t.test_pattern)
                if t.input_ready():
                    check("send_key_reaches_virtio_desk_keyboard", t.test_send_key)
                else:
                    out = t.ser.sh("cat /sys/class/input/*/name")[1]
                    RESULTS.append(("send_key_reaches_virtio_desk_keyboard", False))
                    print("FAIL send_key_reaches_virtio_desk_keyboard: no input device %r in the guest "
                          "(guest driver without input support?); input devices: %s"
                          % (KEYBOARD_NAME, " | ".join(out.split("\n")[:10])), flush=True)
                oops = [l for l in t.ser.text().splitlines()
                        if re.search(r"Oops|BUG:|WARNING:|Call Trace|Kernel panic", l)]
                RESULTS.append(("no_guest_oops", not oops))
                print("%s no_guest_oops%s" % ("PASS" if not oops else "FAIL", "" if not oops else ": " + " | ".join(oops[:5])))
                check("poweroff_and_undefine", t.shutdown)
    except SystemExit:
        RESULTS.append(("interrupted", False))
        print("FAIL interrupted: stopping", flush=True)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        RESULTS.append(("libvirt_test", False))
    finally:
        killed, left = t.cleanup()
        ok = not killed and not left
        RESULTS.append(("daemons_stopped_nothing_left", ok))
        print("%s daemons_stopped_nothing_left%s" % ("PASS" if ok else "FAIL",
              "" if ok else ": had to kill %s, processes left %s" % (killed, left)), flush=True)
    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    print("libvirt test: %.1f s; logs in %s" % (time.time() - T0, WORK))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
