"""Upload abuse: decompression bombs, polyglots, 100 MB bodies, trickled bodies, hostile file
names and malformed multiparts. Each is accepted or refused cleanly with a documented errcode;
nothing crashes, nothing decodes pixels, and a refused upload leaves nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from anyio import to_thread
from litestar.enums import ScopeType

from backend.app import create_app_for
from backend.bootstrap import Container
from backend.errors import ApiError
from backend.http.body_deadline import BodyPace, body_deadline_middleware
from backend.server import AnnouncingServer
from backend.settings import load_settings
from storage.image_stream import strip_metadata
from storage.media import original_key
from storage.objects import S3ObjectStore
from tests.integration.test_media_api import (
    BOUNDARY,
    MB,
    as_stream,
    bucket_keys,
    digest_of,
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
    APP1,
    DHT_AC,
    DHT_DC,
    DQT,
    GPS_LATITUDE,
    JFIF,
    PIXELS,
    SCAN,
    SOF0,
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


# -- a 20 MB public copy ----------------------------------------------------------------------


def big_photo_chunks(size: int) -> Iterator[bytes]:
    """A ``size``-byte JPEG with EXIF GPS whose scan data (zeros) comes 64 KiB at a time."""
    head = b"\xff\xd8" + JFIF + APP1 + DQT + SOF0 + DHT_DC + DHT_AC + SOS
    yield head
    left = size - len(head) - 2
    while left > 0:
        yield bytes(min(65536, left))
        left -= 65536
    yield b"\xff\xd9"


@pytest.fixture(scope="module")
async def roomy(container: Container) -> AsyncIterator[Client]:
    """The app taking photos up to 21 MB (a 20 MB photo plus its multipart framing)."""
    settings = dataclasses.replace(container.settings, max_media_bytes=21 * MB)
    app: Any = create_app_for(dataclasses.replace(container, settings=settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_the_public_copy_of_a_20_mb_photo_is_streamed_in_bounded_memory(
    roomy: Client, world: World, container: Container
) -> None:
    # given a 20 MB photo with EXIF GPS, uploaded as evidence
    size = 20 * MB
    digest = digest_of(big_photo_chunks(size))
    body = as_stream(large_body_of(big_photo_chunks(size), digest))
    uploaded = await roomy.post(
        "/v1/media", headers=raw_headers(world.headers["member_a1"]), content=body
    )
    assert uploaded.status_code == 201, uploaded.text
    # when a supervisor asks for its public copy
    copy, peak = await public_copy_in_bounded_memory(roomy, world, digest)
    # then it is built in under 1 MB of memory (~0.4 MB measured; reading it whole took ~40 MB)
    assert copy.status_code == 201, copy.text
    assert peak < MB, peak
    # and it is exactly what the in-memory stripper makes: the GPS is gone, the pixels kept
    expected = strip_metadata(b"".join(big_photo_chunks(size)), "image/jpeg")
    store = container.objects
    assert isinstance(store, S3ObjectStore)
    with contextlib.closing(store.open(copy.json()["key"])) as public:
        assert digest_of(iter(lambda: public.read(MB), b"")) == sha(expected)
    assert copy.json()["public_sha256"] == sha(expected)
    assert GPS_LATITUDE not in expected


def large_body_of(photo_chunks: Iterator[bytes], declared: str) -> Iterator[bytes]:
    yield part("sha256", declared.encode())
    yield part("file", b"", "big.jpg")[:-2]
    yield from photo_chunks
    yield b"\r\n" + f"--{BOUNDARY}--\r\n".encode()


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


async def test_the_signed_url_of_an_original_downloads_it_as_its_stored_type(
    client: Client, world: World, container: Container
) -> None:
    # given an uploaded polyglot (a JPEG carrying an HTML page)
    polyglot = jpeg(JFIF, PIXELS, trailer=HTML)
    uploaded = await upload(client, world.headers["member_a1"], polyglot)
    assert uploaded.status_code == 201, uploaded.text
    # when its signed URL is fetched from the real S3 server
    link = await client.get(f"/v1/media/{sha(polyglot)}", headers=world.headers["member_a1"])
    async with httpx.AsyncClient() as s3:
        served = await s3.get(link.json()["url"])
    # then the response says "download this JPEG", never "render this", and is not cached
    assert served.status_code == 200
    assert served.content == polyglot
    assert served.headers["content-type"] == "image/jpeg"
    disposition = served.headers["content-disposition"]
    assert disposition == f'attachment; filename="{sha(polyglot)[:16]}.jpg"'
    assert served.headers["cache-control"] == "private, no-store"
    # (SeaweedFS, like S3, has no way to add X-Content-Type-Options; attachment covers it)
    # and the object itself carries the disposition, for any GET that names no override
    store = container.objects
    assert isinstance(store, S3ObjectStore)
    stat = await to_thread.run_sync(
        lambda: store.client.stat_object(store.bucket, original_key(sha(polyglot)))
    )
    assert stat.metadata is not None
    assert stat.metadata["Content-Disposition"] == "attachment"


async def test_a_signed_url_whose_overrides_are_edited_is_refused_by_s3(
    client: Client, world: World
) -> None:
    # given a signed URL for a photo
    data = photo()
    assert (await upload(client, world.headers["member_a1"], data)).status_code in {200, 201}
    url = (await client.get(f"/v1/media/{sha(data)}", headers=world.headers["member_a1"])).json()
    # when its holder edits the overrides to have the photo rendered as a page
    tampered = (
        url["url"]
        .replace("response-content-type=image%2Fjpeg", "response-content-type=text%2Fhtml")
        .replace("attachment", "inline")
    )
    assert tampered != url["url"]
    async with httpx.AsyncClient() as s3:
        served = await s3.get(tampered)
    # then the signature no longer matches
    assert served.status_code == 403


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


@pytest.fixture(scope="module")
async def impatient(container: Container) -> AsyncIterator[Client]:
    """The app with a 0.5 s idle limit and a 2 KB/s minimum body rate."""
    app = _impatient_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def _impatient_app(container: Container) -> Any:
    settings = dataclasses.replace(
        container.settings, body_idle_seconds=0.5, body_min_bytes_per_second=2048
    )
    return create_app_for(dataclasses.replace(container, settings=settings))


def _half_then(body: bytes, rest: Callable[[bytes], AsyncIterator[bytes]]) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        yield body[: len(body) // 2]
        async for piece in rest(body[len(body) // 2 :]):
            yield piece

    return chunks()


async def _stall(_: bytes) -> AsyncIterator[bytes]:
    await asyncio.Event().wait()  # never set: the link went quiet
    yield b""


async def _drip(rest: bytes) -> AsyncIterator[bytes]:
    for i in range(len(rest)):  # ten bytes a second, never idle for long
        await asyncio.sleep(0.1)
        yield rest[i : i + 1]


@pytest.mark.parametrize("how", ["stalls", "drips below the minimum rate"])
async def test_a_slow_photo_body_is_cut_off_with_408_and_nothing_is_stored(
    impatient: Client, world: World, container: Container, how: str
) -> None:
    # given a photo whose body stops halfway, or goes on at ten bytes a second
    data = photo()
    body = multipart(part("sha256", sha(data).encode()), part("file", data, "slow.jpg"))
    rest = {"stalls": _stall, "drips below the minimum rate": _drip}[how]
    # when it is uploaded to a server that allows 0.5 s pauses and 2 KB/s
    started = asyncio.get_running_loop().time()
    response = await asyncio.wait_for(  # without the limit it would wait for ever: fail instead
        impatient.post(
            "/v1/media",
            headers=raw_headers(world.headers["member_a1"]),
            content=_half_then(body, rest),
        ),
        timeout=10,
    )
    took = asyncio.get_running_loop().time() - started
    # then it is refused as too slow, the connection is to be closed, and nothing is stored
    assert (response.status_code, response.json()["errcode"]) == (408, 40892)
    assert response.headers["connection"] == "close"
    assert 0 < response.json()["received_bytes"] < len(body)
    assert took < 5
    assert not await to_thread.run_sync(lambda: container.objects.exists(original_key(sha(data))))


async def test_a_stalled_json_body_is_cut_off_with_408(impatient: Client, world: World) -> None:
    body = b'{"protocol":1,"device_id":"device-member_a1","events":[]}'
    headers = {**world.headers["member_a1"], "Content-Type": "application/json"}

    response = await asyncio.wait_for(
        impatient.post("/v1/sync/push", headers=headers, content=_half_then(body, _stall)),
        timeout=10,
    )

    assert (response.status_code, response.json()["errcode"]) == (408, 40892)


async def test_a_stalled_body_frees_the_real_servers_connection(
    container: Container, world: World
) -> None:
    # given the app behind a real uvicorn server
    listening = asyncio.Event()
    server = AnnouncingServer(
        uvicorn.Config(
            _impatient_app(container),
            host="127.0.0.1",
            port=0,
            log_level="error",
            timeout_graceful_shutdown=2,
        ),
        announce=listening.set,
    )
    serving = asyncio.create_task(server.serve())
    await asyncio.wait_for(listening.wait(), timeout=10)
    port = server.servers[0].sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        # when a client announces a 100 kB photo, sends 100 bytes and goes quiet
        auth = world.headers["member_a1"]["Authorization"]
        writer.write(
            f"POST /v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            "Content-Length: 100000\r\n\r\n".encode()
            + b"x" * 100
        )
        await writer.drain()
        # then it gets 408 / 40892, and the server closes the connection (EOF, not a hang)
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
        server.should_exit = True
        await serving
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"errcode":40892' in answer


async def test_a_10_mb_photo_over_a_weak_2g_uplink_is_not_cut_off_but_a_slowloris_is(
    tmp_path: Path,
) -> None:
    # given the default limits and a link that delivers one piece a second (a fake clock)
    pace = BodyPace.from_settings(load_settings({"GRIDLEDGER_VAR_DIR": str(tmp_path)}))
    assert (pace.idle, pace.min_rate, pace.deadline) == (60, 1024, 7200)
    # when a 10 MB photo arrives at 20 kbit/s (2.5 KB/s), and a slowloris sends 100 B/s
    photo_seconds = await _seconds_until_done_or_cut(pace, rate=2500, size=10 * MB)
    slowloris_seconds = await _seconds_until_done_or_cut(pace, rate=100, size=10 * MB)
    # then the photo completes (~70 min) and the slowloris is cut off after about a minute
    assert photo_seconds == ("done", 4195)
    assert slowloris_seconds[0] == "cut: 40892"
    assert 60 < slowloris_seconds[1] < 70


async def _seconds_until_done_or_cut(pace: BodyPace, *, rate: int, size: int) -> tuple[str, int]:
    """Feed a body of ``size`` bytes, ``rate`` bytes per (fake) second, through the limits."""
    now = [0.0]
    sent = [0]

    async def receive() -> dict[str, Any]:
        now[0] += 1
        piece = min(rate, size - sent[0])
        sent[0] += piece
        return {"type": "http.request", "body": bytes(piece), "more_body": sent[0] < size}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        while (await receive())["more_body"]:
            pass

    async def send(message: Any) -> None:
        raise AssertionError("the app sends nothing")

    wrapped = body_deadline_middleware(pace, clock=lambda: now[0])(app)
    try:
        await wrapped({"type": ScopeType.HTTP}, receive, send)  # type: ignore[arg-type]
    except ApiError as error:
        return f"cut: {error.errcode}", int(now[0])
    return "done", int(now[0])


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
