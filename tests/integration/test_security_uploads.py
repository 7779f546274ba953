"""Upload abuse: decompression bombs, polyglots, 100 MB bodies, trickled bodies, hostile file
names and malformed multiparts. Each is accepted or refused cleanly with a documented errcode;
nothing crashes, nothing decodes pixels, and a refused upload leaves nothing behind."""

from __future__ import annotations

import asyncio
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from anyio import to_thread

from backend.bootstrap import Container
from storage.media import original_key
from tests.integration.test_media_api import (
    MB,
    as_stream,
    bucket_keys,
    large_body,
    multipart,
    part,
    photo,
    raw_headers,
    sha,
    upload,
)
from tests.support.world import World
from tests.unit.storage.test_images import (
    DHT_AC,
    DHT_DC,
    DQT,
    JFIF,
    PIXELS,
    SCAN,
    SOS,
    jpeg,
    png_chunk,
    segment,
)

Client = httpx.AsyncClient
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_bomb(*, inflated: int) -> bytes:
    """A PNG declaring 100000x100000 RGB pixels whose IDAT inflates to ``inflated`` zero bytes."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
    squeezer, zeros, idat = zlib.compressobj(9), bytes(MB), bytearray()
    for _ in range(inflated // MB):
        idat += squeezer.compress(zeros)
    idat += squeezer.flush()
    return PNG_SIGNATURE + ihdr + png_chunk(b"IDAT", bytes(idat)) + png_chunk(b"IEND", b"")


def jpeg_bomb(marker: int) -> bytes:
    """A JPEG whose start-of-frame ``marker`` declares 65535x65535 pixels (the format's max)."""
    frame = segment(marker, b"\x08" + struct.pack(">HH", 65535, 65535) + b"\x01\x01\x11\x00")
    return jpeg(JFIF, DQT, frame, DHT_DC, DHT_AC, SOS, SCAN)


async def public_copy_in_bounded_memory(
    client: Client, world: World, digest: str
) -> tuple[httpx.Response, int]:
    tracemalloc.start()
    try:
        response = await client.post(
            f"/v1/media/{digest}/public-copy", headers=world.headers["supervisor"]
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return response, peak


# -- decompression bombs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("png 100000x100000, IDAT inflating to 64 MB", "image/png"),
        ("baseline jpeg 65535x65535", "image/jpeg"),
        ("progressive jpeg 65535x65535", "image/jpeg"),
    ],
)
async def test_a_decompression_bomb_is_stored_and_copied_without_decoding_its_pixels(
    client: Client, world: World, container: Container, name: str, mime: str
) -> None:
    # given a small file that declares billions of pixels
    bomb = {
        "png 100000x100000, IDAT inflating to 64 MB": lambda: png_bomb(inflated=64 * MB),
        "baseline jpeg 65535x65535": lambda: jpeg_bomb(0xC0),
        "progressive jpeg 65535x65535": lambda: jpeg_bomb(0xC2),
    }[name]()
    assert len(bomb) < 128 * 1024
    # when it is uploaded as evidence and a public copy is asked for
    tracemalloc.start()
    try:
        uploaded = await upload(client, world.headers["member_a1"], bomb)
        _, upload_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    copy, copy_peak = await public_copy_in_bounded_memory(client, world, sha(bomb))
    # then both succeed in bounded memory: the stripper copies image data, it never inflates it
    assert uploaded.status_code == 201, uploaded.text
    assert (uploaded.json()["mime"], uploaded.json()["size"]) == (mime, len(bomb))
    assert copy.status_code == 201, copy.text
    assert max(upload_peak, copy_peak) < 2 * MB
    public = await to_thread.run_sync(lambda: container.objects.get(copy.json()["key"]))
    assert len(public) <= len(bomb)  # the declared size survives; the pixels never existed
    link = await client.get(f"/v1/media/{sha(bomb)}", headers=world.headers["member_a1"])
    assert link.status_code == 200
    assert link.json()["size"] == len(bomb)


# -- polyglots --------------------------------------------------------------------------------

HTML = b"<html><body><script>fetch('/v1/me').then(r=>r.text()).then(alert)</script></body></html>"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x00\x00" + bytes(16) + b"\x05\x00\x00\x00a.htmlhello"


