"""The service answers health checks against the real PostgreSQL and S3."""

from __future__ import annotations

import httpx


async def test_health_reports_database_object_store_and_projections(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] is True
    assert body["object_store"] is True
    assert {p["name"] for p in body["projections"]} >= set()


async def test_unknown_route_gets_errcode_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/no-such-thing")

    assert response.status_code == 404
    assert response.json() == {"errcode": 40400, "errmsg": "no such resource"}
