"""Command line: `python -m routes solve FILE --time-limit SECONDS --json` (CVRPLIB/TSPLIB `.vrp` or Solomon
VRPTW `.txt`), solved by `routes.plan_tours`, the product's engine."""

from __future__ import annotations

import argparse
import json
import os
import sys

from routes.cvrp import InfeasibleError, solve_instance
from routes.cvrplib import ROUNDINGS, CvrplibError, read_instance


def seconds_since_process_start() -> float:
    """Time spent on interpreter start-up and imports, so that --time-limit holds for the whole command
    (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            up = float(uptime.read().split()[0])
        return max(0.0, up - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m routes", description="Tour optimiser (OR-Tools).")
    sub = parser.add_subparsers(dest="command", required=True)
    solve = sub.add_parser("solve", help="solve a CVRPLIB/TSPLIB or Solomon VRPTW instance")
    solve.add_argument("file")
    solve.add_argument("--time-limit", type=float, default=5.0, help="seconds (default 5)")
    solve.add_argument("--json", action="store_true", help="print {cost, routes, time_s} as JSON")
    solve.add_argument(
        "--rounding", choices=[r for r in ROUNDINGS if r in ("nint", "exact", "trunc1")], default=None,
        help="distances (default: the file's EDGE_WEIGHT_TYPE; Solomon: exact Euclidean)",
    )  # fmt: skip
    solve.add_argument("--vehicles", type=int, default=None, help="at most K routes (default: VEHICLES or free)")
    solve.add_argument("--workers", type=int, default=None, help="parallel searches (default: cores, at most 2)")
    solve.add_argument("--seed", type=int, default=1, help="random seed of the first search (default 1)")
    args = parser.parse_args(argv)
    try:
        inst = read_instance(args.file)
    except (OSError, CvrplibError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        res = solve_instance(
            inst,
            # leave room for start-up already spent and for printing (about 5 %)
            time_limit_s=max(0.1, args.time_limit * 0.95 - seconds_since_process_start()),
            rounding=args.rounding,
            max_vehicles=args.vehicles,
            workers=args.workers,
            seed=args.seed,
        )
    except InfeasibleError as exc:
        print(f"infeasible: {exc}", file=sys.stderr)
        return 2
    routes = res.routes_in_file_ids(inst)
    if args.json:
        print(json.dumps({"cost": res.cost, "routes": routes, "time_s": round(res.time_s, 3)}))
    else:
        for k, r in enumerate(routes, start=1):
            print(f"Route #{k}: {' '.join(map(str, r))}")
        print(f"Cost {res.cost:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
