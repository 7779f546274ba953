"""Keep credentials that travel in URLs out of the logs.

httpx logs every request line at INFO. Two kinds of URL we send carry a secret in the query:
WeChat's code2Session (the AppSecret and the one-time login code) and S3 presigned URLs (the
SigV4 signature and credential scope, a bearer capability for as long as the URL lives). The
filter rewrites those parameters before any handler formats the record.
"""

from __future__ import annotations

import logging
from typing import Final

import httpx

__all__ = ["REDACTED", "install_url_redaction", "redact_url"]

REDACTED: Final = "REDACTED"
# Query parameters whose value must never be written to a log (compared case-insensitively:
# presigned URLs spell them X-Amz-…, some clients lower-case them).
_SECRET_PARAMS: Final = frozenset(
    {"secret", "js_code", "x-amz-signature", "x-amz-credential", "x-amz-security-token"}
)


def redact_url(url: httpx.URL) -> httpx.URL:
    """``url`` with the value of every secret query parameter replaced by ``REDACTED``."""
    secret_keys = [key for key in url.params if key.lower() in _SECRET_PARAMS]
    for key in secret_keys:
        url = url.copy_set_param(key, REDACTED)
    return url


class _RedactUrlSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_url(arg) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


_FILTER: Final = _RedactUrlSecrets()


def install_url_redaction() -> None:
    """Attach the filter to httpx's logger (idempotent: the same filter object every time)."""
    logging.getLogger("httpx").addFilter(_FILTER)
