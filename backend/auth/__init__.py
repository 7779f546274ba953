"""Authentication: WeChat login and our own tokens. Import from here, not from the submodules."""

from backend.auth.tokens import (
    BINDING_CODE_ALPHABET,
    AccessClaims,
    AccessTokenCodec,
    TokenError,
    check_refresh,
    hash_binding_code,
    hash_refresh_token,
    new_binding_code,
    new_refresh_token,
)
from backend.auth.wechat import (
    CodeExchanger,
    FakeCodeExchanger,
    WeChatClient,
    WeChatLoginError,
    WeChatSession,
    hash_openid,
)

__all__ = [
    "BINDING_CODE_ALPHABET",
    "AccessClaims",
    "AccessTokenCodec",
    "CodeExchanger",
    "FakeCodeExchanger",
    "TokenError",
    "WeChatClient",
    "WeChatLoginError",
    "WeChatSession",
    "check_refresh",
    "hash_binding_code",
    "hash_openid",
    "hash_refresh_token",
    "new_binding_code",
    "new_refresh_token",
]
