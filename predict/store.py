"""The score store: every run of ``mqa predict`` kept in one database, so trends, new MQAs and alerts need no files by hand.

A store is an embedded SQLite file (``mqa-scores.sqlite`` by default, next to
the outputs) or tables in any SQL database SQLAlchemy reaches (the warehouse
the history is read from). It holds four tables, all prefixed ``mqa_``:

- ``mqa_scores``: every account's output row of every run (the columns of
  :data:`~mqa.predict.batch.OUTPUT_COLUMNS`), keyed by ``(as_of,
  model_version, account_id)``;
- ``mqa_runs``: one row per run (as-of, model version, when it was written,
  accounts, scored, MQAs, new MQAs, the previous run it was compared with);
- ``mqa_alerts``: every alert sent (account, as-of, model version, channel,
  when), so a re-run never sends twice and a cooldown can be kept;
- ``mqa_store``: the store's format version; a table named ``mqa_scores``
  without it was not written by mqa and is never touched.

Re-running the same as-of with the same model replaces that run's rows in one
transaction; nothing else is ever deleted. Timestamps are stored in UTC
(timezone-aware where the database has the type), and every value reads back
exactly as it was written (:meth:`ScoreStore.scores`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mqa.errors import MqaError
from mqa.features.sql import display_url, is_url

STORE_FILE = "mqa-scores.sqlite"
FORMAT_VERSION = "1"
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
# The output columns and the dtypes they read back with (those of predict_history's output).
SCORE_DTYPES = {
    "account_id": "str", "as_of": "datetime64[ns, UTC]", "model_version": "str", "status": "str", "is_customer": "boolean",
    "probability": "float64", "lift": "float64", "score": "float64", "tier": "str", "is_mqa": "boolean",
    "became_mqa": "boolean", "reasons": "str", "family_contributions": "str", "buying_groups": "str", "data_through": "datetime64[ns, UTC]",
}
# Columns an output written before they existed may lack: stored as missing.
OPTIONAL_COLUMNS = ("buying_groups",)
RUN_COLUMNS = ("as_of", "model_version", "written_at", "accounts", "scored", "mqas", "new_mqas", "previous_as_of", "source")
ALERT_COLUMNS = ("account_id", "as_of", "model_version", "channel", "sent_at")


class StoreError(MqaError):
    """A store that cannot be opened, read or written; the message names it (password hidden) and the fix."""


def store_location(spec: str | Path | None, out: str | Path | None = None) -> str:
    """The SQLAlchemy URL of the store ``--store`` names.

    Parameters
    ----------
    spec : str or path, optional
        A database URL (used as it is), a ``.sqlite``/``.sqlite3``/``.db`` file,
        or a folder (its ``mqa-scores.sqlite``). ``None`` or ``""``: the
        default file next to ``out``.
    out : path, optional
        The run's output file, for the default.
    """
    if spec is not None and str(spec) != "" and is_url(str(spec)):
        return str(spec)
    if spec is None or str(spec) == "":
        if out is None:
            raise StoreError("--store needs a database URL, a .sqlite file or a folder")
        path = Path(out).parent / STORE_FILE
    else:
        path = Path(spec)
        if path.suffix.lower() not in SQLITE_SUFFIXES:
            if path.exists() and not path.is_dir():
                raise StoreError(f"--store {path}: is a file that is not a store; pass a folder, a .sqlite file or a "
                                 "database URL (sqlite:///scores.db, postgresql://user@host/db)")
            path = path / STORE_FILE
    return f"sqlite:///{path.absolute()}"


@dataclass(frozen=True)
class Run:
    """One stored run: its key and its counts."""

    as_of: pd.Timestamp
    model_version: str
    accounts: int
    scored: int
    mqas: int
    new_mqas: int | None
    previous_as_of: pd.Timestamp | None
    replaced: bool = False


class ScoreStore:
    """Scores of every run, in a SQL database (see the module's description).

    Open one with :func:`open_store`; nothing is created until the first write.
    """

    def __init__(self, url: str, engine, schema: str | None = None):
        self.url = url
        # A local file is named by its path; a server by its URL, password hidden.
        self.where = url[len("sqlite:///"):] if url.startswith("sqlite:///") else display_url(url)
        self.engine = engine
        self.schema = schema
        self._tables = _tables(schema)

    # --- reading -------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether the store's tables are there (a store nothing was written to yet has none)."""
        from sqlalchemy import inspect

        names = set(inspect(self.engine).get_table_names(schema=self.schema))
        if "mqa_scores" in names and "mqa_store" not in names:
            raise StoreError(f"{self.where}: holds a table mqa_scores that mqa did not write (no mqa_store table); "
                             "mqa never writes into it: pass another --store")
        return "mqa_store" in names

    def runs(self) -> pd.DataFrame:
        """Every stored run, oldest as-of first (latest written last among equal as-of dates)."""
        if not self.exists():
            return _empty_runs()
        t = self._tables["runs"]
        with self._connect() as conn:
            frame = pd.DataFrame(conn.execute(t.select()).mappings().all(), columns=list(RUN_COLUMNS))
        for col in ("as_of", "written_at", "previous_as_of"):
            frame[col] = _utc(frame[col])
        for col in ("accounts", "scored", "mqas", "new_mqas"):
            frame[col] = frame[col].astype("Int64")
        frame["model_version"] = frame["model_version"].astype("str")
        frame["source"] = frame["source"].astype("str")
        return frame.sort_values(["as_of", "written_at"], kind="stable").reset_index(drop=True)

    def latest_run(self, as_of=None, before=None, model_version: str | None = None) -> pd.Series | None:
        """The run at ``as_of`` (or the latest, or the latest strictly before ``before``), the most recently written first."""
        runs = self.runs()
        if model_version is not None:
            runs = runs[runs["model_version"] == model_version]
        if as_of is not None:
            runs = runs[runs["as_of"] == as_of]
        if before is not None:
            runs = runs[runs["as_of"] < before]
        if runs.empty:
            return None
        return runs.sort_values(["as_of", "written_at"], kind="stable").iloc[-1]

    def scores(self, as_of=None, model_version: str | None = None, accounts=None) -> pd.DataFrame:
        """Stored output rows (every run, or one as-of / model / some accounts), as :func:`predict_history` returned them.

        Rows come in ``(as_of, model_version, account_id)`` order.
        """
        if not self.exists():
            return _empty_scores()
        from sqlalchemy import and_

        t = self._tables["scores"]
        conditions = []
        if as_of is not None:
            conditions.append(t.c.as_of == _py_time(as_of))
        if model_version is not None:
            conditions.append(t.c.model_version == model_version)
        if accounts is not None:
            conditions.append(t.c.account_id.in_([str(a) for a in accounts]))
        from sqlalchemy import select

        with self._connect() as conn:
            # A store written before a column existed reads it as missing.
            have = self._score_columns(conn)
            query = select(*[t.c[c] for c in SCORE_DTYPES if c in have]).order_by(t.c.as_of, t.c.model_version,
                                                                                  t.c.account_id)
            if conditions:
                query = query.where(and_(*conditions))
            frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=list(SCORE_DTYPES))
        return typed_scores(frame)

    def run_scores(self, run: pd.Series) -> pd.DataFrame:
        """The output rows of one run (a row of :meth:`runs`)."""
        return self.scores(as_of=run["as_of"], model_version=run["model_version"])

    def alerts(self) -> pd.DataFrame:
        """Every alert sent, oldest first."""
        if not self.exists():
            return pd.DataFrame({c: pd.Series(dtype="str") for c in ALERT_COLUMNS}).astype(
                {"as_of": "datetime64[ns, UTC]", "sent_at": "datetime64[ns, UTC]"})
        t = self._tables["alerts"]
        with self._connect() as conn:
            frame = pd.DataFrame(conn.execute(t.select().order_by(t.c.sent_at)).mappings().all(), columns=list(ALERT_COLUMNS))
        for col in ("account_id", "model_version", "channel"):
            frame[col] = frame[col].astype("str")
        frame["as_of"] = _utc(frame["as_of"])
        frame["sent_at"] = _utc(frame["sent_at"])
        return frame

    # --- writing -------------------------------------------------------------------
    def write_run(self, result: pd.DataFrame, source: str = "", previous_as_of=None) -> Run:
        """Store one run of :func:`predict_history` (one as-of, one model), replacing an earlier write of the same run.

        Raises
        ------
        StoreError
            The frame is not one run's output, or the database refused the write.
        """
        lacking = [c for c in SCORE_DTYPES if c not in result.columns and c not in OPTIONAL_COLUMNS]
        if lacking:
            raise StoreError(f"the scores lack column(s) {', '.join(lacking)}; store the output of 'mqa predict'")
        keys = result[["as_of", "model_version"]].drop_duplicates()
        if len(keys) != 1:
            raise StoreError(f"a run is one as-of date and one model; these scores hold {len(keys)} of them")
        frame = typed_scores(result[[c for c in SCORE_DTYPES if c in result.columns]])
        as_of, version = frame["as_of"].iloc[0], str(frame["model_version"].iloc[0])
        scored = frame["status"].eq("scored")
        has_new = frame["became_mqa"].notna().any()
        run = Run(as_of=as_of, model_version=version, accounts=len(frame), scored=int(scored.sum()),
                  mqas=int(frame["is_mqa"].fillna(False).sum()),
                  new_mqas=int(frame["became_mqa"].fillna(False).sum()) if has_new else None,
                  previous_as_of=None if previous_as_of is None else pd.Timestamp(previous_as_of))
        from sqlalchemy import and_, func, select

        t = self._tables
        with self._begin() as conn:
            self._create(conn)
            key = and_(t["scores"].c.as_of == _py_time(as_of), t["scores"].c.model_version == version)
            replaced = conn.execute(select(func.count()).select_from(t["scores"]).where(key)).scalar_one() > 0
            conn.execute(t["scores"].delete().where(key))
            conn.execute(t["runs"].delete().where(and_(t["runs"].c.as_of == _py_time(as_of),
                                                         t["runs"].c.model_version == version)))
            conn.execute(t["scores"].insert(), _records(frame))
            conn.execute(t["runs"].insert(), [{
                "as_of": _py_time(as_of), "model_version": version, "written_at": _py_time(pd.Timestamp.now(tz="UTC")),
                "accounts": run.accounts, "scored": run.scored, "mqas": run.mqas, "new_mqas": run.new_mqas,
                "previous_as_of": _py_time(run.previous_as_of), "source": source,
            }])
        return Run(**{**run.__dict__, "replaced": replaced})

    def record_alerts(self, sent: pd.DataFrame, channel: str) -> None:
        """Log alerts as sent (``account_id``, ``as_of``, ``model_version``) to ``channel``."""
        if sent.empty:
            return
        now = _py_time(pd.Timestamp.now(tz="UTC"))
        rows = [{"account_id": str(a), "as_of": _py_time(d), "model_version": str(v), "channel": channel, "sent_at": now}
                for a, d, v in zip(sent["account_id"], sent["as_of"], sent["model_version"])]
        with self._begin() as conn:
            self._create(conn)
            conn.execute(self._tables["alerts"].insert(), rows)

    # --- plumbing ------------------------------------------------------------------
    def _create(self, conn) -> None:
        from sqlalchemy import inspect

        names = set(inspect(conn).get_table_names(schema=self.schema))
        if "mqa_scores" in names and "mqa_store" not in names:
            raise StoreError(f"{self.where}: holds a table mqa_scores that mqa did not write (no mqa_store table); "
                             "mqa never writes into it: pass another --store")
        self._tables["meta"].metadata.create_all(conn, checkfirst=True)
        # Columns added since a store was created (buying_groups) are added to it, empty for its earlier runs.
        for col in self._tables["scores"].columns:
            if col.name not in self._score_columns(conn):
                table = f"{self.schema}.mqa_scores" if self.schema else "mqa_scores"
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {col.name} {col.type.compile(conn.dialect)}")
        if "mqa_store" not in names:
            conn.execute(self._tables["meta"].insert(), [{"key": "format", "value": FORMAT_VERSION}])

    def _score_columns(self, conn) -> set[str]:
        from sqlalchemy import inspect

        return {c["name"] for c in inspect(conn).get_columns("mqa_scores", schema=self.schema)}

    def _connect(self):
        return _guarded(self, self.engine.connect)

    def _begin(self):
        return _guarded(self, self.engine.begin)


