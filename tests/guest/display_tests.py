# SPDX-License-Identifier: GPL-2.0
"""Guest tests of the display path on virtio-desk: the module's autoload and
fbdev, KMS pictures with damage clips (kmstest pattern, rect64, overlap,
every pixel format) exact on QMP screendump, VNC and SPICE and as the
device's trace shows them, and the differential check against virtio-gpu
(the same program and fbcon text on both, screendumps equal)."""

import time

import harness
import rig
from harness import Staged, all_clients, sh_ok, debugfs_knob


def test_autoload(g):
    """The module was loaded through its modalias (MODULE_DEVICE_TABLE)."""
    out = sh_ok(g, "cat /sys/bus/virtio/devices/*/modalias; lsmod; ls /dev/dri; cat /proc/fb")
    assert "virtio:d0000003F" in out, out
    assert "virtio_desk" in out and "card0" in out, out
    assert "virtiodeskdrmfb" in out, "no fbdev, or its name cut: " + out


def test_pattern_and_partial(g, one_request=True):
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
        test_pattern_and_partial(g, one_request=False)
    finally:
        Staged.recover()
        sh_ok(g, "echo 0 > " + knob)


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


# the differential check: screendumps of the same program on each device
SHOTS = {"desk": {}, "gpu": {}}
DIFF_KEYS = ("base", "clips", "partial", "fbcon")


def differential(key):
    desk_shots, gpu_shots = SHOTS["desk"], SHOTS["gpu"]
    assert key in desk_shots, "no virtio-desk screendump"
    assert key in gpu_shots, "no virtio-gpu screendump"
    why = desk_shots[key].diff(gpu_shots[key])
    assert why is None, "virtio-desk vs virtio-gpu: " + why


TESTS = {
    "desk": [
        ("autoload_and_fbdev", test_autoload),
        ("pattern_clips_partial_vnc_spice", test_pattern_and_partial),
        ("rect64_after_modeset_trace", test_rect64_after_modeset),
        ("row_by_row_payload_layout", test_row_layout),
        ("pixel_formats", test_formats),
        ("overlapping_clips_split", test_overlapping_clips),
        ("differential_program_and_fbcon_on_desk", lambda g: run_differential_program(g, SHOTS["desk"], "desk")),
    ],
    "gpu": [("differential_program_and_fbcon_on_gpu", lambda g: run_differential_program(g, SHOTS["gpu"], "gpu"))]
    + [("differential_vs_virtio_gpu_" + key, lambda g, key=key: differential(key)) for key in DIFF_KEYS],
}
# the comparisons need both guests' screendumps: one selected selects all
harness.group(["differential_program_and_fbcon_on_desk"] + [n for n, _ in TESTS["gpu"]])
