# SPDX-License-Identifier: GPL-2.0
"""The few RFB (VNC) client messages the tests need that gvnccapture does
not send: SetDesktopSize, which QEMU forwards to the display device as a
new preferred mode (GraphicHwOps.ui_info); KeyEvent and PointerEvent, which
QEMU turns into input events; and the LED-state pseudo-encoding, with which
QEMU reports the guest's keyboard LEDs; the cursor pseudo-encodings
(AlphaCursor, RichCursor), with which QEMU sends the guest's hardware
cursor as a client-side cursor.  RFC 6143 plus the ExtendedDesktopSize, LED
state and AlphaCursor extensions; Python 3 standard library only."""

import socket
import struct
import time

ENCODING_EXTENDED_DESKTOP_SIZE = -308
ENCODING_DESKTOP_SIZE = -223
ENCODING_POINTER_TYPE_CHANGE = -257
ENCODING_LED_STATE = -261
ENCODING_RICH_CURSOR = -239
ENCODING_ALPHA_CURSOR = -314
ENCODING_RAW = 0

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


class Cursor:
    """A client-side cursor as the server sent it: hotspot, size and
    0xAARRGGBB pixels, row by row (RichCursor: alpha 0 or 0xff from its mask)."""

    def __init__(self, encoding, hot_x, hot_y, width, height, argb):
        self.encoding = encoding
        self.hot_x, self.hot_y, self.width, self.height = hot_x, hot_y, width, height
        self.argb = argb


class Client:
    """A connection that sends input and reads LED state, desktop sizes and,
    with cursor=True, the cursor (AlphaCursor, else RichCursor).  Asks for
    pixels only with update_request(), as Raw with the server's default
    pixel format (32 bpp, QEMU's: little-endian x:R:G:B); with pixels=True
    it keeps them, as a viewer's window does (rgb())."""

    def __init__(self, port, leds=False, cursor=False, timeout=20, pixels=False):
        enc = [ENCODING_RAW, ENCODING_DESKTOP_SIZE] + ([ENCODING_LED_STATE] if leds else [])
        if cursor:
            enc += [ENCODING_ALPHA_CURSOR, ENCODING_RICH_CURSOR]
        self.s, self.width, self.height = connect(port, timeout=timeout, encodings=enc)
        self.leds = None
        self.cursor = None
        self.fb = bytearray(self.width * self.height * 4) if pixels else None

    def update_request(self, incremental=True):
        """FramebufferUpdateRequest of the whole desktop."""
        self.s.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, self.width, self.height))

    def _read_cursor(self, enc, x, y, w, h):
        if enc == ENCODING_ALPHA_CURSOR:
            if struct.unpack(">i", _recv(self.s, 4))[0] != ENCODING_RAW:
                raise ConnectionError("AlphaCursor not in Raw")
            argb = list(struct.unpack("<%dI" % (w * h), _recv(self.s, w * h * 4)))
        else:
            pixels = struct.unpack("<%dI" % (w * h), _recv(self.s, w * h * 4))
            bpl = (w + 7) // 8
            mask = _recv(self.s, bpl * h)
            argb = [(0xff000000 if mask[(i // w) * bpl + (i % w) // 8] & (0x80 >> (i % 8)) else 0) |
                    (p & 0xffffff) for i, p in enumerate(pixels)]
        self.cursor = Cursor(enc, x, y, w, h, argb)

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
                    if self.fb is not None:
                        self.fb = bytearray(w * h * 4)
                elif enc == ENCODING_POINTER_TYPE_CHANGE:
                    pass
                elif enc in (ENCODING_ALPHA_CURSOR, ENCODING_RICH_CURSOR):
                    self._read_cursor(enc, x, y, w, h)
                elif enc == ENCODING_RAW:
                    data = _recv(self.s, w * h * 4)
                    if self.fb is not None:
                        for row in range(h):
                            at = ((y + row) * self.width + x) * 4
                            self.fb[at:at + w * 4] = data[row * w * 4:(row + 1) * w * 4]
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

    def rgb(self):
        """The pixels kept (pixels=True), 3 bytes each, R G B."""
        out = bytearray(self.width * self.height * 3)
        out[0::3] = self.fb[2::4]
        out[1::3] = self.fb[1::4]
        out[2::3] = self.fb[0::4]
        return bytes(out)

    def wait_cursor(self, timeout=30):
        """Read messages up to the next cursor; returns it and the list of
        framebuffer rects (encoding, x, y, w, h) that came before it."""
        before = []
        end = time.time() + timeout
        self.cursor = None
        while self.cursor is None:
            left = end - time.time()
            if left <= 0:
                raise TimeoutError("no cursor from the VNC server in %d s" % timeout)
            self.s.settimeout(left)
            try:
                rects = self.read_message()
            except socket.timeout:
                continue
            before += [r for r in rects if r[0] not in (ENCODING_ALPHA_CURSOR, ENCODING_RICH_CURSOR)]
        return self.cursor, before

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
