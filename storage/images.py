"""Image type sniffing and metadata stripping, dependency-free and pure (bytes in, bytes out).

Photos are evidence (privacy rule 7): the original is never rewritten. Only *public copies* go
through :func:`strip_metadata`, which removes everything that may carry a location, a device or
a person (EXIF with GPS, XMP, comments, text chunks, timestamps, trailers after the image) and
copies the image data itself byte for byte, so the pixels are exactly the original's.

The strippers keep an allow-list of structures they know to be pure image data rather than a
deny-list of known metadata, so an unknown chunk type cannot smuggle a GPS track through.
HEIC/HEIF is sniffed (phones upload it) but has no public copy: rewriting ISO-BMFF item tables
without a library is error-prone, and a wrong rewrite would publish what it meant to remove.
"""

from __future__ import annotations

import struct
import zlib

__all__ = [
    "HEAD_SIZE",
    "HEIF_MIMES",
    "ImageError",
    "UnsupportedImage",
    "sniff_image_type",
    "strip_metadata",
]

HEAD_SIZE = 16
"""Bytes of a file's head :func:`sniff_image_type` needs (signature plus first structure)."""

JPEG, PNG, WEBP = "image/jpeg", "image/png", "image/webp"
_HEIF_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"hevc": "image/heic-sequence",
    b"mif1": "image/heif",
    b"msf1": "image/heif-sequence",
}
HEIF_MIMES = frozenset(_HEIF_BRANDS.values())
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ImageError(ValueError):
    """The bytes are not a well-formed image of the type they claim."""


class UnsupportedImage(ImageError):
    """A real image of a type this module cannot rewrite (HEIC/HEIF)."""


def sniff_image_type(head: bytes) -> str | None:
    """The MIME type by magic bytes at offset 0, or None.

    Besides the signature, the first structure after it must be the one the format requires
    (a JPEG marker, PNG's IHDR, a WebP image chunk, a sane ``ftyp`` box): a text file or a
    polyglot that merely embeds a signature somewhere is not accepted.
    """
    if len(head) < HEAD_SIZE:
        return None
    if head[:3] == b"\xff\xd8\xff" and 0xC0 <= head[3] <= 0xFE:
        return JPEG
    if head[:8] == _PNG_SIGNATURE and head[8:16] == b"\x00\x00\x00\x0dIHDR":
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP" and head[12:16] in _WEBP_KEEP - {b"ALPH"}:
        return WEBP
    return _sniff_heif(head)


def _sniff_heif(head: bytes) -> str | None:
    box_size = int.from_bytes(head[:4], "big")
    if head[4:8] != b"ftyp" or box_size < 16 or box_size % 4:
        return None
    return _HEIF_BRANDS.get(head[8:12])


def strip_metadata(data: bytes, mime: str) -> bytes:
    """A copy of the image without EXIF/XMP/comments/text; the image data is kept bit-exact.

    Raises :class:`UnsupportedImage` for HEIC/HEIF and :class:`ImageError` for malformed input.
    """
    if mime in HEIF_MIMES:
        raise UnsupportedImage("public copies of HEIC/HEIF photos are not supported")
    strippers = {JPEG: _strip_jpeg, PNG: _strip_png, WEBP: _strip_webp}
    if mime not in strippers or sniff_image_type(data[:HEAD_SIZE]) != mime:
        raise ImageError(f"not a {mime} image")
    return strippers[mime](data)


# -- JPEG: a sequence of marker segments; entropy-coded data follows each SOS ------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_APP1, _APP14, _APP15, _COM = 0xE1, 0xEE, 0xEF, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length


def _strip_jpeg(data: bytes) -> bytes:
    out, pos = bytearray(data[:2]), 2
    while True:
        marker, start = _next_marker(data, pos)
        if marker == _EOI:
            return bytes(out + b"\xff\xd9")  # anything after EOI (motion-photo video...) goes
        if marker in _STANDALONE:
            out += data[start : start + 2]
            pos = start + 2
            continue
        end = _segment_end(data, start)
        if _keep_jpeg_segment(marker, data[start + 4 : end]):
            out += data[start:end]
        pos = _entropy_end(data, end) if marker == _SOS else end
        if marker == _SOS:
            out += data[end:pos]


