"""An HTTP-aware TCP proxy on 127.0.0.1 that injects the faults of a field network.

Per request, from a seeded RNG, it may:

- ``drop_request``: close the phone's connection without forwarding (the server never saw it);
- ``drop_response``: forward, read the server's whole answer, then close without replying (the
  server did the work, the phone does not know: the case idempotency exists for);
- ``delay``: wait before forwarding or before replying (either way);
- ``duplicate``: forward the same request twice at once and return one answer (a re-send racing
  the original on the server).

Each connection carries one request: the proxy asks the server to close after answering and
closes the phone's side too, so a dropped or duplicated exchange never desynchronises a stream.
Only what this harness sends is understood: requests with a ``Content-Length`` body (httpx
always sends one for the bodies the phones build), answers read to the server's close.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field

__all__ = ["FAULT_KINDS", "FaultProxy", "FaultRates"]

FAULT_KINDS = ("drop_request", "drop_response", "delay", "duplicate")
_HEAD_LIMIT = 64 * 1024
_UPSTREAM_TIMEOUT = 60.0


@dataclass
class FaultRates:
    """Probability of each fault per request (they are drawn in this order, at most one)."""

    drop_request: float = 0.1
    drop_response: float = 0.1
    delay: float = 0.1
    duplicate: float = 0.1
    max_delay_s: float = 0.5

    @classmethod
    def none(cls) -> FaultRates:
        return cls(drop_request=0, drop_response=0, delay=0, duplicate=0)


@dataclass
class FaultProxy:
    """Listens on a free loopback port and forwards to ``upstream_port``."""

    upstream_port: int
    seed: int
    rates: FaultRates = field(default_factory=FaultRates)
    injected: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    upstream_down: int = 0
    """Requests the server could not take (connection refused or reset): restarts, not us."""
    port: int = 0
    _rng: random.Random = field(init=False)
    _server: asyncio.Server | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def calm(self) -> None:
        """No more faults: let everything settle."""
        self.rates = FaultRates.none()

    def _draw(self) -> str | None:
        roll = self._rng.random()
        for kind in FAULT_KINDS:
            roll -= getattr(self.rates, kind)
            if roll < 0:
                return kind
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await _read_request(reader)
            if request is not None:
                await self._forward(request, writer)
        except (
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
        ):
            pass  # the phone went away or sent garbage: its own retry deals with it
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _forward(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        fault = self._draw()
        if fault is not None:
            self.injected[fault] += 1
        if fault == "drop_request":
            return
        delay_before = fault == "delay" and self._rng.random() < 0.5
        pause = self._rng.uniform(0, self.rates.max_delay_s) if fault == "delay" else 0.0
        if delay_before:
            await asyncio.sleep(pause)
        if fault == "duplicate":
            answers = await asyncio.gather(
                self._exchange(request), self._exchange(request), return_exceptions=True
            )
            answer = next((a for a in answers if isinstance(a, bytes)), None)
        else:
            answer = await self._exchange(request)
        if answer is None or fault == "drop_response":
            return
        if fault == "delay" and not delay_before:
            await asyncio.sleep(pause)
        writer.write(answer)
        await writer.drain()

    async def _exchange(self, request: bytes) -> bytes | None:
        """Send ``request`` on a fresh connection; the whole answer, or None if none came."""
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            self.upstream_down += 1
            return None
        try:
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), timeout=_UPSTREAM_TIMEOUT)
        except (OSError, TimeoutError):
            self.upstream_down += 1
            return None
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        return answer or None


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One request, re-headed with ``Connection: close``; None when the phone sent nothing."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as partial:
        if not partial.partial:
            return None
        raise
    if len(head) > _HEAD_LIMIT:
        raise ValueError("request head too large")
    lines = head[:-4].split(b"\r\n")
    kept = [lines[0]]
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"connection":
            continue
        if lowered == b"content-length":
            length = int(value.strip())
        kept.append(line)
    kept.append(b"Connection: close")
    body = await reader.readexactly(length) if length else b""
    return b"\r\n".join(kept) + b"\r\n\r\n" + body
