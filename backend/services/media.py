"""Photos as evidence (privacy rule 7): upload, scoped and audited reads, EXIF-free public copies.

The original is stored once, bit-exact, under its SHA-256 and is never rewritten. Whoever may
see the grid unit the uploader worked in (or the uploader) may read it, only through a URL that
lives five minutes, and every read of the stored bytes is written to ``media_access_log``
(privacy rule 6). Public copies are separate objects with the metadata stripped.
"""

from __future__ import annotations

import contextlib
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
from backend.services.media_public import write_public_copy
from backend.services.scope import require_role
from projections import grid_tree
from storage.images import HEIF_MIMES
from storage.media import (
    MediaRecord,
    ObjectStoreRejected,
    ReceivedPhoto,
    UploadProblem,
    fetch_media,
    insert_media,
    log_media_access,
    original_key,
    public_key_sha256,
    put_content_addressed,
    receive_photo,
    set_public_copy,
)
from storage.objects import Download

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
        download = _download(record)
        url = await to_thread.run_sync(
            lambda: objects.signed_get_url(
                original_key(sha256), expires=URL_LIFETIME, download=download
            )
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
        await self._audit(actor, sha256, "public-copy")  # logged before the original is read
        objects = self.container.objects
        # Streamed chunk by chunk through a temporary file: memory stays at a few buffers.
        key = await to_thread.run_sync(lambda: write_public_copy(objects, record))
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
        """Store an original: downloaded, never rendered, by whoever fetches it."""
        objects = self.container.objects
        try:
            await to_thread.run_sync(
                lambda: put_content_addressed(
                    objects, key, data, size=size, mime=mime, sha256=sha256, attachment=True
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


_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/heic-sequence": "heics",
    "image/heif-sequence": "heifs",
}


def _download(record: MediaRecord) -> Download:
    """Served as a download of the stored type: a polyglot is never rendered as a page."""
    extension = _EXTENSIONS.get(record.mime, "bin")
    return Download(content_type=record.mime, filename=f"{record.sha256[:16]}.{extension}")


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
