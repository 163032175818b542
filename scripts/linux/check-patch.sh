#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# CI check of the guest driver's upstream form (scripts/test.sh runs it next
# to the QEMU series): the series from patch.sh must
#   - have subjects of at most 72 characters and a Signed-off-by: each;
#   - apply (patch -p1) to Debian's linux-source-6.12, the debug kernel's
#     version (scripts/linux/source.sh), in a hard-link copy of it;
#   - pass the kernel's scripts/checkpatch.pl --strict with no ERROR and no
#     WARNING or CHECK that the patch's message or notes do not name;
#   - configure: the debug kernel's .config plus CONFIG_DRM_VIRTIO_DESK=m,
#     olddefconfig, changes nothing else;
#   - build drivers/gpu/drm/virtio-desk/virtio_desk.ko in-tree (through
#     drivers/gpu/drm/Makefile, so with DRM's W=1 warnings) with gcc-12 and
#     no compiler warning, and need no symbol the debug kernel does not
#     export (its Module.symvers: there is no vmlinux.o for modpost);
#   - install its uapi header cleanly (make headers) and compile it alone
#     as usr/include's header test does.
# The source copy and the build (O=) are kept under
#   $CACHE/linux-patch/<6.12.N>-<key>/{src,out}, key: version, config, gcc
# at fixed paths, so that a warm run rebuilds only the module (ccache).
# Prints a line per step; exits non-zero on any failure.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${VIRTIO_DESK_CACHE:-$HOME/.cache/virtio-desk}
jobs=${JOBS:-2}
t0=$(date +%s)
step() { echo "  [$(( $(date +%s) - t0 )) s] $*"; }

dk=$(sh "$repo/tests/guest/debug-kernel.sh")
ver=$(cat "$dk/version")
pristine=$(bash "$repo/scripts/linux/source.sh" "$ver")
key=$(cat "$dk/version" "$dk/config" <(gcc-12 --version) | sha256sum | cut -c1-12)
top=$cache/linux-patch/${ver%%-*}-$key
mkdir -p "$top"
exec 9> "$top/lock"
flock 9
src=$top/src
out=$top/out
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

