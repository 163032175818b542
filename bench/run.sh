#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# virtio-desk benchmark: builds what it needs (QEMU if missing, guest kernel,
# module and initramfs through tests/guest/rig.py, bench/copybench), runs the
# same guest workloads on virtio-desk-pci, virtio-gpu-pci and bochs-display,
# prints one table and writes it into docs/performance.md.
#
#   bench/run.sh            full run (6-7 minutes under TCG on 2 cores)
#   bench/run.sh --short    one short repetition of everything (CI, ~2 minutes;
#                           writes $VIRTIO_DESK_CACHE/bench-out/performance-short.md)
#   bench/run.sh --help     more options
set -eu
exec python3 "$(dirname "$0")/bench.py" "$@"
