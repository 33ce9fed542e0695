"""Out-of-time evaluation: how good the scores are, what a cutoff buys, and how the rules compare.

Everything here is computed on the test split only: rows whose as-of dates
come after the training and validation blocks (one horizon apart), labeled
with what really happened next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

CUTOFFS = tuple(range(50, 100, 5))


@dataclass(frozen=True)
class RuleSettings:
    """The two rule-based MQA definitions from the seeds, with their thresholds.

    (a) fit above a threshold AND engagement above a threshold AND at least
    ``min_contacts`` engaged contacts (90 days); (b) at least
    ``points_threshold`` engagement points in 90 days.
    """

    fit_threshold: float = 0.5
    engagement_threshold: float = 30.0
    min_contacts: int = 2
    points_threshold: float = 100.0


def headline(y: np.ndarray, probability: np.ndarray, uncalibrated: np.ndarray, raw: np.ndarray) -> dict:
    """ROC-AUC, PR-AUC, Brier (calibrated and not), base rate, row counts.

    The ranking metrics use the raw model output, which is what the score
    ranks by: an isotonic calibration's flat steps would add ties and change
    them without changing any account's score order.
    """
    return {
        "rows": int(len(y)),
        "positives": int(np.sum(y)),
        "base_rate": float(np.mean(y)),
        "roc_auc": float(roc_auc_score(y, raw)),
        "pr_auc": float(average_precision_score(y, raw)),
        "brier": float(brier_score_loss(y, probability)),
        "brier_uncalibrated": float(brier_score_loss(y, uncalibrated)),
    }


def calibration_table(y: np.ndarray, probability: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted against observed rate in quantile bins of the prediction."""
    observed, predicted = calibration_curve(y, probability, n_bins=bins, strategy="quantile")
    return pd.DataFrame({"predicted": predicted, "observed": observed})


