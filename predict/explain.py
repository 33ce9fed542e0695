"""Exact explanations: each score's drivers, from TreeSHAP contributions, in words.

Contributions come from LightGBM itself (``pred_contrib=True``: exact
TreeSHAP in log-odds). For every row they add up, with the base value, to the
model's raw output; ``tests/test_predict.py`` checks that for every row.

Features that describe one underlying signal (a count over 7, 30 and 90
days; the intent surge's topic count, scores and trend; a timing event's count
and days since) are one *signal* (:func:`signal_of`). The reasons of a row are
its strongest signals, up to four pushing the score up and two pushing it
down, strongest first; each reason's contribution is the sum of its
features' (log-odds), and its sentence is that of the feature that pushes
most in the reason's direction. Each reason has a ``kind``: ``why_now`` (a
recent event inside its window, pushing up), ``background`` (fit, history,
or an absence, pushing up) or ``holds_back`` (pushing down). They are
assembled as JSON column-wise: the loops run over signals, features and
reason slots, never rows.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd

from mqa.features.build import family_of, feature_spec
from mqa.features.contract import SURGE_THRESHOLD
from mqa.features.families import FAMILIES

from .sentences import sentences, template

POSITIVE_REASONS = 4
NEGATIVE_REASONS = 2


def contributions(bundle, X: pd.DataFrame) -> np.ndarray:
    """``(rows, features + 1)`` exact SHAP contributions in log-odds; the last column is the base value."""
    return bundle.booster.predict(X, pred_contrib=True, num_threads=os.cpu_count() or 1)


def family_contributions(contrib: np.ndarray, features: list[str], score: np.ndarray | None = None,
                         base_score: float | None = None) -> tuple[np.ndarray, pd.Series]:
    """Signed log-odds per family ``(rows, families)`` and the JSON text of each row.

    The JSON maps each family to its summed contribution (``log_odds``), its
    ``share`` of the absolute total, so shares add up to 1, and, when
    ``score`` and ``base_score`` (the score of the model's base value, a
    typical account) are given, its ``points``: the score's distance from the
    base score split over the families in proportion to their log-odds, so
    the points add up to ``score - base_score``. The ``attribute`` family and
    the families on trial (``dispositions``) are listed only for a model that
    has their features, so a model without them reports the same families as
    before they existed.
    """
    from mqa.features.families import trial_families

    fam = np.array([family_of(f) for f in features])
    optional = {"attribute", *trial_families()}
    families = [f for f in FAMILIES if f not in optional or f in fam]
    one_hot = (fam[:, None] == np.array(families)[None, :]).astype(float)
    per = contrib[:, :-1] @ one_hot  # (rows, families) in one matrix product
    total = np.abs(per).sum(axis=1, keepdims=True)
    share = np.divide(np.abs(per), total, out=np.zeros_like(per), where=total > 0)
    points = None
    if score is not None and base_score is not None:
        net = per.sum(axis=1, keepdims=True)
        gap = (np.asarray(score, dtype=float) - base_score)[:, None]
        # The score is monotone in the raw output, so gap and net share a sign; a net near zero moves nothing.
        points = np.divide(per * gap, net, out=np.zeros_like(per), where=np.abs(net) > 1e-9)
    text = pd.Series("{", index=range(len(per)), dtype="str")
    for j, f in enumerate(families):
        text = text + (", " if j else "") + f'"{f}": {{"log_odds": ' + _num(per[:, j]) + ', "share": ' + _num(share[:, j])
        if points is not None:
            text = text + ', "points": ' + _num(points[:, j], 2)
        text = text + "}"
    return per, text + "}"


# Signals: which features say the same thing. Fit facts about one attribute
# (employees and the ICP's size band) are one signal too.
_FIT_SIGNALS = {"industry": "industry", "icp_industry": "industry", "employees": "size", "icp_size": "size",
                "annual_revenue": "size", "technologies_count": "technologies", "icp_technologies": "technologies"}
_ACTIVITY_VOLUME = ("activities", "points", "minutes", "known_activities")
_BREADTH = ("contacts_engaged", "departments_engaged", "seniority_levels", "senior_contacts", "committee_coverage",
            "top_contact_share")
_EVENT_OF_DAYS_SINCE = {"pricing_visit": "pricing_page_visit", "demo_request": "demo_request"}
KINDS = ("why_now", "background", "holds_back")


def signal_of(name: str) -> str:
    """The underlying signal a feature describes: ``engagement:pricing_page_visit``, ``intent:surge``, ``timing:funding_round``."""
    family, _, measure = name.partition("__")
    base = re.sub(r"_\d+d$", "", measure)
    if family == "fit":
        return "fit:" + _FIT_SIGNALS.get(base, base)
    if family == "engagement":
        if base.startswith("days_since_"):
            return "engagement:" + _EVENT_OF_DAYS_SINCE.get(base[len("days_since_"):], base[len("days_since_"):])
        if base in _ACTIVITY_VOLUME:
            return "engagement:activity"
        if base in _BREADTH:
            return "engagement:people"
        return "engagement:" + base
    if family == "intent":
        return "intent:surge"
    if family == "timing":
        if base in ("days_since_activity", "activity_velocity"):
            return "timing:activity"
        return "timing:" + base.removeprefix("days_since_")
    if family == "history":
        return "history:" + {"days_since_opportunity": "prior_opportunities"}.get(base, base)
    return f"{family}:{base}"


def richer_sentences(values: pd.DataFrame, topics: pd.Series | None = None) -> dict[str, pd.Series]:
    """Sentences that combine features or name things, where the data allows.

    "4 people from 3 departments engaged in the last 30 days" when the
    departments feature is at hand; "intent on 'ETL' and 'Data Pipelines'
    surging in the last 4 weeks" for the relevant-surges feature when
    ``topics`` (the surging relevant topics of each row, as text) is given.
    Missing where the plain sentence stays. A reason pushing the score up
    says its signal's richer sentence where there is one (see :func:`reasons`).
    """
    out: dict[str, pd.Series] = {}
    for w in (30, 90):
        people, depts = f"engagement__contacts_engaged_{w}d", f"engagement__departments_engaged_{w}d"
        if people in values and depts in values:
            p = values[people].to_numpy(dtype=float)
            d = values[depts].to_numpy(dtype=float)
            text = (pd.Series(p).round().astype("Int64").astype("str") + " people from "
                    + pd.Series(d).round().astype("Int64").astype("str") + f" departments engaged in the last {w} days")
            out[people] = text.where(pd.Series((p >= 2) & (d >= 2)), pd.NA).astype("str")
    if topics is not None:
        named = pd.Series(topics.to_numpy(), dtype="str")
        text = "intent on " + named + " surging in the last 4 weeks"
        f = "intent__relevant_surging_topics_28d"
        if f in values:
            out[f] = text.where(named.notna() & (values[f].to_numpy(dtype=float) > 0), pd.NA).astype("str")
    return out


def happened(name: str, values, horizon_days: int = 90, settings=None) -> np.ndarray:
    """Whether each value states a recent event inside its window (what makes a reason "why now").

    A count, a percent or a surging week above zero; a "days since" within the
    label's horizon; an intent score at the surge threshold; a trend up; a pace
    above the usual. Never fit, history, attributes or account age; never a
    concentration (the most active person's share).
    """
    family = name.partition("__")[0]
    n = len(values)
    if family not in ("engagement", "intent", "timing") or "top_contact_share" in name:
        return np.zeros(n, dtype=bool)
    v = np.asarray(values, dtype=float)
    kind = template(name, settings).kind
    with np.errstate(invalid="ignore"):
        if "days_since" in name:
            return v <= horizon_days
        if kind == "score":
            return v >= SURGE_THRESHOLD
        if kind == "ratio":
            return v > 1
        return v > 0


def reasons(values: pd.DataFrame, contrib: np.ndarray, features: list[str],
            details: dict[str, pd.Series] | None = None, settings=None, horizon_days: int | None = None) -> pd.Series:
    """The JSON list of each row's strongest signals (see module docstring).

    Each reason is an object with ``feature`` (the feature whose sentence it
    says), ``family``, ``value`` (that feature's), ``contribution`` (the sum
    over the signal's features, log-odds), ``text``, ``signal``, ``features``
    (the signal's features in the model) and ``kind``.

    Parameters
    ----------
    values : DataFrame
        The rows' feature values (original units, categoricals as text), columns ``features``.
    contrib : ndarray
        Contributions from :func:`contributions`, same rows.
    features : list of str
        The model's feature order.
    details : dict, optional
        ``{feature: Series of text}`` (positional, same rows): a richer
        sentence for that feature's signal, said where it is not missing and
        the signal pushes the score up (see :func:`richer_sentences`).
    settings : FeatureSettings or TrainSettings, optional
        The model's settings: they declare its attribute features (and the horizon).
    horizon_days : int, optional
        The label's horizon: a "days since" beyond it is background, not why now
        (default: ``settings.horizon_days``, else 90).
    """
    n = len(values)
    details = details or {}
    horizon = int(horizon_days or getattr(settings, "horizon_days", 90) or 90)
    c = contrib[:, :-1]
    signals = list(dict.fromkeys(signal_of(f) for f in features))
    gid = np.array([signals.index(signal_of(f)) for f in features])
    member = (gid[:, None] == np.arange(len(signals))[None, :]).astype(float)
    per = c @ member  # (rows, signals): each signal's summed contribution, one matrix product

    n_pos = min(POSITIVE_REASONS, len(signals))
    pos_order = np.argsort(-per, axis=1, kind="stable")[:, :n_pos]
    neg_order = np.argsort(per, axis=1, kind="stable")[:, :NEGATIVE_REASONS]
    idx = np.concatenate([pos_order, neg_order], axis=1)
    picked = np.take_along_axis(per, idx, axis=1)
    sign_ok = np.concatenate([picked[:, :n_pos] > 0, picked[:, n_pos:] < 0], axis=1)
    # Strongest first; slots without a signal of their sign go last and are left out.
    order = np.argsort(np.where(sign_ok, -np.abs(picked), np.inf), axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    valid = np.take_along_axis(sign_ok, order, axis=1)
    k = idx.shape[1]

    # The feature that speaks for each chosen signal: its member pushing most in the signal's direction.
    # Per signal, once for all rows: the member pushing up most and the one pushing down most.
    up_lead = np.empty((n, len(signals)), dtype=np.int64)
    down_lead = np.empty((n, len(signals)), dtype=np.int64)
    for g in range(len(signals)):
        cols = np.flatnonzero(gid == g)
        if len(cols) == 1:
            up_lead[:, g] = down_lead[:, g] = cols[0]
        else:
            block = c[:, cols]
            up_lead[:, g] = cols[np.argmax(block, axis=1)]
            down_lead[:, g] = cols[np.argmin(block, axis=1)]
    lead = np.where(picked > 0, np.take_along_axis(up_lead, idx, axis=1), np.take_along_axis(down_lead, idx, axis=1))

    # Richer sentences by signal (positive reasons only), the first one given winning. A reason that
    # says one speaks for the feature it was made from, so its value is the one the sentence states.
    rich_text: dict[int, np.ndarray] = {}
    rich_feat: dict[int, np.ndarray] = {}
    for f, said in details.items():
        if f not in features:
            continue
        j = features.index(f)
        g = gid[j]
        said = said.to_numpy(dtype=object)
        have = ~pd.isna(said)
        if g in rich_text:
            free = rich_feat[g] < 0
            rich_text[g] = np.where(free & have, said, rich_text[g])
            rich_feat[g] = np.where(free & have, j, rich_feat[g])
        else:
            rich_text[g] = np.where(have, said, None)
            rich_feat[g] = np.where(have, j, -1)
    for g, fj in rich_feat.items():
        use = (idx == g) & (picked > 0) & (fj >= 0)[:, None]
        lead = np.where(use, fj[:, None], lead)

    text = np.empty(n * k, dtype=object)
    value = np.empty(n * k, dtype=object)
    now = np.zeros(n * k, dtype=bool)
    flat_feat, flat_valid = lead.ravel(), valid.ravel()
    flat_up = (picked > 0).ravel()
    for j in np.unique(flat_feat[flat_valid]):
        pos = np.flatnonzero((flat_feat == j) & flat_valid)
        rows = pos // k
        f = features[j]
        col = values[f].to_numpy()[rows]
        said = sentences(f, col, settings).to_numpy(dtype=object)
        event = happened(f, col, horizon, settings)
        up = flat_up[pos]
        g = gid[j]
        if g in rich_text:
            use = up & (rich_feat[g][rows] == j)
            said = np.where(use, rich_text[g][rows], said)
            event = event | use
        # Pushing down although the value states an event: say so, or "up 19 points" under a minus reads false.
        said = np.where(~up & event, said.astype(str) + "; on its own this lowers the score", said)
        text[pos] = said
        now[pos] = up & event
        if feature_spec(f, settings).categorical:
            value[pos] = _json_strings(pd.Series(col, dtype="str")).to_numpy(dtype=object)
        else:
            value[pos] = _num(col.astype(float)).to_numpy(dtype=object)
    text_json = _json_strings(pd.Series(text, dtype="str")).to_numpy(dtype=object).reshape(n, k)
    value = value.reshape(n, k)
    kind = np.where(now, '"why_now"', np.where(flat_up, '"background"', '"holds_back"')).reshape(n, k)
    names = np.array(features, dtype=object)
    fams = np.array([family_of(f) for f in features], dtype=object)
    sig_names = np.array(signals, dtype=object)
    sig_features = np.array(["[" + ", ".join(f'"{f}"' for f in features if signal_of(f) == s) + "]" for s in signals],
                            dtype=object)

    out = pd.Series("[", index=range(n), dtype="str")
    for slot in range(k):
        ok = valid[:, slot]
        obj = ('{"feature": "' + pd.Series(names[lead[:, slot]], dtype="str") + '", "family": "'
               + pd.Series(fams[lead[:, slot]], dtype="str") + '", "value": '
               + pd.Series(np.where(ok, value[:, slot], "null"), dtype="str")
               + ', "contribution": ' + _num(picked[:, slot]) + ', "text": '
               + pd.Series(np.where(ok, text_json[:, slot], "null"), dtype="str")
               + ', "kind": ' + pd.Series(kind[:, slot], dtype="str")
               + ', "signal": "' + pd.Series(sig_names[idx[:, slot]], dtype="str")
               + '", "features": ' + pd.Series(sig_features[idx[:, slot]], dtype="str") + "}")
        sep = ", " if slot else ""
        out = out + pd.Series(np.where(ok, sep + obj.to_numpy(dtype=object), ""), dtype="str")
    return out + "]"


def _num(x: np.ndarray, digits: int = 4) -> pd.Series:
    """Numbers as JSON text, rounded; NaN is null."""
    s = pd.Series(np.round(np.asarray(x, dtype=float), digits))
    text = s.astype("str").str.replace(r"\.0$", "", regex=True)
    return text.mask(s.isna(), "null").astype("str")


def _json_strings(s: pd.Series) -> pd.Series:
    """Strings as JSON string literals (escaped once per distinct value); missing is null."""
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    quoted = np.array([json.dumps(u) for u in uniques] + ["null"], dtype=object)
    return pd.Series(quoted[codes], dtype="str")
