"""History: the account's past with us: prior opportunities, recent losses, already a customer.

Only what was known at ``as_of``: an opportunity counts from its
``created_at``, and its outcome (won or lost) only from its ``closed_at``: an
opportunity that closes after ``as_of`` was still open then, whatever it became.
Column prefix is ``history__``.
"""

from __future__ import annotations

import numpy as np

from .context import Context, Feature
from .window import days_since_last, window_sum
from .wording import Template


def _closed(ctx: Context, won: bool):
    o = ctx.history["opportunities"]
    is_won = o["is_won"].fillna(False).to_numpy(dtype=bool)
    mask = o["closed_at"].notna().to_numpy() & (is_won if won else ~is_won)
    return ctx.opportunity_events("closed_at", mask)


def prior_opportunities(ctx: Context) -> np.ndarray:
    """Opportunities created at or before as-of, of any type."""
    return window_sum(ctx.grid, ctx.opportunity_events("created_at"), None)


def days_since_closed_lost(ctx: Context) -> np.ndarray:
    """Days since the latest opportunity closed without a win; NaN if none."""
    return days_since_last(ctx.grid, _closed(ctx, won=False))


def is_customer(ctx: Context) -> np.ndarray:
    """1 if an opportunity closed won at or before as-of."""
    return (window_sum(ctx.grid, _closed(ctx, won=True), None) > 0).astype(float)


def days_since_opportunity(ctx: Context) -> np.ndarray:
    """Days since the latest opportunity was created; NaN if none."""
    return days_since_last(ctx.grid, ctx.opportunity_events("created_at"))


CREATED = ("opportunities.created_at",)
# An outcome needs both when the opportunity closed and whether it was won.
OUTCOME = ("opportunities.closed_at", "opportunities.is_won")

FEATURES: list[Feature] = [
    Feature("history__prior_opportunities", prior_opportunities, "earlier opportunities", sources=CREATED,
            template=Template("count", "{n} earlier opportunities", "1 earlier opportunity", "no earlier opportunity")),
    Feature("history__days_since_closed_lost", days_since_closed_lost, "days since an opportunity was lost", sources=OUTCOME,
            template=Template("days", "an opportunity was lost {n} days ago", "an opportunity was lost 1 day ago",
                              "an opportunity was lost today", "no lost opportunity on record")),
    Feature("history__is_customer", is_customer, "already a customer (a won opportunity)", sources=OUTCOME,
            template=Template("flag", "already a customer", None, "not a customer yet")),
    Feature("history__days_since_opportunity", days_since_opportunity, "days since the last opportunity was created",
            sources=CREATED,
            template=Template("days", "last opportunity created {n} days ago", "last opportunity created 1 day ago",
                              "opportunity created today", "no opportunity on record")),
]
