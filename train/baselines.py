"""Transparent baselines and bootstrap intervals: is the model better than what anyone could do by hand?

On the backtest's out-of-fold rows, the model is shown beside rankers a
revenue team could build in a spreadsheet: recency of an account's first and
last engagement, engagement points in 90 days, and the two seed rules. Every
figure gets a 95% interval from a bootstrap **by account** (an account's rows
at several dates are not independent evidence, so accounts are what is
resampled), and the model's margin over the best baseline is judged on the
same resamples (a paired bootstrap).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .evaluate import RuleSettings

BOOTSTRAP = 200
LEVEL = 0.95

# Below these the evidence is thin: the train output and the report say so
# first (docs/training.md, "Minimums").
MIN_POSITIVE_ACCOUNTS = 30
MIN_POSITIVE_ROWS = 50
MIN_LABELED_DATES = 8


@dataclass(frozen=True)
class Ranker:
    """A baseline: higher values rank an account as more ready; NaN ranks lowest."""

    name: str
    description: str
    values: np.ndarray | None
    why_not: str | None = None


def baselines(rows: pd.DataFrame, rules: RuleSettings, first_engaged: pd.Series | None, why: dict[str, str]) -> list[Ranker]:
    """The transparent baselines on ``rows`` (``account_id``, ``as_of`` and feature columns).

    Parameters
    ----------
    rows : DataFrame
        Backtest rows with the feature columns the baselines read.
    rules : RuleSettings
        Thresholds of the seed rules.
    first_engaged : Series or None
        Each account's first activity time (UTC), indexed by account id; None
        when the history has no activities.
    why : dict
        ``{input: reason}`` for inputs the history lacks (``"activities"``,
        ``"contacts"``, ``"fit"``): the text shown where a baseline cannot apply.
    """
    out = []
    if first_engaged is not None:
        first = pd.DatetimeIndex(first_engaged.reindex(rows["account_id"])).as_unit("ns")
        days = (pd.DatetimeIndex(rows["as_of"]).as_unit("ns").asi8 - first.asi8) / 86_400e9
        days = np.where(first.isna() | (days < 0), np.nan, days)
        out.append(Ranker("first_engagement_recency", "most recent first engagement first", -days))
    else:
        out.append(Ranker("first_engagement_recency", "most recent first engagement first", None, why.get("activities")))
    last = rows.get("timing__days_since_activity")
    out.append(Ranker("last_engagement_recency", "most recent last engagement first",
                      None if last is None or "activities" in why else -last.to_numpy(dtype=float), why.get("activities")))
    points = rows.get("engagement__points_90d")
    out.append(Ranker("points_90d", "engagement points in 90 days",
                      None if points is None or "activities" in why else points.to_numpy(dtype=float), why.get("activities")))
    a_inputs = [k for k in ("activities", "contacts", "fit") if k in why]
    needed = ("fit__icp_score", "engagement__points_90d", "engagement__contacts_engaged_90d")
    if a_inputs or not all(c in rows for c in needed):
        out.append(Ranker("rule_a_fit_engagement_2_contacts", "seed rule (a): ICP fit, engagement and 2 engaged people",
                          None, "; ".join(why[k] for k in a_inputs) or "its features were not built"))
    else:
        flag = ((rows["fit__icp_score"] >= rules.fit_threshold) & (rows["engagement__points_90d"] >= rules.engagement_threshold)
                & (rows["engagement__contacts_engaged_90d"] >= rules.min_contacts))
        out.append(Ranker("rule_a_fit_engagement_2_contacts", "seed rule (a): ICP fit, engagement and 2 engaged people",
                          flag.to_numpy(dtype=float)))
    if points is None or "activities" in why:
        out.append(Ranker("rule_b_100_points_90d", "seed rule (b): 100 engagement points in 90 days", None,
                          why.get("activities", "its features were not built")))
    else:
        out.append(Ranker("rule_b_100_points_90d", "seed rule (b): 100 engagement points in 90 days",
                          (points >= rules.points_threshold).to_numpy(dtype=float)))
    return out


def account_weights(accounts: pd.Series, draws: int = BOOTSTRAP, seed: int = 0) -> np.ndarray:
    """``(draws, rows)`` bootstrap weights: how often each row's account was drawn (accounts resampled with replacement)."""
    codes, uniques = pd.factorize(accounts, sort=True)
    rng = np.random.default_rng(seed)
    counts = np.stack([np.bincount(rng.integers(0, len(uniques), len(uniques)), minlength=len(uniques))
                       for _ in range(draws)]) if len(uniques) else np.zeros((draws, 0))
    return counts[:, codes].astype(float)


