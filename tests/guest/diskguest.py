# SPDX-License-Identifier: GPL-2.0
"""A real Debian guest from power-on: the bookworm disk of disk-image.sh
(GRUB on the disk, Debian's 6.12 kernel, systemd and udev, virtio-desk-dkms
installed with apt so DKMS built the module, Weston with weston-terminal on
tty1), booted by SeaBIOS from virtio-blk on -device virtio-desk-vga, and the
same disk on virtio-vga as the control.  The disk is opened with
snapshot=on: what a test changes (even across a guest reboot) is gone when
QEMU exits, the cached image stays as built.

The tests' shell is the root login on ttyS0 (autologin): the same line
protocol as rig.py's guests once login() started it (@@READY@@, one line
per command, @@DONE rc@@).

    python3 diskguest.py [-d DEVICE]   boot the disk and print how to connect (the demo)

Python 3 standard library only.
"""

import subprocess
import sys
import time
from pathlib import Path

import harness
import rfb
import rig
from harness import sh_ok

HERE = Path(__file__).resolve().parent
DEB = "/root/virtio-desk-dkms_1.0_all.deb"
# Weston's desktop-shell background (weston.ini's default background-color)
WESTON_BG = (0x00, 0x22, 0x44)
# the VGA palette's colour 7 (6-bit 42, 42, 42): GRUB's highlight bar
LIGHT_GRAY = (0xa8, 0xa8, 0xa8)
BLACK = (0, 0, 0)


