"""``gridledger serve`` in a process of its own, as the end-to-end tests run it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from storage.embedded import free_port

__all__ = ["DEMO_READY", "GRIDLEDGER", "SERVING", "embedded_env", "serving"]

GRIDLEDGER = str(Path(sys.executable).parent / "gridledger")
DEMO_READY = "demo mediator"  # the last line of ``serve --demo``'s announcement
SERVING = "gridledger: serving"  # the announcement's first line, for a server without --demo
_SERVICE_VARS = ("DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY")


def embedded_env(var_dir: Path) -> dict[str, str]:
    """The environment of the embedded default (no external services) under ``var_dir``, on
    free ports. As root, the embedded PostgreSQL runs as another user, who must reach var/."""
    for folder in (var_dir, *var_dir.parents):
        if folder.is_relative_to("/tmp") and folder != Path("/tmp"):
            folder.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARS}
    return {
        **env,
        "GRIDLEDGER_VAR_DIR": str(var_dir),
        "GRIDLEDGER_PG_PORT": str(free_port()),
        "GRIDLEDGER_S3_PORT": str(free_port()),
    }


@contextmanager
def serving(
    env: dict[str, str],
    port: int,
    *,
    args: Sequence[str] = ("--demo",),
    ready: str = DEMO_READY,
    timeout: float = 120.0,
) -> Iterator[list[str]]:
    """Run ``gridledger serve ARGS --port PORT`` until a line holds ``ready``; yield what it
    printed so far. On exit SIGINT it and require a clean exit (services stopped)."""
    proc = subprocess.Popen(
        [GRIDLEDGER, "serve", *args, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        _wait_for(proc, lines, ready=ready, timeout=timeout)
        yield lines
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        lines.append(out)
        assert proc.returncode == 0, "".join(lines)


def _wait_for(proc: subprocess.Popen[str], lines: list[str], *, ready: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline() if proc.stdout else ""
        if not line and proc.poll() is not None:
            pytest.fail(f"serve exited {proc.returncode}:\n{''.join(lines)}")
        lines.append(line)
        if ready in line:
            return
    pytest.fail("serve did not come up in time:\n" + "".join(lines))
