"""Engagement depth: how much an account engaged, by activity type, over 7, 30 and 90 days.

Counts and weighted points by activity type, pricing-page and demo-request
signals, time spent, and anonymous (account-level, reverse-IP) visits apart
from known people's activity. Windows are ``(as_of - w, as_of]``.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from . import contract as c
from .context import Context, Feature
from .window import days_since_last, window_sum
from .wording import ACTIVITY_WORDS, Template

WINDOWS = (7, 30, 90)
TYPES = c.ACTIVITY_TYPES + (c.OTHER_ACTIVITY,)


def count_of_type(ctx: Context, kind: str, days: int) -> np.ndarray:
    """Activities of one type in the window."""
    code = ctx.activity_codes.code_of("type", kind)
    return ctx.memo(("count", kind, days),
                    lambda: window_sum(ctx.grid, ctx.activities_where(ctx.activity_codes.type == code), days))


def activities_total(ctx: Context, days: int) -> np.ndarray:
    """All activities in the window."""
    return ctx.memo(("count", "*", days), lambda: window_sum(ctx.grid, ctx.activity_events, days))


def points(ctx: Context, days: int) -> np.ndarray:
    """Engagement points in the window: each activity weighted by its type (see docs/features.md)."""
    return ctx.memo(("points", days), lambda: window_sum(ctx.grid, ctx.activity_events, days, _weights_of(ctx)))


def _weights_of(ctx: Context) -> np.ndarray:
    """Each activity's points, from its type (0 for a type without a weight)."""
    def compute():
        codes = ctx.activity_codes
        per_code = np.array([ctx.settings.weights.get(k, 0.0) for k in codes.type_names] + [0.0])
        return per_code[codes.type]  # code -1 (no type) picks the trailing 0

    return ctx.memo("weights", compute)


def minutes(ctx: Context, days: int) -> np.ndarray:
    """Minutes spent (where the source records them) in the window."""
    return window_sum(ctx.grid, ctx.activity_events, days, ctx.activity_codes.minutes)


def _anonymous(ctx: Context) -> np.ndarray:
    """True for activities with no known person (account-level, e.g. reverse IP)."""
    return ctx.activity_codes.person < 0


def anonymous_visits(ctx: Context, days: int) -> np.ndarray:
    """Activities of no known person (reverse-IP visits) in the window."""
    return window_sum(ctx.grid, ctx.activities_where(_anonymous(ctx)), days)


def known_activities(ctx: Context, days: int) -> np.ndarray:
    """Activities of known people (contacts or email addresses) in the window."""
    return window_sum(ctx.grid, ctx.activities_where(~_anonymous(ctx)), days)


def days_since_type(ctx: Context, kinds: tuple[str, ...]) -> np.ndarray:
    """Days since the latest activity of these types; NaN if none yet."""
    return days_since_last(ctx.grid, ctx.activities_where(np.isin(ctx.activity_codes.type, ctx.activity_codes.codes_of("type", kinds))))


def _counted(kind: str) -> Template:
    """How a count of one activity type is said ("3 web visits in the last 7 days")."""
    one, many = ACTIVITY_WORDS[kind]
    return Template("count", f"{{n}} {many} in {{w}}", f"1 {one} in {{w}}", f"no {many} in {{w}}")


ACTIVITIES = ("activities.timestamp",)
TYPED = ("activities.timestamp", "activities.type")
# A known person is an activity's contact or its email address.
PERSON = "activities.contact_id|activities.email"

FEATURES: list[Feature] = (
    [Feature(f"engagement__{kind}_{d}d", partial(count_of_type, kind=kind, days=d), f"{kind.replace('_', ' ')}s in the last {d} days",
             sources=TYPED, template=_counted(kind).within(d))
     for kind in TYPES for d in WINDOWS]
    + [Feature(f"engagement__activities_{d}d", partial(activities_total, days=d), f"activities in the last {d} days",
               sources=ACTIVITIES,
               template=Template("count", "{n} activities in {w}", "1 activity in {w}", "no activity in {w}").within(d))
       for d in WINDOWS]
    + [Feature(f"engagement__points_{d}d", partial(points, days=d), f"engagement points in the last {d} days", sources=TYPED,
               template=Template("count", "{n} engagement points in {w}", None, "no engagement points in {w}").within(d))
       for d in WINDOWS]
    + [Feature(f"engagement__minutes_{d}d", partial(minutes, days=d), f"minutes engaged in the last {d} days",
               sources=ACTIVITIES + ("activities.minutes",),
               template=Template("count", "{n} minutes of engagement in {w}", None, "no recorded minutes in {w}").within(d))
       for d in (30, 90)]
    + [Feature(f"engagement__anonymous_visits_{d}d", partial(anonymous_visits, days=d),
               f"anonymous (account-level) visits in the last {d} days", sources=ACTIVITIES + (PERSON,),
               template=Template("count", "{n} anonymous visits from the company's network in {w}",
                                 "1 anonymous visit from the company's network in {w}",
                                 "no anonymous visits from the company's network in {w}").within(d))
       for d in (30, 90)]
    + [Feature(f"engagement__known_activities_{d}d", partial(known_activities, days=d),
               f"activities by known people in the last {d} days", sources=ACTIVITIES + (PERSON,),
               template=Template("count", "{n} activities by known people in {w}", "1 activity by a known person in {w}",
                                 "no activity by known people in {w}").within(d))
       for d in (30, 90)]
    + [
        Feature("engagement__days_since_pricing_visit", partial(days_since_type, kinds=("pricing_page_visit",)),
                "days since the last pricing-page visit", sources=TYPED,
                template=Template("days", "last pricing-page visit {n} days ago", "last pricing-page visit 1 day ago",
                                  "pricing page visited today", "no pricing-page visit yet")),
        Feature("engagement__days_since_demo_request", partial(days_since_type, kinds=("demo_request", "trial_signup")),
                "days since the last demo request or trial sign-up", sources=TYPED,
                template=Template("days", "last demo request or trial sign-up {n} days ago",
                                  "last demo request or trial sign-up 1 day ago", "demo request or trial sign-up today",
                                  "no demo request or trial yet")),
    ]
)
