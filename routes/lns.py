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
range and load slack give an O(1) test per position, vectorised over all positions of all routes.
Positions that these tests cannot decide alone (a van with a break, a route with a second round, pickups
or internal mail) are confirmed by a full O(route length) check of the changed route, cheapest candidate
first.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import numpy as np

from routes.feasible import Routes, SearchModel, VehicleSpec, route_feasible

__all__ = ["Routes", "SearchModel", "Sisr", "VehicleSpec", "route_feasible"]

_P, _Q, _A, _LOQ, _ZQ, _ESLACK, _CSLACK, _EXACT, _OWNER, _POS, _KEY = range(11)
_FREE = 1 << 60  # "no limit" in a slack row


def _block(m: SearchModel, v: int, route: list[int]) -> np.ndarray:
    """Insertion positions of one route with what the O(1) tests need (see `Sisr._best_position`)."""
    spec = m.vehicles[v]
    t = m.time_ls[spec.time_key]
    seq = [spec.start_node, *route, 0]
    n = len(seq)
    tw_lo, tw_hi = m.tw_lo, m.tw_hi
    # column j = the position between seq[j] and q = seq[j + 1]
    lo_q = [tw_lo[node] for node in seq[1:]]
    lo_q[-1] = 0
    a = [0] * (n - 1)  # earliest service start at seq[j]
    x = a[0] = spec.start_lo
    prev = seq[0]
    for i in range(1, n - 1):
        node = seq[i]
        x = max(lo_q[i - 1], x + t[prev][node])
        a[i] = x
        prev = node
    z_q = [0] * (n - 1)  # latest service start at q
    zz = z_q[-1] = spec.end_hi
    for i in range(n - 2, 0, -1):
        node = seq[i]
        zz = min(tw_hi[node], zz - t[node][seq[i + 1]])
        z_q[i - 1] = zz
    has_reload = not m.reload_owner.keys().isdisjoint(route)
    simple = not has_reload and all(map(m.is_simple.__getitem__, route))
    metres = m.metres
    out = np.empty((11, n - 1), dtype=np.int64)
    out[:5] = np.array([seq[:-1], seq[1:], a, lo_q, z_q], dtype=np.int64)
    if has_reload:
        out[_ESLACK] = _FREE
    else:
        out[_ESLACK] = spec.energy_cap - sum(metres[p][q] for p, q in itertools.pairwise(seq))
    out[_CSLACK] = spec.capacity - sum(map(m.deliver.__getitem__, route)) if simple else _FREE
    out[_EXACT] = simple and not spec.breaks
    out[_OWNER] = v
    out[_POS] = np.arange(n - 1)
    out[_KEY] = spec.time_key
    return out


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

    def _block(self, v: int, route: list[int]) -> np.ndarray:
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
        unplaced: list[int] = []
        for members in todo:
            saved = {}
            placed: list[int] = []
            ok = True
            only: int | None = None
            added = 0
            for c in members:
                k, pos, delta = self._best_position(routes, blocks, where, c, only)
                if k < 0:
                    ok = False
                    break
                added += delta
                if k not in saved:
                    saved[k] = list(routes[k])
                routes[k].insert(pos, c)
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
                for c in placed:
                    where.pop(c, None)
                unplaced.extend(members)
        return routes, unplaced

    def _best_position(
        self, routes: Routes, blocks: list[np.ndarray], where: dict[int, int], c: int, only: int | None
    ) -> tuple[int, int, int]:
        """Cheapest feasible (route, position, added metres) for `c`, or (-1, -1, 0).

        All positions of all routes at once: earliest service start at `c` within its window, the next call
        still by its latest start, range and capacity; positions these tests cannot settle alone are
        confirmed by `route_feasible`, cheapest first. Empty routes of identical vans count once."""
        m = self.m
        if only is not None:
            cat = blocks[only]
        else:
            parts, seen_empty = [], set()
            for k, r in enumerate(routes):
                if not r:
                    sig = self.signature[k]
                    if sig in seen_empty:
                        continue
                    seen_empty.add(sig)
                parts.append(blocks[k])
            cat = np.concatenate(parts, axis=1)
        p, q = cat[_P], cat[_Q]
        tm = self.time_np
        if tm.shape[0] == 1:
            t_pc, t_cq = tm[0, p, c], tm[0, c, q]
        else:
            t_pc, t_cq = tm[cat[_KEY], p, c], tm[cat[_KEY], c, q]
        ac = np.maximum(m.tw_lo[c], cat[_A] + t_pc)
        md = m.metres_np
        delta = md[p, c] + md[c, q] - md[p, q]
        ok = (ac <= m.tw_hi[c]) & (np.maximum(cat[_LOQ], ac + t_cq) <= cat[_ZQ]) & (delta <= cat[_ESLACK])
        c_simple = m.simple(c)
        if c_simple:
            ok &= cat[_CSLACK] >= m.deliver[c]
        if self.blink > 0:
            ok &= self.rng.random(len(ok)) >= self.blink
        cand = np.flatnonzero(ok)
        if len(cand) == 0:
            return -1, -1, 0
        order = cand[np.argsort(delta[cand], kind="stable")]
        owner, pos_row, exact = cat[_OWNER], cat[_POS], cat[_EXACT]
        for checks, j in enumerate(order):
            k, pos = int(owner[j]), int(pos_row[j])
            if exact[j] and c_simple:
                return k, pos, int(delta[j])
            if checks >= self.max_checks:
                break
            trial = [*routes[k][:pos], c, *routes[k][pos:]]
            where[c] = k
            good = route_feasible(m, k, trial, where)
            where.pop(c, None)
            if good:
                return k, pos, int(delta[j])
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
