"""Snapshots: which accounts exist at each as-of date, which are in pipeline, and their labels.

A training row is an account seen at ``as_of``. It exists if it was created at
or before ``as_of`` (or has no creation date); it is *in pipeline* if one of
its opportunities is open then (created at or before ``as_of`` and not closed
at or before it), and is then no training row: it is already with sales.

Its label is 1 when an opportunity of the counted types is created in
``(as_of, as_of + horizon]``: the left edge is exclusive because an
opportunity created exactly at ``as_of`` was already known then (the account
is in pipeline), the right edge inclusive so that consecutive horizons tile
time. A row whose horizon runs past the end of the data has no label (NaN) and
is never used for training.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dates import utc_instants
from .families import engagement_streams
from .history import History
from .window import DAY_NS, Grid, events, window_sum

# The longest feature window: with room to spare, a default grid starts this
# long after the first engagement event so that no snapshot has a truncated
# 90-day window. On a short history the warm-up shrinks (see choose_warmup).
WARMUP_DAYS = 90

# Renewals follow the contract calendar of existing customers, not marketing
# engagement: by default they are no positive label (DATA_CONTRACT.md, "Time").
DEFAULT_EXCLUDED_TYPES: tuple[str, ...] = ("renewal",)

NOT_CREATED = "not_created"
IN_PIPELINE = "in_pipeline"
SCORED = "scored"

# (table, column) of every engagement event time, as the feature families declare them.
ENGAGEMENT_STREAMS = engagement_streams()


def data_end(history: History) -> pd.Timestamp | None:
    """The latest timestamp anywhere in the history: how far the data reaches (labels are known up to it)."""
    return history.date_range()[1]


def engagement_range(history: History) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last engagement event (activity, intent, signal); the whole history's range where there is none.

    The as-of grid lives inside this range: a snapshot after the engagement
    streams stop would see accounts go quiet that were only no longer
    recorded, while opportunities (and so labels) go on.
    """
    streams = [history[t][col] for t, col in ENGAGEMENT_STREAMS]
    firsts = [s.min() for s in streams if s.notna().any()]
    lasts = [s.max() for s in streams if s.notna().any()]
    if firsts:
        return min(firsts), max(lasts)
    return history.date_range()


def backtest_reserve_days(horizon_days: int, step_days: int, folds: int = 3) -> int:
    """Labeled days a rolling-origin backtest needs at the least.

    Each fold's first training date must lie two horizons before its test
    block (one gap for the fold, one for early stopping inside its training
    rows), with at least one date to fit on, one to stop on, and one test
    date per fold.
    """
    return 2 * horizon_days + (folds + 1) * step_days


def choose_warmup(history: History, horizon_days: int, step_days: int, reserve_days: int = 0) -> int:
    """The warm-up chosen from the data: 90 days when the history has room, less when it is short.

    The grid starts this long after the first engagement event. The warm-up
    gives way first: it only spares the earliest snapshots a truncated
    window, while the labeled days are what a model learns from. It is the
    room left after ``reserve_days`` of labeled as-of dates, between 0 and 90.
    """
    lo, hi = engagement_range(history)
    end = data_end(history)
    if lo is None or end is None:
        return WARMUP_DAYS
    last_labeled = min(hi.floor("D"), end - pd.Timedelta(days=horizon_days))
    room = (last_labeled - lo.floor("D")) / pd.Timedelta(days=1) - reserve_days
    return int(np.clip(np.floor(room / step_days) * step_days, 0, WARMUP_DAYS))


def default_as_of(history: History, step_days: int = 14, warmup_days: int | None = WARMUP_DAYS,
                  horizon_days: int = 90, reserve_days: int = 0) -> pd.DatetimeIndex:
    """As-of dates every ``step_days``, anchored on the last day of engagement data.

    The grid runs backwards from midnight UTC of the day of the latest
    engagement event (activity, intent or signal; see
    :func:`engagement_range`), so the newest snapshot is always in it, to
    ``warmup_days`` after the first one. Old opportunities (a customer won
    years ago) do not stretch the grid back to years without any engagement
    data, and opportunities recorded after the engagement export stopped do
    not stretch it forward into months where every account looks silent.

    ``warmup_days=None`` chooses it from the data (:func:`choose_warmup`,
    keeping ``reserve_days`` of labeled dates for ``horizon_days``).
    """
    lo, hi = engagement_range(history)
    if lo is None:
        raise ValueError("the history has no dated events, so no as-of dates can be chosen; pass them explicitly")
    if warmup_days is None:
        warmup_days = choose_warmup(history, horizon_days, step_days, reserve_days)
    last = hi.floor("D")
    first = lo.floor("D") + pd.Timedelta(days=warmup_days)
    if first > last:
        return pd.DatetimeIndex([last]).as_unit("ns")
    n = int((last - first) / pd.Timedelta(days=step_days))
    return pd.DatetimeIndex([last - pd.Timedelta(days=step_days * i) for i in range(n, -1, -1)]).as_unit("ns")


