"""The feature matrix: one row per account and as-of date, every registered feature, and the label.

``REGISTRY`` is the feature set: a plain list of named features from the
family modules (fit, engagement depth and breadth, intent, timing, history).
Declared attributes (a CRM's own account fields, ``[attributes.accounts]``)
add one feature each: :func:`features_for` is the registry plus those of the
settings, and :func:`feature_spec` finds any of them by name.
:func:`build_features` computes all of them for all accounts and all as-of
dates at once, keeps the rows that exist and are not in pipeline (or every
row, with a ``status``, for prediction) and adds the label.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from . import breadth, dispositions, engagement, fit, groups, intent, past_opportunities, timing
from .attributes import PREFIX as ATTRIBUTE_PREFIX
from .attributes import attribute_features
from .config import FeatureSettings
from .context import Context, Feature
from .dates import utc_instants
from .families import FAMILIES  # noqa: F401 - the families' names, where callers have always found them
from .history import History
from .snapshots import SCORED, backtest_reserve_days, default_as_of, labels, make_grid, status

REGISTRY: list[Feature] = (
    fit.FEATURES + engagement.FEATURES + breadth.FEATURES + intent.FEATURES + timing.FEATURES + past_opportunities.FEATURES
    + dispositions.FEATURES + groups.FEATURES
)
FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in REGISTRY}
KEY_COLUMNS: tuple[str, ...] = ("account_id", "as_of")


def _utc_dates(as_of) -> pd.DatetimeIndex:
    """As-of instants as sorted unique UTC nanoseconds: strings, Timestamps, datetimes or dates; naive means UTC."""
    return utc_instants(as_of)


def features_for(settings: FeatureSettings | None = None) -> list[Feature]:
    """Every feature: the registry's, then those of the attributes ``settings`` declares."""
    return REGISTRY + attribute_features(settings)


def feature_names(settings: FeatureSettings | None = None) -> list[str]:
    """Every feature column, in registry order, then the declared attributes' (when ``settings`` is given)."""
    return [f.name for f in features_for(settings)]


def family_of(name: str) -> str:
    """The family of a feature, from its name (``family__measure``), as :class:`Feature` reads it."""
    return name.partition("__")[0]


class UnknownFeature(KeyError):
    """A feature name this version does not define (a ``KeyError`` whose message reads as a sentence)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def feature_spec(name: str, settings: FeatureSettings | None = None) -> Feature:
    """The feature called ``name``: a registered one, or an attribute that ``settings`` declare.

    Raises
    ------
    UnknownFeature
        No such feature (a ``KeyError``); the message says whether an
        attribute is undeclared, or which feature names come close.
    """
    if name in FEATURES_BY_NAME:
        return FEATURES_BY_NAME[name]
    declared = attribute_features(settings)
    for f in declared:
        if f.name == name:
            return f
    if name.startswith(ATTRIBUTE_PREFIX):
        raise UnknownFeature(f"feature {name!r} is an attribute the settings do not declare; "
                             f"add {name[len(ATTRIBUTE_PREFIX):]} to [attributes.accounts]")
    close = difflib.get_close_matches(name, list(FEATURES_BY_NAME) + [f.name for f in declared], n=3)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownFeature(f"no feature {name!r} in this version of mqa{hint} (the features are listed in docs/features.md)")


def default_grid(history: History, settings: FeatureSettings, folds: int = 3) -> pd.DatetimeIndex:
    """The as-of dates training uses by default: every ``step_days`` over the engagement data.

    The warm-up is ``settings.warmup_days``, or chosen from the data so that
    a ``folds``-fold backtest has the labeled days it needs
    (:func:`~mqa.features.snapshots.backtest_reserve_days`).
    """
    return default_as_of(history, step_days=settings.step_days, warmup_days=settings.warmup_days,
                         horizon_days=settings.horizon_days,
                         reserve_days=backtest_reserve_days(settings.horizon_days, settings.step_days, folds))


def build_features(
    history: History,
    as_of=None,
    settings: FeatureSettings | None = None,
    all_rows: bool = False,
    features: list[str] | None = None,
    accounts=None,
) -> pd.DataFrame:
    """Point-in-time feature rows with labels.

    Parameters
    ----------
    history : History
        A validated history from :func:`~mqa.features.history.read_history`.
    as_of : sequence of timestamps, optional
        As-of instants (date strings, Timestamps; naive means UTC). Default:
        every ``settings.step_days`` days over the engagement data
        (:func:`default_grid`).
    settings : FeatureSettings, optional
        ICP, weights, topics, committee, horizon and label types.
    all_rows : bool
        False (training): only accounts that exist and are not in pipeline.
        True (prediction): every account at every date, with a ``status``
        column (``scored``, ``in_pipeline``, ``not_created``); features are
        computed for all of them.
    features : list of str, optional
        A subset of feature names (default: all of :func:`features_for`
        ``(settings)``, the registry and the declared attributes).
    accounts : sequence of str, optional
        Only these accounts (default: all). Features of an account never
        depend on the others, so the values are the same either way.

    Returns
    -------
    DataFrame
        ``account_id``, ``as_of``, [``status``], the feature columns in
        registry order, ``label`` (1.0/0.0, NaN where the horizon runs past
        the end of the data). Sorted by ``as_of`` then the accounts table's
        order.
    """
    settings = settings or FeatureSettings()
    if as_of is None:
        as_of = default_grid(history, settings)
    as_of = _utc_dates(as_of)
    grid = make_grid(history, as_of, accounts)
    ctx = Context(history, grid, settings)
    state = status(history, grid)
    keep = np.ones(grid.shape, dtype=bool) if all_rows else state == SCORED
    # Column-major selection: rows come out grouped by as-of date.
    cells = np.flatnonzero(keep.T)
    date_idx, account_idx = np.divmod(cells, grid.shape[0])

    columns: dict[str, object] = {
        "account_id": pd.Series(grid.accounts.to_numpy()[account_idx], dtype="str"),
        "as_of": pd.Series(grid.as_of[date_idx]),
    }
    if all_rows:
        columns["status"] = pd.Series(state.T.ravel()[cells], dtype="str")
    chosen = features_for(settings) if features is None else [feature_spec(n, settings) for n in features]
    for feature in chosen:
        values = np.asarray(feature.compute(ctx)).T.ravel()[cells]
        columns[feature.name] = pd.Series(values, dtype="str") if feature.categorical else values.astype(float)
    y = labels(history, grid, settings.horizon_days, settings.label_types, excluded_types=settings.label_excluded_types)
    columns["label"] = y.T.ravel()[cells]
    return pd.DataFrame(columns)