def weighted_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC under each row of ``weights`` (ties count one half); NaN scores rank lowest; NaN where one class is absent."""
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    s = np.where(np.isnan(s), -np.inf, s)
    order = np.argsort(s, kind="stable")
    s, y, w = s[order], y[order], np.atleast_2d(weights)[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = np.add.reduceat(w * y, starts, axis=1) if len(s) else np.zeros((len(w), 0))
    neg = np.add.reduceat(w * (1 - y), starts, axis=1) if len(s) else np.zeros((len(w), 0))
    below = np.cumsum(neg, axis=1) - neg
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    num = (pos * (below + 0.5 * neg)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((total_pos > 0) & (total_neg > 0), num / (total_pos * total_neg), np.nan)


def fold_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """ROC-AUC within each fold, averaged with the folds' (weighted) positives as weights, per row of ``weights``.

    Each fold's test block is ranked by its own model, so ranks are compared
    within a fold, never across two models' scales.
    """
    w = np.atleast_2d(weights)
    total = np.zeros(len(w))
    mass = np.zeros(len(w))
    for f in np.unique(fold):
        at = fold == f
        auc = weighted_auc(y[at], score[at], w[:, at])
        pos = (w[:, at] * y[at]).sum(axis=1)
        ok = ~np.isnan(auc)
        total[ok] += auc[ok] * pos[ok]
        mass[ok] += pos[ok]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 0, total / mass, np.nan)


def top_per_date(values: np.ndarray, as_of: pd.Series, volume: pd.Series) -> np.ndarray:
    """Flags the ``volume`` (per as-of date) highest ``values`` at each date (NaN lowest, ties by row order)."""
    v = pd.Series(np.where(np.isnan(values), -np.inf, values), index=as_of.index)
    rank = v.groupby(as_of).rank(method="first", ascending=False)
    return (rank <= as_of.map(volume).fillna(0)).to_numpy()


def _interval(point: float, draws: np.ndarray) -> tuple[float, float, float]:
    d = draws[~np.isnan(draws)]
    if not len(d) or np.isnan(point):
        return point, np.nan, np.nan
    lo, hi = np.quantile(d, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return float(point), float(lo), float(hi)


def compare(rows: pd.DataFrame, model_values: np.ndarray, model_flag: np.ndarray, rankers: list[Ranker], seed: int = 0,
            draws: int = BOOTSTRAP) -> tuple[pd.DataFrame, dict]:
    """The model and each baseline on the same rows, with bootstrap intervals; and the verdict.

    ``model_values`` rank the rows (the model's raw output), ``model_flag``
    marks its MQAs (score at or above the cutoff). Each baseline's precision
    is taken at the model's MQA volume (as many accounts per as-of date as the
    model flags), so only the choice of accounts differs.

    Returns
    -------
    table : DataFrame
        ``name``, ``description``, ``available``, ``why_not``, ``roc_auc``
        (within each fold, averaged over the folds by their positives),
        ``roc_auc_low``, ``roc_auc_high``, ``precision``, ``precision_low``,
        ``precision_high`` (at the model's MQA volume), ``flagged``.
    verdict : dict
        ``best_baseline``, its AUC, the model's margin with its interval,
        ``beats_baseline`` (the interval's lower end above 0).
    """
    y = rows["label"].to_numpy(dtype=float)
    w = account_weights(rows["account_id"], draws, seed)
    ones = np.ones((1, len(y)))
    model_flag = np.asarray(model_flag, dtype=bool)
    volume = pd.Series(model_flag, index=rows.index).groupby(rows["as_of"]).sum()

    def precision(flag):
        flag = flag.astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            point = float((flag * y).sum() / flag.sum()) if flag.sum() else np.nan
            return point, (w * flag * y).sum(axis=1) / (w * flag).sum(axis=1)

    fold = rows["fold"].to_numpy() if "fold" in rows else np.zeros(len(rows), dtype=int)
    model_auc = fold_auc(y, model_values, np.vstack([ones, w]), fold)
    p, p_draws = precision(model_flag)
    records = [{"name": "model", "description": "mqa's calibrated model (out of fold)", "available": True, "why_not": None,
                **_auc_cols(model_auc), **_prec_cols(p, p_draws), "flagged": int(model_flag.sum())}]
    aucs = {}
    for r in rankers:
        if r.values is None:
            records.append({"name": r.name, "description": r.description, "available": False, "why_not": r.why_not,
                            "roc_auc": np.nan, "roc_auc_low": np.nan, "roc_auc_high": np.nan, "precision": np.nan,
                            "precision_low": np.nan, "precision_high": np.nan, "flagged": 0})
            continue
        auc = fold_auc(y, r.values, np.vstack([ones, w]), fold)
        aucs[r.name] = auc
        p, p_draws = precision(top_per_date(r.values, rows["as_of"], volume))
        records.append({"name": r.name, "description": r.description, "available": True, "why_not": None,
                        **_auc_cols(auc), **_prec_cols(p, p_draws), "flagged": int(np.nansum(r.values > 0))
                        if r.name.startswith("rule_") else int(model_flag.sum())})
    table = pd.DataFrame(records)
    verdict = {"best_baseline": None, "best_baseline_auc": np.nan, "margin": np.nan, "margin_low": np.nan,
               "margin_high": np.nan, "beats_baseline": True}
    usable = {k: v for k, v in aucs.items() if not np.isnan(v[0])}
    if usable and not np.isnan(model_auc[0]):
        best = max(usable, key=lambda k: usable[k][0])
        diff = model_auc - usable[best]
        point, lo, hi = _interval(diff[0], diff[1:])
        verdict = {"best_baseline": best, "best_baseline_auc": float(usable[best][0]), "margin": point,
                   "margin_low": lo, "margin_high": hi, "beats_baseline": bool(lo > 0) if not np.isnan(lo) else False}
    return table, verdict


def _auc_cols(auc: np.ndarray) -> dict:
    point, lo, hi = _interval(auc[0], auc[1:])
    return {"roc_auc": point, "roc_auc_low": lo, "roc_auc_high": hi}


def _prec_cols(point: float, draws: np.ndarray) -> dict:
    point, lo, hi = _interval(point, draws)
    return {"precision": point, "precision_low": lo, "precision_high": hi}


def evidence(rows: pd.DataFrame, labeled_dates: int, constant_model: bool) -> dict:
    """Whether the evidence is thin, and why: positives as distinct accounts and as rows, labeled dates, a constant model."""
    pos = rows[rows["label"] == 1]
    accounts = int(pos["account_id"].nunique())
    reasons = []
    if accounts < MIN_POSITIVE_ACCOUNTS:
        reasons.append(f"{accounts} account(s) with an opportunity in the backtest (minimum {MIN_POSITIVE_ACCOUNTS})")
    if len(pos) < MIN_POSITIVE_ROWS:
        reasons.append(f"{len(pos)} positive row(s) in the backtest (minimum {MIN_POSITIVE_ROWS})")
    if labeled_dates < MIN_LABELED_DATES:
        reasons.append(f"{labeled_dates} labeled as-of date(s) (minimum {MIN_LABELED_DATES})")
    if constant_model:
        reasons.append("the refitted model is constant: it found no split worth making, so every account gets the same score")
    return {"thin": bool(reasons), "reasons": reasons, "positive_accounts": accounts, "positive_rows": int(len(pos)),
            "rows": int(len(rows)), "accounts": int(rows["account_id"].nunique()), "labeled_dates": int(labeled_dates)}
