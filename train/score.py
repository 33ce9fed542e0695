"""The 0-100 score and the tiers.

Meaning, written down: **an account's score is the share of the training
population (every training row: an account at an as-of date) that the model
ranks below it, in percent.** A score of 85 means the model rates this
account's readiness above 85% of what it saw in training. It is computed from
the model's raw output against stored quantiles of the training population,
so it is monotone in the calibrated probability (calibration is monotone in
the raw output) and never depends on which other accounts are in a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# The defaults are the configuration schema's ([score]); re-exported here, where scores are made.
from mqa.features.config import DEFAULT_CUTOFF, DEFAULT_TIERS  # noqa: F401

N_QUANTILES = 1001


@dataclass(frozen=True)
class ScoreScale:
    """Quantiles of the training population's raw model output."""

    quantiles: tuple[float, ...]

    @classmethod
    def fit(cls, raw_train: np.ndarray) -> "ScoreScale":
        q = np.quantile(np.asarray(raw_train, dtype=float), np.linspace(0, 1, N_QUANTILES))
        return cls(tuple(map(float, q)))

    def score(self, raw: np.ndarray) -> np.ndarray:
        """Scores 0..100 (monotone in ``raw``), rounded to one decimal."""
        q = np.asarray(self.quantiles)
        # Ties in the quantiles (many identical raw outputs) get the middle
        # of their run, so equal raw outputs get equal scores.
        lo = np.searchsorted(q, raw, side="left")
        hi = np.searchsorted(q, raw, side="right")
        pct = (lo + hi) / 2.0 / (len(q) - 1) if len(q) > 1 else np.full(np.shape(raw), 0.5)
        return np.round(np.clip(pct, 0.0, 1.0) * 100.0, 1)

    def to_dict(self) -> dict:
        return {"meaning": "percent of the training population ranked below", "quantiles": list(self.quantiles)}

    @classmethod
    def from_dict(cls, d: dict) -> "ScoreScale":
        return cls(tuple(d["quantiles"]))


def tier(scores: np.ndarray, tiers: dict[str, float]) -> np.ndarray:
    """The highest tier whose threshold each score reaches."""
    names = sorted(tiers, key=tiers.get)
    bounds = np.array([tiers[n] for n in names])
    idx = np.searchsorted(bounds, np.asarray(scores, dtype=float), side="right") - 1
    return np.array(names, dtype=object)[np.clip(idx, 0, len(names) - 1)]
