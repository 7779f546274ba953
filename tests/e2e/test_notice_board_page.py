"""The public notice board page in headless Chromium, served by a live ``gridledger serve``.

A village full of sensitive households gets a published edition; a server process of its own
serves the page on the test's PostgreSQL and S3; Chromium renders it (screenshot at A4 width,
PDF on A4, DOM dump). The screenshot must be a real, non-blank render with the Chinese title
drawn (a render of the same page with CJK characters stripped leaves the title area blank), the
PDF must embed Noto Sans CJK, and the DOM must hold none of the protected values.
"""

from __future__ import annotations

import os
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from backend.bootstrap import Container
from storage.embedded import free_port
from tests.integration.test_awards_api import define_rule, visit_to
from tests.support.households import Json, register
from tests.support.notice_board import publish_edition, secrets_of, sensitive_households
from tests.support.png import read_png
from tests.support.serve import SERVING, serving
from tests.support.world import World, build_world

CHROMIUM = "/usr/bin/chromium"
A4_CSS_PX = (794, 1123)  # 210 × 297 mm at 96 dpi
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


@pytest.fixture(scope="module")
async def world(container: Container) -> World:
    return await build_world(container)


def _generated_households(world: World) -> list[Json]:
    """Draw households full of sensitive data with hypothesis (a handful of examples)."""
    drawn: list[Json] = []

    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies=sensitive_households(world.grid_a1))
    def collect(bodies: list[Json]) -> None:
        drawn.extend(bodies)

    collect()
    return drawn


@pytest.fixture(scope="module")
async def published(container: Container, client: httpx.AsyncClient, world: World) -> list[str]:
    """A published edition of village A over sensitive households; yields the secrets."""
    bodies = _generated_households(world)
    rule = await define_rule(
        container, "manual_commendation", 5, commendation="star_civilised_household"
    )
    for body in bodies:
        created = await register(client, world.headers["admin"], body)
        proposal = await client.post(
            "/v1/awards",
            headers=world.headers["head_a"],
            json={"rule_code": rule, "owner_kind": "household", "owner_id": created["id"],
                  "source_event_id": await visit_to(client, world.headers["head_a"], created["id"]),
                  "reason": "家风文明"},
        )  # fmt: skip
        assert proposal.status_code == 201, proposal.text
        approve = f"/v1/awards/{proposal.json()['id']}/approve"
        assert (await client.post(approve, headers=world.headers["supervisor"])).status_code == 200
    await publish_edition(client, world.headers, world.village_a)
    return secrets_of(bodies)


@pytest.fixture(scope="module")
def server(
    published: list[str], service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """``gridledger serve`` on the test's services, until the module ends."""
    port = free_port()
    env = {
        **os.environ, **service_env,
        "GRIDLEDGER_VAR_DIR": str(tmp_path_factory.mktemp("serve")),
    }  # fmt: skip
    with serving(env, port, args=("--host", "127.0.0.1"), ready=SERVING):
        yield f"http://127.0.0.1:{port}"


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


def screenshot(profile: Path, png: Path, url: str) -> None:
    size = f"--window-size={A4_CSS_PX[0]},{A4_CSS_PX[1]}"
    chromium(profile, "--hide-scrollbars", f"--screenshot={png}", size, url)


def test_the_page_renders_on_a4_with_chinese_fonts_and_nothing_protected(
    server: str, world: World, published: list[str], tmp_path: Path
) -> None:
    # given the public page of village A on a live server
    url = f"{server}/public/notice-board/{world.village_a}"
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/html")
        html = response.read().decode()
    profile = tmp_path / "profile"

    # when Chromium dumps its DOM, then no protected value is anywhere in it
    dom = chromium(profile, "--dump-dom", url).stdout.decode()
    assert "公示栏" in dom
    assert "星级文明户" in dom
    assert [s for s in published if s in dom] == []

    # when it takes a screenshot at A4 width, then it is a real, non-blank PNG of that size
    shot = tmp_path / "board.png"
    screenshot(profile, shot, url)
    image = read_png(shot.read_bytes())
    assert (image.width, image.height) == A4_CSS_PX
    assert image.dark_fraction() > 0.02

    # and the Chinese title is drawn: the same page with every CJK character blanked (an
    # ideographic space keeps the layout) leaves the title area empty
    stripped = tmp_path / "stripped.html"
    stripped.write_text(_CJK.sub("\u3000", html), encoding="utf-8")
    bare = tmp_path / "bare.png"
    # keep the renders for a look when the test fails (pytest keeps the last tmp dirs)
    screenshot(profile, bare, stripped.as_uri())
    title, bare_title = (read_png(p.read_bytes()) for p in (shot, bare))
    assert title.dark_fraction(top=15, bottom=75) > 0.02
    assert bare_title.dark_fraction(top=15, bottom=75) < 0.002

    # when it prints to PDF (A4 from the page's @page rule), then Noto Sans CJK is embedded
    pdf = tmp_path / "board.pdf"
    chromium(profile, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"NotoSansCJK" in data
    media_box = re.search(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)
    assert media_box, "no page size in the PDF"
    assert (round(float(media_box[1])), round(float(media_box[2]))) == (595, 842)  # A4 in pt
