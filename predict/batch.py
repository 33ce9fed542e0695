"""Batch scoring: every account at one as-of date, with status, score, tier, MQA flag and reasons.

One row per account:

- ``account_id``, ``as_of``, ``model_version``;
- ``status``: ``scored``, ``in_pipeline`` (an opportunity is open at as-of) or
  ``not_created`` (the account did not exist yet); only scored rows carry a score;
- ``is_customer``: an opportunity of the account closed won at or before
  as-of, so a team can route expansion MQAs apart from new logos;
- ``probability`` (calibrated), ``lift`` (the probability over the training
  rows' base rate: 2.0 is twice as likely as the average account), ``score``
  (0-100, a rank: the share of training rows scored lower), ``tier``, ``is_mqa``;
- ``became_mqa``: MQA now and not in the ``previous`` output (missing when no
  previous output is given);
- ``reasons``: JSON list of the strongest drivers (see :mod:`mqa.predict.explain`);
- ``family_contributions``: JSON of each family's log-odds, share, and
  score points (from a typical account's score to this one's);
- ``buying_groups``: JSON list of the account's buying groups at as-of,
  strongest first (who researches what, how far they got, which personas of
  won deals they lack; see :func:`mqa.features.groups.describe`); missing
  where no one is engaged;
- ``data_through``: the last engagement event (activity, intent, signal) at
  or before as-of; an as-of far past it scores accounts that only went
  unrecorded (see :func:`freshness`).

Scored rows are explained in chunks, so memory stays bounded by the chunk
size, and the result does not depend on the chunk size.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from tqdm import tqdm

from mqa.features.build import build_features, feature_spec
from mqa.features.contract import SURGE_THRESHOLD
from mqa.features.families import engagement_streams
from mqa.features.history import History
from mqa.features.inputs import describe_input, lacking_inputs, provided_inputs
from mqa.features.snapshots import SCORED
from mqa.train.bundle import ModelBundle

from .explain import contributions, family_contributions, reasons, richer_sentences

CHUNK_SIZE = 20_000
OUTPUT_COLUMNS = ("account_id", "as_of", "model_version", "status", "is_customer", "probability", "lift", "score", "tier",
                  "is_mqa", "became_mqa", "reasons", "family_contributions", "buying_groups", "data_through")
# How the output's columns read back from CSV (every other column is text).
NUMBER_COLUMNS = ("probability", "lift", "score")
FLAG_COLUMNS = ("is_customer", "is_mqa", "became_mqa")


def base_rate(bundle: ModelBundle) -> float:
    """The share of training rows (out of fold) that opened an opportunity: the "average account" of ``lift``."""
    metrics = (bundle.training or {}).get("metrics", {}) if isinstance(bundle.training, dict) else {}
    rate = metrics.get("base_rate")
    return float(rate) if rate else float("nan")


def freshness(history: History, as_of: pd.Timestamp, step_days: int) -> tuple[pd.Timestamp | None, str | None]:
    """The last engagement event, and a warning when ``as_of`` lies more than a step past it (else None).

    Past the end of the engagement data every account looks quiet and every
    "days since" grows: the scores describe the export, not the accounts.
    """
    through = last_event_at(history, as_of)
    return through, stale_message(through, as_of, step_days)


def last_event_at(history: History, as_of: pd.Timestamp) -> pd.Timestamp | None:
    """The last engagement event at or before ``as_of``: what the scores could see.

    The engagement streams (activities, intent, signals) are the families'
    (:func:`~mqa.features.families.engagement_streams`).
    """
    lasts = [history[t][col] for t, col in engagement_streams()]
    lasts = [s[(s <= as_of).fillna(False).to_numpy(dtype=bool)].max() for s in lasts if len(s)]
    lasts = [t for t in lasts if t is not None and not pd.isna(t)]
    return max(lasts) if lasts else None


def stale_message(through: pd.Timestamp | None, as_of: pd.Timestamp, step_days: int) -> str | None:
    """The warning of :func:`freshness` for a known last engagement event (None when fresh enough)."""
    if through is None or pd.isna(through) or as_of - through <= pd.Timedelta(days=step_days):
        return None
    days = (as_of - through).days
    return (f"--as-of {as_of:%Y-%m-%d} is {days:,} days past the last engagement event in the data "
                     f"({through:%Y-%m-%d}), more than one step ({step_days} days): accounts look quiet only because "
                     "nothing after it was recorded. Export fresh data, or score at an as-of on or before "
                     f"{through + pd.Timedelta(days=step_days):%Y-%m-%d}")

def check_features(bundle: ModelBundle, history: History) -> None:
    """Refuse a model whose features this version cannot compute or this history cannot feed.

    A feature needs the inputs it names (:attr:`~mqa.features.context.Feature.sources`);
    a history with the tables and columns the model was trained on always passes.

    Raises
    ------
    ValueError
        Naming the features, the table or column each lacks, and the fix.
    """
    unknown = []
    for f in bundle.features:
        try:
            feature_spec(f, bundle.settings)
        except KeyError:
            unknown.append(f)
    if unknown:
        raise ValueError(f"the model uses {len(unknown)} feature(s) this version of mqa does not compute: "
                         f"{', '.join(unknown[:8])}; retrain the model with this version")
    provided = provided_inputs(history)
    # Grouped by what is missing: the three intent inputs of a history without intent are one problem.
    missing: dict[tuple[str, str], list[str]] = {}
    for f in bundle.features:
        for source in lacking_inputs(feature_spec(f, bundle.settings).sources, provided):
            why = describe_input(history, source)
            table = source.split(".")[0]
            need = f"the {table} table" if why.endswith((" table", " no rows")) else source.replace("|", " or ")
            names = missing.setdefault((need, why), [])
            if f not in names:
                names.append(f)
    if missing:
        parts = [f"{len(fs)} need {need}, and {why} ({', '.join(fs[:3])}{', ...' if len(fs) > 3 else ''})"
                 for (need, why), fs in missing.items()]
        declared = dict(bundle.settings.attributes)
        attributes = any(need.startswith("accounts.") and need[len("accounts."):] in declared for need, _ in missing)
        raise ValueError("the model uses features the history cannot provide: " + "; ".join(parts)
                         + ". Add the missing table(s) or column(s) to the history"
                         + (" (and read it with the configuration that declares the model's [attributes.accounts])"
                            if attributes else "")
                         + ", or retrain on this history (training uses only the features a history can feed).")


def predict_history(history: History, bundle: ModelBundle, as_of: pd.Timestamp, previous: pd.DataFrame | None = None,
                    chunk_size: int = CHUNK_SIZE, progress: bool | None = None, accounts=None,
                    data_through: pd.Timestamp | None = None) -> pd.DataFrame:
    """Score and explain every account (or ``accounts``) at ``as_of``.

    Parameters
    ----------
    history : History
        A validated history.
    bundle : ModelBundle
        The model; its feature settings are used to build the features.
    as_of : Timestamp
        UTC as-of instant.
    previous : DataFrame, optional
        An earlier output (``account_id``, ``is_mqa``), for ``became_mqa``.
    chunk_size : int
        Scored rows explained per chunk.
    progress : bool, optional
        Show a progress bar; default: only when stderr is a terminal.
    accounts : sequence of str, optional
        Only these accounts (default: all).
    data_through : Timestamp, optional
        The whole history's last engagement event (default: this history's;
        a bucket of a partitioned run passes the whole history's).

    Returns
    -------
    DataFrame with :data:`OUTPUT_COLUMNS`, in account_id order (the accounts table is ordered by id when read).
    """
    check_features(bundle, history)
    through = data_through
    rows = build_features(history, as_of=[as_of], settings=bundle.settings, all_rows=True,
                          features=bundle.features, accounts=accounts)
    n = len(rows)
    out = pd.DataFrame({
        "account_id": rows["account_id"],
        "as_of": rows["as_of"],
        "model_version": pd.Series([bundle.version] * n, dtype="str"),
        "status": rows["status"],
        "is_customer": customers_at(history, as_of, rows["account_id"]),
        "probability": np.full(n, np.nan),
        "lift": np.full(n, np.nan),
        "score": np.full(n, np.nan),
        "tier": pd.Series(pd.NA, index=rows.index, dtype="str"),
        "is_mqa": pd.Series(pd.NA, index=rows.index, dtype="boolean"),
        "reasons": pd.Series(pd.NA, index=rows.index, dtype="str"),
        "family_contributions": pd.Series(pd.NA, index=rows.index, dtype="str"),
        "data_through": pd.Series(through if through is not None else last_event_at(history, as_of),
                                  index=rows.index, dtype="datetime64[ns, UTC]"),
    })
    rate = base_rate(bundle)
    scored = np.flatnonzero((rows["status"] == SCORED).to_numpy())
    topics = surging_topics(history, as_of, bundle.settings.relevant_topics)
    if progress is None:
        progress = sys.stderr.isatty()
    with tqdm(total=len(scored), unit="accounts", disable=not progress, desc="scoring") as bar:
        for start in range(0, len(scored), chunk_size):
            at = scored[start:start + chunk_size]
            chunk = rows.iloc[at].reset_index(drop=True)
            X = bundle.encoding.matrix(chunk)
            contrib = contributions(bundle, X)
            raw = contrib.sum(axis=1)
            pred = bundle.predict_raw(raw)
            out.iloc[at, out.columns.get_loc("probability")] = pred["probability"].to_numpy()
            out.iloc[at, out.columns.get_loc("lift")] = pred["probability"].to_numpy() / rate
            out.iloc[at, out.columns.get_loc("score")] = pred["score"].to_numpy()
            out.iloc[at, out.columns.get_loc("tier")] = pred["tier"].to_numpy()
            out.iloc[at, out.columns.get_loc("is_mqa")] = pred["is_mqa"].to_numpy()
            named = topics.reindex(chunk["account_id"]) if topics is not None else None
            details = richer_sentences(chunk[bundle.features], named)
            out.iloc[at, out.columns.get_loc("reasons")] = reasons(chunk[bundle.features], contrib, bundle.features,
                                                                   details, bundle.settings,
                                                                   bundle.settings.horizon_days).to_numpy()
            base = bundle.predict_raw(contrib[:1, -1])["score"].iloc[0]
            out.iloc[at, out.columns.get_loc("family_contributions")] = family_contributions(
                contrib, bundle.features, pred["score"].to_numpy(), base)[1].to_numpy()
            bar.update(len(at))
    out["buying_groups"] = buying_groups_at(history, as_of, bundle.settings, out["account_id"])
    if previous is not None:
        before = previous.assign(account_id=previous["account_id"].astype("str")).drop_duplicates("account_id")
        was = before.set_index("account_id")["is_mqa"].astype("boolean").reindex(out["account_id"]).fillna(False)
        out["became_mqa"] = (out["is_mqa"].fillna(False).to_numpy() & ~was.to_numpy(dtype=bool))
        out["became_mqa"] = out["became_mqa"].astype("boolean").where(out["status"] == SCORED, pd.NA)
    else:
        out["became_mqa"] = pd.Series(pd.NA, index=out.index, dtype="boolean")
    return out[list(OUTPUT_COLUMNS)]


def buying_groups_at(history: History, as_of: pd.Timestamp, settings, accounts: pd.Series) -> pd.Series:
    """Each account's buying groups at ``as_of`` as JSON (:func:`mqa.features.groups.describe`), aligned with ``accounts``."""
    from mqa.features.context import Context
    from mqa.features.groups import describe
    from mqa.features.snapshots import make_grid

    grid = make_grid(history, pd.DatetimeIndex([as_of]), accounts.to_numpy())
    said = describe(Context(history, grid, settings))
    return pd.Series(said.reindex(accounts.to_numpy()).to_numpy(), index=accounts.index, dtype="str")


