"""The product model's rules as plain arrays (`SearchModel`) and the full check of one route.

Feasibility of an insertion is decided here, with the OR-Tools model's own integer rules (so that
OR-Tools accepts every plan of the loop):

* time: earliest service starts forward and latest service starts backward per position ("time slack"),
  so a candidate position is checked in O(1) (vectorised over all positions of all routes);
* capacity: boxes on board after every call within [0, capacity] for some start load of each round,
  boxes picked up per round <= capacity (simultaneous pickup and delivery);
* range with recharge: metres since the battery was full, the depot between rounds gives back
  `recharge_m`;
* breaks: the break fits in one leg (driving or waiting), before the start or after the end;
* internal mail: pickup and delivery in the same route, pickup first, both or neither.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Routes = list[list[int]]  # model nodes per model vehicle (start and end left out, reload nodes included)


@dataclass
class VehicleSpec:
    start_node: int
    start_lo: int  # seconds
    start_hi: int
    end_hi: int
    capacity: int
    energy_cap: int  # metres
    time_key: int  # index into SearchModel.time_np / time_ls
    breaks: list[tuple[int, int, int]] = field(default_factory=list)  # (earliest start, latest start, duration) s


@dataclass
class SearchModel:
    metres: list[list[int]]
    time_ls: list[list[list[int]]]  # per time key: seconds incl. service at the node left
    service_s: list[int]
    tw_lo: list[int]
    tw_hi: list[int]
    picked: list[int]  # boxes picked up for the depot at the node
    load: list[int]  # change of the boxes on board at the node
    deliver: list[int]
    recharge_m: int
    reload_owner: dict[int, int]
    customers: list[int]  # stop nodes
    penalty: list[int]  # drop penalty per node
    vehicles: list[VehicleSpec]
    pairs: list[tuple[int, int]]  # (pickup node, delivery node)
    metres_np: np.ndarray = field(init=False)
    is_simple: list[bool] = field(init=False)
    time_np: np.ndarray = field(init=False)
    partners: dict[int, list[tuple[int, int]]] = field(init=False)
    group: dict[int, list[int]] = field(init=False)  # node -> its internal-mail group (pickups first)
    # the same numbers as arrays, for the compiled kernels (`routes.kernels`)
    tw_lo_np: np.ndarray = field(init=False)
    tw_hi_np: np.ndarray = field(init=False)
    deliver_np: np.ndarray = field(init=False)
    is_simple_np: np.ndarray = field(init=False)
    is_reload_np: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.metres_np = np.array(self.metres, dtype=np.int64)
        self.time_np = np.array(self.time_ls, dtype=np.int64)
        self.partners = {}
        for p, d in self.pairs:
            self.partners.setdefault(p, []).append((p, d))
            self.partners.setdefault(d, []).append((p, d))
        # connected components of the pair graph: removed and reinserted together
        self.group = {}
        for p, d in self.pairs:
            members = sorted(set(self.group.get(p, [p])) | set(self.group.get(d, [d])))
            for m in members:
                self.group[m] = members
        self.is_simple = [self.simple(node) for node in range(len(self.metres))]
        self.tw_lo_np = np.array(self.tw_lo, dtype=np.int64)
        self.tw_hi_np = np.array(self.tw_hi, dtype=np.int64)
        self.deliver_np = np.array(self.deliver, dtype=np.int64)
        self.is_simple_np = np.array(self.is_simple, dtype=np.bool_)
        self.is_reload_np = np.zeros(len(self.metres), dtype=np.bool_)
        self.is_reload_np[list(self.reload_owner)] = True
        for members in {id(g): g for g in self.group.values()}.values():
            deliveries = {d for _, d in self.pairs}
            members.sort(key=lambda m: (m in deliveries, m))

    def simple(self, node: int) -> bool:
        """A stop whose load rule is 'deliveries of the round <= capacity' (no pickups, no internal mail)."""
        return self.picked[node] == 0 and self.load[node] == -self.deliver[node] and node not in self.partners


# rows of a route's candidate block: one column per insertion position (between seq[j] and seq[j + 1])


def route_feasible(m: SearchModel, v: int, route: list[int], where: dict[int, int] | None = None) -> bool:
    """Full check of one van's route against the model's rules (see the module docstring)."""
    spec = m.vehicles[v]
    t = m.time_ls[spec.time_key]
    seq = [spec.start_node, *route, 0]
    n = len(seq)
    # range with recharge between rounds
    e, cap_e, metres, owner = 0, spec.energy_cap, m.metres, m.reload_owner
    for i in range(1, n):
        prev = seq[i - 1]
        if prev in owner:
            e = max(0, e - m.recharge_m)
        e += metres[prev][seq[i]]
        if e > cap_e:
            return False
    # boxes, per round
    cap = spec.capacity
    prefix = lo_p = hi_p = picked = 0
    for i in range(1, n):
        node = seq[i]
        if i == n - 1 or node in owner:
            # the round closes here: a start load L with L + prefix in [0, cap] everywhere, L + total >= picked
            if picked > cap or max(-lo_p, picked - prefix) > cap - hi_p:
                return False
            prefix = lo_p = hi_p = picked = 0
            continue
        prefix += m.load[node]
        picked += m.picked[node]
        lo_p = min(lo_p, prefix)
        hi_p = max(hi_p, prefix)
    # internal mail: same route, pickup first
    if m.partners:
        pos = {node: i for i, node in enumerate(route)}
        for node in route:
            for p, d in m.partners.get(node, ()):
                if p in pos and d in pos:
                    if pos[p] > pos[d]:
                        return False
                else:
                    other = d if node == p else p
                    if where is None or where.get(other, -1) not in (-1, v):
                        return False
    # time: earliest service starts
    tw_lo, tw_hi = m.tw_lo, m.tw_hi
    a = [0] * n
    a[0] = spec.start_lo
    for i in range(1, n):
        node = seq[i]
        lo, hi = (0, spec.end_hi) if i == n - 1 else (tw_lo[node], tw_hi[node])
        x = max(lo, a[i - 1] + t[seq[i - 1]][node])
        if x > hi:
            return False
        a[i] = x
    if not spec.breaks:
        return True
    if len(spec.breaks) == 1:
        return _one_break_fits(m, spec, seq, a, t)
    return _breaks_fit_greedy(m, spec, seq, t)


def _one_break_fits(m: SearchModel, spec: VehicleSpec, seq: list[int], a: list[int], t: list[list[int]]) -> bool:
    b_lo, b_hi, dur = spec.breaks[0]
    n = len(seq)
    if a[-1] <= b_hi:  # after the end
        return True
    z = [0] * n
    z[-1] = spec.end_hi
    for i in range(n - 2, -1, -1):
        z[i] = min(spec.start_hi if i == 0 else m.tw_hi[seq[i]], z[i + 1] - t[seq[i]][seq[i + 1]])
    svc = m.service_s
    for k in range(n - 1):
        dep = a[k] + (svc[seq[k]] if k else 0)
        start = max(dep, b_lo)
        if start > b_hi:
            break
        travel = t[seq[k]][seq[k + 1]] - (svc[seq[k]] if k else 0)
        lo_next = 0 if k + 1 == n - 1 else m.tw_lo[seq[k + 1]]
        if max(lo_next, dep + travel + dur, start + dur) <= z[k + 1]:
            return True
    # before the start: the van leaves after the break
    first = b_lo + dur
    if first <= spec.start_hi and first <= z[0]:
        x = max(first, spec.start_lo)
        for i in range(1, n):
            x = max(0 if i == n - 1 else m.tw_lo[seq[i]], x + t[seq[i - 1]][seq[i]])
            if x > z[i]:
                return False
        return True
    return False


def _breaks_fit_greedy(m: SearchModel, spec: VehicleSpec, seq: list[int], t: list[list[int]]) -> bool:
    """Several breaks: each taken in the first leg that reaches its window (a safe, not exhaustive test)."""
    pending = sorted(spec.breaks)
    svc = m.service_s
    x = spec.start_lo
    n = len(seq)
    for i in range(1, n):
        dep = x + (svc[seq[i - 1]] if i > 1 else 0)
        arrive = x + t[seq[i - 1]][seq[i]]
        while pending and max(dep, pending[0][0]) <= pending[0][1] and arrive + svc[seq[i]] >= pending[0][0]:
            b_lo, _, dur = pending.pop(0)
            arrive = max(arrive + dur, max(dep, b_lo) + dur)
            dep = arrive
        if pending and dep > pending[0][1]:
            return False
        lo, hi = (0, spec.end_hi) if i == n - 1 else (m.tw_lo[seq[i]], m.tw_hi[seq[i]])
        x = max(lo, arrive)
        if x > hi:
            return False
    return all(x <= b_hi for _, b_hi, _ in pending)
