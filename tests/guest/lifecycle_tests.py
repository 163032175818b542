# SPDX-License-Identifier: GPL-2.0
"""Lifecycle guest tests: suspend to RAM, hibernation to a swap disk with a
new QEMU resuming it, live migration of a running desktop back and forth
and to a file, and reboot loops.  Each asserts what a user sees: the
picture QMP screendump, gvnccapture and spicy-screenshot receive, and the
events the guest reads from /dev/input.

run_tests.py calls run(kernel, initrd); GUESTS names the guests and their
tests.  Shared helpers come from harness.py and input_tests.py.
"""

import re
import subprocess
import time

import harness
import input_tests
import rig

SWAP_MB = 128
HIBERNATE_CYCLES = 5
MIGRATIONS = 20
REBOOTS = 20
# QEMU's RSS may grow this much from the 10th to the last reboot (KiB).
# Two things grow RSS without a leak and are held still: the guest's RAM,
# touched for the first time by each boot's new KASLR layout (allocated
# up front with -mem-prealloc), and TCG's translation cache (1 GiB by
# default, 70-130 MiB more a boot up to 1.7 GB of RSS; held to 16 MiB,
# which the first boots fill).  A resource leaked per boot (3 MiB at
# 1024x768) would pass the slack within a few reboots.
RSS_SLACK_KIB = 16 * 1024
RSS_FROM = 9
REBOOT_TCG = ",tb-size=16"
REBOOT_EXTRA = ["-mem-prealloc"]


POINTER_MOVES = [0]


def qmp_pointer_arrives(g):
    """An absolute pointer move from QMP is read from the pointer's event node
    (a new position each time: the input core drops unchanged values)."""
    POINTER_MOVES[0] += 1
    x, y = 1000 + POINTER_MOVES[0], 2000 + POINTER_MOVES[0]
    rd = input_tests.EvRead(g, 3, names=(input_tests.PTR,))
    g.qmp_cmd("input-send-event", events=[input_tests.qabs("x", x), input_tests.qabs("y", y)])
    got = rd.finish()[0]
    assert got == [(input_tests.EV_ABS, 0, x), (input_tests.EV_ABS, 1, y), (input_tests.EV_SYN, 0, 0)], got


def clean_guest(g):
    errs = harness.driver_errors(g)
    assert not errs, "driver errors: " + " | ".join(errs[:10])
    harness.no_stuck_tasks(g)


class Client:
    """`kmstest pattern 1024 768 strict` in the background, driven through a
    fifo, so it stays the DRM master across suspend, hibernation and
    migration while the shell stays free."""

    def __init__(self, g):
        harness.sh_ok(g, "rm -f /tmp/kf /tmp/k.log; mkfifo /tmp/kf; "
                         "(kmstest pattern 1024 768 strict </tmp/kf >/tmp/k.log 2>&1; echo EXIT $? >>/tmp/k.log) & "
                         "exec 3>/tmp/kf")
        self.wait(g, "base")

    def wait(self, g, stage):
        harness.sh_ok(g, "(for i in $(seq 300); do grep -q '@@STAGE %s@@' /tmp/k.log && exit 0; "
                         "grep -q EXIT /tmp/k.log && break; sleep 0.1; done; cat /tmp/k.log; exit 1)" % stage)

    def next(self, g, stage):
        harness.sh_ok(g, "echo >&3")
        self.wait(g, stage)

    def finish(self, g):
        out = harness.sh_ok(g, "echo >&3; echo >&3; exec 3>&-; for i in $(seq 300); do "
                               "grep -q EXIT /tmp/k.log && break; sleep 0.1; done; cat /tmp/k.log")
        assert "EXIT 0" in out, "kmstest: " + out


# Guests started by the tests themselves (hibernation's and migration's new
# QEMUs): run() stops them whatever happened.
SPAWNED = []


def spawn(name, kernel, initrd, append="", extra=(), device="virtio-desk-pci"):
    g = rig.Guest(name, kernel, initrd, device, append=append, extra=extra)
    SPAWNED.append(g)
    return g


# --- suspend to RAM and hibernation -------------------------------------------------


