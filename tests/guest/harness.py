# SPDX-License-Identifier: GPL-2.0
"""The guest tests' harness, shared by every *_tests.py file and run_tests.py:
selection by -k, result recording (check() prints "PASS name (t s)" or
"FAIL name (t s): why", booted() records NAME_guest when a guest does not
come up), the guest shell helpers (sh_ok, dmesg, the driver's debugfs
knobs), the staged kmstest driver (Staged, pattern_exact) and the three
clients' comparison (all_clients).

Test files import it (`import harness` or `from harness import ...`); none
of them gets harness state passed in.
"""

import contextlib
import re
import time
import traceback

import rig

RESULTS = []     # (name, passed) in the order run
SELECT = []      # the -k substrings (none: every test)
GROUPS = []      # tests that only run together: one selected selects all


def set_select(argv):
    """Take the -k NAME arguments of argv."""
    SELECT[:] = [a for i, a in enumerate(argv) if i > 0 and argv[i - 1] == "-k"]


def group(names):
    """names depend on each other (e.g. comparisons of two guests' captures):
    selecting one of them selects all."""
    GROUPS.append(list(names))


def _picked(name):
    return not SELECT or any(s in name for s in SELECT)


def selected(name):
    return _picked(name) or any(name in grp and any(_picked(n) for n in grp) for grp in GROUPS)


def any_selected(names):
    return any(selected(n) for n in names)


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


def guest_failed(name, e):
    """A guest that did not come up or died between tests: one failed result."""
    RESULTS.append((name, False))
    print("FAIL %s: %s" % (name, e), flush=True)


@contextlib.contextmanager
def booted(name, kernel, initrd, device, guest=rig.Guest, boot_timeout=None, **kw):
    """A booted guest (of class guest) for a block of checks.  A failure
    outside the checks (the boot, or the guest dying between them) is one
    failed result, NAME_guest, and ends the block; the guest is stopped in
    any case."""
    g = None
    try:
        g = guest(name, kernel, initrd, device=device, **kw)
        if boot_timeout is None:
            g.boot()
        else:
            g.boot(boot_timeout)
        yield g
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        guest_failed(name + "_guest", e)
    finally:
        if g:
            g.stop()


# --- the guest's shell ---------------------------------------------------------------


def sh_ok(g, line, timeout=120):
    rc, out = g.sh(line, timeout)
    assert rc == 0, "guest command %r failed (%d): %s" % (line, rc, out[-2000:])
    return out


def dmesg(g, word):
    """The kernel log lines with word (not the console copies on the serial line)."""
    out = sh_ok(g, "dmesg | grep '%s' | sed 's/^/@DM@/'" % word)
    return "\n".join(l[4:] for l in out.splitlines() if l.startswith("@DM@"))


def debugfs_knob(name):
    """Shell path of one of the driver's test knobs, in the DRM device's
    debugfs directory: /sys/kernel/debug/dri/ names it after the virtio
    device (and links the minor's number to it)."""
    return "/sys/kernel/debug/dri/$(basename /sys/bus/virtio/drivers/virtio_desk/virtio*)/" + name


def vdesk_stats(g):
    """The driver's debugfs counters (vdesk_stats), name -> value."""
    out = sh_ok(g, "cat " + debugfs_knob("vdesk_stats"))
    return {k: int(v) for k, v in re.findall(r"([a-z_]+) (\d+)", out)}


def no_oopses(g, what="guest log"):
    oops = g.oopses()
    assert not oops, "%s: %s" % (what, " | ".join(oops[:10]))


def no_stuck_tasks(g):
    """No task left in uninterruptible sleep (what the hung-task detector would report later)."""
    out = sh_ok(g, "sleep 1; for f in /proc/[0-9]*/status; do grep -q '^State:.*D' $f && "
                   "echo STUCK $(grep Name: $f) $f; done; true")
    assert "STUCK" not in out, "tasks in D state: " + out
    no_oopses(g)


def driver_errors(g):
    """Kernel log lines of the driver and of the DRM core (e.g. "[CRTC:33:crtc-0]
    flip_done timed out") that report a problem."""
    out = sh_ok(g, "dmesg | grep -E 'virtio_desk|\\[drm' | sed 's/^/@DM@/'")
    return [l[4:] for l in out.splitlines() if l.startswith("@DM@")
            and re.search(r"error|fail|timed out|WARN", l, re.I) and "module verification failed" not in l]


# --- what the clients see ------------------------------------------------------------


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


# --- staged kmstest commands -----------------------------------------------------------


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


PATTERN_STAGES = ("base", "clips", "partial")
CAPTURE = {"screendump": lambda g, name: g.screendump(name),
           "vnc": lambda g, name: g.vnc_capture(name)}


def pattern_exact(g, shown, w=1024, h=768):
    """`kmstest pattern W H strict` through its stages base, clips and
    partial, to its end.  shown[stage] is checked at that stage: (client,
    capture name) with client "all" (all_clients), "screendump" or "vnc",
    compared with rig.expected_pattern(w, h, stage); or a function of the
    stage."""
    st = Staged(g, "kmstest pattern %d %d strict" % (w, h))
    for i, stage in enumerate(PATTERN_STAGES):
        if i:
            st.next()
        st.stage(stage)
        what = shown.get(stage)
        if callable(what):
            what(stage)
        elif what:
            client, name = what
            expected = rig.expected_pattern(w, h, stage)
            if client == "all":
                all_clients(g, name, expected)
            else:
                why = rig.capture_until(lambda: CAPTURE[client](g, name), expected)
                assert why is None, why
    st.finish()


def no_oops_no_failures(g):
    """No oops, and no driver message with "failed" in the kernel log."""
    out = sh_ok(g, "dmesg | grep -E 'virtio_desk|virtio-desk' | grep -v 'module verification failed' | tail -n 20")
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])
    assert "failed" not in out.lower(), "device errors in dmesg: " + out
