# SPDX-License-Identifier: GPL-2.0
"""Guest tests of issue 24, X11: Xorg 21.1 (Debian bookworm) with its
modesetting driver, no glamor (`AccelMethod none`), on virtio-desk-pci, in the
root of xorg-root.sh booted by xorgguest.py.  What a user of the desktop sees:

- xorg_modesetting_on_virtio_desk: `Xorg :0 vt1 -noreset -nolisten tcp` comes
  up on card0 (driver virtio_desk) with the modesetting driver, glamor
  disabled, at the device's preferred 1024x768; X's damage reaches the
  device as transfer rects inside the window x11perf draws in.
- xorg_xrandr_lists_output_and_modes: `xrandr` lists Virtual-1 connected,
  current 1024x768, preferred the connector's first mode, and exactly the
  modes the kernel lists for the connector.
- xorg_vnc_equals_x_drawing: the root tiled with a bitmap of ours by
  `xsetroot -bitmap` is exact on VNC (gvnccapture) and in `xwd -root`
  against a picture computed here; then xterm windows with text: the VNC
  capture equals `xwd -root`, pixel for pixel.
- xorg_hw_cursor_is_vnc_cursor: a root cursor of ours (`xsetroot -cursor`,
  an XBM and its mask, two colours) is what a VNC client gets as its
  client-side cursor (AlphaCursor), pixel for pixel, with the XBM's hotspot
  (the guest runs with virtio_desk.cursor_hotspot=1, the setting for Xorg);
  pointer moves from the VNC client move X's cursor (libinput), and the
  device's cursor has its hotspot at the pointer (within a pixel: see
  test_cursor); no framebuffer transfer for the moves.
- xorg_vnc_resize_xrandr_auto: a VNC client's SetDesktopSize 1280x720
  becomes the connector's preferred mode; `xrandr --output Virtual-1 --auto`
  changes X's screen to 1280x720.
- xorg_modeset_vnc_shows_new_size: after that modeset, VNC shows 1280x720
  and the tiled root exact again (xwd -root too); no oops, X still running.
- xorg_dpms_off_blanks_on_restores: `xset dpms force off` switches the
  output off (the device's last SET_SCANOUT is resource 0, VNC no longer
  shows the picture); `xset dpms force on` brings the exact picture back.

run_tests.py calls run(kernel, initrd) (the Xorg guest has a kernel and
root of its own: xorgguest.build()); GUESTS names the guest and its tests.
"""

import re
import shlex
import time

import harness
import rfb
import rig

START = "xorg_modesetting_on_virtio_desk"
XRANDR = "xorg_xrandr_lists_output_and_modes"
PICTURE = "xorg_vnc_equals_x_drawing"
CURSOR = "xorg_hw_cursor_is_vnc_cursor"
RESIZE = "xorg_vnc_resize_xrandr_auto"
FOLLOWS = "xorg_modeset_vnc_shows_new_size"
DPMS = "xorg_dpms_off_blanks_on_restores"
NAMES = (START, XRANDR, PICTURE, CURSOR, RESIZE, FOLLOWS, DPMS)
GUESTS = {"xorg": list(NAMES)}

W, H = 1024, 768
NEW_W, NEW_H = 1280, 720

# the root's tile: an odd-sized bitmap, so that its repeats do not line up
# with anything the display path does in powers of two
TILE_W, TILE_H = 37, 23
TILE_FG, TILE_BG = (0xff, 0x80, 0x00), (0x00, 0x33, 0x66)

# the cursor: a 20x28 bitmap and mask, hotspot (7, 11)
CUR_W, CUR_H, CUR_HOT = 20, 28, (7, 11)
CUR_FG, CUR_BG = (0xff, 0x00, 0x00), (0x00, 0x00, 0xff)


def tile_bit(x, y):
    return ((x * 7 + y * 13) ^ (x * y)) % 5 < 2