def swap_disk():
    """A sparse raw image in the cache, made anew each run (the guest runs mkswap)."""
    path = rig.OUT / "life-swap.img"
    if path.exists():
        path.unlink()
    with open(path, "wb") as f:
        f.truncate(SWAP_MB << 20)
    return ["-drive", "file=%s,if=none,id=swap,format=raw,cache=unsafe" % path,
            "-device", "virtio-blk-pci,drive=swap,bus=pcie.0,addr=0x6"]


def test_s3(g):
    """echo mem > /sys/power/state (deep), QMP system_wakeup: the KMS
    client's picture exact on all three clients before and after, its next
    stage exact after, then fbcon's text back as it was, keys and pointer
    arrive, the driver logs nothing."""
    harness.sh_ok(g, "echo deep > /sys/power/mem_sleep; dmesg -c >/dev/null")
    c = Client(g)
    harness.all_clients(g, "s3-before", rig.expected_pattern(1024, 768, "base"))
    g.events.clear()
    g.send("echo mem > /sys/power/state")
    assert g.wait_event("SUSPEND", 60), "no SUSPEND event"
    status = g.qmp_cmd("query-status")["status"]
    assert status == "suspended", status
    g.qmp_cmd("system_wakeup")
    m = g.expect(r"@@DONE (\d+)@@", 120)
    assert m.group(1) == "0", "echo mem failed"
    harness.all_clients(g, "s3-after", rig.expected_pattern(1024, 768, "base"))
    c.next(g, "clips")
    harness.all_clients(g, "s3-clips", rig.expected_pattern(1024, 768, "clips"))
    c.finish(g)
    input_tests.key_arrives(g)
    qmp_pointer_arrives(g)
    out = harness.dmesg(g, "PM: suspend")
    assert "suspend exit" in out, "no suspend exit in dmesg: " + out
    clean_guest(g)


def hibernate(g):
    """echo disk > /sys/power/state; QEMU exits after the image is written."""
    g.send("echo disk > /sys/power/state")
    try:
        g.proc.wait(300)
    except subprocess.TimeoutExpired:
        raise AssertionError("QEMU did not exit after hibernation: " + g.text()[-1500:])
    text = g.text()
    assert "PM: Image saving done" in text and "reboot: Power down" in text, "no image written: " + text[-1500:]
    g.stop()


def swap_setup(g):
    harness.sh_ok(g, "mkswap /dev/vda >/dev/null && swapon /dev/vda && echo 0 > /sys/power/image_size && "
                     "echo shutdown > /sys/power/disk && dmesg -c >/dev/null")


def resume_on(g, name, kernel, initrd, extra, device):
    """Hibernate g and resume its image on a new QEMU with device."""
    hibernate(g)
    g = spawn(name, kernel, initrd, append=S4_APPEND, extra=list(extra) + ["-d", "guest_errors"],
              device=device)
    m = g.expect(r"@@DONE (\d+)@@", 300)
    assert m.group(1) == "0", "echo disk failed: " + g.text()[-1500:]
    assert "PM: Image loading done" in g.text(), "the new QEMU did not resume the image: " + g.text()[-1500:]
    return g


