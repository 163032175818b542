# SPDX-License-Identifier: GPL-2.0
"""Guest tests of VIRTIO_DESK_F_WATCH: a desktop nobody watches costs the
host no copies, and whoever looks next sees the exact picture.

The guest has QEMU's VNC server only: QEMU's SPICE display asks for the
picture on every refresh whether a client is connected or not, so with
SPICE the outputs are always watched (the other guests' case).

- unwatched_flips_paced_no_copies: no client; a KMS client's modeset and
  120 atomic page flips with damage clips: paced at the mode's 60 Hz as
  ever, and not one TRANSFER_RECTS reaches the device; the driver kept them
  (vdesk_stats held_updates).
- vnc_connect_exact_after_unwatched: a VNC client connecting gets the
  exact picture of the last flip (prints how long it took), the device
  traced the pull and the driver's OUTPUTS_CURRENT.
- screendump_exact_after_10s_unwatched: the client gone, the output is
  unwatched 5 s later (watch-timeout-ms); new flips, 10 s of nobody; a QMP
  screendump waits for the driver and is exact, no pull timed out.
- vnc_connect_disconnect_cycles: 3 times: unwatched, a new picture, a VNC
  client connects and sees it exactly, leaves.
- migration_while_unwatched_exact: unwatched with kept damage, migrated:
  the migration counts as watching (the driver sends what it kept), the
  destination's screendump and a VNC client of it are exact.

run_tests.py calls run(kernel, initrd); GUESTS names the guest and its tests.
"""

import re
import time

import flip_tests
import harness
import rfb
import rig

FLIPS = "unwatched_flips_paced_no_copies"
CONNECT = "vnc_connect_exact_after_unwatched"
DUMP = "screendump_exact_after_10s_unwatched"
CYCLES = "vnc_connect_disconnect_cycles"
MIGRATE = "migration_while_unwatched_exact"
NAMES = [FLIPS, CONNECT, DUMP, CYCLES, MIGRATE]
GUESTS = {"watch": NAMES}

W, H = 1024, 768
TRACE = ["-trace", "virtio_desk_watched", "-trace", "virtio_desk_pull*", "-trace",
         "virtio_desk_outputs_current", "-trace", "virtio_desk_watch_migration", "-d", "guest_errors"]
# the device's default watch-timeout-ms, and a margin for a busy host
UNWATCH_SECS = 5 + 5


def wait_unwatched(g, timeout=UNWATCH_SECS + 20):
    """Until the driver has output 0 unwatched (vdesk_stats watched)."""
    end = time.time() + timeout
    while time.time() < end:
        if not harness.vdesk_stats(g)["watched"] & 1:
            return
        time.sleep(0.5)
    raise AssertionError("output 0 still watched after %d s" % timeout)


def transfers(g, mark):
    return g.traces_since(mark)[0]


class Background:
    """A staged kmstest in the background, its stdin a FIFO the guest's
    shell holds open (fd 3), its output in a file: the shell stays free
    for the test (vdesk_stats) while the client holds its picture."""

    def __init__(self, g, line):
        self.g = g
        harness.sh_ok(g, "rm -f /tmp/bg.in /tmp/bg.log; mkfifo /tmp/bg.in; "
                         "%s </tmp/bg.in >/tmp/bg.log 2>&1 & exec 3>/tmp/bg.in" % line)

    def output(self):
        return harness.sh_ok(self.g, "cat /tmp/bg.log")

    def stage(self, name, timeout=180):
        end = time.time() + timeout
        while "@@STAGE %s@@" % name not in self.output():
            assert "@@RESULT" not in self.output() or "error" not in self.output(), self.output()[-800:]
            assert time.time() < end, "no stage %r: %s" % (name, self.output()[-800:])
            time.sleep(0.5)

    def next(self):
        harness.sh_ok(self.g, "echo >&3")

    def finish(self):
        """Let it end, and close the FIFO."""
        harness.sh_ok(self.g, "echo >&3; exec 3>&-; wait")


def flipping(g, n):
    """kmstest flipclip W H n, staged, in the background: returns it waiting
    after its flips (holding the picture), and its result line."""
    bg = Background(g, "kmstest flipclip %d %d %d stage" % (W, H, n))
    bg.stage("modeset")
    bg.next()
    bg.stage("flips")
    return bg, flip_tests.result_line(bg.output(), "flipclip")


def flips(_rt, g, n):
    """flipping(g, n) as bench/desktop.py calls it (with run_tests as a first
    argument, which the harness no longer needs)."""
    return flipping(g, n)


def vnc_until_exact(port, expected, timeout=20):
    """A viewer connecting: seconds until its window shows expected, or an
    AssertionError with what it shows."""
    t0 = time.time()
    c = rfb.Client(port, pixels=True)
    try:
        c.update_request(incremental=False)
        while time.time() - t0 < timeout:
            c.read_message()
            if (c.width, c.height) == (expected.w, expected.h) and c.rgb() == expected.data:
                return time.time() - t0
            c.update_request()
        why = rig.Image(c.width, c.height, c.rgb()).diff(expected)
        raise AssertionError("VNC client after %d s: %s" % (timeout, why))
    finally:
        c.close()


