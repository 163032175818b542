# SPDX-License-Identifier: GPL-2.0-or-later
"""virtio-desk benchmark harness: the same guest kernel and initramfs on the
same QEMU build with virtio-desk-pci, virtio-gpu-pci and bochs-display in
turn, the same workloads timed in the guest, one table.

Python 3 standard library only.  Run it through bench/run.sh.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = Path(os.environ.get("VIRTIO_DESK_CACHE", Path.home() / ".cache/virtio-desk"))
# Our own build and guest directories: the guest tests may run at the same time.
os.environ.setdefault("VIRTIO_DESK_GUEST_OUT", str(CACHE / "bench-out"))
sys.path.insert(0, str(REPO / "tests/guest"))
import rig  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")

DEVICES = [
    # name, -device, input device name in the guest, extra QEMU arguments
    ("virtio-desk", "virtio-desk-pci", "virtio-desk keyboard", []),
    ("virtio-gpu", "virtio-gpu-pci", "QEMU Virtio Keyboard",
     ["-device", "virtio-keyboard-pci,bus=pcie.0,addr=0x6"]),
    ("bochs-display", "bochs-display", "AT Translated Set 2 keyboard", []),
]
BASE = "virtio-gpu"
SIZES = [(1024, 768), (1920, 1080)]
WORKLOADS = [
    ("full", "full frame, display path only (DIRTYFB)"),
    ("redraw", "full frame, redraw every pixel + DIRTYFB"),
    ("rect64", "one 64x64 rect at a random position"),
    ("corners", "two 64x64 rects at opposite corners per commit"),
]
TRACES = ["virtio_desk_transfer_rect", "virtio_desk_transfer_rects", "virtio_gpu_cmd_res_flush",
          "virtio_gpu_cmd_res_xfer_toh_2d"]
# Workloads beyond the DIRTYFB table (bench/desktop.py), and the harness-condition matrix.
EXTRA = ["flips", "vnc", "aged", "weston", "unwatched", "conditions"]
INPUT_EVENTS = 10000


def log(*a):
    print("[bench]", *a, flush=True)


# --- host measurements ----------------------------------------------------------


def proc_cpu(pid):
    """(total, vcpu) CPU seconds of a process from /proc/PID/stat and its
    threads' stat files (utime + stime)."""
    def ticks(path):
        s = Path(path).read_text()
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        return comm, int(f[11]) + int(f[12])
    _, total = ticks("/proc/%d/stat" % pid)
    vcpu = 0
    for t in Path("/proc/%d/task" % pid).iterdir():
        try:
            comm, n = ticks(t / "stat")
        except (OSError, ValueError):
            continue
        if "/TCG" in comm or "/KVM" in comm:
            vcpu += n
    return total / CLK_TCK, vcpu / CLK_TCK


def copied_bytes(g, mark, end=None):
    """Pixel bytes the device copied between two log marks, from trace events: virtio-desk
    rects (32 bpp framebuffers), virtio-gpu transfers (the flush rect that
    follows each TRANSFER_TO_HOST_2D is the transferred rect)."""
    with open(g.qemu_log, "rb") as f:
        f.seek(mark)
        new = f.read(None if end is None else end - mark).decode(errors="replace")
    desk = sum(int(w) * int(h) * 4 for w, h in
               re.findall(r"virtio_desk_transfer_rect(?!s)\D*?\d+ \d+,\d+ (\d+)x(\d+)", new))
    xfers = len(re.findall(r"virtio_gpu_cmd_res_xfer_toh_2d", new))
    flushes = [(int(w), int(h)) for w, h in
               re.findall(r"virtio_gpu_cmd_res_flush res 0x[0-9a-f]+, w (\d+), h (\d+)", new)]
    gpu = 0
    if xfers:
        # 2D dumb buffers: one transfer and one flush of the same rect per update
        gpu = sum(w * h * 4 for w, h in flushes[:xfers])
    return desk + gpu


def set_traces(g, on):
    for t in TRACES:
        g.qmp_cmd("trace-event-set-state", name=t, enable=on)


class QMP:
    """A second QMP monitor of ours, for pipelined input injection."""

    def __init__(self, path):
        t = time.time()
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(str(path))
                break
            except OSError:
                if time.time() - t > 30:
                    raise
                time.sleep(0.05)
        self.f = self.s.makefile("rb")
        json.loads(self.f.readline())
        self.s.sendall(b'{"execute": "qmp_capabilities"}\n')
        self.reply()

    def reply(self):
        while True:
            r = json.loads(self.f.readline())
            if "event" not in r:
                return r

    def close(self):
        self.f.close()
        self.s.close()


# --- guest runs -----------------------------------------------------------------


