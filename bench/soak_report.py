"""What the soak (``soak.py``) measures and how it judges it: request samples per operation kind
and minute window, the server's resident memory sampled every 5 s, and the stated bounds.

Bounds (the run exits non-zero when one is broken):

- **no errors**: every response is 2xx and every pushed event gets the status the soak expects
  (``accepted`` for a new event, ``duplicate`` for a re-sent batch);
- **held memory growth after warm-up <= 5 %**: "held" is the server's RSS right after a
  ``gc.collect()`` + ``malloc_trim(0)`` (``soak_probe.py``), taken at the end of the first
  window and at the end of the run. Raw RSS is printed too but not judged: under this load
  glibc keeps freed heap in its per-thread arenas (fragmentation), so raw RSS climbs ~1-2 MB
  a minute with the memory in use flat, and a trim gives all of it back (measured 25 Nov 2026:
  raw 125.8 -> 136.4 MB over 4 minutes, glibc in-use bytes 27.6 -> 27.9 MB, free-but-kept
  3.9 -> 16.3 MB, after the trim 125.8 MB). What is held after a trim is what a leak would
  grow: 5 % of ~125 MB is ~6 MB, a leak of ~0.7 kB a request over the 9 measured minutes at
  ~16 requests/s;
- **last-window p99 <= 2 x first-window p99** over all requests (the mix is the same in every
  window, so a p99 that doubles means the server slows as the log, the read models or its own
  state grow).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psutil
from sync_common import percentile

__all__ = [
    "BOUND_HELD_GROWTH_PCT",
    "BOUND_P99_RATIO",
    "Recorder",
    "RssSampler",
    "rss_line",
    "table",
    "verdict",
]

BOUND_HELD_GROWTH_PCT = 5.0
BOUND_P99_RATIO = 2.0
RSS_EVERY_S = 5.0
MB = 1024 * 1024


@dataclass
class Recorder:
    """Every request's latency, kind and outcome, stamped with its start in the run."""

    started: float = field(default_factory=time.perf_counter)
    samples: list[tuple[float, str, float]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_examples: dict[str, str] = field(default_factory=dict)

    def add(self, kind: str, began: float, *, problem: str | None = None) -> None:
        self.samples.append((began - self.started, kind, (time.perf_counter() - began) * 1000))
        self.counts[kind] += 1
        if problem is not None:
            self.errors[kind] += 1
            self.error_examples.setdefault(kind, problem[:300])

    def window(self, start: float, end: float, kind: str | None = None) -> dict[str, Any]:
        ms = [m for at, k, m in self.samples if start <= at < end and kind in (None, k)]
        if not ms:
            return {"n": 0}
        return {
            "n": len(ms),
            "p50": round(percentile(ms, 0.50), 1),
            "p95": round(percentile(ms, 0.95), 1),
            "p99": round(percentile(ms, 0.99), 1),
        }


@dataclass
class RssSampler:
    """Resident memory of the server process and everything it started, every 5 s."""

    pid: int
    started: float
    points: list[tuple[float, float]] = field(default_factory=list)
    threads: list[tuple[float, int]] = field(default_factory=list)

    def sample(self) -> None:
        root = psutil.Process(self.pid)
        procs = [root, *root.children(recursive=True)]
        rss = 0
        for proc in procs:
            try:
                rss += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue  # a helper that ended between listing and reading holds no memory
        at = time.perf_counter() - self.started
        self.points.append((at, rss / MB))
        self.threads.append((at, root.num_threads()))  # each worker thread may hold a malloc arena

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.sample()
            try:
                await asyncio.wait_for(stop.wait(), timeout=RSS_EVERY_S)
            except TimeoutError:
                continue
        self.sample()

    def slope(self, *, after: float) -> float:
        """Least-squares RSS trend (MB per minute) of the samples after ``after`` seconds: a
        leak keeps a positive slope, a server that has warmed up levels off near zero."""
        pts = [(at / 60, mb) for at, mb in self.points if at >= after]
        if len(pts) < 3:
            return 0.0
        mx, my = sum(x for x, _ in pts) / len(pts), sum(y for _, y in pts) / len(pts)
        var = sum((x - mx) ** 2 for x, _ in pts)
        return sum((x - mx) * (y - my) for x, y in pts) / var if var else 0.0

    def at(self, offset: float) -> float:
        """The first sample at or after ``offset`` seconds into the run (the last if none)."""
        later = [mb for at, mb in self.points if at >= offset]
        return later[0] if later else self.points[-1][1]


def verdict(
    recorder: Recorder, rss: RssSampler, *, held: tuple[dict[str, Any], dict[str, Any]],
    window_s: float, duration_s: float,
) -> dict[str, Any]:  # fmt: skip
    """The figures, judged against the bounds above; ``held`` holds the memory probe's trim
    lines (``soak_probe.py``) at warm-up and at the end."""
    windows = max(1, round(duration_s / window_s))
    first = recorder.window(0, window_s)
    last = recorder.window((windows - 1) * window_s, duration_s + 60)
    warm, end = rss.at(window_s), rss.points[-1][1]
    growth = (end - warm) / warm * 100
    kept = [line["trimmed_rss"] for line in held]
    held_growth = (kept[1] - kept[0]) / kept[0] * 100
    # Bytes allocated and not freed (glibc + its mmapped blocks + pymalloc): informational, the
    # leak signal with fragmentation taken out; it moves by the requests in flight.
    allocated = [line["heap_in_use"] + line["mmapped"] + line["py_used"] for line in held]
    p99_ratio = last["p99"] / first["p99"] if first["n"] and last["n"] else float("inf")
    errors = sum(recorder.errors.values())
    return {
        "requests": sum(recorder.counts.values()),
        "errors": errors,
        "p99_first_window_ms": first.get("p99"),
        "p99_last_window_ms": last.get("p99"),
        "ratio_p99_last_to_first": round(p99_ratio, 2),
        "bound_p99_ratio": BOUND_P99_RATIO,
        "rss_warm_mb": round(warm, 1),
        "rss_end_mb": round(end, 1),
        "rss_max_mb": round(max(mb for _, mb in rss.points), 1),
        "rss_growth_pct": round(growth, 2),
        "rss_slope_last_half_mb_per_min": round(rss.slope(after=duration_s / 2), 2),
        "held_warm_mb": round(kept[0], 1),
        "held_end_mb": round(kept[1], 1),
        "held_growth_pct": round(held_growth, 2),
        "bound_held_growth_pct": BOUND_HELD_GROWTH_PCT,
        "allocated_warm_mb": round(allocated[0], 1),
        "allocated_end_mb": round(allocated[1], 1),
        "ok": errors == 0 and held_growth <= BOUND_HELD_GROWTH_PCT and p99_ratio <= BOUND_P99_RATIO,
    }


def rss_line(rss: RssSampler, *, window_s: float, duration_s: float) -> str:
    """Server RSS at the end of every window: a leak climbs, warm-up levels off."""
    ends = [min((w + 1) * window_s, duration_s) for w in range(round(duration_s / window_s))]
    threads = [next((n for at, n in rss.threads if at >= e), rss.threads[-1][1]) for e in ends]
    return (
        "server RSS MB at window ends: " + " ".join(f"{rss.at(e):.1f}" for e in ends)
        + "\nserver threads at window ends: " + " ".join(str(n) for n in threads)
    )  # fmt: skip


def table(recorder: Recorder, *, window_s: float, duration_s: float) -> list[str]:
    """Per kind: count, errors, first and last window p50/p95/p99 (ms); then every window."""
    windows = max(1, round(duration_s / window_s))
    last_start = (windows - 1) * window_s
    lines = [f"{'kind':<18}{'count':>7}{'errors':>7}   first window p50/p95/p99   last window"]
    for kind in sorted(recorder.counts):
        a = recorder.window(0, window_s, kind)
        b = recorder.window(last_start, duration_s + 60, kind)
        lines.append(
            f"{kind:<18}{recorder.counts[kind]:>7}{recorder.errors[kind]:>7}   "
            f"{_ppp(a):<26} {_ppp(b)}"
        )
    for w in range(windows):
        end = duration_s + 60 if w == windows - 1 else (w + 1) * window_s
        stats = recorder.window(w * window_s, end)
        lines.append(f"window {w + 1:>2} ({w * window_s:>5.0f} s): n={stats['n']:<6} {_ppp(stats)}")
    lines += [f"error example [{k}]: {v}" for k, v in recorder.error_examples.items()]
    return lines


def _ppp(stats: dict[str, Any]) -> str:
    if not stats["n"]:
        return "-"
    return f"{stats['p50']}/{stats['p95']}/{stats['p99']} (n={stats['n']})"
