"""The published OpenAPI links: every one names a real operation, parameter and field.

``backend/http/openapi_links.py`` writes ``links`` into the 2xx answers of the document at
``/schema/openapi.json``, so a client author (and ``test_openapi_stateful.py``) can get from a
create to the operations that act on what it made. A link that names a renamed operation, a
parameter the target does not have, or a field the answer does not carry would send clients
astray silently; these checks make it loud, and check that every operation addressing a
resource by a path parameter is reachable by some link.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import jsonschema_rs
from schemathesis.specs.openapi.definitions import OPENAPI_31

Json = dict[str, Any]

UNLINKED: Final = {
    "getLogEntry": "addressed by a log position the auditor reads off a checkpoint or a bundle",
}
"""Operations with path parameters that no answer links to, and why."""


def _operations(raw: Json) -> dict[str, tuple[str, Json]]:
    methods = {"get", "put", "post", "delete", "patch"}
    return {
        operation["operationId"]: (path, operation)
        for path, item in raw["paths"].items()
        for method, operation in item.items()
        if method in methods
    }


def _resolve(raw: Json, node: Json) -> Json:
    while "$ref" in node:
        target: Any = raw
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


def _walk(raw: Json, schema: Json, pointer: str) -> Json | None:
    """The schema of the value at ``pointer`` in an instance of ``schema`` (None: no such)."""
    for token in [t for t in pointer.split("/") if t]:
        schema = _resolve(raw, schema)
        variants: list[Json] = schema.get("oneOf") or schema.get("anyOf") or [schema]
        options = [_resolve(raw, s) for s in variants]
        found: Json | None = None
        for option in options:
            if token.isdigit() and "items" in option:
                found = option["items"]
            elif token in option.get("properties", {}):
                found = option["properties"][token]
        if found is None:
            return None
        schema = found
    return _resolve(raw, schema)


def _link_problems(raw: Json, operations: dict[str, tuple[str, Json]]) -> Iterator[str]:
    for source, (_, operation) in operations.items():
        for status, response in operation["responses"].items():
            body = _resolve(raw, response).get("content", {}).get("application/json", {})
            for name, link in _resolve(raw, response).get("links", {}).items():
                label = f"{source} {status} → {name}"
                target = operations.get(link.get("operationId", ""))
                if target is None:
                    yield f"{label}: no operation {link.get('operationId')}"
                    continue
                params = {p["name"] for p in target[1].get("parameters", [])}
                yield from (
                    f"{label}: {p} is not a parameter of the target"
                    for p in link.get("parameters", {})
                    if p not in params
                )
                target_body = target[1].get("requestBody", {}).get("content", {})
                fields = _resolve(raw, target_body.get("application/json", {}).get("schema", {}))
                yield from (
                    f"{label}: body field {f} is not in the target's body"
                    for f in link.get("requestBody", {})
                    if f not in fields.get("properties", {})
                )
                expressions = [*link.get("parameters", {}).values()]
                expressions += [*link.get("requestBody", {}).values()]
                for expression in expressions:
                    if expression.startswith("$response.body#"):
                        pointer = expression.removeprefix("$response.body#")
                        if _walk(raw, body.get("schema", {}), pointer) is None:
                            yield f"{label}: {pointer} is not in the {status} answer"


def test_published_links_name_real_operations_parameters_and_fields(raw_schema: Json) -> None:
    operations = _operations(raw_schema)
    problems = list(_link_problems(raw_schema, operations))
    assert problems == [], "\n".join(problems)
    validator = jsonschema_rs.validator_for(OPENAPI_31)
    errors = [e.message for e in validator.iter_errors(raw_schema)]
    assert errors == [], "\n".join(errors[:20])


def test_every_addressed_resource_is_reachable_by_a_link(raw_schema: Json) -> None:
    operations = _operations(raw_schema)
    targets = {
        link["operationId"]
        for _, operation in operations.values()
        for response in operation["responses"].values()
        for link in _resolve(raw_schema, response).get("links", {}).values()
    }
    addressed = {op for op, (path, _) in operations.items() if "{" in path}
    unreachable = sorted(addressed - targets - set(UNLINKED))
    assert unreachable == [], f"no answer links to {unreachable}: add links or say why not"
    assert set(UNLINKED) <= addressed - targets, "UNLINKED lists an operation that is linked"
