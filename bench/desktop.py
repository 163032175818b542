# SPDX-License-Identifier: GPL-2.0-or-later
"""The benchmark's desktop workloads (issue 11): page flips with one damage
clip, the DIRTYFB workloads on an aged guest and with a VNC client reading
updates, Weston clients in a Debian guest, and nobody watching (issue 24).
Called from bench.py; Python 3 standard library only.

Weston frames are real repaints (COUNT_AWK), not page-flip events.  What moves
the simple-shm ratio (this bench 1.42x, an independent harness 0.75x) is the
host's load together with the guest's vCPUs, not the counting (events and
repaints agree within 1-7 % for simple-shm): virtio-desk's frame is a chain of
round trips that each wait for a host core.  bench/run.sh runs -smp 1; the rig
defaults to -smp 2, which under a host load of ~5 gave 0.28-0.75x (2026-12-07,
docs/performance.md).  State the load average and -smp with every ratio."""

import re
import shlex
import statistics
import time
from pathlib import Path

import bench
import rig
import vncread

PACE = "/sys/module/virtio_desk/parameters/pace_flips"


def log(*a):
    print("[bench]", *a, flush=True)


def guest_busy(stat_line):
    """(busy, total) seconds from /proc/stat's cpu line (USER_HZ = 100)."""
    f = [int(x) for x in stat_line.split()[1:]]
    total = sum(f[:8])
    return (total - f[3] - f[4]) / 100.0, total / 100.0


def pace_state(g):
    """'Y', 'N', or None when the driver has no pace_flips parameter."""
    rc, out = g.sh("cat %s 2>/dev/null" % PACE)
    v = out.strip()
    return v if rc == 0 and v in ("Y", "N") else None


def set_pace(g, on):
    bench.sh(g, "echo %s > %s" % ("Y" if on else "N", PACE))


# --- page flips ---------------------------------------------------------------


def flip_run(g, w, h, n, traced=False):
    """kmstest flipclip W H N stage: host CPU between the "modeset" and
    "flips" stages (the flip loop), the program's result line."""
    if traced:
        bench.set_traces(g, True)
    try:
        g.send("kmstest flipclip %d %d %d stage" % (w, h, n))
        m = g.expect(r"@@STAGE modeset@@|@@RESULT ([^@]*)@@", 120)
        if m.group(0).startswith("@@RESULT"):
            g.expect(r"@@DONE (\d+)@@")
            return {"unsupported": "flipclip: " + m.group(1)}
        m0 = g.log_mark()
        c0, v0 = bench.proc_cpu(g.proc.pid)
        g.send("")
        # the program prints its result line, then stops at "flips"
        r = bench.parse_result(g.expect(r"@@RESULT ([^@]*)@@", 300).group(1))
        if "error" in r:
            rc = int(g.expect(r"@@DONE (\d+)@@", 60).group(1))
        else:
            g.expect(r"@@STAGE flips@@", 60)
            c1, v1 = bench.proc_cpu(g.proc.pid)
            m1 = g.log_mark()
            g.send("")
            rc = int(g.expect(r"@@DONE (\d+)@@", 60).group(1))
    finally:
        if traced:
            bench.set_traces(g, False)
    if rc or "error" in r or not r.get("flips"):
        return {"unsupported": "flipclip failed (%d): %s" % (rc, r)}
    out = {"rate": r["fps"], "n": r["flips"], "secs": r["secs"], "vblanks": r.get("vblanks", 0),
           "cpu": (c1 - c0) / r["flips"], "vcpu": (v1 - v0) / r["flips"]}
    if traced:
        time.sleep(0.2)
        out["bytes"] = bench.copied_bytes(g, m0, m1) / r["flips"]
    return out


def flips(guests, opts, results):
    """Paced (the driver's default) and unpaced (pace_flips=N), virtio-desk
    and virtio-gpu (bochs-display: its flips are not measured)."""
    paced_n, unpaced_n = (20, 150) if opts.short else (150, 1500)
    for w, h in bench.SIZES:
        for mode in ("paced", "unpaced"):
            key = "flips %s %dx%d" % (mode, w, h)
            for name, g in guests.items():
                if name == "bochs-display":
                    continue
                why = None
                if name == "virtio-desk":
                    st = pace_state(g)
                    if st is None:
                        why = "the driver has no pace_flips parameter (%s)" % PACE
                        if mode == "unpaced":
                            results[name][key] = {"unsupported": why}
                            continue
                    else:
                        set_pace(g, mode == "paced")
                elif mode == "paced":
                    why = "virtio-gpu (Linux 6.12) sends flip events unpaced"
                runs = []
                for _ in range(opts.reps):
                    r = flip_run(g, w, h, paced_n if mode == "paced" else unpaced_n)
                    if "unsupported" in r:
                        results[name][key] = r
                        break
                    runs.append(r)
                else:
                    t = flip_run(g, w, h, 20 if mode == "paced" else 100, traced=True)
                    results[name][key] = {"runs": runs, "bytes": t.get("bytes"), "note": why,
                                          "vblanks": [x["vblanks"] for x in runs]}
                if name == "virtio-desk" and pace_state(g) is not None:
                    set_pace(g, True)
            log("%-24s %s" % (key, "  ".join("%s %s" % (n, bench.fmt_rate(results[n].get(key)))
                                            for n in guests if n != "bochs-display")))


# --- aged guest -----------------------------------------------------------------


AGE_CMD = ("ageing $(( $(awk '/MemAvailable/ {print $2}' /proc/meminfo) / 1024 - 96 )) > /tmp/aged 2>&1 & "
           "for i in $(seq 200); do grep -q AGED /tmp/aged && break; sleep 0.2; done; cat /tmp/aged")