class _guarded:
    """A connection context whose database errors become a :class:`StoreError` naming the store."""

    def __init__(self, store: ScoreStore, opener):
        self.store, self.opener = store, opener
        self.ctx: Any = None

    def __enter__(self):
        from sqlalchemy.exc import SQLAlchemyError

        try:
            self.ctx = self.opener()
            return self.ctx.__enter__()
        except SQLAlchemyError as exc:
            raise StoreError(_db_message(self.store.where, exc)) from None

    def __exit__(self, kind, exc, tb):
        from sqlalchemy.exc import SQLAlchemyError

        try:
            done = self.ctx.__exit__(kind, exc, tb)
        except SQLAlchemyError as err:
            raise StoreError(_db_message(self.store.where, err)) from None
        if isinstance(exc, SQLAlchemyError):
            raise StoreError(_db_message(self.store.where, exc)) from None
        return done


def _db_message(where: str, exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return f"the score store {where} refused: {text}; check the database and its permissions (nothing was written)"


def open_store(spec: str | Path | None, out: str | Path | None = None, schema: str | None = None) -> ScoreStore:
    """The store ``--store`` names (see :func:`store_location`); a local SQLite file's folder is created when needed.

    Raises
    ------
    StoreError
        A file that is not a SQLite database, an unknown driver, or a database that does not answer.
    """
    url = store_location(spec, out)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if path.exists() and path.is_file():
            with open(path, "rb") as fh:
                head = fh.read(16)
            if head and head != b"SQLite format 3\x00":
                raise StoreError(f"--store {path}: is not a SQLite database; mqa never writes into a file it did not "
                                 "write: pass a new file, a folder or a database URL")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"--store {path}: cannot create its folder ({exc.strerror}); pass a folder you can write") from None
    from mqa.features.sql import engine_for

    try:
        engine = engine_for(url)
    except ValueError as exc:
        raise StoreError(f"--store: {exc}") from None
    return ScoreStore(url, engine, schema=schema)


