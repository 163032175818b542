# SPDX-License-Identifier: GPL-2.0
"""Guest tests of outputs and what a UI asks of them: connectors with
max_outputs=2, a VNC client's SetDesktopSize becoming the preferred mode
and the EDID, two monitors placed by a D-Bus display client (SetUIInfo)
with a VNC server per head, and Weston re-reading its head after a VNC
resize."""

import contextlib
import re
import subprocess
import time

import rig
from harness import Staged, pattern_exact, sh_ok


def test_two_outputs(g):
    """max_outputs=2: two CRTC/connector pairs; the second reports no monitor
    until a UI asks for it."""
    out = sh_ok(g, "cd /sys/class/drm && for c in card0-Virtual-*; do echo $c $(cat $c/status); done")
    assert "card0-Virtual-1 connected" in out and "card0-Virtual-2 disconnected" in out, out


def test_display_change(g):
    """A VNC client asks for 1100x700: config-change event, GET_DISPLAY_INFO,
    hotplug; the connector's preferred mode follows and can be used."""
    g.vnc_set_desktop_size(1100, 700)
    end = time.time() + 20
    out = ""
    while time.time() < end:
        out = sh_ok(g, "kmstest info | grep preferred")
        if "1100x700" in out:
            break
        time.sleep(0.5)
    assert "mode 1100x700@60 preferred" in out, "preferred mode did not follow: " + out
    pattern_exact(g, {"base": ("all", "resize-base"), "clips": ("screendump", "resize-clips")}, 1100, 700)


