"""Streaming reception of a wx.uploadFile body: parsed, hashed and spooled chunk by chunk."""

from __future__ import annotations

import hashlib
import io
import tempfile
import tracemalloc
from collections.abc import AsyncIterator, Iterable, Iterator

import pytest

from storage.media import (
    ReceivedPhoto,
    UploadProblem,
    original_key,
    public_key,
    public_key_sha256,
    put_content_addressed,
    receive_photo,
)
from storage.objects import InMemoryObjectStore

BOUNDARY = "----WeChatFormBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(300)
PHOTO_SHA = hashlib.sha256(PHOTO).hexdigest()
MB = 1_048_576


def field(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def file_head(filename: str = "tmp_1a2b.jpg", name: str = "file") -> bytes:
    return (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
        f'name="{name}"; filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'
    ).encode()


def body(photo: bytes = PHOTO, sha: str = PHOTO_SHA, *, sha_first: bool = False) -> bytes:
    file_part = file_head() + photo + b"\r\n"
    parts = [field("sha256", sha), file_part] if sha_first else [file_part, field("sha256", sha)]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def chunks_of(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]
    yield b""  # as Litestar's request.stream() ends


async def receive(data: bytes, *, size: int = 1000, max_bytes: int = MB) -> ReceivedPhoto:
    with tempfile.TemporaryFile() as spool:
        return await receive_photo(
            chunks_of(data, size), CONTENT_TYPE, max_bytes=max_bytes, spool=spool
        )


@pytest.mark.parametrize("sha_first", [False, True])
@pytest.mark.parametrize("size", [1, 7, 1000, 1 << 20])
async def test_the_file_is_hashed_and_spooled_whatever_the_order_and_chunking(
    sha_first: bool, size: int
) -> None:
    with tempfile.TemporaryFile() as spool:
        photo = await receive_photo(
            chunks_of(body(sha_first=sha_first), size), CONTENT_TYPE, max_bytes=MB, spool=spool
        )
        spool.seek(0)
        assert spool.read() == PHOTO
    assert photo == ReceivedPhoto(
        size=len(PHOTO), sha256=PHOTO_SHA, mime="image/jpeg", declared_sha256=PHOTO_SHA
    )


async def test_a_wrong_declared_hash_is_reported_alongside_the_computed_one() -> None:
    photo = await receive(body(sha="0" * 64))
    assert (photo.declared_sha256, photo.sha256) == ("0" * 64, PHOTO_SHA)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (body()[:-40], "malformed"),  # truncated: no closing boundary
        (body()[: len(file_head()) + 100], "malformed"),  # cut inside the photo
        (b"not multipart at all", "malformed"),
        (body().replace(b'name="file"', b'name="photo"'), "malformed"),  # unknown field
        (field("sha256", PHOTO_SHA) + field("sha256", PHOTO_SHA) + body(), "malformed"),
        (file_head() + PHOTO + b"\r\n" + body(), "malformed"),  # two files
        (body(sha="ABC"), "bad_declared_sha256"),
        (body(sha=PHOTO_SHA.upper()), "bad_declared_sha256"),
        (body(sha=PHOTO_SHA * 3), "bad_declared_sha256"),
        (file_head() + PHOTO + f"\r\n--{BOUNDARY}--\r\n".encode(), "bad_declared_sha256"),
        (body(photo=b"hello, I am a text file named photo.jpg"), "not_image"),
        (body(photo=b"\xff\xd8\xff"), "not_image"),  # too short to be an image
        (body(photo=b""), "not_image"),
    ],
)
async def test_bad_uploads_are_refused_with_their_reason(data: bytes, kind: str) -> None:
    with pytest.raises(UploadProblem) as problem:
        await receive(data, size=64)
    assert problem.value.kind == kind


async def test_a_body_that_is_not_multipart_form_data_is_refused() -> None:
    with pytest.raises(UploadProblem) as problem, tempfile.TemporaryFile() as spool:
        await receive_photo(chunks_of(body()), "application/json", max_bytes=MB, spool=spool)
    assert problem.value.kind == "malformed"


async def counting(chunks: Iterable[bytes], seen: list[int]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        seen.append(len(chunk))
        yield chunk


def big_body(photo_size: int, *, head: bytes = PHOTO[:32]) -> Iterator[bytes]:
    """A multipart body with a photo of ``photo_size`` bytes, produced 64 KiB at a time."""
    yield file_head()
    yield head
    left = photo_size - len(head)
    while left > 0:
        yield bytes(min(65536, left))
        left -= 65536
    yield b"\r\n" + field("sha256", "0" * 64) + f"--{BOUNDARY}--\r\n".encode()


async def test_an_oversized_photo_stops_the_reading_at_the_limit() -> None:
    seen: list[int] = []
    stream = counting(big_body(10 * MB), seen)
    with pytest.raises(UploadProblem) as problem, tempfile.TemporaryFile() as spool:
        await receive_photo(stream, CONTENT_TYPE, max_bytes=MB, spool=spool)
    assert problem.value.kind == "too_large"
    assert sum(seen) < 1.1 * MB  # stopped right after the limit, not after 10 MB


async def test_a_text_file_is_refused_after_its_first_chunk() -> None:
    seen: list[int] = []
    stream = counting(big_body(10 * MB, head=b"#!/bin/sh\nrm -rf /\n" + bytes(13)), seen)
    with pytest.raises(UploadProblem) as problem, tempfile.TemporaryFile() as spool:
        await receive_photo(stream, CONTENT_TYPE, max_bytes=20 * MB, spool=spool)
    assert problem.value.kind == "not_image"
    assert sum(seen) < 100_000


async def test_a_15_mb_photo_is_received_in_bounded_memory() -> None:
    size = 15 * MB
    with tempfile.TemporaryFile() as spool:
        tracemalloc.start()
        try:
            stream = counting(big_body(size), [])
            photo = await receive_photo(stream, CONTENT_TYPE, max_bytes=20 * MB, spool=spool)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert photo.size == size
    assert peak < 1 * MB, f"peak {peak} bytes"


def test_keys_are_content_addressed_and_public_keys_name_the_stripped_copy() -> None:
    assert original_key(PHOTO_SHA) == f"photos/sha256/{PHOTO_SHA}"
    assert public_key("ab" * 32, "image/png") == f"public/{'ab' * 32}.png"
    assert public_key_sha256(public_key("cd" * 32, "image/webp")) == "cd" * 32


def test_put_rewinds_the_spool_and_stores_the_exact_bytes() -> None:
    store = InMemoryObjectStore()
    spool = io.BytesIO(PHOTO)
    spool.seek(len(PHOTO))  # where reception left it

    key = original_key(PHOTO_SHA)
    put_content_addressed(store, key, spool, size=len(PHOTO), mime="image/jpeg", sha256=PHOTO_SHA)

    assert store.objects[key] == (PHOTO, "image/jpeg")
