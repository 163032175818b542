# SPDX-License-Identifier: GPL-2.0
"""Guest tests of the device's life under the driver: rmmod/modprobe and
unbind/bind, the DKMS-built module, function level resets during an
animation and during flips (the driver initialises the device again by
itself), hot unplug and replug, host memory exhausted and errors the
device answers, poweroff while fbcon draws."""

import re
import time

import rig
from flip_tests import expected_flipclip
from harness import (Staged, all_clients, debugfs_knob, dmesg, driver_errors, no_oops_no_failures,
                     no_stuck_tasks, pattern_exact, sh_ok)
from input_tests import KBD, PTR, input_devices, key_arrives


def test_reload(g):
    """rmmod/modprobe 20 times; the display still works afterwards."""
    sh_ok(g, "for i in $(seq 20); do rmmod virtio_desk || exit 1; modprobe virtio_desk || exit 1; "
             "[ -e /dev/dri/card0 ] || exit 2; done; lsmod | grep virtio_desk", timeout=600)
    # driver unbind/bind through sysfs as well
    sh_ok(g, "d=$(basename $(readlink /sys/bus/virtio/drivers/virtio_desk/virtio*)); for i in 1 2 3; do "
             "echo $d > /sys/bus/virtio/drivers/virtio_desk/unbind || exit 1; [ ! -e /dev/dri/card0 ] || exit 2; "
             "echo $d > /sys/bus/virtio/drivers/virtio_desk/bind || exit 3; [ -e /dev/dri/card0 ] || exit 4; done")
    out = sh_ok(g, "kmstest info")
    assert "1024x768" in out, out
    pattern_exact(g, {"base": ("screendump", "reload"), "clips": ("vnc", "reload-clips")})


def test_hot_unplug(g):
    """device_del while a KMS client animates: removal completes, no oops;
    device_add of a new one: the driver binds and the display works."""
    sh_ok(g, "kmstest anim 1024 768 60 >/tmp/anim.log 2>&1 & sleep 2")
    g.qmp_cmd("device_del", id="disp")
    ev = g.wait_event("DEVICE_DELETED", 60)
    assert ev is not None, "no DEVICE_DELETED event"
    time.sleep(1)
    out = sh_ok(g, "sleep 1; ls /dev/dri 2>&1; cat /tmp/anim.log; ls /sys/bus/virtio/devices | wc -l")
    assert "card0" not in out, "card0 still there: " + out
    names, out = input_devices(g)
    assert names == [], "input devices left after device_del: " + out
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])
    # plug a new one in: the loaded driver binds to it and it works
    g.qmp_cmd("device_add", driver="virtio-desk-pci", id="disp2", bus="rp1")
    end = time.time() + 60
    while time.time() < end:
        rc, out = g.sh("[ -e /dev/dri/card0 ] && kmstest info")
        if rc == 0:
            break
        time.sleep(1)
    assert rc == 0, "no card after device_add: " + out
    names, out = input_devices(g)
    assert sorted(names) == [KBD, PTR], "input devices after device_add: " + out
    key_arrives(g)
    pattern_exact(g, {"clips": ("all", "replug-clips")})
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def recovered_by_itself(g):
    """The driver initialised the reset device again on its own (vdesk_pm.c):
    both of its messages are logged, once, and no error but the one that
    noticed the reset."""
    sh_ok(g, "for i in $(seq 60); do dmesg | grep -q 'device initialised again' && break; sleep 0.5; done",
          timeout=120)
    out = dmesg(g, "virtio_desk")
    assert out.count("device was reset: initialising it again") == 1 and \
        out.count("device initialised again, display restored") == 1, "no recovery logged: " + out


