"""PNG images in and out, with no imaging library: a plain image of one colour for the
fixtures to serve, and the pixels of a screenshot for the replay tests."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Bytes per pixel of the 8-bit colour types: greyscale, RGB, grey and alpha, RGBA.
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def solid(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A `width` x `height` RGB PNG all of colour `rgb`."""
    row = b"\x00" + bytes(rgb) * width  # filter type 0 (none)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        _SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * height))
        + _chunk(b"IEND", b"")
    )


@dataclass
class Image:
    """A decoded image: its rows of RGB pixels, top to bottom."""

    width: int
    height: int
    rows: list[list[tuple[int, int, int]]]

    def at(self, x: int, y: int) -> tuple[int, int, int]:
        if not (0 <= x < self.width and 0 <= y < self.height):
            raise ValueError(f"({x}, {y}) is outside the {self.width} x {self.height} image")
        return self.rows[y][x]


def decode(png: bytes) -> Image:
    """An 8-bit, non-interlaced PNG (what Chromium's screenshots are), decoded."""
    if not png.startswith(_SIGNATURE):
        raise ValueError("not a PNG")
    position, header, data = len(_SIGNATURE), b"", []
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        body = png[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data.append(body)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    channels = _CHANNELS[colour]
    stride = width * channels
    raw = zlib.decompress(b"".join(data))
    previous, rows = bytearray(stride), []
    for row_number in range(height):
        start = row_number * (stride + 1)
        row = _unfiltered(raw[start], raw[start + 1 : start + 1 + stride], previous, channels)
        rows.append(
            [
                (row[i],) * 3 if channels < 3 else (row[i], row[i + 1], row[i + 2])
                for i in range(0, stride, channels)
            ]
        )
        previous = row
    return Image(width, height, rows)


def _unfiltered(kind: int, row: bytes, above: bytearray, channels: int) -> bytearray:
    """A scanline with its PNG filter undone (PNG spec, section 9)."""
    out = bytearray(row)
    for i in range(len(out)):
        left = out[i - channels] if i >= channels else 0
        up = above[i]
        corner = above[i - channels] if i >= channels else 0
        if kind == 1:
            out[i] = (out[i] + left) & 0xFF
        elif kind == 2:
            out[i] = (out[i] + up) & 0xFF
        elif kind == 3:
            out[i] = (out[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            estimate = left + up - corner
            distances = (abs(estimate - left), abs(estimate - up), abs(estimate - corner))
            nearest = (left, up, corner)[distances.index(min(distances))]
            out[i] = (out[i] + nearest) & 0xFF
    return out
