# SPDX-License-Identifier: GPL-2.0
"""Guest tests of the hardware cursor (VIRTIO_DESK_F_CURSOR): what a VNC
viewer that asked for the cursor pseudo-encodings receives when a guest
program uses the legacy cursor ioctls (cursortest.c, as Xorg's modesetting
driver does), and when libdrm's modetest runs its cursor test (-C) in the
Weston root.  TESTS names them for run_tests.py's guests."""

import re
import time

import rfb
from harness import Staged, sh_ok

W, H = 1024, 768
MOVES = 1000
# cursortest.c's hotspot for every image
HOT = (5, 9)


def cursor_pixel(n, x, y):
    """cursortest.c's cursor_pixel()."""
    if (x + y) % 16 == 0:
        return 0
    return 0xff000000 | ((x * 4 + n * 50) & 0xff) << 16 | ((y * 4) & 0xff) << 8 | (((x ^ y) * 3 + n) & 0xff)


def assert_image(cur, n, hot):
    assert (cur.width, cur.height) == (64, 64), "cursor %dx%d" % (cur.width, cur.height)
    assert (cur.hot_x, cur.hot_y) == hot, "hotspot %d,%d, expected %d,%d" % (cur.hot_x, cur.hot_y, *hot)
    bad = [(i % 64, i // 64) for i, p in enumerate(cur.argb) if p != cursor_pixel(n, i % 64, i // 64)]
    assert not bad, "%d cursor pixels differ from pattern %d, first at %s" % (len(bad), n, bad[0])


def next_image(c):
    """The next 64x64 cursor the viewer gets, and the framebuffer rects
    before it.  A viewer that connects gets the console's cursor at once:
    after an earlier program, QEMU's transparent 32x32 one."""
    before = []
    while True:
        cur, rects = c.wait_cursor()
        before += rects
        if (cur.width, cur.height) == (64, 64):
            return cur, before


def cursor_traces(g, mark):
    """CURSOR_MOVE and CURSOR_DEFINE the device traced since mark."""
    new = g.log_since(mark)
    moves = [tuple(int(v) for v in m.groups()) for m in
             re.finditer(r"virtio_desk_cursor_move output (\d+) (-?\d+),(-?\d+) visible (\d)", new)]
    defines = [tuple(int(v) for v in m.groups()) for m in
               re.finditer(r"virtio_desk_cursor_define output (\d+) (\d+)x(\d+) hotspot (\d+),(\d+)", new)]
    return moves, defines


def load_driver(g, hotspot):
    sh_ok(g, "rmmod virtio_desk && modprobe virtio_desk cursor_hotspot=%d && [ -e /dev/dri/card0 ]" % hotspot)


def test_vnc_cursor(g):
    """A VNC viewer gets cursortest's 64x64 image (hotspot 0,0 by default,
    the CURSOR2 hotspot with cursor_hotspot=1) and, while the cursor moves
    1000 times, no framebuffer update; the device gets 1000 CURSOR_MOVEs
    and no TRANSFER_RECTS."""
    c = rfb.Client(5900 + g.vnc, cursor=True)
    st = Staged(g, "cursortest %d %d" % (W, H))
    try:
        st.stage("ready")
        g.send("set 1 %d %d" % HOT)
        st.stage("ok")
        cur, _ = next_image(c)
        assert cur.encoding == rfb.ENCODING_ALPHA_CURSOR, "cursor encoding %d" % cur.encoding
        # DRIVER_CURSOR_HOTSPOT is off by default: the host is told 0,0
        assert_image(cur, 1, (0, 0))

        # a viewer always has an update request out; moves must not answer
        # it.  First the whole screen, which a new viewer has to get.
        c.update_request(incremental=False)
        while not any(r[0] == rfb.ENCODING_RAW for r in c.read_message()):
            pass
        c.update_request(incremental=True)
        mark = g.log_mark()
        g.send("moves %d" % MOVES)
        st.stage("ok")
        took = float(re.findall(r"@@MOVED %d ([0-9.]+)@@" % MOVES, st.output())[-1])
        g.send("set 2 %d %d" % HOT)
        st.stage("ok")
        cur, before = next_image(c)
        assert_image(cur, 2, (0, 0))
        fb = [r for r in before if r[0] == rfb.ENCODING_RAW]
        assert not fb, "%d framebuffer rects while the cursor moved: %s" % (len(fb), fb[:5])
        reqs, _ = g.traces_since(mark)
        moves, defines = cursor_traces(g, mark)
        assert not reqs, "%d TRANSFER_RECTS while the cursor moved" % len(reqs)
        assert len(moves) == MOVES, "%d CURSOR_MOVEs for %d moves" % (len(moves), MOVES)
        assert moves[-1] == (0, (MOVES - 1) % (W - 1), (MOVES - 1) % (H - 1), 1), moves[-1]
        assert [d[:3] for d in defines] == [(0, 64, 64)], defines
        print("  %d moves in %.3f s in the guest" % (MOVES, took))
        st.finish()
    finally:
        c.close()


def test_cursor_follows_pointer(g):
    """With cursor_hotspot=1 the CURSOR2 hotspot reaches the viewer, and
    the absolute pointer and the cursor agree: for each VNC pointer move,
    cursortest puts the hotspot on the pixel the guest read from its
    pointer, and the device's cursor is at the viewer's pointer."""
    load_driver(g, 1)
    try:
        c = rfb.Client(5900 + g.vnc, cursor=True)
        st = Staged(g, "cursortest %d %d" % (W, H))
        try:
            st.stage("ready")
            g.send("set 3 %d %d" % HOT)
            st.stage("ok")
            cur, _ = next_image(c)
            assert_image(cur, 3, HOT)
            # the first one far from where earlier tests left the pointer:
            # evdev drops a move to where it already is
            points = [(517, 311), (0, 0), (W - 1, H - 1), (W // 2, H // 2), (123, 457), (W - 100, H - 77)]
            mark = g.log_mark()
            g.send("follow %d" % len(points))
            time.sleep(2)  # cursortest has opened the pointer
            for x, y in points:
                c.pointer(0, x, y)
            st.stage("ok")
            at = [tuple(int(v) for v in m) for m in re.findall(r"@@AT (\d+) (\d+)@@", st.output())]
            moves, _ = cursor_traces(g, mark)
            got = [(x, y) for _, x, y, _ in moves]
            assert at == points, "the guest read %s for %s" % (at, points)
            assert got == points, "device cursor at %s for the pointer at %s" % (got, points)
            st.finish()
        finally:
            c.close()
    finally:
        Staged.recover()  # cursortest, if it is still waiting for a line
        load_driver(g, 0)


def modetest_connector(g):
    out = sh_ok(g, "modetest -M virtiodesk -c")
    m = re.search(r"^(\d+)\s+\d+\s+connected\s+Virtual-1", out, re.M)
    assert m, "no connected Virtual-1 in modetest -c: " + out[-1500:]
    return int(m.group(1))


def test_modetest_cursor(g):
    """libdrm's modetest -C (its hardware cursor test) on virtio_desk: the
    viewer gets modetest's 64x64 cursor, the device gets CURSOR_MOVEs at
    many positions, and the moves cost no TRANSFER_RECTS."""
    conn = modetest_connector(g)
    c = rfb.Client(5900 + g.vnc, cursor=True)
    try:
        # modetest runs its cursor test until its stdin ends, 6 s later
        g.send("sleep 6 | modetest -M virtiodesk -s %d:%dx%d -C > /tmp/mt.log 2>&1; "
               "rc=$?; cat /tmp/mt.log; [ $rc = 0 ]" % (conn, W, H))
        cur, _ = c.wait_cursor(timeout=60)
        mark = g.log_mark()
        m = g.expect(r"@@DONE (\d+)@@", 120)
        assert m.group(1) == "0", "modetest failed (%s)" % m.group(1)
        assert (cur.width, cur.height) == (64, 64), "cursor %dx%d" % (cur.width, cur.height)
        assert any(p >> 24 for p in cur.argb), "modetest's cursor is all transparent"
        log = g.log_since(mark)
        # up to modetest's last visible cursor: then it exits and fbcon comes back
        last = max((mm.end() for mm in re.finditer(r"virtio_desk_cursor_move .* visible 1", log)), default=0)
        moves = re.findall(r"virtio_desk_cursor_move output 0 (-?\d+),(-?\d+) visible 1", log[:last])
        transfers = len(re.findall(r"virtio_desk_transfer_rects ", log[:last]))
        where = set(moves)
        assert len(where) >= 10, "modetest moved the cursor to %d places: %s" % (len(where), sorted(where)[:10])
        assert transfers == 0, "%d TRANSFER_RECTS during modetest's cursor moves" % transfers
    finally:
        c.close()


TESTS = {
    "desk": [
        ("cursor_vnc_image_no_framebuffer_update", test_vnc_cursor),
        ("cursor_follows_absolute_pointer", test_cursor_follows_pointer),
    ],
    "weston": [("cursor_modetest_C_weston_root", test_modetest_cursor)],
}