def requests_per_update(g, w, h, wl):
    """Transfer requests per update on virtio-desk (traced, short run)."""
    g.qmp_cmd("trace-event-set-state", name="virtio_desk_transfer_rects", enable=True)
    try:
        r, _, _ = bench.staged(g, "kmstest perf %d %d %s 0.3" % (w, h, wl))
    finally:
        g.qmp_cmd("trace-event-set-state", name="virtio_desk_transfer_rects", enable=False)
    with open(g.qemu_log, "rb") as f:
        f.seek(g.marks[0])
        new = f.read(g.marks[1] - g.marks[0]).decode(errors="replace")
    n = max(r.get("n") or 1, 1)
    descs = [int(x) for x in re.findall(r"virtio_desk_transfer_rects\b.*? descs (\d+)", new)]
    return len(re.findall(r"virtio_desk_transfer_rects", new)) / n, (sum(descs) / n if descs else None)


def buddy_summary(g):
    """Free pages of order 0 and of order >= 9 (2 MiB) in zone Normal/DMA32."""
    _, out = g.sh("cat /proc/buddyinfo")
    o0 = hi = 0
    for line in out.splitlines():
        m = re.match(r"Node \d+, zone\s+(\S+)\s+(.*)", line.strip())
        if m and m.group(1) in ("DMA32", "Normal"):
            c = [int(x) for x in m.group(2).split()]
            o0 += c[0]
            hi += sum(c[9:])
    return "order-0 free blocks %d, >= 2 MiB free blocks %d" % (o0, hi)


def aged(guests, opts, results, info):
    """The DIRTYFB workloads again after `ageing` has broken up the guest's
    free memory (it holds a random half of nearly all free pages)."""
    info.setdefault("aged", {})
    wls = ["full", "rect64"] if opts.short else [w[0] for w in bench.WORKLOADS]
    for name, g in guests.items():
        before = buddy_summary(g)
        bench.sh(g, AGE_CMD, timeout=300)
        info["aged"][name] = "before: %s; aged: %s" % (before, buddy_summary(g))
    try:
        for w, h in bench.SIZES:
            for wl in wls:
                key = "aged %s %dx%d" % (wl, w, h)
                runs = {n: [] for n in guests}
                for _ in range(min(opts.reps, 3)):
                    for n, g in guests.items():
                        if key in results[n]:
                            continue
                        r = bench.display_once(g, w, h, wl, opts.secs)
                        if "unsupported" in r:
                            results[n][key] = r
                        else:
                            runs[n].append(r)
                for n, g in guests.items():
                    if key not in results[n]:
                        e = {"runs": runs[n], "bytes": bench.display_bytes(g, w, h, wl, opts.secs)}
                        if n == "virtio-desk":
                            e["requests"], e["descs"] = requests_per_update(g, w, h, wl)
                        results[n][key] = e
                log("%-24s %s" % (key, "  ".join("%s %s" % (n, bench.fmt_rate(results[n].get(key)))
                                                for n in guests)))
        # the same guests, not aged, for the requests column
        for w, h in bench.SIZES:
            info["aged"].setdefault("requests aged %dx%d" % (w, h),
                                    results["virtio-desk"].get("aged full %dx%d" % (w, h), {}).get("requests"))
    finally:
        for g in guests.values():
            g.sh("kill %1 2>/dev/null; killall ageing 2>/dev/null; wait")


# --- VNC client connected ----------------------------------------------------------


def vnc(guests, opts, results):
    """The DIRTYFB workloads while a VNC client (vncread.Reader) reads every
    update."""
    wls = ["full", "rect64"] if opts.short else [w[0] for w in bench.WORKLOADS]
    if getattr(opts, "servers", "vnc,spice") != "vnc,spice":
        for n in guests:
            results[n]["vnc full 1024x768"] = {"unsupported": "--servers %s" % opts.servers}
        return
    readers = {}
    try:
        for n, g in guests.items():
            readers[n] = vncread.Reader(5900 + g.vnc)
        time.sleep(1)
        for w, h in bench.SIZES:
            for wl in wls:
                key = "vnc %s %dx%d" % (wl, w, h)
                runs = {n: [] for n in guests}
                for _ in range(min(opts.reps, 3)):
                    for n, g in guests.items():
                        if key in results[n]:
                            continue
                        u0, _, b0 = readers[n].counts()
                        t0 = time.time()
                        r = bench.display_once(g, w, h, wl, opts.secs)
                        u1, _, b1 = readers[n].counts()
                        dt = time.time() - t0
                        if "unsupported" in r:
                            results[n][key] = r
                        else:
                            r["vnc_ups"] = (u1 - u0) / dt
                            r["vnc_Bps"] = (b1 - b0) / dt
                            runs[n].append(r)
                for n in guests:
                    if key not in results[n]:
                        results[n][key] = {"runs": runs[n], "bytes": None}
                log("%-24s %s" % (key, "  ".join("%s %s" % (n, bench.fmt_rate(results[n].get(key)))
                                                for n in guests)))
        for n, r in readers.items():
            if r.error:
                raise RuntimeError("VNC reader on %s: %s" % (n, r.error))
    finally:
        for r in readers.values():
            r.close()


# --- Weston ------------------------------------------------------------------------

WESTON_INI = r"""[core]
idle-time=0
require-input=false
[shell]
panel-position=none
background-color=0xff204060
[output]
name=Virtual-1
mode=%dx%d
"""

# What a user sees, counted in the guest kernel, driver-independent (issue 24):
# kprobes on the DRM core (tracefs, Debian's stock 6.12 has CONFIG_KPROBE_EVENTS):
# drm_mode_atomic_ioctl with its flags (struct drm_mode_atomic's first field),
# the legacy drm_mode_page_flip_ioctl, and drm_atomic_set_fb_for_plane (plane
# state's plane, the new framebuffer), which the atomic ioctl calls for every
# FB_ID property.  A repaint is a non-test commit that puts a framebuffer on a
# plane other than the one that plane's last non-test commit put there:
# Weston's pixman renderer alternates two dumb buffers per output, so every
# real repaint changes the primary plane's fb, while the flip Weston sends to
# restart its repaint loop on virtio-gpu (drmWaitVBlank fails: no vblank in its
# 6.12 driver) re-commits the buffer on screen and is not one.  Events (every
# drm_vblank_event_delivered) stay a column of their own.
KPROBES = ("t=/sys/kernel/tracing; [ -e $t/kprobe_events ] || mount -t tracefs none $t; "
           "echo 'p:vdbench/vd_atomic drm_mode_atomic_ioctl flags=+0(%si):u32' >> $t/kprobe_events && "
           "echo 'p:vdbench/vd_flip drm_mode_page_flip_ioctl' >> $t/kprobe_events && "
           "echo 'p:vdbench/vd_setfb drm_atomic_set_fb_for_plane plane=+0(%di):x64 fb=%si:x64' >> $t/kprobe_events && "
           "echo 4096 > $t/buffer_size_kb && echo 1 > $t/events/vdbench/enable && "
           "echo 1 > $t/events/drm/drm_vblank_event_delivered/enable")

