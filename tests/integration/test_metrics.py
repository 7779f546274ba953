"""Operations figures: /metrics in Prometheus text format and /v1/projections/status, for
admins and supervisors (or a scraper holding the metrics token) only; request latency per
operation, with every unknown route under one label, and one registry per app."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from backend.app import create_app_for
from backend.bootstrap import Container
from backend.services.reference import holiday_data_gaps
from projections import ALL_PROJECTIONS
from tests.support.world import World

Client = httpx.AsyncClient
NAMES = sorted(p().name for p in ALL_PROJECTIONS)
SCRAPE_TOKEN = "scrape-token-for-tests"
# Every family /metrics had before prometheus_client wrote it (a counter's family drops _total).
FAMILIES = {
    "gridledger_log_head_position": "gauge", "gridledger_projection_position": "gauge",
    "gridledger_projection_lag_events": "gauge", "gridledger_projection_failing": "gauge",
    "gridledger_projections_failing": "gauge", "gridledger_db_pool_connections": "gauge",
    "process_cpu_seconds": "counter", "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge", "process_start_time_seconds": "gauge",
    "gridledger_scrape_timestamp_seconds": "gauge",
}  # fmt: skip
LATENCY = "gridledger_http_request_duration_seconds"


async def scrape(client: Client, world: World) -> list[Sample]:
    response = await client.get("/metrics", headers=world.headers["admin"])
    assert response.status_code == 200, response.text
    return [s for f in text_string_to_metric_families(response.text) for s in f.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    """The sample's value; 0 for a label set not seen yet."""
    return next((s.value for s in samples if s.name == name and s.labels == labels), 0.0)


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

    # then it is Prometheus text that prometheus_client's own parser reads
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    # and every family it had before is there with its type
    assert {name: families[name].type for name in FAMILIES} == FAMILIES
    # and every projection has its position, lag and failing gauge
    for name in NAMES:
        for family in ("position", "lag_events", "failing"):
            labels = [s.labels for s in families[f"gridledger_projection_{family}"].samples]
            assert {"projection": name} in labels, (family, name)
    assert families["gridledger_log_head_position"].samples[0].value > 0
    pool = {s.labels["state"] for s in families["gridledger_db_pool_connections"].samples}
    assert pool == {"open", "idle"}


async def test_request_latency_is_a_histogram_per_operation(client: Client, world: World) -> None:
    # given the health check answered twice since the last scrape
    before = await scrape(client, world)
    for _ in range(2):
        assert (await client.get("/health")).status_code == 200
    # when an admin scrapes
    after = await scrape(client, world)
    # then the health check's operation counted two more answers, both 2xx, in its histogram
    count, health = f"{LATENCY}_count", {"operation_id": "getHealth"}
    assert value(after, count, **health) - value(before, count, **health) == 2
    answered = "gridledger_http_requests_total"
    ok = {"operation_id": "getHealth", "status": "2xx"}
    assert value(after, answered, **ok) - value(before, answered, **ok) == 2
    buckets = [s for s in after if s.name == f"{LATENCY}_bucket" and
               s.labels["operation_id"] == "getHealth"]  # fmt: skip
    assert buckets[-1].labels["le"] == "+Inf"
    assert buckets[-1].value == value(after, count, **health)
    # and a refusal is counted under its operation with its status class
    assert (await client.get("/v1/projections/status")).status_code == 401
    refused = {"operation_id": "getProjectionStatus", "status": "4xx"}
    assert value(await scrape(client, world), answered, **refused) >= 1


async def test_unknown_routes_collapse_to_one_label(client: Client, world: World) -> None:
    # given requests to paths no route has, and a method no route takes
    before = await scrape(client, world)
    probes = [f"/v1/probe-{uuid4().hex}" for _ in range(3)]
    for path in probes:
        assert (await client.get(path)).status_code == 404
    assert (await client.delete("/health")).status_code == 405
    # when an admin scrapes
    after = await scrape(client, world)
    # then all four are counted under the one label "unmatched", and no path became a label
    answered = "gridledger_http_requests_total"
    unmatched = {"operation_id": "unmatched", "status": "4xx"}
    assert value(after, answered, **unmatched) - value(before, answered, **unmatched) == 4
    labels = {v for s in after for v in s.labels.values()}
    assert not any("probe-" in label for label in labels)


async def test_each_app_counts_its_own_requests(
    client: Client, scraped: Client, world: World
) -> None:
    # given two apps over one container (as tests and a second API process in one interpreter)
    before = await scrape(client, world)
    # when the second app answers health checks
    for _ in range(3):
        assert (await scraped.get("/health")).status_code == 200
    # then they are counted in the second app's registry, not the first one's
    count = f"{LATENCY}_count"
    mine = value(await scrape(client, world), count, operation_id="getHealth")
    assert mine == value(before, count, operation_id="getHealth")
    assert value(await scrape(scraped, world), count, operation_id="getHealth") >= 3


async def test_years_without_holiday_data_are_counted(
    client: Client, container: Container, world: World
) -> None:
    # given the years of the SLA horizon without holiday data, just before and after the scrape
    gaps_before = await holiday_data_gaps(container)
    samples = await scrape(client, world)
    gaps_after = await holiday_data_gaps(container)
    # then the scrape counts them (the horizon only moves at midnight: one of the two holds)
    counted = value(samples, "gridledger_calendar_years_without_holiday_data")
    assert counted in (len(gaps_before), len(gaps_after))


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