def build():
    """The disk image (built or cached by disk-image.sh)."""
    out = rig.run(["sh", str(HERE / "disk-image.sh")], stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


class DiskGuest(rig.Guest):
    def __init__(self, name, img, device, extra=()):
        extra = ["-m", "1024",
                 "-drive", "file=%s,if=none,id=disk,format=raw,snapshot=on" % img,
                 "-device", "virtio-blk-pci,drive=disk,bootindex=0"] + list(extra)
        # the VGA device on the root bus, where the legacy VGA ranges are
        rig.Guest.__init__(self, name, None, None, device, extra=extra, display_bus="pcie.0")

    def wait_grub(self, timeout=120):
        """GRUB's menu is up (it prints on the serial line too)."""
        self.expect(r"GNU GRUB", timeout)

    def login(self, timeout=400):
        """Wait for the autologin shell on ttyS0 and start the line protocol."""
        self.expect(r"root@desk:~# ", timeout)
        self.send("stty -echo; echo @@REA\"\"DY@@; "
                  "while IFS= read -r line; do eval \"$line\"; echo \"@@DONE $?@@\"; done")
        self.expect(r"@@READY@@", 60)

    def boot(self, timeout=400):
        self.wait_grub()
        self.login(timeout)

    def wait_weston(self, timeout=300):
        """Weston runs and weston-terminal, its autolaunched client, is up."""
        sh_ok(self, "for i in $(seq %d); do systemctl -q is-active weston && pidof weston-terminal && "
                    "exit_ok=1 && break; sleep 1; done; [ -n \"$exit_ok\" ]" % timeout, timeout + 30)


def share(img, colour):
    """Fraction of img's pixels that are colour (R, G, B)."""
    n = img.w * img.h
    want = bytes(colour)
    return sum(1 for i in range(0, 3 * n, 3) if img.data[i:i + 3] == want) / n


def weston_shown(g, name, tries=30):
    """A VNC capture that is Weston's desktop: not VGA text mode, mostly
    desktop-shell's background.  Returns the capture."""
    why = None
    for _ in range(tries):
        try:
            img = g.vnc_capture(name)
            bg = share(img, WESTON_BG)
            if (img.w, img.h) != (720, 400) and bg > 0.3:
                return img
            why = "%dx%d, %.0f%% background" % (img.w, img.h, 100 * bg)
        except Exception as e:  # noqa: BLE001
            why = "capture failed: %s" % e
        time.sleep(2)
    raise AssertionError("no Weston desktop over VNC: " + str(why))


def text_mode_shown(g, name):
    """A VNC capture of VGA text mode (80x25 cells of 9x16 pixels)."""
    img = g.vnc_capture(name)
    assert (img.w, img.h) == (720, 400), "not VGA text mode: %dx%d" % (img.w, img.h)
    return img


def highlight_rows(img):
    """Pixel rows more than half light-gray: GRUB's highlighted entry."""
    return sum(1 for y in range(img.h)
               if sum(1 for x in range(img.w) if img.px(x, y) == LIGHT_GRAY) > img.w // 2)


# --- the tests -----------------------------------------------------------------


def test_grub_menu(g):
    """While GRUB waits the VNC client sees its menu in VGA text mode: the
    highlighted entry is a light-gray bar of text rows."""
    g.wait_grub()
    # a key stops the countdown, as for a user who wants to look (a busy
    # host may take longer than its 5 s to capture), Return boots
    g.qmp_cmd("send-key", keys=[{"type": "qcode", "data": "up"}])
    bar = 0
    for _ in range(10):
        img = text_mode_shown(g, "grub")
        bar = highlight_rows(img)
        if bar >= 8:
            break
        time.sleep(1)
    g.qmp_cmd("send-key", keys=[{"type": "qcode", "data": "ret"}])
    assert bar >= 8, "no highlighted menu entry (%d light-gray rows)" % bar
    assert share(img, BLACK) < 0.95, "an empty screen"


def test_weston_desktop(g):
    """Weston's desktop, drawn through virtio_desk (the DRM device's driver)."""
    g.wait_weston()
    out = sh_ok(g, "basename $(readlink /sys/class/drm/card0/device/driver)")
    assert "virtio_desk" in out, out
    weston_shown(g, "weston")


def test_fb_replaced(g):
    """The kernel log says the driver took over from the firmware's VGA
    console before registering."""
    want = ("replaced the firmware framebuffer and console", "Console: switching to colour dummy device",
            "fb0: virtiodeskdrmfb frame buffer device")
    end = time.time() + 60
    while True:  # udev may still be loading the module when the shell is up
        out = sh_ok(g, "dmesg | grep -E 'virtio_desk|Console: switching' || true")
        if all(w in out for w in want) or time.time() > end:
            break
        time.sleep(2)
    for w in want:
        assert w in out, "%r not in: %s" % (w, out[-3000:])


def test_udev_autoload(g):
    """udev loaded the DKMS-built module at boot: nothing asked for it by
    name (no modules-load.d entry), it comes from updates/dkms."""
    # alone (-k) this runs right after the shell is up: give udev its time
    sh_ok(g, "for i in $(seq 60); do grep -q '^virtio_desk ' /proc/modules && break; sleep 0.5; done")
    out = sh_ok(g, "lsmod; modinfo -n virtio_desk; cat /etc/modules-load.d/* /etc/modules 2>/dev/null; "
                   "uname -r")
    assert "\nvirtio_desk " in out, out
    krel = out.strip().splitlines()[-1]
    assert "/lib/modules/%s/updates/dkms/virtio_desk.ko" % krel in out, out
    conf = out.split(".ko", 1)[1]
    assert "virtio_desk" not in conf.rsplit(krel, 1)[0], "loaded by name: " + out


def type_line(send, text):
    for ch in text:
        send(ch)
    send("\n")


QCODE = {" ": "spc", "/": "slash", ".": "dot", "\n": "ret"}


def test_qmp_typing(g):
    """QMP send-key, key by key, types a command into weston-terminal."""
    g.wait_weston()
    sh_ok(g, "rm -f /tmp/qmptyped")
    time.sleep(2)  # weston-terminal maps its window and takes the focus

    def send(ch):
        g.qmp_cmd("send-key", keys=[{"type": "qcode", "data": QCODE.get(ch, ch)}])
        time.sleep(0.15)
    type_line(send, "touch /tmp/qmptyped")
    sh_ok(g, "for i in $(seq 60); do [ -e /tmp/qmptyped ] && break; sleep 1; done; ls -l /tmp/qmptyped", 90)


def test_vnc_typing(g):
    """A VNC client's key events type a command into weston-terminal."""
    g.wait_weston()
    c = rfb.Client(5900 + g.vnc)
    try:
        def send(ch):
            ks = 0xff0d if ch == "\n" else ord(ch)
            c.key(ks, True)
            c.key(ks, False)
            time.sleep(0.15)
        type_line(send, "touch /tmp/vnctyped")
    finally:
        c.close()
    sh_ok(g, "for i in $(seq 60); do [ -e /tmp/vnctyped ] && break; sleep 1; done; ls -l /tmp/vnctyped", 90)


def box_pixels(img, x0, y0, size, colour):
    """How many pixels of the size x size box at x0, y0 are not colour."""
    return sum(1 for y in range(y0, y0 + size) for x in range(x0, x0 + size) if img.px(x, y) != colour)


def point(g, x, y):
    """A VNC client's PointerEvent to x, y.  A client of its own for each
    move: gvnccapture connects exclusively, and QEMU then drops the others."""
    c = rfb.Client(5900 + g.vnc)
    try:
        c.pointer(0, x, y)
        time.sleep(0.2)
        return c.width, c.height
    finally:
        c.close()


def test_vnc_pointer(g):
    """Absolute pointer moves from a VNC client put Weston's cursor (which
    Weston draws into the framebuffer: the driver has no cursor plane)
    where the client points."""
    g.wait_weston()
    w, h = point(g, 0, 0)
    point(g, w - 1, h - 1)
    time.sleep(1.5)
    base = weston_shown(g, "pointer-base")
    # two spots on the bare background, below the panel
    spots = [(x, y) for y in range(96, base.h - 96, 64) for x in range(32, base.w - 96, 64)
             if box_pixels(base, x, y, 48, WESTON_BG) == 0]
    assert len(spots) >= 2, "no bare background to point at"
    a, b = spots[0], spots[-1]
    for here, there in ((a, b), (b, a)):
        point(g, here[0] + 8, here[1] + 8)
        why = None
        for i in range(10):
            time.sleep(1)
            img = g.vnc_capture("pointer-%d-%d" % here)
            at_here = box_pixels(img, here[0], here[1], 48, WESTON_BG)
            at_there = box_pixels(img, there[0], there[1], 48, WESTON_BG)
            if at_here >= 20 and at_there == 0:
                break
            why = "cursor pixels %d at %s, %d at %s" % (at_here, here, at_there, there)
        else:
            raise AssertionError("pointer at %s: %s" % (here, why))


def test_package_cycle(g):
    """dpkg -r removes the DKMS module; the next boot has no display driver
    and no oops (VGA text mode stays); dpkg -i builds it again and udev
    loads it, and Weston comes back."""
    out = sh_ok(g, "dkms status")
    assert "virtio-desk/1.0" in out and "installed" in out, out
    sh_ok(g, "dpkg -r virtio-desk-dkms", 300)
    out = sh_ok(g, "dkms status; modinfo -n virtio_desk || echo no-module")
    assert "virtio-desk" not in out and "no-module" in out, out
    g.send("systemctl reboot")
    g.boot()
    out = sh_ok(g, "lsmod; ls /dev/dri 2>&1; echo")
    assert "virtio_desk" not in out and "No such file" in out, out
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])
    img = text_mode_shown(g, "no-driver")
    assert share(img, BLACK) < 0.999, "VGA text mode shows nothing"
    sh_ok(g, "dpkg -i %s" % DEB, 1500)
    out = sh_ok(g, "dkms status; udevadm trigger --action=add --subsystem-match=virtio; "
                   "udevadm settle; lsmod")
    assert "installed" in out and "\nvirtio_desk " in out, out
    g.wait_weston()
    weston_shown(g, "reinstalled")


