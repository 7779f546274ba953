"""A limit on how slowly a request body may arrive (slowloris), as ASGI middleware.

uvicorn limits how long it waits for request *headers* and idle keep-alive connections, but
nothing limits a body: a client that announces a 20 MB photo and sends a byte a minute holds a
connection, a task and a spooled temporary file for ever. Three rules, checked on every piece of
the body the application asks for (in the spirit of Apache's ``mod_reqtimeout``):

* ``idle``: no piece may take longer than this to arrive (a stalled link);
* ``min_rate``: after a head start of ``idle`` seconds, the body must average at least this many
  bytes per second (a trickle that is never quite idle);
* ``deadline``: the whole body must be in within this many seconds.

The defaults (60 s, 1 KiB/s, 2 h) let a phone on a weak 2G uplink (~20 kbit/s, 2.5 KB/s) send a
10 MB photo in ~70 min. A body breaking a rule gets 408 with errcode 40892 and
``Connection: close``, so the server drops the connection instead of reading what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import anyio
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import ApiError
from backend.settings import Settings

__all__ = ["BodyPace", "body_deadline_middleware"]

_CLOSE: Final = (b"connection", b"close")


@dataclass(frozen=True, kw_only=True)
class BodyPace:
    """The three limits, in seconds and bytes per second."""

    idle: float
    min_rate: float
    deadline: float

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyPace:
        return cls(
            idle=settings.body_idle_seconds,
            min_rate=settings.body_min_bytes_per_second,
            deadline=settings.body_deadline_seconds,
        )


class _BodyClock:
    """One request's body: what arrived, since when, and whether a limit was broken."""

    def __init__(self, pace: BodyPace, clock: Callable[[], float]) -> None:
        self._pace, self._clock = pace, clock
        self._start: float | None = None
        self.received = 0
        self.complete = False
        self.tripped = False

    def allowance(self) -> float:
        """Seconds the next piece may take."""
        now = self._clock()
        if self._start is None:
            # From the first read, not the request's arrival: time the server spends before it
            # asks for the body (authentication, a slow database) is not the client's to pay.
            self._start = now
        elapsed = now - self._start
        by_rate = self._pace.idle + self.received / self._pace.min_rate - elapsed
        return min(self._pace.idle, by_rate, self._pace.deadline - elapsed)

    def arrived(self, message: Mapping[str, Any]) -> None:
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        else:  # http.disconnect: nothing more will come
            self.complete = True

    def too_slow(self) -> ApiError:
        self.tripped = True
        return ApiError(
            40892,
            "请求体传输过慢，连接已关闭 / request body too slow; the connection is closed",
            received_bytes=self.received,
            idle_seconds=self._pace.idle,
            min_bytes_per_second=self._pace.min_rate,
            deadline_seconds=self._pace.deadline,
        )


def body_deadline_middleware(
    pace: BodyPace, *, clock: Callable[[], float] = time.monotonic
) -> Callable[[ASGIApp], ASGIApp]:
    """A Litestar ``middleware`` entry: errors it raises go through the app's error mapping."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            body = _BodyClock(pace, clock)
            await app(scope, _paced(receive, body), _closing(send, body))

        return middleware

    return wrap


def _paced(receive: Receive, body: _BodyClock) -> Receive:
    async def paced_receive() -> Any:
        if body.complete:  # later calls wait for a disconnect, which may take any time
            return await receive()
        allowance = body.allowance()
        message = None
        if allowance > 0:
            with anyio.move_on_after(allowance):
                message = await receive()
        if message is None:
            raise body.too_slow()
        body.arrived(message)
        return message

    return paced_receive


def _closing(send: Send, body: _BodyClock) -> Send:
    async def closing_send(message: Message) -> None:
        if body.tripped and message["type"] == "http.response.start":
            # The rest of the body is never read: the connection cannot carry another request.
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"connection"]
            message = {**message, "headers": [*headers, _CLOSE]}
        await send(message)

    return closing_send
