#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# CI check of the upstream form (scripts/test.sh runs it after the qtests):
# the patch series from patch-series.sh must `git am` onto a pristine QEMU
# tree, give exactly the tree build.sh grafted (TREE, e.g. $cache/qemu-10.0.13;
# build dirs and the graft's .virtio-desk-* record aside), and pass QEMU's
# scripts/checkpatch.pl with no errors and no warning that the patch's own
# commit message does not name, and have a Signed-off-by: and a subject of at
# most 72 characters each.  Exits non-zero on any failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
tree=$(realpath "$1")
cache=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
version=$(cat "$tree/VERSION")
orig="$cache/dl/qemu_$version+ds.orig.tar.xz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$repo/scripts/qemu/patch-series.sh" "$work/series" > /dev/null

# A pristine git tree, made once (about 20 s: 38000 files) and reset on each
# run, since `git am` needs a repository and a full copy costs more than that.
pristine="$cache/qemu-$version-pristine"
export GIT_AUTHOR_NAME=check-series GIT_AUTHOR_EMAIL=check-series@invalid
export GIT_COMMITTER_NAME=check-series GIT_COMMITTER_EMAIL=check-series@invalid
if [ ! -e "$pristine/.git/refs/tags/base" ]; then
    rm -rf "$pristine.tmp"
    mkdir -p "$pristine.tmp"
    tar -xf "$orig" -C "$pristine.tmp" --strip-components=1
    git -C "$pristine.tmp" init -q
    git -C "$pristine.tmp" add -A -f
    git -C "$pristine.tmp" commit -q -m "QEMU $version (pristine)"
    git -C "$pristine.tmp" tag base
    rm -rf "$pristine"
    mv "$pristine.tmp" "$pristine"
fi
g() { git -C "$pristine" "$@"; }
g am --abort > /dev/null 2>&1 || true
g checkout -q -f --detach base
g clean -q -f -d -x
status=0
if ! g am -q "$work"/series/*.patch; then
    echo "patch series: git am failed"
    exit 1
fi

# The result against the graft: changed or missing files, then extra ones.
skip=(':(top,exclude)build*' ':(top,exclude).virtio-desk-*')
diffs=$(g --work-tree="$tree" diff --name-status HEAD -- . "${skip[@]}")
extra=$(g --work-tree="$tree" ls-files --others -- . "${skip[@]}")
if [ -n "$diffs$extra" ]; then
    echo "patch series: the tree differs from the graft:"
    { [ -z "$diffs" ] || echo "$diffs"
      [ -z "$extra" ] || sed 's/^/?\t/' <<< "$extra"; } | head -n 20
    status=1
fi

# checkpatch: warnings pass only when the commit message names them.
for p in "$work"/series/*.patch; do
    name=$(basename "$p")
    # as maintainers take them: a short subject, signed off
    subject=$(git mailinfo /dev/null /dev/null < "$p" | sed -n 's/^Subject: //p')
    if [ ${#subject} -gt 72 ]; then
        echo "  $name: subject is ${#subject} characters (> 72): $subject"
        status=1
    fi
    if ! grep -qE '^Signed-off-by: [^<]+ <[^>]+@[^>]+>$' "$p"; then
        echo "  $name: no Signed-off-by: line"
        status=1
    fi
    report=$(cd "$pristine" && perl scripts/checkpatch.pl "$p" 2>&1 || true)
    total=$(grep -E '^total: ' <<< "$report" || echo "total: (no summary)")
    # the message: from the Subject: to the "---" before the diffstat
    msg=$(sed -n '/^Subject:/,/^---$/p' "$p" | tr -s ' \n\t' ' ')
    unexplained=()
    while read -r w; do
        [ -n "$w" ] || continue
        grep -qF -- "$(tr -s ' \t' ' ' <<< "$w")" <<< "$msg" || unexplained+=("$w")
    done < <(sed -n 's/^WARNING: //p' <<< "$report" | sort -u)
    errors=$(sed -n 's/^total: \([0-9]*\) errors.*/\1/p' <<< "$total")
    echo "  $name: $total"
    if [ "${errors:-1}" != 0 ]; then
        grep -E -A3 '^ERROR: ' <<< "$report" | sed 's/^/    /'
        status=1
    fi
    for w in "${unexplained[@]}"; do
        echo "    unexplained WARNING: $w"
        grep -F -A3 "WARNING: $w" <<< "$report" | grep -E '^#[0-9]+: FILE:' |
            sed 's/^/      /'
        status=1
    done
done
exit $status
