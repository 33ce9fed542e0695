"""The simulated calendar: the history's weeks, the run-in before it, and moments inside a week."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_START = "2024-07-01"
DEFAULT_END = "2026-06-30"


@dataclass(frozen=True)
class Grid:
    """The simulated weeks: index 0 is the first run-in week, ``run_in`` the week of ``start``."""

    start: pd.Timestamp
    n_days: float
    run_in: int
    n_weeks: int  # weeks of the written history

    @property
    def total_weeks(self) -> int:
        return self.run_in + self.n_weeks

    def week_day(self, w):
        """First day (days since ``start``) of simulated week ``w``."""
        return (np.asarray(w) - self.run_in) * 7.0


def make_grid(start, end, run_in_weeks: int) -> Grid:
    """Parse and check the history's first and last day; ``run_in_weeks`` are simulated before it.

    Only the opportunities of the run-in are written, so that the history
    opens mid-stream.
    """
    try:
        t0 = pd.Timestamp(start)
        t1 = pd.Timestamp(end)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"start and end must be dates such as '2024-07-01'; got start={start!r}, end={end!r}") from exc
    if pd.isna(t0) or pd.isna(t1):
        raise ValueError(f"start and end must be dates such as '2024-07-01'; got start={start!r}, end={end!r}")
    t0 = (t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")).normalize()
    t1 = (t1.tz_localize("UTC") if t1.tzinfo is None else t1.tz_convert("UTC")).normalize()
    # ``end`` names the last day of the history, so rows run up to, not
    # including, the midnight after it.
    n_days = (t1 - t0) / pd.Timedelta(days=1) + 1
    if n_days < 28:
        raise ValueError(f"the history must span at least 28 days; start={t0.date()} and end={t1.date()} "
                         f"span {n_days:.0f}. Choose an end at least four weeks after start.")
    return Grid(start=t0, n_days=float(n_days), run_in=run_in_weeks, n_weeks=int(np.ceil(n_days / 7)))


def hours(rng, n):
    """Fraction of a day at which people act: office hours, with a tail into the evening."""
    return np.clip(rng.normal(14.0, 3.0, n), 0.0, 23.99) / 24.0


WEEKDAY_P = np.array([0.19, 0.21, 0.21, 0.19, 0.14, 0.035, 0.025])


def times_in_weeks(rng, week_day):
    """A working-hours moment inside the week starting on each ``week_day``."""
    n = len(week_day)
    return week_day + rng.choice(7, size=n, p=WEEKDAY_P) + hours(rng, n)


def times_between(rng, lo, hi):
    """A working-hours moment between days ``lo`` and ``hi``."""
    day = np.floor(lo + rng.random(len(lo)) * np.maximum(hi - lo, 0.0))
    return day + hours(rng, len(lo))
