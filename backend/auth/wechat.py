"""WeChat mini-program login: ``code2Session`` client, its port and an in-memory fake.

Privacy rule 8: the AppSecret and ``session_key`` never leave this server and the raw openid is
never logged nor put into an exception; store it only as :func:`hash_openid`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from types import TracebackType
from typing import Final, NamedTuple, Protocol, Self

import httpx
import msgspec

from backend.log_redaction import install_url_redaction

__all__ = [
    "CodeExchanger",
    "FakeCodeExchanger",
    "WeChatClient",
    "WeChatLoginError",
    "WeChatSession",
    "hash_openid",
]

_log = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.weixin.qq.com"
# A wx.login code is a short token; anything else is rejected before spending WeChat's quota.
_MAX_CODE_LENGTH: Final = 128


@dataclass(frozen=True, slots=True)
class WeChatSession:
    """What code2Session tells us. ``repr`` hides the identifiers so a stray log line is safe."""

    openid: str = field(repr=False)
    session_key: str = field(repr=False)
    unionid: str | None = field(default=None, repr=False)


class _Mapping(NamedTuple):
    errcode: int
    http_status: int
    errmsg: str
    retryable: bool


# Our errcodes are stable API for the phone; WeChat's are an implementation detail behind them.
_WX_ERRORS: Final[dict[int, _Mapping]] = {
    40029: _Mapping(40120, 401, "登录码无效，请重新登录 / invalid login code, log in again", False),
    40163: _Mapping(40121, 401, "登录码已使用，请重新登录 / login code already used", False),
    45011: _Mapping(42910, 429, "登录过于频繁，请稍后再试 / too many logins, retry later", True),
    40226: _Mapping(40320, 403, "微信判定账号存在风险 / WeChat flagged account as risky", False),
    -1: _Mapping(50310, 503, "微信系统繁忙，请稍后再试 / WeChat is busy, retry later", True),
}
_UNAVAILABLE: Final = _Mapping(50311, 503, "无法连接微信，请稍后再试 / WeChat unreachable", True)
_UNEXPECTED: Final = _Mapping(50210, 502, "微信登录失败 / WeChat login failed", False)
_BAD_CODE: Final = _WX_ERRORS[40029]


class WeChatLoginError(Exception):
    """A failed login, already translated into our errcode and HTTP status.

    ``wx_errcode`` is WeChat's code for our logs (0 when WeChat gave none). The message never
    contains the code, openid, session_key or secret.
    """

    def __init__(self, mapping: _Mapping, *, wx_errcode: int) -> None:
        self.errcode = mapping.errcode
        self.http_status = mapping.http_status
        self.errmsg = mapping.errmsg
        self.retryable = mapping.retryable
        self.wx_errcode = wx_errcode
        super().__init__(f"{self.errcode} (wx {wx_errcode}): {self.errmsg}")

    @classmethod
    def from_wx(cls, wx_errcode: int) -> WeChatLoginError:
        return cls(_WX_ERRORS.get(wx_errcode, _UNEXPECTED), wx_errcode=wx_errcode)


class CodeExchanger(Protocol):
    """The port the login service depends on: turn a ``wx.login`` code into a session."""

    async def code_to_session(self, code: str) -> WeChatSession: ...


def hash_openid(openid: str, *, pepper: bytes) -> str:
    """Keyed hash of an openid for storage; a pepper defeats lookup tables of known openids."""
    if not pepper:
        raise ValueError("pepper must not be empty")
    return hmac.new(pepper, openid.encode(), hashlib.sha256).hexdigest()


class _Reply(msgspec.Struct):
    # WeChat omits errcode on success and sometimes sends 0; both mean success.
    errcode: int = 0
    errmsg: str = ""
    openid: str = ""
    session_key: str = ""
    unionid: str | None = None


_reply_decoder: Final = msgspec.json.Decoder(_Reply)


def _check_code(code: str) -> None:
    if not code or len(code) > _MAX_CODE_LENGTH or not code.isprintable():
        raise WeChatLoginError(_BAD_CODE, wx_errcode=0)


def _parse_reply(response: httpx.Response) -> WeChatSession:
    # WeChat answers 200 even for errors, often as text/plain, so the body alone decides.
    if response.status_code != httpx.codes.OK:
        raise WeChatLoginError(_UNAVAILABLE, wx_errcode=0)
    try:
        reply = _reply_decoder.decode(response.content)
    except msgspec.DecodeError:
        raise WeChatLoginError(_UNAVAILABLE, wx_errcode=0) from None
    if reply.errcode != 0:
        raise WeChatLoginError.from_wx(reply.errcode)
    if not reply.openid or not reply.session_key:
        raise WeChatLoginError(_UNEXPECTED, wx_errcode=0)
    return WeChatSession(reply.openid, reply.session_key, reply.unionid or None)


class WeChatClient:
    """``code2Session`` over HTTP. Use as ``async with`` or call :meth:`aclose`.

    An injected ``client`` stays owned by the caller; otherwise one is created and closed here.
    """

    def __init__(
        self,
        *,
        appid: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._appid = appid
        self._secret = secret
        self._url = f"{base_url.rstrip('/')}/sns/jscode2session"
        # Short timeout: the phone waits on us, and its own request gives up after 60 s.
        self._timeout = httpx.Timeout(timeout)
        self._owns_client = client is None
        install_url_redaction()  # code2Session's URL carries the AppSecret
        self._client = client if client is not None else httpx.AsyncClient(timeout=self._timeout)

    async def code_to_session(self, code: str) -> WeChatSession:
        _check_code(code)
        response = await self._get(code)
        try:
            return _parse_reply(response)
        except WeChatLoginError as error:
            _log.warning("code2Session failed: errcode=%s wx=%s", error.errcode, error.wx_errcode)
            raise

    async def _get(self, code: str) -> httpx.Response:
        params = {
            "appid": self._appid,
            "secret": self._secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            return await self._client.get(self._url, params=params, timeout=self._timeout)
        except httpx.HTTPError as error:
            # The URL holds the AppSecret, so neither the httpx error nor its chain may escape.
            _log.warning("code2Session unreachable: %s", type(error).__name__)
            raise WeChatLoginError(_UNAVAILABLE, wx_errcode=0) from None

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@dataclass
class _Grant:
    openid: str
    unionid: str | None
    used: bool = False


class FakeCodeExchanger:
    """In-memory :class:`CodeExchanger` for unit tests: single-use codes, errors on demand."""

    def __init__(self) -> None:
        self._grants: dict[str, _Grant] = {}
        self._failures: list[int] = []
        self.calls = 0

    def issue_code(self, openid: str, *, unionid: str | None = None) -> str:
        code = secrets.token_urlsafe(16)
        self._grants[code] = _Grant(openid, unionid)
        return code

    def fail_next(self, wx_errcode: int) -> None:
        self._failures.append(wx_errcode)

    async def code_to_session(self, code: str) -> WeChatSession:
        self.calls += 1
        if self._failures:
            raise WeChatLoginError.from_wx(self._failures.pop(0))
        grant = self._grants.get(code)
        if grant is None:
            raise WeChatLoginError.from_wx(40029)
        if grant.used:
            raise WeChatLoginError.from_wx(40163)
        grant.used = True
        return WeChatSession(grant.openid, secrets.token_urlsafe(16), grant.unionid)
