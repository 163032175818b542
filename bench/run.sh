#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtio-desk benchmark: builds what it needs (QEMU if missing, guest kernel,
# module and initramfs through tests/guest/rig.py, the Debian/Weston root
# through tests/guest/weston-root.sh, bench/copybench), runs the same guest
# workloads on virtio-desk-pci, virtio-gpu-pci and bochs-display (DIRTYFB,
# fbcon, input, page flips, VNC client connected, aged guest, Weston clients,
# the harness-condition matrix), prints the tables and writes them into
# docs/performance.md.
#
#   bench/run.sh            full run (~20 minutes under TCG on 2 cores)
#   bench/run.sh --short    one short repetition of everything but the
#                           condition matrix (CI, ~2.5 minutes; writes
#                           $VIRTIO_DESK_CACHE/bench-out/performance-short.md)
#   bench/run.sh --help     more options, and the conditions every table is measured under
#   bench/run.sh latency [--short]   key -> pixel latency over VNC (bench/latency.py)
#   bench/run.sh cursor [--short]    what 1,000 cursor moves cost (bench/cursor.py)
#   bench/run.sh x11 [--short]       Xorg (modesetting, no glamor): x11perf and xterm (bench/x11.py)
set -eu
# The tables in docs/performance.md were measured on one vCPU; the guest
# tests run on two (rig.Guest's default): keep the bench's condition.
export VIRTIO_DESK_SMP="${VIRTIO_DESK_SMP:-1}"
if [ "${1:-}" = latency ]; then
    shift
    exec python3 "$(dirname "$0")/latency.py" "$@"
fi
if [ "${1:-}" = cursor ]; then
    shift
    exec python3 "$(dirname "$0")/cursor.py" "$@"
fi
if [ "${1:-}" = x11 ]; then
    shift
    exec python3 "$(dirname "$0")/x11.py" "$@"
fi
exec python3 "$(dirname "$0")/bench.py" "$@"
