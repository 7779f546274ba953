"""Magic-byte sniffing and metadata stripping on tiny images built by hand, byte by byte."""

from __future__ import annotations

import struct
import zlib

import pytest

from storage.image_stream import strip_metadata
from storage.images import (
    HEAD_SIZE,
    ImageError,
    UnsupportedImage,
    sniff_image_type,
)

GPS_LATITUDE = struct.pack(">6I", 30, 1, 17, 1, 4242, 100)  # 30°17'42.42" as three RATIONALs


def segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def exif_with_gps() -> bytes:
    """APP1 payload: a big-endian TIFF whose IFD0 points at a GPS IFD with a latitude."""
    ifd0 = struct.pack(">H", 1) + struct.pack(">HHII", 0x8825, 4, 1, 26) + struct.pack(">I", 0)
    gps = (
        struct.pack(">H", 2)
        + struct.pack(">HHI", 1, 2, 2)
        + b"N\x00\x00\x00"  # GPSLatitudeRef "N", inline
        + struct.pack(">HHII", 2, 5, 3, 56)  # GPSLatitude, 3 RATIONALs at offset 56
        + struct.pack(">I", 0)
    )
    return b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + ifd0 + gps + GPS_LATITUDE


# An 8x8 grey baseline JPEG: one quantisation table, one-code Huffman tables, and scan data
# "DC category 0, end of block" = bits 00, padded with ones.
JFIF = segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
DQT = segment(0xDB, b"\x00" + bytes([1] * 64))
SOF0 = segment(0xC0, b"\x08\x00\x08\x00\x08\x01\x01\x11\x00")
DHT_DC = segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
DHT_AC = segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\x00")
SOS = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
SCAN = b"\x3f"
PIXELS = DQT + SOF0 + DHT_DC + DHT_AC + SOS + SCAN  # everything the decoder needs
APP1 = segment(0xE1, exif_with_gps())
XMP = segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPS</x:xmpmeta>")
COM = segment(0xFE, b"taken at Zhang San's house")


def jpeg(*segments: bytes, trailer: bytes = b"") -> bytes:
    return b"\xff\xd8" + b"".join(segments) + b"\xff\xd9" + trailer


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_chunks(data: bytes) -> list[tuple[bytes, bytes, int]]:
    found, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        found.append((kind, body, crc))
        pos += 12 + length
    return found


RAW_PIXELS = b"\x00\xff\x00\x00" + b"\x00\x00\xff\x00"  # 1x2 RGB, filter byte per row
IHDR = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 2, 8, 2, 0, 0, 0))
IDAT = png_chunk(b"IDAT", zlib.compress(RAW_PIXELS))
IEND = png_chunk(b"IEND", b"")
PNG_SIG = b"\x89PNG\r\n\x1a\n"


def riff(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_chunk(kind: bytes, payload: bytes) -> bytes:
    pad = b"\x00" if len(payload) % 2 else b""
    return kind + struct.pack("<I", len(payload)) + payload + pad


VP8L = webp_chunk(b"VP8L", b"\x2f\x00\x00\x00\x00\x07\x10\x11\x11\x88\x88\xfe\x07\x00\x00")


def vp8x(flags: int) -> bytes:
    return webp_chunk(b"VP8X", bytes([flags, 0, 0, 0]) + b"\x00\x00\x00" + b"\x00\x00\x00")


# -- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (jpeg(JFIF, PIXELS), "image/jpeg"),
        (jpeg(APP1, PIXELS), "image/jpeg"),
        (PNG_SIG + IHDR + IDAT + IEND, "image/png"),
        (riff(VP8L), "image/webp"),
        (riff(vp8x(0x10), VP8L), "image/webp"),
        (struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic", "image/heic"),
        (struct.pack(">I", 16) + b"ftypmif1" + b"\x00\x00\x00\x00", "image/heif"),
    ],
)
def test_images_are_recognised_by_their_first_bytes(data: bytes, mime: str) -> None:
    assert sniff_image_type(data[:HEAD_SIZE]) == mime


@pytest.mark.parametrize(
    "data",
    [
        b"this is a text file named photo.jpg, not a photo\n",
        b"<html><script>alert(1)</script>" + jpeg(JFIF, PIXELS),  # a JPEG after other bytes
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00" + jpeg(JFIF, PIXELS),
        b"%PDF-1.7\n%\xff\xd8\xff\xe0 more",
        b"\xff\xd8\xff",  # too short to be anything
        b"\xff\xd8\xff\x00" + bytes(20),  # JPEG signature, then no marker
        PNG_SIG + b"<?php system($_GET[1]); ?>",  # PNG signature without IHDR
        b"RIFF\x10\x00\x00\x00WEBPjunk" + bytes(8),  # WebP without an image chunk
        b"RIFF\x10\x00\x00\x00AVI LIST" + bytes(8),
        struct.pack(">I", 24) + b"ftypisom" + bytes(12),  # an MP4 video
        struct.pack(">I", 24) + b"ftypavif" + bytes(12),
        struct.pack(">I", 7) + b"ftypheic" + bytes(12),  # box size impossible
    ],
)
def test_other_content_is_not_an_image(data: bytes) -> None:
    assert sniff_image_type(data[:HEAD_SIZE]) is None


# -- JPEG -------------------------------------------------------------------------------------


def test_jpeg_loses_exif_gps_xmp_and_comments_but_keeps_the_image_bytes() -> None:
    original = jpeg(JFIF, APP1, XMP, COM, PIXELS)
    assert GPS_LATITUDE in original

    stripped = strip_metadata(original, "image/jpeg")

    assert stripped == jpeg(JFIF, PIXELS)
    for gone in (b"Exif", GPS_LATITUDE, b"xmpmeta", b"Zhang San"):
        assert gone not in stripped
    assert PIXELS in stripped  # tables, frame header and scan data, byte for byte


