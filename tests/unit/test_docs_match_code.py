"""The docs name only what the code has: routes with their methods, errcodes with their HTTP
status, settings, and files they link to. A doc that drifts from the code fails here, naming the
file and the words to fix (issue 12 item 17: `PATCH /v1/households/{id}` was documented for a
route that is `POST …/updates`)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from backend.app import create_app
from backend.errors import ERRCODES
from backend.settings import Settings

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
SOURCE_DIRS = ("backend", "events", "projections", "storage", "tests", "bench", "scripts")

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# A route as docs write it: an optional method, then a path up to a space, quote or query string.
# Paths abbreviated with "…" are prose ("…/approve"), not routes, and are skipped.
ROUTE = re.compile(
    r"(?:\b(?P<method>" + "|".join(METHODS) + r")\s+)?"
    r"(?P<path>/(?:v1|public)/[A-Za-z0-9_\-./{}…]*|/health\b|/metrics\b)"
)
# Five digits starting with 4 or 5 that stand alone (not inside a hash, an id or "50,000").
ERRCODE = re.compile(r"(?<![0-9A-Za-z_,.])([45][0-9]{4})(?![0-9A-Za-z_])")
TABLE_ROW = re.compile(r"^\|\s*\**([45][0-9]{4})\**\s*\|\s*([0-9]{3})\s*\|", re.MULTILINE)
SETTING = re.compile(r"\bGRIDLEDGER_[A-Z0-9_]+\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def doc_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _name(doc: Path) -> str:
    return str(doc.relative_to(ROOT))


@cache
def openapi() -> dict[str, Any]:
    """The published OpenAPI document of the app as served (development login included)."""
    settings = Settings(
        database_url=None,
        s3_endpoint=None,
        s3_access_key="k",
        s3_secret_key="s",
        var_dir=Path("unused"),
        token_secret=b"t" * 32,
        openid_pepper=b"p" * 32,
        dev_login=True,
    )
    # Building the app starts nothing (the lifespan runs only when served).
    app = create_app(settings, database_url="postgresql://unused/x", s3_endpoint="http://unused")
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return schema


def _operations() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for path, item in openapi()["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)) + "$")
        found += [(method.upper(), pattern) for method in item if method.upper() in METHODS]
    return found


def route_problems(text: str) -> list[str]:
    operations = _operations()
    problems = []
    for match in ROUTE.finditer(text):
        method, path = match["method"], match["path"].rstrip(".,:")
        if "…" in path:
            continue
        methods = {m for m, pattern in operations if pattern.match(path)}
        if not methods:
            problems.append(f"no route {path}")
        elif method is not None and method not in methods:
            problems.append(f"{method} {path}: the route takes {', '.join(sorted(methods))}")
    return problems


def errcode_problems(text: str) -> list[str]:
    problems = [f"errcode {c} is not in the table" for c in ERRCODE.findall(text)]
    problems = [p for p in problems if int(p.split()[1]) not in ERRCODES]
    for code, status in TABLE_ROW.findall(text):
        if int(code) in ERRCODES and ERRCODES[int(code)][0] != int(status):
            problems.append(f"errcode {code} is HTTP {ERRCODES[int(code)][0]}, not {status}")
    return problems


@cache
def source_text() -> str:
    files = [p for d in SOURCE_DIRS for p in (ROOT / d).rglob("*") if p.is_file()]
    readable = [p for p in files if p.suffix in {".py", ""} and "__pycache__" not in p.parts]
    return "\n".join(p.read_text(encoding="utf-8", errors="ignore") for p in readable)


def link_problems(doc: Path, text: str) -> list[str]:
    problems = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor in the same page
        if not (doc.parent / target.split("#", 1)[0]).exists():
            problems.append(f"link to {target}: no such file")
    return problems


def test_every_route_a_doc_names_is_served_with_that_method() -> None:
    problems = {_name(d): route_problems(d.read_text(encoding="utf-8")) for d in doc_files()}

    assert {k: v for k, v in problems.items() if v} == {}


def test_every_errcode_a_doc_names_is_in_the_table_with_its_status() -> None:
    problems = {_name(d): errcode_problems(d.read_text(encoding="utf-8")) for d in doc_files()}

    assert {k: v for k, v in problems.items() if v} == {}


def test_every_setting_a_doc_names_is_read_somewhere() -> None:
    named = {(_name(d), s) for d in doc_files() for s in SETTING.findall(d.read_text("utf-8"))}

    assert sorted((doc, s) for doc, s in named if s not in source_text()) == []


def test_every_relative_link_in_the_docs_and_readme_resolves() -> None:
    pages = [*doc_files(), ROOT / "README.md"]
    problems = {_name(p): link_problems(p, p.read_text(encoding="utf-8")) for p in pages}

    assert {k: v for k, v in problems.items() if v} == {}


def test_the_readme_links_every_doc_and_the_handbook_every_page() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    handbook = (DOCS / "handbook" / "README.md").read_text(encoding="utf-8")
    top = [p for p in DOCS.glob("*.md")] + [DOCS / "handbook" / "README.md"]
    pages = [p for p in (DOCS / "handbook").glob("*.md") if p.name != "README.md"]

    assert [_name(p) for p in top if f"]({_name(p)})" not in readme] == []
    assert [p.name for p in pages if f"]({p.name})" not in handbook] == []


def test_the_case_boards_holder_is_documented_as_a_staff_id() -> None:
    board = openapi()["paths"]["/v1/case-board"]["get"]
    holder = next(p for p in board["parameters"] if p["name"] == "holder")

    assert "staff id" in holder.get("description", "")
    assert "not a unit id" in holder.get("description", "")


def test_the_checks_catch_what_they_are_for() -> None:
    """Each check fails on the kind of mistake it exists for (so a green run means something)."""
    assert route_problems("as `PATCH /v1/households/{id}`") == [
        "PATCH /v1/households/{id}: the route takes GET"
    ]
    assert route_problems("`POST /v1/households/{household_id}/updates`") == []
    assert route_problems("`GET /v1/household-files`") == ["no route /v1/household-files"]
    assert errcode_problems("answers 409 **40999**") == ["errcode 40999 is not in the table"]
    assert errcode_problems("| 40301 | 404 | outside |") == ["errcode 40301 is HTTP 403, not 404"]
    assert errcode_problems("a hash 9c8f41234e and 50,000 rows") == []
