#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Guest tests for virtio_desk.ko: boots Debian's 6.12 kernel under our QEMU
with -device virtio-desk-pci (and once with virtio-gpu-pci for the
differential checks) and asserts the pixels real VNC and SPICE clients and
QMP screendump receive, and the input events the guest reads from
/dev/input for what QMP and a VNC client send (and the LED state a VNC
client gets back).

Prints "N passed, N failed" last; exits non-zero on any failure.
Select tests with: run_tests.py [-k SUBSTRING]...
"""

import contextlib
import re
import signal
import struct
import subprocess
import sys
import time
import traceback

import cursortests
import diskguest
import lifecycle_tests
import rfb
import rig
import smp_tests
import watch_tests

RESULTS = []
SELECT = [a for i, a in enumerate(sys.argv[1:]) if i > 0 and sys.argv[i] == "-k"]


def selected(name):
    return not SELECT or any(s in name for s in SELECT)


def check(name, fn, *args):
    if not selected(name):
        return
    t = time.time()
    try:
        fn(*args)
        RESULTS.append((name, True))
        print("PASS %s (%.1f s)" % (name, time.time() - t), flush=True)
    except Exception as e:  # noqa: BLE001
        RESULTS.append((name, False))
        print("FAIL %s (%.1f s): %s" % (name, time.time() - t, e), flush=True)
        if not isinstance(e, AssertionError):
            traceback.print_exc()
        Staged.recover()


def debugfs_knob(name):
    """Shell path of one of the driver's test knobs, in the DRM device's
    debugfs directory: /sys/kernel/debug/dri/ names it after the virtio
    device (and links the minor's number to it)."""
    return "/sys/kernel/debug/dri/$(basename /sys/bus/virtio/drivers/virtio_desk/virtio*)/" + name


def vdesk_stats(g):
    """The driver's debugfs counters (vdesk_stats), name -> value."""
    out = sh_ok(g, "cat " + debugfs_knob("vdesk_stats"))
    return {k: int(v) for k, v in re.findall(r"([a-z_]+) (\d+)", out)}


def sh_ok(g, line, timeout=120):
    rc, out = g.sh(line, timeout)
    assert rc == 0, "guest command %r failed (%d): %s" % (line, rc, out[-2000:])
    return out


class Staged:
    """Runs a staged kmstest command; stage() waits for the next stage."""
    active = None

    def __init__(self, g, line):
        self.g = g
        self.start = g.pos
        Staged.active = self
        g.send(line)

    def output(self):
        """What the command printed so far (up to the stage last waited for)."""
        with self.g.lock:
            return self.g.buf[self.start:self.g.pos].decode(errors="replace")

    @classmethod
    def recover(cls):
        """After a failed test: let a waiting kmstest finish."""
        st, cls.active = cls.active, None
        if st is None:
            return
        for _ in range(8):
            try:
                st.g.send("")
                st.g.expect(r"@@DONE (\d+)@@", 5)
                return
            except Exception:  # noqa: BLE001
                pass

    def done(self, timeout=60):
        """kmstest exits by itself after its last stage."""
        Staged.active = None
        m = self.g.expect(r"@@DONE (\d+)@@", timeout)
        assert m.group(1) == "0", "kmstest exited with %s" % m.group(1)

    def stage(self, name, timeout=120):
        m = self.g.expect(r"@@STAGE %s@@|@@DONE (\d+)@@" % re.escape(name), timeout)
        if m.group(1) is not None:  # kmstest ended (failed) before the stage
            Staged.active = None
            raise AssertionError("kmstest exited with %s before stage %r: %s"
                                 % (m.group(1), name, self.output()[-1500:]))

    def next(self):
        self.g.send("")

    def finish(self, timeout=60):
        self.g.send("")
        Staged.active = None
        m = self.g.expect(r"@@DONE (\d+)@@", timeout)
        assert m.group(1) == "0", "kmstest exited with %s" % m.group(1)


def all_clients(g, name, expected):
    """QMP screendump, gvnccapture and spicy-screenshot all equal expected."""
    errs = []
    for what, fn in (("screendump", lambda: g.screendump(name)),
                     ("vnc", lambda: g.vnc_capture(name)),
                     ("spice", lambda: g.spice_capture(name))):
        why = rig.capture_until(fn, expected)
        if why:
            errs.append("%s: %s" % (what, why))
    assert not errs, "%s: %s" % (name, "; ".join(errs))


# --- tests on virtio-desk ------------------------------------------------------


def test_pattern_and_partial(g, shots, one_request=True):
    """(1) pattern + damage clips and (2) partial updates, seen by VNC and SPICE;
    the device trace shows each clip as its own rect, all in one request
    (one_request False: in as many as max_segments makes it, whole rects in
    order)."""
    st = Staged(g, "kmstest pattern 1024 768 strict")
    st.stage("base")
    all_clients(g, "base", rig.expected_pattern(1024, 768, "base"))
    for stage, clips in (("clips", rig.CLIPS1), ("partial", rig.CLIPS2)):
        mark = g.log_mark()
        st.next()
        st.stage(stage)
        # the undamaged rect between the clips must not be on screen: no bounding box
        all_clients(g, stage, rig.expected_pattern(1024, 768, stage))
        reqs, rects = g.traces_since(mark)
        if one_request:
            assert len(reqs) == 1 and reqs[0][1] == len(clips), \
                "%s: expected one request with %d rects, traced %s" % (stage, len(clips), reqs)
        else:
            assert 1 <= len(reqs) <= len(clips) and sum(r[1] for r in reqs) == len(clips), \
                "%s: expected %d whole rects in at most as many requests, traced %s" % (stage, len(clips), reqs)
        assert [r[1:] for r in rects] == [tuple(c) for c in clips], \
            "%s: traced rects %s, damaged %s" % (stage, rects, clips)
    st.finish()


def test_row_layout(g):
    """The same pattern test with every rect sent row by row (stride = row
    bytes) instead of one byte range (debugfs xfer_layout=2).  A descriptor
    a row, and max_segments 512: the clips' rows go out in two requests."""
    knob = debugfs_knob("xfer_layout")
    sh_ok(g, "echo 2 > " + knob)
    try:
        test_pattern_and_partial(g, {}, one_request=False)
    finally:
        Staged.recover()
        sh_ok(g, "echo 0 > " + knob)


def run_differential_program(g, shots, tag):
    """kmstest pattern without undamaged changes, plus fbcon text: screendumps."""
    st = Staged(g, "kmstest pattern 1024 768")
    for stage in ("base", "clips", "partial"):
        st.stage(stage)
        time.sleep(0.3)
        shots[stage] = g.screendump("diff-%s-%s" % (tag, stage))
        if stage != "partial":
            st.next()
    st.finish()
    # fbcon: clear, write text, let the deferred-io flush run
    sh_ok(g, r"printf '\033[2J\033[H' > /dev/tty1; for i in 1 2 3 4 5 6 7 8; do "
          r"echo 'line '$i': The quick brown fox jumps over the lazy dog 0123456789 !@#$%^&*()' > /dev/tty1; done")
    time.sleep(1.5)
    shots["fbcon"] = g.screendump("diff-%s-fbcon" % tag)
    lit = sum(1 for i in range(0, len(shots["fbcon"].data), 3) if shots["fbcon"].data[i:i + 3] != b"\0\0\0")
    assert lit > 2000, "%s: fbcon text not on screen (%d lit pixels)" % (tag, lit)
    if tag == "desk":
        why = rig.capture_until(lambda: g.vnc_capture("fbcon"), shots["fbcon"])
        assert why is None, "fbcon over VNC: " + why


def test_rect64_after_modeset(g):
    """A 64x64 DIRTYFB clip after a modeset reaches the host as exactly that rect."""
    st = Staged(g, "kmstest rect64 1920 1080 200 120")
    st.stage("modeset")
    time.sleep(0.3)
    mark = g.log_mark()
    st.next()
    st.stage("rect64")
    time.sleep(0.3)
    reqs, rects = g.traces_since(mark)
    assert g.log_mark() > 0, "no trace output at all (trace event missing?)"
    assert len(reqs) == 1 and len(rects) == 1 and rects[0][1:] == (200, 120, 64, 64), \
        "expected one request with one 64x64 rect at 200,120 after the modeset, got %s %s" % (reqs, rects)
    exp = rig.Canvas(1920, 1080)
    exp.rect((200, 120, 64, 64), 2)
    why = rig.capture_until(lambda: g.screendump("rect64"), exp.image())
    assert why is None, "screendump: %s" % why
    st.finish()


def test_modes_and_flips(g):
    """Mode changes 1024x768, 1280x800, 1920x1080 with page flips."""
    modes = [(1024, 768), (1280, 800), (1920, 1080)]
    st = Staged(g, "kmstest modes " + " ".join("%d %d" % m for m in modes))
    for w, h in modes:
        st.stage("mode %d %d" % (w, h))
        exp = rig.expected_mode(w, h)
        why = rig.capture_until(lambda: g.screendump("mode-%dx%d" % (w, h)), exp)
        assert why is None, "%dx%d screendump: %s" % (w, h, why)
        why = rig.capture_until(lambda: g.vnc_capture("mode-%dx%d" % (w, h)), exp)
        assert why is None, "%dx%d vnc: %s" % (w, h, why)
        st.next()
    st.done()


def test_formats(g):
    """Every pixel format the plane offers shows the same picture."""
    st = Staged(g, "kmstest formats 1024 768")
    errs = []
    for name in ("XR24", "AR24", "XB24", "AB24", "RG16"):
        st.stage("fmt " + name)
        exp = rig.expected_rgb565(1024, 768) if name == "RG16" else rig.expected_pattern(1024, 768, "base")
        why = rig.capture_until(lambda: g.screendump("fmt-" + name), exp)
        if why:
            errs.append("%s: %s" % (name, why))
        st.next()
    st.done()
    assert not errs, "; ".join(errs)


def test_two_outputs(g):
    """max_outputs=2: two CRTC/connector pairs; the second reports no monitor
    until a UI asks for it."""
    out = sh_ok(g, "cd /sys/class/drm && for c in card0-Virtual-*; do echo $c $(cat $c/status); done")
    assert "card0-Virtual-1 connected" in out and "card0-Virtual-2 disconnected" in out, out


def test_no_input(g):
    """input=off: the device offers no VIRTIO_DESK_F_INPUT, the driver makes
    no input devices and the display works (the other tests here)."""
    out = sh_ok(g, "cat /sys/bus/virtio/devices/virtio*/features")
    assert out.strip()[:1] == "0", "VIRTIO_DESK_F_INPUT negotiated with input=off: " + out
    names, out = input_devices(g)
    assert names == [], out
    out = sh_ok(g, "ls /sys/bus/virtio/devices/virtio*/input 2>&1; true")
    assert "No such file" in out, out


def test_hostmem_exhausted(g):
    """A framebuffer does not fit in max_hostmem: the driver refuses it
    (logged), the modeset fails cleanly, and the display keeps working."""
    rc, out = g.sh("kmstest pattern 1920 1080 strict </dev/null")
    assert rc != 0, "1920x1080 should not fit in 8 MiB of host memory: " + out
    out = sh_ok(g, "dmesg | grep virtio_desk | tail -n 5")
    assert "no host memory for a 1920x1080 framebuffer" in out, "error not logged: " + out
    st = Staged(g, "kmstest pattern 1024 768 strict")
    st.stage("base")
    all_clients(g, "hostmem-base", rig.expected_pattern(1024, 768, "base"))
    st.next()
    st.stage("clips")
    all_clients(g, "hostmem-clips", rig.expected_pattern(1024, 768, "clips"))
    st.next()
    st.stage("partial")
    st.finish()
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


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
    st = Staged(g, "kmstest pattern 1100 700 strict")
    st.stage("base")
    all_clients(g, "resize-base", rig.expected_pattern(1100, 700, "base"))
    st.next()
    st.stage("clips")
    why = rig.capture_until(lambda: g.screendump("resize-clips"), rig.expected_pattern(1100, 700, "clips"))
    assert why is None, why
    st.next()
    st.stage("partial")
    st.finish()


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


# --- several monitors: layout and hotplug from a UI (max_outputs=2, D-Bus display) ---------


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


def test_overlapping_clips(g):
    """Clips adding up to more pixels than the screen are split over requests
    (the device bounds one request to one copy of the resource)."""
    st = Staged(g, "kmstest overlap 1024 768")
    st.stage("base")
    mark = g.log_mark()
    st.next()
    st.stage("overlap")
    exp = rig.Canvas(1024, 768)
    exp.rect((100, 100, 300, 200), 4)
    why = rig.capture_until(lambda: g.screendump("overlap"), exp.image())
    assert why is None, why
    reqs, rects = g.traces_since(mark)
    assert [r[1:] for r in rects] == [(0, 0, 1024, 768), (0, 0, 1024, 768), (100, 100, 300, 200)], rects
    assert len(reqs) == 3, reqs
    st.finish()
    out = sh_ok(g, "dmesg | grep virtio_desk | grep -c ERROR; true")
    assert out.strip().splitlines()[-1] == "0", "device errors: " + out


def test_reload(g):
    """rmmod/modprobe 20 times; the display still works afterwards."""
    sh_ok(g, "for i in $(seq 20); do rmmod virtio_desk || exit 1; modprobe virtio_desk || exit 1; "
             "[ -e /dev/dri/card0 ] || exit 2; done; lsmod | grep virtio_desk", timeout=600)
    # driver unbind/bind through sysfs as well
    sh_ok(g, "d=$(basename $(readlink /sys/bus/virtio/drivers/virtio_desk/virtio*)); for i in 1 2 3; do "
             "echo $d > /sys/bus/virtio/drivers/virtio_desk/unbind || exit 1; [ ! -e /dev/dri/card0 ] || exit 2; "
             "echo $d > /sys/bus/virtio/drivers/virtio_desk/bind || exit 3; [ -e /dev/dri/card0 ] || exit 4; done")
    out = sh_ok(g, "kmstest info")
    assert "1024x768" in out, out
    st = Staged(g, "kmstest pattern 1024 768 strict")
    st.stage("base")
    why = rig.capture_until(lambda: g.screendump("reload"), rig.expected_pattern(1024, 768, "base"))
    assert why is None, why
    st.next()
    st.stage("clips")
    why = rig.capture_until(lambda: g.vnc_capture("reload-clips"), rig.expected_pattern(1024, 768, "clips"))
    assert why is None, why
    st.next()
    st.stage("partial")
    st.finish()


def test_hot_unplug(g):
    """device_del while a KMS client animates: removal completes, no oops;
    device_add of a new one: the driver binds and the display works."""
    sh_ok(g, "kmstest anim 1024 768 60 >/tmp/anim.log 2>&1 & sleep 2")
    g.qmp_cmd("device_del", id="disp")
    ev = g.wait_event("DEVICE_DELETED", 60)
    assert ev is not None, "no DEVICE_DELETED event"
    time.sleep(1)
    out = sh_ok(g, "sleep 1; ls /dev/dri 2>&1; cat /tmp/anim.log; ls /sys/bus/virtio/devices | wc -l")
    assert "card0" not in out, "card0 still there: " + out
    names, out = input_devices(g)
    assert names == [], "input devices left after device_del: " + out
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])
    # plug a new one in: the loaded driver binds to it and it works
    g.qmp_cmd("device_add", driver="virtio-desk-pci", id="disp2", bus="rp1")
    end = time.time() + 60
    while time.time() < end:
        rc, out = g.sh("[ -e /dev/dri/card0 ] && kmstest info")
        if rc == 0:
            break
        time.sleep(1)
    assert rc == 0, "no card after device_add: " + out
    names, out = input_devices(g)
    assert sorted(names) == [KBD, PTR], "input devices after device_add: " + out
    key_arrives(g)
    st = Staged(g, "kmstest pattern 1024 768 strict")
    st.stage("base")
    st.next()
    st.stage("clips")
    all_clients(g, "replug-clips", rig.expected_pattern(1024, 768, "clips"))
    st.next()
    st.stage("partial")
    st.finish()
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def dmesg(g, word):
    """The kernel log lines with word (not the console copies on the serial line)."""
    out = sh_ok(g, "dmesg | grep '%s' | sed 's/^/@DM@/'" % word)
    return "\n".join(l[4:] for l in out.splitlines() if l.startswith("@DM@"))


