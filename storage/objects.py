"""The object store port (photos, exports, evidence) and its S3 implementation via ``minio``.

The port is small on purpose: the API streams uploads through it and hands out short-lived
signed URLs; nothing else in the system talks S3. ``InMemoryObjectStore`` is the fake for unit
tests; integration tests use the real S3 server started by the test command.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

from minio import Minio
from minio.error import S3Error

__all__ = ["InMemoryObjectStore", "ObjectStore", "S3ObjectStore"]


class ObjectStore(Protocol):
    def ensure_bucket(self) -> None: ...

    def put(self, key: str, data: BinaryIO, *, length: int, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def signed_get_url(self, key: str, *, expires: timedelta) -> str: ...

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

    def signed_get_url(self, key: str, *, expires: timedelta) -> str:
        return str(self.client.presigned_get_object(self.bucket, key, expires=expires))

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

    def signed_get_url(self, key: str, *, expires: timedelta) -> str:
        return f"memory://{key}?expires={int(expires.total_seconds())}"

    def healthy(self) -> bool:
        return True

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self.objects[key][0])
