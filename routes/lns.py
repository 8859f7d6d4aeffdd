"""Ruin-and-recreate (SISR-style LNS) around OR-Tools for the CVRP solver in `routes.cvrp`.

The loop follows Christiaens & Vanden Berghe's SISR: remove a few strings of adjacent customers around
a random seed customer, reinsert them one by one at their cheapest feasible position (skipping
positions with a small "blink" probability, in a random/demand/far/close order), and accept the new
plan by simulated annealing. Every new best plan is polished by an OR-Tools local search (greedy
descent with all of its operators), handed in through a callback, so OR-Tools stays the engine that
settles every reported plan.

All costs here are the integers OR-Tools optimises (distances x1 for `nint`, x1000 otherwise), route
lengths use the same rounded-up length matrix as the OR-Tools model, so every plan accepted here is
accepted by OR-Tools as well.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

Routes = list[list[int]]


class Sisr:
    def __init__(
        self,
        dist: np.ndarray,
        demands: list[int],
        capacity: int,
        max_routes: int,
        lmat: np.ndarray | None = None,
        lmax: int | None = None,
        seed: int = 0,
        avg_removed: float = 10.0,
        max_string: int = 10,
        blink: float = 0.01,
    ) -> None:
        self.d = dist
        self.dem = demands
        self.cap = capacity
        self.max_routes = max_routes
        self.lmat = lmat
        self.lmax = lmax
        self.rng = np.random.default_rng(seed)
        self.avg_removed = avg_removed
        self.max_string = max_string
        self.blink = blink
        n = dist.shape[0]
        self.n = n
        order = np.argsort(dist[1:, 1:], axis=1, kind="stable") + 1
        self.neighbours = [[]] + [list(row) for row in order]  # customer i -> customers by distance
        self.depot_dist = dist[0]

    # --- bookkeeping -------------------------------------------------------------------------------
    def cost(self, routes: Routes) -> int:
        d = self.d
        total = 0
        for r in routes:
            if r:
                idx = [0, *r, 0]
                total += int(d[idx[:-1], idx[1:]].sum())
        return total

    def length(self, r: list[int]) -> int:
        if self.lmat is None or not r:
            return 0
        idx = [0, *r, 0]
        return int(self.lmat[idx[:-1], idx[1:]].sum())

    # --- ruin ----------------------------------------------------------------------------------------
    def ruin(self, routes: Routes) -> tuple[Routes, list[int]]:
        rng = self.rng
        routes = [list(r) for r in routes if r]
        where = {c: k for k, r in enumerate(routes) for c in r}
        avg_len = sum(len(r) for r in routes) / max(1, len(routes))
        ls_max = min(self.max_string, avg_len)
        ks_max = 4.0 * self.avg_removed / (1.0 + ls_max) - 1.0
        ks = int(rng.uniform(1.0, ks_max + 1.0))
        seed = int(rng.integers(1, self.n))
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
            if size < len(r) and rng.random() < 0.5 and len(r) - size >= 1:
                # split string: keep a random run of customers inside the removed string
                m = 1
                while size + m < len(r) and rng.random() > 0.5:
                    m += 1
                total = size + m
                start = max(0, min(len(r) - total, pos - int(rng.integers(0, total))))
                keep_at = start + int(rng.integers(0, size + 1))
                seg = r[start : start + total]
                kept = seg[keep_at - start : keep_at - start + m]
                gone = seg[: keep_at - start] + seg[keep_at - start + m :]
                routes[k] = r[:start] + kept + r[start + total :]
            else:
                start = max(0, min(len(r) - size, pos - int(rng.integers(0, size))))
                gone = r[start : start + size]
                routes[k] = r[:start] + r[start + size :]
            removed.extend(gone)
            for g in gone:
                where.pop(g, None)
            ruined.add(k)
        return [r for r in routes if r], removed

    # --- recreate ------------------------------------------------------------------------------------
    def recreate(self, routes: Routes, removed: list[int]) -> tuple[Routes, list[int]]:
        """Insert `removed` one by one at their cheapest feasible position; returns (routes, unplaced)."""
        rng = self.rng
        d, dem, cap = self.d, self.dem, self.cap
        lmat, lmax = self.lmat, self.lmax
        way = int(rng.integers(0, 4))
        if way == 0:
            rng.shuffle(removed)
        elif way == 1:
            removed.sort(key=lambda c: -dem[c])
        elif way == 2:
            removed.sort(key=lambda c: -self.depot_dist[c])
        else:
            removed.sort(key=lambda c: self.depot_dist[c])
        loads = [sum(dem[c] for c in r) for r in routes]
        lens = [self.length(r) for r in routes] if lmat is not None else None
        unplaced: list[int] = []
        for c in removed:
            prev: list[int] = []
            nxt: list[int] = []
            owner: list[int] = []
            for k, r in enumerate(routes):
                if loads[k] + dem[c] > cap:
                    continue
                prev.append(0)
                prev.extend(r)
                nxt.extend(r)
                nxt.append(0)
                owner.extend([k] * (len(r) + 1))
            best_k, best_pos, best_delta = -1, -1, math.inf
            if prev:
                p = np.array(prev)
                q = np.array(nxt)
                delta = d[p, c] + d[c, q] - d[p, q]
                ok = rng.random(len(prev)) >= self.blink
                if lmat is not None:
                    ow = np.array(owner)
                    ld = lmat[p, c] + lmat[c, q] - lmat[p, q]
                    ok &= np.array(lens)[ow] + ld <= lmax
                if ok.any():
                    delta = np.where(ok, delta, np.iinfo(np.int64).max)
                    j = int(np.argmin(delta))
                    best_delta = float(delta[j])
                    best_k = owner[j]
                    best_pos = j - owner.index(best_k)
            if len(routes) < self.max_routes:
                nd = float(d[0, c] + d[c, 0])
                feasible = lmat is None or lmat[0, c] + lmat[c, 0] <= lmax
                if feasible and nd < best_delta:
                    routes.append([c])
                    loads.append(dem[c])
                    if lens is not None:
                        lens.append(int(lmat[0, c] + lmat[c, 0]))
                    continue
            if best_k < 0:
                unplaced.append(c)
                continue
            r = routes[best_k]
            if lens is not None:
                a = r[best_pos - 1] if best_pos > 0 else 0
                b = r[best_pos] if best_pos < len(r) else 0
                lens[best_k] += int(lmat[a, c] + lmat[c, b] - lmat[a, b])
            r.insert(best_pos, c)
            loads[best_k] += dem[c]
        return routes, unplaced

    # --- main loop -----------------------------------------------------------------------------------
    def run(
        self,
        start: Routes,
        deadline: float,
        polish: Callable[[Routes, float], Routes] | None = None,
        t0_frac: float = 1.0,
        tf_frac: float = 0.01,
        polish_s: float = 0.1,
        unplaced_penalty: int = 10**9,
        max_iterations: int | None = None,
    ) -> Routes:
        """Improve `start` until `deadline` (time.perf_counter()); returns the best plan found."""
        rng = self.rng
        served = {c for r in start for c in r}
        missing = [c for c in range(1, self.n) if c not in served]

        def score(routes: Routes, unplaced: list[int]) -> int:
            return self.cost(routes) + unplaced_penalty * len(unplaced)

        cur, cur_miss = [list(r) for r in start if r], missing
        cur_cost = score(cur, cur_miss)
        best, best_cost = cur, cur_cost
        avg_arc = self.cost(cur) / max(1, self.n - 1 + len(cur))
        t_start = time.perf_counter()
        span = max(1e-3, deadline - t_start)
        temp0, temp1 = t0_frac * avg_arc, tf_frac * avg_arc
        it = 0
        while True:
            now = time.perf_counter()
            if now >= deadline or (max_iterations is not None and it >= max_iterations):
                break
            it += 1
            frac = (now - t_start) / span if max_iterations is None else it / max_iterations
            temp = temp0 * (temp1 / temp0) ** frac
            routes, removed = self.ruin(cur)
            routes, unplaced = self.recreate(routes, removed + list(cur_miss))
            cost = score(routes, unplaced)
            if cost < cur_cost - temp * math.log(rng.random()):
                cur, cur_miss, cur_cost = routes, unplaced, cost
                if cost < best_cost:
                    if polish is not None and not unplaced and deadline - time.perf_counter() > polish_s:
                        polished = polish(routes, polish_s)
                        pc = self.cost(polished)
                        if pc < cost and sum(len(r) for r in polished) == self.n - 1:
                            cur, cur_cost = polished, pc
                    best, best_cost = cur, cur_cost
        self.iterations = it
        return [r for r in best if r]
