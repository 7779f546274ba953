"""Building a photo's public copy in bounded memory (blocking: run it in a worker thread).

The original is read from the object store in chunks and passed through the streaming
stripper into an anonymous temporary file, hashing both on the way; the copy is then streamed
to the store under ``public/<its sha256>``. A 20 MB photo costs a few 64 KiB buffers, not the
~40 MB (original plus copy) that reading it whole would.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
from typing import BinaryIO, Final

import httpx

from backend.errors import ApiError
from storage.image_stream import HashingReader, strip_metadata_stream
from storage.images import ImageError, UnsupportedImage
from storage.media import (
    MediaRecord,
    ObjectStoreRejected,
    original_key,
    public_key,
    put_content_addressed,
)
from storage.objects import ObjectStore

__all__ = ["write_public_copy"]

_CHUNK: Final = 64 * 1024


def write_public_copy(objects: ObjectStore, record: MediaRecord) -> str:
    """Store the stripped copy of ``record``'s original; its key (named by the copy's hash)."""
    with tempfile.TemporaryFile(prefix="gridledger-public-") as spool:
        _strip_original(objects, record, spool)
        size = spool.tell()
        public_sha256 = _sha256_of(spool)
        key = public_key(public_sha256, record.mime)
        _store(objects, key, spool, size=size, mime=record.mime, sha256=public_sha256)
    return key


def _strip_original(objects: ObjectStore, record: MediaRecord, spool: BinaryIO) -> None:
    with contextlib.closing(objects.open(original_key(record.sha256))) as raw:
        source = HashingReader(raw)
        try:
            strip_metadata_stream(source, spool, record.mime)
        except UnsupportedImage as exc:
            raise ApiError(42250, str(exc)) from None
        except ImageError as exc:
            raise ApiError(42251, f"the stored photo could not be parsed: {exc}") from None
        # Checked before anything is published: evidence must be what was hashed.
        if source.hexdigest_of_all() != record.sha256:
            raise RuntimeError(f"stored photo {record.sha256} does not match its hash")


def _sha256_of(spool: BinaryIO) -> str:
    spool.seek(0)
    digest = hashlib.sha256()
    while chunk := spool.read(_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _store(
    objects: ObjectStore, key: str, spool: BinaryIO, *, size: int, mime: str, sha256: str
) -> None:
    try:
        put_content_addressed(objects, key, spool, size=size, mime=mime, sha256=sha256)
    except ObjectStoreRejected as exc:
        raise ApiError(50320, "the object store refused the photo", s3_code=exc.code) from None
    except httpx.HTTPError:
        raise ApiError(50320, "the object store is unreachable") from None
