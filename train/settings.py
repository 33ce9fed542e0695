"""Training settings from the TOML configuration: score tiers and cutoff, rules, evaluation targets, MLflow.

::

    [score]
    cutoff = 85                                   # MQA at or above
    tiers = { nurture = 0, targeted = 60, mqa = 85 }

    [rules]          # the two rule-based MQA definitions compared in the report
    fit_threshold = 0.5
    engagement_threshold = 30
    min_contacts = 2
    points_threshold = 100

    [evaluation]
    weekly_capacity = 50          # MQAs sales can take per week
    precision_target = 0.2
    min_lift = 2.0                # recommend the lowest cutoff at which an account is this many times the average

    [backtest]
    folds = 3                     # rolling-origin folds at the end of the labeled history
    bootstrap = 200               # resamples (by account) for the confidence intervals

    [model]
    families = ["fit", "engagement", "intent", "timing", "history", "attribute"]   # feature families used (default: all)

    [mlflow]
    tracking_uri = "sqlite:///mlflow.db"          # default: this folder; MLFLOW_TRACKING_URI wins over the default
    experiment = "mqa"
    model_name = "mqa-readiness"
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mqa.features.build import FAMILIES
from mqa.features.config import Config, ConfigError

from .evaluate import RuleSettings
from .score import DEFAULT_CUTOFF, DEFAULT_TIERS


@dataclass(frozen=True)
class TrainSettings:
    cutoff: float = DEFAULT_CUTOFF
    tiers: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    rules: RuleSettings = field(default_factory=RuleSettings)
    weekly_capacity: float | None = None
    precision_target: float | None = None
    min_lift: float | None = 2.0
    tracking_uri: str | None = None
    experiment: str = "mqa"
    model_name: str = "mqa-readiness"
    families: tuple[str, ...] = FAMILIES
    folds: int = 3
    bootstrap: int = 200


def train_settings(config: Config) -> TrainSettings:
    """Read the training sections of a configuration; every problem is listed at once."""
    raw, errors, d = config.raw, [], TrainSettings()

    def num(section, key, default, low=None, high=None):
        v = raw.get(section, {}).get(key, None)
        if v is None:
            return default
        if not isinstance(v, (int, float)) or isinstance(v, bool) or (low is not None and v < low) or (high is not None and v > high):
            errors.append(f"[{section}] {key}: must be a number" + (f" from {low} to {high}" if high is not None else
                                                                      f" >= {low}" if low is not None else ""))
            return default
        return float(v)

    cutoff = num("score", "cutoff", d.cutoff, 0, 100)
    tiers = raw.get("score", {}).get("tiers", None)
    if tiers is None:
        tiers = dict(d.tiers)
        tiers["mqa"] = cutoff
    elif not isinstance(tiers, dict) or not tiers or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 100 for v in tiers.values()):
        errors.append("[score] tiers: must map tier names to lowest scores from 0 to 100")
        tiers = dict(d.tiers)
    else:
        tiers = {str(k): float(v) for k, v in tiers.items()}
        if min(tiers.values()) > 0:
            errors.append("[score] tiers: the lowest tier must start at 0 so every score has a tier")
    rules = RuleSettings(
        fit_threshold=num("rules", "fit_threshold", d.rules.fit_threshold, 0, 1),
        engagement_threshold=num("rules", "engagement_threshold", d.rules.engagement_threshold, 0),
        min_contacts=int(num("rules", "min_contacts", d.rules.min_contacts, 0)),
        points_threshold=num("rules", "points_threshold", d.rules.points_threshold, 0),
    )
    families = raw.get("model", {}).get("families", list(d.families))
    if not isinstance(families, list) or not families or not set(families) <= set(d.families):
        errors.append(f"[model] families: must be a non-empty list drawn from {', '.join(d.families)}")
        families = list(d.families)
    folds = raw.get("backtest", {}).get("folds", d.folds)
    if not isinstance(folds, int) or isinstance(folds, bool) or not 1 <= folds <= 12:
        errors.append("[backtest] folds: must be a whole number from 1 to 12")
        folds = d.folds
    draws = raw.get("backtest", {}).get("bootstrap", d.bootstrap)
    if not isinstance(draws, int) or isinstance(draws, bool) or not 20 <= draws <= 5000:
        errors.append("[backtest] bootstrap: must be a whole number from 20 to 5000")
        draws = d.bootstrap
    m = raw.get("mlflow", {})
    for key in ("tracking_uri", "experiment", "model_name"):
        if key in m and (not isinstance(m[key], str) or not m[key].strip()):
            errors.append(f"[mlflow] {key}: must be a non-empty string")
    if errors:
        raise ConfigError(f"config {config.source}:\n" + "\n".join(f"  - {e}" for e in errors))
    return TrainSettings(
        cutoff=cutoff, tiers=tiers, rules=rules,
        weekly_capacity=num("evaluation", "weekly_capacity", None, 0),
        precision_target=num("evaluation", "precision_target", None, 0, 1),
        min_lift=num("evaluation", "min_lift", d.min_lift, 0),
        tracking_uri=m.get("tracking_uri"), experiment=m.get("experiment", d.experiment),
        model_name=m.get("model_name", d.model_name), families=tuple(families), folds=folds, bootstrap=draws,
    )
