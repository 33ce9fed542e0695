"""Timing: trigger events (executive hires, funding rounds, ...) and the rhythm of engagement.

Days since the last event of each signal type and counts in the last 90 days;
recency (days since the last activity) and velocity (the last 30 days'
activity rate against the 60 days before).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .context import Context, Feature
from .contract import SIGNAL_TYPES
from .engagement import activities_total
from .window import days_since_last, window_sum
from .wording import SIGNAL_WORDS, Template


def _of_type(ctx: Context, kind: str):
    return ctx.signal_events.subset(ctx.signal_column("type") == kind)


def days_since_signal(ctx: Context, kind: str) -> np.ndarray:
    """Days since the latest signal of this type; NaN if none yet."""
    return days_since_last(ctx.grid, _of_type(ctx, kind))


def signals_90d(ctx: Context, kind: str) -> np.ndarray:
    """Signals of this type in the last 90 days."""
    return window_sum(ctx.grid, _of_type(ctx, kind), 90)


def days_since_activity(ctx: Context) -> np.ndarray:
    """Days since the latest activity of any kind; NaN if none yet."""
    return days_since_last(ctx.grid, ctx.activity_events)


def activity_velocity(ctx: Context) -> np.ndarray:
    """(activities in the last 30 days + 1) / (half the activities of the 60 days before + 1).

    Both are per-30-day rates; the +1 keeps a quiet account at 1 (steady)
    rather than undefined. Above 1: speeding up.
    """
    last30 = activities_total(ctx, 30)
    before60 = activities_total(ctx, 90) - last30
    return (last30 + 1.0) / (before60 / 2.0 + 1.0)


def _since(kind: str) -> Template:
    """How the days since a signal are said ("funding round 12 days ago")."""
    one, _ = SIGNAL_WORDS[kind]
    return Template("days", f"{one} {{n}} days ago", f"{one} 1 day ago", f"{one} today", f"no {one} on record")


def _counted(kind: str) -> Template:
    """How a count of one signal type is said ("2 funding rounds in the last 90 days")."""
    one, many = SIGNAL_WORDS[kind]
    return Template("count", f"{{n}} {many} in {{w}}", f"1 {one} in {{w}}", f"no {one} in {{w}}")


SIGNALS = ("signals.date", "signals.type")
ACTIVITIES = ("activities.timestamp",)

FEATURES: list[Feature] = (
    [Feature(f"timing__days_since_{k}", partial(days_since_signal, kind=k), f"days since the last {k.replace('_', ' ')}",
             sources=SIGNALS, template=_since(k)) for k in SIGNAL_TYPES]
    + [Feature(f"timing__{k}_90d", partial(signals_90d, kind=k), f"{k.replace('_', ' ')} signals in the last 90 days",
               sources=SIGNALS, template=_counted(k).within(90)) for k in SIGNAL_TYPES]
    + [
        Feature("timing__days_since_activity", days_since_activity, "days since the last activity", sources=ACTIVITIES,
                template=Template("days", "last activity {n} days ago", "last activity 1 day ago", "active today",
                                  "no activity yet")),
        Feature("timing__activity_velocity_30d", activity_velocity, "activity rate of the last 30 days against the 60 before",
                sources=ACTIVITIES, template=Template("ratio", "activity at {n}x the pace of the 60 days before")),
    ]
)
