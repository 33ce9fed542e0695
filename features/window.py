"""The point-in-time window: the one place that decides which rows an ``as_of`` may see.

Every feature family goes through these functions. They work on a dense grid
of accounts (rows) by as-of dates (columns), all at once, without a Python loop
over accounts, dates or events.

The rule (``DATA_CONTRACT.md``, "Time"): a feature at ``as_of`` uses only rows
stamped at or before ``as_of``. A windowed feature over ``w`` sees the rows
with ``as_of - w < t <= as_of``. The right edge is *inclusive* because a row
stamped exactly at ``as_of`` was known at that moment; the left edge is
*exclusive* so that consecutive windows (``(t-60d, t-30d]`` and ``(t-30d, t]``)
never count a row twice.

How: as-of dates are shared by all accounts, so an event at time ``s`` is
inside the window of exactly the as-of dates ``t`` with ``s <= t < s + w``: a
contiguous range ``[lo, hi)`` of grid columns found by binary search. Sums
become difference arrays (+v at ``lo``, -v at ``hi``, cumulative sum along
dates); distinct counts become unions of those ranges; "latest event" becomes
a running maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class Grid:
    """Accounts by as-of dates.

    Parameters
    ----------
    accounts : Index
        Account ids, one grid row each.
    as_of : DatetimeIndex
        Sorted, unique UTC as-of instants, one grid column each.
    """

    accounts: pd.Index
    as_of: pd.DatetimeIndex

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.accounts), len(self.as_of)

    @property
    def t(self) -> np.ndarray:
        """As-of instants as int64 nanoseconds since the epoch."""
        return self.as_of.as_unit("ns").asi8


@dataclass(frozen=True)
class Events:
    """Events placed on a grid: the grid row of each and its time in ns.

    Build with :func:`events`; events of unknown accounts or without a time are
    dropped (they can belong to no grid row).
    """

    row: np.ndarray
    t: np.ndarray
    keep: np.ndarray  # positions in the source frame, to align other columns

    def __len__(self) -> int:
        return len(self.row)

    def take(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Values of another column of the source frame, aligned with the events."""
        return np.asarray(values)[self.keep]

    def subset(self, mask: np.ndarray) -> "Events":
        """The events where ``mask`` (aligned with these events) is true."""
        mask = np.asarray(mask, dtype=bool)
        return Events(self.row[mask], self.t[mask], self.keep[mask])


def events(grid: Grid, account_id: pd.Series, time: pd.Series) -> Events:
    """Place the rows of a table on ``grid`` by account id and timestamp."""
    row = grid.accounts.get_indexer(account_id)
    # asi8 is in the index's own unit (pandas 3 often uses microseconds): fix it to ns.
    t = pd.DatetimeIndex(time).as_unit("ns").asi8 if len(time) else np.empty(0, dtype=np.int64)
    ok = (row >= 0) & pd.notna(time).to_numpy()
    keep = np.flatnonzero(ok)
    return Events(row[keep].astype(np.int64), t[keep], keep)


def covered(grid: Grid, ev: Events, days: float | None, offset_days: float = 0) -> tuple[np.ndarray, np.ndarray]:
    """Grid columns ``[lo, hi)`` whose window contains each event.

    The window of ``as_of`` is ``(as_of - offset - days, as_of - offset]``;
    ``days=None`` means everything up to ``as_of - offset``.
    """
    start = ev.t + int(round(offset_days * DAY_NS))
    # First as-of at or after the event (plus offset): the event is "at or before" it.
    lo = np.searchsorted(grid.t, start, side="left")
    if days is None:
        hi = np.full_like(lo, grid.shape[1])
    else:
        # First as-of with as_of - offset - days >= event: the event has left the window.
        hi = np.searchsorted(grid.t, start + int(round(days * DAY_NS)), side="left")
    return lo, hi


def window_sum(grid: Grid, ev: Events, days: float | None, values=None, offset_days: float = 0) -> np.ndarray:
    """Sum of ``values`` (default 1: a count) over each account's window at each as-of.

    Returns an ``(accounts, dates)`` float array; zero where no event falls in.
    """
    n, k = grid.shape
    lo, hi = covered(grid, ev, days, offset_days)
    w = np.ones(len(ev)) if values is None else np.nan_to_num(np.asarray(values, dtype=float))
    width = k + 1
    start, stop = ev.row * width + lo, ev.row * width + hi
    if values is not None:
        # Float addition is not associative: add each bin's values in an order set
        # by content (bin, then value), not by the rows' order in the export.
        by_start, by_stop = np.lexsort((w, start)), np.lexsort((w, stop))
        diff = np.bincount(start[by_start], weights=w[by_start], minlength=n * width)
        diff -= np.bincount(stop[by_stop], weights=w[by_stop], minlength=n * width)
        return np.cumsum(diff.reshape(n, width), axis=1)[:, :k]
    diff = np.bincount(start, weights=w, minlength=n * width)
    diff -= np.bincount(stop, weights=w, minlength=n * width)
    return np.cumsum(diff.reshape(n, width), axis=1)[:, :k]


