"""The rolling-origin backtest: several folds at the end of the labeled history.

A row at ``as_of`` carries a label about ``(as_of, as_of + horizon]``. Fold
``k`` tests on a block of as-of dates near the end of the history and trains
on every date whose label window closes before that block begins (one horizon
earlier): the model never learns an outcome that its test period contains.
Inside those training dates, early stopping watches the last ones (``stop``)
and fits on the dates a second horizon before them (``fit``), for the same
reason. Folds are consecutive and end at the last labeled date, so the last
fold is the most recent quarter the history can judge.

::

    dates:  |------ fit ------|  gap  |- stop -|  gap  |- test k -|
            |------------- train (refit) ------|

After the backtest the shipped model is refitted on *every* labeled row (see
:mod:`mqa.train.pipeline`): the folds only say how good that procedure is
and how many boosting rounds it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_FOLDS = 3
TEST_SHARE = 0.3  # of the labeled dates, split evenly between the folds' test blocks
STOP_SHARE = 0.2  # of a fold's training dates, watched by early stopping


@dataclass(frozen=True)
class Fold:
    """The as-of dates of one fold (UTC).

    Attributes
    ----------
    number : int
        1 for the oldest test block.
    fit, stop : DatetimeIndex
        Early stopping: fitted on ``fit``, watched on ``stop``; ``fit`` ends one
        horizon before ``stop`` begins.
    train : DatetimeIndex
        Every date whose label window closes before ``test`` begins (``fit``,
        the dates between, ``stop``): what the fold's refitted model learns from.
    test : DatetimeIndex
        The fold's out-of-time block.
    """

    number: int
    fit: pd.DatetimeIndex
    stop: pd.DatetimeIndex
    train: pd.DatetimeIndex
    test: pd.DatetimeIndex

    def describe(self) -> dict:
        def span(d):
            return {"first": str(d.min().date()), "last": str(d.max().date()), "dates": int(len(d))}

        return {"fold": self.number, "fit": span(self.fit), "stop": span(self.stop), "train": span(self.train),
                "test": span(self.test)}


@dataclass(frozen=True)
class Backtest:
    """The folds, all labeled dates and the horizon that separates blocks."""

    folds: tuple[Fold, ...]
    dates: pd.DatetimeIndex
    horizon_days: int

    def describe(self) -> dict:
        return {"horizon_days": self.horizon_days, "labeled": {"first": str(self.dates.min().date()),
                                                             "last": str(self.dates.max().date()),
                                                             "dates": int(len(self.dates))},
                "folds": [f.describe() for f in self.folds]}

    def fold_of(self, as_of: pd.Series) -> np.ndarray:
        """The number of the fold whose test block holds each row's as-of (0: none)."""
        out = np.zeros(len(as_of), dtype=int)
        for f in self.folds:
            out[as_of.isin(f.test).to_numpy()] = f.number
        return out


def plan_backtest(dates, horizon_days: int, folds: int = DEFAULT_FOLDS, cause: str = "") -> Backtest:
    """Lay ``folds`` consecutive test blocks at the end of the labeled as-of ``dates``.

    Each test block gets about ``TEST_SHARE / folds`` of the dates; on a short
    history the blocks shrink, down to one date each, before the backtest is
    refused.

    Parameters
    ----------
    dates : sequence of timestamps
        The labeled as-of dates.
    horizon_days : int
        The label horizon: the gap between a fold's blocks.
    folds : int
        Number of folds (at least 1).
    cause : str
        Why the labeled dates span what they do, for the error message.

    Raises
    ------
    ValueError
        The labeled dates are too few or too close together; the message says
        how many days are needed and how many there are.
    """
    if folds < 1:
        raise ValueError(f"the backtest needs at least 1 fold, not {folds}")
    dates = pd.DatetimeIndex(sorted(set(pd.DatetimeIndex(dates))))
    gap = pd.Timedelta(days=horizon_days)
    n = len(dates)
    if n:
        first = max(1, int(round(n * TEST_SHARE / folds)))
        for per_fold in range(first, 0, -1):
            planned = _layout(dates, gap, folds, per_fold)
            if planned is not None:
                return Backtest(planned, dates, horizon_days)
    step = int(np.median(np.diff(dates.as_unit("ns").asi8)) // (86_400 * 10**9)) if n > 1 else 14
    from mqa.features.snapshots import backtest_reserve_days

    need = backtest_reserve_days(horizon_days, step, folds)
    has = int((dates.max() - dates.min()) / pd.Timedelta(days=1)) if n else 0
    where = f" ({dates.min().date()} to {dates.max().date()})" if n else ""
    raise ValueError(
        f"a {folds}-fold backtest with a {horizon_days}-day horizon needs at least {need} days of labeled as-of dates "
        f"(two {horizon_days}-day gaps and {folds + 1} dates {step} days apart); the history has {has}{where}"
        + (f" because {cause}" if cause else "")
        + ". Use a longer history, a shorter --horizon-days, fewer [backtest] folds or a smaller [grid] warmup_days."
    )


def _layout(dates: pd.DatetimeIndex, gap: pd.Timedelta, folds: int, per_fold: int) -> tuple[Fold, ...] | None:
    """The folds with ``per_fold`` test dates each, or None if the oldest fold has nothing to fit or stop on."""
    n = len(dates)
    if folds * per_fold >= n:
        return None
    out = []
    for k in range(folds):
        test = dates[n - (folds - k) * per_fold: n - (folds - k - 1) * per_fold]
        # A training date's label window (as_of, as_of + horizon] must close
        # before the first test date: strictly earlier, so that an
        # opportunity created on the test block's first day is not learned.
        train = dates[dates + gap < test[0]]
        if len(train) < 2:
            return None
        for size in range(max(1, int(round(len(train) * STOP_SHARE))), 0, -1):
            stop = train[-size:]
            fit = train[train + gap < stop[0]]
            if len(fit):
                break
        else:
            return None
        out.append(Fold(k + 1, fit, stop, train, test))
    return tuple(out)


def check_no_overlap(backtest: Backtest) -> None:
    """Raise if any label window of a fold's training (or fit) dates reaches its test (or stop) block."""
    gap = pd.Timedelta(days=backtest.horizon_days)
    for f in backtest.folds:
        if not (f.train.max() + gap < f.test.min()):
            raise ValueError(f"fold {f.number}: training label windows reach into the test block")
        if not (f.fit.max() + gap < f.stop.min()):
            raise ValueError(f"fold {f.number}: fit label windows reach into the early-stopping block")
        if not set(f.stop) <= set(f.train) or not set(f.fit) <= set(f.train):
            raise ValueError(f"fold {f.number}: fit and stop dates must be training dates")
