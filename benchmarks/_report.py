"""Shared running and printing for the routing benchmarks (skipped by discovery: leading underscore).

Fair by construction: every solver gets the same time limit. "1 core" solvers (ours with 1 worker, PyVRP,
VROOM with 1 thread) run one after the other, each on one core; "2 cores" solvers (ours with 2 workers,
the best of two PyVRP seeds run side by side in two processes, VROOM with 2 threads) use both cores.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

# solver name -> (cores, label for the tables)
LINEUP: dict[str, tuple[int, str]] = {
    "ours1": (1, "ours, 1 worker (1 core)"),
    "pyvrp": (1, "PyVRP 0.14, seed 1 (1 core)"),
    "vroom": (1, "VROOM 1.15, 1 thread, exploration 5 (1 core)"),
    "ours2": (2, "ours, 2 workers (2 cores)"),
    "pyvrp2": (2, "PyVRP, best of seeds 1 and 2 side by side (2 cores)"),
    "vroom2": (2, "VROOM, 2 threads (2 cores)"),
}
DEFAULT_SOLVERS = "ours1,pyvrp,vroom,ours2,pyvrp2"


def describe(solvers: Sequence[str]) -> str:
    return "\n".join(f"#   {s:7} {LINEUP[s][1]}" for s in solvers if s in LINEUP)


_SIDE_JOB: tuple[Callable[..., Any], Any, float] | None = None


def _side(seed: int) -> Any:
    assert _SIDE_JOB is not None
    fn, inst, limit = _SIDE_JOB
    try:
        return fn(inst, limit, seed)
    except Exception as exc:  # a failed run is a result, not a crash
        print(f"  side-by-side run failed: {exc}", file=sys.stderr)
        return None


def side_by_side(
    fn: Callable[[Any, float, int], Any], inst: Any, limit: float, seeds: Sequence[int], cost: Callable[[Any], float]
) -> Any:
    """Run `fn(inst, limit, seed)` for each seed in parallel processes (one per core); the cheapest result."""
    global _SIDE_JOB
    _SIDE_JOB = (fn, inst, limit)
    try:
        with mp.get_context("fork").Pool(len(seeds)) as pool:
            results = pool.map(_side, list(seeds))
    finally:
        _SIDE_JOB = None
    ok = [r for r in results if r is not None]
    return min(ok, key=cost) if ok else None


def print_mean_gaps(
    gaps: Mapping[tuple[str, float, str], list[float]],
    groups: Iterable[str],
    limits: Sequence[float],
    solvers: Sequence[str],
) -> None:
    """One line per group and time limit: each solver's mean gap (%) and how many instances it solved feasibly."""
    for group in groups:
        for limit in limits:
            row = []
            for s in solvers:
                g = gaps.get((group, limit, s), [])
                row.append(f"{s}: {statistics.fmean(g):+.2f} ({len(g)})" if g else f"{s}: -")
            print(f"  {group:4} {limit:5g}s  " + "  ".join(row))


def timed_solve(
    solver: Callable[[Any, float], list[list[int]] | None],
    instance: Any,
    limit: float,
    check: Callable[[Any, list[list[int]], Any], str | None],
    dist: Any,
) -> tuple[list[list[int]] | None, float, str | None]:
    """Run one solver on one instance: its routes, the seconds taken, and the first violation `check` finds or None.

    A solver's exception is a result (reported on stderr), not a crash of the benchmark.
    """
    t0 = time.perf_counter()
    try:
        routes = solver(instance, limit)
    except Exception as exc:
        routes = None
        print(f"  solver failed on {getattr(instance, 'name', instance)}: {exc}", file=sys.stderr)
    elapsed = time.perf_counter() - t0
    error = "no solution" if routes is None else check(instance, routes, dist)
    return routes, elapsed, error
