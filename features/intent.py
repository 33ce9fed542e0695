"""Intent: third-party research signals (topic surges) over the last 4 weeks, and their trend.

Intent coverage is never complete: an account with no intent rows in a window
has 0 surging topics and weeks but *missing* (NaN) scores, so that "not
observed" is not read as "no interest".
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from .context import Context, Feature
from .contract import SURGE_THRESHOLD
from .window import DAY_NS, window_distinct, window_max, window_sum
from .wording import Template

RECENT_DAYS = 28  # the last 4 weeks
BEFORE_DAYS = 56  # the 8 weeks before them
WEEKS_DAYS = 84  # weeks surging are counted over 12 weeks
MONDAY_NS = 4 * DAY_NS  # 1970-01-05, the first Monday after the epoch


def _surging(ctx: Context, relevant_only: bool) -> np.ndarray:
    """Which intent rows are surges (score >= 60), optionally on a relevant topic only."""
    mask = ctx.intent_column("score") >= SURGE_THRESHOLD
    if relevant_only:
        mask &= _relevant(ctx)
    return mask


def _relevant(ctx: Context) -> np.ndarray:
    topics = pd.Series(ctx.intent_column("topic")).str.strip().str.lower()
    return topics.isin(ctx.settings.relevant_topics).to_numpy()


def _topic_key(ctx: Context) -> np.ndarray:
    return pd.Series(ctx.intent_column("topic")).str.strip().str.lower().to_numpy(dtype=object)


def surging_topics(ctx: Context, relevant_only: bool = False) -> np.ndarray:
    """Distinct topics surging (score >= 60) in the last 4 weeks."""
    m = _surging(ctx, relevant_only)
    return window_distinct(ctx.grid, ctx.intent_events.subset(m), _topic_key(ctx)[m], RECENT_DAYS)


def max_score(ctx: Context, relevant_only: bool = False) -> np.ndarray:
    """Highest intent score in the last 4 weeks; NaN where none observed."""
    m = _relevant(ctx) if relevant_only else np.ones(len(ctx.intent_events), dtype=bool)
    return window_max(ctx.grid, ctx.intent_events.subset(m), ctx.intent_column("score")[m], RECENT_DAYS)


def _mean(ctx: Context, days: int, offset: int = 0) -> np.ndarray:
    ev = ctx.intent_events
    total = window_sum(ctx.grid, ev, days, ctx.intent_column("score"), offset_days=offset)
    n = window_sum(ctx.grid, ev, days, offset_days=offset)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / n, np.nan)


def mean_score(ctx: Context) -> np.ndarray:
    """Mean intent score over the last 4 weeks; NaN where none observed."""
    return _mean(ctx, RECENT_DAYS)


def score_trend(ctx: Context) -> np.ndarray:
    """Mean score of the last 4 weeks minus that of the 8 weeks before; NaN unless both observed."""
    return _mean(ctx, RECENT_DAYS) - _mean(ctx, BEFORE_DAYS, offset=RECENT_DAYS)


def weeks_surging(ctx: Context, relevant_only: bool = False) -> np.ndarray:
    """Distinct calendar weeks with a surge in the last 12 weeks."""
    m = _surging(ctx, relevant_only)
    ev = ctx.intent_events.subset(m)
    week = (ev.t - MONDAY_NS) // (7 * DAY_NS)  # calendar weeks, Monday to Sunday
    return window_distinct(ctx.grid, ev, week, WEEKS_DAYS)


# Intent rows need all three (they are required columns of the intent table).
INTENT = ("intent.date", "intent.topic", "intent.score")

FEATURES: list[Feature] = [
    Feature("intent__surging_topics_28d", surging_topics, "topics surging in the last 4 weeks", sources=INTENT,
            template=Template("count", "{n} intent topics surging in {w}", "1 intent topic surging in {w}",
                              "no intent topic surging in {w}").within(RECENT_DAYS)),
    Feature("intent__relevant_surging_topics_28d", partial(surging_topics, relevant_only=True),
            "relevant topics surging in the last 4 weeks", sources=INTENT,
            template=Template("count", "{n} relevant intent topics surging in {w}", "intent on a relevant topic surging in {w}",
                              "no surge on a relevant topic in {w}").within(RECENT_DAYS)),
    Feature("intent__max_score_28d", max_score, "highest intent score in the last 4 weeks", sources=INTENT,
            template=Template("score", "top intent score {n} in {w}", None, None,
                              "no intent data for {w}").within(RECENT_DAYS)),
    Feature("intent__relevant_max_score_28d", partial(max_score, relevant_only=True),
            "highest intent score on a relevant topic in the last 4 weeks", sources=INTENT,
            template=Template("score", "top intent score on a relevant topic {n} in {w}", None, None,
                              "no intent data on relevant topics for {w}").within(RECENT_DAYS)),
    Feature("intent__mean_score_28d", mean_score, "mean intent score in the last 4 weeks", sources=INTENT,
            template=Template("score", "average intent score {n} in {w}", None, None,
                              "no intent data for {w}").within(RECENT_DAYS)),
    Feature("intent__score_trend_28d", score_trend, "intent score change: last 4 weeks against the 8 before", sources=INTENT,
            template=Template("signed", "intent score {n} points against the 8 weeks before", None,
                              "intent score flat against the 8 weeks before", "no intent trend yet")),
    Feature("intent__weeks_surging_84d", weeks_surging, "weeks with an intent surge in the last 12 weeks", sources=INTENT,
            template=Template("count", "intent surging in {n} of {w}", "intent surging in 1 of {w}",
                              "no intent surge in {w}").within(WEEKS_DAYS)),
    Feature("intent__relevant_weeks_surging_84d", partial(weeks_surging, relevant_only=True),
            "weeks with a surge on a relevant topic in the last 12 weeks", sources=INTENT,
            template=Template("count", "relevant-topic intent surging in {n} of {w}", "relevant-topic intent surging in 1 of {w}",
                              "no relevant-topic surge in {w}").within(WEEKS_DAYS)),
]
