"""Shared printing for the routing benchmarks (skipped by discovery: leading underscore)."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any


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