# per task: is its last ioctl a TEST_ONLY (0x100) commit; per plane: the last fb a
# non-test commit set (planes first seen in the window are not counted: +-1 frame)
COUNT_AWK = r"""/ vd_atomic: / { match($0, /flags=[0-9]+/); f = substr($0, RSTART + 6, RLENGTH - 6) + 0
  test[$1] = int(f / 256) % 2; if (test[$1]) tests++; else { commits++; seen[$1] = 0 }; next }
/ vd_flip: / { test[$1] = 0; commits++; seen[$1] = 0; next }
/ vd_setfb: / { if (!($1 in test) || test[$1]) next
  match($0, /plane=0x[0-9a-f]+/); p = substr($0, RSTART + 6, RLENGTH - 6)
  match($0, /fb=0x[0-9a-f]+/); fb = substr($0, RSTART + 3, RLENGTH - 3)
  if (fb != "0x0" && (p in last) && last[p] != fb && !seen[$1]) { repaints++; seen[$1] = 1 }
  if (fb != "0x0") last[p] = fb; next }
/ drm_vblank_event_delivered: / { events++ }
END { printf "events=%d repaints=%d commits=%d tests=%d", events, repaints, commits, tests }
"""

WINDOW = r"""t=/sys/kernel/tracing
s0=$(head -1 /proc/stat | cut -d' ' -f3- | tr ' ' ,)
echo > $t/trace; echo 1 > $t/tracing_on
echo @@STAGE start@@; read x
sleep %g
echo 0 > $t/tracing_on
echo @@STAGE end@@; read x
s1=$(head -1 /proc/stat | cut -d' ' -f3- | tr ' ' ,)
c=$(awk -f /tmp/count.awk $t/trace); o=$(sed -n 's/^overrun: //p' $t/per_cpu/cpu0/stats)
echo 1 > $t/tracing_on
echo "@@RESULT $c overrun=$o s0=$s0 s1=$s1@@"
"""


def weston_window(g, secs, traced=False):
    """One measured window while a client runs: host CPU of QEMU (all
    threads, and the vCPU threads), guest CPU (/proc/stat), frames (repaints:
    COUNT_AWK) and events (drm_vblank_event_delivered) in the guest."""
    if traced:
        bench.set_traces(g, True)
    try:
        g.send("sh /tmp/window.sh")
        g.expect(r"@@STAGE start@@", 60)
        m0 = g.log_mark()
        th0 = thread_cpu(g.proc.pid)
        c0, v0 = bench.proc_cpu(g.proc.pid)
        t0 = time.time()
        g.send("")
        g.expect(r"@@STAGE end@@", 60 + secs)
        c1, v1 = bench.proc_cpu(g.proc.pid)
        t1 = time.time()
        th1 = thread_cpu(g.proc.pid)
        m1 = g.log_mark()
        g.send("")
        res = g.expect(r"@@RESULT ([^@]*)@@", 60).group(1)
        g.expect(r"@@DONE (\d+)@@", 60)
    finally:
        if traced:
            bench.set_traces(g, False)
    f = dict(kv.split("=", 1) for kv in res.split())
    if int(f.get("overrun") or 0):
        raise RuntimeError("guest trace buffer overran (%s): the counts are short" % f["overrun"])
    frames = int(f["repaints"])
    b0, tot0 = guest_busy("cpu " + f["s0"].replace(",", " "))
    b1, tot1 = guest_busy("cpu " + f["s1"].replace(",", " "))
    dt = t1 - t0
    out = {"rate": frames / dt, "frames": frames, "secs": dt, "cpu_s": (c1 - c0) / dt,
           "vcpu_s": (v1 - v0) / dt, "other_s": (c1 - c0 - (v1 - v0)) / dt,
           "events": int(f["events"]) / dt, "commits": int(f["commits"]) / dt, "tests": int(f["tests"]) / dt,
           "cpu": (c1 - c0) / frames if frames else None, "vcpu": (v1 - v0) / frames if frames else None,
           "guest": (b1 - b0) / frames if frames else None, "guest_s": (b1 - b0) / max(tot1 - tot0, 1e-9),
           "threads": other_threads(th0, th1, dt)}
    if traced:
        time.sleep(0.3)
        nbytes = bench.copied_bytes(g, m0, m1)
        out["bytes"] = nbytes / frames if frames else None
        out["bytes_s"] = nbytes / dt
        with open(g.qemu_log, "rb") as fo:
            fo.seek(m0)
            new = fo.read(m1 - m0).decode(errors="replace")
        out["requests"] = len(re.findall(r"virtio_desk_transfer_rects", new)) + \
            len(re.findall(r"virtio_gpu_cmd_res_flush", new))
    return out


CLIENTS = {
    "simple-shm": "weston-simple-shm",
    # a terminal that scrolls: its shell prints the package list over and over
    "terminal": "weston-terminal --shell=/tmp/scroller",
}


def weston_guest(name, kernel, initrd, img, qdev, extra, spice=True):
    """westonguest.WestonGuest; spice=False: QEMU's VNC server only."""
    import westonguest
    if spice:
        return westonguest.WestonGuest(name, kernel, initrd, img, qdev, extra=extra)

    class VncOnly(westonguest.WestonGuest):
        def __init__(self):
            rig.Guest.__init__(self, name, kernel, initrd, qdev, extra=list(extra) + westonguest.cdrom_args(img),
                               spice=False)
    return VncOnly()