def recovered_by_itself(g):
    """The driver initialised the reset device again on its own (vdesk_pm.c):
    both of its messages are logged, once, and no error but the one that
    noticed the reset."""
    sh_ok(g, "for i in $(seq 60); do dmesg | grep -q 'device initialised again' && break; sleep 0.5; done",
          timeout=120)
    out = dmesg(g, "virtio_desk")
    assert out.count("device was reset: initialising it again") == 1 and \
        out.count("device initialised again, display restored") == 1, "no recovery logged: " + out


def no_stuck_tasks(g):
    """No task left in uninterruptible sleep (what the hung-task detector would report later)."""
    out = sh_ok(g, "sleep 1; for f in /proc/[0-9]*/status; do grep -q '^State:.*D' $f && "
                   "echo STUCK $(grep Name: $f) $f; done; true")
    assert "STUCK" not in out, "tasks in D state: " + out
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def test_device_errors(g):
    """The device really answers errors: with debugfs check_limits=N the driver asks
    for 1920x1080 framebuffers beyond max_hostmem itself; the device answers
    RESOURCE_CREATE with OUT_OF_MEMORY (QEMU logs the guest error), the
    driver logs each answer, the commit fails with ENOMEM, and the driver
    keeps working: the display is exact again, nothing oopses or hangs."""
    knob = debugfs_knob("check_limits")
    mark = g.log_mark()
    sh_ok(g, "dmesg -c >/dev/null; echo N > " + knob)
    try:
        for i in range(3):
            rc, out = g.sh("kmstest pattern 1920 1080 strict </dev/null")
            assert rc != 0 and "Cannot allocate memory" in out, \
                "attempt %d: the commit should fail with ENOMEM: %s" % (i, out)
    finally:
        sh_ok(g, "echo Y > " + knob)
    out = dmesg(g, "virtio_desk")
    n = out.count("command 0x101 failed: 0x1201 (OUT_OF_MEMORY)")
    assert n == 3, "expected 3 logged OUT_OF_MEMORY answers to RESOURCE_CREATE, got %d: %s" % (n, out)
    assert "no host memory" not in out, "the driver refused by itself: " + out
    qlog = g.log_since(mark)
    n = len(re.findall(r"virtio-desk: \S+: resource \d+ format 0x34325258 1920x1080: max_hostmem exceeded", qlog))
    assert n == 3, "QEMU answered %d of 3 RESOURCE_CREATE with max_hostmem exceeded: %s" % (n, qlog[-1500:])
    st = Staged(g, "kmstest pattern 1024 768 strict")
    st.stage("base")
    all_clients(g, "deverr-base", rig.expected_pattern(1024, 768, "base"))
    st.next()
    st.stage("clips")
    all_clients(g, "deverr-clips", rig.expected_pattern(1024, 768, "clips"))
    st.next()
    st.stage("partial")
    why = rig.capture_until(lambda: g.screendump("deverr-partial"), rig.expected_pattern(1024, 768, "partial"))
    assert why is None, why
    st.finish()
    out = dmesg(g, "virtio_desk")
    assert out.count("ERROR") == 3, "more driver errors: " + out
    no_stuck_tasks(g)


