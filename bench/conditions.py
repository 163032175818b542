# SPDX-License-Identifier: GPL-2.0-or-later
"""The harness-condition matrix: the 1080p full-frame display path
(`kmstest perf 1920 1080 full`) on virtio-desk and virtio-gpu under one
condition of the main table at a time, each on freshly booted guests, so a
row of the main table can be traced to what made it.

    python3 bench/conditions.py [NAME,...] [REPS] [SECS]   one table on stdout

Python 3 standard library only."""

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
import desktop  # noqa: E402
import rig  # noqa: E402

# name: (description, guests up (desk+gpu, or also bochs), VNC+SPICE servers,
#        history (the main table's 1024x768 workloads first), ageing, seconds per run)
CONDITIONS = [
    ("fresh-solo-bare", "fresh guests, one measured at a time (the other idle), no VNC/SPICE server",
     dict(three=False, servers=False, history=False, age=False)),
    ("fresh-solo", "as above with the VNC and SPICE servers (no client)",
     dict(three=False, servers=True, history=False, age=False)),
    ("vnc-only", "fresh, one guest measured at a time, only the VNC server (no client)",
     dict(three=False, servers="vnc", history=False, age=False)),
    ("spice-only", "fresh, one guest measured at a time, only the SPICE server (no client)",
     dict(three=False, servers="spice", history=False, age=False)),
    ("fresh-three", "three guests up (bochs-display idle too), servers",
     dict(three=True, servers=True, history=False, age=False)),
    ("history", "after the main table's 1024x768 workloads (2 runs each), servers",
     dict(three=False, servers=True, history=True, age=False)),
    ("aged", "after `ageing` (random half of nearly all free pages held), servers",
     dict(three=False, servers=True, history=False, age=True)),
    ("vnc-client", "fresh, servers, a VNC client reading every update",
     dict(three=False, servers=True, history=False, age=False, vnc=True)),
    ("harness", "the main table's conditions: three guests, servers, history",
     dict(three=True, servers=True, history=True, age=False)),
    ("short-runs", "fresh, servers, 0.3 s runs instead of the default",
     dict(three=False, servers=True, history=False, age=False, secs=0.3)),
    ("kmstest-bench", "fresh, servers, `kmstest bench 1920 1080 50` (50 DIRTYFBs, no wait for the host at "
     "the end: what `rig.py exec` prints)", dict(three=False, servers=True, history=False, age=False,
                                                bench_mode=True)),
    ("host-busy", "fresh, servers, one host process spinning (a build on the other core)",
     dict(three=False, servers=True, history=False, age=False, hog=True)),
]

HELP = "\n".join("  %-16s %s" % (n, d) for n, d, _ in CONDITIONS)


def boot(dev, kernel, initrd, servers):
    name, qdev, _, extra = dev
    args = list(extra) + ["-name", "cond-%s,debug-threads=on" % name]
    for t in bench.TRACES:
        args += ["-trace", t]
    if servers == "vnc":
        args += ["-vnc", "127.0.0.1:%d" % (rig.free_port(5900 + 120) - 5900)]
    elif servers == "spice":
        args += ["-spice", "port=%d,addr=127.0.0.1,disable-ticketing=on,image-compression=off,"
                 "jpeg-wan-compression=never,zlib-glz-wan-compression=never,streaming-video=off"
                 % rig.free_port(6150)]
    g = rig.Guest("cond-" + name, kernel, initrd, qdev, extra=args, servers=servers is True)
    try:
        g.boot()
        bench.set_traces(g, False)
        if name == "bochs-display":
            bench.sh(g, "modprobe bochs")
        bench.sh(g, "for i in $(seq 50); do [ -e /dev/dri/card0 ] && break; sleep 0.1; done; "
                    "[ -e /dev/dri/card0 ]; echo 0 > /proc/sys/kernel/printk")
    except BaseException:
        g.stop()
        raise
    return g


def requests_per_frame(g):
    bench.set_traces(g, True)
    try:
        r, _, _ = bench.staged(g, "kmstest perf 1920 1080 full 0.3")
    finally:
        bench.set_traces(g, False)
    with open(g.qemu_log, "rb") as f:
        f.seek(g.marks[0])
        new = f.read(g.marks[1] - g.marks[0]).decode(errors="replace")
    return len(re.findall(r"virtio_desk_transfer_rects", new)) / max(r.get("n") or 1, 1)


