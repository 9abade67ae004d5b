"""Shapley values of one row against background rows: exact on a few columns, sampled (and still adding up) on more.

The model is any ``forward(parts) -> outputs``: ``parts`` is a tuple of arrays with one row per row asked about,
and ``owners[a][i]`` says which raw input column the i-th column of array ``a`` belongs to. A text column's
one-hot inputs, or a date's six inputs, share an owner, so they move together and count once; a transformed float
matrix (a Run) and a tuple of per-kind raw arrays (a saved model that takes raw columns) both fit.

"Missing" columns take the background rows' values (interventional Shapley values): the value of a set S of
columns is the model's average output over the background rows with the columns in S set to the explained row's.
Then ``base`` (the average output over the background) plus the contributions is the row's own output exactly,
whichever estimator ran. No TensorFlow here: the estimator only calls ``forward``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Parts = tuple[np.ndarray, ...]
Forward = Callable[[Parts], np.ndarray]

EXACT_COLUMNS = 6  # up to this many columns every one of the 2^k sets is evaluated (64 x the background rows)
ROW_BUDGET = 40_000  # rows through the model for one explanation when sampling (about 0.1 s for a 64 x 64 network)
CELL_BUDGET = 12_000_000  # values assembled for one explanation: 40,000 rows of 300 inputs (wide tables get fewer)
CHUNK_CELLS = 2_500_000  # values assembled and passed through the model at once: 10 MB of float32 ...
CHUNK_ROWS = 8_192  # ... in at most this many rows, whose hidden values the network holds at once (3 x 512: 50 MB)
MIN_BACKGROUND = 10  # a model too big for the budget still averages over at least this many background rows


@dataclass(frozen=True)
class Shapley:
    """One row's Shapley values for every output of the model, with the average answer they start from."""

    values: np.ndarray  # (columns, outputs): each column's share of (output - base)
    base: np.ndarray  # (outputs,): the average output over the background rows used
    output: np.ndarray  # (outputs,): the row's own output; base + values.sum(axis=0) equals it
    exact: bool
    background_rows: int  # background rows averaged over
    orders: int  # column orders sampled per background row (0 when exact)
    evaluations: int  # rows passed through the model


