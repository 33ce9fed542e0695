"""Splitting training rows by time: train, validation, out-of-time test, one horizon apart.

A row at ``as_of`` carries a label about ``(as_of, as_of + horizon]``. If a
training row's label window reached past the first validation date, the model
would learn from outcomes that the validation rows' period already contains:
a leak across the split. So each split's rows stop a full horizon before the
next split's first as-of date, which drops the as-of dates in between.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TimeSplit:
    """As-of dates of each split (UTC), and the horizon that separates them."""

    train: pd.DatetimeIndex
    validation: pd.DatetimeIndex
    test: pd.DatetimeIndex
    horizon_days: int

    def assign(self, as_of: pd.Series) -> pd.Series:
        """``train``, ``validation``, ``test`` or missing (a gap) for each row's as-of."""
        out = pd.Series(pd.NA, index=as_of.index, dtype="str")
        for name in ("train", "validation", "test"):
            out = out.mask(as_of.isin(getattr(self, name)), name)
        return out

    def describe(self) -> dict:
        """First and last date and count of each split, for the report."""
        return {
            name: {"first": str(d.min().date()) if len(d) else None, "last": str(d.max().date()) if len(d) else None,
                   "dates": int(len(d))}
            for name, d in (("train", self.train), ("validation", self.validation), ("test", self.test))
        }


def time_split(as_of_dates, horizon_days: int, test_share: float = 0.2, validation_share: float = 0.15) -> TimeSplit:
    """Split labeled as-of dates into train, validation and test blocks in time order.

    Parameters
    ----------
    as_of_dates : sequence of timestamps
        The labeled as-of dates (rows whose horizon is inside the data).
    horizon_days : int
        Label horizon: the gap between blocks.
    test_share, validation_share : float
        Shares of the time span (from the first to the last labeled date) given
        to the test and validation blocks; the training block gets the rest
        minus the two gaps.

    Raises
    ------
    ValueError
        The history is too short for three blocks separated by two horizons.
    """
    dates = pd.DatetimeIndex(sorted(set(pd.DatetimeIndex(as_of_dates))))
    if len(dates) == 0:
        raise ValueError("no labeled as-of dates: the history is shorter than one label horizon")
    gap = pd.Timedelta(days=horizon_days)
    first, last = dates[0], dates[-1]
    span = last - first
    test_start = last - span * test_share
    val_start = test_start - gap - span * validation_share
    test = dates[dates >= test_start]
    # A row belongs to a split only if its label window ends before the next split begins.
    validation = dates[(dates >= val_start) & (dates + gap < test[0])] if len(test) else dates[:0]
    train = dates[(dates < val_start) & (dates + gap < (validation[0] if len(validation) else test_start))]
    if len(train) == 0 or len(validation) == 0 or len(test) == 0:
        days = int(span / pd.Timedelta(days=1))
        raise ValueError(
            f"the labeled history spans {days} days ({first.date()} to {last.date()}), too short for train, "
            f"validation and test blocks separated by two {horizon_days}-day horizons; "
            f"use a longer history or a shorter --horizon-days"
        )
    return TimeSplit(train, validation, test, horizon_days)


def check_no_overlap(split: TimeSplit) -> None:
    """Raise if any label window of a split reaches into the next split (a guard for tests and callers)."""
    gap = np.timedelta64(split.horizon_days, "D")
    pairs = (("train", split.train, split.validation), ("validation", split.validation, split.test))
    for name, early, late in pairs:
        if len(early) and len(late) and not (early.max() + gap < late.min()):
            raise ValueError(f"{name} label windows reach into the next split")
