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

from .history import History
from .window import DAY_NS, Grid, events, window_sum

# The longest feature window: a default grid starts this long after the first
# event so that no snapshot has a truncated 90-day window.
WARMUP_DAYS = 90

NOT_CREATED = "not_created"
IN_PIPELINE = "in_pipeline"
SCORED = "scored"


def data_end(history: History) -> pd.Timestamp | None:
    """The latest timestamp anywhere in the history: how far the data reaches."""
    return history.date_range()[1]


def default_as_of(history: History, step_days: int = 14, warmup_days: int = WARMUP_DAYS) -> pd.DatetimeIndex:
    """As-of dates every ``step_days``, anchored on the last day of the data.

    The grid runs backwards from midnight UTC of the day of the latest event,
    so the newest snapshot is always in it, to ``warmup_days`` after the first
    engagement event (activity, intent or signal). Old opportunities (a
    customer won years ago) do not stretch the grid back to years without
    any engagement data.
    """
    _, hi = history.date_range()
    streams = [history[t][col] for t, col in (("activities", "timestamp"), ("intent", "date"), ("signals", "date"))]
    firsts = [s.min() for s in streams if s.notna().any()]
    lo = min(firsts) if firsts else history.date_range()[0]
    if lo is None:
        raise ValueError("the history has no dated events, so no as-of dates can be chosen; pass them explicitly")
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
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise ValueError("--as-of needs at least one date such as 2025-03-04")
    parsed = pd.to_datetime(pd.Series(parts), utc=True, format="ISO8601", errors="coerce")
    bad = [p for p, v in zip(parts, parsed) if pd.isna(v)]
    if bad:
        raise ValueError(f"--as-of: not ISO 8601 dates: {', '.join(bad)} (write 2025-03-04 or 2025-03-04T12:00:00Z)")
    return pd.DatetimeIndex(sorted(set(parsed))).as_unit("ns")


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
           end: pd.Timestamp | None = None) -> np.ndarray:
    """``(accounts, dates)`` label: 1.0 / 0.0; NaN where the horizon runs past ``end`` or the account does not exist yet.

    Parameters
    ----------
    horizon_days : int
        Length of the label window after as-of.
    label_types : sequence of str, optional
        Opportunity types that count (lower case); None counts every type.
    end : Timestamp, optional
        How far the data reaches; defaults to :func:`data_end`.
    """
    opp = history["opportunities"]
    if label_types is not None:
        opp = opp[opp["type"].isin(label_types)]
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