def no_pull_timeouts(g, mark):
    bad = re.findall(r".*no OUTPUTS_CURRENT.*|.*virtio_desk_pull_timeout.*", g.log_since(mark))
    assert not bad, "the driver did not answer a pull: %s" % bad[:3]


# --- tests -----------------------------------------------------------------------


class State:
    """The staged flipclip that holds the picture, until the next test's."""
    st = None


def unwatched_picture(g, state, n):
    """Nobody watching, flipclip's picture after n flips: returns its result
    line, having checked that no transfer reached the device meanwhile."""
    if state.st:
        st, state.st = state.st, None
        st.finish()
    wait_unwatched(g)
    mark = g.log_mark()
    state.st, r = flipping(g, n)
    assert r["flips"] == n, r
    reqs = transfers(g, mark)
    assert not reqs, "the device got %d transfers while nobody watched" % len(reqs)
    return r


def test_flips(g, state):
    before = harness.vdesk_stats(g)
    r = unwatched_picture(g, state, 120)
    after = harness.vdesk_stats(g)
    print("  %.1f flips/s, held_updates %d -> %d"
          % (r["fps"], before["held_updates"], after["held_updates"]), flush=True)
    assert 54 <= r["fps"] <= 66, "flips not paced at 60 Hz while unwatched: %s" % r
    assert after["held_updates"] - before["held_updates"] >= 121, (before, after)


def test_connect(g, state):
    unwatched_picture(g, state, 20)
    mark = g.log_mark()
    took = vnc_until_exact(5900 + g.vnc, flip_tests.expected_flipclip(W, H, 20))
    text = g.log_since(mark)
    print("  exact on the new VNC client after %.0f ms" % (took * 1000), flush=True)
    assert "virtio_desk_pull" in text, "no pull traced"
    assert re.search(r"virtio_desk_outputs_current .*0x1", text), "no OUTPUTS_CURRENT traced"
    assert transfers(g, mark), "the kept damage never reached the device"
    no_pull_timeouts(g, mark)


def test_dump(g, state):
    unwatched_picture(g, state, 60)
    mark = g.log_mark()
    time.sleep(10)
    assert not transfers(g, mark), "transfers while nobody watched"
    why = g.screendump("unwatched-10s").diff(flip_tests.expected_flipclip(W, H, 60))
    assert why is None, "screendump after 10 s unwatched: %s" % why
    no_pull_timeouts(g, mark)


def test_cycles(g, state):
    for i, n in enumerate((10, 30, 50)):
        unwatched_picture(g, state, n)
        mark = g.log_mark()
        took = vnc_until_exact(5900 + g.vnc, flip_tests.expected_flipclip(W, H, n))
        print("  cycle %d: exact after %.0f ms" % (i, took * 1000), flush=True)
        no_pull_timeouts(g, mark)


def test_migrate(g, state, kernel, initrd, spawned):
    unwatched_picture(g, state, 40)
    mark = g.log_mark()
    sock = rig.OUT / "watch-migrate.sock"
    dst = rig.Guest("watch-dst", kernel, initrd, "virtio-desk-pci", spice=False, trace=True,
                    extra=TRACE + ["-S", "-incoming", "unix:%s" % sock])
    spawned.append(dst)
    g.qmp_cmd("migrate-set-parameters", **{"max-bandwidth": 8 << 30, "downtime-limit": 2000})
    g.qmp_cmd("migrate", uri="unix:%s" % sock)
    end = time.time() + 120
    while g.qmp_cmd("query-migrate").get("status") != "completed":
        assert time.time() < end, "migration: %s" % g.qmp_cmd("query-migrate")
        time.sleep(0.1)
    text = g.log_since(mark)
    assert "virtio_desk_watch_migration migrating 1" in text, "the device did not see the migration"
    assert transfers(g, mark), "the driver did not send what it kept when the migration began"
    while dst.qmp_cmd("query-status")["status"] == "inmigrate":
        time.sleep(0.05)
    expected = flip_tests.expected_flipclip(W, H, 40)
    why = dst.screendump("watch-dst").diff(expected)
    assert why is None, "destination's screendump: %s" % why
    dst.qmp_cmd("cont")
    took = vnc_until_exact(5900 + dst.vnc, expected)
    print("  destination: screendump exact, VNC exact after %.0f ms" % (took * 1000), flush=True)
    state.st = None      # the shell is the destination's now


def run(kernel, initrd):
    """One guest with VNC only; results go to harness.RESULTS through harness.check."""
    if not harness.any_selected(GUESTS["watch"]):
        return
    state, spawned = State(), []
    with harness.booted("watch", kernel, initrd, "virtio-desk-pci", spice=False, trace=True, extra=TRACE) as g:
        try:
            harness.check(FLIPS, test_flips, g, state)
            harness.check(CONNECT, test_connect, g, state)
            harness.check(DUMP, test_dump, g, state)
            harness.check(CYCLES, test_cycles, g, state)
            harness.check(MIGRATE, test_migrate, g, state, kernel, initrd, spawned)
        finally:
            for d in spawned:
                d.stop()
