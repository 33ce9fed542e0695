"""Exact explanations: each score's drivers, from TreeSHAP contributions, in words.

Contributions come from LightGBM itself (``pred_contrib=True``: exact
TreeSHAP in log-odds). For every row they add up, with the base value, to the
model's raw output; ``tests/test_predict.py`` checks that for every row.

The reasons of a row are its strongest drivers, up to four pushing the score
up and two pushing it down, strongest first, each with its feature, family,
value, signed contribution (log-odds) and a sentence. They are assembled as
JSON column-wise: the loops run over features and reason slots, never rows.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd

from mqa.features.build import FAMILIES, family_of, feature_spec

from .sentences import sentences

POSITIVE_REASONS = 4
NEGATIVE_REASONS = 2


def contributions(bundle, X: pd.DataFrame) -> np.ndarray:
    """``(rows, features + 1)`` exact SHAP contributions in log-odds; the last column is the base value."""
    return bundle.booster.predict(X, pred_contrib=True, num_threads=os.cpu_count() or 1)


def family_contributions(contrib: np.ndarray, features: list[str]) -> tuple[np.ndarray, pd.Series]:
    """Signed log-odds per family ``(rows, families)`` and the JSON text of each row.

    The JSON maps each family to its summed contribution (``log_odds``) and its
    ``share`` of the absolute total, so shares add up to 1. The ``attribute``
    family is listed only for a model that has attribute features, so a model
    without declared attributes reports the same families as before them.
    """
    fam = np.array([family_of(f) for f in features])
    families = [f for f in FAMILIES if f != "attribute" or f in fam]
    one_hot = (fam[:, None] == np.array(families)[None, :]).astype(float)
    per = contrib[:, :-1] @ one_hot  # (rows, families) in one matrix product
    total = np.abs(per).sum(axis=1, keepdims=True)
    share = np.divide(np.abs(per), total, out=np.zeros_like(per), where=total > 0)
    text = pd.Series("{", index=range(len(per)), dtype="str")
    for j, f in enumerate(families):
        text = text + (", " if j else "") + f'"{f}": {{"log_odds": ' + _num(per[:, j]) + ', "share": ' + _num(share[:, j]) + "}"
    return per, text + "}"


def richer_sentences(values: pd.DataFrame, topics: pd.Series | None = None) -> dict[str, pd.Series]:
    """Sentences that combine features or name things, where the data allows.

    "4 people from 3 departments engaged in the last 30 days" when the
    departments feature is at hand; "intent on 'ETL' and 'Data Pipelines'
    surging in the last 4 weeks" for the relevant-surges feature when
    ``topics`` (the surging relevant topics of each row, as text) is given.
    Missing where the plain sentence stays.
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
        # Named once, on the relevant-surges reason: the other intent reasons
        # keep their plain sentences so a row never says the same thing twice.
        f = "intent__relevant_surging_topics_28d"
        if f in values:
            out[f] = text.where(named.notna() & (values[f].to_numpy(dtype=float) > 0), pd.NA).astype("str")
    return out


def reasons(values: pd.DataFrame, contrib: np.ndarray, features: list[str],
            details: dict[str, pd.Series] | None = None, settings=None) -> pd.Series:
    """The JSON list of each row's strongest drivers (see module docstring).

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
        sentence that replaces the template's where it is not missing
        (see :func:`richer_sentences`).
    settings : FeatureSettings, optional
        The model's feature settings: they declare its attribute features.
    """
    n = len(values)
    details = details or {}
    c = contrib[:, :-1]
    pos_order = np.argsort(-c, axis=1, kind="stable")[:, :POSITIVE_REASONS]
    neg_order = np.argsort(c, axis=1, kind="stable")[:, :NEGATIVE_REASONS]
    idx = np.concatenate([pos_order, neg_order], axis=1)
    picked = np.take_along_axis(c, idx, axis=1)
    sign_ok = np.concatenate([picked[:, :POSITIVE_REASONS] > 0, picked[:, POSITIVE_REASONS:] < 0], axis=1)
    # Strongest first; slots without a driver of their sign go last and are left out.
    order = np.argsort(np.where(sign_ok, -np.abs(picked), np.inf), axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    picked = np.take_along_axis(picked, order, axis=1)
    valid = np.take_along_axis(sign_ok, order, axis=1)

    k = idx.shape[1]
    # One sentence call per feature for all the rows and slots that show it.
    text = np.empty(n * k, dtype=object)
    value = np.empty(n * k, dtype=object)
    flat_feat, flat_valid = idx.ravel(), valid.ravel()
    for j in np.unique(flat_feat[flat_valid]):
        pos = np.flatnonzero((flat_feat == j) & flat_valid)
        rows = pos // k
        f = features[j]
        col = values[f].to_numpy()[rows]
        said = sentences(f, col, settings).to_numpy(dtype=object)
        if f in details:
            rich = details[f].to_numpy(dtype=object)[rows]
            said = np.where(pd.isna(rich), said, rich)
        text[pos] = said
        if feature_spec(f, settings).categorical:
            value[pos] = _json_strings(pd.Series(col, dtype="str")).to_numpy(dtype=object)
        else:
            value[pos] = _num(col.astype(float)).to_numpy(dtype=object)
    text_json = _json_strings(pd.Series(text, dtype="str")).to_numpy(dtype=object).reshape(n, k)
    value = value.reshape(n, k)
    names = np.array(features, dtype=object)
    fams = np.array([family_of(f) for f in features], dtype=object)

    out = pd.Series("[", index=range(n), dtype="str")
    for slot in range(k):
        ok = valid[:, slot]
        obj = ('{"feature": "' + pd.Series(names[idx[:, slot]], dtype="str") + '", "family": "'
               + pd.Series(fams[idx[:, slot]], dtype="str") + '", "value": '
               + pd.Series(np.where(ok, value[:, slot], "null"), dtype="str")
               + ', "contribution": ' + _num(picked[:, slot]) + ', "text": '
               + pd.Series(np.where(ok, text_json[:, slot], "null"), dtype="str") + "}")
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