def staged(g, line, timeout=300):
    """Run a staged kmstest line: host samples QEMU's CPU time at the start
    and end stages.  Returns (result dict, cpu delta, vcpu delta), or the
    result alone when the program gave one without stages.  g.marks: the
    QEMU log positions at the two stages."""
    g.send(line)
    m = g.expect(r"@@STAGE start@@|@@RESULT ([^@]*)@@", timeout)
    if m.group(0).startswith("@@RESULT"):
        g.expect(r"@@DONE (\d+)@@", timeout)
        return parse_result(m.group(1)), None, None
    m0 = g.log_mark()
    c0, v0 = proc_cpu(g.proc.pid)
    g.send("")
    g.expect(r"@@STAGE end@@", timeout)
    c1, v1 = proc_cpu(g.proc.pid)
    g.marks = (m0, g.log_mark())
    g.send("")
    m = g.expect(r"@@RESULT ([^@]*)@@", timeout)
    rc = int(g.expect(r"@@DONE (\d+)@@", timeout).group(1))
    if rc:
        raise RuntimeError("%r failed with %d" % (line, rc))
    return parse_result(m.group(1)), c1 - c0, v1 - v0


def parse_result(s):
    r = {}
    for kv in s.split():
        k, _, v = kv.partition("=")
        try:
            r[k] = float(v)
        except ValueError:
            r[k] = v
    return r


def sh(g, line, timeout=120):
    rc, out = g.sh(line, timeout)
    if rc:
        raise RuntimeError("guest: %r failed (%d): %s" % (line, rc, out[-500:]))
    return out


def display_once(g, w, h, wl, secs):
    r, cpu, vcpu = staged(g, "kmstest perf %d %d %s %g" % (w, h, wl, secs))
    if not r.get("n"):
        return {"unsupported": r.get("dirtyfb", "no result")}
    return {"rate": r["n"] / r["secs"], "n": r["n"], "secs": r["secs"], "sync": r["sync"],
            "cpu": cpu / r["n"], "vcpu": vcpu / r["n"]}


def display_bytes(g, w, h, wl, secs):
    """Bytes per update: one more, traced, run (tracing costs time: not timed)."""
    set_traces(g, True)
    try:
        r, _, _ = staged(g, "kmstest perf %d %d %s %g" % (w, h, wl, min(secs, 0.3)))
        nbytes = copied_bytes(g, *g.marks) if r.get("n") else 0
    finally:
        set_traces(g, False)
    return nbytes / r["n"] if nbytes else None


def fbcon_once(g):
    r, cpu, vcpu = staged(g, "kmstest fbcon /tmp/lines /dev/tty1", timeout=900)
    time.sleep(0.3)  # the fbdev damage worker's last flush
    return {"rate": r["n"] / r["secs"], "n": r["n"], "secs": r["secs"],
            "cpu": cpu / r["n"], "vcpu": vcpu / r["n"]}


def fbcon_bytes(g):
    set_traces(g, True)
    try:
        time.sleep(0.5)
        mark = g.log_mark()
        r, _, _ = staged(g, "kmstest fbcon /tmp/lines200 /dev/tty1", timeout=300)
        time.sleep(0.5)  # the damage worker's last flush belongs to these lines
        nbytes = copied_bytes(g, mark)
    finally:
        set_traces(g, False)
    return nbytes / r["n"] if nbytes else None


def input_once(g, name, qmp_path, count):
    g.send("kmstest input '%s' %d 5" % (name, count))
    m = g.expect(r"@@STAGE start@@|@@RESULT ([^@]*)@@", 60)
    if m.group(0).startswith("@@RESULT"):
        g.expect(r"@@DONE (\d+)@@")
        return {"unsupported": "no input device named %r in the guest" % name}
    q = QMP(qmp_path)
    try:
        c0, v0 = proc_cpu(g.proc.pid)
        g.send("")
        time.sleep(0.2)
        cmds = [json.dumps({"execute": "input-send-event", "arguments": {"events": [
            {"type": "key", "data": {"down": i % 2 == 0, "key": {"type": "qcode", "data": "a"}}}]}})
            for i in range(count)]
        errors = []

        def reader():
            for _ in range(count):
                r = q.reply()
                if "error" in r:
                    errors.append(r["error"])
        th = threading.Thread(target=reader)
        t0 = time.time()
        th.start()
        q.s.sendall(("\n".join(cmds) + "\n").encode())
        th.join()
        t_sent = time.time() - t0
        g.expect(r"@@STAGE end@@", 120)
        t_end = time.time() - t0
        c1, v1 = proc_cpu(g.proc.pid)
        g.send("")
        r = parse_result(g.expect(r"@@RESULT ([^@]*)@@", 60).group(1))
        g.expect(r"@@DONE (\d+)@@")
    finally:
        q.close()
    if errors:
        raise RuntimeError("input-send-event: %s" % errors[0])
    n = r["n"] or 1
    log("%-14s input: %d of %d received, SYN_DROPPED %d, %.3f s first..last in the guest, "
        "injection %.3f s" % (g.name, r["n"], count, r["dropped"], r["last"] - r["first"], t_sent))
    return {"rate": r["n"] / max(r["last"] - r["first"], 1e-9) if r["n"] > 1 else 0,
            "received": r["n"], "dropped": r["dropped"], "guest_secs": r["last"] - r["first"],
            "host_secs": t_sent, "end_secs": t_end, "cpu": (c1 - c0) / n, "vcpu": (v1 - v0) / n}


