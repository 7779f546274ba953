"""Photos as evidence (privacy rule 7): upload, scoped and audited reads, EXIF-free public copies.

The original is stored once, bit-exact, under its SHA-256 and is never rewritten. Whoever may
see the grid unit the uploader worked in (or the uploader) may read it, only through a URL that
lives five minutes, and every read of the stored bytes is written to ``media_access_log``
(privacy rule 6). Public copies are separate objects with the metadata stripped.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import tempfile
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import httpx
import msgspec
from anyio import to_thread

from backend.bootstrap import Container
from backend.errors import ApiError
from backend.services.actor import Actor
from backend.services.scope import require_role
from projections import grid_tree
from storage.images import HEIF_MIMES, ImageError, UnsupportedImage, strip_metadata
from storage.media import (
    MediaRecord,
    ObjectStoreRejected,
    ReceivedPhoto,
    UploadProblem,
    fetch_media,
    insert_media,
    log_media_access,
    original_key,
    public_key,
    public_key_sha256,
    put_content_addressed,
    receive_photo,
    set_public_copy,
)

__all__ = ["URL_LIFETIME", "MediaLink", "MediaService", "MediaUploaded", "PublicMediaCopy"]

URL_LIFETIME = timedelta(minutes=5)
PUBLIC_COPY_ROLES = ("supervisor", "admin")
_PROBLEM_ERRCODES = {
    "malformed": 40051,
    "bad_declared_sha256": 40052,
    "too_large": 41310,
    "not_image": 41510,
}


class MediaUploaded(msgspec.Struct, kw_only=True):
    sha256: str
    size: int
    mime: str
    created: bool
    """False when these bytes were already stored (nothing was uploaded again)."""


class MediaLink(msgspec.Struct, kw_only=True):
    sha256: str
    mime: str
    size: int
    url: str
    """A presigned S3 GET URL for the original; valid until ``expires_at``."""
    expires_at: datetime


class PublicMediaCopy(msgspec.Struct, kw_only=True):
    sha256: str
    """The original's hash."""
    public_sha256: str
    """The hash of the stripped copy (its key is ``public/<public_sha256>.<ext>``)."""
    key: str
    mime: str
    created: bool
    """False when the copy existed already."""


