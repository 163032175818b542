# SPDX-License-Identifier: GPL-2.0-or-later
"""A VNC client that reads updates as a viewer does, for the benchmark rows
"with a VNC client connected": after one full update it keeps one
incremental FramebufferUpdateRequest of the whole screen outstanding and
reads every update (Raw encoding, 32 bits per pixel, so the server does no
compression work and the client no decoding).  Python 3 standard library."""

import socket
import struct
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests/guest"))
import rfb  # noqa: E402

RAW = 0
# SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 8 bits each, shifts 16 8 0
SET_PIXEL_FORMAT_32 = struct.pack(">BxxxBBBBHHHBBBxxx", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)


def recv_exact(reader, n):
    """n bytes from reader.s (a socket with a timeout); EOFError once
    reader.stop is set, so a reader thread can be told to end."""
    buf = bytearray()
    while len(buf) < n:
        try:
            d = reader.s.recv(min(n - len(buf), 1 << 20))
        except socket.timeout:
            if reader.stop:
                raise EOFError
            continue
        if not d:
            raise ConnectionError("VNC server closed the connection")
        buf += d
    return bytes(buf)


class Reader:
    def __init__(self, port):
        self.s, self.w, self.h = rfb.connect(port, encodings=(RAW, rfb.ENCODING_DESKTOP_SIZE))
        self.s.sendall(SET_PIXEL_FORMAT_32)
        self.updates = 0
        self.rects = 0
        self.bytes = 0
        self.error = None
        self.stop = False
        self.lock = threading.Lock()
        self.th = threading.Thread(target=self._run, daemon=True)
        self.s.settimeout(1.0)
        self.th.start()

    def _request(self, incremental):
        self.s.sendall(struct.pack(">BBHHHH", 3, incremental, 0, 0, self.w, self.h))

    def _recv(self, n):
        return recv_exact(self, n)

    def _run(self):
        try:
            self._request(0)
            while not self.stop:
                typ = self._recv(1)[0]
                if typ == 0:
                    _, n = struct.unpack(">BH", self._recv(3))
                    nbytes = 0
                    full = False
                    for _ in range(n):
                        x, y, w, h, enc = struct.unpack(">HHHHi", self._recv(12))
                        if enc == RAW:
                            self._recv(w * h * 4)
                            nbytes += w * h * 4
                        elif enc == rfb.ENCODING_DESKTOP_SIZE:
                            self.w, self.h = w, h
                            full = True
                        else:
                            raise ConnectionError("unexpected encoding %d" % enc)
                    with self.lock:
                        self.updates += 1
                        self.rects += n
                        self.bytes += nbytes
                    self._request(0 if full else 1)
                elif typ == 2:
                    pass
                elif typ == 3:
                    self._recv(3)
                    self._recv(struct.unpack(">I", self._recv(4))[0])
                else:
                    raise ConnectionError("unexpected server message %d" % typ)
        except EOFError:
            pass
        except Exception as e:  # noqa: BLE001  reported by the bench
            self.error = str(e)

    def counts(self):
        with self.lock:
            return self.updates, self.rects, self.bytes

    def close(self):
        self.stop = True
        self.th.join(5)
        self.s.close()


if __name__ == "__main__":
    r = Reader(int(sys.argv[1]))
    t = time.time()
    time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 5)
    u, n, b = r.counts()
    r.close()
    print("updates %d rects %d bytes %d in %.1f s %s" % (u, n, b, time.time() - t, r.error or ""))