def test_poweroff(g):
    """poweroff -f while fbcon draws (kernel messages on tty0, a writer on
    tty1): device_shutdown stops the control queue before the last console
    updates; the driver does not log them as errors ("cannot queue command
    0x104: -5" before), nothing oopses, QEMU exits."""
    with g.lock:
        start = len(g.buf)
    g.send("(while :; do echo powering off; done > /dev/tty1 &); sleep 1; poweroff -f")
    try:
        g.proc.wait(90)
    except Exception:  # noqa: BLE001
        raise AssertionError("QEMU did not exit after poweroff -f")
    time.sleep(1)  # the serial reader drains
    with g.lock:
        tail = g.buf[start:].decode(errors="replace")
    assert "reboot: Power down" in tail, "no power down in the log: " + tail[-1500:]
    errs = [l for l in tail.splitlines() if "virtio_desk" in l or "virtio-desk" in l]
    assert not errs, "driver messages at poweroff: " + " | ".join(errs[:10])
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def test_pci_reset(g):
    """A function level reset (sysfs reset) while a KMS client animates: the
    device forgets its queues and resources behind the driver's back.  The
    driver logs it once (a request that is never answered), initialises the
    device again by itself (no unbind/bind), the client finishes, no task
    stays blocked (hung-task detector at 20 s, no D state), no oops; the
    next client's picture is exact on all three clients and keys arrive."""
    out = sh_ok(g, "basename $(readlink -f /sys/bus/virtio/devices/virtio*/..)")
    pci = re.findall(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", out)[-1]
    sh_ok(g, "echo 20 > /proc/sys/kernel/hung_task_timeout_secs; dmesg -c >/dev/null")
    sh_ok(g, "kmstest anim 1024 768 16 >/tmp/anim.log 2>&1 & sleep 3")
    out = sh_ok(g, "cat /sys/bus/pci/devices/%s/reset_method; echo 1 > /sys/bus/pci/devices/%s/reset" % (pci, pci))
    assert "flr" in out, "no FLR: " + out
    sh_ok(g, "for i in $(seq 60); do dmesg | grep -q 'does not answer' && break; sleep 1; done", timeout=180)
    out = dmesg(g, "virtio_desk")
    lines = [l for l in out.splitlines() if "ERROR" in l]
    assert len(lines) == 1 and "device does not answer command 0x104 (it was reset), giving up on it" in lines[0], \
        "expected one logged error: " + out
    out = sh_ok(g, "wait $!; cat /tmp/anim.log", timeout=180)
    assert re.search(r"anim: \d+ frames", out), "the KMS client did not finish: " + out
    no_stuck_tasks(g)
    recovered_by_itself(g)
    st = Staged(g, "kmstest pattern 1024 768 strict")
    st.stage("base")
    st.next()
    st.stage("clips")
    all_clients(g, "reset-clips", rig.expected_pattern(1024, 768, "clips"))
    st.next()
    st.stage("partial")
    st.finish()
    key_arrives(g)
    no_stuck_tasks(g)


def test_dkms(g):
    """guest-driver/dkms.conf: `dkms add` and `dkms build -k <release>
    --kernelsourcedir <the extracted headers>` (rig.build_dkms) built a
    module whose vermagic is the kernel's; it loads in place of the
    make-built one, binds, and shows the pattern exactly."""
    assert rig.DKMS.get("ko"), "no DKMS build: %s" % rig.DKMS.get("error")
    ko = rig.DKMS_KO
    out = sh_ok(g, "echo REL $(uname -r); echo VM $(modinfo -F vermagic %s); echo KVM $(modinfo -F vermagic drm)" % ko)
    f = dict(re.findall(r"^(REL|VM|KVM) (.*?)\s*$", out, re.M))
    assert f.get("VM") and f["VM"] == f.get("KVM") and f["VM"].split()[0] == f.get("REL"), \
        "vermagic of the DKMS module vs the kernel: " + out
    try:
        # the make-built module is gone, so what is loaded is the DKMS one
        out = sh_ok(g, "rmmod virtio_desk && [ ! -e /sys/module/virtio_desk ] && insmod %s && "
                       "for i in $(seq 50); do [ -e /dev/dri/card0 ] && break; sleep 0.2; done; "
                       "ls /dev/dri /sys/bus/virtio/drivers/virtio_desk" % ko)
        assert "card0" in out and "virtio0" in out, "DKMS module not bound: " + out
        st = Staged(g, "kmstest pattern 1024 768 strict")
        st.stage("base")
        why = rig.capture_until(lambda: g.screendump("dkms-base"), rig.expected_pattern(1024, 768, "base"))
        assert why is None, why
        st.next()
        st.stage("clips")
        why = rig.capture_until(lambda: g.vnc_capture("dkms-clips"), rig.expected_pattern(1024, 768, "clips"))
        assert why is None, why
        st.next()
        st.stage("partial")
        st.finish()
    finally:
        Staged.recover()
        sh_ok(g, "rmmod virtio_desk; modprobe virtio_desk && [ -e /dev/dri/card0 ]")


def test_no_oops(g):
    out = sh_ok(g, "dmesg | grep -E 'virtio_desk|virtio-desk' | grep -v 'module verification failed' | tail -n 20")
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])
    assert "failed" not in out.lower(), "device errors in dmesg: " + out


