"""CRM write-back: a run of the score store as a file a CRM's import tool takes, keyed by the CRM's account id.

Three shapes (:data:`FORMATS`):

- ``salesforce``: Data Loader / Data Import Wizard CSV, an update of Account
  keyed by ``Id`` with custom fields ``MQA_Score__c`` (number), ``MQA_Tier__c``
  (text), ``MQA__c`` (checkbox: ``true``/``false``), ``MQA_Since__c`` (date),
  ``MQA_Reasons__c`` (long text), ``MQA_Model_Version__c`` and ``MQA_As_Of__c``
  (date);
- ``hubspot``: a companies import keyed by ``Record ID``, with the internal
  names of custom company properties (``mqa_score``, ``mqa_tier``, ``mqa``
  single checkbox ``true``/``false``, ``mqa_since``, ``mqa_reasons``,
  ``mqa_model_version``, ``mqa_as_of``);
- ``csv``: plain columns for anything else (``account_id``, ``score``,
  ``tier``, ``is_mqa``, ``mqa_since``, ``reason_1`` to ``reason_3``,
  ``model_version``, ``as_of``).

Every account of the run is written, so a CRM's flag is cleared when an account
stops being an MQA or goes into pipeline (its score is then empty and its tier
its status). Dates are ``YYYY-MM-DD`` (UTC), files UTF-8 with a header row,
and every text cell is formula-safe (:func:`mqa.features.outputs.csv_safe`).
``mqa_since`` is the as-of date of the first run of the account's unbroken
streak of MQA runs in the store ending at this run (empty when not an MQA).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .store import ScoreStore

FORMATS = ("salesforce", "hubspot", "csv")
REASONS_SEPARATOR = "; "

_COLUMNS = {
    "salesforce": {"account_id": "Id", "score": "MQA_Score__c", "tier": "MQA_Tier__c", "is_mqa": "MQA__c",
                   "mqa_since": "MQA_Since__c", "reasons": "MQA_Reasons__c", "model_version": "MQA_Model_Version__c",
                   "as_of": "MQA_As_Of__c"},
    "hubspot": {"account_id": "Record ID", "score": "mqa_score", "tier": "mqa_tier", "is_mqa": "mqa",
                "mqa_since": "mqa_since", "reasons": "mqa_reasons", "model_version": "mqa_model_version",
                "as_of": "mqa_as_of"},
}


def mqa_since(store: ScoreStore, run: pd.Series) -> pd.Series:
    """Each account's first as-of of its current unbroken streak of MQA runs, up to ``run`` (NaT when not an MQA now).

    The runs considered are the store's as-of dates up to the run's; at an as-of
    stored by several models the most recently written run counts. An account
    missing from a run counts as not an MQA there.
    """
    runs = store.runs()
    this = (runs["as_of"] == run["as_of"]) & (runs["model_version"] == run["model_version"])
    runs = pd.concat([runs[runs["as_of"] < run["as_of"]].drop_duplicates("as_of", keep="last"),  # runs() is in written order
                      runs[this]])
    rows = store.scores()
    keep = rows.set_index(["as_of", "model_version"]).index.isin(runs.set_index(["as_of", "model_version"]).index)
    rows = rows[keep]
    flags = (rows.assign(is_mqa=rows["is_mqa"].fillna(False).astype(bool))
             .pivot_table(index="account_id", columns="as_of", values="is_mqa", aggfunc="max", fill_value=False)
             .sort_index(axis=1))
    matrix = flags.to_numpy(dtype=bool)
    # Trailing run of True in each row: the streak that ends at the latest as-of.
    streak = np.cumprod(matrix[:, ::-1], axis=1).sum(axis=1)
    dates = flags.columns.to_numpy()
    since = np.where(streak > 0, dates[np.clip(len(dates) - streak, 0, len(dates) - 1)], np.datetime64("NaT"))
    return pd.Series(pd.to_datetime(since, utc=True), index=flags.index, name="mqa_since")


def export_frame(store: ScoreStore, run: pd.Series, fmt: str, only_mqa: bool = False) -> pd.DataFrame:
    """The import file's rows for one stored run, in the CRM's shape ``fmt`` (see the module's description).

    Raises
    ------
    ValueError
        An unknown format.
    """
    from mqa.predict.report import top_reasons

    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    rows = store.run_scores(run)
    if only_mqa:
        rows = rows[rows["is_mqa"].fillna(False).to_numpy(dtype=bool)]
    since = mqa_since(store, run).reindex(rows["account_id"]).to_numpy()
    scored = rows["status"].eq("scored").to_numpy()
    tops = [top_reasons(r, 3) for r in rows["reasons"]]
    reasons = pd.DataFrame(tops, columns=["reason_1", "reason_2", "reason_3"], index=rows.index)
    day = f"{run['as_of']:%Y-%m-%d}"
    plain = pd.DataFrame({
        "account_id": rows["account_id"],
        "score": rows["score"].where(scored).round(1),
        "tier": rows["tier"].where(scored, rows["status"]),
        "is_mqa": np.where(rows["is_mqa"].fillna(False).to_numpy(dtype=bool), "true", "false"),
        "mqa_since": pd.Series(since, index=rows.index).dt.strftime("%Y-%m-%d"),
        "model_version": rows["model_version"],
        "as_of": day,
    }, index=rows.index)
    if fmt == "csv":
        out = pd.concat([plain.drop(columns=["model_version", "as_of"]), reasons, plain[["model_version", "as_of"]]], axis=1)
    else:
        joined = reasons.apply(lambda r: REASONS_SEPARATOR.join(t for t in r if t), axis=1) if len(reasons) else \
            pd.Series([], dtype="str")
        out = plain.assign(reasons=joined)[list(_COLUMNS[fmt])].rename(columns=_COLUMNS[fmt])
    return out.reset_index(drop=True)


def write_export(frame: pd.DataFrame, path) -> None:
    """Write an import file atomically: UTF-8, a header row, formula-safe cells, empty cells for missing values."""
    from mqa.features.outputs import atomic_write, csv_safe

    safe = csv_safe(frame)
    atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8"))
