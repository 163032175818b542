# SPDX-License-Identifier: GPL-2.0
"""Guest tests of page flips and vblank on virtio-desk: legacy mode changes
with page flips, compositor-style atomic flips with damage clips (kmstest
flipclip) exact and traced as the clips, flip events paced at 60 Hz and
unpaced with pace_flips=N, DRM_IOCTL_WAIT_VBLANK, DIRTYFB not paced, and
framebuffer lifetime (RMFB, close, SIGKILL) while flips are in flight."""

import re
import time

import rig
from harness import Staged, all_clients, driver_errors, no_stuck_tasks, sh_ok


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


TESTS = {
    "desk": [
        ("modes_and_page_flips", test_modes_and_flips),
        ("flip_clip_64_trace", test_flip_clip_64_trace),
        ("flips_buffer_age_pixel_exact", test_flips_buffer_age),
        ("flip_events_paced_60hz", test_flip_events_paced),
        ("vblank_wait_60hz", test_vblank_wait),
        ("dirtyfb_not_paced", test_dirtyfb_unpaced),
        ("flips_unpaced_pace_flips_N", test_flips_unpaced),
        ("rmfb_close_during_flips", test_rmfb_close_during_flips),
    ],
}