# QEMU's display servers on every guest (--servers): "vnc,spice" (default), "vnc", "spice" or "none"
SERVERS = "vnc,spice"


def server_args():
    """Extra QEMU arguments for --servers vnc or spice alone (rig.Guest starts both or none)."""
    if SERVERS == "vnc":
        return ["-vnc", "127.0.0.1:%d" % (rig.free_port(5900 + 120) - 5900)]
    if SERVERS == "spice":
        return ["-spice", "port=%d,addr=127.0.0.1,disable-ticketing=on,image-compression=off,"
                "jpeg-wan-compression=never,zlib-glz-wan-compression=never,streaming-video=off"
                % rig.free_port(6150)]
    return []


def boot(dev, kernel, initrd):
    name, qdev, kbd, extra = dev
    qmp_path = Path(rig.OUT) / ("bench-qmp-%s.sock" % name)
    if qmp_path.exists():
        qmp_path.unlink()
    args = list(extra) + ["-name", "bench-%s,debug-threads=on" % name,
                          "-qmp", "unix:%s,server=on,wait=off" % qmp_path]
    for t in TRACES:
        args += ["-trace", t]
    g = rig.Guest("bench-" + name, kernel, initrd, qdev, extra=args + server_args(),
                  servers=SERVERS == "vnc,spice")
    try:
        g.boot()
        set_traces(g, False)
        if name == "bochs-display":
            sh(g, "modprobe bochs")
        sh(g, "for i in $(seq 50); do [ -e /dev/dri/card0 ] && break; sleep 0.1; done; "
              "[ -e /dev/dri/card0 ]")
        sh(g, "echo 0 > /proc/sys/kernel/printk")
    except BaseException:
        g.stop()
        raise
    g.qmp_path = qmp_path
    g.kbd = kbd
    return g


def bench_all(devs, kernel, initrd, opts):
    """All guests are up at once, idle but one: each repetition runs the
    devices back to back, so a change in the machine's load hits all alike."""
    if opts.kvm:
        os.environ["VIRTIO_DESK_KVM"] = "1"
    guests = {}
    results = {d[0]: {} for d in devs}
    want = opts.workloads.split(",") if opts.workloads else None
    try:
        for d in devs:
            log("booting", d[0])
            guests[d[0]] = boot(d, kernel, initrd)
        for w, h in SIZES:
            for wl, _ in WORKLOADS:
                if want and wl not in want:
                    continue
                key = "%s %dx%d" % (wl, w, h)
                runs = {n: [] for n in guests}
                skip = set()
                for _ in range(opts.reps):
                    for n, g in guests.items():
                        if n in skip:
                            continue
                        r = display_once(g, w, h, wl, opts.secs)
                        if "unsupported" in r:
                            results[n][key] = r
                            skip.add(n)
                        else:
                            runs[n].append(r)
                for n, g in guests.items():
                    if n in skip:
                        continue
                    results[n][key] = {"runs": runs[n], "bytes": display_bytes(g, w, h, wl, opts.secs)}
                log("%-18s %s" % (key, "  ".join(
                    "%s %s" % (n, " ".join("%.0f" % x["rate"] for x in runs[n]) or "n/a") for n in guests)))
        if not want or "fbcon" in want:
            for g in guests.values():
                sh(g, "awk 'BEGIN { for (i = 0; i < %d; i++) printf \"%%0100d\\n\", i }' > /tmp/lines; "
                      "awk 'BEGIN { for (i = 0; i < 200; i++) printf \"%%0100d\\n\", i }' > /tmp/lines200"
                      % opts.lines)
            runs = {n: [] for n in guests}
            for _ in range(opts.fbcon_reps):
                for n, g in guests.items():
                    runs[n].append(fbcon_once(g))
            for n, g in guests.items():
                results[n]["fbcon"] = {"runs": runs[n], "bytes": fbcon_bytes(g)}
            log("%-18s %s" % ("fbcon", "  ".join(
                "%s %s" % (n, " ".join("%.0f" % x["rate"] for x in runs[n])) for n in guests)))
        if not want or "input" in want:
            runs = {n: [] for n in guests}
            for _ in range(opts.input_reps):
                for n, g in guests.items():
                    if "input" in results[n]:
                        continue
                    r = input_once(g, g.kbd, g.qmp_path, INPUT_EVENTS)
                    if "unsupported" in r:
                        results[n]["input"] = r
                    else:
                        runs[n].append(r)
            for n in guests:
                if "input" not in results[n]:
                    results[n]["input"] = {"runs": runs[n], "bytes": None}
        import desktop
        if not want or "flips" in want:
            desktop.flips(guests, opts, results)
        if not want or "vnc" in want:
            desktop.vnc(guests, opts, results)
        if not want or "aged" in want:  # last: it changes the guests
            desktop.aged(guests, opts, results, opts.info)
        for n, g in guests.items():
            oops = g.oopses()
            if oops:
                raise RuntimeError("guest oops on %s: %s" % (n, oops[:3]))
    finally:
        for g in guests.values():
            g.stop()
    return results


# --- building -------------------------------------------------------------------


