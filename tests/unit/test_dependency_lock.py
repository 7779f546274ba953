"""requirements.lock answers pyproject.toml: every declared requirement, runtime and dev, is
pinned at a version its specifier allows, and every pin carries the hashes that
``pip --require-hashes`` (scripts/bootstrap) checks. A dependency added to pyproject.toml
without re-locking (scripts/lock) fails here, not on a newcomer's first install."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return [Requirement(line) for line in lines]


def locked() -> dict[str, tuple[str, int]]:
    """Canonical name -> (pinned version, number of hashes), from the lock's logical lines."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    pins: dict[str, tuple[str, int]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, version = line.split()[0].partition("==")
        hashes = sum(word.startswith("--hash=sha256:") for word in line.split())
        pins[canonicalize_name(name)] = (version, hashes)
    return pins


def test_every_declared_requirement_is_pinned_at_an_allowed_version() -> None:
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared but not locked: run scripts/lock"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (name, version)


def test_every_pin_is_exact_and_carries_its_hashes() -> None:
    pins = locked()
    assert pins
    for name, (version, hashes) in pins.items():
        assert version, f"{name} is not pinned with =="
        assert hashes >= 1, f"{name} has no --hash: run scripts/lock"