class MediaService:
    def __init__(self, container: Container) -> None:
        self.container = container

    async def upload(
        self, actor: Actor, body: AsyncGenerator[bytes, None], content_type: str | None
    ) -> MediaUploaded:
        """Receive, verify and store a photo; idempotent per content hash."""
        # An anonymous temporary file: the OS removes it however this ends.
        with tempfile.TemporaryFile(prefix="gridledger-media-") as spool:
            photo = await self._receive(body, content_type, spool)
            _check_declared_hash(photo)
            if await fetch_media(self.container.pool, photo.sha256) is not None:
                return _uploaded(photo, created=False)
            await self._store(
                original_key(photo.sha256), spool, photo.size, photo.mime, photo.sha256
            )
        created = await insert_media(
            self.container.pool, photo, staff_id=actor.staff_id, scope_unit_id=actor.scope_unit_id
        )
        return _uploaded(photo, created=created)

    async def link(self, actor: Actor, sha256: str) -> MediaLink:
        """A short-lived signed URL for the original, after the scope check; audited."""
        record = await self._visible(actor, sha256)
        expires_at = datetime.now(UTC) + URL_LIFETIME  # taken before signing: the URL outlives it
        await self._audit(actor, sha256, "view")  # logged before the URL exists: no silent read
        objects = self.container.objects
        url = await to_thread.run_sync(
            lambda: objects.signed_get_url(original_key(sha256), expires=URL_LIFETIME)
        )
        return MediaLink(
            sha256=sha256, mime=record.mime, size=record.size, url=url, expires_at=expires_at
        )

    async def public_copy(self, actor: Actor, sha256: str) -> PublicMediaCopy:
        """Write (once) a copy without EXIF/XMP/comments under ``public/``."""
        require_role(actor, *PUBLIC_COPY_ROLES)
        record = await self._visible(actor, sha256)
        if record.public_copy_key is not None:
            return _public(record, record.public_copy_key, created=False)
        if record.mime in HEIF_MIMES:
            raise ApiError(
                42250, "HEIC/HEIF photos have no public copy; export a JPEG on the phone"
            )
        original = await self._read_original(actor, record)
        stripped = await to_thread.run_sync(lambda: _strip(original, record.mime))  # CPU-bound
        public_sha256 = hashlib.sha256(stripped).hexdigest()
        key = public_key(public_sha256, record.mime)
        await self._store(key, io.BytesIO(stripped), len(stripped), record.mime, public_sha256)
        await set_public_copy(self.container.pool, sha256, key)
        return _public(record, key, created=True)

    async def _receive(
        self, body: AsyncGenerator[bytes, None], content_type: str | None, spool: BinaryIO
    ) -> ReceivedPhoto:
        limit = self.container.settings.max_media_bytes
        async with contextlib.aclosing(body):  # stops reading the request at the first problem
            try:
                return await receive_photo(body, content_type, max_bytes=limit, spool=spool)
            except UploadProblem as problem:
                raise ApiError(_PROBLEM_ERRCODES[problem.kind], problem.message) from None

    async def _store(self, key: str, data: BinaryIO, size: int, mime: str, sha256: str) -> None:
        objects = self.container.objects
        try:
            await to_thread.run_sync(
                lambda: put_content_addressed(
                    objects, key, data, size=size, mime=mime, sha256=sha256
                )
            )
        except ObjectStoreRejected as exc:
            raise ApiError(50320, "the object store refused the photo", s3_code=exc.code) from None
        except httpx.HTTPError:
            raise ApiError(50320, "the object store is unreachable") from None

    async def _visible(self, actor: Actor, sha256: str) -> MediaRecord:
        """The record if the caller uploaded it or its grid unit lies within the caller's scope."""
        record = await fetch_media(self.container.pool, sha256)
        if record is None:
            raise ApiError(40400, "no such photo", sha256=sha256)
        if record.uploaded_by == actor.staff_id:
            return record
        if not await grid_tree.unit_in_scope(
            self.container.pool, record.uploader_scope_unit_id, actor.scope_unit_id
        ):
            raise ApiError(40301, "photo taken outside your grid scope", sha256=sha256)
        return record

    async def _read_original(self, actor: Actor, record: MediaRecord) -> bytes:
        objects = self.container.objects
        data = await to_thread.run_sync(lambda: objects.get(original_key(record.sha256)))
        await self._audit(actor, record.sha256, "public-copy")
        if hashlib.sha256(data).hexdigest() != record.sha256:  # evidence must be what was hashed
            raise RuntimeError(f"stored photo {record.sha256} does not match its hash")
        return data

    async def _audit(self, actor: Actor, sha256: str, purpose: str) -> None:
        await log_media_access(
            self.container.pool, staff_id=actor.staff_id, sha256=sha256, purpose=purpose
        )


def _check_declared_hash(photo: ReceivedPhoto) -> None:
    if photo.sha256 != photo.declared_sha256:
        raise ApiError(
            40050,
            "the photo's SHA-256 is not the declared one",
            declared=photo.declared_sha256,
            computed=photo.sha256,
        )


def _strip(data: bytes, mime: str) -> bytes:
    try:
        return strip_metadata(data, mime)
    except UnsupportedImage as exc:
        raise ApiError(42250, str(exc)) from None
    except ImageError as exc:
        raise ApiError(42251, f"the stored photo could not be parsed: {exc}") from None


def _uploaded(photo: ReceivedPhoto, *, created: bool) -> MediaUploaded:
    return MediaUploaded(sha256=photo.sha256, size=photo.size, mime=photo.mime, created=created)


def _public(record: MediaRecord, key: str, *, created: bool) -> PublicMediaCopy:
    return PublicMediaCopy(
        sha256=record.sha256,
        public_sha256=public_key_sha256(key),
        key=key,
        mime=record.mime,
        created=created,
    )
