"""Fixtures for tests against the real services: a fresh township per module."""

from __future__ import annotations

import pytest

from backend.bootstrap import Container
from tests.support.world import World, build_world


@pytest.fixture(scope="module")
async def world(container: Container) -> World:
    return await build_world(container)
