# SPDX-License-Identifier: GPL-2.0
"""Guest tests of the input half (VIRTIO_DESK_F_INPUT): the keyboard and
pointer the driver registers, every QKeyCode and pointer event from QMP,
keys and pointer from a VNC client, a 10,000-event flood, absolute
positions landing on the pixel, the Caps Lock LED back to a VNC client,
reloads without stale devices; and no input devices with input=off.

The helpers (EvRead, qkey, key_arrives, ...) serve the other test files too."""

import re
import struct
import time

import rfb
import rig
from harness import no_oops_no_failures, sh_ok


KBD, PTR = "virtio-desk keyboard", "virtio-desk pointer"


EV_SYN, EV_KEY, EV_REL, EV_ABS, EV_LED = 0, 1, 2, 3, 0x11


BTN_LEFT, BTN_RIGHT, BTN_MIDDLE, BTN_SIDE, BTN_EXTRA = 0x110, 0x111, 0x112, 0x113, 0x114


REL_HWHEEL, REL_WHEEL, ABS_X, ABS_Y, LED_CAPSL = 6, 8, 0, 1, 1


ABS_MAX = 32767


def qcode_to_linux():
    """{QKeyCode name: Linux KEY_* code} for every QKeyCode QEMU maps to
    Linux, from the QEMU tree the binary was built from: the names of
    qapi/ui.json's QKeyCode enum and the generated
    ui/input-keymap-qcode-to-linux.c.inc (the table the device uses)."""
    build = rig.QEMU.parent
    inc = (build / "ui/input-keymap-qcode-to-linux.c.inc").read_text()
    table = {c: int(v, 16) for c, v in re.findall(r"\[(Q_KEY_CODE_\w+)\] = (0x[0-9a-fA-F]+)", inc)}
    ui = (build.parent / "qapi/ui.json").read_text()
    body = ui[ui.index("{ 'enum': 'QKeyCode'"):]
    body = body[body.index("'data'"):body.index("]")]
    names = re.findall(r"'([\w-]+)'", body)[1:]
    assert len(names) > 150 and "unmapped" in names, names[:5]
    out = {}
    for n in names:
        code = table.get("Q_KEY_CODE_" + n.upper().replace("-", "_"), 0)
        if code:
            out[n] = code
    return out


class Evdev:
    """What evdev readers see of the frames the device sends: the input core
    drops key events that do not change the key state, repeated absolute
    values, zero relative moves, and the SYN_REPORT of a frame left empty."""

    def __init__(self):
        self.keys = {0: set(), 1: set()}
        self.abs = {ABS_X: 0, ABS_Y: 0}
        self.out = {0: [], 1: []}

    def frame(self, events):
        """events: [(device, type, code, value)] of one QEMU input frame."""
        got = {0: [], 1: []}
        for d, t, c, v in events:
            if t == EV_KEY:
                if (c in self.keys[d]) == bool(v):
                    continue
                (self.keys[d].add if v else self.keys[d].discard)(c)
            elif t == EV_ABS:
                if self.abs[c] == v:
                    continue
                self.abs[c] = v
            elif t == EV_REL and v == 0:
                continue
            got[d].append((t, c, v))
        for d in (0, 1):
            if got[d]:
                self.out[d] += got[d] + [(EV_SYN, 0, 0)]


def frames(evs, drop_types=(EV_LED,)):
    """Split one device's events into frames at SYN_REPORT, leaving out the
    event types given (LED changes the VT makes) and frames left empty."""
    out, cur = [], []
    for t, c, v in evs:
        if t == EV_SYN and c == 0:
            if cur:
                out.append(cur)
            cur = []
        elif t not in drop_types:
            cur.append((t, c, v))
    return out