def weston_boot(dev, kernel, initrd, img, w, h, spice=True, prefix="bench-weston-"):
    import westonguest
    name, qdev, _, extra = dev
    args = list(extra) + ["-name", "weston-%s,debug-threads=on" % name]
    for t in bench.TRACES + ["virtio_desk_transfer_rects"]:
        args += ["-trace", t]
    g = weston_guest(prefix + name, kernel, initrd, img, qdev, args, spice)
    try:
        g.boot()
        bench.set_traces(g, False)
        g.qmp_cmd("trace-event-set-state", name="virtio_desk_transfer_rects", enable=False)
        bench.sh(g, "echo 0 > /proc/sys/kernel/printk; mkdir -p /root/.config; printf '%s' > /root/.config/weston.ini"
                 % (WESTON_INI % (w, h)).replace("\n", "\\n"))
        bench.sh(g, "printf '#!/bin/sh\\nwhile :; do cat /etc/weston-root.debs; done\\n' > /tmp/scroller; "
                    "chmod +x /tmp/scroller")
        bench.sh(g, KPROBES)
        put_file(g, "/tmp/count.awk", COUNT_AWK)
        bench.sh(g, westonguest.WestonGuest.START_WESTON, timeout=120)
        time.sleep(2)
    except BaseException:
        g.stop()
        raise
    return g


def put_file(g, path, text):
    bench.sh(g, "printf '%%s\\n' %s > %s" % (" ".join(shlex.quote(l) for l in text.splitlines()), path))


def set_window(g, secs):
    put_file(g, "/tmp/window.sh", WINDOW % secs)


def weston(devs, kernel_initrd_img, opts, results, info):
    kernel, initrd, img = kernel_initrd_img
    w, h = 1280, 800
    secs = 1.5 if opts.short else 5.0
    warm = 1.0 if opts.short else 2.0
    reps = 1 if opts.short else opts.weston_reps
    guests = {}
    try:
        for d in devs:
            if d[0] == "bochs-display":
                continue
            log("booting weston guest", d[0])
            t = time.time()
            guests[d[0]] = weston_boot(d, kernel, initrd, img, w, h)
            info.setdefault("weston_boot", {})[d[0]] = time.time() - t
        for g in guests.values():
            set_window(g, secs)
        for client, cmd in CLIENTS.items():
            if opts.short and client != "simple-shm":
                continue
            for mode in ("paced", "unpaced"):
                key = "weston %s %s" % (client, mode)
                for n, g in guests.items():
                    note = None
                    if n == "virtio-desk":
                        st = pace_state(g)
                        if st is None:
                            if mode == "unpaced":
                                results[n][key] = {"unsupported": "the driver has no pace_flips parameter"}
                                continue
                            note = "no pace_flips parameter: the driver's only behaviour"
                        else:
                            set_pace(g, mode == "paced")
                    elif mode == "paced":
                        note = "virtio-gpu (Linux 6.12) sends flip events unpaced"
                    elif mode == "unpaced":
                        # virtio-gpu has one behaviour: measured once, shown in both rows
                        results[n][key] = results[n]["weston %s paced" % client]
                        continue
                    bench.sh(g, "export XDG_RUNTIME_DIR=/run/user/0 WAYLAND_DISPLAY=wayland-1; "
                                "(%s </dev/null >/tmp/client.out 2>&1 &)" % cmd)
                    time.sleep(warm)
                    runs = [weston_window(g, secs) for _ in range(reps)]
                    set_window(g, min(secs, 1.0))
                    t = weston_window(g, min(secs, 1.0), traced=True)
                    set_window(g, secs)
                    rc, out = g.sh("pkill -f '%s'; sleep 0.5; cat /tmp/client.out | tail -3" % cmd.split()[0])
                    results[n][key] = {"runs": runs, "bytes": t["bytes"], "requests": t["requests"] / max(t["frames"], 1),
                                       "note": note}
                    if n == "virtio-desk" and pace_state(g) is not None:
                        set_pace(g, True)
                log("%-28s %s" % (key, "  ".join("%s %s" % (n, bench.fmt_rate(results[n].get(key)))
                                                for n in guests)))
        for n, g in guests.items():
            rc, out = g.sh("grep -ci 'error\\|fail' /tmp/weston.log; tail -2 /tmp/weston.log")
            oops = g.oopses()
            if oops:
                raise RuntimeError("weston guest oops on %s: %s" % (n, oops[:3]))
    finally:
        for g in guests.values():
            g.stop()


# --- nobody watching (issue 24) -------------------------------------------------------
#
# Guests with QEMU's VNC server and no client, no SPICE server (QEMU's SPICE
# display pulls the picture on every refresh, client or not: always watched).
# virtio-desk's output is unwatched watch-timeout-ms (5 s) after the last pull;
# the rows are measured once the driver says so (vdesk_stats watched), and
# virtio-gpu's on the same command line in the same run.

ANIM_W, ANIM_H = 1024, 768
UNWATCHED_TRACES = ["virtio_desk_watched", "virtio_desk_pull*", "virtio_desk_outputs_current"]


def run_tests():
    import run_tests as rt  # tests/guest: debugfs_knob, expected_flipclip, result_line
    return rt


def vdesk_stats(g):
    """The driver's vdesk_stats (held_updates, held_sent, watched), {} on other devices."""
    rc, out = g.sh("[ -d /sys/kernel/debug/dri ] || mount -t debugfs none /sys/kernel/debug; "
                   "cat %s 2>/dev/null" % run_tests().debugfs_knob("vdesk_stats"))
    return {k: int(v) for k, v in re.findall(r"([a-z_]+) (\d+)", out)} if rc == 0 else {}


def wait_unwatched(g, timeout=60):
    """Until virtio-desk's output 0 is unwatched: seconds waited (None: not virtio-desk)."""
    t = time.time()
    while time.time() - t < timeout:
        st = vdesk_stats(g)
        if not st:
            return None
        if not st.get("watched", 1) & 1:
            return time.time() - t
        time.sleep(0.5)
    raise RuntimeError("%s: output 0 still watched after %d s (a client or a SPICE server?)" % (g.name, timeout))


