"""Ruin-and-recreate (SISR with simulated annealing) on the product's full routing model.

`plan_tours` (routes.solver) builds the OR-Tools model and hands this module the same numbers as plain
arrays (`SearchModel`): metres per arc, seconds per arc per van (service time of the node left included),
windows, boxes, range and recharge, breaks, internal-mail pairs, drop penalties. The loop follows
Christiaens & Vanden Berghe's SISR: remove a few strings of adjacent stops around a random seed stop,
reinsert them one by one at their cheapest feasible position (skipping positions with a small "blink"
probability, in a random/demand/far/close order), and accept the new plan by simulated annealing. Every
new best plan is polished by an OR-Tools local search through a callback, so OR-Tools settles every
reported plan.

Feasibility of an insertion follows the OR-Tools model's own integer rules (`routes.feasible`), so that
OR-Tools accepts every plan of the loop: earliest and latest service starts per position ("time slack"),
range and load slack give an O(1) test per position, run over all positions of all routes at once by
the compiled kernels of `routes.kernels`.
Positions that these tests cannot decide alone (a van with a break, a route with a second round, pickups
or internal mail) are confirmed by a full O(route length) check of the changed route, cheapest candidate
first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import cast

import numpy as np

from routes import kernels
from routes.feasible import Routes, SearchModel, VehicleSpec, route_feasible

__all__ = ["Routes", "SearchModel", "Sisr", "VehicleSpec", "route_feasible"]


def _block(m: SearchModel, v: int, route: list[int]) -> np.ndarray:
    """Insertion positions of one route with what the O(1) tests need (see `Sisr._best_position`)."""
    spec = m.vehicles[v]
    seq = np.array([spec.start_node, *route, 0], dtype=np.int64)
    return kernels.fill_block(
        seq, m.time_np[spec.time_key], m.tw_lo_np, m.tw_hi_np, m.metres_np, m.deliver_np, m.is_simple_np,
        m.is_reload_np, spec.start_lo, spec.end_hi, spec.energy_cap, spec.capacity, bool(spec.breaks), v,
        spec.time_key,
    )  # fmt: skip


class Sisr:
    def __init__(
        self,
        model: SearchModel,
        seed: int = 0,
        avg_removed: float = 10.0,
        max_string: int = 10,
        blink: float = 0.01,
        max_checks: int = 40,
    ) -> None:
        self.m = model
        self.rng = np.random.default_rng(seed)
        self.avg_removed = avg_removed
        self.max_string = max_string
        self.blink = blink
        self.max_checks = max_checks
        cust = model.customers
        self.customers = np.array(cust, dtype=np.int64)
        sub = model.metres_np[np.ix_(cust, cust)] + model.metres_np[np.ix_(cust, cust)].T
        order = np.argsort(sub, axis=1, kind="stable")
        self.neighbours = {c: [cust[j] for j in order[k]] for k, c in enumerate(cust)}
        self.depot_dist = {c: model.metres[0][c] for c in cust}
        self.time_np = model.time_np
        # empty routes of vans that are alike offer the same positions
        self.signature = [
            (s.start_node, s.start_lo, s.start_hi, s.end_hi, s.capacity, s.energy_cap, s.time_key, tuple(s.breaks))
            for s in model.vehicles
        ]
        self.iterations = 0
        self._blocks: dict[tuple[int, ...], np.ndarray] = {}
        self.hard: set[int] = set()
        self._no_draws = np.empty(0, dtype=np.float64)
        self._empty_blocks = [_block(model, v, []) for v in range(len(model.vehicles))]

    def _block(self, v: int, route: list[int]) -> np.ndarray:
        if not route:
            return self._empty_blocks[v]
        key = (v, *route)
        block = self._blocks.get(key)
        if block is None:
            if len(self._blocks) > 20000:
                self._blocks.clear()
            block = self._blocks[key] = _block(self.m, v, route)
        return block

    # --- bookkeeping -------------------------------------------------------------------------------
    def cost(self, routes: Routes) -> int:
        m = self.m
        total = 0
        for v, r in enumerate(routes):
            prev = m.vehicles[v].start_node
            for node in r:
                total += m.metres[prev][node]
                prev = node
            if r:
                total += m.metres[prev][0]
        return total

    def score(self, routes: Routes, unplaced: list[int]) -> int:
        return self.cost(routes) + sum(self.m.penalty[c] for c in unplaced)

    def unplaced_of(self, routes: Routes) -> list[int]:
        served = {c for r in routes for c in r}
        return [c for c in self.m.customers if c not in served]

    # --- ruin ----------------------------------------------------------------------------------------
    def ruin(self, routes: Routes, seed_stop: int | None = None) -> tuple[Routes, list[int]]:
        """Remove strings around `seed_stop` (default: a random stop)."""
        rng, m = self.rng, self.m
        routes = [list(r) for r in routes]
        where = {c: k for k, r in enumerate(routes) for c in r}
        used = [r for r in routes if any(c not in m.reload_owner for c in r)]
        if not used:
            return routes, []
        avg_len = sum(len(r) for r in used) / len(used)
        ls_max = max(1.0, min(self.max_string, avg_len))
        ks_max = 4.0 * self.avg_removed / (1.0 + ls_max) - 1.0
        ks = int(rng.uniform(1.0, ks_max + 1.0))
        seed = seed_stop if seed_stop is not None else int(self.customers[int(rng.integers(0, len(self.customers)))])
        removed: list[int] = []
        ruined: set[int] = set()
        for c in [seed, *self.neighbours[seed]]:
            if len(ruined) >= ks:
                break
            k = where.get(c)
            if k is None or k in ruined:
                continue
            r = routes[k]
            l_max = min(len(r), ls_max)
            size = int(rng.uniform(1.0, l_max + 1.0))
            pos = r.index(c)
            if size < len(r) and rng.random() < 0.5:
                # split string: keep a random run of stops inside the removed string
                keep = 1
                while size + keep < len(r) and rng.random() > 0.5:
                    keep += 1
                total = size + keep
                start = max(0, min(len(r) - total, pos - int(rng.integers(0, total))))
                keep_at = int(rng.integers(0, size + 1))
                seg = r[start : start + total]
                gone = seg[:keep_at] + seg[keep_at + keep :]
            else:
                start = max(0, min(len(r) - size, pos - int(rng.integers(0, size))))
                gone = r[start : start + size]
            gone_set = {g for g in gone if g not in m.reload_owner}
            # internal mail leaves together
            for g in list(gone_set):
                gone_set.update(m.group.get(g, ()))
            for g in gone_set:
                routes[where[g]].remove(g)
                where.pop(g, None)
                removed.append(g)
            ruined.add(k)
        return routes, removed

    # --- recreate ------------------------------------------------------------------------------------
    def recreate(self, routes: Routes, removed: list[int]) -> tuple[Routes, list[int]]:
        """Insert `removed` at their cheapest feasible positions; returns (routes, unplaced)."""
        rng, m = self.rng, self.m
        way = int(rng.integers(0, 4))
        if way == 0:
            rng.shuffle(removed)
        elif way == 1:
            removed.sort(key=lambda c: -m.deliver[c] - m.picked[c])
        elif way == 2:
            removed.sort(key=lambda c: -self.depot_dist[c])
        else:
            removed.sort(key=lambda c: self.depot_dist[c])
        # stops that found no place last time go first: they are the hard ones
        removed.sort(key=lambda c: c not in self.hard)
        # groups of internal mail go in as units, in the place of their first member
        todo: list[list[int]] = []
        seen: set[int] = set()
        for c in removed:
            if c in seen:
                continue
            members = m.group.get(c, [c])
            seen.update(members)
            todo.append(list(members))
        blocks = [self._block(v, r) for v, r in enumerate(routes)]
        where = {c: k for k, r in enumerate(routes) for c in r}
        active = self._active(routes)
        unplaced: list[int] = []
        for members in todo:
            saved = {}
            placed: list[int] = []
            ok = True
            only: int | None = None
            added = 0
            for c in members:
                k, pos, delta = self._best_position(routes, blocks, where, c, only, active)
                if k < 0:
                    ok = False
                    break
                added += delta
                if k not in saved:
                    saved[k] = list(routes[k])
                was_empty = not routes[k]
                routes[k].insert(pos, c)
                if was_empty:
                    active = self._active(routes)
                where[c] = k
                blocks[k] = self._block(k, routes[k])
                placed.append(c)
                only = k
            if ok and added > sum(m.penalty[c] for c in members):
                ok = False  # optional stops that do not pay off stay out
            if not ok:
                for k, r in saved.items():
                    routes[k] = r
                    blocks[k] = self._block(k, r)
                if not all(saved.values()):
                    active = self._active(routes)
                for c in placed:
                    where.pop(c, None)
                unplaced.extend(members)
        return routes, unplaced

    def _active(self, routes: Routes) -> list[int]:
        """The routes whose positions are offered: every used one, and one empty route per kind of van
        (empty routes of vans that are alike offer the same positions)."""
        active, seen_empty = [], set()
        for k, r in enumerate(routes):
            if not r:
                sig = self.signature[k]
                if sig in seen_empty:
                    continue
                seen_empty.add(sig)
            active.append(k)
        return active

    def _best_position(
        self,
        routes: Routes,
        blocks: list[np.ndarray],
        where: dict[int, int],
        c: int,
        only: int | None,
        active: list[int],
    ) -> tuple[int, int, int]:
        """Cheapest feasible (route, position, added metres) for `c`, or (-1, -1, 0).

        All positions of all routes at once: earliest service start at `c` within its window, the next call
        still by its latest start, range and capacity; positions these tests cannot settle alone are
        confirmed by `route_feasible`, cheapest first. Empty routes of identical vans count once."""
        m = self.m
        cat = blocks[only] if only is not None else np.concatenate([blocks[k] for k in active], axis=1)
        c_simple = m.is_simple[c]
        draws = cast(np.ndarray, self.rng.random(cat.shape[1])) if self.blink > 0 else self._no_draws
        order, deltas = kernels.scan_positions(
            cat, c, self.time_np, m.metres_np, m.tw_lo[c], m.tw_hi[c], m.deliver[c], c_simple, draws, self.blink
        )
        if len(order) == 0:
            return -1, -1, 0
        owner, pos_row, exact = cat[kernels.OWNER], cat[kernels.POS], cat[kernels.EXACT]
        if c_simple and exact[order[0]]:  # the cheapest position needs no further check
            j = order[0]
            return int(owner[j]), int(pos_row[j]), int(deltas[0])
        for checks, (j, delta) in enumerate(zip(order.tolist(), deltas.tolist(), strict=True)):
            k, pos = int(owner[j]), int(pos_row[j])
            if exact[j] and c_simple:
                return k, pos, delta
            if checks >= self.max_checks:
                break
            trial = [*routes[k][:pos], c, *routes[k][pos:]]
            where[c] = k
            good = route_feasible(m, k, trial, where)
            where.pop(c, None)
            if good:
                return k, pos, delta
        return -1, -1, 0

    # --- main loop -----------------------------------------------------------------------------------
    def run(
        self,
        start: Routes,
        deadline: float,
        polish: Callable[[Routes], Routes] | None = None,
        t0_frac: float = 1.0,
        tf_frac: float = 0.01,
        max_iterations: int | None = None,
        polish_every_best: bool = True,
    ) -> Routes:
        """Improve `start` until `deadline` (time.perf_counter()) or `max_iterations`; returns the best plan."""
        rng = self.rng
        cur = [list(r) for r in start]
        cur_miss = self.unplaced_of(cur)
        # the start may hold optional stops only: re-insert what is missing first
        if cur_miss:
            cur, cur_miss = self.recreate(cur, list(cur_miss))
        cur_cost = self.score(cur, cur_miss)
        best, best_cost = [list(r) for r in cur], cur_cost
        n_arcs = sum(len(r) + 1 for r in cur if r)
        avg_arc = max(1.0, self.cost(cur) / max(1, n_arcs))
        t_start = time.perf_counter()
        span = max(1e-3, deadline - t_start)
        temp0, temp1 = t0_frac * avg_arc, tf_frac * avg_arc
        it = 0
        while True:
            now = time.perf_counter()
            if now >= deadline or (max_iterations is not None and it >= max_iterations):
                break
            it += 1
            frac = min(1.0, (now - t_start) / span)
            if max_iterations is not None:
                frac = max(frac, it / max_iterations)
            temp = temp0 * (temp1 / temp0) ** frac
            # make room around a stop that found no place, half of the time
            seed_stop = int(rng.choice(cur_miss)) if cur_miss and rng.random() < 0.5 else None
            self.hard = set(cur_miss)
            routes, removed = self.ruin(cur, seed_stop)
            routes, unplaced = self.recreate(routes, removed + list(cur_miss))
            cost = self.score(routes, unplaced)
            if cost < cur_cost - temp * math.log(rng.random()):
                cur, cur_miss, cur_cost = routes, unplaced, cost
                if cost < best_cost:
                    if polish is not None and polish_every_best:
                        polished = polish(cur)
                        pmiss = self.unplaced_of(polished)
                        pc = self.score(polished, pmiss)
                        if pc < cost:
                            cur, cur_miss, cur_cost = polished, pmiss, pc
                    best, best_cost = [list(r) for r in cur], cur_cost
        self.iterations = it
        self.best_cost = best_cost
        return best
