"""Photos as evidence: streaming multipart reception, content-addressed storage, the media tables.

An upload is parsed as it arrives (``multipart.PushMultipartParser``), hashed chunk by chunk and
spooled to a temporary file, so memory stays at a few chunks whatever the photo's size. Its type
is decided by magic bytes as soon as the first bytes are in, and the size limit is checked on
every chunk, so a bad upload is refused without reading the rest of it.

Originals are stored under ``photos/sha256/<hex>``: the key *is* the content, so the same photo
is stored once and a filename from the client never becomes a path. S3 verifies the bytes a
second time against the SHA-256 the server computed (``x-amz-checksum-sha256``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import AsyncIterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Literal
from uuid import UUID

import asyncpg
import httpx
from multipart import (  # type: ignore[import-untyped]  # ships no type information
    MultipartError,
    MultipartSegment,
    PushMultipartParser,
    parse_options_header,
)

from storage.images import HEAD_SIZE, sniff_image_type
from storage.objects import ObjectStore, S3ObjectStore

__all__ = [
    "MediaRecord",
    "ObjectStoreRejected",
    "PhotoReceiver",
    "ReceivedPhoto",
    "UploadProblem",
    "fetch_media",
    "insert_media",
    "log_media_access",
    "original_key",
    "public_key",
    "public_key_sha256",
    "put_content_addressed",
    "receive_photo",
    "set_public_copy",
]

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
PUBLIC_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
FILE_FIELD, SHA256_FIELD = "file", "sha256"
_MAX_FIELD_BYTES = 128  # the only form field is a 64-character hash
_CHUNK = 64 * 1024
_PUT_URL_LIFETIME = timedelta(minutes=5)


def original_key(sha256: str) -> str:
    return f"photos/sha256/{sha256}"


def public_key(sha256: str, mime: str) -> str:
    """Named by the *stripped* copy's hash, so it never reveals the original's."""
    return f"public/{sha256}.{PUBLIC_EXTENSIONS[mime]}"


def public_key_sha256(key: str) -> str:
    return key.removeprefix("public/").split(".", 1)[0]


# -- reception ---------------------------------------------------------------------------------

ProblemKind = Literal["malformed", "too_large", "not_image", "bad_declared_sha256"]


class UploadProblem(Exception):
    """Why an upload was refused; the HTTP layer gives each ``kind`` its errcode."""

    def __init__(self, kind: ProblemKind, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


@dataclass(frozen=True, kw_only=True)
class ReceivedPhoto:
    size: int
    sha256: str
    """Computed from the bytes received, never taken from the client."""
    mime: str
    declared_sha256: str


class PhotoReceiver:
    """Push multipart chunks in; the ``file`` part goes to ``spool``, hashed on the way."""

    def __init__(self, boundary: str, *, max_bytes: int, spool: BinaryIO) -> None:
        try:
            self._parser = PushMultipartParser(boundary, max_segment_count=4)
        except MultipartError as exc:
            raise UploadProblem("malformed", f"bad multipart boundary: {exc}") from None
        self._spool, self._max_bytes = spool, max_bytes
        self._hash, self._size, self._head = hashlib.sha256(), 0, b""
        self._mime: str | None = None
        self._fields: dict[str, bytearray] = {}
        self._current: str | None = None
        self._file_seen = False

    def feed(self, chunk: bytes) -> None:
        """Parse one chunk; an empty chunk means the body ended (checks it was complete)."""
        try:
            for event in self._parser.parse(chunk):
                self._on_event(event)
        except MultipartError as exc:
            raise UploadProblem(
                "malformed", f"malformed or truncated multipart body: {exc}"
            ) from None

    def result(self) -> ReceivedPhoto:
        if not self._file_seen or self._mime is None:
            raise UploadProblem("malformed", "no file part named 'file'")
        declared = bytes(self._fields.get(SHA256_FIELD, b"")).decode("ascii", "replace")
        if not SHA256_HEX.fullmatch(declared):
            raise UploadProblem("bad_declared_sha256", "form field sha256: 64 lowercase hex")
        return ReceivedPhoto(
            size=self._size,
            sha256=self._hash.hexdigest(),
            mime=self._mime,
            declared_sha256=declared,
        )

    def _on_event(self, event: MultipartSegment | bytes | None) -> None:
        if isinstance(event, MultipartSegment):
            self._start(event)
        elif event is None:
            self._end()
        elif self._current == FILE_FIELD:
            self._file_data(event)
        else:
            self._field_data(event)

    def _start(self, segment: MultipartSegment) -> None:
        name = segment.name
        if name == FILE_FIELD and not self._file_seen:
            self._file_seen = True
        elif name == SHA256_FIELD and name not in self._fields and segment.filename is None:
            self._fields[name] = bytearray()
        else:  # an allow-list, like every request body (privacy rule 1)
            raise UploadProblem("malformed", f"unexpected or repeated form field {name!r}")
        self._current = name

    def _end(self) -> None:
        if self._current == FILE_FIELD and self._mime is None:
            self._sniff(final=True)
        self._current = None

    def _field_data(self, chunk: bytes) -> None:
        field = self._fields[str(self._current)]
        field += chunk
        if len(field) > _MAX_FIELD_BYTES:
            raise UploadProblem("bad_declared_sha256", "form field sha256 is too long")

    def _file_data(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max_bytes:
            raise UploadProblem("too_large", f"photo larger than {self._max_bytes} bytes")
        self._hash.update(chunk)
        # A blocking write on the event loop, on purpose: one chunk into the page cache costs
        # microseconds, less than handing it to a worker thread would.
        self._spool.write(chunk)
        if self._mime is None:
            self._head += chunk[:HEAD_SIZE]
            self._sniff(final=False)

    def _sniff(self, *, final: bool) -> None:
        if len(self._head) < HEAD_SIZE and not final:
            return
        self._mime = sniff_image_type(self._head[:HEAD_SIZE])
        if self._mime is None:
            raise UploadProblem("not_image", "not a JPEG, PNG, WebP or HEIC/HEIF image")


def multipart_boundary(content_type: str | None) -> str:
    kind, options = parse_options_header(content_type or "")
    boundary = options.get("boundary")
    if kind != "multipart/form-data" or not boundary:
        raise UploadProblem("malformed", "expected multipart/form-data with a boundary")
    return str(boundary)


async def receive_photo(
    chunks: AsyncIterable[bytes], content_type: str | None, *, max_bytes: int, spool: BinaryIO
) -> ReceivedPhoto:
    """Drive a :class:`PhotoReceiver` over a body stream; the first problem stops reading."""
    receiver = PhotoReceiver(multipart_boundary(content_type), max_bytes=max_bytes, spool=spool)
    async for chunk in chunks:
        if chunk:
            receiver.feed(chunk)
    receiver.feed(b"")
    return receiver.result()


# -- storage -----------------------------------------------------------------------------------


class ObjectStoreRejected(Exception):
    """S3 refused a write; ``code`` is its error code (``BadDigest``: the bytes changed)."""

    def __init__(self, code: str, status: int) -> None:
        super().__init__(f"object store answered {status} {code}")
        self.code, self.status = code, status


def put_content_addressed(
    store: ObjectStore,
    key: str,
    data: BinaryIO,
    *,
    size: int,
    mime: str,
    sha256: str,
    attachment: bool = False,
) -> None:
    """Store ``size`` bytes from ``data`` (rewound first); blocking, run it in a worker thread.

    On S3 this streams a presigned PUT that carries ``x-amz-checksum-sha256`` as a signed query
    parameter: minio's ``put_object`` would hold each part (up to the whole photo) in memory,
    and a multipart upload could not carry a whole-object checksum. ``attachment`` stores
    ``Content-Disposition: attachment`` with the object (originals: evidence is downloaded,
    never rendered by a browser).
    """
    data.seek(0)
    if not isinstance(store, S3ObjectStore):
        store.put(key, data, length=size, content_type=mime)
        return
    checksum = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
    url = store.client.get_presigned_url(
        "PUT",
        store.bucket,
        key,
        expires=_PUT_URL_LIFETIME,
        extra_query_params={"x-amz-checksum-sha256": checksum},
    )
    headers = {"Content-Length": str(size), "Content-Type": mime}
    if attachment:  # stored with the object, so even an unsigned-override GET downloads it
        headers |= {"Content-Disposition": "attachment", "Cache-Control": "private, no-store"}
    with httpx.Client(timeout=httpx.Timeout(60.0)) as http:
        response = http.put(url, content=_read_chunks(data), headers=headers)
    if response.status_code != 200:
        code = re.search(r"<Code>([^<]*)</Code>", response.text)
        raise ObjectStoreRejected(code.group(1) if code else "unknown", response.status_code)


def _read_chunks(data: BinaryIO) -> Iterator[bytes]:
    while chunk := data.read(_CHUNK):
        yield chunk


# -- records: media_objects and media_access_log (storage.db migration 2) ----------------------


@dataclass(frozen=True, kw_only=True)
class MediaRecord:
    sha256: str
    size: int
    mime: str
    uploaded_by: UUID
    uploader_scope_unit_id: UUID
    uploaded_at: datetime
    public_copy_key: str | None


async def fetch_media(pool: asyncpg.Pool, sha256: str) -> MediaRecord | None:
    row = await pool.fetchrow(
        "SELECT sha256, size, mime, uploaded_by, uploader_scope_unit_id, uploaded_at, "
        "public_copy_key FROM media_objects WHERE sha256 = $1",
        sha256,
    )
    return None if row is None else MediaRecord(**dict(row))


async def insert_media(
    pool: asyncpg.Pool, photo: ReceivedPhoto, *, staff_id: UUID, scope_unit_id: UUID
) -> bool:
    """Record a stored original; False when the same bytes were recorded first (a race)."""
    inserted = await pool.fetchval(
        "INSERT INTO media_objects (sha256, size, mime, uploaded_by, uploader_scope_unit_id) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
        photo.sha256,
        photo.size,
        photo.mime,
        staff_id,
        scope_unit_id,
    )
    return inserted is not None


async def log_media_access(
    pool: asyncpg.Pool, *, staff_id: UUID, sha256: str, purpose: str
) -> None:
    await pool.execute(
        "INSERT INTO media_access_log (staff_id, sha256, purpose) VALUES ($1, $2, $3)",
        staff_id,
        sha256,
        purpose,
    )


async def set_public_copy(pool: asyncpg.Pool, sha256: str, key: str) -> None:
    await pool.execute(
        "UPDATE media_objects SET public_copy_key = $2 WHERE sha256 = $1", sha256, key
    )