def test_autoload(g):
    """The module was loaded through its modalias (MODULE_DEVICE_TABLE)."""
    out = sh_ok(g, "cat /sys/bus/virtio/devices/*/modalias; lsmod; ls /dev/dri; cat /proc/fb")
    assert "virtio:d0000003F" in out, out
    assert "virtio_desk" in out and "card0" in out, out
    assert "virtiodeskdrmfb" in out, "no fbdev, or its name cut: " + out


# --- compositor-style page flips, damage clips, vblank (kmstest flipclip / vblank) --------


def flip_square(w, h, j):
    """kmstest.c flip_square(): the 64x64 square frame j adds."""
    return ((j * 53) % (w - 64), (j * 29) % (h - 64), 64, 64)


def expected_flipclip(w, h, n):
    """What kmstest flipclip W H N shows after its last flip: the base
    pattern with squares 1..N painted in order, square j in colour j."""
    c = rig.Canvas(w, h)
    for j in range(1, n + 1):
        c.rect(flip_square(w, h, j), j)
    return c.image()


def result_line(out, what):
    """The fields of kmstest's "@@RESULT <what> k=v ...@@" line."""
    m = re.search(r"@@RESULT %s ([^@]*)@@" % what, out)
    assert m, "no %s result line: %s" % (what, out[-1500:])
    f = dict(kv.split("=", 1) for kv in m.group(1).split())
    assert "error" not in f, "kmstest %s failed: %s" % (what, m.group(0))
    return {k: float(v) for k, v in f.items()}


