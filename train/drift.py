"""Reference distributions of the training rows, and the population stability index against them.

A bundle keeps, per feature and for the out-of-fold score, how the training
rows were spread (:func:`reference`): quantile bin edges and each bin's share,
the missing share and the zero share; and per feature family the share of
rows where every feature of the family is zero or missing (a family that
"says nothing"). Only aggregates: no row, no account id, no contact.

:func:`psi` compares a later population with a reference:

    PSI = sum over bins of (a - e) * ln(a / e)

where ``e`` is the reference share of a bin and ``a`` the later one, the
missing values being a bin of their own, and both shares floored at
:data:`PSI_FLOOR` so that an empty bin counts as rare, not impossible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BINS = 10  # quantile bins of a continuous feature
PSI_FLOOR = 1e-4  # the smallest share a bin counts with (an empty bin would make the PSI infinite)
CATEGORIES = 10  # a categorical feature keeps its most frequent values, the rest is one bin "other"


def distribution(values) -> dict:
    """How ``values`` are spread: bins, shares, missing and zero share.

    A numeric feature with at most :data:`BINS` distinct values gets one bin
    per value (cut halfway between neighbours, so a value never seen in
    training falls in the nearest bin); otherwise the cuts are the deciles'
    distinct values. A text feature keeps its :data:`CATEGORIES` most frequent
    values and one bin for the others.
    """
    s = pd.Series(values)
    n = len(s)
    missing = s.isna().to_numpy()
    present = s[~missing]
    out: dict = {"rows": int(n), "missing": float(missing.mean()) if n else 0.0}
    if s.dtype.kind not in "fiub":
        top = present.astype("str").value_counts().head(CATEGORIES)
        out.update(kind="categorical", categories=[str(c) for c in top.index], zero=0.0)
    else:
        v = present.to_numpy(dtype=float)
        distinct = np.unique(v)
        if len(distinct) <= BINS:
            cuts = (distinct[:-1] + distinct[1:]) / 2
        else:
            cuts = np.unique(np.quantile(v, np.linspace(0, 1, BINS + 1)[1:-1]))
        out.update(kind="numeric", cuts=[float(c) for c in cuts], zero=float((s.to_numpy(dtype=float) == 0).mean()) if n else 0.0)
    out["shares"] = [float(x) for x in bin_shares(s, out)]
    return out


def bin_shares(values, ref: dict) -> np.ndarray:
    """The share of ``values`` in each of ``ref``'s bins, then the missing share (sums to 1)."""
    s = pd.Series(values)
    n = len(s)
    missing = s.isna().to_numpy()
    if ref["kind"] == "categorical":
        cats = list(ref["categories"])
        text = s[~missing].astype("str")
        idx = pd.Index(cats).get_indexer(text)
        idx = np.where(idx < 0, len(cats), idx)  # the "other" bin
        k = len(cats) + 1
    else:
        idx = np.searchsorted(np.asarray(ref["cuts"], dtype=float), s[~missing].to_numpy(dtype=float), side="right")
        k = len(ref["cuts"]) + 1
    counts = np.bincount(idx, minlength=k)[:k].astype(float)
    counts = np.append(counts, missing.sum())
    return counts / n if n else counts


def psi(ref: dict, values) -> float:
    """Population stability index of ``values`` against the reference distribution ``ref`` (formula above)."""
    e = np.maximum(np.asarray(ref["shares"], dtype=float), PSI_FLOOR)
    a = np.maximum(bin_shares(values, ref), PSI_FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def silent_share(rows: pd.DataFrame, features: list[str]) -> float:
    """The share of rows where every one of ``features`` (numeric ones) is zero or missing."""
    numeric = [f for f in features if rows[f].dtype.kind in "fiub"]
    if not numeric or not len(rows):
        return float("nan")
    v = rows[numeric].to_numpy(dtype=float)
    return float(((v == 0) | np.isnan(v)).all(axis=1).mean())


def family_features(features: list[str]) -> dict[str, list[str]]:
    """Features grouped by family (the prefix of their name), in order."""
    out: dict[str, list[str]] = {}
    for f in features:
        out.setdefault(f.partition("__")[0], []).append(f)
    return out


def reference(rows: pd.DataFrame, features: list[str], score) -> dict:
    """The training rows' reference: every feature's and the score's distribution, each family's silent share.

    Parameters
    ----------
    rows : DataFrame
        The training rows (the features' columns).
    features : list of str
        The model's features.
    score : array
        The out-of-fold score (0-100) of the backtest's rows.
    """
    return {
        "rows": int(len(rows)),
        "bins": BINS,
        "features": {f: distribution(rows[f]) for f in features},
        "score": distribution(np.asarray(score, dtype=float)),
        "families": {fam: {"silent": silent_share(rows, fs), "features": len(fs)}
                     for fam, fs in family_features(features).items()},
    }
