#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Guest tests for virtio_desk.ko: boots Debian's 6.12 kernel under our QEMU
with -device virtio-desk-pci (and once with virtio-gpu-pci for the
differential checks) and asserts the pixels real VNC and SPICE clients and
QMP screendump receive, and the input events the guest reads from
/dev/input for what QMP and a VNC client send (and the LED state a VNC
client gets back).

The tests are in files by subject (display_tests.py, flip_tests.py, ...);
GUESTS below says which guest runs which files.  harness.py holds what they
share (selection, results, Staged, sh_ok, ...).

Prints "N passed, N failed" last; exits non-zero on any failure.
Select tests with: run_tests.py [-k SUBSTRING]...  (a guest boots only if
one of its tests is selected); run_tests.py --list [-k SUBSTRING]... prints
"GUEST TEST" for each selected test without building or booting anything.
"""

import signal
import sys
import time
import traceback

import cursortests
import device_tests
import diskguest
import display_tests
import flip_tests
import harness
import input_tests
import lifecycle_tests
import output_tests
import rig
import smp_tests
import watch_tests
import xorg_tests

# bench/desktop.py imports these from here
from flip_tests import expected_flipclip, result_line
from harness import debugfs_knob

__all__ = ["GUESTS", "main", "expected_flipclip", "result_line", "debugfs_knob"]


class Booted:
    """A guest this file boots: name, kernel/root ("busybox": rig.build_all's
    kernel and initramfs; "weston": westonguest.build()'s root), -device,
    the rest of its rig.Guest arguments, and the test files whose
    TESTS[name] it runs, in order.  around: a context manager giving extra
    QEMU arguments for the guest's lifetime."""

    def __init__(self, name, root, device, kw, *files, around=None):
        self.name, self.root, self.device, self.kw, self.files, self.around = name, root, device, kw, files, around

    def tests(self):
        return [t for f in self.files for t in f.TESTS.get(self.name, [])]

    def guests(self):
        return {self.name: [n for n, _ in self.tests()]}


class Own:
    """A test file that boots its guests itself (its GUESTS: name -> tests)."""

    def __init__(self, module):
        self.module = module

    def guests(self):
        return self.module.GUESTS


# the desk guest also traces what the framebuffer-lifetime checks read (device_view)
DESK_TRACE = ["-trace", "virtio_desk_resource_create", "-trace", "virtio_desk_resource_destroy",
              "-trace", "virtio_desk_cmd_error", "-trace", "virtio_desk_cursor_*"]

# Which guest runs which test files, in the order they run.
GUESTS = [
    # guest       kernel/root -device and command line
    Booted("desk", "busybox", "virtio-desk-pci", dict(trace=True, extra=DESK_TRACE),
           display_tests, flip_tests, output_tests, cursortests, device_tests),
    Booted("input", "busybox", "virtio-desk-pci", dict(extra=["-trace", "virtio_desk_input_status"]),
           input_tests),
    # device errors (kernel messages on fbcon too, QEMU's guest-error log; ends with a poweroff)
    Booted("hostmem", "busybox", "virtio-desk-pci,max_hostmem=8M,max_outputs=2,input=off",
           dict(append="console=tty0", extra=["-d", "guest_errors"]),
           output_tests, input_tests, device_tests),
    # two outputs placed by a D-Bus display client, a VNC server per head
    Booted("multihead", "busybox", "virtio-desk-pci,max_outputs=2", {}, output_tests,
           around=output_tests.multihead_guest),
    # Debian's userland (weston-root.sh): libdrm's modetest -C, then Weston
    Booted("weston", "weston", "virtio-desk-pci,xres=1024,yres=768",
           dict(trace=True, extra=["-trace", "virtio_desk_cursor_*"]), cursortests, output_tests),
    Own(lifecycle_tests),   # suspend and hibernation, live migration, reboots
    Own(smp_tests),         # several vCPUs (the debug kernel), a stalled QEMU, bounce buffers, a rejected transfer
    Own(watch_tests),       # VNC only, nobody watching (VIRTIO_DESK_F_WATCH)
    Own(xorg_tests),        # Xorg's modesetting driver in the Debian root of xorg-root.sh
    Booted("gpu", "busybox", "virtio-gpu-pci", {}, display_tests),   # the differential checks
    Own(diskguest),         # the Debian disk from power-on, on virtio-desk-vga and virtio-vga
]


def plan():
    """[(guest, [selected tests])] for the guests with a selected test."""
    out = []
    for row in GUESTS:
        for guest, names in row.guests().items():
            names = [n for n in names if harness.selected(n)]
            if names:
                out.append((guest, names))
    return out


def run_booted(row, roots):
    if not harness.any_selected(n for n, _ in row.tests()):
        return
    kw = dict(row.kw)
    if row.root == "weston":
        import westonguest
        if "weston" not in roots:
            roots["weston"] = westonguest.build()
        kernel, initrd, img = roots["weston"]
        kw.update(guest=westonguest.WestonGuest, img=img)
    else:
        kernel, initrd = roots["busybox"]
    if row.around:
        with row.around() as extra:
            kw["extra"] = list(kw.get("extra", [])) + extra
            run_tests_on(row, kernel, initrd, kw)
    else:
        run_tests_on(row, kernel, initrd, kw)


def run_tests_on(row, kernel, initrd, kw):
    with harness.booted(row.name, kernel, initrd, row.device, **kw) as g:
        for name, fn in row.tests():
            harness.check(name, fn, g)


def main(argv):
    harness.set_select(argv)
    if "--list" in argv:
        for guest, names in plan():
            for n in names:
                print(guest, n)
        return 0
    t0 = time.time()
    try:
        kernel, initrd = rig.build_all(dkms=harness.selected(device_tests.DKMS))
    except Exception:
        traceback.print_exc()
        print("0 passed, 1 failed")
        return 1
    if not rig.QEMU.exists():
        print("QEMU not found at %s (set $QEMU)" % rig.QEMU)
        print("0 passed, 1 failed")
        return 1

    roots = {"busybox": (kernel, initrd)}
    for row in GUESTS:
        if isinstance(row, Own):
            if harness.any_selected(n for names in row.guests().values() for n in names):
                row.module.run(kernel, initrd)
        else:
            run_booted(row, roots)

    results = harness.RESULTS
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print("guest tests took %.0f s; logs in %s" % (time.time() - t0, rig.OUT))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not results else 0


if __name__ == "__main__":
    # SIGTERM (timeout, CI) unwinds like Ctrl-C, so guests are stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main(sys.argv[1:]))
