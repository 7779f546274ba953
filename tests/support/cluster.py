"""Process control for the fault-injection harness: a private PostgreSQL and S3 in a temporary
folder, and ``gridledger serve`` as a subprocess we can SIGKILL and restart.

The services are started HERE, with the classes of storage/embedded.py, before the server: the
server runs on the embedded default (so the development login the phones use is served) and,
finding its PostgreSQL and S3 already up on its configured ports, adopts them instead of
starting its own. That lets the harness restart PostgreSQL and stop S3 under a running server,
and a killed server leaves them running, as a crashed API process would in production.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import psycopg

from backend.settings import load_settings
from events.grid import GridUnit
from events.household import Household
from events.household_fields import PersonRecord
from events.meta import system_meta
from events.staff import Staff
from storage.embedded import EmbeddedPostgres, EmbeddedS3, free_port
from storage.eventstore import EventLog, event_store_env
from tests.support.serve import GRIDLEDGER

__all__ = ["Cluster", "Township"]

_EPOCH = date(2026, 1, 1)
_SERVICE_VARS = (
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "S3_ENDPOINT",
    "S3_ACCESS_KEY",
    "S3_SECRET_KEY",
)


@dataclass
class Township:
    """What was seeded: grids, their members (two per grid) and households."""

    grids: list[UUID]
    members: dict[UUID, list[UUID]] = field(default_factory=dict)  # grid -> staff ids
    households: dict[UUID, list[UUID]] = field(default_factory=dict)  # grid -> households


@dataclass
class Cluster:
    root: Path
    restarts: dict[str, int] = field(default_factory=dict)
    api: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        var_dir = self.root / "var"
        var_dir.mkdir(parents=True, exist_ok=True)
        for folder in (self.root, var_dir):
            folder.chmod(0o755)  # as root, the embedded PostgreSQL runs as another user
        base = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARS}
        self.env = {
            **base,
            "GRIDLEDGER_VAR_DIR": str(var_dir),
            "GRIDLEDGER_PG_PORT": str(free_port()),
            "GRIDLEDGER_S3_PORT": str(_free_port_block()),
        }
        settings = load_settings(self.env)
        self.settings = settings
        self.pg = EmbeddedPostgres(var_dir / "pg" / "data", settings.pg_port, durable=False)
        self.s3 = EmbeddedS3(
            var_dir / "s3" / "data",
            settings.s3_port,
            settings.s3_access_key,
            settings.s3_secret_key,
        )
        self.api_port = free_port()
        self.restarts = {"api_kill": 0, "postgres": 0, "s3": 0}

    @classmethod
    def in_tempdir(cls) -> Cluster:
        return cls(Path(tempfile.mkdtemp(prefix="gl-faults-")))

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def superuser_url(self) -> str:
        return self.pg.url

    @property
    def owner_url(self) -> str:
        return self.pg.role_urls(self.settings.var_dir / "secrets").owner

    # -- lifecycle ------------------------------------------------------------------------

    def start_services(self) -> None:
        self.pg.start()
        self.pg.ensure_roles(self.settings.var_dir / "secrets")
        self.s3.start()

    def start_api(self, *, timeout: float = 120.0) -> None:
        log = (self.root / "api.log").open("ab")
        self.api = subprocess.Popen(
            [GRIDLEDGER, "serve", "--port", str(self.api_port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api.poll() is not None:
                raise RuntimeError(f"serve exited {self.api.returncode}: {self.api_log()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"serve did not come up: {self.api_log()}")

    def kill_api(self) -> None:
        """SIGKILL: no shutdown hook runs; PostgreSQL and S3 stay up."""
        assert self.api is not None
        self.api.send_signal(signal.SIGKILL)
        self.api.wait(timeout=30)
        self.restarts["api_kill"] += 1

    def stop_api(self) -> None:
        """A clean stop (SIGINT). The server stops the PostgreSQL it adopted on its way out."""
        if self.api is None or self.api.poll() is not None:
            return
        self.api.send_signal(signal.SIGINT)
        try:
            self.api.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.api.kill()
            self.api.wait()

    def restart_postgres(self) -> None:
        self.pg.stop()
        self.pg.start()
        self.restarts["postgres"] += 1

    def stop_s3(self) -> None:
        self.s3.stop()

    def start_s3(self) -> None:
        self.s3.start()
        self.restarts["s3"] += 1

    def close(self) -> None:
        if self.api is not None and self.api.poll() is None:
            self.api.kill()
            self.api.wait()
        self.s3.stop()
        self.pg.stop()
        if not os.environ.get("GRIDLEDGER_KEEP_TEST_DATA"):
            shutil.rmtree(self.root, ignore_errors=True)

    def api_log(self, tail: int = 4000) -> str:
        path = self.root / "api.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def rebuild_projections(self) -> str:
        """``gridledger projections rebuild`` as the operator runs it (server stopped)."""
        # The superuser URL, as the CLI suggests for the embedded default: the projection
        # tables belong to the app role that created them, migrations to the owner.
        env = {**self.env, "DATABASE_URL": self.superuser_url}
        done = subprocess.run(
            [GRIDLEDGER, "projections", "rebuild"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rebuild failed: {done.stdout}{done.stderr}")
        return done.stderr

    # -- seeding --------------------------------------------------------------------------

    def seed(self, *, grids: int, members_per_grid: int, households_per_grid: int) -> Township:
        """A town, a village, its grids with their members and households, through the library
        (one save per grid), before the server first starts."""
        log = EventLog(env=event_store_env(self.superuser_url, pool_size=1))
        try:
            units = _units(grids)
            log.save(*units)
            town = Township(grids=[u.id for u in units[2:]])
            for n, grid in enumerate(town.grids):
                staff = [_member(grid, f"{n}-{i}") for i in range(members_per_grid)]
                homes = [_household(grid, f"{n}-{i}") for i in range(households_per_grid)]
                log.save(*staff, *homes)
                town.members[grid] = [s.id for s in staff]
                town.households[grid] = [h.id for h in homes]
            return town
        finally:
            log.close()

    def wait_projected(self, *, timeout: float = 120.0) -> int:
        """Until every projection has folded the whole log; the log's head."""
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.superuser_url, autocommit=True) as conn:
            while time.monotonic() < deadline:
                head = conn.execute(
                    "SELECT coalesce(max(notification_id), 0) FROM gridledger_events"
                ).fetchone()
                low = conn.execute("SELECT min(position) FROM projection_positions").fetchone()
                assert head is not None
                assert low is not None
                if low[0] is not None and low[0] >= head[0]:
                    return int(head[0])
                time.sleep(0.2)
        raise RuntimeError("projections did not catch up")


