#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The README's demo command really shows a guest: run scripts/demo.sh, wait
# until it prints its VNC address, capture the screen with gvnccapture while
# the moving pattern runs, and check the capture is the guest's picture
# (mostly lit, many colours), not QEMU's placeholder; then stop the demo.
set -uo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
log=$(mktemp)
shot=$(mktemp --suffix=.png)
trap 'rm -f "$log" "$shot"' EXIT

timeout -s INT 300 bash "$repo/scripts/demo.sh" > "$log" 2>&1 &
demo=$!
display=
for _ in $(seq 1 240); do
    display=$(sed -n 's/.*gvncviewer 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$display" ] && break
    kill -0 $demo 2>/dev/null || break
    sleep 1
done
if [ -z "$display" ]; then
    tail -n 30 "$log"
    echo "demo did not come up"
    exit 1
fi
sleep 20  # the console text is shown for 10 s, then the pattern moves
gvnccapture "127.0.0.1:$display" "$shot" > /dev/null 2>&1
status=$?
kill -INT $demo 2>/dev/null
wait $demo 2>/dev/null
[ $status -eq 0 ] || { echo "gvnccapture failed"; exit 1; }
python3 - "$repo/tests/guest" "$shot" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import rig
img = rig.read_png(sys.argv[2])
pixels = [img.data[i:i + 3] for i in range(0, len(img.data), 3)]
lit = sum(1 for p in pixels if p != b"\0\0\0")
colours = len(set(pixels))
print("demo capture %dx%d: %d%% lit, %d colours" % (img.w, img.h, 100 * lit // len(pixels), colours))
sys.exit(0 if lit * 2 > len(pixels) and colours >= 16 else 1)
PY