bash "$repo/scripts/linux/patch.sh" "$work/series" "$pristine" > /dev/null
mapfile -t series < <(ls "$work"/series/*.patch)
step "series: ${#series[@]} patches against linux-source-6.12 $ver"

# --- the form maintainers take: subject, sign-off -------------------------
for p in "${series[@]}"; do
    subject=$(git mailinfo /dev/null /dev/null < "$p" | sed -n 's/^Subject: //p')
    if [ ${#subject} -gt 72 ]; then
        echo "    $(basename "$p"): subject is ${#subject} characters (> 72): $subject"
        status=1
    fi
    grep -q '^Signed-off-by: .* <.*@.*>$' "$p" ||
        { echo "    $(basename "$p"): no Signed-off-by:"; status=1; }
done

# --- apply to a copy of the tree -------------------------------------------
# A hard-link copy: patch(1) writes a new file and renames it over the old
# one, so the pristine tree's inodes are never written; checked below.
rm -rf "$src"
cp -al "$pristine" "$src"
for p in "${series[@]}"; do
    if ! patch -d "$src" -p1 -s --no-backup-if-mismatch < "$p"; then
        echo "    $(basename "$p"): does not apply"
        exit 1
    fi
done
while read -r f; do
    [ "$(stat -c %h "$src/$f")" = 1 ] ||
        { echo "    $f: still shares its inode with the pristine tree"; exit 1; }
done < <(sed -n 's|^+++ b/||p' "${series[@]}" | sort -u)
step "applied with patch -p1 to a copy of $pristine"

# --- checkpatch --strict ------------------------------------------------------
checks_total=0
for p in "${series[@]}"; do
    name=$(basename "$p")
    report=$(cd "$src" && perl scripts/checkpatch.pl --strict \
                 --show-types "$p" 2>&1 || true)
    total=$(grep -E '^total: ' <<< "$report" || echo "total: (no summary)")
    echo "    $name: $total"
    # what the patch says about itself: its message and its notes
    msg=$(sed -n '/^Subject:/,/^diff --git/p' "$p" | tr -s ' \n\t' ' ')
    errors=$(sed -n 's/^total: \([0-9]*\) errors.*/\1/p' <<< "$total")
    if [ "${errors:-1}" != 0 ]; then
        grep -E -A3 '^ERROR:' <<< "$report" | sed 's/^/      /'
        status=1
    fi
    # WARNINGs and (--strict) CHECKs pass only when the patch names them
    while read -r kind w; do
        [ -n "$w" ] || continue
        if grep -qF -- "$(tr -s ' \t' ' ' <<< "$w")" <<< "$msg"; then
            echo "      $kind (named in the patch): $w"
            continue
        fi
        echo "      unexplained $kind: $w"
        # where: "FILE:LINE", for the first 10
        awk -v k="$kind" -v w="$w" 'index($0, k ":") == 1 && index($0, ": " w) { c = 1; next }
            c && /^#[0-9]+: FILE:/ { print "        " $3; c = 0 }' <<< "$report" | head -n 10
        status=1
    done < <(sed -n 's/^\(WARNING\|CHECK\):[A-Z_]*: /\1 /p' <<< "$report" | sort -u)
    checks_total=$((checks_total + $(grep -c '^CHECK:' <<< "$report" || true)))
done
step "checkpatch --strict done ($checks_total CHECKs)"

# --- configure ------------------------------------------------------------------
if command -v ccache > /dev/null && [ -d /usr/lib/ccache ]; then
    # as debug-kernel.sh: the cache directory's ccache, paths relative to src
    PATH=/usr/lib/ccache:$PATH
    CCACHE_DIR=$cache/ccache CCACHE_BASEDIR=$src CCACHE_NOHASHDIR=true
    export PATH CCACHE_DIR CCACHE_BASEDIR CCACHE_NOHASHDIR
fi
mk=(make -C "$src" O="$out" ARCH=x86_64 CC=gcc-12 HOSTCC=gcc-12
    KBUILD_BUILD_USER=virtio-desk KBUILD_BUILD_HOST=check-patch)
mkdir -p "$out"
{ grep -v '^# CONFIG_DRM_VIRTIO_DESK is not set$' "$dk/config"
  echo "CONFIG_DRM_VIRTIO_DESK=m"; } > "$out/.config"
"${mk[@]}" -s olddefconfig > "$work/config.log" 2>&1 ||
    { cat "$work/config.log"; exit 1; }
grep -qx 'CONFIG_DRM_VIRTIO_DESK=m' "$out/.config" ||
    { echo "    CONFIG_DRM_VIRTIO_DESK=m did not stick:" \
           "$(grep DRM_VIRTIO_DESK "$out/.config" || echo absent)"; exit 1; }
cfgdiff=$(diff <(grep '^CONFIG_' "$dk/config") <(grep '^CONFIG_' "$out/.config" |
          grep -vx 'CONFIG_DRM_VIRTIO_DESK=m') || true)
if [ -n "$cfgdiff" ]; then
    # the debug kernel's Module.symvers would not describe this kernel
    echo "    CONFIG_DRM_VIRTIO_DESK=m changed more of the debug kernel's config:"
    sed 's/^/      /' <<< "$cfgdiff" | head -n 20
    exit 1
fi
step "configured: the debug kernel's config plus CONFIG_DRM_VIRTIO_DESK=m"

# --- build -------------------------------------------------------------------------
# modpost of a single in-tree .ko wants vmlinux.o, which is not kept: with
# KBUILD_MODPOST_WARN its "undefined!" are warnings, and the symbols are
# checked against the debug kernel's Module.symvers below instead.
# The module's outputs go first (ccache makes that cheap): stale ones would
# hide a missing hook, which leaves the directory unvisited.
ko=drivers/gpu/drm/virtio-desk/virtio_desk.ko
rm -rf "${out:?}/$(dirname "$ko")"
if ! nice -n 10 "${mk[@]}" -j"$jobs" KBUILD_MODPOST_WARN=1 "$ko" > "$work/build.log" 2>&1; then
    tail -n 40 "$work/build.log" | sed 's/^/      /'
    echo "    $ko: build failed"
    exit 1
fi
cp "$work/build.log" "$top/build.log"
# compiler and objtool warnings; modpost's, but its unresolved symbols
warnings=$(grep -E -A3 '(warning|error):|^WARNING: modpost: ' "$work/build.log" |
           grep -v -e '^WARNING: modpost: ".*" \[.*\] undefined!$' \
                   -e '^WARNING: modpost: suppressed [0-9]* unresolved symbol warnings' || true)
if grep -qE '(warning|error):|^WARNING: modpost: ' <<< "$warnings"; then
    echo "    $ko: warnings ($top/build.log):"
    head -n 40 <<< "$warnings" | sed 's/^/      /'
    status=1
fi
# (__this_module is the module's own, in the .mod.c)
missing=$(comm -23 <(nm -u "$out/${ko%.ko}.o" | awk '$2 != "__this_module" { print $2 }' | sort -u) \
                   <(awk '{ print $2 }' "$dk/linux/Module.symvers" | sort -u))
if [ -n "$missing" ]; then
    echo "    $ko: needs symbols the kernel does not export:" $missing
    status=1
fi
alias=$(/sbin/modinfo -F alias "$out/$ko" 2>/dev/null || modinfo -F alias "$out/$ko")
grep -qx 'virtio:d0000003Fv\*' <<< "$alias" ||
    { echo "    $ko: no virtio device alias (modinfo: $alias)"; status=1; }
step "built $ko ($(stat -c %s "$out/$ko") bytes), symbols resolved against Module.symvers"

# --- the uapi header --------------------------------------------------------------
if ! "${mk[@]}" -s headers > "$work/headers.log" 2>&1 || grep -q . "$work/headers.log"; then
    sed 's/^/      /' "$work/headers.log" | head -n 20
    echo "    make headers: failed or not silent"
    status=1
fi
h=$out/usr/include/linux/virtio_desk.h
if ! gcc-12 -std=c90 -Wall -Werror -m64 -I "$out/usr/include" -I "$src/usr/dummy-include" \
        -fsyntax-only -x c /dev/null -include "$h" -include "$h" ||
   ! perl "$src/usr/include/headers_check.pl" "$out/usr/include" x86 "$h"; then
    echo "    $h: the uapi header test failed"
    status=1
fi
step "uapi header: installed, compiles alone (-std=c90 -Wall -Werror), headers_check"

# nothing may have written through the hard links into the pristine tree
[ -z "$(find "$pristine" -newer "$pristine/../ok" -print -quit)" ] ||
    { echo "    $pristine was written to (source.sh re-extracts it next time)"; status=1; }
step "done: $([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