def test_s4_other_device(g, kernel, initrd, extra):
    """Hibernation resumed on a QEMU whose device differs.  First with
    max_hostmem=8M: the restore reads the new limits (the driver logs
    them) and refuses a 1920x1080 framebuffer itself, the device is never
    asked; the picture is back, keys arrive.  Then with cursor=off, a
    feature the driver had: whatever the restore makes of it, cursor moves
    and mode sets do not crash the driver, nothing reaches a deleted queue,
    and unbind/bind gives a working display without a cursor plane."""
    swap_setup(g)
    c = Client(g)
    before = rig.expected_pattern(1024, 768, "base")
    harness.all_clients(g, "s4x-before", before)
    g = resume_on(g, "life-s4x-hostmem", kernel, initrd, extra, "virtio-desk-pci,max_hostmem=8M")
    harness.all_clients(g, "s4x-hostmem-after", before)
    c.next(g, "clips")
    c.finish(g)
    out = harness.dmesg(g, "hostmem")
    assert "hostmem 8388608" in out, "the restore did not read the new limits: " + out
    rc, out = g.sh("kmstest pattern 1920 1080 strict </dev/null")
    assert rc != 0, "1920x1080 should not fit in 8 MiB of host memory: " + out
    out = harness.dmesg(g, "no host memory")
    assert "no host memory for a 1920x1080 framebuffer" in out, "not refused by the driver: " + out
    log = open(g.qemu_log, errors="replace").read()
    assert "max_hostmem exceeded" not in log, "the device was asked: " + log[-1500:]
    input_tests.key_arrives(g)

    harness.sh_ok(g, "dmesg -c >/dev/null")  # the resumed kernel has its swap on
    g = resume_on(g, "life-s4x-nocursor", kernel, initrd, extra, "virtio-desk-pci,cursor=off")
    restored = "failed to restore" not in harness.dmesg(g, "PM:")
    rc, out = g.sh("printf 'set 1 0 0\\nmoves 50\\nhide\\n\\n' | cursortest 1024 768", timeout=120)
    print("  cursor=off resume: driver restore %s; cursortest after it exited %d"
          % ("succeeded" if restored else "failed", rc), flush=True)
    oops = g.oopses()
    assert not oops, "after the cursor=off resume: " + " | ".join(oops[:10])
    harness.sh_ok(g, "d=$(basename /sys/bus/virtio/drivers/virtio_desk/virtio*); "
                     "echo $d > /sys/bus/virtio/drivers/virtio_desk/unbind; "
                     "echo $d > /sys/bus/virtio/drivers/virtio_desk/bind; sleep 1; ls /dev/dri")
    out = harness.sh_ok(g, "cat /sys/bus/virtio/devices/virtio*/features")
    harness.pattern_exact(g, {"base": ("all", "s4x-rebound")})
    oops = g.oopses()
    assert not oops, "after unbind/bind: " + " | ".join(oops[:10])


def test_s4(g, kernel, initrd, extra):
    """Hibernate to the swap disk, QEMU exits, a new QEMU with the same disk
    resumes the image (/init writes the disk to /sys/power/resume): odd
    cycles with a KMS client holding the picture, even ones with fbcon text;
    after each the picture is exact on all three clients, the client's next
    stage draws exactly, keys and pointer arrive.  HIBERNATE_CYCLES times."""
    swap_setup(g)
    times = []
    for i in range(HIBERNATE_CYCLES):
        kms = i % 2 == 0
        if kms:
            c = Client(g)
            before = rig.expected_pattern(1024, 768, "base")
            harness.all_clients(g, "s4-%d-before" % i, before)
        else:
            harness.sh_ok(g, r"printf '\033[2J\033[Hhibernation %d: fbcon text survives\n' > /dev/tty1; sleep 0.5" % i)
            before = g.screendump("s4-%d-before" % i)
        t = time.time()
        hibernate(g)
        g = spawn("life-s4-%d" % i, kernel, initrd, append=S4_APPEND, extra=extra)
        m = g.expect(r"@@DONE (\d+)@@", 300)
        assert m.group(1) == "0", "echo disk failed: " + g.text()[-1500:]
        times.append(time.time() - t)
        text = g.text()
        assert "PM: Image loading done" in text and "PM: hibernation: hibernation exit" in text, \
            "the new QEMU did not resume the image: " + text[-1500:]
        harness.all_clients(g, "s4-%d-after" % i, before)
        if kms:
            c.next(g, "clips")
            harness.all_clients(g, "s4-%d-clips" % i, rig.expected_pattern(1024, 768, "clips"))
            c.finish(g)
        input_tests.key_arrives(g)
        qmp_pointer_arrives(g)
        oops = g.oopses()
        assert not oops, "cycle %d: %s" % (i, " | ".join(oops[:10]))
    clean_guest(g)
    print("  %d hibernate + resume cycles: %s s each (hibernate, new QEMU, resume)"
          % (HIBERNATE_CYCLES, " ".join("%.1f" % t for t in times)), flush=True)


# --- live migration --------------------------------------------------------------------


