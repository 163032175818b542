#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Guest tests for virtio_desk.ko: boots Debian's 6.12 kernel under our QEMU
with -device virtio-desk-pci (and once with virtio-gpu-pci for the
differential checks) and asserts the pixels real VNC and SPICE clients and
QMP screendump receive.

Prints "N passed, N failed" last; exits non-zero on any failure.
Select tests with: run_tests.py [-k SUBSTRING]...
"""

import re
import signal
import sys
import time
import traceback

import rig

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


def sh_ok(g, line, timeout=120):
    rc, out = g.sh(line, timeout)
    assert rc == 0, "guest command %r failed (%d): %s" % (line, rc, out[-2000:])
    return out


class Staged:
    """Runs a staged kmstest command; stage() waits for the next stage."""
    active = None

    def __init__(self, g, line):
        self.g = g
        Staged.active = self
        g.send(line)

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
        self.g.expect(r"@@STAGE %s@@" % re.escape(name), timeout)

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


def test_pattern_and_partial(g, shots):
    """(1) pattern + damage clips and (2) partial updates, seen by VNC and SPICE;
    the device trace shows each clip as its own rect, all in one request."""
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
        assert len(reqs) == 1 and reqs[0][1] == len(clips), \
            "%s: expected one request with %d rects, traced %s" % (stage, len(clips), reqs)
        assert [r[1:] for r in rects] == [tuple(c) for c in clips], \
            "%s: traced rects %s, damaged %s" % (stage, rects, clips)
    st.finish()


def test_row_layout(g):
    """The same pattern test with every rect sent row by row (stride = row
    bytes) instead of one byte range (module parameter xfer_layout=2)."""
    sh_ok(g, "echo 2 > /sys/module/virtio_desk/parameters/xfer_layout")
    try:
        test_pattern_and_partial(g, {})
    finally:
        Staged.recover()
        sh_ok(g, "echo 0 > /sys/module/virtio_desk/parameters/xfer_layout")


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


def test_no_oops(g):
    out = sh_ok(g, "dmesg | grep -E 'virtio_desk|virtio-desk' | tail -n 20")
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])
    assert "failed" not in out.lower(), "device errors in dmesg: " + out


def test_autoload(g):
    """The module was loaded through its modalias (MODULE_DEVICE_TABLE)."""
    out = sh_ok(g, "cat /sys/bus/virtio/devices/*/modalias; lsmod; ls /dev/dri; cat /proc/fb")
    assert "virtio:d0000003F" in out, out
    assert "virtio_desk" in out and "card0" in out, out
    assert "drmf" in out, "no fbdev: " + out


# --- main --------------------------------------------------------------------------


def main():
    t0 = time.time()
    try:
        kernel, initrd = rig.build_all()
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
    g = None
    try:
        g = rig.Guest("desk", kernel, initrd, "virtio-desk-pci", trace=True)
        g.boot()
        check("autoload_and_fbdev", test_autoload, g)
        check("pattern_clips_partial_vnc_spice", test_pattern_and_partial, g, desk_shots)
        check("rect64_after_modeset_trace", test_rect64_after_modeset, g)
        check("row_by_row_payload_layout", test_row_layout, g)
        check("modes_and_page_flips", test_modes_and_flips, g)
        check("pixel_formats", test_formats, g)
        check("display_change_from_vnc_client", test_display_change, g)
        check("overlapping_clips_split", test_overlapping_clips, g)
        if selected("differential"):
            check("differential_program_and_fbcon_on_desk", run_differential_program, g, desk_shots, "desk")
        check("reload_20_times", test_reload, g)
        check("no_oops_no_device_errors", test_no_oops, g)
        check("hot_unplug_device_del_and_replug", test_hot_unplug, g)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        RESULTS.append(("desk_guest", False))
        print("FAIL desk_guest: %s" % e)
    finally:
        if g:
            g.stop()

    # guest 2: virtio-desk with little host memory: device errors
    if selected("hostmem"):
        g = None
        try:
            g = rig.Guest("hostmem", kernel, initrd, "virtio-desk-pci,max_hostmem=8M,max_outputs=2")
            g.boot()
            check("two_outputs_two_connectors", test_two_outputs, g)
            check("hostmem_exhausted_error_path", test_hostmem_exhausted, g)
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            RESULTS.append(("hostmem_guest", False))
            print("FAIL hostmem_guest: %s" % e)
        finally:
            if g:
                g.stop()

    # guest 3: virtio-gpu, for the differential checks
    if selected("differential"):
        g = None
        try:
            g = rig.Guest("gpu", kernel, initrd, "virtio-gpu-pci")
            g.boot()
            check("differential_program_and_fbcon_on_gpu", run_differential_program, g, gpu_shots, "gpu")
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            print("virtio-gpu guest failed: %s" % e)
        finally:
            if g:
                g.stop()

        def differential(key):
            assert key in desk_shots, "no virtio-desk screendump"
            assert key in gpu_shots, "no virtio-gpu screendump"
            why = desk_shots[key].diff(gpu_shots[key])
            assert why is None, "virtio-desk vs virtio-gpu: " + why

        for key in ("base", "clips", "partial", "fbcon"):
            check("differential_vs_virtio_gpu_" + key, differential, key)

    passed = sum(1 for _, ok in RESULTS if ok)
    failed = len(RESULTS) - passed
    print("guest tests took %.0f s; logs in %s" % (time.time() - t0, rig.OUT))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not RESULTS else 0


if __name__ == "__main__":
    # SIGTERM (timeout, CI) unwinds like Ctrl-C, so guests are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
