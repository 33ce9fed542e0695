"""Sentences a sales rep understands, one per feature value.

Each feature has a template with up to four forms: zero, one, many, and
missing (no observation). ``{n}`` is the value, formatted for its kind (a
count, days, a percent, a score, a ratio). Text is built column-wise with
pandas string operations, for all accounts at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mqa.features.build import feature_spec
from mqa.features.contract import OTHER_ACTIVITY, SIGNAL_TYPES

ACTIVITY_WORDS: dict[str, tuple[str, str]] = {
    "web_visit": ("web visit", "web visits"),
    "pricing_page_visit": ("pricing-page visit", "pricing-page visits"),
    "content_download": ("content download", "content downloads"),
    "webinar_registered": ("webinar registration", "webinar registrations"),
    "webinar_attended": ("webinar attended", "webinars attended"),
    "email_open": ("email open", "email opens"),
    "email_click": ("email click", "email clicks"),
    "ad_click": ("ad click", "ad clicks"),
    "form_fill": ("form fill", "form fills"),
    "demo_request": ("demo request", "demo requests"),
    "event_attended": ("event attended", "events attended"),
    "trial_signup": ("trial sign-up", "trial sign-ups"),
    "product_usage": ("product-usage event", "product-usage events"),
    OTHER_ACTIVITY: ("other activity", "other activities"),
}
SIGNAL_WORDS: dict[str, tuple[str, str]] = {
    "executive_hire": ("new executive hire", "executive hires"),
    "funding_round": ("funding round", "funding rounds"),
    "hiring_surge": ("hiring surge", "hiring surges"),
    "technology_added": ("technology added", "technologies added"),
    "technology_removed": ("technology removed", "technologies removed"),
    "layoff": ("layoff", "layoffs"),
    "acquisition": ("acquisition", "acquisitions"),
    "product_limit_reached": ("product limit reached", "product limits reached"),
}


@dataclass(frozen=True)
class Template:
    """How to say one feature's value. ``kind``: count, days, percent, score, ratio, money, flag, category, number."""

    kind: str
    many: str
    one: str | None = None
    zero: str | None = None
    missing: str | None = None


def _window(name: str) -> str:
    m = re.search(r"_(\d+)d$", name)
    if not m:
        return ""
    days = int(m.group(1))
    return {7: "the last 7 days", 28: "the last 4 weeks", 30: "the last 30 days", 84: "the last 12 weeks",
            90: "the last 90 days"}.get(days, f"the last {days} days")