def wait_migrated(src, during, timeout=120):
    """Until src's migration completes, call during() between polls."""
    end = time.time() + timeout
    while time.time() < end:
        st = src.qmp_cmd("query-migrate").get("status")
        if st == "completed":
            return
        if st in ("failed", "cancelled"):
            raise AssertionError("migration %s: %s" % (st, src.qmp_cmd("query-migrate")))
        during()
        time.sleep(0.02)
    raise AssertionError("migration did not complete: %s" % src.qmp_cmd("query-migrate"))


class Keys:
    """Key pairs sent with QMP, one frame each; the expected evdev stream."""

    NAMES = ["a", "s", "d", "f", "g", "h", "j", "k", "l"]

    def __init__(self):
        self.table = input_tests.qcode_to_linux()
        self.expect = []
        self.n = 0

    def send(self, g, pairs):
        """Returns how many pairs QEMU took (none once the VM is stopped)."""
        for i in range(pairs):
            k = self.NAMES[self.n % len(self.NAMES)]
            try:
                g.qmp_cmd("input-send-event", events=[input_tests.qkey(k, True), input_tests.qkey(k, False)])
            except RuntimeError as e:
                if "VM not running" in str(e):
                    return i
                raise
            self.n += 1
            self.expect += [(0, input_tests.EV_KEY, self.table[k], 1), (0, input_tests.EV_KEY, self.table[k], 0),
                            (0, input_tests.EV_SYN, 0, 0)]
        return pairs


def migrate_once(src, name, kernel, initrd, uri, incoming, during):
    """Migrate src to a new QEMU (started paused with -incoming), calling
    during() until it is done: the screendump the stopped source shows last
    equals the destination's first, and a new VNC client of the destination
    sees it; then the destination runs.  Returns (destination, seconds the
    migration took)."""
    def start_destination():
        return spawn(name, kernel, initrd, extra=["-S", "-incoming", incoming])

    # a file is read at once: that destination starts once it is written
    dst = None if uri.startswith("file:") else start_destination()
    src.qmp_cmd("migrate-set-parameters", **{"max-bandwidth": 8 << 30, "downtime-limit": 2000})
    t = time.time()
    src.qmp_cmd("migrate", uri=uri)
    wait_migrated(src, during)
    dst = dst or start_destination()
    took = time.time() - t
    before = src.screendump(name + "-src-last")
    end = time.time() + 60
    while dst.qmp_cmd("query-status")["status"] == "inmigrate" and time.time() < end:
        time.sleep(0.05)
    after = dst.screendump(name + "-dst-first")
    why = after.diff(before)
    assert why is None, "%s: screendump after migration differs from the one before: %s" % (name, why)
    why = rig.capture_until(lambda: dst.vnc_capture(name), before)
    assert why is None, "%s: VNC client of the destination: %s" % (name, why)
    dst.qmp_cmd("cont")
    src.stop()
    return dst, took


