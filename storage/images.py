"""Image type sniffing and the rules of metadata stripping, dependency-free and pure.

Photos are evidence (privacy rule 7): the original is never rewritten. Only *public copies* go
through the stripper (:mod:`storage.image_stream` applies the rules kept here), which removes
everything that may carry a location, a device or a person (EXIF with GPS, XMP, comments, text
chunks, timestamps, trailers after the image) and copies the image data itself byte for byte,
so the pixels are exactly the original's.

The strippers keep an allow-list of structures they know to be pure image data rather than a
deny-list of known metadata, so an unknown chunk type cannot smuggle a GPS track through.
HEIC/HEIF is sniffed (phones upload it) but has no public copy: rewriting ISO-BMFF item tables
without a library is error-prone, and a wrong rewrite would publish what it meant to remove.
"""

from __future__ import annotations

__all__ = [
    "HEAD_SIZE",
    "HEIF_MIMES",
    "ImageError",
    "UnsupportedImage",
    "sniff_image_type",
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


# -- JPEG: a sequence of marker segments; entropy-coded data follows each SOS ------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_APP1, _APP14, _APP15, _COM = 0xE1, 0xEE, 0xEF, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RSTn carry no length


def _keep_jpeg_segment(marker: int, payload: bytes) -> bool:
    if marker == _COM:
        return False
    if marker == _APP14:
        # Adobe's APP14 says how to convert the colours (YCCK/CMYK); without it the pixels
        # decode differently, and it holds no personal data.
        return payload.startswith(b"Adobe")
    return not _APP1 <= marker <= _APP15


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


# -- WebP: RIFF container of chunks; VP8X flags announce the optional ones ---------------------

_WEBP_KEEP = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _clear_vp8x_flags(chunk: bytes) -> bytes:
    if len(chunk) < 9:
        raise ImageError("WebP: VP8X chunk too short")
    flags = chunk[8] & ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
    return chunk[:8] + bytes([flags]) + chunk[9:]