def build_qemu():
    if not rig.QEMU.exists():
        log("no QEMU at %s: building it with scripts/qemu/build.sh" % rig.QEMU)
        rig.run([str(REPO / "scripts/qemu/build.sh")])
    return subprocess.run([str(rig.QEMU), "--version"], stdout=subprocess.PIPE,
                          text=True).stdout.splitlines()[0]


def build_copybench():
    bdir = Path(rig.OUT) / "tools"
    exe = bdir / "copybench"
    if shutil.which("meson") and shutil.which("ninja"):
        # The build directory lives in the cache and outlives the checkout
        # that configured it: another clone must configure it afresh, or
        # ninja's regeneration looks for a meson.build that is gone.
        info = bdir / "meson-info" / "meson-info.json"
        try:
            configured_for = json.loads(info.read_text())["directories"]["source"]
        except (OSError, ValueError, KeyError):
            configured_for = None
        if configured_for != str(REPO):
            shutil.rmtree(bdir, ignore_errors=True)
            rig.run(["meson", "setup", str(bdir), str(REPO)], stdout=subprocess.DEVNULL)
        rig.run(["ninja", "-C", str(bdir)])
    else:
        bdir.mkdir(parents=True, exist_ok=True)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "pixman-1"], stdout=subprocess.PIPE,
                               text=True, check=True).stdout.split()
        rig.run(["cc", "-O2", "-Wall", "-o", str(exe), str(HERE / "copybench.c")] + flags)
    return exe


def run_copybench(exe, secs):
    out = subprocess.run([str(exe), str(secs)], stdout=subprocess.PIPE, text=True, check=True).stdout
    rows = [parse_result(l) for l in out.splitlines() if l.startswith("case=")]
    return rows


# --- report ---------------------------------------------------------------------


def summary(entry, field="rate"):
    xs = [r[field] for r in entry["runs"]]
    med = statistics.median(xs)
    spread = (max(xs) - min(xs)) / 2 / med * 100 if med else 0
    return med, spread


def fmt_rate(entry):
    if entry is None:
        return "not run"
    if "unsupported" in entry:
        return "n/a"
    med, sp = summary(entry)
    return "%.0f ±%.0f%%" % (med, sp)


def fmt_cpu(entry):
    if entry is None or "unsupported" in entry:
        return "n/a"
    med, _ = summary(entry, "cpu")
    return "%.3f" % (med * 1000) if med * 1000 < 10 else "%.1f" % (med * 1000)


def fmt_bytes(entry):
    if entry is None or "unsupported" in entry or not entry.get("bytes"):
        return "n/a"
    b = entry["bytes"]
    return "%.0f" % b if b < 10000 else "%.2f M" % (b / 1e6) if b >= 1e6 else "%.0f k" % (b / 1e3)


def ratio(a, b, field="rate"):
    if not a or not b or "unsupported" in a or "unsupported" in b:
        return None
    ma, _ = summary(a, field)
    mb, _ = summary(b, field)
    return ma / mb if mb else None


def fmt_ratio(x):
    return "n/a" if x is None else "%.2fx" % x


def rows(results):
    keys = ["%s %dx%d" % (wl, w, h) for w, h in SIZES for wl, _ in WORKLOADS] + ["fbcon", "input"]
    label = {"%s %dx%d" % (wl, w, h): "%s, %dx%d" % (d, w, h) for w, h in SIZES for wl, d in WORKLOADS}
    label["fbcon"] = "fbcon: cat %s lines of 100 chars to tty1 (1024x768); per line" % "{lines}"
    label["input"] = "input: %d key events injected by QMP; per event" % INPUT_EVENTS
    return keys, label


def table(results, lines):
    keys, label = rows(results)
    names = [d[0] for d in DEVICES]
    hdr = ["workload"] + ["%s /s" % n for n in names] + \
          ["%s / %s" % (n, BASE) for n in names if n != BASE] + \
          ["CPU ms/upd %s" % n for n in names] + ["CPU desk/gpu"] + \
          ["bytes/upd %s" % n for n in names]
    out = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for k in keys:
        ents = {n: results.get(n, {}).get(k) for n in names}
        row = [label[k].replace("{lines}", str(lines))]
        row += [fmt_rate(ents[n]) for n in names]
        row += [fmt_ratio(ratio(ents[n], ents[BASE])) for n in names if n != BASE]
        row += [fmt_cpu(ents[n]) for n in names]
        row += [fmt_ratio(ratio(ents["virtio-desk"], ents[BASE], "cpu"))]
        row += [fmt_bytes(ents[n]) for n in names]
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def split_table(results):
    """Host CPU per update by thread: the vCPU thread (guest code under TCG,
    and device work done in the notify path) and the others (main loop, BHs,
    display, SPICE/VNC)."""
    keys, label = rows(results)
    names = [d[0] for d in DEVICES if d[0] in results]
    out = ["| workload | " + " | ".join("%s vCPU + other" % n for n in names) + " |",
           "|---|" + "---|" * len(names)]
    for k in keys:
        row = [k]
        for n in names:
            e = results[n].get(k)
            if not e or "runs" not in e or not e["runs"]:
                row.append("n/a")
                continue
            c = statistics.median(x["cpu"] for x in e["runs"]) * 1e3
            v = statistics.median(x["vcpu"] for x in e["runs"]) * 1e3
            row.append("%.3f + %.3f" % (v, max(c - v, 0)))
        out.append("| " + " | ".join(row) + " |")
    return "\n".join(out)