def test_jpeg_drops_every_application_segment_but_jfif_and_adobe_and_anything_after_eoi() -> None:
    apps = [segment(m, b"vendor data") for m in range(0xE1, 0xF0)]
    adobe = segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01")
    video = b"\x00\x00\x00\x18ftypmp42 with its own GPS track"

    stripped = strip_metadata(jpeg(JFIF, *apps, adobe, PIXELS, trailer=video), "image/jpeg")

    assert stripped == jpeg(JFIF, adobe, PIXELS)


def test_jpeg_scan_data_with_stuffed_bytes_restart_markers_and_two_scans_is_copied() -> None:
    scan = b"\x12\xff\x00\x34\xff\xd0\x56\xff\xff\xd1\x78"  # FF00 stuffing, RST0, fill, RST1
    progressive = PIXELS + DHT_AC + SOS + scan  # a second scan after more tables

    stripped = strip_metadata(jpeg(APP1, segment(0xDD, b"\x00\x04"), progressive), "image/jpeg")

    assert stripped == jpeg(segment(0xDD, b"\x00\x04"), progressive)


@pytest.mark.parametrize(
    "broken",
    [
        jpeg(JFIF, PIXELS)[:-2],  # no EOI
        b"\xff\xd8\xff\xe0\x00\x40JFIF" + bytes(20),  # segment longer than the file
        b"\xff\xd8\xff\xe0\x00\x02" + b"\x00garbage" * 3,  # no marker where one must be
    ],
)
def test_malformed_jpeg_is_refused_not_guessed(broken: bytes) -> None:
    with pytest.raises(ImageError):
        strip_metadata(broken, "image/jpeg")


# -- PNG --------------------------------------------------------------------------------------


def test_png_loses_exif_text_and_time_chunks_and_keeps_pixels_and_valid_crcs() -> None:
    exif = png_chunk(b"eXIf", exif_with_gps()[6:])
    text = png_chunk(b"tEXt", b"Comment\x00home of Zhang San")
    ztxt = png_chunk(b"zTXt", b"Author\x00\x00" + zlib.compress(b"Li Si"))
    itxt = png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta/>")
    time = png_chunk(b"tIME", struct.pack(">HBBBBB", 2026, 3, 1, 8, 30, 0))
    private = png_chunk(b"prVt", b"unknown ancillary data")
    original = PNG_SIG + IHDR + exif + text + ztxt + itxt + time + private + IDAT + IEND

    stripped = strip_metadata(original, "image/png")

    assert stripped == PNG_SIG + IHDR + IDAT + IEND
    chunks = png_chunks(stripped)
    assert [kind for kind, _, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert all(zlib.crc32(kind + body) == crc for kind, body, crc in chunks)
    assert zlib.decompress(chunks[1][1]) == RAW_PIXELS
    assert GPS_LATITUDE not in stripped


def test_png_with_a_bad_crc_or_without_iend_is_refused() -> None:
    corrupt = IDAT[:-1] + bytes([IDAT[-1] ^ 1])
    with pytest.raises(ImageError, match="CRC"):
        strip_metadata(PNG_SIG + IHDR + corrupt + IEND, "image/png")
    with pytest.raises(ImageError):
        strip_metadata(PNG_SIG + IHDR + IDAT, "image/png")


def test_png_keeps_colour_chunks_and_drops_what_follows_iend() -> None:
    gamma = png_chunk(b"gAMA", struct.pack(">I", 45455))
    original = PNG_SIG + IHDR + gamma + IDAT + IEND + b"PK\x03\x04 a zip appended"

    assert strip_metadata(original, "image/png") == PNG_SIG + IHDR + gamma + IDAT + IEND


# -- WebP -------------------------------------------------------------------------------------


def test_webp_loses_exif_and_xmp_chunks_and_their_vp8x_flags() -> None:
    exif = webp_chunk(b"EXIF", exif_with_gps()[6:])
    xmp = webp_chunk(b"XMP ", b"<x:xmpmeta>where</x:xmpmeta>")  # odd length: padded
    alpha, iccp = 0x10, 0x20
    original = riff(vp8x(0x08 | 0x04 | alpha | iccp), webp_chunk(b"ICCP", b"icc"), VP8L, exif, xmp)

    stripped = strip_metadata(original, "image/webp")

    assert stripped == riff(vp8x(alpha | iccp), webp_chunk(b"ICCP", b"icc"), VP8L)
    assert struct.unpack("<I", stripped[4:8])[0] == len(stripped) - 8
    assert VP8L in stripped
    assert GPS_LATITUDE not in stripped


def test_simple_webp_is_copied_unchanged() -> None:
    original = riff(VP8L)
    assert strip_metadata(original, "image/webp") == original


def test_webp_with_a_chunk_overrunning_the_container_is_refused() -> None:
    with pytest.raises(ImageError):
        strip_metadata(riff(VP8L)[:-4], "image/webp")


# -- HEIC and mismatches ----------------------------------------------------------------------


def test_heic_public_copies_are_refused_clearly() -> None:
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + bytes(100)
    with pytest.raises(UnsupportedImage, match="HEIC"):
        strip_metadata(heic, "image/heic")


def test_bytes_that_are_not_the_claimed_type_are_refused() -> None:
    with pytest.raises(ImageError):
        strip_metadata(PNG_SIG + IHDR + IDAT + IEND, "image/jpeg")
    with pytest.raises(ImageError):
        strip_metadata(b"GIF89a" + bytes(20), "image/gif")
