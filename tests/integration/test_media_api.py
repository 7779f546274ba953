"""Photos as evidence on the real S3 server: upload as wx.uploadFile does, scoped signed reads,
audit rows, EXIF-free public copies, and every way an upload is refused."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from anyio import to_thread

import backend.services.media as media_service
from backend.app import create_app_for
from backend.bootstrap import Container
from storage.media import ObjectStoreRejected, original_key, put_content_addressed
from storage.objects import S3ObjectStore
from tests.support.world import World
from tests.unit.storage.test_images import APP1, COM, GPS_LATITUDE, JFIF, PIXELS, jpeg, segment

Client = httpx.AsyncClient
MB = 1_048_576
BOUNDARY = "----WeChatFormBoundaryMediaTest"


def photo() -> bytes:
    """A small real JPEG with EXIF GPS, unique per call (a random comment)."""
    return jpeg(JFIF, APP1, segment(0xFE, uuid.uuid4().bytes), PIXELS)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def upload(
    client: Client, headers: dict[str, str], data: bytes, declared: str | None = None
) -> httpx.Response:
    """What wx.uploadFile sends: the file in field ``file``, formData ``{sha256}``."""
    return await client.post(
        "/v1/media",
        headers=headers,
        files={"file": ("wxfile://tmp_0a1b2c.jpg", data, "image/jpeg")},
        data={"sha256": declared or sha(data)},
    )


def multipart(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
    return head + value + b"\r\n"


def raw_headers(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def bucket_keys(container: Container) -> list[str]:
    store = container.objects
    assert isinstance(store, S3ObjectStore)
    return [o.object_name for o in store.client.list_objects(store.bucket, recursive=True)]


async def access_rows(container: Container, digest: str) -> list[Any]:
    return list(
        await container.pool.fetch(
            "SELECT staff_id, purpose FROM media_access_log WHERE sha256 = $1 ORDER BY id", digest
        )
    )


# -- upload -----------------------------------------------------------------------------------


async def test_an_upload_as_wx_upload_file_sends_it_is_stored_under_its_hash(
    client: Client, world: World, container: Container
) -> None:
    data = photo()

    response = await upload(client, world.headers["member_a1"], data)

    assert response.status_code == 201, response.text
    assert response.json() == {
        "sha256": sha(data),
        "size": len(data),
        "mime": "image/jpeg",
        "created": True,
    }
    stored = await to_thread.run_sync(lambda: container.objects.get(original_key(sha(data))))
    assert stored == data  # the original, EXIF and all: it is evidence
    row = await container.pool.fetchrow("SELECT * FROM media_objects WHERE sha256 = $1", sha(data))
    assert row["uploaded_by"] == world.staff["member_a1"]
    assert row["uploader_scope_unit_id"] == world.grid_a1


async def test_the_same_bytes_again_answer_200_and_are_not_uploaded_again(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = photo()
    first = await upload(client, world.headers["member_a1"], data)
    puts: list[str] = []
    real_put = media_service.put_content_addressed
    monkeypatch.setattr(
        media_service,
        "put_content_addressed",
        lambda store, key, *a, **kw: puts.append(key) or real_put(store, key, *a, **kw),
    )

    again = await upload(client, world.headers["member_a1"], data)

    assert first.status_code == 201
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "created": False}
    assert puts == []


async def test_form_fields_may_follow_the_file(client: Client, world: World) -> None:
    data = photo()
    body = multipart(part("file", data, "a.jpg"), part("sha256", sha(data).encode()))

    response = await client.post(
        "/v1/media", headers=raw_headers(world.headers["member_a1"]), content=body
    )

    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == sha(data)


async def test_a_wrong_declared_hash_is_refused_and_nothing_is_stored(
    client: Client, world: World, container: Container
) -> None:
    data, declared = photo(), sha(b"something else")

    response = await upload(client, world.headers["member_a1"], data, declared)

    assert response.status_code == 400
    assert response.json()["errcode"] == 40050
    assert response.json()["computed"] == sha(data)
    keys = await to_thread.run_sync(lambda: bucket_keys(container))
    assert original_key(sha(data)) not in keys
    assert original_key(declared) not in keys
    rows = await container.pool.fetchval(
        "SELECT count(*) FROM media_objects WHERE sha256 = ANY($1::text[])", [sha(data), declared]
    )
    assert rows == 0


async def test_a_truncated_body_is_refused(client: Client, world: World) -> None:
    data = photo()
    body = multipart(part("sha256", sha(data).encode()), part("file", data, "a.jpg"))

    response = await client.post(
        "/v1/media", headers=raw_headers(world.headers["member_a1"]), content=body[:-60]
    )

    assert response.status_code == 400
    assert response.json()["errcode"] == 40051


@pytest.mark.parametrize(
    "content",
    [
        b"just text, in a file named photo.jpg\n" * 3,
        b"<html><script>alert(document.cookie)</script></html>" + jpeg(JFIF, PIXELS),
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + jpeg(JFIF, PIXELS),  # GIF/JPEG polyglot
        b"PK\x03\x04" + bytes(26) + jpeg(JFIF, PIXELS),  # a zip posing as a photo
    ],
)
async def test_anything_but_an_image_is_refused_by_its_bytes(
    client: Client, world: World, content: bytes
) -> None:
    response = await upload(client, world.headers["member_a1"], content)

    assert response.status_code == 415, response.text
    assert response.json()["errcode"] == 41510


async def test_a_path_like_filename_is_ignored_and_the_photo_lives_only_under_its_hash(
    client: Client, world: World, container: Container
) -> None:
    data = photo()
    response = await client.post(
        "/v1/media",
        headers=world.headers["member_a1"],
        files={"file": ("../../etc/passwd.jpg", data, "image/jpeg")},
        data={"sha256": sha(data)},
    )

    assert response.status_code == 201, response.text
    keys = await to_thread.run_sync(lambda: bucket_keys(container))
    assert original_key(sha(data)) in keys
    assert not [k for k in keys if "passwd" in k or ".." in k or k.startswith("/")]


async def test_uploading_needs_a_token(client: Client) -> None:
    data = photo()
    response = await client.post(
        "/v1/media", files={"file": ("a.jpg", data)}, data={"sha256": sha(data)}
    )
    assert response.status_code == 401


# -- size limit: an app over the same container with a 1 MB cap --------------------------------


@pytest.fixture(scope="module")
async def small_limit(container: Container) -> AsyncIterator[Client]:
    settings = dataclasses.replace(container.settings, max_media_bytes=MB)
    app: Any = create_app_for(dataclasses.replace(container, settings=settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def large_body(size: int, declared: str, counter: list[int]) -> Iterator[bytes]:
    """A multipart body whose photo (a JPEG head, then zeros) is made 64 KiB at a time."""
    for chunk in (part("sha256", declared.encode()), part("file", b"", "big.jpg")[:-2]):
        yield chunk
    for chunk in photo_chunks(size):
        counter.append(len(chunk))
        yield chunk
    yield b"\r\n" + f"--{BOUNDARY}--\r\n".encode()


def photo_chunks(size: int) -> Iterator[bytes]:
    head = jpeg(JFIF)[:-2]
    yield head
    left = size - len(head)
    while left > 0:
        yield bytes(min(65536, left))
        left -= 65536


def digest_of(chunks: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


async def as_stream(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_an_oversized_photo_is_refused_while_streaming_and_reading_stops(
    small_limit: Client, world: World
) -> None:
    sent: list[int] = []
    body = as_stream(large_body(8 * MB, "0" * 64, sent))  # no Content-Length: chunked

    response = await small_limit.post(
        "/v1/media", headers=raw_headers(world.headers["member_a1"]), content=body
    )

    assert response.status_code == 413, response.text
    assert response.json()["errcode"] == 41310
    assert sum(sent) < 1.2 * MB  # the remaining ~7 MB were never read


async def test_an_announced_oversized_body_is_refused_before_reading(
    small_limit: Client, world: World
) -> None:
    sent: list[int] = []
    headers = {**raw_headers(world.headers["member_a1"]), "Content-Length": str(8 * MB)}

    response = await small_limit.post(
        "/v1/media", headers=headers, content=as_stream(large_body(8 * MB, "0" * 64, sent))
    )

    assert response.status_code == 413
    assert response.json()["errcode"] == 41310
    assert sum(sent) == 0


async def test_a_15_mb_photo_goes_through_to_s3_in_bounded_memory(
    client: Client, world: World, container: Container
) -> None:
    size = 15 * MB
    digest = digest_of(photo_chunks(size))
    headers = raw_headers(world.headers["member_a1"])

    tracemalloc.start()
    try:
        body = as_stream(large_body(size, digest, []))
        response = await client.post("/v1/media", headers=headers, content=body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 201, response.text
    assert response.json()["size"] == size
    assert peak < 2 * MB
    link = await client.get(f"/v1/media/{digest}", headers=world.headers["member_a1"])
    async with httpx.AsyncClient() as s3, s3.stream("GET", link.json()["url"]) as fetched:
        h = hashlib.sha256()
        async for chunk in fetched.aiter_bytes():
            h.update(chunk)
    assert h.hexdigest() == digest


async def test_s3_refuses_bytes_that_do_not_match_the_checksum(container: Container) -> None:
    data = photo()
    key = original_key(sha(data))

    def put_with_wrong_checksum() -> None:
        put_content_addressed(
            container.objects, key, io.BytesIO(data), size=len(data), mime="image/jpeg",
            sha256=sha(b"other"),
        )  # fmt: skip

    with pytest.raises(ObjectStoreRejected) as rejected:
        await to_thread.run_sync(put_with_wrong_checksum)
    assert rejected.value.code == "BadDigest"
    assert not await to_thread.run_sync(lambda: container.objects.exists(key))


# -- reading ----------------------------------------------------------------------------------


async def test_the_signed_url_serves_the_exact_bytes_and_the_read_is_audited(
    client: Client, world: World, container: Container
) -> None:
    data = photo()
    await upload(client, world.headers["member_a1"], data)

    link = await client.get(f"/v1/media/{sha(data)}", headers=world.headers["head_a"])

    assert link.status_code == 200, link.text
    body = link.json()
    assert {k: body[k] for k in ("sha256", "mime", "size")} == {
        "sha256": sha(data),
        "mime": "image/jpeg",
        "size": len(data),
    }
    assert body["url"].startswith(container.s3_endpoint)
    async with httpx.AsyncClient() as s3:
        fetched = await s3.get(body["url"])
        assert fetched.status_code == 200
        assert fetched.content == data
        assert fetched.headers["content-type"] == "image/jpeg"
        tampered = await s3.get(body["url"].replace("X-Amz-Signature=", "X-Amz-Signature=0"))
        assert tampered.status_code == 403
    rows = await access_rows(container, sha(data))
    assert [(r["staff_id"], r["purpose"]) for r in rows] == [(world.staff["head_a"], "view")]


async def test_scope_decides_who_may_read_a_photo(
    client: Client, world: World, container: Container
) -> None:
    data = photo()
    await upload(client, world.headers["member_a1"], data)
    path = f"/v1/media/{sha(data)}"

    answers = {
        who: (await client.get(path, headers=world.headers[who])).status_code
        for who in ("member_a1", "head_a", "supervisor", "member_b1")
    }
    other_grid = await client.get(path, headers=world.headers["member_b1"])

    assert answers == {"member_a1": 200, "head_a": 200, "supervisor": 200, "member_b1": 403}
    assert other_grid.json()["errcode"] == 40301
    readers = {r["staff_id"] for r in await access_rows(container, sha(data))}
    assert world.staff["member_b1"] not in readers  # refused reads read nothing


async def test_unknown_and_malformed_hashes(client: Client, world: World) -> None:
    unknown = await client.get(f"/v1/media/{'0' * 64}", headers=world.headers["admin"])
    malformed = await client.get(f"/v1/media/{'A' * 64}", headers=world.headers["admin"])

    assert (unknown.status_code, unknown.json()["errcode"]) == (404, 40400)
    assert (malformed.status_code, malformed.json()["errcode"]) == (400, 40001)


# -- public copies ----------------------------------------------------------------------------


async def test_a_public_copy_has_no_exif_and_the_original_is_untouched(
    client: Client, world: World, container: Container
) -> None:
    data = photo()
    await upload(client, world.headers["member_a1"], data)
    path = f"/v1/media/{sha(data)}/public-copy"

    refused = await client.post(path, headers=world.headers["head_a"])
    created = await client.post(path, headers=world.headers["supervisor"])
    again = await client.post(path, headers=world.headers["admin"])

    assert (refused.status_code, refused.json()["errcode"]) == (403, 40300)
    assert created.status_code == 201, created.text
    copy = created.json()
    assert copy["key"] == f"public/{copy['public_sha256']}.jpg"
    public = await to_thread.run_sync(lambda: container.objects.get(copy["key"]))
    assert sha(public) == copy["public_sha256"]
    for gone in (b"Exif", GPS_LATITUDE, COM):
        assert gone not in public
    assert PIXELS in public
    original = await to_thread.run_sync(lambda: container.objects.get(original_key(sha(data))))
    assert original == data
    assert (again.status_code, again.json()) == (200, {**copy, "created": False})
    purposes = [r["purpose"] for r in await access_rows(container, sha(data))]
    assert purposes == ["public-copy"]


async def test_heic_photos_are_accepted_but_get_no_public_copy(
    client: Client, world: World
) -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + uuid.uuid4().bytes * 4

    uploaded = await upload(client, world.headers["member_a1"], heic)
    copy = await client.post(
        f"/v1/media/{sha(heic)}/public-copy", headers=world.headers["supervisor"]
    )

    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["mime"] == "image/heic"
    assert (copy.status_code, copy.json()["errcode"]) == (422, 42250)
