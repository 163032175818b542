#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The whole test suite, from a fresh Debian bookworm machine (as root):
# installs what it needs, builds QEMU with virtio-desk, runs the qtests,
# then the guest tests (Debian's 6.12 kernel + virtio_desk.ko under TCG).
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
#   VIRTIO_DESK_CACHE  where downloads and builds are kept (~/.cache/virtio-desk)
#   VIRTIO_DESK_KVM=1  run guests under KVM instead of TCG, where KVM works
#   --qtest-only       skip the guest tests (for quick iterations on the device)
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
passed=0
failed=0
failures=()

result() {  # result NAME STATUS
    if [ "$2" -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS: $1"
    else
        failed=$((failed + 1))
        failures+=("$1")
        echo "FAIL: $1"
    fi
}

# Every stage always runs: a suite that drops its memory-safety checks when
# it is late is no gate.  The budget is checked at the end instead, and a
# run over it fails loudly (a cold run must fit in 60 minutes on 2 busy
# cores, leaving CI's 90 minutes a margin).
budget=${VIRTIO_DESK_BUDGET:-3600}
budget_check() {
    local elapsed=$(( $(date +%s) - start ))
    echo "  the suite took ${elapsed}s (budget ${budget}s)"
    [ "$elapsed" -le "$budget" ]
    result "suite-within-budget-${budget}s" $?
}

stage() {  # stage NAME COMMAND...: run a sub-suite, one result for it
    local name=$1
    shift
    echo "--- $name"
    "$@"
    result "$name" $?
}

summary() {
    [ ${#failures[@]} -eq 0 ] || printf 'failed: %s\n' "${failures[@]}"
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

bash "$repo/scripts/host-deps.sh" || { result host-deps 1; summary; exit 1; }
# The Debian guest disk (about 9 minutes the first time, seconds after) builds
# in the background while QEMU builds and the qtests run: it needs neither.
# The guest tests' own call waits for it (disk-image.sh takes a lock).
if [ "${1:-}" != --qtest-only ]; then
    disk_log=$(mktemp)
    sh "$repo/tests/guest/disk-image.sh" > "$disk_log" 2>&1 &
    disk_pid=$!
fi
build=$(bash "$repo/scripts/qemu/build.sh" | tail -n 1)
[ -x "$build/qemu-system-x86_64" ] || { result qemu-build 1; summary; exit 1; }
qemu="$build/qemu-system-x86_64"
# The debug guest kernel (KASAN, lockdep; for the SMP stress test) and the
# sanitizer and fuzzing trees build at the lowest priority while the qtests
# and the guest tests run, on the core those leave idle.  The stress test and
# the stages at the end wait for them (locks) and find nothing to rebuild.
if [ "${1:-}" != --qtest-only ]; then
    slow_log=$(mktemp)
    (nice -n 19 ionice -c 3 sh "$repo/tests/guest/debug-kernel.sh"
     nice -n 19 ionice -c 3 bash "$repo/scripts/sanitizers.sh" --build-only &&
     nice -n 19 ionice -c 3 bash "$repo/scripts/fuzz.sh" --build-only) > "$slow_log" 2>&1 &
    slow_pid=$!
fi

# --- device registration and the module build --------------------------------
"$qemu" -device help 2>/dev/null | grep -q '^name "virtio-desk-pci", bus PCI'
result "device-help-lists-virtio-desk-pci" $?
# The device lives in a loadable module, not in the binary, and loads on demand.
! nm -D --defined-only "$qemu" | grep -q virtio_desk &&
    [ -e "$build/hw-display-virtio-desk.so" ] &&
    echo '{"execute":"qmp_capabilities"}{"execute":"qom-list","arguments":{"path":"/machine/peripheral/desk"}}{"execute":"quit"}' |
    "$qemu" -M q35 -nodefaults -display none -qmp stdio \
        -device virtio-desk-pci,id=desk 2>&1 | grep -q '"name": "virtio-backend"'
result "module-loads-on-demand" $?

# --- qtests ---------------------------------------------------------------------
log=$(mktemp)
# QTEST_TRACE is pasted into QEMU's command line: it also turns on the
# guest-error log, so that every rejected request can be counted twice.
error_events='virtio_desk_cmd_error -trace virtio_desk_bad_response_buffer
    -trace virtio_desk_input_status_error -trace virtio_desk_input_bad_buffer
    -trace virtio_desk_input_frame_dropped -trace virtio_desk_cursor_error'
error_events=$(echo $error_events)
(cd "$build" && QTEST_QEMU_BINARY=./qemu-system-x86_64 \
    QTEST_TRACE="$error_events -d guest_errors" \
    ./tests/qtest/qos-test -m quick) > "$log" 2>&1
qos_status=$?
grep -E '^(ok|not ok) .*virtio-desk' "$log" | sed 's/^/  /'
# virtio-desk-vga's run as qtest:vga/NAME (some are virtio-desk-pci's again)
qtest_name() {
    case $1 in
        *virtio-desk-vga-tests/*) echo "qtest:vga/${1##*/}" ;;
        *) echo "qtest:${1##*/}" ;;
    esac
}
while read -r line; do
    result "$(qtest_name "$line")" 0
done < <(grep -E '^ok .*virtio-desk-(pci|vga)-tests/' "$log")
while read -r line; do
    result "$(qtest_name "$line")" 1
done < <(grep -E '^not ok .*virtio-desk-(pci|vga)-tests/' "$log")
if [ "$qos_status" -ne 0 ] || ! grep -q '^ok .*virtio-desk-pci-tests/' "$log"; then
    tail -n 30 "$log"
    result "qos-test" 1
fi
# Every rejected request leaves one LOG_GUEST_ERROR line and one trace event.
logged=$(grep -c '^virtio-desk: ' "$log")
traced=$(grep -cE '^virtio_desk_(cmd_error|bad_response_buffer|input_status_error|input_bad_buffer|cursor_error) ' "$log")
echo "  guest errors logged: $logged, traced: $traced"
[ "$logged" -ge 40 ] && [ "$logged" -eq "$traced" ]
result "guest-errors-logged-and-traced" $?
# A dropped input frame is traced (input-queue-overflow drops exactly one).
grep -q '^virtio_desk_input_frame_dropped input queue full, 1 frames dropped' "$log" &&
    [ "$(grep -c '^virtio_desk_input_frame_dropped ' "$log")" -eq 1 ]
result "input-frame-dropped-traced" $?
rm -f "$log"

# --- upstream form: the graft as a patch series (git am, same tree, checkpatch) --
stage qemu-patch-series bash "$repo/scripts/qemu/check-series.sh" "$(dirname "$build")"
# The guest driver as an in-tree Linux patch (applies to Debian's 6.12 source,
# checkpatch --strict, builds in-tree): it builds against the debug kernel
# (version, config, Module.symvers), which a full run builds in the
# background, so there it runs after the guest tests (the stress test has
# waited for that kernel by then), here only with --qtest-only (building the
# debug kernel first if it is not cached).
linux_patch() { stage linux-driver-patch bash "$repo/scripts/linux/check-patch.sh"; }
[ "${1:-}" != --qtest-only ] || linux_patch

# --- guest tests ------------------------------------------------------------------
if [ "${1:-}" != --qtest-only ]; then
    wait "$disk_pid" || sed 's/^/  disk-image: /' "$disk_log"
    rm -f "$disk_log"
    glog=$(mktemp)
    QEMU="$qemu" "$repo/tests/guest/run.sh" 2>&1 | tee "$glog"
    gstatus=${PIPESTATUS[0]}
    counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$glog" | tail -n 1)
    if [ -n "$counts" ]; then
        passed=$((passed + $(echo "$counts" | awk '{print $1}')))
        failed=$((failed + $(echo "$counts" | awk '{print $3}')))
        [ "$(echo "$counts" | awk '{print $3}')" -eq 0 ] || failures+=("guest tests")
    fi
    if [ "$gstatus" -ne 0 ] && [ -z "$counts" -o "$(echo "$counts" | awk '{print $3}')" = 0 ]; then
        result "guest-rig" 1
    fi
    rm -f "$glog"
    linux_patch
fi

if [ "${1:-}" != --qtest-only ]; then
    # --- the README's demo command -----------------------------------------------
    stage demo-shows-guest-over-vnc bash "$repo/tests/demo/smoke.sh"

    # --- libvirt: the example domain under a real libvirtd ---------------------------
    stage libvirt-example-domain env QEMU="$qemu" bash "$repo/tests/libvirt/run.sh"

    # --- the benchmark harness, short: it must not rot (speed never fails CI) --------
    stage bench-harness-short bash "$repo/bench/run.sh" --short
    stage bench-latency-harness-short bash "$repo/bench/run.sh" latency --short \
        --configs virtio-desk,virtio-gpu
    stage bench-cursor-harness-short bash "$repo/bench/run.sh" cursor --short

    # --- hardening: sanitizers and fuzzing, each in its own QEMU build ---------------
    # (a failed early build is shown here and then fails its stage)
    wait "$slow_pid" || sed 's/^/  slow-builds: /' "$slow_log"
    rm -f "$slow_log"
    stage qtests-under-asan-ubsan bash "$repo/scripts/sanitizers.sh"
    stage fuzz-60s-per-target bash "$repo/scripts/fuzz.sh" 60
    budget_check
fi

summary
