"""Training end to end: rows, time split, seeded search, calibration, score scale, evaluation.

:func:`train_model` returns a :class:`TrainingRun`: the bundle to save and
the evaluation that the report, the MLflow run and the README quote.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import roc_auc_score

from mqa.features.build import build_features, feature_names
from mqa.features.config import FeatureSettings
from mqa.features.history import History

from . import evaluate as ev
from .bundle import ModelBundle
from .calibration import Calibration
from .model import SEARCH, Encoding, fit_booster, raw_scores
from .score import ScoreScale
from .settings import TrainSettings
from .split import TimeSplit, time_split

IMPORTANCE_SAMPLE = 20_000
AUC_TOLERANCE = 0.005  # validation ROC-AUC a candidate may give up for cheaper explanations


@dataclass
class TrainingRun:
    """A trained bundle and its out-of-time evaluation."""

    bundle: ModelBundle
    split: TimeSplit
    evaluation: dict
    test_rows: pd.DataFrame
    importance: pd.Series
    search: pd.DataFrame


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on."""
    out = {"python": platform.python_version()}
    for name in ("mqa", "lightgbm", "scikit-learn", "pandas", "numpy", "pyarrow", "shap", "mlflow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def fingerprint(history: History) -> dict:
    """What the model was trained on: per table, rows and date range; no row contents."""
    stamps = {"accounts": "created_at", "contacts": "created_at", "activities": "timestamp",
              "intent": "date", "signals": "date", "opportunities": "created_at"}
    out = {}
    for name in history.present:
        col = history[name][stamps[name]]
        out[name] = {"file": history.files[name], "rows": int(len(history[name])),
                     "from": str(col.min()) if col.notna().any() else None,
                     "to": str(col.max()) if col.notna().any() else None}
    out["activity_match_rate"] = round(history.matching.match_rate, 6)
    return out


def train_model(history: History, settings: FeatureSettings | None = None, train: TrainSettings | None = None,
                seed: int = 0, rows: pd.DataFrame | None = None, search: tuple[dict, ...] = SEARCH) -> TrainingRun:
    """Train, calibrate and evaluate a readiness model on a history.

    Parameters
    ----------
    history : History
        A validated history (with opportunities).
    settings : FeatureSettings
        Feature and label settings (horizon, ICP, ...).
    train : TrainSettings
        Cutoff, tiers, rule thresholds, evaluation targets.
    seed : int
        Seed of every random step (LightGBM's bagging and feature sampling).
    rows : DataFrame, optional
        Pre-built training rows (from :func:`build_features` with the same
        settings); built here when omitted.
    search : tuple of dict
        The candidates of the seeded search (default :data:`~mqa.train.model.SEARCH`).

    Raises
    ------
    ValueError
        Too little history for the split, or a split with one class only.
    """
    settings = settings or FeatureSettings()
    train = train or TrainSettings()
    if rows is None:
        rows = build_features(history, settings=settings)
    labeled = rows[rows["label"].notna()].reset_index(drop=True)
    split = time_split(labeled["as_of"].unique(), settings.horizon_days)
    part = split.assign(labeled["as_of"])
    chosen = [f for f in feature_names() if f.split("__")[0] in train.families]
    encoding = Encoding.fit(labeled[part == "train"], chosen)
    X = {k: encoding.matrix(labeled[part == k]) for k in ("train", "validation", "test")}
    y = {k: labeled.loc[part == k, "label"].to_numpy(dtype=float) for k in X}
    for k in ("validation", "test"):
        if len(np.unique(y[k])) < 2:
            raise ValueError(f"the {k} split has only one class ({int(y[k].sum())} positives in {len(y[k])} rows); "
                             f"the history needs more opportunities in that period")

    # The seeded search: each candidate trained with early stopping on the
    # validation split; the best validation ROC-AUC wins.
    # Candidates run side by side (joblib threads: LightGBM releases the GIL),
    # each on one thread; the models are identical to a sequential run.
    boosters = Parallel(n_jobs=min(len(search), os.cpu_count() or 1), prefer="threads")(
        delayed(fit_booster)(X["train"], y["train"], X["validation"], y["validation"], encoding.categorical_features,
                             params={**params, "num_threads": 1}, seed=seed)
        for params in search)
    trials = []
    for i, (params, booster) in enumerate(zip(search, boosters)):
        auc = roc_auc_score(y["validation"], raw_scores(booster, X["validation"]))
        trials.append({"candidate": i, **params, "rounds": booster.best_iteration, "validation_roc_auc": auc,
                       "explain_cost": explanation_cost(booster), "_b": booster})
    # Every account is explained at scoring time, and exact TreeSHAP costs
    # leaves x depth^2 per tree: among the candidates within AUC_TOLERANCE of
    # the best validation ROC-AUC, the cheapest to explain wins.
    top_auc = max(t["validation_roc_auc"] for t in trials)
    near = [t for t in trials if t["validation_roc_auc"] >= top_auc - AUC_TOLERANCE]
    best = min(near, key=lambda t: (t["explain_cost"], -t["validation_roc_auc"], t["candidate"]))
    booster = best["_b"]
    search = pd.DataFrame([{k: v for k, v in t.items() if k != "_b"} for t in trials])

    raw = {k: raw_scores(booster, X[k]) for k in X}
    calibration = Calibration.fit(raw["validation"], y["validation"],
                                  order=labeled.loc[part == "validation", "as_of"].to_numpy())
    scale = ScoreScale.fit(raw["train"])
    probability = calibration.probability(raw["test"])
    test_rows = labeled.loc[part == "test"].reset_index(drop=True).assign(
        raw=raw["test"], probability=probability, score=scale.score(raw["test"]))

    cutoffs = ev.by_cutoff(test_rows)
    evaluation = {
        "test": ev.headline(y["test"], probability, 1.0 / (1.0 + np.exp(-raw["test"])), raw["test"]),
        "validation_roc_auc": float(roc_auc_score(y["validation"], raw["validation"])),
        "calibration": ev.calibration_table(y["test"], probability),
        "lift": ev.lift_by_decile(y["test"], test_rows["score"].to_numpy()),
        "cutoffs": cutoffs,
        "cutoff_choice": ev.cutoff_for(cutoffs, settings.step_days, train.weekly_capacity, train.precision_target),
        "rules": ev.compare_with_rules(test_rows, train.rules),
        "retrospective": ev.retrospective(test_rows, history["opportunities"], train.cutoff, settings.horizon_days),
    }
    at_cutoff = cutoffs.set_index("cutoff")
    if train.cutoff in at_cutoff.index:
        evaluation["test"]["mqa_precision"] = float(at_cutoff.loc[train.cutoff, "precision"])
        evaluation["test"]["mqa_recall"] = float(at_cutoff.loc[train.cutoff, "recall"])

    importance = global_importance(booster, X["test"], seed)
    bundle = ModelBundle(
        booster=booster, encoding=encoding, calibration=calibration, scale=scale,
        tiers=dict(train.tiers), cutoff=train.cutoff, settings=settings,
        training={
            "seed": seed,
            "fingerprint": fingerprint(history),
            "split": split.describe(),
            "rows": {k: int(len(y[k])) for k in y},
            "positives": {k: int(y[k].sum()) for k in y},
            "search": search.to_dict(orient="records"),
            "chosen_candidate": int(best["candidate"]),
            "metrics": evaluation["test"],
            "versions": versions(),
            "feature_count": len(encoding.features),
        },
    )
    return TrainingRun(bundle, split, evaluation, test_rows, importance, search)


def explanation_cost(booster) -> float:
    """Exact TreeSHAP work per row, up to a constant: the sum over trees of leaves x depth squared."""
    trees = booster.trees_to_dataframe()
    if booster.best_iteration:
        trees = trees[trees["tree_index"] < booster.best_iteration]
    per_tree = trees.groupby("tree_index").agg(leaves=("left_child", lambda c: int(c.isna().sum())),
                                               depth=("node_depth", "max"))
    return float((per_tree["leaves"] * (per_tree["depth"] - 1).clip(lower=1) ** 2).sum())


def global_importance(booster, X: pd.DataFrame, seed: int) -> pd.Series:
    """Mean absolute SHAP contribution per feature (LightGBM's exact TreeSHAP) on a sample of rows."""
    if len(X) > IMPORTANCE_SAMPLE:
        X = X.sample(IMPORTANCE_SAMPLE, random_state=seed)
    contrib = booster.predict(X, pred_contrib=True, num_iteration=booster.best_iteration or None)
    return pd.Series(np.abs(contrib[:, :-1]).mean(axis=0), index=X.columns).sort_values(ascending=False)