def input_table(results):
    out = ["| device (guest input driver) | received of %d | SYN_DROPPED | guest: first to last event | "
           "events/s | QMP injection took | host CPU us/event |" % INPUT_EVENTS, "|---|---|---|---|---|---|---|"]
    for name, _, kbd, _ in DEVICES:
        e = results.get(name, {}).get("input")
        if e is None:
            continue
        if "unsupported" in e:
            out.append("| %s (%s) | not measurable: %s | | | | | |" % (name, kbd, e["unsupported"]))
            continue
        r = sorted(e["runs"], key=lambda x: x["guest_secs"])[len(e["runs"]) // 2]
        out.append("| %s (%s) | %d | %d | %.3f s | %.0f | %.3f s | %.1f |" % (
            name, kbd, r["received"], r["dropped"], r["guest_secs"], r["rate"], r["host_secs"],
            r["cpu"] * 1e6))
    return "\n".join(out)


def copy_table(cb):
    out = ["| size | case | method | bytes | median µs | GB/s |", "|---|---|---|---|---|---|"]
    for r in cb:
        out.append("| %s | %s | %s | %d | %.1f | %.1f |" % (r["size"], r["case"], r["method"], r["bytes"],
                                                          r["median_us"], r["GBps"]))
    return "\n".join(out)


def memcpy_bound(cb, size):
    for r in cb:
        if r["case"] == "full" and r["method"] == "memcpy" and r["size"] == size:
            return 1e6 / r["median_us"]
    return None


def targets(results, cb):
    d = results.get("virtio-desk", {})
    g = results.get(BASE, {})
    out = []

    def line(what, val, goal, ok):
        out.append("| %s | %s | %s | %s |" % (what, val, goal, "met" if ok else "**missed**"))
    for w, h in SIZES:
        k = "full %dx%d" % (w, h)
        r = ratio(d.get(k), g.get(k))
        if r is not None:
            line("full frame display path %dx%d vs virtio-gpu" % (w, h), "%.2fx" % r, ">= 1.0x", r >= 1.0)
        b = memcpy_bound(cb, "%dx%d" % (w, h))
        if b and d.get(k) and "runs" in d[k]:
            f = summary(d[k])[0] / b
            line("full frame display path %dx%d vs one host memcpy of the frame (%.0f/s)" % (w, h, b),
                 "%.0f%%" % (f * 100), ">= 90%", f >= 0.9)
        for wl in ("rect64", "corners"):
            k = "%s %dx%d" % (wl, w, h)
            r = ratio(d.get(k), g.get(k))
            if r is not None:
                line("%s %dx%d vs virtio-gpu" % (wl, w, h), "%.2fx" % r, ">= 5x", r >= 5)
    worst = None
    for k in d:
        if k.startswith("unwatched "):  # their own targets (issue 24), no per-update CPU
            continue
        r = ratio(d.get(k), g.get(k), "cpu")
        if r is not None and k != "input" and (worst is None or r > worst[0]):
            worst = (r, k)
    if worst:
        line("host CPU per update vs virtio-gpu (worst workload: %s)" % worst[1], "%.2fx" % worst[0],
             "<= 1.0x", worst[0] <= 1.0)
    e = d.get("input")
    if e and "runs" in e:
        lost = max(INPUT_EVENTS - r["received"] + r["dropped"] for r in e["runs"])
        line("lost input events", "%d" % lost, "0", lost == 0)
    else:
        out.append("| lost input events | not measurable yet (the guest driver has no input device) | 0 | "
                   "not measurable |")
    r = ratio(d.get("fbcon"), g.get("fbcon"))
    if r is not None:
        out.append("| fbcon scroll vs virtio-gpu | %.2fx | >= 3x once a copy/blit command exists | "
                   "not applicable yet |" % r)
    return "| target | measured | goal | |\n|---|---|---|---|\n" + "\n".join(out)


def machine():
    cpu = "unknown"
    for l in Path("/proc/cpuinfo").read_text().splitlines():
        if l.startswith("model name"):
            cpu = l.split(":", 1)[1].strip()
            break
    return cpu, os.cpu_count()


def report(results, cb, info, opts):
    import desktop
    cpu, ncpu = machine()
    md = []
    md.append("Generated by `%s` on %s." % (info["command"], info["date"]))
    md.append("")
    md.append("- QEMU: `%s` (%s), TCG, `-machine q35 -m 512`, one vCPU, `-display none`, %s "
              "(`--servers %s`)." % (info["qemu"], rig.QEMU, {
                  "vnc,spice": "VNC and SPICE servers on 127.0.0.1 and no client connected (the guest rig's "
                               "standard command line)",
                  "vnc": "a VNC server only, no client", "spice": "a SPICE server only, no client",
                  "none": "no VNC or SPICE server"}[SERVERS], SERVERS))
    md.append("- Conditions of the main table: the %s guests are up at once (each repetition runs the devices "
              "back to back while the others idle); every guest runs the workloads in the order of the table, "
              "each kmstest run allocating a new framebuffer, so the 1920x1080 rows run on a guest whose "
              "memory the 1024x768 rows have churned; `bench/run.sh --help` lists these conditions and the "
              "condition matrix below measures each one alone." % len(results))
    md.append("- Guest: Debian kernel %s, busybox initramfs, virtio_desk.ko and kmstest from this tree "
              "(%s)." % (info["krel"], info["git"]))
    md.append("- Host: %s, %d CPUs, %s; load average %s at the start, %s at the end (other builds and "
              "guests ran on the machine)." % (cpu, ncpu, platform.platform(), info["load0"], info["load1"]))
    md.append("- Repetitions: %d of %.1f s per display workload, %d fbcon, %d input; medians, ± is half the "
              "min-max spread in %% of the median.  Bytes per update come from one extra traced run.  Flips: %d "
              "runs; VNC and aged rows: %d runs; Weston: %d window(s) of %g s per client and mode." % (
                  opts.reps, opts.secs, opts.fbcon_reps, opts.input_reps, opts.reps, min(opts.reps, 3),
                  1 if opts.short else opts.weston_reps, 1.5 if opts.short else 5.0))
    md.append("")
    md.append("Updates per second in the guest (the timed loop ends when the host has finished the last "
              "update), host CPU time of the QEMU process per update (all threads, so TCG's emulation of "
              "the guest is included), pixel bytes the host copied per update.")
    md.append("")
    md.append(table(results, opts.lines))
    md.append("")
    md.append("Host CPU ms per update by QEMU thread (medians): the vCPU thread runs the guest under TCG "
              "and every device handler called from a queue notification; the others are the main loop "
              "(bottom halves, timers, display refresh) and the VNC/SPICE workers.")
    md.append("")
    md.append(split_table(results))
    md.append("")
    md.append("Input:")
    md.append("")
    md.append(input_table(results))
    md.append("")
    md.append("Targets (issue 11; ratios against virtio-gpu-pci in this run):")
    md.append("")
    md.append(desktop.targets11(results, cb))
    md.append("")
    md.append("Targets (issue 6):")
    md.append("")
    md.append(targets(results, cb))
    md.append("")
    import desktop
    if any(k.startswith("flips ") for r in results.values() for k in r):
        md.append("Page flips (`kmstest flipclip W H N stage`: atomic double-buffered flips, one 64x64 "
                  "FB_DAMAGE_CLIPS per flip, buffer-age repaint, each flip waits for its event; flips/s from "
                  "the program, host CPU between its stages).  virtio-gpu has one behaviour (its 6.12 driver "
                  "sends the flip event without pacing); paced is the virtio-desk driver's default, unpaced "
                  "sets `%s` to N." % desktop.PACE)
        md.append("")
        md.append(desktop.flips_table(results))
        md.append("")
    if any(k.startswith("weston ") for r in results.values() for k in r):
        md.append("Weston 10 (Debian bookworm, `--backend=drm-backend.so --use-pixman`, desktop-shell without "
                  "panel, 1280x800; root `%s` from `tests/guest/weston-root.sh` on an AHCI ide-cd).  "
                  "frames/s: what a user sees, Weston's real repaints, counted in the guest kernel by kprobes on "
                  "the DRM core (non-test atomic commits that put another framebuffer on a plane; "
                  "`bench/desktop.py` KPROBES), the same on both drivers.  events/s: page-flip events delivered "
                  "(tracepoint `drm:drm_vblank_event_delivered`); commits/s: non-test atomic commits.  On "
                  "virtio-gpu, whose 6.12 driver has no vblank (drmWaitVBlank fails), Weston restarts an idle "
                  "repaint loop with a flip of the buffer on screen: an event and a commit but no repaint.  Host "
                  "CPU from `/proc/PID/stat` of QEMU; guest CPU from the guest's `/proc/stat` (one vCPU); bytes and "
                  "requests (virtio-desk transfer requests, virtio-gpu resource flushes) per frame from one "
                  "extra traced window.  `simple-shm`: weston-simple-shm (250x250 window); `terminal`: "
                  "weston-terminal whose shell prints text without end, so it scrolls every frame.  Conditions "
                  "(see the text below the generated section): both Weston guests up at once, VNC and SPICE "
                  "servers (virtio-desk always watched), windows of %g s after a %g s warm-up."
                  % (info.get("weston_root", "?"), 1.5 if opts.short else 5.0, 1.0 if opts.short else 2.0))
        md.append("")
        md.append(desktop.weston_table(results))
        md.append("")
    if any(k.startswith("unwatched ") for r in results.values() for k in r):
        md.append("Nobody watching (issue 24): guests with QEMU's VNC server and no client, no SPICE server "
                  "(QEMU's SPICE display pulls the picture on every refresh, so with it an output is always "
                  "watched), virtio-desk measured once its driver reports output 0 unwatched (`vdesk_stats`, "
                  "watch-timeout-ms 5000 after the last pull), virtio-gpu on the same command line in the same "
                  "run, both guests up at once.  Host CPU of QEMU from `/proc/PID/task/*/stat`: the vCPU thread "
                  "(`CPU 0/TCG`) and everything else (main loop, VNC worker, RCU); bytes copied from the "
                  "device's trace events over one extra traced run; held updates: the driver's "
                  "`vdesk_stats` held_updates over that run.")
        md.append("")
        md.append(desktop.unwatched_table(results))
        md.append("")
        md.append("A VNC client connecting while nobody watched (`tests/guest/rfb.py`, Raw, a full "
                  "FramebufferUpdateRequest, then incremental ones, until its window equals `kmstest flipclip "
                  "1024 768 K`'s picture, K = 10, 20, 30; the time includes the RFB handshake), and a QMP "
                  "screendump after 10 s of nobody (K = 60), compared pixel by pixel:")
        md.append("")
        md.append(desktop.connect_table(results))
        md.append("")
        md.append("Targets (issue 24; ratios against virtio-gpu-pci in this run):")
        md.append("")
        md.append(desktop.targets24(results))
        md.append("")
    if any(k.startswith("vnc ") for r in results.values() for k in r):
        md.append("DIRTYFB workloads with a VNC client connected (`bench/vncread.py`: Raw encoding, 32 bpp, "
                  "always one incremental FramebufferUpdateRequest of the whole screen outstanding); last "
                  "columns: updates and pixel bytes per second the client received.")
        md.append("")
        md.append(desktop.variant_table(results, "vnc", "workload, VNC client reading",
                                        [desktop.vnc_col(n) for n in ("virtio-desk", "virtio-gpu")]))
        md.append("")
    if any(k.startswith("aged ") for r in results.values() for k in r):
        md.append("DIRTYFB workloads on an aged guest: the same guests after everything above, with "
                  "`ageing` (tests/guest/ageing.c) holding a random half of the pages of nearly all free "
                  "memory (MemAvailable - 96 MiB) while the workloads run.  Free memory (zones DMA32 and "
                  "Normal): %s." % "; ".join("%s %s" % (n, v) for n, v in info.get("aged", {}).items()
                                              if not n.startswith("requests")))
        md.append("")
        md.append(desktop.variant_table(results, "aged", "workload, aged guest",
                                        [("desk requests, descriptors per update", desktop.req_col)]))
        md.append("")
    if info.get("conditions"):
        import conditions
        md.append("The 1080p full-frame display path under one harness condition at a time (`bench/run.sh "
                  "--workloads conditions`; fresh guests per row, %d runs each; `requests/frame`: "
                  "virtio-desk transfer requests per frame, traced)." % len(info["conditions"][0]["desk"]))
        md.append("")
        md.append(conditions.table(info["conditions"]))
        md.append("")
    md.append("Host copy microbenchmark (`copybench`, same machine, same time):")
    md.append("")
    md.append(copy_table(cb))
    return "\n".join(md)


CONDITIONS_HELP = """\
Conditions of the main table (state them with any number you quote):
  - all selected guests (virtio-desk, virtio-gpu, bochs-display) are up at once
    under TCG, one vCPU each, -m 512; each repetition runs the devices back to
    back while the others idle;
  - every guest has QEMU's VNC and SPICE servers on 127.0.0.1, no client
    connected (except in the "VNC client" table), -display none;
  - each guest runs the whole sequence in order: 1024x768 workloads, then
    1920x1080, fbcon, input, flips, VNC, aged; every kmstest run allocates a
    new dumb buffer, so later rows run on a guest whose free memory has been
    churned by the earlier ones (see the "requests/frame" columns);
  - --secs seconds per timed run (default 2, --short 0.3), --reps runs.
The condition matrix (--workloads conditions; part of the full run) boots fresh
guests per condition and measures the 1080p display path under each one:
"""


BEGIN = "<!-- BEGIN generated by bench/run.sh: do not edit by hand -->"
END = "<!-- END generated by bench/run.sh -->"


def write_doc(path, text, begin=BEGIN, end=END):
    """Replace what lies between the markers begin and end in a markdown file."""
    path = Path(path)
    old = path.read_text() if path.exists() else "# virtio-desk performance\n\n%s\n%s\n" % (begin, end)
    if begin not in old:
        old += "\n%s\n%s\n" % (begin, end)
    pre, rest = old.split(begin, 1)
    post = rest.split(end, 1)[1] if end in rest else ""
    path.write_text(pre + begin + "\n" + text + "\n" + end + post)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--short", action="store_true", help="minimal repetitions (CI)")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--secs", type=float, help="seconds per display run")
    ap.add_argument("--devices", help="comma-separated subset of " + ",".join(d[0] for d in DEVICES))
    ap.add_argument("--workloads", help="comma-separated subset of " +
                    ",".join([w[0] for w in WORKLOADS] + ["fbcon", "input"] + EXTRA))
    ap.add_argument("--weston-reps", type=int, help="measured windows per Weston client (default 3)")
    ap.add_argument("--doc", help="markdown file to update (default docs/performance.md; "
                    "--short: bench-out/performance-short.md)")
    ap.add_argument("--kvm", action="store_true", help="use KVM (TCG is the default)")
    ap.add_argument("--servers", choices=["vnc,spice", "vnc", "spice", "none"], default="vnc,spice",
                    help="QEMU display servers on every guest (default vnc,spice: the guest rig's command "
                    "line; the SPICE server alone costs virtio-desk's 1080p display path about a quarter, "
                    "see the condition matrix)")
    import conditions
    ap.epilog = CONDITIONS_HELP + conditions.HELP + "\n"
    ap.formatter_class = argparse.RawDescriptionHelpFormatter
    opts = ap.parse_args(argv)
    opts.weston_reps = opts.weston_reps or 3
    global SERVERS
    SERVERS = opts.servers
    opts.reps = opts.reps or (1 if opts.short else 5)
    opts.secs = opts.secs or (0.3 if opts.short else 2.0)
    opts.lines = 300 if opts.short else 5000
    opts.fbcon_reps = 1 if opts.short else 3
    opts.input_reps = 1 if opts.short else 3
    doc = opts.doc or (str(Path(rig.OUT) / "performance-short.md") if opts.short
                       else str(REPO / "docs/performance.md"))
    info = {"command": "bench/run.sh " + " ".join(argv) if argv else "bench/run.sh",
            "load0": "%.2f %.2f %.2f" % os.getloadavg()}
    t0 = time.time()
    git = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True).stdout.strip()
    info["git"] = "git %s" % git if git else "not a git checkout"
    info["qemu"] = build_qemu()
    exe = build_copybench()
    kernel, initrd = None, None
    for m in ("bochs", "virtio_input"):
        if m not in rig.WANT_MODULES:
            rig.WANT_MODULES.append(m)
    kernel, initrd = rig.build_all()
    info["krel"] = rig.fetch_kernel()[1]
    log("copybench")
    cb = run_copybench(exe, 0.1 if opts.short else 0.5)
    devs = [d for d in DEVICES if not opts.devices or d[0] in opts.devices.split(",")]
    opts.info = info
    want = opts.workloads.split(",") if opts.workloads else None
    results = {d[0]: {} for d in devs}
    busybox = [w[0] for w in WORKLOADS] + ["fbcon", "input", "flips", "vnc", "aged"]
    if not want or any(w in busybox for w in want):
        results = bench_all(devs, kernel, initrd, opts)
    wk = None
    if not want or "weston" in want or "unwatched" in want:
        import desktop
        import westonguest
        try:
            wk = westonguest.build()
        except Exception as e:  # noqa: BLE001  reported as not measurable
            log("weston guest cannot be built:", e)
            for n in results:
                results[n]["weston simple-shm paced"] = {"unsupported": "no weston guest: %s" % e}
        else:
            info["weston_root"] = wk[2].name
            if not want or "weston" in want:
                desktop.weston(devs, wk, opts, results, info)
    if not want or "unwatched" in want:
        import desktop
        desktop.unwatched(devs, (kernel, initrd), wk, opts, results, info)
    if (not want and not opts.short) or (want and "conditions" in want):
        import conditions
        info["conditions"] = conditions.matrix(kernel, initrd, opts)
    info["load1"] = "%.2f %.2f %.2f" % os.getloadavg()
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = report(results, cb, info, opts)
    print(text)
    write_doc(doc, text)
    (Path(rig.OUT) / "results.json").write_text(json.dumps({"results": results, "copybench": cb,
                                                             "info": info}, indent=1))
    log("wrote %s; %.0f s" % (doc, time.time() - t0))
    problems = sanity(results)
    for p in problems:
        log("harness problem:", p)
    return 1 if problems else 0


