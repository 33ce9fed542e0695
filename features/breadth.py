"""Engagement breadth: how many people, departments and seniority levels engage: the buying committee.

One curious person is not a committee. These features count distinct engaged
people (contacts, or email addresses not yet in the CRM), their departments
and seniority levels, senior (VP and above) engagement, the share of the
typical buying roles engaged, and how much of the activity one person holds.
Anonymous (reverse-IP) activity has no person and does not count here.
Column prefix is ``engagement__``: breadth is engagement's second half.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .context import Context, Feature
from .window import window_distinct, window_group_max_share, window_sum
from .wording import Template

WINDOWS = (30, 90)
SENIOR = ("vp", "c_level")


def _known(ctx: Context) -> np.ndarray:
    """Activities of a known person (not anonymous)."""
    return ctx.activity_codes.person >= 0


def _distinct(ctx: Context, mask: np.ndarray, keys: np.ndarray, days: int) -> np.ndarray:
    return window_distinct(ctx.grid, ctx.activities_where(mask), keys[mask], days)


def contacts_engaged(ctx: Context, days: int) -> np.ndarray:
    """Distinct people engaged in the window."""
    return _distinct(ctx, _known(ctx), ctx.activity_codes.person, days)


def departments_engaged(ctx: Context, days: int) -> np.ndarray:
    """Distinct departments of engaged people in the window."""
    return _distinct(ctx, _known(ctx), ctx.activity_codes.department, days)


def seniority_levels_engaged(ctx: Context, days: int) -> np.ndarray:
    """Distinct seniority levels of engaged people in the window."""
    return _distinct(ctx, _known(ctx), ctx.activity_codes.seniority, days)


def _senior(ctx: Context) -> np.ndarray:
    codes = ctx.activity_codes
    return np.isin(codes.seniority, codes.codes_of("seniority", SENIOR))


def senior_contacts_engaged(ctx: Context, days: int) -> np.ndarray:
    """Distinct VP or C-level people engaged in the window."""
    return _distinct(ctx, _known(ctx) & _senior(ctx), ctx.activity_codes.person, days)


def _roles_filled(ctx: Context) -> dict[str, np.ndarray]:
    """For each buying role, which activities (by their person) fill it."""
    codes = ctx.activity_codes
    roles = {}
    for role, departments in ctx.settings.committee.items():
        fills = np.isin(codes.department, codes.codes_of("department", departments))
        if role == "executive_sponsor":
            fills = fills | _senior(ctx)
        roles[role] = fills & _known(ctx)
    return roles


def committee_coverage(ctx: Context, days: int) -> np.ndarray:
    """Share (0-1) of the typical buying roles with at least one engaged person in the window."""
    roles = ctx.memo("roles", lambda: _roles_filled(ctx))
    # A role is covered when the window holds any activity of a person filling it.
    covered = sum((window_sum(ctx.grid, ctx.activities_where(m), days) > 0).astype(float) for m in roles.values())
    return covered / max(len(roles), 1)


def top_contact_share(ctx: Context, days: int) -> np.ndarray:
    """Share of known people's activity in the window held by the most active person; NaN if none."""
    return window_group_max_share(ctx.grid, ctx.activities_where(_known(ctx)), ctx.activity_codes.person[_known(ctx)], days)


PEOPLE = ("activities.timestamp", "activities.contact_id|activities.email")
# Departments and seniority come from the contacts table (given, or derived from titles).
DEPARTMENTS = PEOPLE + ("contacts.department",)
SENIORITY = PEOPLE + ("contacts.seniority",)

FEATURES: list[Feature] = [
    feature
    for d in WINDOWS
    for feature in (
        Feature(f"engagement__contacts_engaged_{d}d", partial(contacts_engaged, days=d), f"people engaged in the last {d} days",
                sources=PEOPLE,
                template=Template("count", "{n} people engaged in {w}", "1 person engaged in {w}",
                                  "no one engaged in {w}").within(d)),
        Feature(f"engagement__departments_engaged_{d}d", partial(departments_engaged, days=d), f"departments engaged in the last {d} days",
                sources=DEPARTMENTS,
                template=Template("count", "{n} departments engaged in {w}", "1 department engaged in {w}",
                                  "no department engaged in {w}").within(d)),
        Feature(f"engagement__seniority_levels_{d}d", partial(seniority_levels_engaged, days=d),
                f"seniority levels engaged in the last {d} days", sources=SENIORITY,
                template=Template("count", "{n} seniority levels engaged in {w}", "1 seniority level engaged in {w}",
                                  "no seniority level engaged in {w}").within(d)),
        Feature(f"engagement__senior_contacts_{d}d", partial(senior_contacts_engaged, days=d),
                f"VP or C-level people engaged in the last {d} days", sources=SENIORITY,
                template=Template("count", "{n} VP or C-level people engaged in {w}", "1 VP or C-level person engaged in {w}",
                                  "no VP or C-level engagement in {w}").within(d)),
        Feature(f"engagement__committee_coverage_{d}d", partial(committee_coverage, days=d),
                f"share of buying-committee roles engaged in the last {d} days", sources=DEPARTMENTS,
                template=Template("percent", "{n}% of the buying committee's roles engaged in {w}", None,
                                  "none of the buying committee's roles engaged in {w}").within(d)),
        Feature(f"engagement__top_contact_share_{d}d", partial(top_contact_share, days=d),
                f"share of activity from the single most active person in the last {d} days", sources=PEOPLE,
                template=Template("percent", "the most active person holds {n}% of the activity in {w}", None, None,
                                  "no known person active in {w}").within(d)),
    )
]