def test_hostmem_exhausted(g):
    """A framebuffer does not fit in max_hostmem: the driver refuses it
    (logged), the modeset fails cleanly, and the display keeps working."""
    rc, out = g.sh("kmstest pattern 1920 1080 strict </dev/null")
    assert rc != 0, "1920x1080 should not fit in 8 MiB of host memory: " + out
    out = sh_ok(g, "dmesg | grep virtio_desk | tail -n 5")
    assert "no host memory for a 1920x1080 framebuffer" in out, "error not logged: " + out
    pattern_exact(g, {"base": ("all", "hostmem-base"), "clips": ("all", "hostmem-clips")})
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def test_device_errors(g):
    """The device really answers errors: with debugfs check_limits=N the driver asks
    for 1920x1080 framebuffers beyond max_hostmem itself; the device answers
    RESOURCE_CREATE with OUT_OF_MEMORY (QEMU logs the guest error), the
    driver logs each answer, the commit fails with ENOMEM, and the driver
    keeps working: the display is exact again, nothing oopses or hangs."""
    knob = debugfs_knob("check_limits")
    mark = g.log_mark()
    sh_ok(g, "dmesg -c >/dev/null; echo N > " + knob)
    try:
        for i in range(3):
            rc, out = g.sh("kmstest pattern 1920 1080 strict </dev/null")
            assert rc != 0 and "Cannot allocate memory" in out, \
                "attempt %d: the commit should fail with ENOMEM: %s" % (i, out)
    finally:
        sh_ok(g, "echo Y > " + knob)
    out = dmesg(g, "virtio_desk")
    n = out.count("command 0x101 failed: 0x1201 (OUT_OF_MEMORY)")
    assert n == 3, "expected 3 logged OUT_OF_MEMORY answers to RESOURCE_CREATE, got %d: %s" % (n, out)
    assert "no host memory" not in out, "the driver refused by itself: " + out
    qlog = g.log_since(mark)
    n = len(re.findall(r"virtio-desk: \S+: resource \d+ format 0x34325258 1920x1080: max_hostmem exceeded", qlog))
    assert n == 3, "QEMU answered %d of 3 RESOURCE_CREATE with max_hostmem exceeded: %s" % (n, qlog[-1500:])
    pattern_exact(g, {"base": ("all", "deverr-base"), "clips": ("all", "deverr-clips"),
                      "partial": ("screendump", "deverr-partial")})
    out = dmesg(g, "virtio_desk")
    assert out.count("ERROR") == 3, "more driver errors: " + out
    no_stuck_tasks(g)


def test_poweroff(g):
    """poweroff -f while fbcon draws (kernel messages on tty0, a writer on
    tty1): device_shutdown stops the control queue before the last console
    updates; the driver does not log them as errors ("cannot queue command
    0x104: -5" before), nothing oopses, QEMU exits."""
    with g.lock:
        start = len(g.buf)
    g.send("(while :; do echo powering off; done > /dev/tty1 &); sleep 1; poweroff -f")
    try:
        g.proc.wait(90)
    except Exception:  # noqa: BLE001
        raise AssertionError("QEMU did not exit after poweroff -f")
    time.sleep(1)  # the serial reader drains
    with g.lock:
        tail = g.buf[start:].decode(errors="replace")
    assert "reboot: Power down" in tail, "no power down in the log: " + tail[-1500:]
    errs = [l for l in tail.splitlines() if "virtio_desk" in l or "virtio-desk" in l]
    assert not errs, "driver messages at poweroff: " + " | ".join(errs[:10])
    oops = g.oopses()
    assert not oops, "guest log: " + " | ".join(oops[:10])