class EvRead:
    """evread in the guest on the keyboard and the pointer (device index 0
    and 1 as in the protocol); events() returns what the guest read."""

    def __init__(self, g, count, idle_ms=8000, quiet=False, names=(KBD, PTR)):
        self.g = g
        self.start = g.pos
        g.send("evread %s-n %d -t %d %s" % ("-q " if quiet else "", -1 if count is None else count, idle_ms,
                                             " ".join("'%s'" % n for n in names)))
        g.expect(r"@@EVREADY@@", 60)

    def finish(self, timeout=300):
        m = self.g.expect(r"@@DONE (\d+)@@", timeout)
        with self.g.lock:
            out = self.g.buf[self.start:self.g.pos].decode(errors="replace")
        assert m.group(1) == "0", "evread failed: " + out[-2000:]
        evs = {0: [], 1: []}
        for d, t, c, v in re.findall(r"^EV (\d) (\d+) (\d+) (-?\d+)", out, re.M):
            evs[int(d)].append((int(t), int(c), int(v)))
        s = re.search(r"EVSUM count (\d+) fnv ([0-9a-f]+) dropped (\d+) ms (\d+)", out)
        assert s, "no EVSUM: " + out[-2000:]
        self.count, self.fnv, self.dropped, self.ms = int(s.group(1)), s.group(2), int(s.group(3)), int(s.group(4))
        self.evs = evs
        return evs


def fnv64(events):
    """evread's hash of [(device, type, code, value)]."""
    h = 0xcbf29ce484222325
    for d, t, c, v in events:
        for b in struct.pack("<IIIi", d, t, c, v):
            h = ((h ^ b) * 0x100000001b3) & 0xffffffffffffffff
    return "%016x" % h


def qkey(name, down):
    return {"type": "key", "data": {"down": down, "key": {"type": "qcode", "data": name}}}


def qbtn(name, down):
    return {"type": "btn", "data": {"down": down, "button": name}}


def qabs(axis, value):
    return {"type": "abs", "data": {"axis": axis, "value": value}}


def input_devices(g):
    """(names of virtio-desk input devices, whole /proc/bus/input/devices)."""
    out = sh_ok(g, "cat /proc/bus/input/devices").replace("\r", "")
    return re.findall(r'N: Name="(virtio-desk[^"]*)"', out), out


def key_arrives(g, q="b"):
    """One key from QMP is read from the keyboard's event node."""
    code = qcode_to_linux()[q]
    rd = EvRead(g, 4, names=(KBD,))
    g.qmp_cmd("input-send-event", events=[qkey(q, True)])
    g.qmp_cmd("input-send-event", events=[qkey(q, False)])
    got = rd.finish()[0]
    assert got == [(EV_KEY, code, 1), (EV_SYN, 0, 0), (EV_KEY, code, 0), (EV_SYN, 0, 0)], got


def test_input_devices(g):
    """One keyboard and one pointer with the device's names, ids, event
    bits and absolute ranges."""
    out = sh_ok(g, "cat /sys/bus/virtio/devices/virtio*/features")
    assert out.strip()[:1] == "1", "VIRTIO_DESK_F_INPUT not negotiated: " + out
    names, out = input_devices(g)
    assert sorted(names) == [KBD, PTR], out
    blocks = {m.group(1): b for b in re.split(r"\n\s*\n", out) for m in [re.search(r'N: Name="([^"]*)"', b)] if m}
    kbd, ptr = blocks[KBD], blocks[PTR]
    assert "I: Bus=0006 Vendor=0627 Product=0001" in kbd, kbd
    assert "I: Bus=0006 Vendor=0627 Product=0002" in ptr, ptr
    assert "B: EV=20003" in kbd and "B: LED=7" in kbd, kbd      # SYN KEY LED; num caps scroll
    assert "B: EV=f" in ptr and "B: REL=140" in ptr and "B: ABS=3" in ptr, ptr  # SYN KEY REL ABS
    assert "B: KEY=1f0000 0 0 0 0" in ptr, ptr                  # BTN_LEFT..BTN_EXTRA
    # every key QEMU can send is in the keyboard's key bits
    keybits = re.search(r"B: KEY=([0-9a-f ]+)", kbd).group(1).split()
    bits = int("".join(w.rjust(16, "0") for w in keybits), 16)
    missing = sorted(n for n, c in qcode_to_linux().items() if not bits >> c & 1)
    assert not missing, "keys not in the keyboard's bits: %s" % missing
    out = sh_ok(g, "evread -i '%s'" % PTR)
    for axis in (ABS_X, ABS_Y):
        assert "EVABS %d min 0 max %d fuzz 0 flat 0 res 0" % (axis, ABS_MAX) in out, out


