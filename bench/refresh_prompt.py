# SPDX-License-Identifier: GPL-2.0-or-later
"""Updates per second a VNC client receives while the guest animates at about
60 frames/s (kmstest anim: two 96x96 DIRTYFB clips per frame), for each
refresh-prompt-ms value given:  python3 bench/refresh_prompt.py 0 4 0 4
One guest at a time (the rig's command line), 8 s per value.  Python 3
standard library; a first measurement for issue 14, not its harness."""

import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests/guest"))
sys.path.insert(0, str(HERE))
os.environ.setdefault("VIRTIO_DESK_GUEST_OUT",
                      str(Path(os.environ.get("VIRTIO_DESK_CACHE", Path.home() / ".cache/virtio-desk"))
                          / "bench-out"))
import rig  # noqa: E402
import vncread  # noqa: E402


def main(values):
    kernel, initrd = rig.build_all()
    for ms in values:
        g = rig.Guest("prompt%s" % ms, kernel, initrd, "virtio-desk-pci,refresh-prompt-ms=%s" % ms)
        try:
            g.boot()
            g.sh("(kmstest anim 1024 768 12 > /tmp/anim.log 2>&1 &)")
            time.sleep(2)
            r = vncread.Reader(5900 + g.vnc)
            time.sleep(1)
            u0 = r.counts()[0]
            time.sleep(8)
            u1 = r.counts()[0]
            r.close()
            time.sleep(3)
            frames = g.sh("cat /tmp/anim.log")[1].strip()
            print("refresh-prompt-ms=%s: %.1f updates/s at the VNC client (%s in 12 s; load %s)"
                  % (ms, (u1 - u0) / 8, frames, " ".join(open("/proc/loadavg").read().split()[:3])),
                  flush=True)
        finally:
            g.stop()


if __name__ == "__main__":
    main(sys.argv[1:] or ["0", "4"])