def customers_at(history: History, as_of: pd.Timestamp, accounts: pd.Series) -> pd.Series:
    """Whether each account had an opportunity closed won at or before ``as_of`` (what was known then)."""
    o = history["opportunities"]
    won = o["is_won"].fillna(False).astype(bool) & o["closed_at"].notna() & (o["closed_at"] <= as_of)
    return pd.Series(accounts.isin(o.loc[won, "account_id"]).to_numpy(), index=accounts.index, dtype="boolean")


def score_change(history: History, bundle: ModelBundle, account: str, before: pd.Timestamp, after: pd.Timestamp,
                 top: int = 4) -> pd.DataFrame:
    """The features whose contributions moved one account's score most between two dates.

    Compares the full contribution vectors (not just the top reasons), so a
    driver that was merely outside the earlier top list does not look new.
    Columns: ``feature``, ``delta`` (log-odds), ``then``, ``now`` (sentences).
    """
    rows = build_features(history, as_of=[before, after], settings=bundle.settings, all_rows=True,
                          features=bundle.features, accounts=[account]).reset_index(drop=True)
    contrib = contributions(bundle, bundle.encoding.matrix(rows))[:, :-1]
    delta = contrib[1] - contrib[0]
    order = np.argsort(-np.abs(delta), kind="stable")[:top]
    from .sentences import sentences

    names = [bundle.features[i] for i in order]
    return pd.DataFrame({
        "feature": names,
        "delta": delta[order],
        "then": [sentences(f, rows[f].iloc[[0]].to_numpy(), bundle.settings)[0] for f in names],
        "now": [sentences(f, rows[f].iloc[[1]].to_numpy(), bundle.settings)[0] for f in names],
    })


