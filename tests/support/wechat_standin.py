"""A local stand-in for WeChat's ``code2Session`` endpoint, served over real HTTP.

It mimics what matters to a client: HTTP 200 for everything on the endpoint, a ``text/plain``
JSON body, no ``errcode`` on success, codes valid five minutes and usable once.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

__all__ = ["CODE_TTL_SECONDS", "ManualClock", "WeChatStandIn"]

CODE_TTL_SECONDS = 300.0
_PATH = "/sns/jscode2session"
_ERRMSG = {
    -1: "system error",
    40013: "invalid appid",
    40029: "invalid code",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "high risk user",
    41008: "missing code",
    45011: "api minute-quota reach limit mustslower retry next minute",
}


class ManualClock:
    """A clock the test moves by hand, so expiry needs no ``sleep()``."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Code:
    openid: str
    unionid: str | None
    issued_at: float
    used: bool = False


class WeChatStandIn:
    """Use as a context manager, or ``start()``/``stop()``. All methods are thread-safe."""

    def __init__(
        self,
        *,
        appid: str = "wx-standin-appid",
        secret: str = "standin-secret",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.appid = appid
        self.secret = secret
        self._clock = clock
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._sticky: dict[str, int] = {}
        self._next_failures: list[int] = []
        self._garble_next = False
        self._calls = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- test controls -------------------------------------------------------------------

    def issue_code(self, openid: str, *, unionid: str | None = None) -> str:
        """What ``wx.login`` would hand the phone: a fresh code for this user."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(openid, unionid, self._clock())
        return code

    def failing_code(self, wx_errcode: int) -> str:
        """A code that answers ``wx_errcode`` every time (e.g. 45011, 40226, -1)."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._sticky[code] = wx_errcode
        return code

    def fail_next(self, wx_errcode: int) -> None:
        """The next request, whatever its code, answers ``wx_errcode``."""
        with self._lock:
            self._next_failures.append(wx_errcode)

    def garble_next(self) -> None:
        """The next request gets a body that is not JSON, as a broken proxy would send."""
        with self._lock:
            self._garble_next = True

    @property
    def calls(self) -> int:
        with self._lock:
            return self._calls

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("stand-in not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the endpoint --------------------------------------------------------------------

    def answer(self, query: dict[str, str]) -> dict[str, Any] | None:
        """The JSON WeChat would send for this query; ``None`` means "send garbage"."""
        with self._lock:
            self._calls += 1
            if self._garble_next:
                self._garble_next = False
                return None
            wx_errcode = self._failure_for(query)
            if wx_errcode is not None:
                return _error(wx_errcode)
            return self._redeem(query["js_code"])

    def _failure_for(self, query: dict[str, str]) -> int | None:
        # Same precedence as WeChat: credentials first, then the code itself.
        if query.get("appid") != self.appid:
            return 40013
        if query.get("secret") != self.secret:
            return 40125
        if not query.get("js_code"):
            return 41008
        if self._next_failures:
            return self._next_failures.pop(0)
        return self._sticky.get(query["js_code"])

    def _redeem(self, code: str) -> dict[str, Any]:
        grant = self._codes.get(code)
        if grant is None or self._clock() - grant.issued_at >= CODE_TTL_SECONDS:
            return _error(40029)
        if grant.used:
            return _error(40163)
        grant.used = True
        reply = {"openid": grant.openid, "session_key": secrets.token_urlsafe(16)}
        return reply | ({"unionid": grant.unionid} if grant.unionid else {})


def _error(wx_errcode: int) -> dict[str, Any]:
    rid = secrets.token_hex(8)
    return {"errcode": wx_errcode, "errmsg": f"{_ERRMSG.get(wx_errcode, 'error')}, rid: {rid}"}


def _handler_for(standin: WeChatStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != _PATH:
                self._send(404, b"not found")
                return
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            reply = standin.answer(query)
            self._send(200, b"<html>502</html>" if reply is None else json.dumps(reply).encode())

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            # WeChat labels this JSON as text/plain; clients must not trust the header.
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # Silent: the query string carries the secret, and test output should stay clean.
            return

    return Handler
