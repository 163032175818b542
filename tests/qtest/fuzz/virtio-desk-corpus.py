#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Write seed inputs for the virtio-desk-fuzz target: valid request streams
in its record format (see virtio_desk_fuzz.c), so that the fuzzer starts
from requests the device accepts and mutates from there.

usage: virtio-desk-corpus.py OUTDIR
"""

import os
import struct
import sys

CONTROL, EVENT, STATUS, INJECT, CURSOR, PULL = 0, 1, 2, 3, 4, 5
XRGB8888 = 0x34325258
RGB565 = 0x36314752
CMD_GET_DISPLAY_INFO = 0x0100
CMD_RESOURCE_CREATE = 0x0101
CMD_RESOURCE_DESTROY = 0x0102
CMD_SET_SCANOUT = 0x0103
CMD_TRANSFER_RECTS = 0x0104
CMD_GET_INPUT_INFO = 0x0105
CMD_OUTPUTS_CURRENT = 0x0108
CMD_CURSOR_DEFINE = 0x0300
CMD_CURSOR_MOVE = 0x0301
EV_LED, LED_CAPSL = 0x11, 0x01


def desc(data=b"", write_len=0, indirect=False):
    """One descriptor: readable with @data, or writable of @write_len."""
    flags = (1 if write_len else 0) | (2 if indirect else 0)
    length = write_len if write_len else len(data)
    assert 0 < length <= 8192
    return struct.pack("<BH", flags, length - 1) + (b"" if write_len else data)


def chain(queue, descs):
    return struct.pack("<BB", queue, len(descs)) + b"".join(descs)


def command(body, resp=8, split=1, indirect=False):
    """A control request: @body readable in @split pieces, then the response."""
    step = -(-len(body) // split)
    pieces = [body[i:i + step] for i in range(0, len(body), step)]
    descs = [desc(p, indirect=indirect and i == 0) for i, p in enumerate(pieces)]
    return chain(CONTROL, descs + [desc(write_len=resp)])


def hdr(cmd):
    return struct.pack("<II", cmd, 0)


def create(res, w, h, fmt=XRGB8888):
    return command(hdr(CMD_RESOURCE_CREATE) + struct.pack("<IIII", res, fmt, w, h))


def scanout(output, res, x, y, w, h):
    return command(hdr(CMD_SET_SCANOUT) + struct.pack("<IIIIII", output, res, x, y, w, h))


def transfer(res, rects, payload, split=1, indirect=False):
    body = hdr(CMD_TRANSFER_RECTS) + struct.pack("<II", res, len(rects))
    for x, y, w, h, stride, offset in rects:
        body += struct.pack("<IIIIIIQ", x, y, w, h, stride, 0, offset)
    return command(body + payload, split=split, indirect=indirect)


def seeds():
    pattern = bytes((i * 7) & 0xff for i in range(16 * 16 * 4))
    yield "display-info", command(hdr(CMD_GET_DISPLAY_INFO), resp=264)
    yield "create-show-transfer", (
        create(1, 16, 16) + scanout(0, 1, 0, 0, 16, 16) +
        transfer(1, [(0, 0, 16, 16, 64, 0)], pattern))
    yield "two-rects-split", (
        create(2, 16, 16) + scanout(0, 2, 4, 4, 8, 8) +
        transfer(2, [(1, 1, 3, 3, 64, 68), (10, 10, 6, 6, 64, 680)], pattern,
                 split=5))
    yield "indirect", (
        create(3, 16, 16) + transfer(3, [(0, 0, 16, 16, 64, 0)], pattern,
                                     split=9, indirect=True))
    yield "rgb565-destroy", (
        create(4, 8, 8, RGB565) + scanout(0, 4, 0, 0, 8, 8) +
        transfer(4, [(0, 0, 8, 8, 16, 0)], pattern[:128]) +
        command(hdr(CMD_RESOURCE_DESTROY) + struct.pack("<II", 4, 0)))
    yield "input", (
        command(hdr(CMD_GET_INPUT_INFO) + struct.pack("<II", 0, 0), resp=216) +
        command(hdr(CMD_GET_INPUT_INFO) + struct.pack("<II", 1, 0), resp=216) +
        b"".join(chain(EVENT, [desc(write_len=16)]) for _ in range(8)) +
        struct.pack("<BB", INJECT, 0) + struct.pack("<BB", INJECT, 1) +
        struct.pack("<BB", INJECT, 4) + struct.pack("<BB", INJECT, 3))
    cursor = bytes((i * 13) & 0xff for i in range(8 * 8 * 4))
    yield "cursor", (
        chain(CURSOR, [desc(hdr(CMD_CURSOR_DEFINE) + struct.pack("<IIiiIIII", 0, 1, 10, 20, 8, 8, 3, 4)),
                       desc(cursor), desc(write_len=8)]) +
        chain(CURSOR, [desc(hdr(CMD_CURSOR_MOVE) + struct.pack("<IIii", 0, 1, 30, 40)), desc(write_len=8)]) +
        chain(CURSOR, [desc(hdr(CMD_CURSOR_MOVE) + struct.pack("<IIii", 0, 0, 30, 40)), desc(write_len=8)]))
    yield "pull-outputs-current", (
        create(5, 16, 16) + scanout(0, 5, 0, 0, 16, 16) + struct.pack("<BB", PULL, 0) +
        transfer(5, [(0, 0, 16, 16, 64, 0)], pattern) +
        command(hdr(CMD_OUTPUTS_CURRENT) + struct.pack("<II", 1, 0)) + struct.pack("<BB", PULL, 0))
    yield "led", chain(STATUS, [desc(struct.pack("<HHHHII", 0, 0, EV_LED, LED_CAPSL, 1, 0)),
                               desc(write_len=8)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