def channel_key(url: str) -> str:
    """A short, stable name for a webhook (its SHA-256), so the alert log can tell channels apart without the secret."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


# --- helpers -----------------------------------------------------------------------------
def _tables(schema: str | None):
    from sqlalchemy import Boolean, Column, DateTime, Double, Index, Integer, MetaData, PrimaryKeyConstraint, String, Table, Text

    md = MetaData(schema=schema)
    stamp = DateTime(timezone=True)
    scores = Table(
        "mqa_scores", md,
        Column("account_id", String(255), nullable=False), Column("as_of", stamp, nullable=False),
        Column("model_version", String(64), nullable=False), Column("status", String(32), nullable=False),
        Column("is_customer", Boolean), Column("probability", Double), Column("lift", Double), Column("score", Double),
        Column("tier", String(64)), Column("is_mqa", Boolean), Column("became_mqa", Boolean), Column("reasons", Text),
        Column("family_contributions", Text), Column("buying_groups", Text), Column("data_through", stamp),
        PrimaryKeyConstraint("as_of", "model_version", "account_id"),
    )
    Index("mqa_scores_account", scores.c.account_id)
    runs = Table(
        "mqa_runs", md,
        Column("as_of", stamp, nullable=False), Column("model_version", String(64), nullable=False),
        Column("written_at", stamp, nullable=False), Column("accounts", Integer), Column("scored", Integer),
        Column("mqas", Integer), Column("new_mqas", Integer), Column("previous_as_of", stamp), Column("source", Text),
        PrimaryKeyConstraint("as_of", "model_version"),
    )
    alerts = Table(
        "mqa_alerts", md,
        Column("account_id", String(255), nullable=False), Column("as_of", stamp, nullable=False),
        Column("model_version", String(64), nullable=False), Column("channel", String(32), nullable=False),
        Column("sent_at", stamp, nullable=False),
    )
    Index("mqa_alerts_account", alerts.c.account_id)
    meta = Table("mqa_store", md, Column("key", String(32), primary_key=True), Column("value", Text))
    return {"scores": scores, "runs": runs, "alerts": alerts, "meta": meta}


def typed_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Output rows with the dtypes :func:`predict_history` gives (whatever a database or file returned)."""
    out = {}
    for col, dtype in SCORE_DTYPES.items():
        # Output written before a column existed (buying_groups) reads it as missing.
        values = frame[col] if col in frame.columns else pd.Series([None] * len(frame), index=frame.index, dtype=object)
        if dtype.startswith("datetime64"):
            out[col] = _utc(values)
        elif dtype == "boolean":
            out[col] = pd.array([None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else bool(v)
                                 for v in values], dtype="boolean") if values.dtype == object else values.astype("boolean")
        elif dtype == "float64":
            out[col] = pd.to_numeric(values, errors="coerce").astype("float64")
        else:
            out[col] = values.astype("str") if values.notna().all() else values.where(values.notna(), None).astype("str")
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _utc(values: pd.Series) -> pd.Series:
    """Timestamps in UTC, nanoseconds: a naive value (SQLite keeps no zone) is UTC, an aware one is converted."""
    if len(values) == 0:
        return pd.Series(values.to_numpy(), dtype="datetime64[ns, UTC]")
    if values.dtype == object or pd.api.types.is_string_dtype(values):
        values = pd.to_datetime(values.where(values.notna(), None), utc=True, format="mixed")
    elif getattr(values.dt, "tz", None) is None:
        values = values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def _py_time(value) -> dt.datetime | None:
    """A UTC ``datetime`` for a bound parameter (None for a missing value)."""
    if value is None or value is pd.NaT or (not isinstance(value, dt.datetime) and pd.isna(value)):
        return None
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (None for missing) that every DB-API driver binds."""
    columns = {}
    for col in frame.columns:
        values = frame[col]
        if str(values.dtype).startswith("datetime64"):
            columns[col] = [None if pd.isna(v) else v.to_pydatetime() for v in values]
        elif str(values.dtype) == "boolean":
            columns[col] = [None if v is pd.NA else bool(v) for v in values.astype(object)]
        elif values.dtype == "float64":
            arr = values.to_numpy()
            columns[col] = [None if np.isnan(v) else float(v) for v in arr]
        else:
            columns[col] = [None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)
                            for v in values.astype(object)]
    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*columns.values())]


def _empty_runs() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in RUN_COLUMNS})
    for col in ("as_of", "written_at", "previous_as_of"):
        frame[col] = frame[col].astype("datetime64[ns, UTC]")
    return frame


def _empty_scores() -> pd.DataFrame:
    return typed_scores(pd.DataFrame({c: pd.Series(dtype="object") for c in SCORE_DTYPES}))


def account_history(store: ScoreStore, account_id: str, model_version: str | None = None) -> pd.DataFrame:
    """One account's stored runs, oldest first: date, model, status, score, change, tier, MQA, new, top reason.

    Raises
    ------
    ValueError
        The store holds no row of the account (the message suggests near ids).
    """
    from mqa.predict.report import top_reasons

    rows = store.scores(accounts=[account_id], model_version=model_version)
    if rows.empty:
        import difflib

        latest = store.latest_run()
        known = store.scores(as_of=latest["as_of"])["account_id"].tolist() if latest is not None else []
        near = difflib.get_close_matches(str(account_id), known, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else f"; the store's latest run has {len(known):,} accounts"
        only = f" of model {model_version}" if model_version else ""
        raise ValueError(f"--account {account_id}: no stored score{only} for this account{hint}")
    written = store.runs()[["as_of", "model_version", "written_at"]]
    rows = rows.merge(written, on=["as_of", "model_version"], how="left").sort_values(["as_of", "written_at"], kind="stable")
    scored = rows["status"].eq("scored")
    score = rows["score"].where(scored)
    return pd.DataFrame({
        "as_of": rows["as_of"].dt.strftime("%Y-%m-%d"),
        "model": rows["model_version"],
        "status": rows["status"],
        "score": score.round(1),
        "change": score.diff().round(1),
        "tier": rows["tier"].where(scored, ""),
        "mqa": np.where(rows["is_mqa"].fillna(False).to_numpy(dtype=bool), "yes", np.where(scored, "no", "")),
        "new": np.where(rows["became_mqa"].fillna(False).to_numpy(dtype=bool), "new", ""),
        "top_reason": [top_reasons(r, 1)[0] for r in rows["reasons"]],
    }).reset_index(drop=True)
