"""Dispositions: what sales said when the account was handed over (rejected, recycled, accepted).

Only verdicts given at or before ``as_of`` count. A recent rejection is the
strongest sign that the account is not ready yet, whatever its engagement
says; the family is on trial (:mod:`mqa.features.families`): a model keeps it
only when the backtest shows it helps. Column prefix is ``dispositions__``.
"""

from __future__ import annotations

import numpy as np

from .context import Context, Feature
from .window import days_since_last, events, window_sum
from .wording import Template

WINDOW_DAYS = 180


def _verdicts(ctx: Context, kinds: tuple[str, ...]):
    d = ctx.history["dispositions"]
    d = d[d["disposition"].isin(kinds).to_numpy(dtype=bool)]
    return events(ctx.grid, d["account_id"], d["date"])


def days_since_rejection(ctx: Context) -> np.ndarray:
    """Days since sales last rejected the account; NaN if never."""
    return days_since_last(ctx.grid, _verdicts(ctx, ("rejected",)))


def rejections_180d(ctx: Context) -> np.ndarray:
    """Rejections in the last 180 days."""
    return window_sum(ctx.grid, _verdicts(ctx, ("rejected",)), WINDOW_DAYS)


def recycled_180d(ctx: Context) -> np.ndarray:
    """Times sales sent the account back to marketing (recycled) in the last 180 days."""
    return window_sum(ctx.grid, _verdicts(ctx, ("recycled",)), WINDOW_DAYS)


VERDICTS = ("dispositions.date", "dispositions.disposition")

FEATURES: list[Feature] = [
    Feature("dispositions__days_since_rejection", days_since_rejection, "days since sales last rejected the account",
            sources=VERDICTS,
            template=Template("days", "sales rejected it {n} days ago", "sales rejected it 1 day ago",
                              "sales rejected it today", "never rejected by sales")),
    Feature("dispositions__rejections_180d", rejections_180d, "rejections by sales in the last 180 days", sources=VERDICTS,
            template=Template("count", "{n} rejections by sales in {w}", "1 rejection by sales in {w}",
                              "no rejection by sales in {w}").within(WINDOW_DAYS)),
    Feature("dispositions__recycled_180d", recycled_180d, "times sales sent it back to marketing in the last 180 days",
            sources=VERDICTS,
            template=Template("count", "sent back to marketing {n} times in {w}", "sent back to marketing once in {w}",
                              "not sent back to marketing in {w}").within(WINDOW_DAYS)),
]