def window_distinct(grid: Grid, ev: Events, keys, days: float | None) -> np.ndarray:
    """Number of distinct ``keys`` per account among the events in each window.

    ``keys`` (aligned with ``ev``) is anything hashable: a contact, a
    department, a topic. Missing keys are not counted.
    """
    n, k = grid.shape
    key_codes = _codes(keys)
    ok = key_codes >= 0
    ev = ev.subset(ok)
    key_codes = key_codes[ok]
    if len(ev) == 0:
        return np.zeros((n, k))
    lo, hi = covered(grid, ev, days)
    order = np.lexsort((ev.t, key_codes, ev.row))
    row, key, lo, hi = ev.row[order], key_codes[order], lo[order], hi[order]
    # Within one (account, key), events are in time order, so their ranges are
    # sorted by lo and by hi; a range starting at or after the previous one's
    # end opens a new segment, otherwise it extends the current one.
    same = np.r_[False, (row[1:] == row[:-1]) & (key[1:] == key[:-1])]
    prev_hi = np.r_[0, hi[:-1]]
    start = ~same | (lo > prev_hi)
    seg_lo = lo[start]
    seg_hi = np.maximum.reduceat(hi, np.flatnonzero(start))
    seg_row = row[start]
    width = k + 1
    diff = np.bincount(seg_row * width + seg_lo, minlength=n * width).astype(float)
    diff -= np.bincount(seg_row * width + seg_hi, minlength=n * width)
    return np.cumsum(diff.reshape(n, width), axis=1)[:, :k]


def window_max(grid: Grid, ev: Events, values, days: float | None) -> np.ndarray:
    """Largest value per account in each window; NaN where the window is empty."""
    n, k = grid.shape
    out = np.full(n * k, -np.inf)
    values = np.asarray(values, dtype=float)
    ok = ~np.isnan(values)
    ev, values = ev.subset(ok), values[ok]
    lo, hi = covered(grid, ev, days)
    span = hi - lo
    # Each event is repeated once per as-of date whose window holds it: the
    # repeat count is the window length over the grid step, a small number.
    rep = np.repeat(np.arange(len(ev)), span)
    step = np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span)
    flat = ev.row[rep] * k + lo[rep] + step
    np.maximum.at(out, flat, values[rep])
    out[np.isneginf(out)] = np.nan
    return out.reshape(n, k)


def last_time(grid: Grid, ev: Events) -> np.ndarray:
    """Time (int64 ns) of each account's latest event at or before each as-of; min int where none."""
    n, k = grid.shape
    none = np.iinfo(np.int64).min
    out = np.full(n * k, none, dtype=np.int64)
    lo, _ = covered(grid, ev, None)
    inside = lo < k  # events after the last as-of are seen by no column
    np.maximum.at(out, ev.row[inside] * k + lo[inside], ev.t[inside])
    return np.maximum.accumulate(out.reshape(n, k), axis=1)


def days_since_last(grid: Grid, ev: Events) -> np.ndarray:
    """Days from each account's latest event at or before as-of to as-of; NaN where none."""
    last = last_time(grid, ev)
    none = last == np.iinfo(np.int64).min
    days = (grid.t[None, :] - last) / DAY_NS
    days[none] = np.nan
    return days


def window_group_max_share(grid: Grid, ev: Events, keys, days: float | None) -> np.ndarray:
    """Largest share of the window's events that one key (one person) holds; NaN where none."""
    n, k = grid.shape
    codes = _codes(keys)
    ok = codes >= 0
    ev, codes = ev.subset(ok), codes[ok]
    total = window_sum(grid, ev, days)
    if len(ev) == 0:
        return np.full((n, k), np.nan)
    pair, pair_row = _pairs(ev.row, codes)
    pair_grid = Grid(pd.RangeIndex(len(pair_row)), grid.as_of)
    per_pair = window_sum(pair_grid, Events(pair, ev.t, ev.keep), days)
    order = np.argsort(pair_row, kind="stable")
    rows_sorted = pair_row[order]
    starts = np.flatnonzero(np.r_[True, rows_sorted[1:] != rows_sorted[:-1]])
    best = np.zeros((n, k))
    best[rows_sorted[starts]] = np.maximum.reduceat(per_pair[order], starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = best / total
    share[total == 0] = np.nan
    return share


def _codes(keys) -> np.ndarray:
    """Integer codes of ``keys``, -1 for missing; integer keys are taken as codes already."""
    keys = np.asarray(keys)
    if keys.dtype.kind in "iu":
        return keys.astype(np.int64)
    return pd.factorize(pd.Series(keys, dtype=object), use_na_sentinel=True)[0].astype(np.int64)


def _pairs(row: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each event's (row, key) pair, and the row of each pair."""
    combined = row.astype(np.int64) * (int(codes.max()) + 1) + codes
    uniq, pair = np.unique(combined, return_inverse=True)
    return pair.astype(np.int64), uniq // (int(codes.max()) + 1)
