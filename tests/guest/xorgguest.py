# SPDX-License-Identifier: GPL-2.0
"""A guest that runs Xorg: the bookworm root of xorg-root.sh (the Weston
root plus xserver-xorg-core, xserver-xorg-input-libinput, x11-apps (x11perf,
xwd), x11-xserver-utils (xrandr, xsetroot), x11-utils, xterm) booted like
westonguest.py's: Debian's 6.12 kernel, the same initramfs (it does not
depend on the root), the image on a read-only AHCI ide-cd under a tmpfs
overlay, the serial shell loop.

Xorg is started directly, as root, the way issue 24 asks:
`Xorg :0 vt1 -noreset -nolisten tcp` with an xorg.conf.d snippet that forces
the modesetting driver with `AccelMethod none` (no glamor: there is no GL
in a VM without a 3D device), so it renders with pixman into its shadow
framebuffer and sends DRM_IOCTL_MODE_DIRTYFB with its damage.

    python3 xorgguest.py [-d DEVICE] LINE...   boot, start X, run each line (DISPLAY=:0), print the output

Python 3 standard library only.
"""

import base64
import contextlib
import gzip
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import rig
import westonguest

HERE = Path(__file__).resolve().parent

XORG_CONF = """\
Section "ServerFlags"
	Option "BlankTime" "0"
	Option "StandbyTime" "0"
	Option "SuspendTime" "0"
	Option "OffTime" "0"
EndSection
Section "Device"
	Identifier "display"
	Driver "modesetting"
	Option "AccelMethod" "none"
EndSection
"""

XORG_CMD = "Xorg :0 vt1 -noreset -nolisten tcp"


def root_image():
    out = rig.run(["sh", str(HERE / "xorg-root.sh")], stdout=subprocess.PIPE, text=True).stdout
    return Path(out.strip().splitlines()[-1])


@contextlib.contextmanager
def _root(fn):
    """westonguest.build() with another root image: its initramfs does not
    depend on the root, and build() takes the image from root_image()."""
    saved = westonguest.root_image
    westonguest.root_image = fn
    try:
        yield
    finally:
        westonguest.root_image = saved


def build():
    """Returns (kernel, initrd, root image)."""
    with _root(root_image):
        return westonguest.build()


class XorgGuest(westonguest.WestonGuest):

    def start_x(self, timeout=180):
        """Write the config, start Xorg in the background (log in
        /var/log/Xorg.0.log, its output in /tmp/xorg.out), wait until a client
        can connect; DISPLAY=:0 for the lines after.  (status, output)."""
        conf = XORG_CONF.replace("\t", "\\t").replace("\n", "\\n").replace('"', '\\"')
        line = ('mkdir -p /etc/X11/xorg.conf.d && printf "%s" > /etc/X11/xorg.conf.d/10-vdesk.conf; '
                "export DISPLAY=:0; (%s </dev/null >/tmp/xorg.out 2>&1 &); "
                "for i in $(seq %d); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.2; done; "
                "xdpyinfo >/dev/null 2>&1 || { tail -30 /var/log/Xorg.0.log; cat /tmp/xorg.out; false; }"
                % (conf, XORG_CMD, timeout * 5))
        return self.sh(line, timeout + 30)

    def xorg_log(self):
        return self.sh("cat /var/log/Xorg.0.log", 60)[1]

    def fetch(self, path, timeout=300):
        """The bytes of a guest file, gzip'ed and base64'ed over the serial line."""
        rc, out = self.sh("echo @@B64; gzip -1c %s | base64 -w 0; echo; echo B64@@" % path, timeout)
        m = re.search(r"@@B64\s*(\S*)\s*B64@@", out)
        if rc or not m:
            raise RuntimeError("cannot read %s from the guest: %s" % (path, out[-500:]))
        return gzip.decompress(base64.b64decode(m.group(1)))

    def xwd_root(self, name=None, timeout=300):
        """`xwd -root`: what X holds in its root window (the framebuffer
        without the hardware cursor), as a rig.Image."""
        rc, out = self.sh("xwd -root -silent > /tmp/shot.xwd", timeout)
        if rc:
            raise RuntimeError("xwd failed: " + out[-500:])
        data = self.fetch("/tmp/shot.xwd", timeout)
        if name:
            (self.dir / (name + ".xwd")).write_bytes(data)
        return read_xwd(data)


def read_xwd(data):
    """An XWD file (X11 window dump, version 7) of a TrueColor 24/32-bit
    visual as a rig.Image (RGB)."""
    hdr = struct.unpack(">25I", data[:100])
    (hsize, version, fmt, depth, w, h, _xoff, order, _unit, _bitorder, _pad, bpp, bpl, vclass,
     rmask, gmask, bmask, _bprgb, ncolors, _nentries) = hdr[:20]
    assert version == 7 and fmt == 2 and bpp == 32, (version, fmt, bpp)
    start = hsize + ncolors * 12
    rows = []
    # byte_order 0: LSBFirst, 1: MSBFirst
    endian = "<" if order == 0 else ">"
    shifts = [(m, (m & -m).bit_length() - 1) for m in (rmask, gmask, bmask)]
    for y in range(h):
        row = data[start + y * bpl:start + y * bpl + w * 4]
        px = struct.unpack("%s%dI" % (endian, w), row)
        out = bytearray(w * 3)
        for i, (m, s) in enumerate(shifts):
            out[i::3] = bytes(((p & m) >> s) & 255 for p in px)
        rows.append(bytes(out))
    return rig.Image(w, h, b"".join(rows))


def main(argv):
    device = "virtio-desk-pci"
    if argv[:1] == ["-d"]:
        device, argv = argv[1], argv[2:]
    kernel, initrd, img = build()
    g = XorgGuest("xorg-exec", kernel, initrd, img, device, trace=os.environ.get("RIG_TRACE") == "1")
    try:
        t = time.time()
        g.boot()
        rig.log("booted in %.1f s" % (time.time() - t))
        rc, out = g.start_x()
        print(out, end="")
        if rc:
            return rc
        for line in argv:
            r, out = g.sh(line, timeout=600)
            print(out, end="")
            rc = rc or r
        return rc
    finally:
        g.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
