"""However the source splits its reads (a 0xFF at the end of a piece included), the stripper
makes byte for byte the copy it makes from one whole read, and refuses what it refuses then."""

from __future__ import annotations

import hashlib
import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.image_stream import HashingReader, strip_metadata, strip_metadata_stream
from storage.images import ImageError, UnsupportedImage
from tests.unit.storage.test_images import (
    APP1,
    COM,
    DHT_AC,
    IDAT,
    IEND,
    IHDR,
    JFIF,
    PIXELS,
    PNG_SIG,
    SOS,
    VP8L,
    XMP,
    exif_with_gps,
    jpeg,
    png_chunk,
    riff,
    segment,
    vp8x,
    webp_chunk,
)


class Pieces(io.RawIOBase):
    """Hands out at most ``size`` bytes per read, like a network stream."""

    def __init__(self, data: bytes, size: int) -> None:
        self._data, self._pos, self._size = data, 0, size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        piece = self._data[self._pos : self._pos + min(self._size, n if n >= 0 else self._size)]
        self._pos += len(piece)
        return piece


def streamed(data: bytes, mime: str, *, piece: int = 7) -> bytes:
    sink = io.BytesIO()
    strip_metadata_stream(HashingReader(Pieces(data, piece)), sink, mime)  # type: ignore[arg-type]
    return sink.getvalue()


SCAN = b"\x12\xff\x00\x34\xff\xd0\x56\xff\xff\xd1\x78"  # FF00 stuffing, RST0, fill, RST1
CASES = {
    "jpeg with exif, xmp, comment and a trailer": (
        jpeg(JFIF, APP1, XMP, COM, PIXELS, trailer=b"<html>video</html>"),
        "image/jpeg",
    ),
    "progressive jpeg, two scans": (
        jpeg(APP1, segment(0xDD, b"\x00\x04"), PIXELS, DHT_AC, SOS, SCAN),
        "image/jpeg",
    ),
    "png with text and exif": (
        PNG_SIG
        + IHDR
        + png_chunk(b"eXIf", exif_with_gps()[6:])
        + png_chunk(b"tEXt", b"Comment\x00home")
        + IDAT
        + IEND
        + b"PK\x03\x04",
        "image/png",
    ),
    "webp with exif and xmp": (
        riff(
            vp8x(0x08 | 0x04 | 0x10), VP8L, webp_chunk(b"EXIF", b"gps"), webp_chunk(b"XMP ", b"x")
        ),
        "image/webp",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("piece", [1, 2, 7, 65536])
def test_the_copy_does_not_depend_on_how_the_reads_are_split(name: str, piece: int) -> None:
    data, mime = CASES[name]

    assert streamed(data, mime, piece=piece) == strip_metadata(data, mime)


@given(
    scan=st.binary(min_size=1, max_size=300).map(lambda b: b.replace(b"\xff", b"\xff\x00")),
    restarts=st.lists(st.integers(0xD0, 0xD7), max_size=4),
    piece=st.integers(1, 40),
)
@settings(max_examples=150, deadline=None)
def test_any_scan_data_split_anywhere_is_copied_exactly(
    scan: bytes, restarts: list[int], piece: int
) -> None:
    # given scan data with stuffed bytes, restart markers and fill bytes, split into pieces
    data = jpeg(APP1, PIXELS, b"\xff\xff".join([scan, *(bytes([0xFF, m]) for m in restarts)]))
    # then the copy equals the one made from a single read
    assert streamed(data, "image/jpeg", piece=piece) == strip_metadata(data, "image/jpeg")


BROKEN = {
    "jpeg without EOI": (jpeg(JFIF, PIXELS)[:-2], "image/jpeg"),
    "jpeg segment longer than the file": (
        b"\xff\xd8\xff\xe0\x00\x40JFIF" + bytes(20),
        "image/jpeg",
    ),
    "png bad crc": (PNG_SIG + IHDR + IDAT[:-1] + bytes([IDAT[-1] ^ 1]) + IEND, "image/png"),
    "png without IEND": (PNG_SIG + IHDR + IDAT, "image/png"),
    "webp chunk overrunning": (riff(VP8L)[:-4], "image/webp"),
    "png claimed as jpeg": (PNG_SIG + IHDR + IDAT + IEND, "image/jpeg"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_what_the_in_memory_stripper_refuses_the_streamed_one_refuses(name: str) -> None:
    data, mime = BROKEN[name]
    with pytest.raises(ImageError):
        strip_metadata(data, mime)
    with pytest.raises(ImageError):
        streamed(data, mime)


def test_heic_is_refused_as_unsupported() -> None:
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(100)
    with pytest.raises(UnsupportedImage):
        streamed(heic, "image/heic")


def test_the_hashing_reader_hashes_the_whole_source_trailer_included() -> None:
    data = jpeg(JFIF, PIXELS, trailer=b"after the end" * 1000)
    reader = HashingReader(Pieces(data, 100))  # type: ignore[arg-type]

    strip_metadata_stream(reader, io.BytesIO(), "image/jpeg")

    assert reader.hexdigest_of_all() == hashlib.sha256(data).hexdigest()