def flipclip(g, w, h, n, opts=""):
    out = sh_ok(g, "kmstest flipclip %d %d %d %s </dev/null" % (w, h, n, opts), timeout=300)
    return result_line(out, "flipclip")


def test_flip_clip_64_trace(g):
    """After the initial full frame at 1920x1080, one atomic page flip to the
    other buffer with one 64x64 FB_DAMAGE_CLIPS clip reaches the device as
    exactly one request with that one rect; the screen shows the frame."""
    w, h = 1920, 1080
    st = Staged(g, "kmstest flipclip %d %d 1 stage" % (w, h))
    st.stage("modeset")
    time.sleep(0.3)
    mark = g.log_mark()
    st.next()
    st.stage("flips")
    time.sleep(0.3)
    reqs, rects = g.traces_since(mark)
    sq = flip_square(w, h, 1)
    assert len(reqs) == 1 and len(rects) == 1 and rects[0][1:] == sq, \
        "expected one request with the one 64x64 clip %s of the flip, traced %s %s" % (sq, reqs, rects)
    r = result_line(st.output(), "flipclip")
    assert r["flips"] == 1, r
    why = rig.capture_until(lambda: g.screendump("flipclip64"), expected_flipclip(w, h, 1))
    assert why is None, "screendump: %s" % why
    st.finish()


def test_flips_buffer_age(g):
    """90 atomic flips between two buffers, each with only that frame's 64x64
    clip, the client repainting its back buffer by buffer age (the last two
    frames' damage): VNC, SPICE and screendump show exactly the picture
    computed here.  Clips applied to a stale copy of the incoming buffer
    instead of the output's current picture lose the previous square."""
    w, h, n = 1024, 768, 90
    st = Staged(g, "kmstest flipclip %d %d %d stage" % (w, h, n))
    st.stage("modeset")
    why = rig.capture_until(lambda: g.screendump("flipage-0"), expected_flipclip(w, h, 0))
    assert why is None, "frame 0: %s" % why
    st.next()
    st.stage("flips", timeout=180)
    r = result_line(st.output(), "flipclip")
    assert r["flips"] == n, r
    all_clients(g, "flipage-%d" % n, expected_flipclip(w, h, n))
    st.finish()


def device_view(g, mark):
    """Since mark, from QEMU's trace: commands the device answered with an
    error, and transfers to a resource the driver had destroyed."""
    text = g.log_since(mark)
    errors = re.findall(r"virtio_desk_cmd_error.*", text)
    gone, stale = set(), []
    for m in re.finditer(r"virtio_desk_(resource_create|resource_destroy|transfer_rects)\D*?(\d+)", text):
        what, res = m.group(1), int(m.group(2))
        if what == "resource_create":
            gone.discard(res)
        elif what == "resource_destroy":
            gone.add(res)
        elif res in gone:
            stale.append(m.group(0))
    return errors, stale


def driver_errors(g):
    """Kernel log lines of the driver and of the DRM core (e.g. "[CRTC:33:crtc-0]
    flip_done timed out") that report a problem."""
    out = sh_ok(g, "dmesg | grep -E 'virtio_desk|\\[drm' | sed 's/^/@DM@/'")
    return [l[4:] for l in out.splitlines() if l.startswith("@DM@")
            and re.search(r"error|fail|timed out|WARN", l, re.I) and "module verification failed" not in l]