def unwatched_boot(dev, kernel, initrd):
    name, qdev, _, extra = dev
    args = list(extra) + ["-name", "bench-unwatched-%s,debug-threads=on" % name]
    for t in bench.TRACES + UNWATCHED_TRACES:
        args += ["-trace", t]
    g = rig.Guest("bench-unwatched-" + name, kernel, initrd, qdev, extra=args, spice=False)
    try:
        g.boot()
        bench.set_traces(g, False)
        bench.sh(g, "for i in $(seq 50); do [ -e /dev/dri/card0 ] && break; sleep 0.1; done; "
                    "[ -e /dev/dri/card0 ]; echo 0 > /proc/sys/kernel/printk")
    except BaseException:
        g.stop()
        raise
    return g


def thread_cpu(pid):
    """CPU seconds of each of QEMU's threads by name (/proc/PID/task/*/stat)."""
    out = {}
    for t in Path("/proc/%d/task" % pid).iterdir():
        try:
            s = (t / "stat").read_text()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        out[comm] = out.get(comm, 0) + (int(f[11]) + int(f[12])) / bench.CLK_TCK
    return out


def other_threads(t0, t1, dt):
    """ms/s of each non-vCPU thread that ran, largest first: 'main 12, vnc_worker 1'."""
    d = {k: (t1.get(k, 0) - t0.get(k, 0)) / dt * 1e3 for k in t1 if "/TCG" not in k and "/KVM" not in k}
    return ", ".join("%s %.0f" % (k, v) for k, v in sorted(d.items(), key=lambda kv: -kv[1]) if v > 0) or "none"


def anim_window(g, secs, traced=False, idle=False):
    """keypaint anim (tests/guest/keypaint.c: frame n fills a 64x64 block with
    colour n and sends that clip with DIRTYFB, 60 frames/s on absolute
    deadlines) in the background; the host samples QEMU's threads over secs
    seconds in its middle.  idle: the same window with nothing running (the
    floor: QEMU's main loop, timers, the idle guest)."""
    st0 = vdesk_stats(g)
    if idle:
        bench.sh(g, "echo '@@RESULT anim frames=0 secs=1 late=0@@' > /tmp/anim.log")
    else:
        bench.sh(g, "rm -f /tmp/anim.log; (keypaint anim %d %d 60 %g >/tmp/anim.log 2>&1 &)"
                 % (ANIM_W, ANIM_H, secs + 2.0))
    time.sleep(1.0)
    if traced:
        bench.set_traces(g, True)
    try:
        m0 = g.log_mark()
        th0 = thread_cpu(g.proc.pid)
        c0, v0 = bench.proc_cpu(g.proc.pid)
        t0 = time.time()
        time.sleep(secs)
        c1, v1 = bench.proc_cpu(g.proc.pid)
        t1 = time.time()
        th1 = thread_cpu(g.proc.pid)
        m1 = g.log_mark()
    finally:
        if traced:
            bench.set_traces(g, False)
    out = bench.sh(g, "for i in $(seq 150); do grep -q @@RESULT /tmp/anim.log && break; sleep 0.2; done; "
                      "cat /tmp/anim.log", timeout=60)
    m = re.search(r"@@RESULT anim frames=(\d+) secs=([\d.]+) late=(\d+)@@", out)
    if not m:
        raise RuntimeError("%s: keypaint anim: %s" % (g.name, out[-500:]))
    st1 = vdesk_stats(g)
    dt = t1 - t0
    r = {"rate": int(m.group(1)) / float(m.group(2)), "late": int(m.group(3)), "secs": dt,
         "cpu_s": (c1 - c0) / dt, "vcpu_s": (v1 - v0) / dt, "other_s": (c1 - c0 - (v1 - v0)) / dt,
         "held": st1.get("held_updates", 0) - st0.get("held_updates", 0) if st0 else None,
         "watched": st1.get("watched") if st1 else None, "threads": other_threads(th0, th1, dt)}
    if traced:
        time.sleep(0.3)
        r["bytes_s"] = bench.copied_bytes(g, m0, m1) / dt
        r["transfers"] = len(g.traces_since(m0)[0])
    return r


def connect_cycles(g, n, results_entry):
    """n times: (virtio-desk: once unwatched) kmstest flipclip's picture after
    k flips, held; a VNC client (tests/guest/rfb.py, Raw) connects: ms until
    its window shows exactly that picture (watch_tests.vnc_until_exact).  Then
    a picture, 10 s of nobody, a QMP screendump compared with it."""
    import watch_tests
    rt = run_tests()
    w, h = watch_tests.W, watch_tests.H
    times, waited = [], []
    bench.set_traces(g, True)
    bg = None
    try:
        for i in range(n):
            u = wait_unwatched(g)
            if u is None:
                time.sleep(1.0)
            else:
                waited.append(u)
            k = 10 + 10 * i
            mark = g.log_mark()
            bg, r = watch_tests.flips(rt, g, k)
            sent = len(g.traces_since(mark)[0])
            mark = g.log_mark()
            took = watch_tests.vnc_until_exact(5900 + g.vnc, rt.expected_flipclip(w, h, k))
            times.append({"ms": took * 1e3, "transfers_before": sent,
                          "pulls": len(re.findall(r"virtio_desk_pull\b", g.log_since(mark)))})
            bg.finish()
            bg = None
        wait_unwatched(g)
        bg, r = watch_tests.flips(rt, g, 60)
        mark = g.log_mark()
        time.sleep(10)
        quiet = len(g.traces_since(mark)[0])
        t = time.time()
        why = g.screendump("unwatched-10s").diff(rt.expected_flipclip(w, h, 60))
        results_entry["screendump"] = {"exact": why is None, "why": why, "ms": (time.time() - t) * 1e3,
                                       "transfers_in_10s": quiet,
                                       "pull_timeouts": len(re.findall(r"virtio_desk_pull_timeout|no OUTPUTS_CURRENT",
                                                                       g.log_since(mark)))}
        bg.finish()
        bg = None
    finally:
        if bg:
            bg.finish()
        bench.set_traces(g, False)
    results_entry["connect"] = times
    results_entry["waited"] = waited


