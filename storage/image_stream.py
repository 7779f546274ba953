"""Metadata stripping as a stream: a 20 MB photo becomes a public copy in a few chunks of memory.

The rules (what is kept: the allow-lists in :mod:`storage.images`) are applied while the photo
is read from a file-like source and written to a file-like sink piece by piece: headers and metadata
segments (at most 64 KiB each in JPEG) are held whole, image data is copied in 64 KiB pieces.
The sink must be seekable: a WebP's RIFF size is only known at the end and is patched in.
"""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from typing import BinaryIO, Final

from storage.images import (
    _EOI,
    _PNG_KEEP,
    _SOS,
    _STANDALONE,
    _WEBP_KEEP,
    HEAD_SIZE,
    HEIF_MIMES,
    JPEG,
    PNG,
    WEBP,
    ImageError,
    UnsupportedImage,
    _clear_vp8x_flags,
    _keep_jpeg_segment,
    sniff_image_type,
)

__all__ = ["HashingReader", "strip_metadata", "strip_metadata_stream"]

_CHUNK: Final = 64 * 1024


class HashingReader:
    """Wraps a readable stream; SHA-256 of everything read (evidence must be what was hashed)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()

    def read(self, size: int) -> bytes:
        data = self._raw.read(size)
        self._hash.update(data)
        return data

    def hexdigest_of_all(self) -> str:
        """Reads what the stripper left (a trailer after the image), then the digest."""
        while self.read(_CHUNK):
            pass
        return self._hash.hexdigest()


class _Source:
    """A read buffer over a stream: exact reads, and looking ahead without consuming."""

    def __init__(self, raw: HashingReader) -> None:
        self._raw = raw
        self.buffer = bytearray()

    def fill(self, n: int) -> int:
        """Buffer at least ``n`` bytes unless the stream ends first; how many are buffered."""
        while len(self.buffer) < n and (data := self._raw.read(max(_CHUNK, n - len(self.buffer)))):
            self.buffer += data
        return len(self.buffer)

    def take(self, n: int, what: str) -> bytes:
        if self.fill(n) < n:
            raise ImageError(f"{what}: file ends early")
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def copy(self, n: int, sink: BinaryIO | None, what: str, crc: int = 0) -> int:
        """Pass ``n`` bytes to ``sink`` (None: skip them); the running CRC-32 of them."""
        while n > 0:
            if self.fill(1) == 0:
                raise ImageError(f"{what}: file ends early")
            piece = bytes(self.buffer[: min(n, len(self.buffer), _CHUNK)])
            del self.buffer[: len(piece)]
            crc, n = zlib.crc32(piece, crc), n - len(piece)
            if sink is not None:
                sink.write(piece)
        return crc


def strip_metadata(data: bytes, mime: str) -> bytes:
    """The copy of an image held in memory: :func:`strip_metadata_stream` over ``data``."""
    sink = io.BytesIO()
    strip_metadata_stream(HashingReader(io.BytesIO(data)), sink, mime)
    return sink.getvalue()


def strip_metadata_stream(source: HashingReader, sink: BinaryIO, mime: str) -> None:
    """Write to ``sink`` a copy of the image without EXIF/XMP/comments/text; the image data is
    kept bit-exact and anything after the image's end (a polyglot's payload) is left behind.

    Raises :class:`UnsupportedImage` for HEIC/HEIF and :class:`ImageError` for malformed input.
    """
    if mime in HEIF_MIMES:
        raise UnsupportedImage("public copies of HEIC/HEIF photos are not supported")
    strippers = {JPEG: _strip_jpeg, PNG: _strip_png, WEBP: _strip_webp}
    buffered = _Source(source)
    buffered.fill(HEAD_SIZE)
    if mime not in strippers or sniff_image_type(bytes(buffered.buffer[:HEAD_SIZE])) != mime:
        raise ImageError(f"not a {mime} image")
    strippers[mime](buffered, sink)


# -- JPEG ---------------------------------------------------------------------------------------


def _strip_jpeg(source: _Source, sink: BinaryIO) -> None:
    sink.write(source.take(2, "JPEG"))
    while True:
        marker = _next_marker(source)
        if marker == _EOI:
            sink.write(b"\xff\xd9")  # anything after EOI (motion-photo video...) goes
            return
        if marker in _STANDALONE:
            sink.write(bytes([0xFF, marker]))
            continue
        head = source.take(2, "JPEG: segment header")
        length = int.from_bytes(head, "big")
        if length < 2:
            raise ImageError("JPEG: segment length below 2")
        payload = source.take(length - 2, "JPEG: segment")
        if _keep_jpeg_segment(marker, payload):
            sink.write(bytes([0xFF, marker]) + head + payload)
        if marker == _SOS:
            _copy_entropy_coded(source, sink)


def _next_marker(source: _Source) -> int:
    """The next marker byte, after its 0xFF and any 0xFF fill bytes."""
    if source.take(1, "JPEG: marker") != b"\xff":
        raise ImageError("JPEG: expected a marker")
    while (byte := source.take(1, "JPEG: marker")) == b"\xff":
        pass
    return byte[0]


def _copy_entropy_coded(source: _Source, sink: BinaryIO) -> None:
    """Copy scan data up to the first real marker (not FF00, not RSTn), left in the buffer."""
    while True:
        if source.fill(2) < 2:
            raise ImageError("JPEG: image data ends without an EOI marker")
        buffer, pos = source.buffer, 0
        while (pos := buffer.find(b"\xff", pos)) >= 0 and pos + 1 < len(buffer):
            following = buffer[pos + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                pos += 2
            elif following == 0xFF:
                pos += 1
            else:
                sink.write(buffer[:pos])
                del buffer[:pos]
                return
        cut = len(buffer) if pos < 0 else pos  # a trailing 0xFF may start a marker: keep it
        sink.write(buffer[:cut])
        del buffer[:cut]
        source.fill(len(buffer) + _CHUNK)


# -- PNG ----------------------------------------------------------------------------------------


def _strip_png(source: _Source, sink: BinaryIO) -> None:
    sink.write(source.take(8, "PNG"))
    while True:
        head = source.take(8, "PNG: file ends before IEND; chunk header")
        length, kind = struct.unpack(">I4s", head)
        keep = kind in _PNG_KEEP
        if keep:
            sink.write(head)
        crc = source.copy(length, sink if keep else None, f"PNG: chunk {kind!r}", zlib.crc32(kind))
        stored = source.take(4, f"PNG: chunk {kind!r}")
        if struct.unpack(">I", stored)[0] != crc:
            raise ImageError(f"PNG: bad CRC in chunk {kind!r}")
        if keep:
            sink.write(stored)  # copied whole: the CRC stays the one that was checked
        if kind == b"IEND":
            return


# -- WebP ---------------------------------------------------------------------------------------


def _strip_webp(source: _Source, sink: BinaryIO) -> None:
    riff_end = 8 + struct.unpack("<I", source.take(12, "WebP")[4:8])[0]
    start = sink.tell()
    sink.write(b"RIFF\0\0\0\0WEBP")
    pos = 12
    while pos < riff_end:
        if pos + 8 > riff_end:
            raise ImageError("WebP: truncated chunk header")
        head = source.take(8, "WebP: chunk header")
        kind, size = struct.unpack("<4sI", head)
        padded = size + (size & 1)  # payloads are padded to an even length
        if pos + 8 + padded > riff_end:
            raise ImageError(f"WebP: chunk {kind!r} overruns the RIFF container")
        _copy_webp_chunk(source, sink if kind in _WEBP_KEEP else None, head, padded)
        pos += 8 + padded
    end = sink.tell()
    sink.seek(start + 4)
    sink.write(struct.pack("<I", end - start - 8))
    sink.seek(end)


def _copy_webp_chunk(source: _Source, sink: BinaryIO | None, head: bytes, padded: int) -> None:
    if sink is not None and head[:4] == b"VP8X":
        # Only the flags byte changes; the rest is copied like any chunk, however long.
        first = source.take(min(padded, 1), "WebP: VP8X")
        sink.write(_clear_vp8x_flags(head + first))
        padded -= len(first)
    elif sink is not None:
        sink.write(head)
    source.copy(padded, sink, "WebP: chunk")