def sanity(results):
    """What must hold for the harness to be working (speed is not checked)."""
    problems = []
    d = results.get("virtio-desk")
    if d is None:
        return problems
    for w, h in SIZES:
        for wl, _ in WORKLOADS:
            e = d.get("%s %dx%d" % (wl, w, h))
            if e is None:
                continue
            if "runs" not in e or not e["runs"]:
                problems.append("virtio-desk %s %dx%d: no result" % (wl, w, h))
            # (kmstest's host sync adds one 1x1 DIRTYFB per run on virtio-desk: 4 bytes over all updates)
            elif wl == "full" and abs((e["bytes"] or 0) - w * h * 4) >= 1:
                problems.append("virtio-desk full %dx%d: %s bytes traced per update, expected %d"
                                % (w, h, e["bytes"], w * h * 4))
            elif wl == "rect64" and abs((e["bytes"] or 0) - 64 * 64 * 4) >= 1:
                problems.append("virtio-desk rect64 %dx%d: %s bytes traced per update, expected %d"
                                % (w, h, e["bytes"], 64 * 64 * 4))
    for n, r in results.items():
        for k, e in r.items():
            for x in e.get("runs", []):
                if x.get("cpu") is not None and x["cpu"] <= 0 and k != "input":
                    problems.append("%s %s: no host CPU time measured" % (n, k))
    return problems


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
