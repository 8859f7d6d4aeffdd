"""The ruin-and-recreate loop's two inner loops, compiled with Numba (`routes.lns` calls them).

`fill_block` computes one route's insertion block (earliest and latest service starts, range and load
slack per position), `scan_positions` tests a stop at every position of every route at once. In plain
Python and NumPy these two were three quarters of the loop's time (tens of NumPy calls on arrays of a
few dozen positions); compiled, the loop runs several times as many iterations in the same time, which
is what the search's quality grows with. The rules are those of `routes.feasible` (the OR-Tools
model's integer rules); `tests/routes/test_kernels.py` holds both to the same answers.

Compiled for the signatures given when this module is first imported (about 3 s, outside any plan's time
limit) and cached next to this file (`cache=True`), so later imports load the machine code.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# rows of a block: one column per insertion position j (between seq[j] and q = seq[j + 1])
P, Q, A, LOQ, ZQ, ESLACK, CSLACK, EXACT, OWNER, POS, KEY = range(11)
ROWS = 11
FREE = 1 << 60  # "no limit" in a slack row


@njit(
    "int64[:, ::1](int64[::1], int64[:, ::1], int64[::1], int64[::1], int64[:, ::1], int64[::1], boolean[::1],"
    " boolean[::1], int64, int64, int64, int64, boolean, int64, int64)",
    cache=True,
)
def fill_block(
    seq: np.ndarray,
    t: np.ndarray,
    tw_lo: np.ndarray,
    tw_hi: np.ndarray,
    metres: np.ndarray,
    deliver: np.ndarray,
    is_simple: np.ndarray,
    is_reload: np.ndarray,
    start_lo: int,
    end_hi: int,
    energy_cap: int,
    capacity: int,
    has_breaks: bool,
    owner: int,
    time_key: int,
) -> np.ndarray:
    """The block of the route `seq` = [start node, *stops, 0] driven with the time matrix `t`."""
    n = seq.shape[0]
    out = np.empty((ROWS, n - 1), dtype=np.int64)
    reload_seen = False
    simple = True
    boxes = 0
    for i in range(1, n - 1):
        node = seq[i]
        if is_reload[node]:
            reload_seen = True
        if not is_simple[node]:
            simple = False
        boxes += deliver[node]
    simple = simple and not reload_seen
    # earliest service start at seq[j]
    x = start_lo
    out[A, 0] = x
    for i in range(1, n - 1):
        lo = tw_lo[seq[i]]
        x = max(lo, x + t[seq[i - 1], seq[i]])
        out[A, i] = x
    # latest service start at q = seq[j + 1]
    zz = end_hi
    out[ZQ, n - 2] = zz
    for i in range(n - 2, 0, -1):
        node = seq[i]
        zz = min(tw_hi[node], zz - t[node, seq[i + 1]])
        out[ZQ, i - 1] = zz
    used_m = 0
    for j in range(n - 1):
        p = seq[j]
        q = seq[j + 1]
        out[P, j] = p
        out[Q, j] = q
        out[LOQ, j] = tw_lo[q] if j < n - 2 else 0
        used_m += metres[p, q]
        out[OWNER, j] = owner
        out[POS, j] = j
        out[KEY, j] = time_key
    eslack = FREE if reload_seen else energy_cap - used_m
    cslack = capacity - boxes if simple else FREE
    exact = 1 if simple and not has_breaks else 0
    for j in range(n - 1):
        out[ESLACK, j] = eslack
        out[CSLACK, j] = cslack
        out[EXACT, j] = exact
    return out


@njit(
    "Tuple((int64[::1], int64[::1]))(int64[:, ::1], int64, int64[:, :, ::1], int64[:, ::1], int64, int64, int64,"
    " boolean, float64[::1], float64)",
    cache=True,
)
def scan_positions(
    cat: np.ndarray,
    c: int,
    time_np: np.ndarray,
    metres: np.ndarray,
    lo_c: int,
    hi_c: int,
    deliver_c: int,
    c_simple: bool,
    draws: np.ndarray,
    blink: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `cat` (blocks side by side) where `c` passes the O(1) tests, cheapest first, and the
    metres each adds. A position is skipped when its draw in [0, 1) is below `blink` (SISR's blinks)."""
    n = cat.shape[1]
    one_key = time_np.shape[0] == 1
    delta = np.empty(n, dtype=np.int64)
    keep = np.empty(n, dtype=np.int64)
    k = 0
    for j in range(n):
        p = cat[P, j]
        q = cat[Q, j]
        key = 0 if one_key else cat[KEY, j]
        d = metres[p, c] + metres[c, q] - metres[p, q]
        if d > cat[ESLACK, j]:
            continue
        ac = max(lo_c, cat[A, j] + time_np[key, p, c])
        if ac > hi_c:
            continue
        if max(cat[LOQ, j], ac + time_np[key, c, q]) > cat[ZQ, j]:
            continue
        if c_simple and cat[CSLACK, j] < deliver_c:
            continue
        if blink > 0.0 and draws[j] < blink:
            continue
        keep[k] = j
        delta[k] = d
        k += 1
    keep = keep[:k]
    delta = delta[:k]
    order = np.argsort(delta, kind="mergesort")
    return keep[order], delta[order]