def test_migration(g, kernel, initrd):
    """A KMS client animating and keys flowing, migrated over a unix socket
    MIGRATIONS times back and forth, then once through a file: (migrate
    file:, -incoming file:): each time the destination's first screendump
    equals the source's last, its VNC client sees the same, the client
    keeps drawing after (the picture changes), and the keys sent to the
    source before each migration, while it runs (one pair per poll of its
    status, up to the source's stop, so the last ones are in flight at the
    switch) and to the destination after arrive exactly once and in order
    (count and hash of the whole stream)."""
    keys = Keys()
    max_during = 2000   # key pairs sent while migrations run, at most

    def src_keys(src):
        return keys.send(src, 1)

    harness.sh_ok(g, "dmesg -c >/dev/null; evread -q -n -1 -t 8000 'virtio-desk keyboard' >/tmp/ev.log 2>&1 & "
                     "echo $! >/tmp/ev.pid; kmstest anim 1024 768 100000 >/tmp/anim.log 2>&1 & echo $! >/tmp/anim.pid; "
                     "for i in $(seq 100); do grep -q EVREADY /tmp/ev.log && break; sleep 0.1; done; sleep 1")
    times = []
    sock = rig.OUT / "life-mig.sock"
    during_total = [0]
    for i in range(MIGRATIONS + 1):
        keys.send(g, 3)
        if i < MIGRATIONS:
            uri = incoming = "unix:%s" % sock
            name = "life-mig-%02d" % i
        else:
            path = rig.OUT / "life-mig.state"
            if path.exists():
                path.unlink()
            uri = incoming = "file:%s" % path
            name = "life-mig-file"
        if uri.startswith("unix") and sock.exists():
            sock.unlink()
        src = g

        def during():
            # keys up to the moment the source stops: the last ones are in flight at the switch
            if during_total[0] < max_during:
                during_total[0] += src_keys(src)
        g, took = migrate_once(g, name, kernel, initrd, uri, incoming, during)
        times.append(took)
        keys.send(g, 3)
        a = g.screendump(name + "-running-a")
        why = None
        for _ in range(20):
            time.sleep(0.2)
            why = g.screendump(name + "-running-b").diff(a)
            if why is not None:
                break
        assert why is not None, "%s: the KMS client stopped drawing after migration" % name
    # evread ends 8 s after the last key
    out = harness.sh_ok(g, "for i in $(seq 600); do grep -q EVSUM /tmp/ev.log && break; sleep 0.1; done; "
                           "cat /tmp/ev.log; kill -0 $(cat /tmp/anim.pid) && echo ANIM-RUNNING", timeout=180)
    s = re.search(r"EVSUM count (\d+) fnv ([0-9a-f]+) dropped (\d+)", out)
    assert s, "evread did not finish: " + out
    count, fnv, dropped = int(s.group(1)), s.group(2), int(s.group(3))
    assert dropped == 0, "SYN_DROPPED %d" % dropped
    assert count == len(keys.expect), "guest read %d events, sent %d" % (count, len(keys.expect))
    assert fnv == input_tests.fnv64(keys.expect), "events lost, duplicated or reordered (hash %s != %s)" % (
        fnv, input_tests.fnv64(keys.expect))
    assert "ANIM-RUNNING" in out, "the KMS client died: " + out
    harness.sh_ok(g, "kill $(cat /tmp/anim.pid); wait")
    oops = g.oopses()
    assert not oops, " | ".join(oops[:10])
    clean_guest(g)
    print("  %d migrations over a unix socket, 1 through a file: %.2f s mean, %.2f s max; "
          "%d key pairs in all, %d of them sent while a migration ran"
          % (MIGRATIONS, sum(times) / len(times), max(times), keys.n, during_total[0]), flush=True)


# --- reboot loop --------------------------------------------------------------------------


def rss_kib(g):
    m = re.search(r"VmRSS:\s+(\d+) kB", open("/proc/%d/status" % g.proc.pid).read())
    return int(m.group(1))


def test_reboots(g):
    """REBOOTS reboots, `reboot -f` and QMP system_reset in turn, a KMS
    client's picture exact between them: after each boot the screen shows
    fbcon, not the last client's picture (no stale surface); the device's
    trace shows no command error and each reset dropping exactly the
    resources created and not destroyed since the one before; QEMU's
    RSS from the 10th reboot on stays within RSS_SLACK_KIB; no driver error,
    no oops."""
    pattern = rig.expected_pattern(1024, 768, "base")
    rss = []
    for i in range(REBOOTS):
        def base_shown(stage):
            why = rig.capture_until(lambda: g.screendump("reboot-%d" % i), pattern)
            assert why is None, "reboot %d: %s" % (i, why)
        harness.pattern_exact(g, {"base": base_shown})
        with g.lock:
            g.pos = len(g.buf)
        if i % 2 == 0:
            g.send("reboot -f")
        else:
            g.qmp_cmd("system_reset")
        g.boot()
        errs = harness.driver_errors(g)
        assert not errs, "reboot %d: %s" % (i, " | ".join(errs))
        shot = g.screendump("reboot-%d-fbcon" % i)
        assert shot.diff(pattern) is not None, "reboot %d: the last client's picture is still shown" % i
        rss.append(rss_kib(g))
    text = open(g.qemu_log, errors="replace").read()
    # every reset drops exactly the resources created and not destroyed since the last one
    live, created, resets = set(), 0, 0
    for m in re.finditer(r"virtio_desk_(resource_create|resource_destroy|reset) (?:res )?(?:dropping )?(\d+)", text):
        what, n = m.group(1), int(m.group(2))
        if what == "resource_create":
            live.add(n)
            created += 1
        elif what == "resource_destroy":
            live.discard(n)
        else:
            assert n == len(live), "reset %d dropped %d resources, %d were live" % (resets, n, len(live))
            live.clear()
            resets += 1
    assert resets >= REBOOTS, "only %d device resets traced" % resets
    assert "virtio_desk_cmd_error" not in text, "device errors: " + \
        " | ".join(l for l in text.splitlines() if "cmd_error" in l)[:1500]
    growth = max(rss[RSS_FROM:]) - rss[RSS_FROM]
    assert growth <= RSS_SLACK_KIB, "QEMU RSS grew by %d KiB: %s" % (growth, rss)
    oops = g.oopses()
    assert not oops, " | ".join(oops[:10])
    print("  QEMU RSS after each boot (MiB): %s; %d resources created, %d device resets"
          % (" ".join(str(r >> 10) for r in rss), created, resets), flush=True)