def unwatched(devs, kernel_initrd, wk, opts, results, info):
    """The rows of issue 24: a 60 frames/s animation and the Weston terminal
    with nobody watching, what a VNC client connecting then sees, a screendump
    after 10 s unwatched."""
    kernel, initrd = kernel_initrd
    devs = [d for d in devs if d[0] in ("virtio-desk", "virtio-gpu")]
    secs = 2.0 if opts.short else 5.0
    reps = 1 if opts.short else 3
    guests = {}
    try:
        for d in devs:
            log("booting unwatched guest", d[0])
            guests[d[0]] = unwatched_boot(d, kernel, initrd)
        for n, g in guests.items():
            results[n]["unwatched anim"] = {"runs": [], "waited": wait_unwatched(g)}
            results[n]["unwatched idle"] = {"runs": []}
        for _ in range(reps):
            for n, g in guests.items():
                wait_unwatched(g)
                results[n]["unwatched idle"]["runs"].append(anim_window(g, secs, idle=True))
                results[n]["unwatched anim"]["runs"].append(anim_window(g, secs))
        for n, g in guests.items():
            t = anim_window(g, min(secs, 2.0), traced=True)
            e = results[n]["unwatched anim"]
            e["bytes_s"], e["transfers"], e["held"] = t["bytes_s"], t["transfers"], t["held"]
        log("%-28s %s" % ("unwatched anim", "  ".join("%s %s other %.3f s/s" % (
            n, bench.fmt_rate(results[n]["unwatched anim"]), med(results[n]["unwatched anim"], "other_s"))
            for n in guests)))
        for n, g in guests.items():
            e = results[n]["unwatched connect"] = {}
            connect_cycles(g, 1 if opts.short else 3, e)
            log("%-28s %s: %s ms; screendump after 10 s %s" % (
                "unwatched connect", n, " ".join("%.0f" % x["ms"] for x in e["connect"]),
                "exact" if e["screendump"]["exact"] else e["screendump"]["why"]))
        for n, g in guests.items():
            oops = g.oopses()
            if oops:
                raise RuntimeError("unwatched guest oops on %s: %s" % (n, oops[:3]))
    finally:
        for g in guests.values():
            g.stop()
    if wk is None:
        return
    unwatched_weston(devs, wk, opts, results, info)


def unwatched_weston(devs, wk, opts, results, info):
    kernel, initrd, img = wk
    secs = 1.5 if opts.short else 5.0
    reps = 1 if opts.short else opts.weston_reps
    cmd = CLIENTS["terminal"]
    key = "unwatched weston terminal"
    guests = {}
    try:
        for d in devs:
            log("booting unwatched weston guest", d[0])
            guests[d[0]] = weston_boot(d, kernel, initrd, img, 1280, 800, spice=False,
                                       prefix="bench-unwatched-weston-")
        for n, g in guests.items():
            set_window(g, secs)
            bench.sh(g, "export XDG_RUNTIME_DIR=/run/user/0 WAYLAND_DISPLAY=wayland-1; "
                        "(%s </dev/null >/tmp/client.out 2>&1 &)" % cmd)
            time.sleep(1.0 if opts.short else 2.0)
            st0 = vdesk_stats(g)
            waited = wait_unwatched(g)
            runs = [weston_window(g, secs) for _ in range(reps)]
            set_window(g, min(secs, 1.0))
            t = weston_window(g, min(secs, 1.0), traced=True)
            st1 = vdesk_stats(g)
            g.sh("pkill -f '%s'; sleep 0.5" % cmd.split()[0])
            results[n][key] = {"runs": runs, "bytes": t["bytes"], "bytes_s": t["bytes_s"],
                               "transfers": t["requests"], "waited": waited,
                               "held": st1.get("held_updates", 0) - st0.get("held_updates", 0) if st0 else None}
        log("%-28s %s" % (key, "  ".join("%s %s other %.3f s/s" % (n, bench.fmt_rate(results[n][key]),
                                                                   med(results[n][key], "other_s"))
                                        for n in guests)))
        for n, g in guests.items():
            oops = g.oopses()
            if oops:
                raise RuntimeError("unwatched weston guest oops on %s: %s" % (n, oops[:3]))
    finally:
        for g in guests.values():
            g.stop()


def unwatched_table(results):
    hdr = ["nobody watching (VNC server, no client, no SPICE)", "device", "frames/s", "host CPU s/s, all threads",
           "vCPU thread", "outside the vCPU thread", "outside, by thread (ms/s, last run)", "device bytes copied/s",
           "driver held updates (traced run)", "desk / gpu: outside vCPU", "desk / gpu: all threads"]
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for key, label in (("unwatched idle", "idle: the console's picture, nothing drawing (the floor)"),
                       ("unwatched anim", "60 frames/s animation (`keypaint anim %d %d 60`: one 64x64 DIRTYFB "
                        "per frame)" % (ANIM_W, ANIM_H)),
                       ("unwatched weston terminal", "Weston terminal scrolling, 1280x800 (driver default: paced)")):
        base = results.get("virtio-gpu", {}).get(key)
        for n in ("virtio-desk", "virtio-gpu"):
            e = results.get(n, {}).get(key)
            if not e or not e.get("runs"):
                continue

            def f(field, fmt="%.3f"):
                v = med(e, field)
                return "n/a" if v is None else fmt % v
            row = [label, n, bench.fmt_rate(e), f("cpu_s", "%.2f"), f("vcpu_s", "%.2f"), f("other_s"),
                   e["runs"][-1].get("threads", "n/a"),
                   "n/a" if e.get("bytes_s") is None else "%.0f" % e["bytes_s"],
                   "n/a" if e.get("held") is None else "%d" % e["held"]]
            if n == "virtio-desk" and base and base.get("runs"):
                row += [bench.fmt_ratio(bench.ratio(e, base, "other_s")), bench.fmt_ratio(bench.ratio(e, base, "cpu_s"))]
            else:
                row += ["", ""]
            out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def connect_table(results):
    out = ["| device | VNC client connects -> its window exact, ms (runs) | transfers before the client, "
           "per run | screendump after 10 s unwatched | transfers in those 10 s |", "|---|---|---|---|---|"]
    for n in ("virtio-desk", "virtio-gpu"):
        e = results.get(n, {}).get("unwatched connect")
        if not e or not e.get("connect"):
            continue
        sd = e.get("screendump", {})
        out.append("| %s | %s (%s) | %s | %s (%.0f ms) | %s |" % (
            n, "%.0f" % statistics.median(x["ms"] for x in e["connect"]),
            " ".join("%.0f" % x["ms"] for x in e["connect"]),
            " ".join("%d" % x["transfers_before"] for x in e["connect"]),
            "exact" if sd.get("exact") else "**differs**: %s" % sd.get("why"), sd.get("ms", 0),
            sd.get("transfers_in_10s", "n/a")))
    return "\n".join(out)