def test_qmp_every_qcode(g):
    """(a) Every QKeyCode with a Linux code, sent with input-send-event,
    arrives on the keyboard as exactly that KEY_* down and up."""
    table = qcode_to_linux()
    names = sorted(table)
    batches = [names[i:i + 8] for i in range(0, len(names), 8)]
    # the lock keys toggle the VT's LEDs: press them a second time at the end
    locks = [n for n in ("caps_lock", "num_lock", "scroll_lock") if n in table]
    batches.append(locks)
    expect = [[(EV_KEY, table[n], v) for n in b for v in (1, 0)] for b in batches]
    rd = EvRead(g, sum(len(f) + 1 for f in expect), names=(KBD,))
    for b in batches:
        g.qmp_cmd("input-send-event", events=[qkey(n, d) for n in b for d in (True, False)])
    got = frames(rd.finish()[0])
    ok = sum(1 for n in names if any((EV_KEY, table[n], 1) in f and (EV_KEY, table[n], 0) in f for f in got))
    if got != expect:
        seen = {e for f in got for e in f}
        bad = [n for n in names if (EV_KEY, table[n], 1) not in seen or (EV_KEY, table[n], 0) not in seen]
        raise AssertionError("%d of %d keys arrived; missing %s; first frames differ: got %s expected %s" % (
            ok, len(names), bad, got[:2], expect[:2]))
    print("  %d QKeyCodes -> KEY_* down and up, in %d frames" % (len(names), len(batches)), flush=True)


def test_qmp_pointer(g):
    """Pointer events from QMP: all five buttons, both wheels (QEMU's
    wheel-left/right is REL_HWHEEL) and absolute moves."""
    ev = Evdev()
    sends = [
        [qabs("x", 1000), qabs("y", 2000)],
        [qbtn("left", True)], [qbtn("left", False)],
        [qbtn("middle", True), qabs("x", 32767)], [qbtn("middle", False)],
        [qbtn("right", True), qabs("y", 0)], [qbtn("right", False)],
        [qbtn("side", True)], [qbtn("side", False)],
        [qbtn("extra", True)], [qbtn("extra", False)],
        [qbtn("wheel-up", True)], [qbtn("wheel-up", False)],
        [qbtn("wheel-down", True)], [qbtn("wheel-down", False)],
        [qbtn("wheel-right", True)], [qbtn("wheel-right", False)],
        [qbtn("wheel-left", True)], [qbtn("wheel-left", False)],
        [qabs("x", 0), qabs("y", 32767)],
    ]
    dev = {"left": BTN_LEFT, "right": BTN_RIGHT, "middle": BTN_MIDDLE, "side": BTN_SIDE, "extra": BTN_EXTRA}
    rel = {"wheel-up": (REL_WHEEL, 1), "wheel-down": (REL_WHEEL, -1),
           "wheel-right": (REL_HWHEEL, 1), "wheel-left": (REL_HWHEEL, -1)}
    for s in sends:
        f = []
        for e in s:
            d = e["data"]
            if e["type"] == "abs":
                f.append((1, EV_ABS, ABS_X if d["axis"] == "x" else ABS_Y, d["value"]))
            elif d["button"] in dev:
                f.append((1, EV_KEY, dev[d["button"]], int(d["down"])))
            elif d["down"]:
                f.append((1, EV_REL) + rel[d["button"]])
        ev.frame(f)
    rd = EvRead(g, len(ev.out[1]), names=(PTR,))
    for s in sends:
        g.qmp_cmd("input-send-event", events=s)
    got = rd.finish()[0]
    assert got == ev.out[1], "pointer events:\n got      %s\n expected %s" % (got, ev.out[1])


# keysyms a VNC viewer sends, and the QKeyCode QEMU's en-us keymap gives them
VNC_KEYS = [(0xffe1, "shift"), (0x61, "a"), (0x7a, "z"), (0x31, "1"), (0xff0d, "ret"),
            (0xffbe, "f1"), (0xff1b, "esc"), (0xff51, "left"), (0x20, "spc")]