def template(name: str, settings=None) -> Template:
    """The template of a feature, from its name (an attribute's from ``settings``, which declare it)."""
    family, _, measure = name.partition("__")
    if family == "attribute":
        label = measure.replace("_", " ")
        kind = "category" if feature_spec(name, settings).categorical else "number"
        return Template(kind, f"{label}: {{n}}", missing=f"{label} unknown")
    w = _window(name)
    base = re.sub(r"_\d+d$", "", measure)
    if family == "engagement":
        if base in ACTIVITY_WORDS:
            one, many = ACTIVITY_WORDS[base]
            return Template("count", f"{{n}} {many} in {w}", f"1 {one} in {w}", f"no {many} in {w}")
        simple = {
            "activities": Template("count", f"{{n}} activities in {w}", f"1 activity in {w}", f"no activity in {w}"),
            "points": Template("count", f"{{n}} engagement points in {w}", None, f"no engagement points in {w}"),
            "minutes": Template("count", f"{{n}} minutes of engagement in {w}", None, f"no recorded minutes in {w}"),
            "anonymous_visits": Template("count", f"{{n}} anonymous visits from the company's network in {w}",
                                         f"1 anonymous visit from the company's network in {w}",
                                         f"no anonymous visits from the company's network in {w}"),
            "known_activities": Template("count", f"{{n}} activities by known people in {w}",
                                         f"1 activity by a known person in {w}", f"no activity by known people in {w}"),
            "days_since_pricing_visit": Template("days", "last pricing-page visit {n} days ago",
                                                 "last pricing-page visit 1 day ago", "pricing page visited today",
                                                 "no pricing-page visit yet"),
            "days_since_demo_request": Template("days", "last demo request or trial sign-up {n} days ago",
                                                "last demo request or trial sign-up 1 day ago",
                                                "demo request or trial sign-up today", "no demo request or trial yet"),
            "contacts_engaged": Template("count", f"{{n}} people engaged in {w}", f"1 person engaged in {w}",
                                         f"no one engaged in {w}"),
            "departments_engaged": Template("count", f"{{n}} departments engaged in {w}", f"1 department engaged in {w}",
                                            f"no department engaged in {w}"),
            "seniority_levels": Template("count", f"{{n}} seniority levels engaged in {w}",
                                         f"1 seniority level engaged in {w}", f"no seniority level engaged in {w}"),
            "senior_contacts": Template("count", f"{{n}} VP or C-level people engaged in {w}",
                                        f"1 VP or C-level person engaged in {w}", f"no VP or C-level engagement in {w}"),
            "committee_coverage": Template("percent", f"{{n}}% of the buying committee's roles engaged in {w}", None,
                                           f"none of the buying committee's roles engaged in {w}"),
            "top_contact_share": Template("percent", f"the most active person holds {{n}}% of the activity in {w}",
                                          None, None, f"no known person active in {w}"),
        }
        return simple[base]
    if family == "intent":
        return {
            "surging_topics": Template("count", f"{{n}} intent topics surging in {w}", f"1 intent topic surging in {w}",
                                       f"no intent topic surging in {w}"),
            "relevant_surging_topics": Template("count", f"{{n}} relevant intent topics surging in {w}",
                                                f"intent on a relevant topic surging in {w}",
                                                f"no surge on a relevant topic in {w}"),
            "max_score": Template("score", f"top intent score {{n}} in {w}", None, None, f"no intent data for {w}"),
            "relevant_max_score": Template("score", f"top intent score on a relevant topic {{n}} in {w}", None, None,
                                           f"no intent data on relevant topics for {w}"),
            "mean_score": Template("score", f"average intent score {{n}} in {w}", None, None, f"no intent data for {w}"),
            "score_trend": Template("signed", "intent score {n} points against the 8 weeks before", None,
                                    "intent score flat against the 8 weeks before", "no intent trend yet"),
            "weeks_surging": Template("count", f"intent surging in {{n}} of {w}", f"intent surging in 1 of {w}",
                                      f"no intent surge in {w}"),
            "relevant_weeks_surging": Template("count", f"relevant-topic intent surging in {{n}} of {w}",
                                               f"relevant-topic intent surging in 1 of {w}",
                                               f"no relevant-topic surge in {w}"),
        }[base]
    if family == "timing":
        for kind in SIGNAL_TYPES:
            one, many = SIGNAL_WORDS[kind]
            if base == f"days_since_{kind}":
                return Template("days", f"{one} {{n}} days ago", f"{one} 1 day ago", f"{one} today", f"no {one} on record")
            if base == kind:
                return Template("count", f"{{n}} {many} in {w}", f"1 {one} in {w}", f"no {one} in {w}")
        return {
            "days_since_activity": Template("days", "last activity {n} days ago", "last activity 1 day ago",
                                            "active today", "no activity yet"),
            "activity_velocity": Template("ratio", "activity at {n}x the pace of the 60 days before"),
        }[base]
    if family == "history":
        return {
            "prior_opportunities": Template("count", "{n} earlier opportunities", "1 earlier opportunity",
                                            "no earlier opportunity"),
            "days_since_closed_lost": Template("days", "an opportunity was lost {n} days ago",
                                               "an opportunity was lost 1 day ago", "an opportunity was lost today",
                                               "no lost opportunity on record"),
            "is_customer": Template("flag", "already a customer", None, "not a customer yet"),
            "days_since_opportunity": Template("days", "last opportunity created {n} days ago",
                                               "last opportunity created 1 day ago", "opportunity created today",
                                               "no opportunity on record"),
        }[base]
    return {
        "industry": Template("category", "industry: {n}", missing="industry unknown"),
        "country": Template("category", "country: {n}", missing="country unknown"),
        "employees": Template("count", "{n} employees", "1 employee", missing="company size unknown"),
        "annual_revenue": Template("money", "annual revenue {n}", missing="revenue unknown"),
        "technologies_count": Template("count", "{n} technologies installed", "1 technology installed",
                                       "no technologies on record"),
        "icp_technologies": Template("count", "{n} of the ideal customer profile's technologies installed",
                                     "1 of the ideal customer profile's technologies installed",
                                     "none of the ideal customer profile's technologies installed"),
        "icp_industry": Template("flag", "in a target industry", None, "not in a target industry"),
        "icp_size": Template("flag", "company size in the ideal customer profile's band", None,
                             "company size outside the ideal customer profile's band", "company size unknown"),
        "icp_score": Template("percent", "{n}% match with the ideal customer profile", None,
                              "no match with the ideal customer profile"),
        "account_age_days": Template("days", "account created {n} days ago", "account created 1 day ago",
                                     "account created today", "account creation date unknown"),
    }[base]


def _number_text(kind: str, v: np.ndarray) -> pd.Series:
    """Values as text for their kind (vectorised)."""
    s = pd.Series(v, dtype=float)
    if kind in ("count", "days", "score"):
        return s.round().astype("Int64").astype("str").str.replace(r"\B(?=(\d{3})+$)", ",", regex=True)
    if kind == "percent":
        return (s * 100).round().astype("Int64").astype("str")
    if kind == "ratio":
        return s.round(1).astype("str")
    if kind == "signed":
        r = s.round()
        return pd.Series(np.where(r > 0, "up ", "down "), index=s.index) + r.abs().astype("Int64").astype("str")
    if kind == "money":
        return s.round(-3).astype("Int64").astype("str").str.replace(r"\B(?=(\d{3})+$)", ",", regex=True)
    if kind == "number":
        # Whole numbers as counts (1,500); others to two decimals (12.5).
        whole = s.notna() & (s.round(2) == s.round())
        counts = s.where(whole).round().astype("Int64").astype("str").str.replace(r"\B(?=(\d{3})+$)", ",", regex=True)
        return counts.where(whole, s.round(2).astype("str"))
    return s.astype("str")


def sentences(name: str, values, settings=None) -> pd.Series:
    """The sentence for each value of one feature (a Series of text); ``settings`` declare attribute features."""
    t = template(name, settings)
    if t.kind == "category":
        v = pd.Series(values, dtype="str")
        text = v.radd(t.many.split("{n}")[0])
        return text.fillna(t.missing or "unknown")
    v = np.asarray(values, dtype=float)
    nan = np.isnan(v)
    if t.kind == "flag":
        out = np.where(v >= 0.5, t.many, t.zero or t.many).astype(object)
    else:
        head, _, tail = t.many.partition("{n}")
        out = (head + _number_text(t.kind, v) + tail).to_numpy(dtype=object)
        rounded = np.round(v * (100 if t.kind == "percent" else 1))
        if t.one is not None:
            out = np.where(rounded == 1, t.one, out)
        if t.zero is not None:
            out = np.where(rounded == 0, t.zero, out)
    out = np.where(nan, t.missing or "not known yet", out)
    return pd.Series(out, dtype="str")
