"""Schemathesis cases sent through the test session's in-process httpx client.

Schemathesis generates the requests and judges the responses; the requests themselves go
through an ``httpx.AsyncClient`` over ASGI on the session event loop, where the container's
pools live. Hypothesis is synchronous, so it runs in a worker thread and hands every request to
that loop with :func:`asyncio.run_coroutine_threadsafe`; the loop is free meanwhile because the
test awaits the thread.

Failures are collected, not raised: one run reports every distinct defect of an operation, each
with the first request that showed it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckFunction, GenerationMode
from schemathesis.core.failures import FailureGroup

__all__ = [
    "Finding",
    "RunReport",
    "fuzz_operation",
    "path_parameter_names",
    "record_failures",
    "send_case",
]

_REQUEST_KEYS = frozenset(
    {"method", "url", "headers", "params", "cookies", "json", "data", "files", "auth"}
)
_PATH_PARAM = re.compile(r"\{([^}/:]+)")
_BODY_PREVIEW = 400
_MESSAGE_LINES = 12
_SEND_TIMEOUT = 60.0


@dataclass
class Finding:
    """One distinct defect: which check, what answered, and a request that shows it."""

    check: str
    status: int
    title: str
    message: str
    request: str
    body: str
    seen: int = 1

    def render(self) -> str:
        lines = self.message.strip().splitlines()
        if len(lines) > _MESSAGE_LINES:
            lines = [*lines[:_MESSAGE_LINES], "…"]
        message = "\n".join(f"    {line}" for line in lines)
        return (
            f"[{self.check}] {self.title} — HTTP {self.status} (seen {self.seen}x)\n"
            f"{message}\n"
            f"    request: {self.request}\n"
            f"    response: {self.body}"
        )


@dataclass
class RunReport:
    operation: str
    examples: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    findings: dict[tuple[str, int, str], Finding] = field(default_factory=dict)

    def render(self) -> str:
        head = (
            f"{self.operation}: {len(self.findings)} distinct contract violation(s) in "
            f"{self.examples} requests (statuses seen: {dict(sorted(self.statuses.items()))})"
        )
        return "\n\n".join([head, *(f.render() for f in self.findings.values())])


def path_parameter_names(operation: APIOperation[Any, Any, Any, Any]) -> list[str]:
    return _PATH_PARAM.findall(operation.path)


def send_case(
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
    case: Case[Any],
    headers: Mapping[str, str],
) -> httpx.Response:
    """Serialise ``case`` exactly as schemathesis' own transport would, send it on ``loop``.

    Call from a thread other than the one running ``loop``.
    """
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=dict(headers))
    unknown = set(kwargs) - _REQUEST_KEYS
    assert not unknown, f"schemathesis produced request arguments this helper ignores: {unknown}"
    prepared = requests.Request(**kwargs).prepare()
    assert prepared.method is not None
    assert prepared.url is not None
    sent_headers = [
        (k, v if isinstance(v, str) else v.decode("latin-1"))
        for k, v in prepared.headers.items()
        if k.lower() != "content-length"
    ]
    body = prepared.body
    content = body.encode() if isinstance(body, str) else body
    assert content is None or isinstance(content, bytes), type(content)
    coroutine = client.request(
        prepared.method, prepared.url, headers=sent_headers, content=content or b""
    )
    response: httpx.Response = asyncio.run_coroutine_threadsafe(coroutine, loop).result(
        timeout=_SEND_TIMEOUT
    )
    return response


def _preview(response: httpx.Response) -> str:
    text = response.text
    if len(text) > _BODY_PREVIEW:
        text = text[:_BODY_PREVIEW] + "…"
    ctype = response.headers.get("content-type", "-")
    return f"{ctype} {text}"


def _describe(response: httpx.Response) -> str:
    request = response.request
    body = request.content
    shown = body[:_BODY_PREVIEW].decode("utf-8", "backslashreplace") if body else ""
    if len(body) > _BODY_PREVIEW:
        shown += "…"
    ctype = request.headers.get("content-type")
    target = request.url.raw_path.decode("ascii", "replace")
    if len(target) > _BODY_PREVIEW:
        target = target[:_BODY_PREVIEW] + "…"
    parts = [f"{request.method} {target}"]
    if "authorization" not in request.headers:
        parts.append("(no Authorization header)")
    if ctype:
        parts.append(f"content-type={ctype}")
    if shown:
        parts.append(f"body={shown}")
    return " ".join(parts)


def record_failures(
    report: RunReport, response: httpx.Response, group: FailureGroup, *, operation: str = ""
) -> None:
    for failure in group.exceptions:
        check = next(iter(type(failure).checks), type(failure).__name__)
        # One finding per operation, check, status and failure kind; the message may vary.
        key = (check, response.status_code, f"{operation} {failure.title}".strip())
        known = report.findings.get(key)
        if known is not None:
            known.seen += 1
            continue
        report.findings[key] = Finding(
            check=check,
            status=response.status_code,
            title=f"{operation}: {failure.title}" if operation else failure.title,
            message=failure.message,
            request=_describe(response),
            body=_preview(response),
        )


def fuzz_operation(
    *,
    operation: APIOperation[Any, Any, Any, Any],
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
    headers: Mapping[str, str],
    checks: Sequence[CheckFunction],
    max_examples: int,
    random_seed: int,
    known_path_values: Mapping[str, Sequence[str]] | None = None,
) -> RunReport:
    """Send up to ``max_examples`` generated requests; return what the checks found.

    Requests mix positive and negative data. When ``known_path_values`` covers every path
    parameter, a third of the positive requests address existing resources, so handlers get
    past their 404s. Runs Hypothesis synchronously: call it from a worker thread.
    """
    report = RunReport(operation=operation.label)
    strategies = [
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    ]
    names = path_parameter_names(operation)
    known = known_path_values or {}
    if names and all(known.get(n) for n in names):
        fixed = st.fixed_dictionaries({n: st.sampled_from(list(known[n])) for n in names})
        strategies.append(
            fixed.flatmap(
                lambda values: operation.as_strategy(
                    generation_mode=GenerationMode.POSITIVE, path_parameters=values
                )
            )
        )

    @seed(random_seed)
    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=False,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        report_multiple_bugs=False,
    )
    @given(case=st.one_of(strategies))
    def run(case: Case[Any]) -> None:
        sent = dict(headers)
        response = send_case(client, loop, case, sent)
        report.examples += 1
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=list(checks), headers=sent)
        except FailureGroup as group:
            record_failures(report, response, group)

    run()
    return report