def shapley_values(forward: Forward, row: Parts, background: Parts, owners: Sequence[np.ndarray],
                   exact_columns: int = EXACT_COLUMNS, budget: int = ROW_BUDGET, seed: int = 0) -> Shapley:
    """Exact (all 2^k sets) for at most ``exact_columns`` columns, else sampled orders within ``budget`` rows (and
    CELL_BUDGET values: rows hundreds of inputs wide cost their assembly more than the model).

    ``row`` holds one row, ``background`` the background rows, in the same arrays as ``forward`` takes. Fewer
    background rows are used (the first ones: pass a random sample) when even the minimum work would exceed the
    budget, never fewer than MIN_BACKGROUND.
    """
    k = 1 + max(int(o.max()) for o in owners if o.size)
    n_background = len(background[0])
    if n_background == 0:
        raise ValueError("no background rows")
    full = np.asarray(forward(row), dtype="float64")[0]  # the row alone, as a prediction of it computes it
    budget = min(budget, CELL_BUDGET // _width(row))
    if k <= max(exact_columns, 1):  # one column: its share is the whole difference
        used = min(n_background, max(MIN_BACKGROUND, budget // 2 ** k))
        return exact_shapley(forward, row, _head(background, used), owners, k, full)
    used = min(n_background, max(MIN_BACKGROUND, budget // (2 * max(k - 1, 1))))
    orders = max(2, 2 * (budget // (2 * used * max(k - 1, 1))))
    return sampled_shapley(forward, row, _head(background, used), owners, k, orders, seed, full)


def _width(parts: Parts) -> int:
    return max(1, sum(p.shape[1] for p in parts))


def _chunk_rows(parts: Parts) -> int:
    """Rows assembled at once, so that a chunk holds about CHUNK_CELLS values however wide the rows are."""
    return max(1, min(CHUNK_ROWS, CHUNK_CELLS // _width(parts)))


def _head(parts: Parts, n: int) -> Parts:
    return tuple(p[:n] for p in parts)


def mixed_rows(row: Parts, background: Parts, owners: Sequence[np.ndarray], take_row: np.ndarray,
               which: np.ndarray) -> Parts:
    """Rows that take column j from ``row`` where ``take_row[:, j]``, and from background row ``which`` elsewhere."""
    out = []
    for r, b, o in zip(row, background, owners):
        rows = b[which]  # a copy, overwritten in place: no third array the size of the chunk
        np.copyto(rows, r, where=take_row[:, o])
        out.append(rows)
    return tuple(out)


def outputs(forward: Forward, row: Parts, background: Parts, owners: Sequence[np.ndarray], take_row: np.ndarray,
            which: np.ndarray) -> np.ndarray:
    """The model's outputs (float64, one row per mask) for the mixed rows, a chunk (``_chunk_rows``) at a time."""
    step = _chunk_rows(row)
    pieces = [np.asarray(forward(mixed_rows(row, background, owners, take_row[s:s + step], which[s:s + step])),
                         dtype="float64") for s in range(0, len(which), step)]
    return np.concatenate(pieces).reshape(len(which), -1)


def exact_shapley(forward: Forward, row: Parts, background: Parts, owners: Sequence[np.ndarray], k: int,
                  full: np.ndarray | None = None) -> Shapley:
    """Every set of columns but the full one, each averaged over every background row: (2^k - 1) x rows, in few
    forward passes. ``full`` is the row's own output (computed here when not given)."""
    n = len(background[0])
    sets = ((np.arange(2 ** k)[:, None] >> np.arange(k)) & 1).astype(bool)  # set number s holds column j if bit j
    if full is None:
        full = np.asarray(forward(row), dtype="float64")[0]
    value = outputs(forward, row, background, owners, np.repeat(sets[:-1], n, axis=0),
                    np.tile(np.arange(n), 2 ** k - 1))
    value = np.concatenate([value.reshape(2 ** k - 1, n, -1).mean(axis=1), full[None]])
    size = sets.sum(axis=1)
    weight = np.array([math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)])
    phi = np.zeros((k, value.shape[1]))
    for j in range(k):
        without = np.flatnonzero(~sets[:, j])
        phi[j] = (weight[size[without]][:, None] * (value[without | (1 << j)] - value[without])).sum(axis=0)
    return Shapley(values=phi, base=value[0], output=full, exact=True, background_rows=n, orders=0,
                   evaluations=(2 ** k - 1) * n + 1)


def sampled_shapley(forward: Forward, row: Parts, background: Parts, owners: Sequence[np.ndarray], k: int,
                    orders: int, seed: int = 0, full: np.ndarray | None = None) -> Shapley:
    """Random orders of the columns, ``orders`` per background row, each order with its reverse (antithetic).

    Along one order, the columns switch one by one from the background row's values to the explained row's, and
    each switch's change in output is that column's share; the shares of one order add up to f(row) - f(background
    row). Every background row gets the same number of orders, so the averages add up to f(row) - base exactly.
    """
    rng = np.random.default_rng(seed)
    n = len(background[0])
    half = max(1, orders // 2)
    first = rng.permuted(np.tile(np.arange(k), (n * half, 1)), axis=1)
    order = np.concatenate([first, first[:, ::-1]])  # sample i and i + n*half: the same background row, reversed
    which = np.tile(np.arange(n), 2 * half)
    rank = np.argsort(order, axis=1)  # rank[i, j]: when column j switches in order i
    empty = outputs(forward, row, background, owners, np.zeros((n, k), bool), np.arange(n))
    if full is None:
        full = np.asarray(forward(row), dtype="float64")[0]
    steps = np.arange(1, k)
    per_chunk = max(1, _chunk_rows(row) // max(k - 1, 1))
    total = np.zeros((k, empty.shape[1]))
    for s in range(0, len(order), per_chunk):
        r, w = rank[s:s + per_chunk], which[s:s + per_chunk]
        masks = (r[:, None, :] < steps[None, :, None]).reshape(-1, k)  # the first 1..k-1 columns of each order
        inner = outputs(forward, row, background, owners, masks, np.repeat(w, k - 1)).reshape(len(r), k - 1, -1)
        chain = np.concatenate([empty[w][:, None], inner, np.broadcast_to(full, (len(r), 1, len(full)))], axis=1)
        step = np.diff(chain, axis=1)  # step[i, t]: the change when the t-th column of order i switches
        total += np.take_along_axis(step, r[:, :, None], axis=1).sum(axis=0)
    return Shapley(values=total / len(order), base=empty.mean(axis=0), output=full, exact=False, background_rows=n,
                   orders=2 * half, evaluations=len(order) * (k - 1) + n + 1)