def cursor_bits(x, y):
    """(source, mask) of the cursor bitmap at x, y."""
    mask = not (x + y < 4 or (x > 14 and y > 22))  # two corners cut off
    src = (x // 3 + y // 4) % 2 == 0 or x == y
    return src, mask


def xbm(name, w, h, bit, hot=None):
    """XBM text: rows padded to bytes, least significant bit first."""
    out = ["#define %s_width %d" % (name, w), "#define %s_height %d" % (name, h)]
    if hot:
        out += ["#define %s_x_hot %d" % (name, hot[0]), "#define %s_y_hot %d" % (name, hot[1])]
    data = []
    for y in range(h):
        for bx in range(0, w, 8):
            v = 0
            for i in range(8):
                if bx + i < w and bit(bx + i, y):
                    v |= 1 << i
            data.append("0x%02x" % v)
    out.append("static unsigned char %s_bits[] = {" % name)
    out.append(", ".join(data) + "};")
    return "\n".join(out) + "\n"


def expected_tile(w, h):
    fg, bg = bytes(TILE_FG), bytes(TILE_BG)
    rows = []
    for ty in range(TILE_H):
        row = b"".join(fg if tile_bit(x, ty) else bg for x in range(TILE_W))
        reps = w // TILE_W + 1
        rows.append((row * reps)[:w * 3])
    return rig.Image(w, h, b"".join(rows[y % TILE_H] for y in range(h)))


def expected_cursor_pixel(x, y):
    if x >= CUR_W or y >= CUR_H:
        return 0
    src, mask = cursor_bits(x, y)
    if not mask:
        return 0
    r, g, b = CUR_FG if src else CUR_BG
    return 0xff000000 | r << 16 | g << 8 | b


def put_file(g, path, text):
    harness.sh_ok(g, "printf '%%s\\n' %s > %s" % (" ".join(shlex.quote(l) for l in text.splitlines()), path))


def hexcol(c):
    return "'#%02x%02x%02x'" % c


def x_alive(g):
    out = harness.sh_ok(g, "pgrep -x Xorg || echo NO-X")
    assert "NO-X" not in out, "Xorg is not running: " + g.sh("tail -30 /var/log/Xorg.0.log; cat /tmp/xorg.out")[1]


def no_oops(g):
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def log_errors(log):
    """(EE) lines of Xorg's log, but the D-Bus one (no system bus in this guest)."""
    return [l for l in log.splitlines() if "(EE)" in l and "dbus" not in l and "Markers:" not in l
            and "(WW) warning, (EE) error" not in l]


# --- 1: X comes up on the device ---------------------------------------------------------


def test_start(g):
    rc, out, secs = g.x_started
    assert rc == 0, "Xorg did not come up: " + out[-3000:]
    print("  X up in %.1f s" % secs)
    out = harness.sh_ok(g, "basename $(readlink -f /sys/class/drm/card0/device/driver); xdpyinfo | grep dimensions")
    assert "virtio_desk" in out, "card0 is not virtio_desk's: " + out
    assert re.search(r"dimensions:\s+%dx%d pixels" % (W, H), out), "X's screen: " + out
    log = g.xorg_log()
    for want in ("modeset(0): using drv /dev/dri/card0", 'Option "AccelMethod" "none"', "modeset(0): glamor disabled"):
        assert want in log, "Xorg's log has no %r: %s" % (want, log[-3000:])
    errs = log_errors(log)
    assert not errs, "Xorg logged errors: " + " | ".join(errs[:5])
    m = re.search(r"ShadowFB: preferred (\w+), enabled (\w+)", log)
    print("  %s" % (m.group(0) if m else "no ShadowFB line in Xorg's log"))
    # X's damage reaches the device: while x11perf draws in its 600x600
    # window (at 2,2, its label below), every transfer lies in that window
    harness.sh_ok(g, "xsetroot -solid '#000000'; xdpyinfo >/dev/null")
    time.sleep(1)
    mark = g.log_mark()
    out = harness.sh_ok(g, "x11perf -rect10 -reps 20 -repeat 1 2>&1", 300)
    time.sleep(1)
    reqs, rects = g.traces_since(mark)
    assert reqs and rects, "no TRANSFER_RECTS traced while x11perf drew: " + out
    outside = [r for r in rects if r[1] + r[3] > 610 or r[2] + r[4] > 630]
    print("  x11perf -rect10 -reps 20: %d requests, %d rects, %d pixels in all, largest %s"
          % (len(reqs), len(rects), sum(r[3] * r[4] for r in rects), max(rects, key=lambda r: r[3] * r[4])[1:]))
    assert not outside, "%d transfers outside x11perf's window, e.g. %s" % (len(outside), outside[:5])
    no_oops(g)


# --- 2: xrandr -----------------------------------------------------------------------------


def xrandr_modes(out, output="Virtual-1"):
    """(connected line, [(mode, current, preferred)]) of one output in xrandr's output."""
    lines = out.splitlines()
    for i, l in enumerate(lines):
        if l.startswith(output + " "):
            modes = []
            for m in lines[i + 1:]:
                if not m.startswith("   "):
                    break
                f = m.split()
                modes.append((f[0], "*" in m, "+" in m))
            return l, modes
    return None, []


def test_xrandr(g):
    out = harness.sh_ok(g, "xrandr")
    head, modes = xrandr_modes(out)
    assert head and re.match(r"Virtual-1 connected (primary )?%dx%d\+0\+0" % (W, H), head), "xrandr: " + out
    sysfs = harness.sh_ok(g, "cat /sys/class/drm/card0-Virtual-1/modes").split()
    kernel = []
    for m in sysfs:
        if m not in kernel:
            kernel.append(m)
    names = [m[0] for m in modes]
    assert sorted(names) == sorted(kernel), "xrandr's modes %s, the kernel's %s" % (names, kernel)
    cur = [m[0] for m in modes if m[1]]
    pref = [m[0] for m in modes if m[2]]
    assert cur == ["%dx%d" % (W, H)], "current mode %s" % cur
    assert pref == [sysfs[0]], "preferred %s, the kernel's first mode %s" % (pref, sysfs[0])
    print("  Virtual-1: %d modes, current and preferred %s" % (len(names), cur[0]))


# --- 3: the picture ----------------------------------------------------------------------


def tiled_root(g):
    put_file(g, "/tmp/tile.xbm", xbm("tile", TILE_W, TILE_H, tile_bit))
    harness.sh_ok(g, "xsetroot -bitmap /tmp/tile.xbm -fg %s -bg %s" % (hexcol(TILE_FG), hexcol(TILE_BG)))


def vnc_equals_xwd(g, name, tries=6):
    """A VNC capture equal to `xwd -root` taken just before; retried while
    X may still be drawing.  Returns (vnc image, xwd image)."""
    why = None
    for i in range(tries):
        x = g.xwd_root(name + "-xwd")
        v = g.vnc_capture(name)
        why = v.diff(x)
        if why is None:
            return v, x
        time.sleep(1)
    raise AssertionError("%s: VNC capture differs from xwd -root: %s" % (name, why))


def test_picture(g):
    x_alive(g)
    mark = g.log_mark()
    tiled_root(g)
    want = expected_tile(W, H)
    why = rig.capture_until(lambda: g.vnc_capture("tile"), want)
    assert why is None, "tiled root on VNC: " + why
    why = g.xwd_root("tile").diff(want)
    assert why is None, "tiled root in xwd -root: " + why
    reqs, rects = g.traces_since(mark)
    print("  tiled root exact on VNC and in xwd; %d requests, %d rects" % (len(reqs), len(rects)))
    # text: two xterms (core font, and Xft's DejaVu Sans Mono), nothing computed here: VNC == X's own picture
    harness.sh_ok(g, "(xterm -geometry 70x20+30+40 -bg '#101820' -fg '#e0e0a0' -e sh -c "
                     "'seq 1 300; ls -l /usr/bin | head -40; exec sleep 100000' </dev/null >/tmp/xterm1.out 2>&1 &); "
                     "(xterm -geometry 50x12+560+420 -fa 'DejaVu Sans Mono' -fs 11 -bg white -fg '#204080' -e sh -c "
                     "'cat /etc/os-release; exec sleep 100000' </dev/null >/tmp/xterm2.out 2>&1 &); "
                     "for i in $(seq 100); do [ $(xwininfo -root -children | grep -c xterm) -ge 4 ] && break; "
                     "sleep 0.2; done; xwininfo -root -children | grep xterm")
    time.sleep(2)
    v, x = vnc_equals_xwd(g, "xterms")
    colours = len(set(v.data[i:i + 3] for i in range(0, len(v.data), 3)))
    assert colours > 10, "the xterm capture has %d colours: no text?" % colours
    # a smaller change: the second xterm goes, X repaints the root under it
    harness.sh_ok(g, "pkill -f 'cat /etc/os-release'; for i in $(seq 50); do "
                     "[ $(xwininfo -root -children | grep -c xterm) -lt 4 ] && break; sleep 0.2; done")
    time.sleep(1)
    v2, _ = vnc_equals_xwd(g, "xterms-2")
    tx, ty = W - 20, H - 20
    assert v2.px(tx, ty) == (TILE_FG if tile_bit(tx % TILE_W, ty % TILE_H) else TILE_BG), \
        "the root under the closed xterm: %s at %d,%d" % (v2.px(tx, ty), tx, ty)
    print("  xterms: VNC equals xwd -root (%d colours), and again after one closed" % colours)
    harness.sh_ok(g, "pkill xterm; sleep 0.5")
    no_oops(g)


# --- 4: the cursor -----------------------------------------------------------------------


def cursor_moves(g, mark):
    new = g.log_since(mark)
    return [tuple(int(v) for v in m.groups()) for m in
            re.finditer(r"virtio_desk_cursor_move output (\d+) (-?\d+),(-?\d+) visible (\d)", new)]


def test_cursor(g):
    x_alive(g)
    out = harness.sh_ok(g, "cat /sys/module/virtio_desk/parameters/cursor_hotspot")
    assert out.strip().endswith("Y"), "the guest should run with virtio_desk.cursor_hotspot=1: " + out
    put_file(g, "/tmp/cur.xbm", xbm("cur", CUR_W, CUR_H, lambda x, y: cursor_bits(x, y)[0], CUR_HOT))
    put_file(g, "/tmp/curmask.xbm", xbm("curmask", CUR_W, CUR_H, lambda x, y: cursor_bits(x, y)[1]))
    c = rfb.Client(5900 + g.vnc, cursor=True)
    try:
        c.update_request(incremental=False)
        harness.sh_ok(g, "xsetroot -cursor /tmp/cur.xbm /tmp/curmask.xbm -fg %s -bg %s"
                      % (hexcol(CUR_FG), hexcol(CUR_BG)))
        end = time.time() + 30
        seen = []
        while True:
            cur, _ = c.wait_cursor(timeout=max(1, end - time.time()))
            seen.append((cur.width, cur.height, cur.hot_x, cur.hot_y))
            n = cur.width * cur.height
            want = [expected_cursor_pixel(i % cur.width, i // cur.width) for i in range(n)]
            if cur.argb == want or time.time() > end:
                break
        assert cur.encoding == rfb.ENCODING_ALPHA_CURSOR, "cursor encoding %d" % cur.encoding
        bad = [(i % cur.width, i // cur.width, "%08x" % p, "%08x" % w)
               for i, (p, w) in enumerate(zip(cur.argb, want)) if p != w]
        assert not bad, "cursor %dx%d: %d pixels differ from the XBM's, first %s (cursors seen %s)" % (
            cur.width, cur.height, len(bad), bad[:3], seen)
        assert (cur.hot_x, cur.hot_y) == CUR_HOT, "hotspot %d,%d, the XBM's %d,%d" % (cur.hot_x, cur.hot_y, *CUR_HOT)
        print("  VNC cursor %dx%d exact, hotspot %d,%d" % (cur.width, cur.height, cur.hot_x, cur.hot_y))
        # the pointer: X (libinput, the device's absolute pointer) moves its cursor
        out = harness.sh_ok(g, "grep -i 'virtio-desk pointer' /var/log/Xorg.0.log | tail -3")
        assert "virtio-desk pointer" in out, "X did not add the device's pointer: " + g.xorg_log()[-2000:]
        time.sleep(1)
        c.update_request(incremental=True)
        mark = g.log_mark()
        points = [(517, 311), (100, 50), (W - 1, H - 1), (W // 2, H // 2), (123, 457), (0, 0)]
        got = []
        for x, y in points:
            n0 = len(cursor_moves(g, mark))
            c.pointer(0, x, y)
            end = time.time() + 10
            mv = []
            while time.time() < end:
                mv = [m for m in cursor_moves(g, mark)[n0:] if m[3] == 1]
                if mv and abs(mv[-1][1] - x) <= 1 and abs(mv[-1][2] - y) <= 1:
                    break
                time.sleep(0.1)
            time.sleep(0.3)
            mv = [m for m in cursor_moves(g, mark)[n0:] if m[3] == 1] or mv
            got.append((mv[-1][1], mv[-1][2]) if mv else None)
        # with the hotspot the device places the cursor by its hotspot: the
        # pointer's pixel.  X's pointer (libinput) lands up to a pixel above
        # and left of the viewer's: QEMU scales a pixel to p * 32767 / W,
        # rounded down, and libinput maps back with truncation.
        off = [None if a is None else (a[0] - p[0], a[1] - p[1]) for a, p in zip(got, points)]
        assert all(o is not None and abs(o[0]) <= 1 and abs(o[1]) <= 1 for o in off), \
            "device cursor at %s for the VNC pointer at %s" % (got, points)
        reqs, _ = g.traces_since(mark)
        assert not reqs, "%d TRANSFER_RECTS while the pointer moved" % len(reqs)
        print("  %d VNC pointer moves: the device's cursor hotspot at the pointer, offsets %s; no transfer"
              % (len(points), off))
    finally:
        c.close()
    no_oops(g)


# --- 5: resize -----------------------------------------------------------------------------


def test_resize(g):
    x_alive(g)
    g.vnc_set_desktop_size(NEW_W, NEW_H)
    mode = "%dx%d" % (NEW_W, NEW_H)
    harness.sh_ok(g, "(for i in $(seq 100); do [ \"$(head -1 /sys/class/drm/card0-Virtual-1/modes)\" = %s ] && exit 0; "
                     "sleep 0.2; done; cat /sys/class/drm/card0-Virtual-1/modes; exit 1)" % mode)
    mark = g.log_mark()
    harness.sh_ok(g, "xrandr --output Virtual-1 --auto")
    out = harness.sh_ok(g, "xdpyinfo | grep dimensions; xrandr")
    assert re.search(r"dimensions:\s+%s pixels" % mode, out), "X's screen after xrandr --auto: " + out
    head, modes = xrandr_modes(out)
    assert head and re.match(r"Virtual-1 connected (primary )?%s\+0\+0" % mode, head), out
    assert [m[0] for m in modes if m[1]] == [mode] and [m[0] for m in modes if m[2]] == [mode], out
    g.resize_mark = mark
    print("  X at %s after xrandr --auto" % mode)


def test_follows(g):
    """The modeset of test_resize reaches the VNC client."""
    x_alive(g)
    if getattr(g, "resize_mark", None) is None:  # -k selected this test alone
        test_resize(g)
    mark = g.resize_mark
    tiled_root(g)
    want = expected_tile(NEW_W, NEW_H)
    why = g.xwd_root("resized").diff(want)
    assert why is None, "after the resize, xwd -root: " + why
    why = rig.capture_until(lambda: g.vnc_capture("resized"), want)
    if why is not None:
        told = [l for l in g.log_since(mark).splitlines() if re.search(r"virtio_desk_(set_scanout|resource_)", l)]
        raise AssertionError("after xrandr --auto, VNC: %s; the device was told: %s" % (why, " | ".join(told[:12])))
    print("  VNC at %dx%d, exact" % (NEW_W, NEW_H))
    x_alive(g)
    errs = log_errors(g.xorg_log())
    assert not errs, "Xorg logged errors: " + " | ".join(errs[:5])
    no_oops(g)


def last_scanout(g, mark):
    """The resource of the device's last SET_SCANOUT of output 0 since mark."""
    ids = re.findall(r"virtio_desk_set_scanout output 0 res (\d+)", g.log_since(mark))
    return int(ids[-1]) if ids else None


def test_dpms(g):
    """DPMS off blanks the output for good (the plane updates X keeps doing
    must not show it again); DPMS on shows the exact picture again."""
    x_alive(g)
    tiled_root(g)
    out = harness.sh_ok(g, "xrandr | grep -o 'current [0-9]* x [0-9]*'")
    w, h = (int(v) for v in re.findall(r"\d+", out)[:2])
    want = expected_tile(w, h)
    why = rig.capture_until(lambda: g.vnc_capture("dpms-before"), want)
    assert why is None, "before DPMS off: " + why
    mark = g.log_mark()
    harness.sh_ok(g, "xset +dpms; xset dpms force off")
    time.sleep(2)
    assert last_scanout(g, mark) == 0, "after DPMS off the device shows resource %s" % last_scanout(g, mark)
    assert g.vnc_capture("dpms-off").diff(want) is not None, "VNC still shows the picture after DPMS off"
    mark = g.log_mark()
    harness.sh_ok(g, "xset dpms force on")
    why = rig.capture_until(lambda: g.vnc_capture("dpms-on"), want)
    assert why is None, "after DPMS on, VNC: %s; scanouts: %s" % (why, last_scanout(g, mark))
    print("  %dx%d: off blanks, on restores it exactly" % (w, h))
    x_alive(g)
    no_oops(g)


def run(kernel=None, initrd=None):
    """The Xorg guest; results go to harness.RESULTS through harness.check."""
    import xorgguest
    try:
        kernel, initrd, img = xorgguest.build()
    except Exception as e:  # noqa: BLE001
        msg = "cannot build the Xorg guest: %s" % e

        def no_guest():
            raise AssertionError(msg)
        harness.check(START, no_guest)
        return
    with harness.booted("xorg", kernel, initrd, "virtio-desk-pci,xres=%d,yres=%d" % (W, H), guest=xorgguest.XorgGuest,
                        img=img, trace=True, append="virtio_desk.cursor_hotspot=1",
                        extra=["-trace", "virtio_desk_cursor_*", "-trace", "virtio_desk_set_scanout",
                               "-trace", "virtio_desk_resource_create", "-trace", "virtio_desk_resource_destroy"]) as g:
        t = time.time()
        rc, out = g.start_x()
        g.x_started = (rc, out, time.time() - t)
        harness.check(START, test_start, g)
        harness.check(XRANDR, test_xrandr, g)
        harness.check(PICTURE, test_picture, g)
        harness.check(CURSOR, test_cursor, g)
        harness.check(RESIZE, test_resize, g)
        harness.check(FOLLOWS, test_follows, g)
        harness.check(DPMS, test_dpms, g)