def one(name, cond, kernel, initrd, reps, secs):
    devs = [d for d in bench.DEVICES if d[0] != "bochs-display" or cond["three"]]
    secs = cond.get("secs", secs)
    gs = {}
    readers = []
    hog = None
    try:
        for d in devs:
            gs[d[0]] = boot(d, kernel, initrd, cond["servers"])
        meas = {n: g for n, g in gs.items() if n != "bochs-display"}
        for g in meas.values():
            if cond["history"]:
                for wl, _ in bench.WORKLOADS:
                    for _ in range(2):
                        bench.display_once(g, 1024, 768, wl, 2.0)
            if cond["age"]:
                bench.sh(g, desktop.AGE_CMD, timeout=300)
            if cond.get("vnc"):
                import vncread
                readers.append(vncread.Reader(5900 + g.vnc))
        if cond.get("hog"):
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        res = {n: [] for n in meas}
        load0 = "%.2f" % __import__("os").getloadavg()[0]
        for _ in range(reps):
            for n, g in meas.items():
                if cond.get("bench_mode"):
                    out = bench.sh(g, "kmstest bench 1920 1080 50", timeout=300)
                    m = re.search(r"DIRTYFB full: (\d+) fps", out)
                    res[n].append({"rate": float(m.group(1)), "cpu": 0.0})
                else:
                    # one trace line per transfer request (cheap): requests per frame of this run
                    if n == "virtio-desk":
                        g.qmp_cmd("trace-event-set-state", name="virtio_desk_transfer_rects", enable=True)
                    try:
                        r = bench.display_once(g, 1920, 1080, "full", secs)
                    finally:
                        if n == "virtio-desk":
                            g.qmp_cmd("trace-event-set-state", name="virtio_desk_transfer_rects",
                                      enable=False)
                    if n == "virtio-desk":
                        with open(g.qemu_log, "rb") as f:
                            f.seek(g.marks[0])
                            new = f.read(g.marks[1] - g.marks[0]).decode(errors="replace")
                        r["requests"] = len(re.findall(r"virtio_desk_transfer_rects", new)) / r["n"]
                    res[n].append(r)
        rpf = statistics.median(x.get("requests", 0) for x in res["virtio-desk"])
    finally:
        if hog:
            hog.kill()
            hog.wait()
        for r in readers:
            r.close()
        for g in gs.values():
            g.stop()
    d = [x["rate"] for x in res["virtio-desk"]]
    p = [x["rate"] for x in res["virtio-gpu"]]
    row = {"name": name, "desk": d, "gpu": p, "ratio": statistics.median(d) / statistics.median(p),
           "requests": rpf, "secs": "50 frames" if cond.get("bench_mode") else "%g s" % secs, "load": "%s-%.2f" % (load0, __import__("os").getloadavg()[0]),
           "desk_cpu": statistics.median(x["cpu"] for x in res["virtio-desk"]),
           "gpu_cpu": statistics.median(x["cpu"] for x in res["virtio-gpu"])}
    row["desk_requests"] = [x.get("requests", 0) for x in res["virtio-desk"]]
    bench.log("condition %-16s desk %s  gpu %s  %.2fx  desk requests/frame %.2f  load %s" % (
        name, " ".join("%.0f/%.1f" % (x["rate"], x.get("requests", 0)) for x in res["virtio-desk"]), " ".join("%.0f" % x for x in p), row["ratio"], rpf,
        row["load"]))
    return row


def matrix(kernel, initrd, opts, names=None):
    reps = 3 if opts.short else 5
    rows = []
    for name, desc, cond in CONDITIONS:
        if names and name not in names:
            continue
        t = time.time()
        row = one(name, cond, kernel, initrd, reps, opts.secs)
        row["desc"] = desc
        row["wall"] = time.time() - t
        rows.append(row)
    return rows


def table(rows):
    out = ["| condition | virtio-desk /s (runs: rate/requests per frame) | virtio-gpu /s (runs) | desk / gpu | desk requests/frame | "
           "CPU ms/frame desk, gpu | run length | load (1 min) before-after |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| `%s`: %s | %.0f (%s) | %.0f (%s) | %.2fx | %.2f | %.2f, %.2f | %s | %s |" % (
            r["name"], r["desc"], statistics.median(r["desk"]),
            " ".join("%.0f/%.1f" % x for x in zip(r["desk"], r.get("desk_requests", [0] * len(r["desk"])))),
            statistics.median(r["gpu"]), " ".join("%.0f" % x for x in r["gpu"]), r["ratio"], r["requests"],
            r["desk_cpu"] * 1e3, r["gpu_cpu"] * 1e3, r["secs"], r["load"]))
    return "\n".join(out)


if __name__ == "__main__":
    class O:
        short = False
        secs = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    for m in ("bochs", "virtio_input"):
        if m not in rig.WANT_MODULES:
            rig.WANT_MODULES.append(m)
    k, i = rig.build_all()
    o = O()
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    o.short = reps < 5
    rows = matrix(k, i, o, sys.argv[1].split(",") if len(sys.argv) > 1 and sys.argv[1] else None)
    print(table(rows))