def test_no_oops(g):
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def test_control_virtio_vga(g):
    """The same disk on virtio-vga (booted alongside the virtio-desk-vga
    guest): GRUB ran, Debian came up, Weston draws through virtio-gpu, so a
    failure on virtio-desk-vga can be told apart from the image's."""
    g.login()
    assert "GNU GRUB" in g.text(), "no GRUB on the serial line"
    g.wait_weston()
    out = sh_ok(g, "basename $(readlink /sys/class/drm/card0/device/driver)")
    assert "virtio" in out and "virtio_desk" not in out, out
    weston_shown(g, "weston")


DESK_TESTS = [
    ("disk_weston_desktop_by_virtio_desk", test_weston_desktop),
    ("disk_log_firmware_fb_replaced", test_fb_replaced),
    ("disk_udev_autoload_dkms_module", test_udev_autoload),
    ("disk_qmp_send_key_weston_terminal", test_qmp_typing),
    ("disk_vnc_keys_weston_terminal", test_vnc_typing),
    ("disk_vnc_pointer_weston_cursor", test_vnc_pointer),
    ("disk_dpkg_remove_reboot_reinstall", test_package_cycle),
    ("disk_no_oops", test_no_oops),
]
GRUB = "disk_grub_menu_text_mode_vnc"
CONTROL = "disk_control_virtio_vga"
# the guests run() boots (at the same time), and their tests
GUESTS = {"disk-virtio-desk-vga": [GRUB] + [n for n, _ in DESK_TESTS], "disk-virtio-vga": [CONTROL]}


