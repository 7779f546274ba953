"""Dependency types shared by the controllers (providers live in ``backend.app``)."""

from __future__ import annotations

from litestar.di import NamedDependency

from backend.bootstrap import Container

__all__ = ["ContainerDep"]

ContainerDep = NamedDependency[Container]
