"""Leak hunting for the soak (``soak.py --trace-malloc``): the server runs with tracemalloc on,
writes a snapshot when it gets SIGUSR1 (once after warm-up, once at the end), and the soak
prints the allocation sites that grew most between the two.

Run as a script, this module *is* that server: ``python bench/soak_trace.py serve --port N``
(``gridledger``'s own command line, with the snapshot hook installed first). tracemalloc makes
the server several times slower, so the latency figures of a traced run mean nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

__all__ = ["growth_report", "snapshot", "traced_server"]

FRAMES = 12
TOP = 15


def _install_hook(folder: Path) -> None:
    tracemalloc.start(FRAMES)
    numbers = itertools.count(1)

    def dump(signum: int, frame: FrameType | None) -> None:
        path = folder / f"{next(numbers)}.snap"
        tracemalloc.take_snapshot().dump(str(path) + ".part")
        os.replace(str(path) + ".part", path)  # the soak waits for the complete file

    signal.signal(signal.SIGUSR1, dump)


def _patch_uvicorn(choice: str) -> None:
    """Investigation only: serve with another event loop / HTTP parser (``asyncio,h11``)."""
    import uvicorn

    loop, http = choice.split(",")
    plain = uvicorn.Config.__init__

    def init(self: uvicorn.Config, *args: object, **kwargs: object) -> None:
        plain(self, *args, **{**kwargs, "loop": loop, "http": http})  # type: ignore[arg-type]

    uvicorn.Config.__init__ = init  # type: ignore[method-assign]


@contextlib.contextmanager
def traced_server(
    env: dict[str, str], port: int, folder: Path | None, *, probe: Path | None = None,
    uvicorn_choice: str | None = None,
) -> Iterator[str]:  # fmt: skip
    """Like ``sync_common.server``, with the snapshot hook (``folder``), the memory probe
    (``probe``, see ``soak_probe``) and/or another uvicorn loop and parser; yields the URL."""
    extra = {
        "GL_SOAK_SNAPSHOTS": str(folder) if folder else None,
        "GL_SOAK_PROBE": str(probe) if probe else None,
        "GL_SOAK_UVICORN": uvicorn_choice,
    }
    env = {**env, **{k: v for k, v in extra.items() if v}}
    from sync_common import server  # not at the top: this file is also the server's main

    # the tracer's start-up is slower (tracemalloc from the first import)
    with server(env, command=(sys.executable, __file__, "serve"), port=port, timeout=180) as url:
        yield url


async def snapshot(pid: int, folder: Path, number: int) -> Path:
    """Ask the server for snapshot ``number`` and wait until it is written."""
    os.kill(pid, signal.SIGUSR1)
    path = folder / f"{number}.snap"
    for _ in range(1200):
        if path.exists():
            return path
        await asyncio.sleep(0.25)
    raise RuntimeError(f"no tracemalloc snapshot {path}")


def growth_report(before: Path, after: Path) -> list[str]:
    """The allocation sites (innermost frames) that grew most between two snapshots."""
    noise = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<*")]
    old = tracemalloc.Snapshot.load(str(before)).filter_traces(noise)
    new = tracemalloc.Snapshot.load(str(after)).filter_traces(noise)
    stats = new.compare_to(old, "traceback")
    total = sum(s.size_diff for s in stats) / 2**20
    lines = [f"tracemalloc: traced memory grew {total:+.1f} MB after warm-up; top sites:"]
    for stat in stats[:TOP]:
        frames = [f"{f.filename.split('site-packages/')[-1]}:{f.lineno}" for f in stat.traceback]
        lines.append(f"  {stat.size_diff / 1024:+9.1f} kB {stat.count_diff:+7d} blocks  " +
                     " <- ".join(frames[-1:-5:-1]))  # fmt: skip
    return lines


if __name__ == "__main__":
    if os.environ.get("GL_SOAK_SNAPSHOTS"):
        _install_hook(Path(os.environ["GL_SOAK_SNAPSHOTS"]))
    if os.environ.get("GL_SOAK_PROBE"):
        from soak_probe import install_probe

        install_probe(Path(os.environ["GL_SOAK_PROBE"]))
    if os.environ.get("GL_SOAK_UVICORN"):
        _patch_uvicorn(os.environ["GL_SOAK_UVICORN"])
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from backend.cli import main

    sys.exit(main(sys.argv[1:]))
