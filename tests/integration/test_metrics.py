"""Operations figures: /metrics in Prometheus text format and /v1/projections/status, for
admins and supervisors (or a scraper holding the metrics token) only."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.app import create_app_for
from backend.bootstrap import Container
from projections import ALL_PROJECTIONS
from tests.support.world import World

Client = httpx.AsyncClient
NAMES = sorted(p().name for p in ALL_PROJECTIONS)
SAMPLE = re.compile(r'^[a-z_]+(\{[a-z_]+="[a-z_]+"\})? -?[0-9.e+]+$')
SCRAPE_TOKEN = "scrape-token-for-tests"


@pytest.fixture(scope="module")
async def scraped(container: Container) -> AsyncIterator[Client]:
    """The session's container with a metrics token set (same pools)."""
    settings = dataclasses.replace(container.settings, metrics_token=SCRAPE_TOKEN)
    app: object = create_app_for(dataclasses.replace(container, settings=settings))
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_metrics_expose_every_projections_lag(client: Client, world: World) -> None:
    # when an admin scrapes /metrics
    response = await client.get("/metrics", headers=world.headers["admin"])

    # then it is Prometheus text: HELP and TYPE before samples, every sample well formed
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    samples = [line for line in lines if not line.startswith("#")]
    assert all(SAMPLE.match(line) for line in samples), [s for s in samples if not SAMPLE.match(s)]
    # and every projection has its position, lag and failing gauge
    for name in NAMES:
        for family in ("position", "lag_events", "failing"):
            assert any(
                line.startswith(f'gridledger_projection_{family}{{projection="{name}"}} ')
                for line in samples
            ), (family, name)
    head = next(line for line in samples if line.startswith("gridledger_log_head_position "))
    assert int(head.split()[1]) > 0
    assert "# TYPE process_resident_memory_bytes gauge" in lines


async def test_status_lists_every_projection(client: Client, world: World) -> None:
    response = await client.get("/v1/projections/status", headers=world.headers["supervisor"])
    assert response.status_code == 200, response.text
    report = response.json()
    assert sorted(p["name"] for p in report["projections"]) == NAMES
    assert all(p["lag"] >= 0 and p["position"] <= report["head_position"]
               for p in report["projections"])  # fmt: skip


@pytest.mark.parametrize("who", ["member_a1", "auditor", "head_a"])
async def test_other_roles_are_refused(client: Client, world: World, who: str) -> None:
    for path in ("/metrics", "/v1/projections/status"):
        response = await client.get(path, headers=world.headers[who])
        assert (response.status_code, response.json()["errcode"]) == (403, 40300), path


async def test_without_a_credential_it_is_401(client: Client) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 401
    assert response.json()["errcode"] == 40101


async def test_a_scraper_with_the_metrics_token_reads_metrics(
    scraped: Client, world: World
) -> None:
    good = await scraped.get("/metrics", headers={"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    bad = await scraped.get("/metrics", headers={"Authorization": "Bearer wrong-token"})
    assert good.status_code == 200, good.text
    assert "gridledger_projection_lag_events" in good.text
    assert bad.status_code == 401
    # and staff tokens still work beside it
    assert (await scraped.get("/metrics", headers=world.headers["admin"])).status_code == 200
