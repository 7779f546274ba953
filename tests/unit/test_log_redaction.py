"""Credentials carried in URLs never reach the logs (httpx logs every request line)."""

from __future__ import annotations

import logging

import httpx
import pytest
from minio import Minio

from backend.log_redaction import REDACTED, install_url_redaction, redact_url

_S3_SECRET = "s3-secret-key-never-logged"


def _presigned_put() -> str:
    # region given: no round trip to ask for the bucket's (port 9 has nobody listening)
    client = Minio(
        "127.0.0.1:9",
        access_key="AKIDEXAMPLE",
        secret_key=_S3_SECRET,
        secure=False,
        region="us-east-1",
    )
    return client.get_presigned_url("PUT", "photos", "originals/ab/abcd")


def test_a_presigned_url_keeps_its_path_and_loses_its_signature_and_credential() -> None:
    # given a presigned PUT the media store sends through httpx
    url = httpx.URL(_presigned_put())
    signature = url.params["X-Amz-Signature"]

    # when it is redacted
    redacted = redact_url(url)

    # then the capability is gone and what an operator needs to read the log is still there
    assert signature not in str(redacted)
    assert "AKIDEXAMPLE" not in str(redacted)
    assert redacted.params["X-Amz-Signature"] == REDACTED
    assert redacted.params["X-Amz-Credential"] == REDACTED
    assert redacted.path == url.path
    assert redacted.params["X-Amz-Expires"] == url.params["X-Amz-Expires"]


def test_httpx_request_lines_are_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    # given the filter on httpx's logger and a request line as httpx logs it
    install_url_redaction()
    url = httpx.URL(_presigned_put())
    wechat = httpx.URL("https://wx.test/sns/jscode2session?appid=wx1&secret=app-s&js_code=c-1")

    # when httpx logs both requests
    with caplog.at_level(logging.INFO, logger="httpx"):
        for sent in (url, wechat):
            logging.getLogger("httpx").info('HTTP Request: %s %s "%s"', "PUT", sent, "200 OK")

    # then neither signature nor AppSecret nor login code is in the log
    text = caplog.text
    assert url.params["X-Amz-Signature"] not in text
    assert "secret=app-s" not in text
    assert "js_code=c-1" not in text
    assert text.count(REDACTED) == 4
