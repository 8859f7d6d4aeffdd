"""`plan_tours`: the one tour engine of the app, the CLI and the benchmarks.

Search (`plan_tours`, the one engine of the app, the CLI and the benchmarks): parallel cheapest insertion
(or the previous day's tours as a warm start) and guided local search for a tenth of the time, then the
ruin-and-recreate loop of `routes.lns` (SISR + simulated annealing) on the same rules as plain arrays,
with an OR-Tools local search (greedy descent) on every new best plan; one such search per worker
process (different seeds and guided-local-search penalties), the cheapest plan wins. OR-Tools finally
restores the plan and schedules it (its finalizers: start late, back early, breaks). Every stop of the
model is optional with a penalty (huge for must-visit stops), so the search always has a plan and can
say what it left out.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from dataclasses import dataclass

from routes.lns import Sisr
from routes.model import (
    Plan,
    Problem,
    Stop,
    Unserved,
    UnservedReason,
)
from routes.ormodel import OrModel, Solved, build_model, extract_solution, first_solution, routes_of, settle
from routes.prep import _matrices
from routes.tours import _explain_dropped, _make_tours, _single_stop_reason

# --- the search: OR-Tools start, ruin-and-recreate, OR-Tools polish, one process per core ------------

# SISR iterations per second of time limit for 100 stops (scaled by 100/stops): the search is a fixed
# amount of work for the same input, time limit and seed, so that it gives the same plan on every run;
# the time limit stays a hard cap (on a slower or busy machine it stops the search first). 4000: what the
# compiled loop does on one quiet core of the reference machine on Solomon (3,800-4,600 per second).
ITERATIONS_PER_S_100 = 4000
OR_TOOLS_SHARE = 0.1  # share of the time for OR-Tools' start (guided local search; 0.1 beat 0.2 on Solomon R2/RC)
POLISH_S = 0.1  # OR-Tools local search on every new best plan of the loop (seconds, cap)
POLISH_SHARE = 1 / 6  # at most this share of the loop's time goes to polishing
# simulated annealing: start and end temperature in mean arcs of the start plan (3 and 0.03 beat 1 and
# 0.01 on Solomon R2/RC at the same iterations: the long routes need bolder moves early)
SA_T0, SA_TF = 3.0, 0.03
SEARCH_LAMBDAS = (0.3, 0.1)  # guided local search per worker: different penalties, different trajectories


@dataclass
class _Outcome:
    score: int
    routes: list[list[int]]
    iterations: int
    seed: int
    start: list[list[int]]  # OR-Tools' start plan (a fallback that OR-Tools surely accepts)


_FORK_MODEL: OrModel | None = None  # handed to forked workers (OR-Tools models cannot be pickled)


def _search_one(model: OrModel, seed: int, deadline: float, solution_limit: int | None, iterations: int | None):
    now = time.perf_counter()
    gls_lambda = SEARCH_LAMBDAS[(seed - 1) % len(SEARCH_LAMBDAS)]
    left = max(0.05, deadline - now)
    # short limits (the app's adjustments, 1 s) or a busy machine: OR-Tools' start must still finish
    start_s = max(left * OR_TOOLS_SHARE, min(left * 0.8, 1.0))
    first = first_solution(model, start_s, solution_limit, gls_lambda)
    start = routes_of(model, first) if first is not None else [[] for _ in model.data.vehicles]
    sisr = Sisr(model.search, seed=seed)
    # OR-Tools needs longer to restore and settle a bigger plan; polishing takes at most a sixth of the time
    polish_s = POLISH_S * max(1.0, len(model.search.customers) / 60)
    t_loop = time.perf_counter()
    spent = [0.0]

    def polish(routes: list[list[int]]) -> list[list[int]]:
        now = time.perf_counter()
        if deadline - now < polish_s or spent[0] > (now - t_loop) * POLISH_SHARE:
            return routes
        solution = settle(model, routes, polish_s)
        spent[0] += time.perf_counter() - now
        if solution is None and os.environ.get("ROUTES_LOG_SEARCH"):
            print("polish: no solution", flush=True)
        return routes_of(model, solution) if solution is not None else routes

    best = sisr.run(start, deadline, polish, t0_frac=SA_T0, tf_frac=SA_TF, max_iterations=iterations)
    if os.environ.get("ROUTES_LOG_SEARCH"):
        print(
            f"seed {seed}: start {sisr.score(start, sisr.unplaced_of(start))} best {sisr.best_cost} "
            f"after {sisr.iterations} iterations",
            flush=True,
        )
    score = sisr.score(best, sisr.unplaced_of(best))
    start_score = sisr.score(start, sisr.unplaced_of(start))
    if first is not None and start_score <= score:
        best, score = start, start_score
    return _Outcome(score, best, sisr.iterations, seed, start)


def _worker(job: tuple[int, float, int | None, int | None]) -> _Outcome:
    assert _FORK_MODEL is not None
    return _search_one(_FORK_MODEL, *job)


def default_workers() -> int:
    """One search per core, at most two (more cores do not pay off at a day's size)."""
    return max(1, min(2, os.cpu_count() or 1))


def _search(
    model: OrModel, deadline: float, solution_limit: int | None, workers: int, seed: int, iterations: int | None
) -> _Outcome:
    global _FORK_MODEL
    jobs = [(seed + k, deadline, solution_limit, iterations) for k in range(workers)]
    if workers <= 1 or "fork" not in mp.get_all_start_methods():
        return _search_one(model, *jobs[0])
    _FORK_MODEL = model
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            results = pool.map(_worker, jobs)
    finally:
        _FORK_MODEL = None
    # cheapest plan, ties to the lower seed: the same for every run
    return min(results, key=lambda r: (r.score, r.seed))


def _restore(model: OrModel, routes: list[list[int]]):
    """OR-Tools' schedule of `routes` as they are (or of a plan it found instead that is no dearer), else None."""
    solution = settle(model, routes, 10.0, solution_limit=1)
    if solution is None:
        return None
    got = routes_of(model, solution)
    if got != routes:
        scorer = Sisr(model.search)
        if scorer.score(got, scorer.unplaced_of(got)) > scorer.score(routes, scorer.unplaced_of(routes)):
            if os.environ.get("ROUTES_LOG_SEARCH"):
                print(f"OR-Tools changed the plan {routes} into a dearer {got}", flush=True)
            return None
    return solution


# --- public entry point ----------------------------------------------------------------------------------


def plan_tours(
    problem: Problem,
    time_limit_s: float = 5.0,
    solution_limit: int | None = None,
    *,
    workers: int | None = None,
    seed: int = 1,
    iterations: int | None = None,
) -> Plan:
    """Plan the day's tours. Every must-visit stop is served, or listed in `Plan.unserved` with its reason.

    Search: OR-Tools builds a start (cheapest insertion or the previous day's tours, then guided local
    search for a tenth of the time, at least 1 s if the limit allows), a ruin-and-recreate loop
    (`routes.lns`: SISR with simulated annealing, insertion checks for every constraint) improves it,
    and OR-Tools polishes every new best plan.
    `workers` searches (default: one per core, at most 2; one for fewer than 10 stops or under 2 s) run in
    parallel processes with seeds `seed`, `seed + 1`, ...; the cheapest plan wins.

    The search is deterministic for the same input, time limit, seed and workers: OR-Tools stops after
    `solution_limit` solutions (default scaled with the problem size), the loop after `iterations` steps
    (default proportional to the time limit); `time_limit_s` is a hard cap that stops it earlier on a slow
    or busy machine.
    """
    t0 = time.perf_counter()
    ids = [s.id for s in problem.stops]
    if len(set(ids)) != len(ids) or problem.depot.id in ids:
        raise ValueError("stop ids must be unique and differ from the depot id")
    vehicles = [v for v in problem.vehicles if v.available]
    unserved: list[Unserved] = []
    if not vehicles:
        unserved = [
            Unserved(s.id, UnservedReason.NO_VEHICLE, "No van is available (all in the workshop).")
            for s in problem.stops
        ]
        return Plan([], unserved, 0.0, time.perf_counter() - t0, "partial" if problem.stops else "ok")
    km, minutes, loc_index = _matrices(problem, vehicles)
    model_stops: list[Stop] = []
    excluded: set[str] = set()
    real_reason: dict[str, UnservedReason] = {}
    for s in problem.stops:
        why = _single_stop_reason(problem, km, minutes, loc_index, s)
        if why is None:
            model_stops.append(s)
        else:
            excluded.add(s.id)
            real_reason[s.id] = why[0]
            unserved.append(Unserved(s.id, why[0] if s.must_visit else UnservedReason.OPTIONAL, why[1]))
    # internal mail whose other end cannot be served cannot be served either
    changed = True
    while changed:
        changed = False
        for p in problem.pairs:
            a, b = p.pickup_stop, p.delivery_stop
            for x, y in ((a, b), (b, a)):
                if x in excluded and y not in excluded and any(s.id == y for s in model_stops):
                    excluded.add(y)
                    model_stops = [s for s in model_stops if s.id != y]
                    real_reason[y] = real_reason[x]
                    must = next(s.must_visit for s in problem.stops if s.id == y)
                    reason = real_reason[x] if must else UnservedReason.OPTIONAL
                    unserved.append(Unserved(y, reason, f"Internal mail between {a} and {b}: {x} cannot be served."))
                    changed = True
    if solution_limit is None:
        solution_limit = 100 + 10 * len(model_stops)
    if iterations is None:
        iterations = int(ITERATIONS_PER_S_100 * time_limit_s * 100 / max(20, len(model_stops)))
    if workers is None:
        # a second process pays off from a few seconds and a dozen stops on (start-up costs ~0.1 s)
        workers = default_workers() if len(model_stops) >= 10 and time_limit_s >= 2.0 else 1
    model = build_model(problem, model_stops)
    data = model.data
    # the rest: turning the routes into tours, explaining left-out stops
    deadline = t0 + time_limit_s * 0.95 - 0.05
    solved = Solved([[] for _ in data.vehicles], {}, [], [s.id for s in model_stops], False)
    if model_stops:
        outcome = _search(model, deadline, solution_limit, workers, seed, iterations)
        # schedule the plan as it is (the loop polished it already): restore + finalizers, one solution
        solution = _restore(model, outcome.routes)
        if solution is None:  # cannot happen if the loop's checks match the model: OR-Tools' own start then
            solution = _restore(model, outcome.start)
        if os.environ.get("ROUTES_LOG_SEARCH"):
            print(f"final settle: {'ok' if solution is not None else 'REJECTED'}", flush=True)
        if solution is None:
            solution = first_solution(model, max(0.1, t0 + time_limit_s - time.perf_counter()), solution_limit)
        solved = extract_solution(model, solution)
    dropped = set(solved.dropped)
    must_dropped = [s for s in model_stops if s.id in dropped and s.must_visit]
    for s in model_stops:
        if s.id in dropped and not s.must_visit:
            unserved.append(
                Unserved(
                    s.id, UnservedReason.OPTIONAL, f"Optional stop {s.id} (priority {s.priority}) did not pay off."
                )
            )
    if must_dropped:
        unserved += _explain_dropped(problem, model_stops, must_dropped, time_limit_s, t0)
    tours = _make_tours(data, solved)
    total = round(sum(t.km for t in tours), 3)
    order = {s.id: i for i, s in enumerate(problem.stops)}
    unserved.sort(key=lambda u: order.get(u.stop_id, 0))
    status = "partial" if any(u.reason != UnservedReason.OPTIONAL for u in unserved) else "ok"
    return Plan(tours, unserved, total, time.perf_counter() - t0, status)