def vnc_abs(p, size):
    """QEMU's VNC server: qemu_input_queue_abs(con, axis, p, 0, size)."""
    return p * ABS_MAX // size


def test_vnc_keys_and_pointer(g):
    """(b) Keys and pointer events from a VNC client (RFB KeyEvent and
    PointerEvent) arrive on the keyboard and the pointer."""
    table = qcode_to_linux()
    c = rfb.Client(5900 + g.vnc)
    w, h = c.width, c.height
    ev = Evdev()
    acts = []
    for sym, q in VNC_KEYS:
        for down in (True, False):
            acts.append(("key", sym, down))
            ev.frame([(0, EV_KEY, table[q], int(down))])
    bmap = [(rfb.BUTTON_LEFT, BTN_LEFT), (rfb.BUTTON_MIDDLE, BTN_MIDDLE), (rfb.BUTTON_RIGHT, BTN_RIGHT)]
    mask = 0
    for m, x, y in [(0, 10, 20), (rfb.BUTTON_LEFT, 10, 20), (0, 10, 20),
                    (rfb.BUTTON_MIDDLE, 500, 300), (0, 501, 300), (rfb.BUTTON_RIGHT, 501, 301), (0, 501, 301),
                    (rfb.BUTTON_LEFT, 600, 400), (rfb.BUTTON_LEFT, 700, 450), (0, 700, 450),  # a drag
                    (rfb.WHEEL_UP, 700, 450), (0, 700, 450), (rfb.WHEEL_UP, 700, 450), (0, 700, 450),
                    (rfb.WHEEL_DOWN, 700, 450), (0, 700, 450), (0, w - 1, h - 1)]:
        f = []
        for bit, code in bmap:
            if (m ^ mask) & bit:
                f.append((1, EV_KEY, code, int(bool(m & bit))))
        if m & ~mask & rfb.WHEEL_UP:
            f.append((1, EV_REL, REL_WHEEL, 1))
        if m & ~mask & rfb.WHEEL_DOWN:
            f.append((1, EV_REL, REL_WHEEL, -1))
        mask = m
        f += [(1, EV_ABS, ABS_X, vnc_abs(x, w)), (1, EV_ABS, ABS_Y, vnc_abs(y, h))]
        ev.frame(f)
        acts.append(("ptr", m, x, y))
    rd = EvRead(g, len(ev.out[0]) + len(ev.out[1]))
    try:
        for a in acts:
            if a[0] == "key":
                c.key(a[1], a[2])
            else:
                c.pointer(*a[1:])
    finally:
        evs = rd.finish()
        c.close()
    assert frames(evs[0]) == frames(ev.out[0]), "keyboard:\n got      %s\n expected %s" % (evs[0], ev.out[0])
    assert evs[1] == ev.out[1], "pointer:\n got      %s\n expected %s" % (evs[1], ev.out[1])


def test_key_flood(g):
    """(c) 10,000 key events (5,000 press/release pairs, 100 per QMP
    command) arrive complete and in order, without SYN_DROPPED."""
    keys = ["a", "s", "d", "f", "g", "h", "j", "k", "l", "q", "w", "e", "r", "t", "y", "u", "i", "o", "p"]
    table = qcode_to_linux()
    batches, expect, n = [], [], 0
    for b in range(100):
        evs = []
        for i in range(50):
            k = keys[n % len(keys)]
            n += 1
            evs += [qkey(k, True), qkey(k, False)]
            expect += [(0, EV_KEY, table[k], 1), (0, EV_KEY, table[k], 0)]
        expect.append((0, EV_SYN, 0, 0))
        batches.append(evs)
    rd = EvRead(g, len(expect), idle_ms=20000, quiet=True, names=(KBD,))
    t = time.time()
    for evs in batches:
        g.qmp_cmd("input-send-event", events=evs)
    sent = time.time() - t
    rd.finish()
    total = time.time() - t
    assert rd.dropped == 0, "evdev reported SYN_DROPPED %d times" % rd.dropped
    assert rd.count == len(expect), "guest read %d events, expected %d" % (rd.count, len(expect))
    assert rd.fnv == fnv64(expect), "events differ from the sent sequence (hash %s != %s)" % (rd.fnv, fnv64(expect))
    print("  10000 key events + 100 SYN: sent in %.2f s, all read %.2f s after the first send "
          "(guest: %d ms first to last event)" % (sent, total, rd.ms), flush=True)


