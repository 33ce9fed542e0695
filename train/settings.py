"""Training settings: the ``[score]``, ``[rules]``, ``[evaluation]``, ``[backtest]``, ``[model]`` and ``[mlflow]`` sections.

The configuration schema (:mod:`mqa.features.config`) validates these
sections with the rest of the file, when it is loaded; this module turns the
validated sections into what training reads. ``docs/configuration.md`` lists
every key with its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mqa.features.config import Backtest, Config, Evaluation, Mlflow, Model, Score

from .evaluate import RuleSettings

_SCORE, _EVALUATION, _BACKTEST, _MLFLOW = Score(), Evaluation(), Backtest(), Mlflow()


@dataclass(frozen=True)
class TrainSettings:
    """What training reads; the defaults are the schema's."""

    cutoff: float = _SCORE.cutoff
    tiers: dict[str, float] = field(default_factory=_SCORE.tier_bounds)
    rules: RuleSettings = field(default_factory=RuleSettings)
    weekly_capacity: float | None = _EVALUATION.weekly_capacity
    precision_target: float | None = _EVALUATION.precision_target
    min_lift: float | None = _EVALUATION.min_lift
    tracking_uri: str | None = _MLFLOW.tracking_uri
    experiment: str = _MLFLOW.experiment
    model_name: str = _MLFLOW.model_name
    families: tuple[str, ...] = field(default_factory=lambda: Model().families)
    trial_families: tuple[str, ...] = field(default_factory=lambda: Model().trial_families)
    family_min_gain: float = Model().family_min_gain
    folds: int = _BACKTEST.folds
    bootstrap: int = _BACKTEST.bootstrap


def train_settings(config: Config) -> TrainSettings:
    """The training sections of a validated configuration.

    Parameters
    ----------
    config : Config
        From :func:`~mqa.features.config.load_config`, which has already
        refused every invalid value.

    Returns
    -------
    TrainSettings
    """
    f = config.file
    return TrainSettings(
        cutoff=f.score.cutoff, tiers=f.score.tier_bounds(),
        rules=RuleSettings(fit_threshold=f.rules.fit_threshold, engagement_threshold=f.rules.engagement_threshold,
                           min_contacts=f.rules.min_contacts, points_threshold=f.rules.points_threshold),
        weekly_capacity=f.evaluation.weekly_capacity, precision_target=f.evaluation.precision_target,
        min_lift=f.evaluation.min_lift, tracking_uri=f.mlflow.tracking_uri, experiment=f.mlflow.experiment,
        model_name=f.mlflow.model_name, families=f.model.families, trial_families=f.model.trial_families,
        family_min_gain=f.model.family_min_gain, folds=f.backtest.folds, bootstrap=f.backtest.bootstrap,
    )