def surging_topics(history: History, as_of: pd.Timestamp, relevant: tuple[str, ...], days: int = 28) -> pd.Series | None:
    """Each account's relevant topics surging in ``(as_of - days, as_of]``, as text ("'ETL' and 'Data Pipelines'")."""
    i = history["intent"]
    if not len(i):
        return None
    window = (i["date"] > as_of - pd.Timedelta(days=days)) & (i["date"] <= as_of)
    topic = i["topic"].str.strip()
    hot = i[window & (i["score"] >= SURGE_THRESHOLD) & topic.str.lower().isin(relevant)].assign(topic=topic)
    if not len(hot):
        return None
    pairs = hot[["account_id", "topic"]].drop_duplicates().sort_values(["account_id", "topic"])
    quoted = "'" + pairs["topic"] + "'"
    # At most three names: "a, b and c".
    rank = pairs.groupby("account_id").cumcount()
    quoted = quoted[rank.to_numpy() < 3]
    acct = pairs["account_id"][rank.to_numpy() < 3]
    joined = quoted.groupby(acct.to_numpy()).agg(list)
    return joined.map(lambda names: names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])


def read_previous(path) -> pd.DataFrame:
    """An earlier prediction output (Parquet or CSV), checked for the columns ``became_mqa`` needs."""
    from pathlib import Path

    from mqa.features.files import read_output

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"--previous {path}: no such file; pass an earlier output of 'mqa predict'")
    try:
        prev = read_output(path, numbers=NUMBER_COLUMNS, flags=FLAG_COLUMNS)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
        raise ValueError(f"--previous {path}: not a readable Parquet or CSV file ({str(exc).splitlines()[0]})") from None
    lacking = [c for c in ("account_id", "is_mqa") if c not in prev.columns]
    if lacking:
        raise ValueError(f"--previous {path}: lacks column(s) {', '.join(lacking)}; pass an earlier output of 'mqa predict'")
    return prev