def targets24(results):
    """The targets of issue 24 that this run measures."""
    d = results.get("virtio-desk", {})
    g = results.get("virtio-gpu", {})
    out = ["| target (issue 24) | measured | goal | |", "|---|---|---|---|"]

    def line(what, val, goal, ok):
        out.append("| %s | %s | %s | %s |" % (what, val, goal, "not measurable" if ok is None else
                                             "met" if ok else "**missed**"))
    for key, what in (("unwatched anim", "60 frames/s animation"), ("unwatched weston terminal", "Weston terminal")):
        e, b = d.get(key), g.get(key)
        if not e or not e.get("runs"):
            continue
        r = bench.ratio(e, b, "other_s") if b and b.get("runs") else None
        line("%s, nobody watching: host CPU of QEMU outside the vCPU thread vs virtio-gpu" % what,
             bench.fmt_ratio(r), "<= 0.1x", None if r is None else r <= 0.1)
        line("%s, nobody watching: device bytes copied" % what,
             "n/a" if e.get("bytes_s") is None else "%.0f/s" % e["bytes_s"], "0",
             None if e.get("bytes_s") is None else e["bytes_s"] == 0)
    e = d.get("unwatched connect")
    if e and e.get("connect"):
        worst = max(x["ms"] for x in e["connect"])
        line("VNC client connecting after nobody watched: full, exact picture (worst of %d)" % len(e["connect"]),
             "%.0f ms" % worst, "<= 50 ms", worst <= 50)
        sd = e.get("screendump", {})
        line("screendump after 10 s unwatched", "exact" if sd.get("exact") else "differs", "exact",
             bool(sd.get("exact")))
    line("key -> pixel latency with a VNC client (a client keeps the output watched)",
         "`bench/run.sh latency` (its own run, tables below)", "unchanged", None)
    return "\n".join(out)


# --- tables ------------------------------------------------------------------------


def med(entry, field):
    xs = [r[field] for r in entry.get("runs", []) if r.get(field) is not None]
    return statistics.median(xs) if xs else None


def weston_table(results):
    names = [n for n in ("virtio-desk", "virtio-gpu") if n in results]
    hdr = ["Weston client, 1280x800", "device", "frames/s (repaints)", "events/s", "commits/s", "host CPU s/s",
           "host CPU ms/frame",
           "guest CPU ms/frame", "bytes/frame", "requests or flushes/frame", "vs virtio-gpu: frames/s",
           "host CPU/frame"]
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for client in CLIENTS:
        for mode in ("paced", "unpaced"):
            key = "weston %s %s" % (client, mode)
            base = results.get("virtio-gpu", {}).get("weston %s paced" % client)
            for n in names:
                e = results[n].get(key)
                label = "%s, %s" % (client, mode if n == "virtio-desk" else "(one behaviour)")
                if e is None:
                    continue
                if "unsupported" in e:
                    out.append("| %s | %s | not measurable: %s | | | | | | | | | |" % (label, n, e["unsupported"]))
                    continue
                if n == "virtio-gpu" and mode == "unpaced":
                    continue
                def f(v, scale=1.0):
                    return "n/a" if v is None else "%.2f" % (v * scale)
                row = [label, n, bench.fmt_rate(e), "%.0f" % (med(e, "events") or 0), "%.0f" % (med(e, "commits") or 0),
                       f(med(e, "cpu_s")), f(med(e, "cpu"), 1e3),
                       f(med(e, "guest"), 1e3), bench.fmt_bytes(e), f(e.get("requests"))]
                if n != "virtio-gpu" and base and "runs" in base:
                    row += [bench.fmt_ratio(bench.ratio(e, base)), bench.fmt_ratio(bench.ratio(e, base, "cpu"))]
                else:
                    row += ["", ""]
                out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def flips_table(results):
    hdr = ["flips, one 64x64 FB_DAMAGE_CLIPS each", "virtio-desk flips/s", "virtio-gpu flips/s",
           "desk / gpu", "CPU ms/flip desk", "CPU ms/flip gpu", "bytes/flip desk", "bytes/flip gpu",
           "vblanks/flip desk"]
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for w, h in bench.SIZES:
        gpu = results.get("virtio-gpu", {}).get("flips unpaced %dx%d" % (w, h)) or \
            results.get("virtio-gpu", {}).get("flips paced %dx%d" % (w, h))
        for mode in ("paced", "unpaced"):
            d = results.get("virtio-desk", {}).get("flips %s %dx%d" % (mode, w, h))
            if d is None:
                continue
            label = "%s, %dx%d" % ("paced (driver default)" if mode == "paced" else "unpaced (pace_flips=N)", w, h)
            if "unsupported" in d:
                out.append("| %s | not measurable: %s | %s | | | %s | | %s | |" % (
                    label, d["unsupported"], bench.fmt_rate(gpu), bench.fmt_cpu(gpu), bench.fmt_bytes(gpu)))
                continue
            vb = d.get("vblanks") or []
            vpf = "%.2f" % (statistics.median(vb) / max(d["runs"][0]["n"] - 1, 1)) if vb and max(vb) else "n/a"
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, bench.fmt_rate(d), bench.fmt_rate(gpu),
                bench.fmt_ratio(bench.ratio(d, gpu)) if mode == "unpaced" else "(paced: 60 Hz is the goal)",
                bench.fmt_cpu(d), bench.fmt_cpu(gpu), bench.fmt_bytes(d), bench.fmt_bytes(gpu), vpf))
    return "\n".join(out)