async def test_a_jpeg_carrying_html_and_zip_is_stored_as_a_jpeg_and_its_payload_is_not_public(
    client: Client, world: World, container: Container
) -> None:
    # given a real JPEG with an HTML page and a zip archive after its end marker
    polyglot = jpeg(JFIF, PIXELS, trailer=HTML + ZIP)
    # when it is uploaded with an HTML name and part type
    uploaded = await client.post(
        "/v1/media",
        headers=world.headers["member_a1"],
        files={"file": ("index.html", polyglot, "text/html")},
        data={"sha256": sha(polyglot)},
    )
    link = await client.get(f"/v1/media/{sha(polyglot)}", headers=world.headers["member_a1"])
    copy = await client.post(
        f"/v1/media/{sha(polyglot)}/public-copy", headers=world.headers["supervisor"]
    )
    # then the type comes from the bytes and the object lives only under its hash
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["mime"] == "image/jpeg"
    keys = await to_thread.run_sync(lambda: bucket_keys(container))
    assert original_key(sha(polyglot)) in keys
    assert not [k for k in keys if k.endswith((".html", ".zip"))]
    # and the signed URL serves the evidence bit-exact, declared as a JPEG, never as HTML
    assert link.json()["mime"] == "image/jpeg"
    async with httpx.AsyncClient() as s3:
        served = await s3.get(link.json()["url"])
    assert served.status_code == 200
    assert served.content == polyglot
    assert served.headers["content-type"] == "image/jpeg"
    # and the public copy ends at the JPEG's end marker: the payload is not published
    assert copy.status_code == 201, copy.text
    public = await to_thread.run_sync(lambda: container.objects.get(copy.json()["key"]))
    assert public.endswith(b"\xff\xd9")
    assert b"<script>" not in public
    assert b"PK\x03\x04" not in public


# -- 100 MB bodies ----------------------------------------------------------------------------

HUNDRED_MB = 100 * MB


async def test_a_100_mb_photo_announced_is_refused_before_reading(
    client: Client, world: World, container: Container
) -> None:
    sent: list[int] = []
    headers = {**raw_headers(world.headers["member_a1"]), "Content-Length": str(HUNDRED_MB)}

    response = await client.post(
        "/v1/media", headers=headers, content=as_stream(large_body(HUNDRED_MB, "0" * 64, sent))
    )

    assert (response.status_code, response.json()["errcode"]) == (413, 41310)
    assert sum(sent) == 0


async def test_a_100_mb_photo_not_announced_is_refused_while_streaming(
    client: Client, world: World, container: Container
) -> None:
    sent: list[int] = []
    limit = container.settings.max_media_bytes

    response = await client.post(
        "/v1/media",
        headers=raw_headers(world.headers["member_a1"]),
        content=as_stream(large_body(HUNDRED_MB, "0" * 64, sent)),  # no Content-Length: chunked
    )

    assert (response.status_code, response.json()["errcode"]) == (413, 41310)
    assert sum(sent) < limit + MB  # the remaining ~80 MB were never read


def json_chunks(size: int, counter: list[int]) -> Iterator[bytes]:
    """A sync push body whose one string field is ``size`` bytes long, 64 KiB at a time."""
    yield b'{"protocol":1,"device_id":"device-member_a1","events":[],"padding":"'
    for start in range(0, size, 65536):
        chunk = b"x" * min(65536, size - start)
        counter.append(len(chunk))
        yield chunk
    yield b'"}'


