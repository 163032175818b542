# SPDX-License-Identifier: GPL-2.0
"""The few RFB (VNC) client messages the tests need that gvnccapture does
not send: SetDesktopSize, which QEMU forwards to the display device as a
new preferred mode (GraphicHwOps.ui_info).  RFC 6143 plus the
ExtendedDesktopSize extension; Python 3 standard library only."""

import socket
import struct

ENCODING_EXTENDED_DESKTOP_SIZE = -308


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise ConnectionError("VNC server closed the connection")
        buf += d
    return buf


def connect(port, host="127.0.0.1", timeout=10):
    """Handshake with security type None; returns (socket, width, height)."""
    s = socket.create_connection((host, port), timeout=timeout)
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
    s.sendall(struct.pack(">BBHi", 2, 0, 1, ENCODING_EXTENDED_DESKTOP_SIZE))
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