def variant_table(results, prefix, title, extra_cols=()):
    names = [n for n in (d[0] for d in bench.DEVICES) if n in results]
    hdr = [title] + ["%s /s" % n for n in names] + ["desk / gpu", "main table's row, desk / gpu"] + \
          ["CPU ms/upd %s" % n for n in names] + [c[0] for c in extra_cols]
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for w, h in bench.SIZES:
        for wl, desc in bench.WORKLOADS:
            key = "%s %s %dx%d" % (prefix, wl, w, h)
            ents = {n: results[n].get(key) for n in names}
            if all(e is None for e in ents.values()):
                continue
            plain = {n: results[n].get("%s %dx%d" % (wl, w, h)) for n in names}
            row = ["%s, %dx%d" % (desc, w, h)] + [bench.fmt_rate(ents[n]) for n in names]
            row += [bench.fmt_ratio(bench.ratio(ents.get("virtio-desk"), ents.get("virtio-gpu"))),
                    bench.fmt_ratio(bench.ratio(plain.get("virtio-desk"), plain.get("virtio-gpu")))]
            row += [bench.fmt_cpu(ents[n]) for n in names]
            for _, fn in extra_cols:
                row.append(fn(ents))
            out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def vnc_col(n):
    def f(ents):
        e = ents.get(n)
        if not e or "runs" not in e or not e["runs"]:
            return "n/a"
        return "%.0f/s, %.0f MB/s" % (med(e, "vnc_ups"), med(e, "vnc_Bps") / 1e6)
    return ("VNC client got, %s" % n, f)


def req_col(ents):
    e = ents.get("virtio-desk")
    if not e or e.get("requests") is None:
        return "n/a"
    return "%.2f, %s" % (e["requests"], "%.0f" % e["descs"] if e.get("descs") is not None else "n/a")


def targets11(results, cb):
    """The targets of issue 11, from this run."""
    d = results.get("virtio-desk", {})
    g = results.get("virtio-gpu", {})
    out = ["| target (issue 11) | measured | goal | |", "|---|---|---|---|"]

    def line(what, val, goal, ok):
        out.append("| %s | %s | %s | %s |" % (what, val, goal, "not measurable" if ok is None else
                                             "met" if ok else "**missed**"))
    e = d.get("weston simple-shm paced")
    if e and "runs" in e and e.get("bytes"):
        area = 250 * 250 * 4
        line("Weston simple-shm: bytes per frame vs the damaged area (250x250x4)",
             "%.2fx" % (e["bytes"] / area), "<= 1.1x", e["bytes"] / area <= 1.1)
    for mode in ("paced", "unpaced"):
        e = d.get("weston simple-shm %s" % mode)
        b = g.get("weston simple-shm paced")
        r = bench.ratio(e, b, "cpu") if e and b else None
        if r is not None:
            line("Weston simple-shm %s: host CPU per frame vs virtio-gpu" % mode, "%.2fx" % r, "<= 0.5x", r <= 0.5)
    e = d.get("weston simple-shm paced")
    if e and "runs" in e:
        fps = bench.summary(e)[0]
        line("Weston simple-shm paced: frames/s", "%.1f" % fps, "60 ±10%", 54 <= fps <= 66)
    e = d.get("weston simple-shm unpaced")
    if e and "runs" in e:
        r = bench.ratio(e, g.get("weston simple-shm paced"))
        line("Weston simple-shm unpaced: frames/s vs virtio-gpu", bench.fmt_ratio(r), ">= 1.5x",
             None if r is None else r >= 1.5)
    elif e:
        line("Weston simple-shm unpaced", "not measurable: %s" % e.get("unsupported"), ">= 1.5x", None)
    for w, h in bench.SIZES:
        e = d.get("flips unpaced %dx%d" % (w, h))
        b = g.get("flips unpaced %dx%d" % (w, h))
        r = bench.ratio(e, b) if e and b else None
        if r is not None:
            line("flip with one 64x64 clip %dx%d (unpaced) vs virtio-gpu" % (w, h), "%.2fx" % r, ">= 5x", r >= 5)
        for wl, goal in (("rect64", 5), ("corners", 5)):
            r = bench.ratio(d.get("%s %dx%d" % (wl, w, h)), g.get("%s %dx%d" % (wl, w, h)))
            if r is not None:
                line("DIRTYFB %s %dx%d vs stock virtio-gpu" % (wl, w, h), "%.2fx" % r, ">= %dx" % goal, r >= goal)
        line("DIRTYFB rect64 %dx%d vs virtio-gpu with the damage-helper fix" % (w, h),
             "not measured (no fixed guest kernel in the harness)", ">= 2.5x", None)
    k = "full 1920x1080"
    r = bench.ratio(d.get(k), g.get(k))
    if r is not None:
        line("full frame 1080p display path vs virtio-gpu", "%.2fx" % r, ">= 1.5x", r >= 1.5)
    bnd = bench.memcpy_bound(cb, "1920x1080")
    if bnd and d.get(k) and "runs" in d[k]:
        f = bench.summary(d[k])[0] / bnd
        line("full frame 1080p display path vs one host memcpy (%.0f/s)" % bnd, "%.0f%%" % (f * 100), ">= 80%",
             f >= 0.8)
    a = d.get("aged " + k)
    if a and "runs" in a and d.get(k) and "runs" in d[k]:
        f = bench.summary(a)[0] / bench.summary(d[k])[0]
        line("full frame 1080p: aged guest vs the main table's guest", "%.2fx" % f, "within 10%",
             abs(f - 1) <= 0.1)
    worst = None
    for key in d:
        if key.startswith("unwatched "):  # issue 24's rows: targets24
            continue
        r = bench.ratio(d.get(key), g.get(key), "cpu")
        if r is not None and key != "input" and "paced" not in key.split() and (worst is None or r > worst[0]):
            worst = (r, key)
    if worst:
        line("host CPU per update vs virtio-gpu, worst workload (%s; paced rows left out)" % worst[1],
             "%.2fx" % worst[0], "<= 1.0x", worst[0] <= 1.0)
    return "\n".join(out)