def abs_landing(g, w, h, points):
    """VNC pointer moves to points; returns [(point, (value x, value y),
    pixel in a w x h mode by the header's formula)] as the guest read them."""
    c = rfb.Client(5900 + g.vnc)
    try:
        assert (c.width, c.height) == (w, h), "VNC desktop %dx%d, mode %dx%d" % (c.width, c.height, w, h)
        rd = EvRead(g, 3 * len(points), names=(PTR,))
        for x, y in points:
            c.pointer(0, x, y)
        got = frames(rd.finish()[0])
    finally:
        c.close()
    out = []
    vx = vy = None
    for p, f in zip(points, got):
        d = dict(((t, code), v) for t, code, v in f)
        vx, vy = d.get((EV_ABS, ABS_X), vx), d.get((EV_ABS, ABS_Y), vy)
        px = min(w - 1, (vx * w + ABS_MAX // 2) // ABS_MAX)
        py = min(h - 1, (vy * h + ABS_MAX // 2) // ABS_MAX)
        out.append((p, (vx, vy), (px, py)))
    assert len(got) == len(points), "%d moves, %d frames read: %s" % (len(points), len(got), got)
    return out


def test_abs_pixel(g):
    """(d) An absolute move to a pixel of the VNC window lands on that
    pixel of the guest's mode (pixel = min(W - 1, round(value * W / 32767))),
    at 1024x768 and at 1920x1080."""
    errs = []
    for w, h in ((1024, 768), (1920, 1080)):
        # kmstest holds the mode in the background, its stages fed by a fifo
        sh_ok(g, "rm -f /tmp/kf /tmp/km.log; mkfifo /tmp/kf; exec 7<>/tmp/kf; "
                 "kmstest pattern %d %d </tmp/kf >/tmp/km.log 2>&1 & "
                 "for i in $(seq 300); do grep -q '@@STAGE base@@' /tmp/km.log && break; sleep 0.1; done; "
                 "grep -q '@@STAGE base@@' /tmp/km.log" % (w, h))
        try:
            end = time.time() + 20
            while time.time() < end:  # the VNC server follows the mode
                c = rfb.Client(5900 + g.vnc)
                c.close()
                if (c.width, c.height) == (w, h):
                    break
                time.sleep(0.3)
            # a first move off the targets, so no target repeats the last position
            points = [(w // 2 + 1, h // 2 + 1), (0, 0), (w - 1, h - 1), (w // 2, h // 2), (1, h - 2),
                      (w - 2, 1), (123, 457), (w - 100, h - 77), (w // 3, 2 * h // 3)]
            for p, v, px in abs_landing(g, w, h, points)[1:]:
                if px != p:
                    errs.append("%dx%d: pixel %s -> value %s -> pixel %s" % (w, h, p, v, px))
        finally:
            sh_ok(g, "for i in 1 2 3; do echo >&7; done; wait; exec 7>&-; cat /tmp/km.log")
    assert not errs, "%d of 16 moves missed: %s" % (len(errs), "; ".join(errs))


def test_caps_lock_led_to_vnc(g):
    """(e) Caps Lock set in the guest reaches a VNC client as the LED state
    pseudo-encoding: written to the keyboard's event node (the input core
    hands it to the driver), and toggled by the VT's Caps Lock key; a device
    reset (rmmod) turns the LEDs off."""
    c = rfb.Client(5900 + g.vnc, leds=True)
    try:
        c.wait_leds(0)  # the state when the client connects
        mark = g.log_mark()
        out = sh_ok(g, "evread -l %d=1 '%s'" % (LED_CAPSL, KBD))
        assert "EVLED num 0 caps 1 scroll 0" in out, out
        c.wait_leds(rfb.LED_CAPS)
        trace = g.log_since(mark)
        assert re.search(r"virtio_desk_input_status device 0 type 17 code 1 value 1\b", trace), \
            "no status message device 0 EV_LED LED_CAPSL 1 traced: " + trace[-500:]
        out = sh_ok(g, "evread -l %d=0 '%s'" % (LED_CAPSL, KBD))
        assert "EVLED num 0 caps 0 scroll 0" in out, out
        c.wait_leds(0)
        # the VT: Caps Lock pressed on our keyboard turns the LED on and off
        for want in (rfb.LED_CAPS, 0):
            g.qmp_cmd("input-send-event", events=[qkey("caps_lock", True)])
            g.qmp_cmd("input-send-event", events=[qkey("caps_lock", False)])
            c.wait_leds(want)
            out = sh_ok(g, "evread -i '%s'" % KBD)
            assert "EVLED num 0 caps %d scroll 0" % bool(want) in out, out
        # a keyboard that is reset turns its LEDs off: rmmod resets the device
        sh_ok(g, "evread -l %d=1 '%s'" % (LED_CAPSL, KBD))
        c.wait_leds(rfb.LED_CAPS)
        mark = g.log_mark()
        sh_ok(g, "rmmod virtio_desk")
        c.wait_leds(0)
        trace = g.log_since(mark)
        assert not re.search(r"virtio_desk_input_status device 0 type 17 code 1 value 0\b", trace), \
            "the driver turned Caps Lock off, not the reset: " + trace[-500:]
        sh_ok(g, "modprobe virtio_desk")
        names, out = input_devices(g)
        assert sorted(names) == [KBD, PTR], "after modprobe: " + out
    finally:
        c.close()
    out = sh_ok(g, "dmesg | grep -c 'status: device answered'; true")
    assert out.strip().splitlines()[-1] == "0", "device refused status messages: " + out


def test_input_reload(g):
    """(f) rmmod/modprobe 5 times and unbind/bind twice: every time exactly
    one keyboard and one pointer named virtio-desk, and keys arrive."""
    for i in range(5):
        sh_ok(g, "rmmod virtio_desk")
        names, out = input_devices(g)
        assert names == [], "after rmmod %d: %s" % (i, out)
        sh_ok(g, "modprobe virtio_desk")
        names, out = input_devices(g)
        assert sorted(names) == [KBD, PTR], "after modprobe %d: %s" % (i, out)
    key_arrives(g)
    drv = "/sys/bus/virtio/drivers/virtio_desk"
    for i in range(2):
        sh_ok(g, "d=$(basename $(readlink %s/virtio*)); echo $d > %s/unbind; echo $d > /tmp/vdev" % (drv, drv))
        names, out = input_devices(g)
        assert names == [], "after unbind %d: %s" % (i, out)
        sh_ok(g, "cat /tmp/vdev > %s/bind" % drv)
        names, out = input_devices(g)
        assert sorted(names) == [KBD, PTR], "after bind %d: %s" % (i, out)
    key_arrives(g, "c")
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def test_no_input(g):
    """input=off: the device offers no VIRTIO_DESK_F_INPUT, the driver makes
    no input devices and the display works (the other tests here)."""
    out = sh_ok(g, "cat /sys/bus/virtio/devices/virtio*/features")
    assert out.strip()[:1] == "0", "VIRTIO_DESK_F_INPUT negotiated with input=off: " + out
    names, out = input_devices(g)
    assert names == [], out
    out = sh_ok(g, "ls /sys/bus/virtio/devices/virtio*/input 2>&1; true")
    assert "No such file" in out, out


TESTS = {
    "input": [
        ("input_devices_registered", test_input_devices),
        ("input_qmp_every_qcode", test_qmp_every_qcode),
        ("input_qmp_pointer_buttons_wheels_abs", test_qmp_pointer),
        ("input_vnc_keys_and_pointer", test_vnc_keys_and_pointer),
        ("input_key_flood_10000", test_key_flood),
        ("input_abs_pixel_two_modes", test_abs_pixel),
        ("input_caps_lock_led_to_vnc", test_caps_lock_led_to_vnc),
        ("input_reload_no_stale_devices", test_input_reload),
        ("input_no_oops", no_oops_no_failures),
    ],
    "hostmem": [("no_input_devices_without_f_input", test_no_input)],
}
