"""The readiness model: a LightGBM classifier over the feature matrix.

Categorical features (industry, country) are encoded with a vocabulary learned
at fit time and stored in the bundle as plain JSON, so that prediction never
depends on pandas' category order and nothing needs unpickling.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from mqa.features.build import feature_spec

# Small trees on purpose: exact TreeSHAP explanations cost trees x leaves x
# depth^2, and batch scoring explains every account (see docs/training.md).
DEFAULT_PARAMS = {
    "num_leaves": 15,
    "max_depth": 5,
    "learning_rate": 0.05,
    "min_child_samples": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 20.0,
}
# The seeded search: a handful of candidates, chosen on validation ROC-AUC.
# Positives are a few percent of rows: weighting them up is one candidate,
# not an article of faith; the winner is whichever ranks better.
SEARCH: tuple[dict, ...] = (
    {"balance": False, "num_leaves": 7, "max_depth": 3},
    {"balance": True, "num_leaves": 7, "max_depth": 3},
    {"balance": False, "num_leaves": 7, "max_depth": 5},
    {"balance": False, "num_leaves": 15, "max_depth": 5},
)
# Sizes chosen by benchmarks/predict_benchmark.py on a 20,000-account history:
# every early-stopped size from 7 leaves / depth 3 to 63 leaves / no depth
# limit landed within 0.005 out-of-time ROC-AUC of the best (0.8870 to 0.8894),
# while exact explanations ran from 7,888 down to 451 accounts/s. Bigger trees
# buy nothing here; the pipeline also picks the cheapest candidate to explain
# among those within 0.005 validation AUC of the best.
MAX_ROUNDS = 600
EARLY_STOPPING_ROUNDS = 50
FIXED_ROUNDS = 100  # when the stopping block has one class only, early stopping has nothing to watch


def min_child_samples(rows: int) -> int:
    """Rows a leaf needs: 100, or fewer on a small history (one per 200 rows, at least 10).

    A fixed 100 lets a history of a few thousand rows grow no tree at all.
    """
    return int(np.clip(rows // 200, 10, DEFAULT_PARAMS["min_child_samples"]))


@dataclass(frozen=True)
class Encoding:
    """Feature order and the vocabulary of each categorical feature."""

    features: tuple[str, ...]
    categories: dict[str, list[str]]

    @classmethod
    def fit(cls, rows: pd.DataFrame, features: list[str], settings=None) -> "Encoding":
        """The encoding of ``features`` learned from training ``rows``; ``settings`` declare attribute features."""
        cats = {}
        for name in features:
            if feature_spec(name, settings).categorical:
                values = rows[name].dropna().astype(str)
                # Rare values are folded into "missing": a category seen a
                # handful of times is noise, and it keeps the vocabulary small.
                counts = values.value_counts()
                cats[name] = sorted(counts[counts >= 20].index.tolist())
        return cls(tuple(features), cats)

    def matrix(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The model's input: features in order, categoricals as integer codes (NaN if unknown)."""
        missing = [f for f in self.features if f not in rows.columns]
        if missing:
            raise ValueError(f"the rows lack {len(missing)} feature(s) the model needs: {', '.join(missing[:8])}")
        out = {}
        for name in self.features:
            if name in self.categories:
                codes = pd.Index(self.categories[name]).get_indexer(rows[name].astype("str"))
                out[name] = np.where(codes >= 0, codes, np.nan).astype(float)
            else:
                out[name] = rows[name].to_numpy(dtype=float)
        return pd.DataFrame(out, index=rows.index)

    @property
    def categorical_features(self) -> list[str]:
        return [f for f in self.features if f in self.categories]

    def to_dict(self) -> dict:
        return asdict(self) | {"features": list(self.features)}

    @classmethod
    def from_dict(cls, d: dict) -> "Encoding":
        return cls(tuple(d["features"]), {k: list(v) for k, v in d["categories"].items()})


def _params(params: dict | None, y_train: np.ndarray, seed: int) -> dict:
    """LightGBM parameters: the defaults, ``params``, the seed; ``balance`` turned into ``scale_pos_weight``."""
    params = dict(params or {})
    balance = params.pop("balance", False)
    pos = float(np.sum(y_train))
    if pos == 0 or pos == len(y_train):
        raise ValueError("the training rows have only one class; the history needs accounts with and without opportunities")
    full = {
        "objective": "binary",
        # Stop on ranking quality alone: a weighted model's log loss rises
        # from the first round (its probabilities are biased on purpose, and
        # calibration restores them), so it must not drive early stopping.
        "metric": "auc",
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 2,
        "verbosity": -1,
        **DEFAULT_PARAMS,
        "min_child_samples": min_child_samples(len(y_train)),
        **params,
    }
    if balance:
        full["scale_pos_weight"] = (len(y_train) - pos) / pos
    return full


def fit_booster(X_train: pd.DataFrame, y_train: np.ndarray, X_val: pd.DataFrame, y_val: np.ndarray,
                categorical: list[str], params: dict | None = None, seed: int = 0) -> lgb.Booster:
    """Train with early stopping on the validation rows' ROC-AUC.

    ``params`` may set ``balance``: True weights positives up by
    negatives / positives (``scale_pos_weight``), one way of handling a
    positive class of a few percent; the calibration step then restores
    honest probabilities. :data:`SEARCH` tries it on and off. Validation rows
    of one class cannot stop anything: then :data:`FIXED_ROUNDS` are trained.
    """
    full = _params(params, y_train, seed)
    train = lgb.Dataset(X_train, y_train, categorical_feature=categorical, free_raw_data=False)
    if len(np.unique(y_val)) < 2:
        booster = lgb.train(full, train, num_boost_round=FIXED_ROUNDS)
        booster.best_iteration = booster.current_iteration()
        return booster
    val = lgb.Dataset(X_val, y_val, categorical_feature=categorical, reference=train, free_raw_data=False)
    return lgb.train(full, train, num_boost_round=MAX_ROUNDS, valid_sets=[val],
                     callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)])


def refit_booster(X: pd.DataFrame, y: np.ndarray, categorical: list[str], params: dict | None = None,
                  rounds: int = FIXED_ROUNDS, seed: int = 0) -> lgb.Booster:
    """Train for exactly ``rounds`` on every given row (no rows held out: the rounds come from a backtest)."""
    full = _params(params, y, seed)
    return lgb.train(full, lgb.Dataset(X, y, categorical_feature=categorical, free_raw_data=False),
                     num_boost_round=max(1, int(rounds)))


def raw_scores(booster: lgb.Booster, X: pd.DataFrame) -> np.ndarray:
    """The model's raw output (log-odds), at the best iteration."""
    # Threads set here: the search trains each candidate on one thread, and
    # LightGBM would otherwise keep that setting for prediction.
    return booster.predict(X, raw_score=True, num_iteration=booster.best_iteration or None,
                           num_threads=os.cpu_count() or 1)