def test_rmfb_close_during_flips(g):
    """Framebuffer lifetime while flips are in flight: RMFB of the buffer just
    flipped away from, every 10th flip (the commit in flight still holds it);
    RMFB of the buffer a queued flip shows (the kernel turns the output off);
    a client closing its fd with a flip queued; a client killed (SIGKILL)
    in the middle of a stream.  No oops, no driver error, no task in D
    state, the device answered every command and got no transfer into a
    resource already destroyed; the stream with RMFBs ends on the exact
    picture, and so does the next client."""
    w, h = 1024, 768
    sh_ok(g, "dmesg -c >/dev/null")
    mark = g.log_mark()
    st = Staged(g, "kmstest flipclip %d %d 60 stage rmfb" % (w, h))
    st.stage("modeset")
    st.next()
    st.stage("flips", timeout=180)
    r = result_line(st.output(), "flipclip")
    assert r["flips"] == 60 and r["rmfb"] == 6, r
    why = rig.capture_until(lambda: g.screendump("rmfb-60"), expected_flipclip(w, h, 60))
    assert why is None, "after 60 flips with 6 RMFBs, screendump: %s" % why
    st.finish()
    r = flipclip(g, w, h, 40, "rmfb-front")
    assert r["flips"] == 20 and r["rmfb"] == 1, r
    r = flipclip(g, w, h, 40, "close")
    assert r["closed"] == 1 and r["flips"] == 19, r
    out = sh_ok(g, "kmstest flipclip %d %d 1000000 >/tmp/fk.log 2>&1 & p=$!; sleep 2; kill -9 $p; "
                   "wait $p; echo rc=$?; cat /tmp/fk.log" % (w, h))
    assert "rc=137" in out, "the flipping client was not running until SIGKILL: " + out
    no_stuck_tasks(g)
    st = Staged(g, "kmstest flipclip %d %d 30 stage" % (w, h))
    st.stage("modeset")
    st.next()
    st.stage("flips")
    all_clients(g, "after-rmfb-30", expected_flipclip(w, h, 30))
    st.finish()
    errs = driver_errors(g)
    assert not errs, "driver errors: " + " | ".join(errs[:10])
    errors, stale = device_view(g, mark)
    assert not errors, "the device answered commands with errors: " + " | ".join(errors[:10])
    assert not stale, "transfers into destroyed resources: " + " | ".join(stale[:10])


def test_flip_events_paced(g):
    """A client flipping as fast as it can (next frame drawn as soon as the
    flip event arrives) gets 60 flips/s +-10 %: events come on vblanks."""
    r = flipclip(g, 1024, 768, 120)
    print("  paced: %.1f flips/s, event intervals mean %.0f us, min %.0f, max %.0f, %d vblanks"
          % (r["fps"], r["mean_us"], r["min_us"], r["max_us"], r["vblanks"]), flush=True)
    assert r["flips"] == 120, r
    assert 59.5 <= r["mode_hz"] <= 60.5, "kmstest picked a %.3f Hz mode" % r["mode_hz"]
    assert 54 <= r["fps"] <= 66, "%.1f flips/s with pacing on, expected 60 +-10 %%" % r["fps"]
    assert 15000 <= r["mean_us"] <= 18333, "flip events %.0f us apart, expected 16667 +-10 %%" % r["mean_us"]
    assert r["vblanks"] >= r["flips"] - 1, \
        "%d flip events within %d vblanks: not one vblank per flip" % (r["flips"], r["vblanks"] + 1)


def test_dirtyfb_unpaced(g):
    """Front-buffer rendering is not paced: 64x64 DIRTYFB updates (kmstest
    perf rect64 for 0.5 s, ending when the host has finished them) run at
    far more than 66 per second while flip events are paced."""
    out = sh_ok(g, "printf '\\n\\n' | kmstest perf 1024 768 rect64 0.5")
    m = re.search(r"@@RESULT driver=\S+ n=(\d+) secs=([\d.]+)", out)
    assert m, "no perf result: " + out[-1500:]
    rate = int(m.group(1)) / float(m.group(2))
    print("  DIRTYFB 64x64 with pacing on: %.0f/s" % rate, flush=True)
    assert rate > 66, "DIRTYFB at %.1f/s: paced like flips?" % rate


def test_vblank_wait(g):
    """DRM_IOCTL_WAIT_VBLANK (relative 1) works on fbcon's CRTC and returns
    every 16.7 ms +-10 %."""
    rc, out = g.sh("kmstest vblank 120 </dev/null")
    m = re.search(r"@@RESULT vblank [^@]*@@", out)
    assert rc == 0, "WAIT_VBLANK failed (%d): %s" % (rc, m.group(0) if m else out[-1500:])
    r = result_line(out, "vblank")
    print("  WAIT_VBLANK: %.1f/s, intervals mean %.0f us, min %.0f, max %.0f; timestamps %.0f us apart, "
          "%d vblanks" % (r["rate"], r["mean_us"], r["min_us"], r["max_us"], r["ts_mean_us"], r["seqs"]),
          flush=True)
    assert 15000 <= r["mean_us"] <= 18333, "WAIT_VBLANK returns %.0f us apart, expected 16667 +-10 %%" % r["mean_us"]
    assert 15000 <= r["ts_mean_us"] <= 18333, \
        "vblank timestamps %.0f us apart, expected 16667 +-10 %%" % r["ts_mean_us"]


def test_flips_unpaced(g):
    """pace_flips=N (written at run time): flip events come as soon as the
    device has answered, faster than 66 flips/s; the picture stays exact."""
    param = "/sys/module/virtio_desk/parameters/pace_flips"
    rc, out = g.sh("[ -w %s ]" % param)
    assert rc == 0, "the driver has no writable module parameter pace_flips"
    sh_ok(g, "echo N > " + param)
    try:
        st = Staged(g, "kmstest flipclip 1024 768 240 stage")
        st.stage("modeset")
        st.next()
        st.stage("flips", timeout=180)
        r = result_line(st.output(), "flipclip")
        print("  unpaced: %.1f flips/s, event intervals mean %.0f us, min %.0f, max %.0f"
              % (r["fps"], r["mean_us"], r["min_us"], r["max_us"]), flush=True)
        why = rig.capture_until(lambda: g.screendump("unpaced-240"), expected_flipclip(1024, 768, 240))
        st.finish()
        assert why is None, "screendump after 240 unpaced flips: %s" % why
        assert r["flips"] == 240, r
        assert r["fps"] > 66, "%.1f flips/s with pace_flips=N, expected more than 66" % r["fps"]
    finally:
        Staged.recover()
        sh_ok(g, "echo Y > " + param)
    out = sh_ok(g, "cat " + param)
    assert out.strip().endswith("Y"), out


