# SPDX-License-Identifier: GPL-2.0
"""The few RFB (VNC) client messages the tests need that gvnccapture does
not send: SetDesktopSize, which QEMU forwards to the display device as a
new preferred mode (GraphicHwOps.ui_info); KeyEvent and PointerEvent, which
QEMU turns into input events; and the LED-state pseudo-encoding, with which
QEMU reports the guest's keyboard LEDs.  RFC 6143 plus the
ExtendedDesktopSize and LED state extensions; Python 3 standard library
only."""

import socket
import struct
import time

ENCODING_EXTENDED_DESKTOP_SIZE = -308
ENCODING_DESKTOP_SIZE = -223
ENCODING_POINTER_TYPE_CHANGE = -257
ENCODING_LED_STATE = -261

# PointerEvent button mask bits as QEMU 10.0's ui/vnc.c maps them (bits 5
# and 6, the horizontal wheel of some clients, are not mapped there).
BUTTON_LEFT, BUTTON_MIDDLE, BUTTON_RIGHT, WHEEL_UP, WHEEL_DOWN = 1, 2, 4, 8, 16

# LED state byte (RFB LED state pseudo-encoding; QEMU_*_LOCK_LED alike)
LED_SCROLL, LED_NUM, LED_CAPS = 1, 2, 4


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise ConnectionError("VNC server closed the connection")
        buf += d
    return buf


def connect(port, host="127.0.0.1", timeout=10, encodings=(ENCODING_EXTENDED_DESKTOP_SIZE,)):
    """Handshake with security type None, SetEncodings; returns (socket, width, height)."""
    s = socket.create_connection((host, port), timeout=timeout)
    # As real viewers do: without it Nagle holds a key event back until the
    # server acknowledges the last request, i.e. until its next update.
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    version = _recv(s, 12)
    if not version.startswith(b"RFB 003."):
        raise ConnectionError("not an RFB server: %r" % version)
    s.sendall(b"RFB 003.008\n")
    types = _recv(s, _recv(s, 1)[0])
    if 1 not in types:
        raise ConnectionError("server wants authentication: %r" % types)
    s.sendall(b"\x01")
    if struct.unpack(">I", _recv(s, 4))[0] != 0:
        raise ConnectionError("security handshake failed")
    s.sendall(b"\x01")  # ClientInit: shared
    w, h = struct.unpack(">HH", _recv(s, 4))
    _recv(s, 16)  # pixel format
    _recv(s, struct.unpack(">I", _recv(s, 4))[0])  # desktop name
    s.sendall(struct.pack(">BBH", 2, 0, len(encodings)) +
              b"".join(struct.pack(">i", e) for e in encodings))
    return s, w, h


def set_desktop_size(port, width, height):
    """Ask the VNC server for a new desktop size, as a client window resize does."""
    s, _, _ = connect(port)
    try:
        screen = struct.pack(">IHHHHI", 0, 0, 0, width, height, 0)
        s.sendall(struct.pack(">BBHHBB", 251, 0, width, height, 1, 0) + screen)
        # A FramebufferUpdateRequest makes sure the server read the message
        # above before this client goes away.
        s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, 1, 1))
        _recv(s, 1)
    finally:
        s.close()


class Client:
    """A connection that sends input and reads LED state and desktop sizes.
    Never asks for pixels, so the server sends only pseudo-encodings."""

    def __init__(self, port, leds=False, timeout=20):
        enc = [ENCODING_DESKTOP_SIZE] + ([ENCODING_LED_STATE] if leds else [])
        self.s, self.width, self.height = connect(port, timeout=timeout, encodings=enc)
        self.leds = None

    def close(self):
        self.s.close()

    def key(self, keysym, down):
        """KeyEvent: X11 keysym, as a viewer sends for a key."""
        self.s.sendall(struct.pack(">BBHI", 4, 1 if down else 0, 0, keysym))

    def pointer(self, mask, x, y):
        """PointerEvent: button mask and position in the framebuffer."""
        self.s.sendall(struct.pack(">BBHH", 5, mask, x, y))

    def read_message(self):
        """Read one server message; remember LED state and desktop size.
        Returns the list of (encoding, x, y, w, h) of a FramebufferUpdate."""
        typ = _recv(self.s, 1)[0]
        if typ == 0:
            _, n = struct.unpack(">BH", _recv(self.s, 3))
            rects = []
            for _ in range(n):
                x, y, w, h, enc = struct.unpack(">HHHHi", _recv(self.s, 12))
                if enc == ENCODING_LED_STATE:
                    self.leds = _recv(self.s, 1)[0]
                elif enc == ENCODING_DESKTOP_SIZE:
                    self.width, self.height = w, h
                elif enc == ENCODING_POINTER_TYPE_CHANGE:
                    pass
                else:
                    raise ConnectionError("unexpected encoding %d" % enc)
                rects.append((enc, x, y, w, h))
            return rects
        if typ == 2:  # Bell
            return []
        if typ == 3:  # ServerCutText
            _recv(self.s, 3)
            _recv(self.s, struct.unpack(">I", _recv(self.s, 4))[0])
            return []
        raise ConnectionError("unexpected server message %d" % typ)

    def wait_leds(self, want, timeout=20):
        """Read messages until the LED state is want; returns the states seen."""
        seen = []
        end = time.time() + timeout
        while self.leds != want:
            left = end - time.time()
            if left <= 0:
                raise TimeoutError("VNC LED state %s, expected %s (seen %s)" % (self.leds, want, seen))
            self.s.settimeout(left)
            try:
                rects = self.read_message()
            except socket.timeout:
                continue
            if any(r[0] == ENCODING_LED_STATE for r in rects):
                seen.append(self.leds)
        return seen
