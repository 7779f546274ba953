"""Where the soak server's resident memory sits (``soak.py --mem-probe``): a thread in the server
writes, every ``PROBE_EVERY_S`` seconds, one JSON line with the process's RSS split into
anonymous and file-backed pages, glibc's own account of its heap (``mallinfo2``: bytes in use,
bytes free but kept, bytes in mmapped blocks, number of arenas' worth of address space) and
Python's allocated block count. On SIGUSR2 it also runs ``gc.collect()`` and
``malloc_trim(0)`` and writes the RSS before and after: memory that trim gives back was free
space glibc kept (fragmentation or arena slack), memory it keeps is in use.

Reading the lines (``probe_report``): if glibc's in-use bytes climb while Python's blocks stay
flat, native code allocates and keeps (a leak or a cache in a C extension); if its free bytes
climb, the heap fragments; if only file-backed pages climb, code and shared libraries are being
paged in (levels off).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["install_probe", "probe_report", "request_trim"]

PROBE_EVERY_S = 10.0
MB = 1024 * 1024
_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
           "fordblks", "keepcost")  # fmt: skip


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _FIELDS]


def _smaps() -> dict[str, float]:
    """RSS, anonymous and file-backed resident MB of this process (``/proc/self/smaps_rollup``)."""
    kb: dict[str, int] = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        kb[key] = int(rest.split()[0])
    anon = kb.get("Anonymous", 0)
    return {"rss": kb["Rss"] / 1024, "anon": anon / 1024, "file": (kb["Rss"] - anon) / 1024}


def _pymalloc() -> dict[str, float]:
    """pymalloc's arenas (1 MiB mmaps glibc does not see) and the bytes its live blocks use,
    from ``sys._debugmallocstats`` (it writes to fd 2, which is borrowed for the call; the
    probe holds the GIL throughout, so no Python thread writes there meanwhile)."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        sink.seek(0)
        text = sink.read().decode()
    found = dict(
        re.findall(r"# (arenas allocated current|bytes in allocated blocks) *= *([\d,]+)", text)
    )
    arenas = int(found.get("arenas allocated current", "0").replace(",", ""))
    used = int(found.get("bytes in allocated blocks", "0").replace(",", ""))
    return {"py_arenas": float(arenas), "py_used": round(used / MB, 2)}


def _sample(libc: ctypes.CDLL, started: float) -> dict[str, Any]:
    info = libc.mallinfo2()
    return {
        "at": round(time.monotonic() - started, 1),
        **{k: round(v, 2) for k, v in _smaps().items()},
        "heap_in_use": round(info.uordblks / MB, 2),  # malloc'd, not freed (sbrk + arenas)
        "heap_free": round(info.fordblks / MB, 2),  # freed, kept by glibc in its arenas
        "heap_arena": round(info.arena / MB, 2),  # address space of the non-mmapped arenas
        "mmapped": round(info.hblkhd / MB, 2),  # large blocks served by their own mmap
        "py_blocks": sys.getallocatedblocks(),
        **_pymalloc(),
        "threads": threading.active_count(),
    }


def install_probe(out: Path) -> None:
    """Start the sampling thread; SIGUSR2 asks it for a gc + malloc_trim and its effect."""
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = _MallInfo2
    started, trim = time.monotonic(), threading.Event()

    def on_usr2(signum: int, frame: FrameType | None) -> None:
        trim.set()

    def loop() -> None:
        with out.open("a") as sink:
            while True:
                asked = trim.wait(PROBE_EVERY_S)
                line = _sample(libc, started)
                if asked:
                    trim.clear()
                    gc.collect()
                    libc.malloc_trim(0)
                    line = {**line, "trimmed_rss": round(_smaps()["rss"], 2)}
                sink.write(json.dumps(line) + "\n")
                sink.flush()

    signal.signal(signal.SIGUSR2, on_usr2)
    threading.Thread(target=loop, name="soak-probe", daemon=True).start()


async def request_trim(pid: int, out: Path) -> dict[str, Any]:
    """Ask the server for its trim line and wait for it (the probe answers within a second)."""
    import asyncio

    os.kill(pid, signal.SIGUSR2)
    for _ in range(240):
        await asyncio.sleep(0.25)
        lines = _lines(out)
        if lines and "trimmed_rss" in lines[-1]:
            return lines[-1]
    raise RuntimeError("the memory probe did not answer SIGUSR2")


def _lines(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(x) for x in out.read_text().splitlines() if x.strip()]


def probe_report(out: Path) -> list[str]:
    """The probe's samples at warm-up, at every other minute and at the end, then the trim."""
    lines = [x for x in _lines(out) if "trimmed_rss" not in x]
    if not lines:
        return ["memory probe: no samples"]
    origin = lines[0]["at"]
    keys = ("rss", "anon", "file", "heap_in_use", "heap_free", "heap_arena", "mmapped",
            "py_arenas", "py_used")  # fmt: skip
    rows = [f"memory probe (MB; t since the server started) {'  '.join(keys)}  py_blocks threads"]
    picked = [x for x in lines if round(x["at"] - origin) % 60 < PROBE_EVERY_S] + [lines[-1]]
    for x in picked:
        values = "  ".join(f"{x.get(k, 0):.1f}" for k in keys)
        rows.append(f"  t={x['at'] - origin:6.0f}s  {values}  {x['py_blocks']}  {x['threads']}")
    trims = [x for x in _lines(out) if "trimmed_rss" in x]
    rows += [
        f"  gc + malloc_trim(0): RSS {x['rss']:.1f} -> {x['trimmed_rss']:.1f} MB" for x in trims
    ]
    return rows