def run(kernel=None, initrd=None):
    """The disk tests, as harness checks (the guests boot from the disk, not
    from kernel and initrd).  The control guest boots at the same time as
    the virtio-desk-vga guest (two cores, one vCPU each) and is checked after
    it.  A guest that does not come up is one failed result,
    disk_DEVICE_guest."""
    want_desk = harness.any_selected(GUESTS["disk-virtio-desk-vga"])
    want_control = harness.any_selected(GUESTS["disk-virtio-vga"])
    if not (want_desk or want_control):
        return
    try:
        img = build()
    except Exception as e:  # noqa: BLE001
        harness.guest_failed("disk_image", e)
        return
    guests = {}
    check = harness.check

    def guest_failed(device, e):
        harness.guest_failed("disk_%s_guest" % device, e)

    try:
        for device, wanted in (("virtio-desk-vga", want_desk), ("virtio-vga", want_control)):
            if wanted:
                try:
                    guests[device] = DiskGuest("disk-" + device, img, device)
                except Exception as e:  # noqa: BLE001
                    guest_failed(device, e)
        g = guests.get("virtio-desk-vga")
        if g:
            try:
                if harness.selected(GRUB):
                    check(GRUB, test_grub_menu, g)
                g.login()
                for name, fn in DESK_TESTS:
                    if not g.alive():
                        raise RuntimeError("guest went away")
                    check(name, fn, g)
            except Exception as e:  # noqa: BLE001
                guest_failed("virtio-desk-vga", e)
        g = guests.get("virtio-vga")
        if g:
            check(CONTROL, test_control_virtio_vga, g)
    finally:
        for g in guests.values():
            g.stop()


def main(argv):
    """The demo: boot the disk, print how to connect and how far the boot
    got, run until Ctrl-C."""
    device = "virtio-desk-vga"
    if argv[:1] == ["-d"]:
        device = argv[1]
    img = build()
    g = DiskGuest("disk-demo", img, device)
    try:
        print("guest booting from disk on -device %s: SeaBIOS, GRUB, Debian, then Weston with a terminal"
              % device)
        print("  VNC:   gvncviewer 127.0.0.1:%d   (any VNC viewer: 127.0.0.1:%d)" % (g.vnc, 5900 + g.vnc))
        print("  SPICE: remote-viewer spice://127.0.0.1:%d" % g.spice)
        print("  serial console: %s; Ctrl-C ends" % g.serial_log, flush=True)
        g.wait_grub()
        print("GRUB's menu is up (5 s)", flush=True)
        g.login()
        print("Debian is up (root logged in on the serial console)", flush=True)
        g.wait_weston()
        print("Weston is up: click into the terminal and type", flush=True)
        while g.alive():
            time.sleep(1)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        g.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