def lift_by_decile(y: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Opportunity rate and lift over the base rate per score decile (10 = highest)."""
    order = np.argsort(-np.asarray(score), kind="stable")
    decile = np.empty(len(y), dtype=int)
    decile[order] = 10 - (np.arange(len(y)) * 10 // max(len(y), 1))
    frame = pd.DataFrame({"decile": decile, "y": y})
    out = frame.groupby("decile")["y"].agg(rows="size", rate="mean").sort_index(ascending=False)
    out["lift"] = out["rate"] / max(float(np.mean(y)), 1e-12)
    return out.reset_index()


def by_cutoff(rows: pd.DataFrame, cutoffs=CUTOFFS, band: float = 2.5) -> pd.DataFrame:
    """Precision, recall, lift and MQAs per as-of date at each cutoff, and where the cutoff sits in probability.

    ``rows`` has ``as_of``, ``label`` and ``score``. ``lift`` is the precision
    over the base rate; ``probability_at`` is the share of the rows scored
    within ``band`` of the cutoff (accounts *at* the cutoff) that opened an
    opportunity, as observed out of fold, and ``lift_at`` that over the base rate.
    """
    dates = rows["as_of"].nunique()
    total_pos = max(int(rows["label"].sum()), 1)
    rate = max(float(rows["label"].mean()), 1e-12) if len(rows) else np.nan
    out = []
    for c in cutoffs:
        flagged = rows["score"] >= c
        n = int(flagged.sum())
        hits = int(rows.loc[flagged, "label"].sum())
        near = (rows["score"] - c).abs() <= band
        at = float(rows.loc[near, "label"].mean()) if near.any() else np.nan
        out.append({"cutoff": c, "mqas": n, "mqas_per_date": n / max(dates, 1),
                    "precision": hits / n if n else np.nan, "recall": hits / total_pos,
                    "lift": (hits / n) / rate if n else np.nan, "probability_at": at, "lift_at": at / rate})
    return pd.DataFrame(out)


def cutoff_for(table: pd.DataFrame, step_days: int, weekly_capacity: float | None = None,
               precision_target: float | None = None, min_lift: float | None = None) -> dict:
    """The lowest cutoff that stays within a weekly MQA capacity, that meets a precision target, and at which
    an account is at least ``min_lift`` times as likely as the average to open an opportunity.

    A snapshot's MQAs are the hand-off for the ``step_days`` until the next
    snapshot, so the weekly volume is MQAs per date x 7 / ``step_days``.
    """
    t = table.assign(mqas_per_week=table["mqas_per_date"] * 7.0 / step_days)
    out: dict = {}
    if min_lift is not None and "lift_at" in t:
        ok = t[t["lift_at"] >= min_lift]
        out["lift"] = {"min_lift": min_lift, "cutoff": float(ok["cutoff"].min()) if len(ok) else None,
                       "mqas_per_week": float(ok.sort_values("cutoff")["mqas_per_week"].iloc[0]) if len(ok) else None}
    if weekly_capacity is not None:
        ok = t[t["mqas_per_week"] <= weekly_capacity]
        out["capacity"] = {"weekly_capacity": weekly_capacity,
                           "cutoff": float(ok["cutoff"].min()) if len(ok) else None,
                           "mqas_per_week": float(ok.sort_values("cutoff")["mqas_per_week"].iloc[0]) if len(ok) else None}
    if precision_target is not None:
        ok = t[t["precision"] >= precision_target]
        out["precision"] = {"precision_target": precision_target,
                            "cutoff": float(ok["cutoff"].min()) if len(ok) else None,
                            "mqas_per_week": float(ok.sort_values("cutoff")["mqas_per_week"].iloc[0]) if len(ok) else None}
    return out


def cutoff_advice(table: pd.DataFrame, choice: dict, cutoff: float, step_days: int, horizon_days: int) -> list[str]:
    """Where the cutoff sits in probability and lift, and which cutoff to use when it flags more than sales can work.

    Sentences for ``mqa train`` and the model report, from :func:`by_cutoff`'s
    table and :func:`cutoff_for`'s choice.
    """
    t = table.assign(mqas_per_week=table["mqas_per_date"] * 7.0 / step_days)
    row = t.iloc[(t["cutoff"] - cutoff).abs().argmin()]
    lines = []
    if row["probability_at"] == row["probability_at"]:
        lines.append(f"At the cutoff of {cutoff:g}, an account has a probability of about {row['probability_at']:.1%} to open "
                     f"an opportunity within {horizon_days} days ({row['lift_at']:.1f}x the average); the MQAs above it "
                     f"convert at {_share(row['precision'])} ({row['lift']:.1f}x), about {round(row['mqas_per_week']):,} "
                     "a week.")
    cap = choice.get("capacity")
    if cap and cap["cutoff"] is not None and row["mqas_per_week"] > cap["weekly_capacity"]:
        lines.append(f"That is more than sales can work ({cap['weekly_capacity']:g} a week): a cutoff of {cap['cutoff']:g} "
                     f"flags about {round(cap['mqas_per_week']):,} a week.")
    lift = choice.get("lift")
    if lift:
        if lift["cutoff"] is None:
            lines.append(f"No cutoff from {t['cutoff'].min():g} to {t['cutoff'].max():g} puts an account at "
                         f"{lift['min_lift']:g}x the average.")
        elif lift["cutoff"] > cutoff:
            lines.append(f"Recommended for a minimum lift of {lift['min_lift']:g}x ([evaluation] min_lift): a cutoff of "
                         f"{lift['cutoff']:g}, about {round(lift['mqas_per_week']):,} MQAs a week.")
    return lines


def _share(v: float) -> str:
    return "-" if v != v else f"{v:.1%}"


def rule_flags(rows: pd.DataFrame, rules: RuleSettings) -> dict[str, np.ndarray]:
    """Which rows each seed rule flags as MQA."""
    a = ((rows["fit__icp_score"] >= rules.fit_threshold)
         & (rows["engagement__points_90d"] >= rules.engagement_threshold)
         & (rows["engagement__contacts_engaged_90d"] >= rules.min_contacts))
    b = rows["engagement__points_90d"] >= rules.points_threshold
    return {"rule_a_fit_engagement_2_contacts": a.to_numpy(), "rule_b_100_points_90d": b.to_numpy()}


def compare_with_rules(rows: pd.DataFrame, rules: RuleSettings) -> pd.DataFrame:
    """Each rule's precision against the model's at the same number of flagged accounts per as-of date.

    At each date the model flags as many accounts as the rule did, its
    highest-scored ones, so volume is equal and only the choice differs.
    """
    out = []
    rank = rows.groupby("as_of")["score"].rank(method="first", ascending=False)
    for name, flags in rule_flags(rows, rules).items():
        per_date = pd.Series(flags, index=rows.index).groupby(rows["as_of"]).transform("sum")
        model = rank <= per_date
        n = int(flags.sum())
        rule_prec = float(rows.loc[flags, "label"].mean()) if n else np.nan
        model_prec = float(rows.loc[model, "label"].mean()) if n else np.nan
        out.append({"rule": name, "flagged": n, "rule_precision": rule_prec, "model_precision": model_prec,
                    "ratio": model_prec / rule_prec if n and rule_prec > 0 else np.nan})
    return pd.DataFrame(out)


def no_rules() -> pd.DataFrame:
    """The rules table where the rules cannot apply (their inputs are absent): no rows."""
    return pd.DataFrame(columns=["rule", "flagged", "rule_precision", "model_precision", "ratio"])


def retrospective(rows: pd.DataFrame, opportunities: pd.DataFrame, cutoff: float, horizon_days: int) -> pd.DataFrame:
    """MQA against non-MQA rows: opportunity rate, win rate, average amount, days to opportunity.

    For a row with an opportunity in its horizon, the first one created after
    as-of is the one that counts; win rate is over those that have closed.
    """
    r = rows[["account_id", "as_of", "label", "score"]].reset_index(drop=True).rename_axis("row").reset_index()
    o = opportunities[["account_id", "created_at", "closed_at", "is_won", "amount"]]
    m = r[r["label"] == 1].merge(o, on="account_id")
    m = m[(m["created_at"] > m["as_of"]) & (m["created_at"] <= m["as_of"] + pd.Timedelta(days=horizon_days))]
    first = m.sort_values("created_at").drop_duplicates("row").set_index("row")
    r = r.join(first[["created_at", "closed_at", "is_won", "amount"]], on="row")
    r["days_to_opportunity"] = (r["created_at"] - r["as_of"]).dt.total_seconds() / 86_400
    r["group"] = np.where(r["score"] >= cutoff, "MQA", "not MQA")
    closed = r["closed_at"].notna()
    out = r.groupby("group").agg(
        rows=("row", "size"),
        opportunity_rate=("label", "mean"),
        average_amount=("amount", "mean"),
        days_to_opportunity=("days_to_opportunity", "mean"),
    )
    out["win_rate"] = r[closed].groupby("group")["is_won"].mean().astype(float)
    return out.reindex(["MQA", "not MQA"]).reset_index()
