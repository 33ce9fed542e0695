"""Sentences a sales rep understands, one per feature value.

Each feature carries its template on itself
(:attr:`~mqa.features.context.Feature.template`, defined with the feature in
its family module; an attribute's comes from its declaration). A template has
up to four forms: zero, one, many, and missing (no observation). ``{n}`` is
the value, formatted for its kind (a count, days, a percent, a score, a
ratio). Text is built column-wise with pandas string operations, for all
accounts at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mqa.features.build import feature_spec
from mqa.features.wording import ACTIVITY_WORDS, SIGNAL_WORDS, Template

__all__ = ["ACTIVITY_WORDS", "SIGNAL_WORDS", "Template", "sentences", "template"]


def template(name: str, settings=None) -> Template:
    """The template of a feature (an attribute's from ``settings``, which declare it).

    Raises
    ------
    mqa.features.build.UnknownFeature
        No such feature (a ``KeyError`` naming it and the closest names).
    """
    return feature_spec(name, settings).template


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