def _next_marker(data: bytes, pos: int) -> tuple[int, int]:
    """The marker at ``pos`` (fill bytes 0xFF allowed before it) and where its 0xFF starts."""
    while pos + 1 < len(data) and data[pos] == 0xFF and data[pos + 1] == 0xFF:
        pos += 1
    if pos + 1 >= len(data) or data[pos] != 0xFF:
        raise ImageError(f"JPEG: expected a marker at offset {pos}")
    return data[pos + 1], pos


def _segment_end(data: bytes, start: int) -> int:
    if start + 4 > len(data):
        raise ImageError("JPEG: truncated segment header")
    end = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    if end > len(data) or end < start + 4:
        raise ImageError(f"JPEG: segment at offset {start} overruns the file")
    return end


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == _COM:
        return False
    if marker == _APP14:
        # Adobe's APP14 says how to convert the colours (YCCK/CMYK); without it the pixels
        # decode differently, and it holds no personal data.
        return payload.startswith(b"Adobe")
    return not _APP1 <= marker <= _APP15


def _entropy_end(data: bytes, pos: int) -> int:
    """The offset of the first real marker after entropy-coded data (not FF00, not RSTn)."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise ImageError("JPEG: image data ends without an EOI marker")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


# -- PNG: signature, then length/type/data/CRC chunks up to IEND -------------------------------

_PNG_KEEP = frozenset(
    {
        b"IHDR", b"PLTE", b"IDAT", b"IEND",  # critical
        b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"cLLI",  # colour
        b"sBIT", b"bKGD", b"hIST", b"sPLT", b"pHYs",  # rendering
        b"acTL", b"fcTL", b"fdAT",  # APNG frames
    }
)  # fmt: skip
"""Chunks that describe pixels; eXIf, tEXt, zTXt, iTXt, tIME and unknown ones are dropped."""


def _strip_png(data: bytes) -> bytes:
    out, pos = bytearray(_PNG_SIGNATURE), len(_PNG_SIGNATURE)
    while True:
        kind, end = _png_chunk(data, pos)
        if kind in _PNG_KEEP:
            out += data[pos:end]  # copied whole: the CRC stays the one that was checked
        if kind == b"IEND":
            return bytes(out)
        pos = end


def _png_chunk(data: bytes, pos: int) -> tuple[bytes, int]:
    """The chunk type at ``pos`` and where the chunk ends; the CRC is verified."""
    if pos + 12 > len(data):
        raise ImageError("PNG: file ends before IEND")
    length, kind = struct.unpack(">I4s", data[pos : pos + 8])
    end = pos + 12 + length
    if end > len(data):
        raise ImageError(f"PNG: chunk {kind!r} overruns the file")
    (crc,) = struct.unpack(">I", data[end - 4 : end])
    if zlib.crc32(data[pos + 4 : end - 4]) != crc:
        raise ImageError(f"PNG: bad CRC in chunk {kind!r}")
    return bytes(kind), end


# -- WebP: RIFF container of chunks; VP8X flags announce the optional ones ---------------------

_WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _strip_webp(data: bytes) -> bytes:
    riff_end = 8 + struct.unpack("<I", data[4:8])[0]
    if riff_end > len(data):
        raise ImageError("WebP: RIFF size overruns the file")
    body, pos = bytearray(b"WEBP"), 12
    while pos < riff_end:
        kind, end = _webp_chunk(data, pos, riff_end)
        if kind in _WEBP_KEEP:
            body += _clear_vp8x_flags(data[pos:end]) if kind == b"VP8X" else data[pos:end]
        pos = end
    return b"RIFF" + struct.pack("<I", len(body)) + bytes(body)


def _webp_chunk(data: bytes, pos: int, riff_end: int) -> tuple[bytes, int]:
    if pos + 8 > riff_end:
        raise ImageError("WebP: truncated chunk header")
    kind, size = struct.unpack("<4sI", data[pos : pos + 8])
    end = pos + 8 + size + (size & 1)  # payloads are padded to an even length
    if end > riff_end:
        raise ImageError(f"WebP: chunk {kind!r} overruns the RIFF container")
    return bytes(kind), end


def _clear_vp8x_flags(chunk: bytes) -> bytes:
    if len(chunk) < 9:
        raise ImageError("WebP: VP8X chunk too short")
    flags = chunk[8] & ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
    return chunk[:8] + bytes([flags]) + chunk[9:]
