"""The object store port (photos, exports, evidence) and its S3 implementation via ``minio``.

The port is small on purpose: the API streams uploads through it and hands out short-lived
signed URLs; nothing else in the system talks S3. ``InMemoryObjectStore`` is the fake for unit
tests; integration tests use the real S3 server started by the test command.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlencode, urlsplit

from minio import Minio
from minio.error import S3Error

__all__ = ["Download", "InMemoryObjectStore", "ObjectStore", "S3ObjectStore"]


@dataclass(frozen=True, kw_only=True)
class Download:
    """How a signed URL's response presents the object: S3 ``response-*`` overrides.

    SeaweedFS, MinIO and AWS honour ``response-content-type``, ``-content-disposition`` and
    ``-cache-control``; none can add ``X-Content-Type-Options: nosniff`` (it is not a header
    S3 stores or overrides), so ``attachment`` plus a pinned type is what keeps a browser from
    rendering a polyglot upload as a page.
    """

    content_type: str
    filename: str
    """ASCII only: it is quoted into the header as is."""

    def response_headers(self) -> dict[str, str | list[str] | tuple[str]]:
        return {
            "response-content-type": self.content_type,
            "response-content-disposition": f'attachment; filename="{self.filename}"',
            "response-cache-control": "private, no-store",
        }


class _ClosingResponse(io.RawIOBase):
    """A urllib3 response as a file: ``close`` also hands the connection back to the pool."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._response.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


class ObjectStore(Protocol):
    def ensure_bucket(self) -> None: ...

    def put(self, key: str, data: BinaryIO, *, length: int, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def signed_get_url(
        self, key: str, *, expires: timedelta, download: Download | None = None
    ) -> str: ...

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object, for reading it in chunks; close it after."""
        ...

    def healthy(self) -> bool: ...


class S3ObjectStore:
    """Blocking minio client; call from worker threads, never inside ``async def``."""

    def __init__(self, endpoint: str, *, access_key: str, secret_key: str, bucket: str) -> None:
        url = urlsplit(endpoint)
        self.bucket = bucket
        self.client = Minio(
            url.netloc,
            access_key=access_key,
            secret_key=secret_key,
            secure=url.scheme == "https",
            region="us-east-1",
        )

    def ensure_bucket(self) -> None:
        if not self.client.bucket_exists(self.bucket):
            self.client.make_bucket(self.bucket)

    def put(self, key: str, data: BinaryIO, *, length: int, content_type: str) -> None:
        self.client.put_object(self.bucket, key, data, length, content_type=content_type)

    def get(self, key: str) -> bytes:
        response = self.client.get_object(self.bucket, key)
        try:
            return bytes(response.read())
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
        except S3Error as err:
            if err.code in {"NoSuchKey", "NoSuchObject", "NotFound"}:
                return False
            raise
        return True

    def signed_get_url(
        self, key: str, *, expires: timedelta, download: Download | None = None
    ) -> str:
        headers = download.response_headers() if download is not None else None
        # The response-* overrides are signed into the URL: a holder cannot change them.
        return str(
            self.client.presigned_get_object(
                self.bucket, key, expires=expires, response_headers=headers
            )
        )

    def open(self, key: str) -> BinaryIO:
        response = self.client.get_object(self.bucket, key)
        return io.BufferedReader(_ClosingResponse(response), buffer_size=64 * 1024)

    def healthy(self) -> bool:
        try:
            return bool(self.client.bucket_exists(self.bucket))
        except (S3Error, OSError, ValueError):
            return False
        except Exception:  # urllib3 raises its own connection errors; any means "not healthy"
            return False


class InMemoryObjectStore:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}

    def ensure_bucket(self) -> None:
        return None

    def put(self, key: str, data: BinaryIO, *, length: int, content_type: str) -> None:
        self.objects[key] = (data.read(length), content_type)

    def get(self, key: str) -> bytes:
        return self.objects[key][0]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def signed_get_url(
        self, key: str, *, expires: timedelta, download: Download | None = None
    ) -> str:
        query = urlencode(download.response_headers() if download is not None else {})
        return f"memory://{key}?expires={int(expires.total_seconds())}&{query}".rstrip("&")

    def healthy(self) -> bool:
        return True

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self.objects[key][0])
