#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The README's demo command really shows the user's path: run scripts/demo.sh,
# wait until it prints its VNC address, capture the screen with gvnccapture
# when the demo says GRUB's menu is up (VGA text mode, 720x400, GRUB's
# highlighted entry) and again when it says Weston is up (Weston's desktop:
# another size, mostly its background colour), then stop the demo.  The first run builds the disk
# image (about 10 minutes; the guest tests build it first in scripts/test.sh).
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
log=$(mktemp)
grub=$(mktemp --suffix=.png)
weston=$(mktemp --suffix=.png)
trap 'rm -f "$log" "$grub" "$weston"' EXIT

timeout -s INT 1500 bash "$repo/scripts/demo.sh" > "$log" 2>&1 &
demo=$!
# wait_for REGEX SECONDS: the demo printed a line matching REGEX
wait_for() {
    for _ in $(seq 1 "$2"); do
        grep -q "$1" "$log" && return 0
        kill -0 $demo 2>/dev/null || break
        sleep 1
    done
    tail -n 30 "$log"
    echo "demo: no line matching '$1'"
    kill -INT $demo 2>/dev/null
    wait $demo 2>/dev/null
    exit 1
}
wait_for 'gvncviewer 127\.0\.0\.1:' 1200
display=$(sed -n 's/.*gvncviewer 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
wait_for "GRUB's menu is up" 300
gvnccapture "127.0.0.1:$display" "$grub" > /dev/null 2>&1
g=$?
wait_for 'Weston is up' 600
# Weston's first frame follows soon after: capture until it is there
python3 - "$repo/tests/guest" "$grub" "$weston" "$display" $g <<'PY'
import subprocess
import sys
import time
sys.path.insert(0, sys.argv[1])
import diskguest
import rig
grub_png, weston_png, display, grub_status = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
if grub_status != 0:
    sys.exit("gvnccapture failed during GRUB")
grub = rig.read_png(grub_png)
bar = diskguest.highlight_rows(grub)
print("demo: GRUB capture %dx%d, %d rows of highlighted entry" % (grub.w, grub.h, bar))
if (grub.w, grub.h) != (720, 400) or bar < 8:
    sys.exit("demo: no GRUB menu in VGA text mode")
for _ in range(20):
    subprocess.run(["timeout", "20", "gvnccapture", "127.0.0.1:" + display, weston_png],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        weston = rig.read_png(weston_png)
    except Exception:  # noqa: BLE001  no capture this time
        time.sleep(3)
        continue
    bg = diskguest.share(weston, diskguest.WESTON_BG)
    print("demo: Weston capture %dx%d, %.0f%% background" % (weston.w, weston.h, 100 * bg))
    if (weston.w, weston.h) != (720, 400) and bg > 0.3:
        sys.exit(0)
    time.sleep(3)
sys.exit("demo: no Weston desktop")
PY
status=$?
kill -INT $demo 2>/dev/null
wait $demo 2>/dev/null
exit $status
