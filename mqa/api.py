"""The public API: every command's work as a function a notebook can call.

``import mqa`` exposes these names (loaded on first use, so the command line
starts fast). Each takes what a notebook has at hand: a history as a folder or
as a dict of DataFrames, a configuration as a path, a dict or a
:class:`~mqa.features.config.Config`, dates as strings, ``Timestamp``\\ s,
``datetime``\\ s or ``date``\\ s (naive meaning UTC), a model as a bundle folder,
an MLflow URI or a :class:`~mqa.train.bundle.ModelBundle`. The command line is
a thin layer over the same functions. See ``docs/api.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    import datetime

    import numpy as np
    import pandas as pd

    from mqa.features.config import Config
    from mqa.features.history import History
    from mqa.predict.account import AccountExplanation
    from mqa.predict.report import Report
    from mqa.train.bundle import ModelBundle
    from mqa.train.pipeline import TrainingRun

DateLike: TypeAlias = "str | datetime.date | datetime.datetime | pd.Timestamp | np.datetime64"
"""A date or instant: ``"2025-06-30"``, ``"2025-06-30T12:00:00Z"``, a ``Timestamp``, ``datetime`` or ``date``; naive is UTC."""
ConfigLike: TypeAlias = "Config | str | Path | Mapping | None"
"""A configuration: a :class:`Config`, the path of a TOML file, a parsed TOML document (a dict), or None for the defaults."""
HistoryLike: TypeAlias = "History | str | Path | Mapping[str, pd.DataFrame]"
"""A history: a :class:`History`, a folder of table files, a database URL (``sqlite:///crm.db``), or a dict of DataFrames keyed by table name."""
ModelLike: TypeAlias = "ModelBundle | str | Path"
"""A model: a :class:`ModelBundle`, a bundle folder, or an MLflow model URI such as ``models:/mqa-readiness@champion``."""


def load_config(source: ConfigLike = None) -> Config:
    """Read and check a configuration.

    Parameters
    ----------
    source : Config, str, Path, dict or None
        A TOML file's path, a parsed TOML document (``{"labels": {"horizon_days": 60}}``), an already
        loaded :class:`Config` (returned as it is), or None for the defaults.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        Every problem of the file at once (unknown sections and keys with the likely intended name,
        wrong types, values out of range).
    """
    from mqa.features.config import Config
    from mqa.features.config import load_config as _load

    if isinstance(source, Config):
        return source
    return _load(dict(source) if isinstance(source, Mapping) else source)


def read_history(source: HistoryLike, config: ConfigLike = None,
                 purpose: Literal["train", "predict"] = "train") -> History:
    """Read, validate and match a CRM history (the shape of ``DATA_CONTRACT.md``).

    Parameters
    ----------
    source : str, Path or dict of DataFrame
        A folder with one file per table (Parquet or CSV), a SQLAlchemy URL of a database
        with one table or view per table (``sqlite:///crm.db``, ``postgresql://user@host/db``;
        ``[database]`` in the configuration), or ``{table: DataFrame}``; a :class:`History`
        is returned as it is.
    config : Config, path, dict or None
        Column and file-name mappings, declared attributes (see :func:`load_config`).
    purpose : {'train', 'predict'}
        Which tables are required: training needs ``accounts`` and ``opportunities``, prediction
        only ``accounts``.

    Returns
    -------
    History
        Every contract table typed (UTC timestamps), activities matched to accounts;
        ``history.summary()`` says what was read.

    Raises
    ------
    DataError
        One error listing every contract breach (table, column, how many rows, examples, the fix).
    DatabaseError
        A database URL that cannot be used (bad URL, driver not installed, server unreachable).
    """
    from mqa.features.history import History
    from mqa.features.history import read_history as _read

    if isinstance(source, History):
        return source
    return _read(source, config=load_config(config), purpose=purpose)


def generate_history(n_accounts: int = 2000, seed: int = 0, start: DateLike | None = None,
                     end: DateLike | None = None, buying_groups: bool = False) -> dict[str, pd.DataFrame]:
    """A synthetic CRM history in the contract's shape, from a latent buying-cycle process.

    Parameters
    ----------
    n_accounts : int
        Number of accounts; the other tables scale with it.
    seed : int
        The same seed gives the same tables.
    start, end : date-like, optional
        First and last day (default 2024-07-01 to 2026-06-30).
    buying_groups : bool
        Large accounts run several buying groups at once, one per product
        line, with activity topics and ``opportunity_contacts`` (``mqa synth
        --buying-groups``); its ``[topics] url_prefixes`` are
        ``mqa.features.synth.PRODUCT_LINE_PREFIXES``. Off: the default
        history, byte for byte.

    Returns
    -------
    dict of DataFrame
        ``{table: frame}``; pass it to :func:`read_history`, or write it with
        :func:`~mqa.features.files.write_history`.
    """
    from mqa.features.dates import utc_instant
    from mqa.features.synth import DEFAULT_END, DEFAULT_START, BuyingGroupParams, SynthParams
    from mqa.features.synth import generate_history as _generate

    first = DEFAULT_START if start is None else f"{utc_instant(start, 'start'):%Y-%m-%d}"
    last = DEFAULT_END if end is None else f"{utc_instant(end, 'end'):%Y-%m-%d}"
    params = SynthParams(buying_groups=BuyingGroupParams(enabled=True)) if buying_groups else None
    return _generate(n_accounts=n_accounts, seed=seed, start=first, end=last, params=params)


def build_features(history: HistoryLike, as_of: DateLike | Sequence[DateLike] | None = None,
                   config: ConfigLike = None, horizon_days: int | None = None, all_rows: bool = False,
                   accounts: Sequence[str] | None = None) -> pd.DataFrame:
    """Point-in-time rows: one per account and as-of date, features from what was known then, and the label.

    Parameters
    ----------
    history : History, folder or dict of DataFrame
    as_of : date-like or sequence of date-like, optional
        The as-of instants (``"2025-06-30"`` is midnight UTC: rows stamped later that day are not seen).
        Default: every ``[grid] step_days`` days over the engagement data, after a warm-up.
    config : Config, path, dict or None
        Feature and label settings (ICP, weights, committee, horizon, ...).
    horizon_days : int, optional
        Overrides ``[labels] horizon_days``.
    all_rows : bool
        Keep every account at every date with a ``status`` column (``scored``, ``in_pipeline``,
        ``not_created``); by default only the scored ones.
    accounts : sequence of str, optional
        Only these accounts.

    Returns
    -------
    DataFrame
        ``account_id``, ``as_of``, the features (``family__measure_window``) and ``label`` (1.0, 0.0,
        or NaN where the horizon runs past the end of the data).
    """
    from mqa.features.build import build_features as _build
    from mqa.features.dates import utc_instants

    history = read_history(history, config)
    settings = _feature_settings(config, horizon_days)
    dates = None if as_of is None else utc_instants(as_of)
    return _build(history, as_of=dates, settings=settings, all_rows=all_rows, accounts=accounts)


def train_model(history: HistoryLike, config: ConfigLike = None, seed: int = 0, horizon_days: int | None = None,
                rows: pd.DataFrame | None = None) -> TrainingRun:
    """Backtest, refit, calibrate and evaluate a readiness model, as ``mqa train`` does (without MLflow).

    Parameters
    ----------
    history : History, folder or dict of DataFrame
        With opportunities.
    config : Config, path, dict or None
        Feature, label, score, evaluation and backtest settings.
    seed : int
        Seed of every random step.
    horizon_days : int, optional
        Overrides ``[labels] horizon_days``.
    rows : DataFrame, optional
        Rows from :func:`build_features` with the same settings (built when omitted).

    Returns
    -------
    TrainingRun
        ``run.bundle`` (the model), ``run.evaluation`` (backtest figures, baselines, verdict),
        ``run.test_rows`` (out-of-fold rows), ``run.importance``; :func:`save_model` writes it and
        :func:`train_summary` words it.

    Raises
    ------
    ValueError
        Too little history for the backtest (the message says what is needed), or nothing to learn from.
    """
    from mqa.train.pipeline import train_model as _train
    from mqa.train.settings import train_settings

    history = read_history(history, config)
    return _train(history, settings=_feature_settings(config, horizon_days), train=train_settings(load_config(config)),
                  seed=seed, rows=rows)


def train_summary(run: TrainingRun, history: History, data: str | Path = "the history") -> list[str]:
    """What ``mqa train`` prints about a run (thin evidence first, backtest, baselines, verdict, notes), as lines."""
    from mqa.train.summary import train_summary as _summary

    return _summary(run, data, history)


def save_model(run: TrainingRun, folder: str | Path, config: ConfigLike = None) -> Path:
    """Write a run's model bundle with its HTML report (``report.html``) into a new folder.

    Raises
    ------
    BundleError
        ``folder`` exists and is not an earlier bundle of this model.
    """
    from mqa.train.report import render
    from mqa.train.settings import train_settings

    return run.bundle.save(folder, report_html=render(run, train_settings(load_config(config))))


def load_model(source: ModelLike, config: ConfigLike = None) -> ModelBundle:
    """A trained model: from a bundle folder written by ``mqa train``, or an MLflow model URI.

    Parameters
    ----------
    source : ModelBundle, str or Path
        A bundle folder, ``models:/NAME@champion``, ``models:/NAME/3`` or ``runs:/RUN_ID/model``; a
        :class:`ModelBundle` is returned as it is.
    config : Config, path, dict or None
        Its ``[mlflow]`` section says where the registry is.

    Raises
    ------
    BundleError
        The folder is not a bundle, or was altered since it was written.
    """
    from mqa.predict import load_model as _load
    from mqa.train.bundle import ModelBundle
    from mqa.train.settings import train_settings

    if isinstance(source, ModelBundle):
        return source
    return _load(str(source), train_settings(load_config(config)))


def predict_history(history: HistoryLike, model: ModelLike, as_of: DateLike,
                    previous: pd.DataFrame | str | Path | None = None, accounts: Sequence[str] | None = None,
                    config: ConfigLike = None, progress: bool | None = False) -> pd.DataFrame:
    """Score and explain every account (or ``accounts``) at ``as_of``, as ``mqa predict`` does.

    Parameters
    ----------
    history : History, folder or dict of DataFrame
    model : ModelBundle, bundle folder or MLflow URI
    as_of : date-like
        The as-of instant; naive and date strings mean UTC.
    previous : DataFrame or path, optional
        An earlier output, to flag the accounts that newly became MQAs (``became_mqa``).
    accounts : sequence of str, optional
        Only these accounts.
    config : Config, path, dict or None
        Column mappings for reading ``history`` when it is a folder or dict.
    progress : bool or None
        Show a progress bar (None: when the output is a terminal).

    Returns
    -------
    DataFrame
        One row per account: ``status``, ``probability``, ``score`` (0-100), ``tier``, ``is_mqa``,
        ``became_mqa``, ``lift``, ``reasons`` (JSON list of sentences with exact SHAP contributions),
        ``family_contributions``, ``data_through``, ...
    """
    import pandas as pd

    from mqa.features.dates import utc_instant
    from mqa.predict.batch import predict_history as _predict
    from mqa.predict.batch import read_previous

    history = read_history(history, config, purpose="predict")
    bundle = load_model(model, config)
    if previous is not None and not isinstance(previous, pd.DataFrame):
        previous = read_previous(previous)
    return _predict(history, bundle, utc_instant(as_of), previous=previous, accounts=accounts, progress=progress)


def explain_account(history: HistoryLike, model: ModelLike, account: str, as_of: DateLike,
                    earlier: DateLike | None = None, config: ConfigLike = None) -> AccountExplanation:
    """One account's score and drivers at ``as_of``; below the cutoff, what moved it since ``earlier``.

    Parameters
    ----------
    history : History, folder or dict of DataFrame
    model : ModelBundle, bundle folder or MLflow URI
    account : str
        The account's id.
    as_of : date-like
    earlier : date-like, optional
        Default: one grid step (the model's ``step_days``) before ``as_of``.
    config : Config, path, dict or None

    Returns
    -------
    AccountExplanation
        ``.now`` and ``.then`` (the account's scored rows), ``.reasons``, ``.changes`` (features that moved
        the score most), ``print(explanation)`` words it as ``mqa explain`` does.
    """
    from mqa.features.dates import utc_instant
    from mqa.predict.account import explain_account as _explain

    history = read_history(history, config, purpose="predict")
    return _explain(history, load_model(model, config), str(account), utc_instant(as_of),
                    None if earlier is None else utc_instant(earlier, "earlier"))


def explain_rows(model: ModelLike, rows: pd.DataFrame) -> pd.DataFrame:
    """Exact TreeSHAP contributions (log-odds) of every feature for each row, and the base value.

    Parameters
    ----------
    model : ModelBundle, bundle folder or MLflow URI
    rows : DataFrame
        Rows with the model's feature columns (from :func:`build_features`).

    Returns
    -------
    DataFrame
        One column per model feature plus ``base``; each row adds up to the model's raw output
        (log-odds before calibration) for that row. Same index as ``rows``.
    """
    import pandas as pd

    from mqa.predict.explain import contributions

    bundle = load_model(model)
    values = contributions(bundle, bundle.encoding.matrix(rows))
    return pd.DataFrame(values, index=rows.index, columns=[*bundle.features, "base"])


def render_report(scores: pd.DataFrame | str | Path | Sequence[str | Path], history: HistoryLike,
                  model: ModelLike | None = None, config: ConfigLike = None, accounts: Sequence[str] | None = None,
                  only_mqa: bool = False, owner: str | None = None, near: int = 20,
                  scores_name: str | None = None) -> Report:
    """The reps' HTML report of scored accounts: a digest, one page per account, ``summary.csv`` and ``summary.md``.

    Parameters
    ----------
    scores : DataFrame, path or sequence of paths
        Outputs of :func:`predict_history` (or ``mqa predict`` files). The report is about the latest
        as-of date of the first; earlier dates, there or in the others, give each account's trend.
    history : History, folder or dict of DataFrame
        The history the scores were made from (names, people, content, intent).
    model : ModelBundle, bundle folder or MLflow URI, optional
        Gives the cutoff and horizon; default the configuration's ``[score]`` and ``[labels]``.
    config : Config, path, dict or None
    accounts : sequence of str, optional
        Pages for these accounts only (default: every MQA and the ``near`` accounts closest below the cutoff).
    only_mqa : bool
    owner : str, optional
        Only the accounts this owner holds.
    near : int
        How many accounts below the cutoff the digest lists.
    scores_name : str, optional
        The scores' name shown in the digest's footer (default: the first file's name).

    Returns
    -------
    Report
        ``report.files`` maps each relative path to its text; :func:`write_report` writes them.
    """
    import pandas as pd

    from mqa.predict.report import ReportSettings, read_scores
    from mqa.predict.report import render_report as _render
    from mqa.train.settings import train_settings

    name = ""
    if not isinstance(scores, pd.DataFrame):
        paths = [scores] if isinstance(scores, str | Path) else list(scores)
        name = Path(paths[0]).name
        scores = read_scores(paths)
    elif "source" not in scores:
        scores = scores.assign(source=0)
    if near < 0:
        raise ValueError(f"near must be 0 or more, got {near}")
    conf = load_config(config)
    if model is not None:
        bundle = load_model(model, conf)
        cutoff, fsettings = bundle.cutoff, bundle.settings
    else:
        cutoff, fsettings = train_settings(conf).cutoff, conf.features
    settings = ReportSettings(cutoff=cutoff, horizon_days=fsettings.horizon_days, committee=dict(fsettings.committee),
                              relevant_topics=fsettings.relevant_topics, near=near)
    return _render(scores, read_history(history, conf, purpose="predict"), settings, accounts=accounts,
                   only_mqa=only_mqa, owner=owner, scores_name=name if scores_name is None else scores_name)


def write_report(report: Report, folder: str | Path) -> Path:
    """Write a rendered report into ``folder``, replacing only files an earlier report wrote there."""
    from mqa.predict.report import write_report as _write

    return _write(report, folder)


def _feature_settings(config: ConfigLike, horizon_days: int | None):
    settings = load_config(config).features
    return settings if horizon_days is None else replace(settings, horizon_days=int(horizon_days))