def _free_port_block() -> int:
    """An S3 port with the next nine free as well (weed derives its component ports)."""
    for _ in range(50):
        port = free_port()
        if port < 60000 and all(_port_free(port + i) for i in range(1, 10)):
            return port
    raise RuntimeError("no block of free ports")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _units(grids: int) -> list[GridUnit]:
    meta = system_meta("faults")
    code = f"{random.randrange(10**8, 10**9)}000"
    town = GridUnit.create(
        code=code, name="故障镇", level=1, parent_id=None, parent_level=None,
        parent_code=None, effective_from=_EPOCH, meta=meta,
    )  # fmt: skip
    village = GridUnit.create(
        code=code[:9] + "201", name="故障村", level=2, parent_id=town.id, parent_level=1,
        parent_code=town.code, effective_from=_EPOCH, meta=meta,
    )  # fmt: skip
    return [town, village] + [
        GridUnit.create(
            code=f"{village.code}{i:03d}",
            name=f"第{i}网格",
            level=3,
            parent_id=village.id,
            parent_level=2,
            parent_code=village.code,
            effective_from=_EPOCH,
            meta=meta,
        )
        for i in range(1, grids + 1)
    ]


def _member(grid: UUID, key: str) -> Staff:
    return Staff.appoint(
        name=f"网格员{key}", work_phone="13800000000", role="grid_member",
        scope_unit_id=grid, effective_from=_EPOCH, meta=system_meta("faults"),
    )  # fmt: skip


def _household(grid: UUID, key: str) -> Household:
    head = PersonRecord(
        person_id=uuid4(), name=f"户主{key}", gender="male", birth_date=None,
        id_number=None, phone="13800001111", relation="户主",
    )  # fmt: skip
    return Household.register(
        household_no=f"F{uuid4().hex[:10]}", grid_id=grid, address=f"故障村{key}号",
        phone=None, persons=(head,), effective_from=_EPOCH, meta=system_meta("faults"),
    )  # fmt: skip