LIFE_TRACE = ["-trace", "virtio_desk_resource_create", "-trace", "virtio_desk_resource_destroy",
              "-trace", "virtio_desk_cmd_error", "-trace", "virtio_desk_reset"]


def run(kernel, initrd):
    """The lifecycle guests; results go to harness.RESULTS through harness.check."""
    try:
        run_guests(kernel, initrd)
    finally:
        while SPAWNED:
            SPAWNED.pop().stop()


S3, S4 = "life_s3_suspend_resume_picture_input", "life_s4_hibernate_resume_5_times"
S4X = "life_s4_resume_on_other_device_hostmem_cursor_off"
MIGRATION = "life_migration_20_unix_and_file"
REBOOT = "life_reboot_20_reset_and_reboot_f"
NAMES = [S3, S4, S4X, MIGRATION, REBOOT]
# the guests run() boots, each for one test
GUESTS = {"life-s3": [S3], "life-s4": [S4], "life-s4x": [S4X], "life-mig": [MIGRATION], "life-reboot": [REBOOT]}


# After an S3 wake-up (q35, SeaBIOS) the chipset's ACPI registers are gone:
# the ACPI PM timer reads 0xffffff for good, which the clocksource watchdog
# falls back to when it finds TCG's TSC skewed (the guest's sleeps never
# end), and the S5 power-off write does nothing.  So the S3 guest trusts
# the TSC, and hibernation (which ends in S5) runs on a guest of its own.
S3_APPEND = "tsc=reliable"
S4_APPEND = "vdesk.swap=vda"


def run_guests(kernel, initrd):
    if harness.any_selected(GUESTS["life-s3"]):
        with harness.booted("life-s3", kernel, initrd, "virtio-desk-pci", append=S3_APPEND) as g:
            harness.check(S3, test_s3, g)
    if harness.any_selected(GUESTS["life-s4"]):
        extra = swap_disk()
        with harness.booted("life-s4", kernel, initrd, "virtio-desk-pci", append=S4_APPEND, extra=extra) as g:
            harness.check(S4, test_s4, g, kernel, initrd, extra)
    if harness.any_selected(GUESTS["life-s4x"]):
        extra = swap_disk()
        with harness.booted("life-s4x", kernel, initrd, "virtio-desk-pci", append=S4_APPEND, extra=extra) as g:
            harness.check(S4X, test_s4_other_device, g, kernel, initrd, extra)
    if harness.any_selected(GUESTS["life-mig"]):
        with harness.booted("life-mig", kernel, initrd, "virtio-desk-pci") as g:
            harness.check(MIGRATION, test_migration, g, kernel, initrd)
    if harness.any_selected(GUESTS["life-reboot"]):
        with harness.booted("life-reboot", kernel, initrd, "virtio-desk-pci", extra=LIFE_TRACE + REBOOT_EXTRA,
                            tcg=REBOOT_TCG) as g:
            harness.check(REBOOT, test_reboots, g)
