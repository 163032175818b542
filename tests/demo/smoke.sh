#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The README's demo command really shows the user's path: run scripts/demo.sh,
# wait until it prints its VNC address, capture the screen with gvnccapture
# when the demo says GRUB's menu is up (VGA text mode, 720x400, not empty) and
# again when it says Weston is up (Weston's desktop: another size, mostly
# its background colour), then stop the demo.  The first run builds the disk
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
sleep 3
gvnccapture "127.0.0.1:$display" "$weston" > /dev/null 2>&1
w=$?
kill -INT $demo 2>/dev/null
wait $demo 2>/dev/null
[ $g -eq 0 ] && [ $w -eq 0 ] || { echo "gvnccapture failed"; exit 1; }
python3 - "$repo/tests/guest" "$grub" "$weston" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import diskguest
import rig
grub, weston = rig.read_png(sys.argv[2]), rig.read_png(sys.argv[3])
black = diskguest.share(grub, diskguest.BLACK)
bg = diskguest.share(weston, diskguest.WESTON_BG)
print("demo: GRUB capture %dx%d, %.0f%% black; Weston capture %dx%d, %.0f%% background"
      % (grub.w, grub.h, 100 * black, weston.w, weston.h, 100 * bg))
ok = (grub.w, grub.h) == (720, 400) and black < 0.95 and (weston.w, weston.h) != (720, 400) and bg > 0.3
sys.exit(0 if ok else 1)
PY
