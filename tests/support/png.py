"""A minimal PNG reader for screenshot checks: 8-bit greyscale/RGB/RGBA, not interlaced.

Enough for what headless Chromium writes; Pillow is not a dependency of the project.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["Image", "read_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    luma: list[bytes]
    """One row of 0–255 brightness values per scan line."""

    def dark_fraction(self, *, top: int = 0, bottom: int | None = None, below: int = 200) -> float:
        rows = self.luma[top:bottom]
        dark = sum(sum(1 for v in row if v < below) for row in rows)
        return dark / max(1, self.width * len(rows))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter(kind: int, line: bytearray, prior: bytes, bpp: int) -> bytearray:
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prior[i], (prior[i - bpp] if i >= bpp else 0)
        add = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
        line[i] = (line[i] + add) & 0xFF
    return line


def read_png(data: bytes) -> Image:
    assert data.startswith(_SIGNATURE), "not a PNG"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0), (depth, interlace)
    assert colour in _CHANNELS, colour
    bpp, raw = _CHANNELS[colour], zlib.decompress(bytes(idat))
    stride, prior, luma = width * bpp, bytes(width * bpp), []
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prior, bpp)
        prior = bytes(line)
        channels = 1 if bpp <= 2 else 3
        luma.append(
            bytes(sum(line[x * bpp : x * bpp + channels]) // channels for x in range(width))
        )
    return Image(width=width, height=height, luma=luma)
