#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fuzz virtio-desk with libFuzzer for SECONDS (default 60) per target:
#   virtio-desk-fuzz          structured requests on all four virtqueues,
#                             seeded with valid request streams
#   generic-fuzz-virtio-desk  QEMU's generic MMIO/PIO/DMA fuzzer on the device
# QEMU is built with clang, --enable-fuzzing and ASan/UBSan in its own build
# directory.  Corpora are kept in $VIRTIO_DESK_CACHE/fuzz; a crash leaves its
# input there and makes this script fail.
#   fuzz.sh --build-only   build the tree and stop (see sanitizers.sh)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
seconds=${1:-60}

bash "$repo/scripts/host-deps.sh"
build=$(VIRTIO_DESK_BUILD=build-fuzz \
        VIRTIO_DESK_TARGETS=qemu-fuzz-x86_64 \
        VIRTIO_DESK_CONFIGURE_EXTRA="--cc=clang --cxx=clang++ --enable-fuzzing --enable-asan --enable-ubsan --disable-modules" \
        bash "$repo/scripts/qemu/build.sh" | tail -n 1)
[ "$seconds" != --build-only ] || exit 0

fuzz() {  # fuzz TARGET CORPUS
    local target=$1 corpus=$2 artifacts="$cache/fuzz/crashes/$1/"
    mkdir -p "$corpus" "$artifacts"
    echo "fuzzing $target for $seconds s (corpus $corpus)"
    (cd "$build" && ./qemu-fuzz-x86_64 --fuzz-target="$target" \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=20 \
        -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus") \
        > "$cache/fuzz/$target.log" 2>&1 || {
        tail -n 40 "$cache/fuzz/$target.log"
        echo "FAIL: $target found a problem; inputs in $artifacts"
        return 1
    }
    grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$cache/fuzz/$target.log" || true
}

python3 "$repo/tests/qtest/fuzz/virtio-desk-corpus.py" "$cache/fuzz/corpus-virtio-desk"
fuzz virtio-desk-fuzz "$cache/fuzz/corpus-virtio-desk"
fuzz generic-fuzz-virtio-desk "$cache/fuzz/corpus-generic"