async def aiter(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.mark.parametrize("announced", [True, False], ids=["announced", "chunked"])
async def test_a_100_mb_json_body_is_refused_with_41300_and_reading_stops(
    client: Client, world: World, container: Container, announced: bool
) -> None:
    sent: list[int] = []
    headers = {**world.headers["member_a1"], "Content-Type": "application/json"}
    if announced:
        headers["Content-Length"] = str(HUNDRED_MB + 72)

    response = await client.post(
        "/v1/sync/push", headers=headers, content=aiter(json_chunks(HUNDRED_MB, sent))
    )

    assert (response.status_code, response.json()["errcode"]) == (413, 41300)
    if announced:
        assert sum(sent) == 0
    else:  # the app-wide JSON cap (1 MB) ends reading; the other ~99 MB are never pulled
        assert sum(sent) < container.settings.max_body_bytes + MB


# -- a slow body ------------------------------------------------------------------------------


async def test_a_trickled_upload_completes_while_the_server_answers_others(
    client: Client, world: World
) -> None:
    # given a photo whose body arrives in pieces with pauses, like a weak 2G link
    data = photo()
    body = multipart(part("sha256", sha(data).encode()), part("file", data, "slow.jpg"))
    answered_meanwhile = asyncio.Event()

    async def trickle() -> AsyncIterator[bytes]:
        pieces = [body[i : i + 64] for i in range(0, len(body), 64)]
        for n, piece in enumerate(pieces):
            yield piece
            await asyncio.sleep(0.05)
            if n == len(pieces) // 2:  # halfway: hold the rest until another caller is served
                await asyncio.wait_for(answered_meanwhile.wait(), timeout=5)

    # when another member reads while the upload is halfway through its body
    slow = asyncio.create_task(
        client.post("/v1/media", headers=raw_headers(world.headers["member_a1"]), content=trickle())
    )
    await asyncio.sleep(0.2)
    other = await client.get("/v1/me", headers=world.headers["member_b1"])
    answered_meanwhile.set()
    uploaded = await slow
    # then the other request was answered mid-upload, and the upload still completes
    assert other.status_code == 200
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["sha256"] == sha(data)


# -- file names and multipart shape ------------------------------------------------------------


@pytest.mark.parametrize(
    "filename",
    [
        "../../../../var/lib/gridledger/x.jpg",
        "..\\..\\windows\\system32\\x.jpg",
        "/etc/passwd",
        "photo\x00.html",
        "照片" * 200 + ".jpg",
    ],
    ids=["dotdot", "backslash", "absolute", "nul", "long-utf8"],
)
async def test_a_hostile_file_name_is_ignored_and_the_photo_lives_only_under_its_hash(
    client: Client, world: World, container: Container, filename: str
) -> None:
    data = photo()
    body = multipart(part("sha256", sha(data).encode()), part("file", data, filename))

    response = await client.post(
        "/v1/media", headers=raw_headers(world.headers["member_a1"]), content=body
    )

    assert response.status_code == 201, response.text
    keys = await to_thread.run_sync(lambda: bucket_keys(container))
    assert original_key(sha(data)) in keys
    assert not [k for k in keys if not k.startswith(("photos/sha256/", "public/"))]
    assert not [k for k in keys if ".." in k or "\x00" in k or "照片" in k or "passwd" in k]


async def test_a_file_name_longer_than_a_part_header_may_be_is_refused_as_malformed(
    client: Client, world: World, container: Container
) -> None:
    data = photo()
    body = multipart(part("sha256", sha(data).encode()), part("file", data, "a" * 100_000))

    response = await client.post(
        "/v1/media", headers=raw_headers(world.headers["member_a1"]), content=body
    )

    assert (response.status_code, response.json()["errcode"]) == (400, 40051)
    assert not await to_thread.run_sync(lambda: container.objects.exists(original_key(sha(data))))


@pytest.mark.parametrize("shape", ["two file parts", "no file part", "file part twice named"])
async def test_a_multipart_without_exactly_one_file_part_is_refused(
    client: Client, world: World, container: Container, shape: str
) -> None:
    data, other = photo(), photo()
    declared = part("sha256", sha(data).encode())
    body = {
        "two file parts": multipart(declared, part("file", data, "a.jpg"), part("file", other)),
        "no file part": multipart(declared, part("photo", data, "a.jpg")),
        "file part twice named": multipart(declared, part("file", data), part("file", data)),
    }[shape]

    response = await client.post(
        "/v1/media", headers=raw_headers(world.headers["member_a1"]), content=body
    )

    assert (response.status_code, response.json()["errcode"]) == (400, 40051)
    keys = await to_thread.run_sync(lambda: bucket_keys(container))
    assert original_key(sha(data)) not in keys
    assert original_key(sha(other)) not in keys