def parse_as_of(text: str) -> pd.DatetimeIndex:
    """As-of dates from ``2025-01-01,2025-02-01``: ISO 8601, UTC, sorted, unique.

    A date alone is midnight UTC: rows stamped later that day are not seen.
    """
    return utc_instants(str(text), "--as-of")


def counted_opportunities(opp: pd.DataFrame, label_types=None, excluded_types=DEFAULT_EXCLUDED_TYPES) -> np.ndarray:
    """Which opportunities count for the label: of ``label_types`` (or any but ``excluded_types``), or without a type."""
    kind = opp["type"]
    counted = kind.isin(label_types) if label_types is not None else ~kind.isin(tuple(excluded_types or ()))
    return (counted | kind.isna()).to_numpy(dtype=bool)


def make_grid(history: History, as_of: pd.DatetimeIndex, accounts=None) -> Grid:
    """The grid of every account (or of ``accounts``, in the accounts table's order) by the as-of dates.

    Raises
    ------
    ValueError
        An account id that is not in the accounts table.
    """
    ids = pd.Index(history["accounts"]["account_id"])
    if accounts is not None:
        wanted = pd.Index(pd.Series(list(accounts), dtype="str"))
        unknown = wanted[~wanted.isin(ids)]
        if len(unknown):
            raise ValueError(f"account(s) not in the accounts table: {', '.join(unknown[:5])}")
        ids = ids[ids.isin(wanted)]
    return Grid(ids, pd.DatetimeIndex(as_of).as_unit("ns"))


def exists(history: History, grid: Grid) -> np.ndarray:
    """``(accounts, dates)`` bool: the account was created at or before as-of (or has no date)."""
    created = history["accounts"].set_index("account_id")["created_at"].reindex(grid.accounts)
    c = pd.DatetimeIndex(created).as_unit("ns").asi8
    known = created.notna().to_numpy()
    return ~known[:, None] | (c[:, None] <= grid.t[None, :])


def open_opportunities(history: History, grid: Grid) -> np.ndarray:
    """``(accounts, dates)`` count of opportunities open at each as-of."""
    opp = history["opportunities"]
    created = window_sum(grid, events(grid, opp["account_id"], opp["created_at"]), None)
    closed = opp[opp["closed_at"].notna()]
    ended = window_sum(grid, events(grid, closed["account_id"], closed["closed_at"]), None)
    return created - ended


def status(history: History, grid: Grid) -> np.ndarray:
    """``(accounts, dates)`` status: ``not_created``, ``in_pipeline`` or ``scored``."""
    out = np.full(grid.shape, SCORED, dtype=object)
    out[open_opportunities(history, grid) > 0] = IN_PIPELINE
    out[~exists(history, grid)] = NOT_CREATED
    return out


def labels(history: History, grid: Grid, horizon_days: int = 90, label_types=None,
           end: pd.Timestamp | None = None, excluded_types=DEFAULT_EXCLUDED_TYPES) -> np.ndarray:
    """``(accounts, dates)`` label: 1.0 / 0.0; NaN where the horizon runs past ``end`` or the account does not exist yet.

    Parameters
    ----------
    horizon_days : int
        Length of the label window after as-of.
    label_types : sequence of str, optional
        Opportunity types that count (lower case); None counts every type
        but ``excluded_types``. An opportunity without a type always counts
        (the contract: a CRM that records no type has nothing to exclude).
    excluded_types : sequence of str
        With ``label_types=None``, the types that do not count: by default
        ``renewal``, which follows the contract calendar, not marketing.
    end : Timestamp, optional
        How far the data reaches; defaults to :func:`data_end`.
    """
    opp = history["opportunities"]
    opp = opp[counted_opportunities(opp, label_types, excluded_types)]
    ev = events(grid, opp["account_id"], opp["created_at"])
    # Window (as_of, as_of + horizon]: the helper's window shifted forward by the horizon.
    created_ahead = window_sum(grid, ev, horizon_days, offset_days=-horizon_days)
    out = (created_ahead > 0).astype(float)
    out[~exists(history, grid)] = np.nan  # an account that does not exist yet has no label
    end = data_end(history) if end is None else end
    if end is None:
        out[:] = np.nan
    else:
        unknown = grid.t + horizon_days * DAY_NS > pd.Timestamp(end).as_unit("ns").value
        out[:, unknown] = np.nan
    return out