def read_edid(g, name, conn="Virtual-1"):
    """The connector's EDID from sysfs (after a probe), decoded on the host
    by Debian's edid-decode: (bytes, edid-decode's text)."""
    sh_ok(g, "kmstest info >/dev/null")
    out = sh_ok(g, "od -An -tx1 -v /sys/class/drm/card*-%s/edid" % conn)
    data = bytes.fromhex("".join(out.split()))
    path = g.dir / (name + ".edid")
    path.write_bytes(data)
    r = subprocess.run(["edid-decode", str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    (g.dir / (name + ".edid.txt")).write_text(r.stdout)
    return data, r.stdout


def edid_preferred(text):
    """WxH and Hz of the first detailed timing (the preferred mode)."""
    m = re.search(r"DTD 1:\s+(\d+)x(\d+)\s+([\d.]+) Hz", text)
    return (int(m.group(1)), int(m.group(2)), float(m.group(3))) if m else None


def test_edid(g):
    """F_EDID: the connector's EDID parses, names QEMU's monitor and has the
    preferred mode as its first detailed timing at 60 Hz; after a VNC
    client's SetDesktopSize it names the new mode, and so does the kernel."""
    for w, h in ((1100, 700), (1280, 720)):
        if (w, h) != (1100, 700):
            g.vnc_set_desktop_size(w, h)
        end = time.time() + 20
        while True:
            data, text = read_edid(g, "edid-%dx%d" % (w, h))
            pref = edid_preferred(text)
            if (pref and pref[:2] == (w, h)) or time.time() > end:
                break
            time.sleep(0.5)
        assert len(data) >= 128 and len(data) % 128 == 0 and data[:8] == bytes.fromhex("00ffffffffffff00"), \
            "no EDID in sysfs (%d bytes): %s" % (len(data), data[:16].hex())
        assert "Display Product Name: 'QEMU Monitor'" in text, "monitor name: " + text[:1500]
        assert pref and pref[:2] == (w, h) and abs(pref[2] - 60) < 0.5, \
            "EDID's preferred timing %s, expected %dx%d at 60 Hz: %s" % (pref, w, h, text[:1500])
        out = sh_ok(g, "kmstest info | grep preferred")
        assert "mode %dx%d@60 preferred" % (w, h) in out, "kernel's preferred mode: " + out
    g.vnc_set_desktop_size(1100, 700)


def connectors(g):
    """{index: (connected, suggested X, suggested Y)} as a KMS client reads them."""
    out = sh_ok(g, "outputs layout")
    conns = {}
    for m in re.finditer(r"@@CONN (\d+) ([01]) (-?\d+) (-?\d+) (-?\d+)@@", out):
        # every connector tells compositors to follow a hotplug's new preferred mode
        assert m.group(5) == "1", "hotplug_mode_update of connector %s: %s" % (m.group(1), m.group(5))
        conns[int(m.group(1))] = (m.group(2) == "1", int(m.group(3)), int(m.group(4)))
    return conns


def wait_connectors(g, want, timeout=20):
    end = time.time() + timeout
    while True:
        got = connectors(g)
        if all(got.get(i) == v for i, v in want.items()) or time.time() > end:
            return got
        time.sleep(0.5)


def test_multihead(g, bus, vnc1):
    """Two outputs, each its own QEMU console: a D-Bus display client places
    monitor 2 right of monitor 1 (SetUIInfo), the connectors' suggested X/Y
    and the EDID's physical size follow (and every connector has
    hotplug_mode_update 1); a client drives both outputs with
    different pictures and a VNC server per head shows each exactly; monitor
    2 switched off in the UI disconnects the connector, switched on again it
    comes back and shows its picture again."""
    got = connectors(g)
    assert got.get(0, (None,))[0] is True and got.get(1, (None,))[0] is False, \
        "before the UI: output 1 connected, output 2 not: %s" % got
    bus.set_ui_info(0, 1024, 768)
    bus.set_ui_info(1, 1024, 768, x=1024, y=0, width_mm=300, height_mm=190)
    got = wait_connectors(g, {0: (True, 0, 0), 1: (True, 1024, 0)})
    assert got.get(1) == (True, 1024, 0), "after SetUIInfo at 1024,0: %s" % got
    _, text = read_edid(g, "multihead-edid", "Virtual-2")
    assert "Maximum image size: 30 cm x 19 cm" in text and edid_preferred(text)[:2] == (1024, 768), \
        "EDID of monitor 2 (300x190 mm, 1024x768): " + text[:1500]

    for rnd in ("on", "again"):
        st = Staged(g, "outputs dual 1024 768")
        st.stage("dual")
        for head, display, invert in ((0, None, False), (1, vnc1, True)):
            exp = rig.Canvas(1024, 768, invert=invert).image()
            why = rig.capture_until(lambda: g.vnc_capture("multihead-%s-%d" % (rnd, head), display), exp)
            assert why is None, "%s: VNC of head %d: %s" % (rnd, head, why)
        st.finish()
        if rnd == "on":
            bus.set_ui_info(1, 0, 0)
            got = wait_connectors(g, {1: (False, 1024, 0)})
            assert got.get(1, (None,))[0] is False, "monitor 2 off in the UI: %s" % got
            out = sh_ok(g, "cat /sys/class/drm/card0-Virtual-2/status")
            assert "disconnected" in out, out
            bus.set_ui_info(1, 1024, 768, x=1024, y=0, width_mm=300, height_mm=190)
            got = wait_connectors(g, {1: (True, 1024, 0)})
            assert got.get(1) == (True, 1024, 0), "monitor 2 on again: %s" % got
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def test_weston_monitor_change(g):
    """Weston on the device: its desktop reaches the VNC client; when the
    client asks for another size (SetDesktopSize), Weston re-reads the head
    (the new EDID) after the driver's hotplug event.  Weston 10 then keeps its
    mode ("not bothering to do anything about it": its policy for a changed
    head); compositors that follow hotplug_mode_update (Mutter, KWin) take
    the new preferred mode."""
    rc, out = g.start_weston()
    assert rc == 0, "weston did not start: " + out
    end = time.time() + 60
    while "Output 'Virtual-1' enabled" not in g.sh("cat /tmp/weston.log", 30)[1] and time.time() < end:
        time.sleep(0.5)
    end = time.time() + 60
    while True:  # desktop-shell draws its background and panel a few seconds later under TCG
        shot = g.vnc_capture("weston-desktop")
        colours = len(set(shot.data[i:i + 3] for i in range(0, len(shot.data), 3 * 997)))
        if colours > 2 or time.time() > end:
            break
        time.sleep(1)
    assert (shot.w, shot.h) == (1024, 768) and colours > 2, \
        "no Weston desktop over VNC (%dx%d, %d colours)" % (shot.w, shot.h, colours)
    g.vnc_set_desktop_size(1100, 700)
    end = time.time() + 30
    while True:
        log = g.sh("cat /tmp/weston.log", 30)[1]
        if "Detected a monitor change on head 'Virtual-1'" in log or time.time() > end:
            break
        time.sleep(0.5)
    assert re.search(r"DRM: head 'Virtual-1' updated, connector \d+ is connected, EDID make 'RHT', model 'QEMU Monitor'", log) \
        and "Detected a monitor change on head 'Virtual-1'" in log, "Weston did not re-read the head: " + log[-2000:]
    rc, out = g.sh("pgrep -x weston", 30)
    assert rc == 0, "weston died after the monitor change: " + out
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


# the multihead guest's D-Bus session and second VNC server (multihead_guest())
MULTIHEAD = {}


@contextlib.contextmanager
def multihead_guest():
    """A private D-Bus session for QEMU's D-Bus display and a VNC server on
    head 1: the multihead guest's extra QEMU arguments."""
    bus = rig.SessionBus(rig.OUT / "multihead-bus.sock")
    vnc1 = rig.free_port(5900 + 40) - 5900
    MULTIHEAD.update(bus=bus, vnc1=vnc1)
    try:
        yield bus.qemu_args() + ["-vnc", "127.0.0.1:%d,id=head1,display=disp,head=1" % vnc1]
    finally:
        bus.stop()


TESTS = {
    "desk": [
        ("display_change_from_vnc_client", test_display_change),
        ("edid_follows_vnc_client", test_edid),
    ],
    "hostmem": [("two_outputs_two_connectors", test_two_outputs)],
    "multihead": [("multihead_layout_hotplug_two_vnc",
                   lambda g: test_multihead(g, MULTIHEAD["bus"], MULTIHEAD["vnc1"]))],
    "weston": [("weston_rereads_head_after_vnc_resize", test_weston_monitor_change)],
}