def test_pci_reset(g):
    """A function level reset (sysfs reset) while a KMS client animates: the
    device forgets its queues and resources behind the driver's back.  The
    driver logs it once (a request that is never answered), initialises the
    device again by itself (no unbind/bind), the client finishes, no task
    stays blocked (hung-task detector at 20 s, no D state), no oops; the
    next client's picture is exact on all three clients and keys arrive."""
    out = sh_ok(g, "basename $(readlink -f /sys/bus/virtio/devices/virtio*/..)")
    pci = re.findall(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", out)[-1]
    sh_ok(g, "echo 20 > /proc/sys/kernel/hung_task_timeout_secs; dmesg -c >/dev/null")
    sh_ok(g, "kmstest anim 1024 768 16 >/tmp/anim.log 2>&1 & sleep 3")
    out = sh_ok(g, "cat /sys/bus/pci/devices/%s/reset_method; echo 1 > /sys/bus/pci/devices/%s/reset" % (pci, pci))
    assert "flr" in out, "no FLR: " + out
    sh_ok(g, "for i in $(seq 60); do dmesg | grep -q 'does not answer' && break; sleep 1; done", timeout=180)
    out = dmesg(g, "virtio_desk")
    lines = [l for l in out.splitlines() if "ERROR" in l]
    assert len(lines) == 1 and "device does not answer command 0x104 (it was reset), giving up on it" in lines[0], \
        "expected one logged error: " + out
    out = sh_ok(g, "wait $!; cat /tmp/anim.log", timeout=180)
    assert re.search(r"anim: \d+ frames", out), "the KMS client did not finish: " + out
    no_stuck_tasks(g)
    recovered_by_itself(g)
    pattern_exact(g, {"clips": ("all", "reset-clips")})
    key_arrives(g)
    no_stuck_tasks(g)


def test_dkms(g):
    """guest-driver/dkms.conf: `dkms add` and `dkms build -k <release>
    --kernelsourcedir <the extracted headers>` (rig.build_dkms) built a
    module whose vermagic is the kernel's; it loads in place of the
    make-built one, binds, and shows the pattern exactly."""
    assert rig.DKMS.get("ko"), "no DKMS build: %s" % rig.DKMS.get("error")
    ko = rig.DKMS_KO
    out = sh_ok(g, "echo REL $(uname -r); echo VM $(modinfo -F vermagic %s); echo KVM $(modinfo -F vermagic drm)" % ko)
    f = dict(re.findall(r"^(REL|VM|KVM) (.*?)\s*$", out, re.M))
    assert f.get("VM") and f["VM"] == f.get("KVM") and f["VM"].split()[0] == f.get("REL"), \
        "vermagic of the DKMS module vs the kernel: " + out
    try:
        # the make-built module is gone, so what is loaded is the DKMS one
        out = sh_ok(g, "rmmod virtio_desk && [ ! -e /sys/module/virtio_desk ] && insmod %s && "
                       "for i in $(seq 50); do [ -e /dev/dri/card0 ] && break; sleep 0.2; done; "
                       "ls /dev/dri /sys/bus/virtio/drivers/virtio_desk" % ko)
        assert "card0" in out and "virtio0" in out, "DKMS module not bound: " + out
        pattern_exact(g, {"base": ("screendump", "dkms-base"), "clips": ("vnc", "dkms-clips")})
    finally:
        Staged.recover()
        sh_ok(g, "rmmod virtio_desk; modprobe virtio_desk && [ -e /dev/dri/card0 ]")


def test_pci_reset_during_flips(g):
    """A function level reset while a client flips with damage clips as fast
    as it can: the client can be killed (no task blocked in the driver),
    no oops, nothing in the guest log that hints at freed memory in use
    (BUG, WARNING, refcount, list corruption, GPF); the driver initialises
    the device again by itself and the next client's picture is exact."""
    out = sh_ok(g, "basename $(readlink -f /sys/bus/virtio/devices/virtio*/..)")
    pci = re.findall(r"[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]", out)[-1]
    sh_ok(g, "echo 20 > /proc/sys/kernel/hung_task_timeout_secs; dmesg -c >/dev/null")
    sh_ok(g, "kmstest flipclip 1024 768 1000000 >/tmp/fr.log 2>&1 & echo $! >/tmp/fr.pid; sleep 2")
    sh_ok(g, "echo 1 > /sys/bus/pci/devices/%s/reset" % pci)
    # until the driver notices (it waits VDESK_TIMEOUT_MS for an answer), then 1 s more of flips
    sh_ok(g, "for i in $(seq 20); do dmesg | grep -q virtio_desk && break; sleep 1; done; sleep 1", timeout=120)
    out = sh_ok(g, "p=$(cat /tmp/fr.pid); kill -0 $p 2>/dev/null && echo RUNNING; kill -9 $p 2>/dev/null; "
                   "for i in $(seq 20); do kill -0 $p 2>/dev/null || break; sleep 0.5; done; "
                   "kill -0 $p 2>/dev/null && echo STILL $(cat /proc/$p/wchan); wait $p; cat /tmp/fr.log", timeout=120)
    print("  flip client after the reset: %s; driver: %s" % (
        "still flipping" if "RUNNING" in out else "had ended: " + out.strip()[-300:],
        " | ".join(dmesg(g, "virtio_desk").splitlines()[:5])), flush=True)
    assert "STILL" not in out, "the flip client does not die: " + out
    no_stuck_tasks(g)
    errs = driver_errors(g)
    gave_up = [l for l in errs if re.search(r"device does not answer command 0x[0-9a-f]+ \(it was reset\), "
                                              r"giving up on it", l)]
    assert len(gave_up) == 1 and len(errs) == 1, \
        "expected one logged error, the driver giving up on the reset device: " + " | ".join(errs[:10])
    recovered_by_itself(g)
    st = Staged(g, "kmstest flipclip 1024 768 30 stage")
    st.stage("modeset")
    st.next()
    st.stage("flips")
    all_clients(g, "reset-flips-30", expected_flipclip(1024, 768, 30))
    st.finish()
    no_stuck_tasks(g)


DKMS = "dkms_build_loads_in_guest"
TESTS = {
    "desk": [
        ("reload_20_times", test_reload),
        ("no_oops_no_device_errors", no_oops_no_failures),
        (DKMS, test_dkms),
        ("pci_reset_during_animation", test_pci_reset),
        ("pci_reset_during_flips", test_pci_reset_during_flips),
        ("hot_unplug_device_del_and_replug", test_hot_unplug),
    ],
    "hostmem": [
        ("hostmem_exhausted_error_path", test_hostmem_exhausted),
        ("device_answers_errors_driver_recovers", test_device_errors),
        ("poweroff_no_driver_errors", test_poweroff),
    ],
}
