#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Run the device's qtests on a QEMU built with AddressSanitizer (and
# LeakSanitizer) and UndefinedBehaviorSanitizer, in its own build directory.
# Fails on any sanitizer report that involves virtio-desk code, on any UBSan
# "runtime error", and on any failing test.  Ends with "N passed, N failed".
#   --build-only   build the tree and stop (scripts/test.sh builds it early,
#                  in the background, while the guest tests leave a core idle)
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/scripts/host-deps.sh" || exit 1
build=$(VIRTIO_DESK_BUILD=build-asan \
        VIRTIO_DESK_CONFIGURE_EXTRA="--enable-asan --enable-ubsan" \
        bash "$repo/scripts/qemu/build.sh" | tail -n 1)
[ -x "$build/qemu-system-x86_64" ] || { echo "0 passed, 1 failed"; exit 1; }
[ "${1:-}" != --build-only ] || exit 0

log=$(mktemp)
trap 'rm -f "$log"' EXIT
(cd "$build" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1 \
    ./tests/qtest/qos-test -m quick) > "$log" 2>&1
status=$?

passed=$(grep -E '^ok .*virtio-desk-pci-tests/' "$log" | grep -vc '# SKIP')
skipped=$(grep -E '^ok .*virtio-desk-pci-tests/' "$log" | grep -c '# SKIP')
failed=$(grep -cE '^not ok .*virtio-desk-pci' "$log")
[ "$status" -eq 0 ] || { tail -n 40 "$log"; failed=$((failed + 1)); }

# QEMU leaks some memory at exit by design; count only reports with our code.
ours=$(awk 'BEGIN { RS = ""; n = 0 }
            /(Direct|Indirect) leak of|ERROR: AddressSanitizer|runtime error:/ &&
            /virtio[-_]desk/ { n++; print > "/dev/stderr" }
            END { print n }' "$log")
ubsan=$(grep -c 'runtime error:' "$log")
echo "qtests under ASan/UBSan: $passed passed, $skipped skipped; reports involving virtio-desk: $ours; UBSan runtime errors: $ubsan"
if [ "$ours" -ne 0 ] || [ "$ubsan" -ne 0 ]; then
    grep -B2 -A20 'runtime error:\|ERROR: AddressSanitizer' "$log" | head -n 60
    failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