def test_pci_reset_during_flips(g):
    """A function level reset while a client flips with damage clips as fast
    as it can: the client can be killed (no task blocked in the driver),
    no oops, nothing in the guest log that hints at freed memory in use
    (BUG, WARNING, refcount, list corruption, GPF); the driver initialises
    the device again by itself and the next client's picture is exact."""
    out = sh_ok(g, "basename $(readlink -f /sys/bus/virtio/devices/virtio*/..)")
    pci = re.findall(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", out)[-1]
    sh_ok(g, "echo 20 > /proc/sys/kernel/hung_task_timeout_secs; dmesg -c >/dev/null")
    sh_ok(g, "kmstest flipclip 1024 768 1000000 >/tmp/fr.log 2>&1 & echo $! >/tmp/fr.pid; sleep 2")
    sh_ok(g, "echo 1 > /sys/bus/pci/devices/%s/reset" % pci)
    # until the driver notices (it waits VDESK_TIMEOUT_MS for an answer), then 1 s more of flips
    sh_ok(g, "for i in $(seq 20); do dmesg | grep -q virtio_desk && break; sleep 1; done; sleep 1", timeout=120)
    out = sh_ok(g, "p=$(cat /tmp/fr.pid); kill -0 $p 2>/dev/null && echo RUNNING; kill -9 $p 2>/dev/null; "
                   "for i in $(seq 20); do kill -0 $p 2>/dev/null || break; sleep 0.5; done; "
                   "kill -0 $p 2>/dev/null && echo STILL $(cat /proc/$p/wchan); wait $p; cat /tmp/fr.log", timeout=120)
    print("  flip client after the reset: %s; driver: %s" % (
        "still flipping" if "RUNNING" in out else "had ended: " + out.strip()[-300:],
        " | ".join(dmesg(g, "virtio_desk").splitlines()[:5])), flush=True)
    assert "STILL" not in out, "the flip client does not die: " + out
    no_stuck_tasks(g)
    errs = driver_errors(g)
    gave_up = [l for l in errs if re.search(r"device does not answer command 0x[0-9a-f]+ \(it was reset\), "
                                              r"giving up on it", l)]
    assert len(gave_up) == 1 and len(errs) == 1, \
        "expected one logged error, the driver giving up on the reset device: " + " | ".join(errs[:10])
    recovered_by_itself(g)
    st = Staged(g, "kmstest flipclip 1024 768 30 stage")
    st.stage("modeset")
    st.next()
    st.stage("flips")
    all_clients(g, "reset-flips-30", expected_flipclip(1024, 768, 30))
    st.finish()
    no_stuck_tasks(g)


# --- input tests (VIRTIO_DESK_F_INPUT) -------------------------------------------

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


def key_arrives(g, q="b"):
    """One key from QMP is read from the keyboard's event node."""
    code = qcode_to_linux()[q]
    rd = EvRead(g, 4, names=(KBD,))
    g.qmp_cmd("input-send-event", events=[qkey(q, True)])
    g.qmp_cmd("input-send-event", events=[qkey(q, False)])
    got = rd.finish()[0]
    assert got == [(EV_KEY, code, 1), (EV_SYN, 0, 0), (EV_KEY, code, 0), (EV_SYN, 0, 0)], got


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


INPUT_TESTS = {
    "input_devices_registered": test_input_devices,
    "input_qmp_every_qcode": test_qmp_every_qcode,
    "input_qmp_pointer_buttons_wheels_abs": test_qmp_pointer,
    "input_vnc_keys_and_pointer": test_vnc_keys_and_pointer,
    "input_key_flood_10000": test_key_flood,
    "input_abs_pixel_two_modes": test_abs_pixel,
    "input_caps_lock_led_to_vnc": test_caps_lock_led_to_vnc,
    "input_reload_no_stale_devices": test_input_reload,
}


# --- main --------------------------------------------------------------------------


@contextlib.contextmanager
def booted(name, kernel, initrd, device, guest=rig.Guest, **kw):
    """A booted guest (of class guest) for a block of checks.  A failure
    outside the checks (the boot, or the guest dying between them) is one
    failed result, NAME_guest, and ends the block; the guest is stopped in
    any case."""
    g = None
    try:
        g = guest(name, kernel, initrd, device=device, **kw)
        g.boot()
        yield g
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        RESULTS.append((name + "_guest", False))
        print("FAIL %s_guest: %s" % (name, e))
    finally:
        if g:
            g.stop()


# the desk guest also traces what the framebuffer-lifetime checks read (device_view)
DESK_TRACE = ["-trace", "virtio_desk_resource_create", "-trace", "virtio_desk_resource_destroy",
              "-trace", "virtio_desk_cmd_error", "-trace", "virtio_desk_cursor_*"]


def main():
    t0 = time.time()
    try:
        kernel, initrd = rig.build_all(dkms=selected("dkms"))
    except Exception:
        traceback.print_exc()
        print("0 passed, 1 failed")
        return 1
    if not rig.QEMU.exists():
        print("QEMU not found at %s (set $QEMU)" % rig.QEMU)
        print("0 passed, 1 failed")
        return 1

    desk_shots, gpu_shots = {}, {}

    # guest 1: virtio-desk
    with booted("desk", kernel, initrd, "virtio-desk-pci", trace=True, extra=DESK_TRACE) as g:
        check("autoload_and_fbdev", test_autoload, g)
        check("pattern_clips_partial_vnc_spice", test_pattern_and_partial, g, desk_shots)
        check("rect64_after_modeset_trace", test_rect64_after_modeset, g)
        check("row_by_row_payload_layout", test_row_layout, g)
        check("modes_and_page_flips", test_modes_and_flips, g)
        check("flip_clip_64_trace", test_flip_clip_64_trace, g)
        check("flips_buffer_age_pixel_exact", test_flips_buffer_age, g)
        check("flip_events_paced_60hz", test_flip_events_paced, g)
        check("vblank_wait_60hz", test_vblank_wait, g)
        check("dirtyfb_not_paced", test_dirtyfb_unpaced, g)
        check("flips_unpaced_pace_flips_N", test_flips_unpaced, g)
        check("rmfb_close_during_flips", test_rmfb_close_during_flips, g)
        check("pixel_formats", test_formats, g)
        check("display_change_from_vnc_client", test_display_change, g)
        check("edid_follows_vnc_client", test_edid, g)
        check("cursor_vnc_image_no_framebuffer_update", cursortests.test_vnc_cursor, g, Staged, sh_ok)
        check("cursor_follows_absolute_pointer", cursortests.test_cursor_follows_pointer, g, Staged, sh_ok)
        check("overlapping_clips_split", test_overlapping_clips, g)
        if selected("differential"):
            check("differential_program_and_fbcon_on_desk", run_differential_program, g, desk_shots, "desk")
        check("reload_20_times", test_reload, g)
        check("no_oops_no_device_errors", test_no_oops, g)
        check("dkms_build_loads_in_guest", test_dkms, g)
        check("pci_reset_during_animation", test_pci_reset, g)
        check("pci_reset_during_flips", test_pci_reset_during_flips, g)
        check("hot_unplug_device_del_and_replug", test_hot_unplug, g)

    # guest 2: virtio-desk input
    if any(selected(n) for n in INPUT_TESTS):
        with booted("input", kernel, initrd, "virtio-desk-pci",
                    extra=["-trace", "virtio_desk_input_status"]) as g:
            for name, fn in INPUT_TESTS.items():
                check(name, fn, g)
            check("input_no_oops", test_no_oops, g)

    # guest 3: virtio-desk with little host memory: device errors
    # (kernel messages on fbcon too, QEMU's guest-error log; ends with a poweroff)
    if any(selected(n) for n in ("hostmem", "device_answers", "poweroff")):
        with booted("hostmem", kernel, initrd, "virtio-desk-pci,max_hostmem=8M,max_outputs=2,input=off",
                    append="console=tty0", extra=["-d", "guest_errors"]) as g:
            check("two_outputs_two_connectors", test_two_outputs, g)
            check("no_input_devices_without_f_input", test_no_input, g)
            check("hostmem_exhausted_error_path", test_hostmem_exhausted, g)
            check("device_answers_errors_driver_recovers", test_device_errors, g)
            check("poweroff_no_driver_errors", test_poweroff, g)

    # guest 4: two outputs, placed by a D-Bus display client, a VNC server per head
    if selected("multihead"):
        bus = rig.SessionBus(rig.OUT / "multihead-bus.sock")
        vnc1 = rig.free_port(5900 + 40) - 5900
        try:
            with booted("multihead", kernel, initrd, "virtio-desk-pci,max_outputs=2",
                        extra=bus.qemu_args() + ["-vnc", "127.0.0.1:%d,id=head1,display=disp,head=1" % vnc1]) as g:
                check("multihead_layout_hotplug_two_vnc", test_multihead, g, bus, vnc1)
        finally:
            bus.stop()

    # guest 5: Debian's userland (weston-root.sh): libdrm's modetest -C, then Weston
    if selected("cursor_modetest_C_weston_root") or selected("weston_rereads"):
        import westonguest
        wkernel, winitrd, wimg = westonguest.build()
        with booted("weston", wkernel, winitrd, "virtio-desk-pci,xres=1024,yres=768", guest=westonguest.WestonGuest,
                    img=wimg, trace=True, extra=["-trace", "virtio_desk_cursor_*"]) as g:
            check("cursor_modetest_C_weston_root", cursortests.test_modetest_cursor, g, sh_ok)
            check("weston_rereads_head_after_vnc_resize", test_weston_monitor_change, g)

    # guests 6-8: suspend and hibernation, live migration, reboots (lifecycle_tests.py)
    if any(selected(n) for n in lifecycle_tests.NAMES):
        lifecycle_tests.run(sys.modules[__name__], kernel, initrd)

    # smp_tests.py's guests: several vCPUs (the debug kernel's stress), a
    # stalled QEMU, bounce buffers, a rejected transfer
    if any(selected(n) for n in smp_tests.NAMES):
        smp_tests.run(sys.modules[__name__], kernel, initrd)

    # watch_tests.py's guest: VNC only, nobody watching (VIRTIO_DESK_F_WATCH)
    if any(selected(n) for n in watch_tests.NAMES):
        watch_tests.run(sys.modules[__name__], kernel, initrd)

    # xorg_tests.py's guest: Xorg's modesetting driver in the Debian root of xorg-root.sh
    import xorg_tests
    if any(selected(n) for n in xorg_tests.NAMES):
        xorg_tests.run(sys.modules[__name__])

    # guest 9: virtio-gpu, for the differential checks
    if selected("differential"):
        with booted("gpu", kernel, initrd, "virtio-gpu-pci") as g:
            check("differential_program_and_fbcon_on_gpu", run_differential_program, g, gpu_shots, "gpu")

        def differential(key):
            assert key in desk_shots, "no virtio-desk screendump"
            assert key in gpu_shots, "no virtio-gpu screendump"
            why = desk_shots[key].diff(gpu_shots[key])
            assert why is None, "virtio-desk vs virtio-gpu: " + why

        for key in ("base", "clips", "partial", "fbcon"):
            check("differential_vs_virtio_gpu_" + key, differential, key)

    # guests 10 and 11: the Debian disk from power-on, on virtio-desk-vga and virtio-vga
    diskguest.run(check, selected, RESULTS)

    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    print("guest tests took %.0f s; logs in %s" % (time.time() - t0, rig.OUT))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not RESULTS else 0


if __name__ == "__main__":
    # SIGTERM (timeout, CI) unwinds like Ctrl-C, so guests are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
