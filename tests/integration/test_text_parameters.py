"""A text parameter carrying a NUL byte is bad input, never a server error.

PostgreSQL text cannot hold U+0000, so a NUL that reaches a query fails inside asyncpg
(``CharacterNotInRepertoireError``) and used to surface as 500 50000. JSON bodies were already
refused at the wire (control characters); query and path parameters were not. Found by the
stateful contract walk (``tests/contract/test_openapi_stateful.py``): ``GET /v1/households``
with ``q`` holding a NUL, as a grid member, answered 500.

Every free-text query or path parameter the document declares is tried here, so a parameter
added later is covered without touching this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.world import World

Json = dict[str, Any]
NUL_TEXT = "甲\x00乙"


def _free_text_parameters(document: Json) -> Iterator[tuple[str, str, str, str]]:
    """(operationId, method, path, parameter) for every string parameter without a format or
    an enum: the ones whose value may reach SQL as text."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                schema = parameter.get("schema", {})
                variants = schema.get("oneOf", [schema])
                texts = [v for v in variants if v.get("type") == "string"]
                if parameter["in"] in {"query", "path"} and any(
                    "format" not in v and "enum" not in v for v in texts
                ):
                    yield operation["operationId"], method.upper(), path, parameter["name"]


def _target(path: str, parameter: str, world: World) -> str:
    """The path with ``parameter`` (if a path parameter) set to the NUL text, others filled."""
    filled = {"unit_id": str(world.grid_a1), "staff_id": str(world.staff["member_a1"])}
    for name in [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]:
        value = NUL_TEXT if name == parameter else filled.get(name, "2026-Q1")
        path = path.replace(f"{{{name}}}", quote(value, safe=""))
    return path


async def test_a_nul_in_any_text_parameter_is_refused_as_bad_input(
    client: httpx.AsyncClient, world: World
) -> None:
    # given the published document and a town admin (who may call every operation)
    document: Json = (await client.get("/schema/openapi.json")).json()
    headers = world.headers["admin"]
    answers: dict[str, int] = {}
    for operation_id, method, path, parameter in _free_text_parameters(document):
        in_path = f"{{{parameter}}}" in path
        url = _target(path, parameter, world)
        params = {} if in_path else {parameter: NUL_TEXT}
        # when the parameter carries a NUL
        response = await client.request(
            method, url, headers=headers, params=params, json={} if method == "POST" else None
        )
        answers[f"{operation_id}.{parameter}"] = response.status_code
    # then every answer is a refusal or a plain miss, never a server error
    assert answers, "the document declares no free-text parameter"
    server_errors = {name: status for name, status in answers.items() if status >= 500}
    assert server_errors == {}, f"NUL in a text parameter → 5xx: {server_errors}"


@pytest.mark.parametrize("q", ["\x00", "户\x00"])
async def test_household_search_with_a_nul_is_a_400(
    client: httpx.AsyncClient, world: World, q: str
) -> None:
    # given a grid member of A1
    headers = world.headers["member_a1"]
    # when they search households with a NUL in the query (the walk's request)
    response = await client.get(
        "/v1/households", headers=headers, params={"q": q, "status": "dissolved", "limit": 40}
    )
    # then it is refused as bad input with the error body
    assert response.status_code == 400, response.text
    assert response.json()["errcode"] // 100 == 400
