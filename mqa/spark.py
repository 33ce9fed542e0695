"""Scale out on Spark: the single-machine pipeline, run partition by partition.

The Spark engine reads a CRM history as Spark DataFrames and runs the same
pandas code as :func:`~mqa.features.history.read_history`,
:func:`~mqa.features.build.build_features` and
:func:`~mqa.predict.batch.predict_history`, so that its features and scores
equal the single-machine ones row for row. Nothing is implemented twice:

1. The small tables (accounts, contacts, opportunities, intent, signals,
   opportunity_contacts, dispositions) are collected to the driver as Arrow
   and checked, typed and matched there by the pandas code itself.
2. Activities, the one table too big for a driver, are checked, typed and
   matched chunk by chunk on the executors (``mapInArrow``) by the same
   functions, with the driver's matched contacts and domain index broadcast.
   An activity known only by an email address therefore lands with its
   account *before* anything is partitioned. Problems found in any chunk are
   merged into the one :class:`~mqa.features.problems.DataError`; duplicate
   activity ids are resolved over the whole table.
3. Every table is hashed by ``account_id`` into buckets. Each bucket becomes a
   partition-local :class:`~mqa.features.history.History`, which knows the
   whole history's date range (labels depend on the end of the data), and
   ``build_features`` or ``predict_history`` runs on it
   (``groupBy(bucket).cogroup(...).applyInArrow``). A contact that an activity
   of the bucket refers to (by id or email) is copied into the bucket even
   when it belongs to another account; an opportunity's contact roles go to
   the bucket of its account, with the contacts they name. Rows keep their
   original order inside a bucket, so sums are accumulated in the same order
   as on one machine.

This is the only module that imports PySpark (``pip install -e '.[spark]'``).
It needs a classic Spark session (local mode, ``spark-submit``, a Databricks
cluster in dedicated access mode): it uses broadcast variables, which Spark
Connect does not offer. ``mqa`` must be installed on the executors.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark import StorageLevel, TaskContext
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from mqa.features import contract as c
from mqa.features.build import build_features, default_grid, features_for
from mqa.features.coerce import TIMESTAMP_DTYPE
from mqa.features.config import Config, FeatureSettings
from mqa.features.families import engagement_streams
from mqa.features.files import FORMATS, discover, split_name
from mqa.features.groups import won_roles
from mqa.features.history import (
    History,
    activity_topics,
    activity_types,
    canonical_order,
    check_references,
    check_required_tables,
    clean_activities,
    clean_opportunities,
    clean_opportunity_contacts,
    drop_duplicate_activities,
    empty_table,
    join_columns,
    map_columns,
    match_contacts_to_accounts,
    match_events_to_accounts,
    missing_folder,
    note_activity_matching,
    table_for,
    topics_notice,
    type_table,
    unknown_types_notice,
)
from mqa.features.matching import MATCH_ORDER, MatchReport, match_activities
from mqa.features.problems import MAX_EXAMPLES, DataError, Notice, Problem, ProblemLog, examples

# Rows of activities typed and matched at once on an executor. Bigger chunks
# amortise building the contact and domain lookups; memory grows with them.
CHUNK_ROWS = 200_000
# Accounts per bucket when the caller does not choose the number of buckets:
# at the default grid (about 50 as-of dates) a bucket of 5,000 accounts needs
# about 1 GB in its Python worker (docs/spark.md, "Partition sizing").
ACCOUNTS_PER_PARTITION = 5_000
# pandas and pyarrow write nanosecond timestamps, which Spark reads only as
# longs, and only with this (runtime) option on.
NANOS_AS_LONG = "spark.sql.legacy.parquet.nanosAsLong"

_ACTIVITIES = c.TABLES["activities"]
_ACTIVITY_COLUMNS = ("activity_id", "timestamp", "type", "contact_id", "account_id", "email", "url", "minutes", "title", "topic",
                     "sales_touch", "matched_by")
# Typed activities as they leave the chunk pass: timestamps are int64
# nanoseconds (exact, whatever the session time zone); ``_given`` is the
# account id the row came with (duplicate resolution orders by it);
# ``_from_url`` marks a topic taken from the url ([topics] url_prefixes);
# ``_part``/``_idx`` place the row in Spark's read order; a row with ``_meta``
# set carries one chunk's problems, notices and match report instead of data.
_TYPED = pa.schema([
    ("activity_id", pa.string()), ("timestamp", pa.int64()), ("type", pa.string()), ("contact_id", pa.string()),
    ("account_id", pa.string()), ("email", pa.string()), ("url", pa.string()), ("minutes", pa.float64()),
    ("title", pa.string()), ("topic", pa.string()), ("sales_touch", pa.bool_()), ("matched_by", pa.string()), ("_from_url", pa.bool_()), ("_given", pa.string()), ("_part", pa.int64()), ("_idx", pa.int64()),
    ("_meta", pa.string()),
])
_DROPPED = pa.schema([("_pos", pa.int64()), ("activity_id", pa.string()), ("_meta", pa.string())])
_SLOT_TYPES = {"s": T.StringType(), "l": T.LongType(), "d": T.DoubleType(), "b": T.BooleanType()}


# --------------------------------------------------------------------------- session

class SparkStartError(ValueError):
    """No Spark session could be started here (no Java, say); the message says what to fix."""


def local_session(master: str | None = None, driver_memory: str | None = None) -> SparkSession:
    """The active Spark session, or a local one for the command line.

    Under ``spark-submit`` (or in a notebook) the existing session and its
    configuration are used as they are. Otherwise a local session is started:
    master ``MQA_SPARK_MASTER`` (default ``local[*]``), driver memory
    ``MQA_SPARK_DRIVER_MEMORY`` (default 4g), session time zone UTC, no UI;
    ``SPARK_LOCAL_IP`` defaults to 127.0.0.1 (a laptop's host name often does
    not resolve) and the workers run this Python.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if "PYSPARK_GATEWAY_PORT" in os.environ:  # launched by spark-submit: its configuration rules
        return SparkSession.builder.appName("mqa").getOrCreate()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("mqa")
        .master(master or os.environ.get("MQA_SPARK_MASTER", "local[*]"))
        .config("spark.driver.memory", driver_memory or os.environ.get("MQA_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    try:
        spark = builder.getOrCreate()
    except PySparkException as exc:
        raise SparkStartError(f"could not start a local Spark session ({_first_line(exc)}); Spark needs Java 17 or "
                              "newer on the PATH or in JAVA_HOME") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# --------------------------------------------------------------------------- the history

@dataclass
class SpannedHistory(History):
    """A :class:`History` whose date range is given rather than read from its own rows.

    A bucket of accounts is a History of its own, but how far the data reaches
    (which decides whether a label is known) is a property of the whole
    history: ``span`` carries it.
    """

    span: tuple = (None, None)

    def date_range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        return self.span


@dataclass
class SparkHistory:
    """A validated and matched CRM history whose activities live in Spark.

    Attributes
    ----------
    spark : SparkSession
    head : SpannedHistory
        The small tables as pandas frames, exactly as :func:`read_history`
        gives them, with ``present``, ``files``, ``notices``, ``matching`` and
        the whole history's date range. Its ``activities`` entry only has the
        right length (no columns): the rows are in :attr:`activities`.
    activities : pyspark DataFrame
        Typed, deduplicated and matched activities (persisted): the contract
        columns and ``matched_by``; ``timestamp`` is int64 nanoseconds UTC;
        ``_pos`` is the row's place in the table (Spark's read order, for one
        file the file's order).
    activity_dtypes : dict
        The pandas dtype of each activity column.
    """

    spark: SparkSession
    head: SpannedHistory
    activities: DataFrame
    activity_dtypes: dict
    proxy: History = field(repr=False, default=None)
    cached: list = field(repr=False, default_factory=list)

    def __getitem__(self, name: str):
        """A small table as pandas, or ``'activities'`` as the Spark DataFrame."""
        return self.activities if name == "activities" else self.head.tables[name]

    @property
    def present(self) -> tuple[str, ...]:
        return self.head.present

    @property
    def files(self) -> dict[str, str]:
        return self.head.files

    @property
    def notices(self) -> list[Notice]:
        return self.head.notices

    @property
    def matching(self) -> MatchReport:
        return self.head.matching

    def date_range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """Earliest and latest event time over the whole history."""
        return self.head.span

    def default_as_of(self, settings: FeatureSettings | None = None) -> pd.DatetimeIndex:
        """The default as-of grid of :func:`~mqa.features.build.default_grid`, over the whole history."""
        return default_grid(self.proxy, settings or FeatureSettings())

    def summary(self) -> str:
        """The same summary as :meth:`History.summary` (rows, date range, matching, notices)."""
        return self.head.summary()

    def unpersist(self) -> None:
        """Release the cached activities."""
        for frame in self.cached:
            frame.unpersist()
        self.cached.clear()


def read_tables(spark: SparkSession, folder: str | Path) -> dict[str, DataFrame]:
    """The table files of a history folder as raw Spark DataFrames (before any check).

    Files are found by the same rules as :func:`read_history` (``<table>.parquet``,
    ``.csv`` or ``.csv.gz``, Parquet dataset folders included); ``folder`` may be
    a local path or any URI Spark reads (``dbfs:/``, ``s3a://``, ``abfss://``).
    CSV cells come back as strings. Parquet nanosecond timestamps come back as
    int64 nanoseconds.

    Raises
    ------
    DataError
        No such folder, two files for one table, or an unreadable file.
    """
    log = ProblemLog()
    frames, _ = _read_folder(spark, str(folder), log)
    log.raise_if_any(str(folder))
    return {name: df for name, (df, _) in frames.items()}


def read_spark_history(spark: SparkSession, source, config: Config | None = None, purpose: str = "train") -> SparkHistory:
    """Read, validate and match a CRM history with Spark.

    Parameters
    ----------
    spark : SparkSession
    source : path, URI or dict
        A history folder (see :func:`read_tables`), or ``{table: DataFrame or
        table name}`` (e.g. ``{"accounts": "crm.accounts", "activities": df}``).
    config : Config, optional
        Column-name mapping, as for :func:`read_history`.
    purpose : {'train', 'predict'}
        Which tables are required.

    Returns
    -------
    SparkHistory

    Raises
    ------
    DataError
        Every contract breach found in any table, in one error (the same
        message as :func:`read_history`; activity rows are numbered in
        Spark's read order).
    """
    if purpose not in c.REQUIRED_TABLES:
        raise ValueError(f"purpose must be one of {', '.join(c.REQUIRED_TABLES)}, not {purpose!r}")
    config = config or Config()
    log = ProblemLog()
    folder, frames, files = _source(spark, source, log, config.tables)
    check_required_tables(frames, purpose, log)
    given: dict[str, tuple[str, ...]] = {}
    tables, activities = _check_tables(frames, files, config, purpose, log, given)
    present = tuple(n for n in c.TABLE_ORDER if n in tables or (n == "activities" and activities is not None))
    if log.problems:
        # Nothing can be matched, but the activities' own problems still
        # belong in the one error.
        if activities is not None:
            typed = _typed_activities(spark, activities, None).persist(StorageLevel.MEMORY_AND_DISK)
            try:
                _insert_activity_problems(log, activities["slot"], _metas(typed, activities["name"], log, folder))
            finally:
                typed.unpersist()
        raise DataError(log.problems, folder)

    small = _match_small_tables(tables)
    cached: list[DataFrame] = []
    act_log = ProblemLog()
    if activities is not None:
        lookups = spark.sparkContext.broadcast({
            "contacts": small.contacts[["contact_id", "given_account_id", "created_at", "email_domain"]],
            "account_ids": small.account_ids,
            "index": small.index,
        })
        final, times = _match_all_activities(spark, activities, lookups, log, act_log, small.report, folder, cached)
    else:
        schema = _arrow_schema(small.activity_dtypes, extra=[("_pos", pa.int64())])
        final, times = spark.createDataFrame([], _spark_schema(schema)), (0, None, None)
    count, first, last = times

    # The whole history's date range, by History.date_range itself, from a
    # copy whose activities are just the first and last stamps.
    stamps = pd.Series(pd.to_datetime([t for t in (first, last) if t is not None], unit="ns", utc=True), dtype=TIMESTAMP_DTYPE)
    proxy = History(tables=dict(small.tables, activities=pd.DataFrame({"timestamp": stamps})), present=present,
                    files=files, folder=folder)
    head = SpannedHistory(
        tables=dict(small.tables, activities=pd.DataFrame(index=pd.RangeIndex(count))),
        present=present,
        files={n: files[n] for n in present},
        notices=small.head_log.notices + act_log.notices + small.tail_log.notices,
        matching=small.report,
        folder=folder,
        attributes=config.features.attributes,
        span=proxy.date_range(),
        columns={n: given.get(n, ()) for n in present},
    )
    head.inputs = _whole_inputs(head, final if activities is not None and count else None)
    return SparkHistory(spark=spark, head=head, activities=final, activity_dtypes=small.activity_dtypes, proxy=proxy,
                        cached=cached)


def _whole_inputs(head: History, activities: DataFrame | None) -> frozenset[str]:
    """The inputs the whole history provides (:func:`~mqa.features.inputs.provided_inputs`).

    The small tables are on the driver; which activity columns hold a value
    somewhere takes one pass over the activities in Spark. Buckets get this
    set, so that a bucket without, say, intent rows does not look like a
    history without intent.
    """
    from mqa.features.inputs import provided_inputs

    small = History(tables={n: t for n, t in head.tables.items() if n != "activities"},
                    present=tuple(n for n in head.present if n != "activities"), files={})
    out = set(provided_inputs(small))
    if activities is not None:
        cols = [col for col in c.TABLES["activities"].names if col in activities.columns]
        counts = activities.select([F.count(F.col(col)).alias(col) for col in cols]).first().asDict()
        out.update(f"activities.{col}" for col, n in counts.items() if n)
    return frozenset(out)


def _source(spark: SparkSession, source, log: ProblemLog, names: dict[str, str] | None = None) -> tuple[str, dict, dict[str, str]]:
    """The folder name (empty for a dict), ``{table: (DataFrame, nanosecond columns)}`` and ``{table: file name}``."""
    if isinstance(source, dict):
        return "", *_frames_from(spark, source, log)
    local = _local(str(source))
    folder = str(local) if local is not None else str(source)
    return folder, *_read_folder(spark, folder, log, names)


def _check_tables(frames: dict, files: dict[str, str], config: Config, purpose: str, log: ProblemLog,
                  given: dict[str, tuple[str, ...]] | None = None) -> tuple[dict, dict | None]:
    """The small tables typed and checked on the driver; the activities' header checked (values come later).

    ``given`` receives each table's contract columns given in its file, as read_history's ``History.columns``.
    """
    tables: dict[str, pd.DataFrame] = {}
    activities = None
    for name, (df, nanos) in frames.items():
        mapping = config.columns.get(name, {})
        if name == "activities":
            if config.joins.get(name):
                log.problem(name, next(iter(config.joins[name])), "the Spark engine does not join activity columns; "
                            "join them in the export, or use --engine pandas", code="columns.join_unknown")
                continue
            activities = _activity_source(df, nanos, files[name], mapping, log, config.features.topic_url_prefixes,
                                          given)
            continue
        table = table_for(name, config)  # with the declared attribute columns
        raw = _collect_raw(df, nanos, table, files[name], mapping, log)
        if raw is None:
            continue
        raw, joined = join_columns(raw, name, files[name], config.joins.get(name, {}), log)
        mapping = dict(mapping, **joined)
        frame = type_table(table, raw, files[name], log, mapping=mapping, required=name in c.REQUIRED_TABLES[purpose],
                           given=given)
        if frame is not None:
            tables[name] = frame
    if "accounts" in tables:
        check_references(tables, log, found=frames)
    if activities is not None and activities["frame"] is None:
        activities = None  # its header was refused: already a problem
    return tables, activities


@dataclass
class _SmallTables:
    """The driver's side of matching: read_history's steps for every table but the activities."""

    tables: dict
    contacts: pd.DataFrame  # with ``given_account_id``, for matching activities
    account_ids: pd.Index
    index: pd.Series
    report: MatchReport
    head_log: ProblemLog  # notices read_history lists before the activities'
    tail_log: ProblemLog  # and after them
    activity_dtypes: dict


def _match_small_tables(tables: dict[str, pd.DataFrame]) -> _SmallTables:
    """Vocabulary and matching of the small tables, by read_history's own functions, in its order."""
    for name in c.TABLE_ORDER:
        if name not in tables:
            tables[name] = empty_table(c.TABLES[name])
    report = MatchReport()
    head_log, tail_log = ProblemLog(), ProblemLog()
    account_ids = pd.Index(tables["accounts"]["account_id"])
    contacts, index = match_contacts_to_accounts(tables["accounts"], tables["contacts"], head_log, report)
    tables.update(match_events_to_accounts(tables, account_ids, index, tail_log))
    tables["opportunities"] = clean_opportunities(tables["opportunities"])
    tables["opportunity_contacts"] = clean_opportunity_contacts(tables["opportunity_contacts"], tail_log)
    # The activities' columns and dtypes, as read_history gives them.
    shape = match_activities(clean_activities(tables["activities"], ProblemLog()), contacts, account_ids, index, MatchReport())
    report.activities_by_method = {m: 0 for m in MATCH_ORDER}
    tables["contacts"] = contacts.drop(columns=["given_account_id"])
    tables = canonical_order(tables)  # as read_history orders them
    return _SmallTables(tables, contacts, account_ids, index, report, head_log, tail_log, dict(shape.dtypes))


# --------------------------------------------------------------------------- reading

@dataclass(frozen=True, order=True)
class _Entry:
    """A file or folder of a remote history folder, as :func:`discover` sees one."""

    name: str
    uri: str = field(compare=False)
    folder: bool = field(default=False, compare=False)

    def is_dir(self) -> bool:
        return self.folder


@dataclass(frozen=True)
class _Listing:
    """A remote folder listing with the one method :func:`discover` calls."""

    entries: tuple

    def iterdir(self):
        return iter(self.entries)


def _local(path: str) -> Path | None:
    """``path`` as a local path (plain or ``file:``), or None for another URI scheme."""
    text = str(path)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]+):", text)
    if scheme is None:
        return Path(text)
    if scheme.group(1).lower() == "file":
        return Path(urlparse(text).path)
    return None


def _read_folder(spark: SparkSession, folder: str, log: ProblemLog,
                 names: dict[str, str] | None = None) -> tuple[dict, dict[str, str]]:
    """``{table: (raw DataFrame, nanosecond columns)}`` and ``{table: file name}`` of a history folder.

    ``names`` are the configuration's ``[tables]`` file names, found as :func:`read_history` finds them.
    """
    local = _local(folder)
    if local is not None:
        if not local.is_dir():
            raise DataError([missing_folder(folder)])
        found = {name: (path.name, str(path)) for name, path in discover(local, log, names).items()}
    else:
        jvm = spark.sparkContext._jvm
        root = jvm.org.apache.hadoop.fs.Path(folder)
        fs = root.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.exists(root) or not fs.getFileStatus(root).isDirectory():
            raise DataError([missing_folder(folder)])
        listing = _Listing(tuple(_Entry(s.getPath().getName(), s.getPath().toString(), s.isDirectory())
                                 for s in fs.listStatus(root)))
        found = {name: (entry.name, entry.uri) for name, entry in discover(listing, log, names).items()}
    frames, files = {}, {}
    for table, (name, path) in found.items():
        read = _read_file(spark, path, name, table, log)
        if read is not None:
            frames[table] = read
            files[table] = name
    return frames, files


def _read_file(spark: SparkSession, path: str, name: str, table: str, log: ProblemLog):
    """One table file as a raw DataFrame and its nanosecond columns, or None (a problem is logged)."""
    if FORMATS[split_name(name)[1]] == "parquet":
        try:
            nanos = _nanosecond_columns(spark, path)
            df = spark.read.parquet(path)
        except (PySparkException, pa.ArrowException, OSError) as exc:
            log.problem(name, None, f"is not a readable Parquet file ({_first_line(exc)}); export table '{table}' again",
                        code="files.parquet_unreadable")
            return None
        return df, nanos
    # Every cell a string, as read_history reads CSV; quotes are doubled
    # (RFC 4180), not backslash-escaped; a malformed line fails the read
    # rather than silently becoming nulls.
    df = (spark.read.option("header", True).option("inferSchema", False).option("escape", '"')
          .option("mode", "FAILFAST").csv(path))
    if df.columns and df.columns[0].startswith("\ufeff"):
        df = df.withColumnRenamed(df.columns[0], df.columns[0][1:])
    if not df.columns:
        log.problem(name, None, "is empty: not even a header row; export the table with its header", code="files.no_header")
        return None
    return df, frozenset()


def _nanosecond_columns(spark: SparkSession, path: str) -> frozenset | None:
    """Columns of a Parquet file or dataset stored as nanosecond timestamps (None: not known).

    Spark reads those only as int64 nanoseconds, and only with
    ``spark.sql.legacy.parquet.nanosAsLong``, which is then switched on for
    the session. Local files are inspected with pyarrow; for a remote path
    the columns are not known, and an int64 column that the contract says is a
    timestamp is then read as nanoseconds.
    """
    local = _local(path)
    if local is not None:
        schema = pq.ParquetDataset(local).schema
        nanos = frozenset(f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns")
    else:
        before = spark.conf.get(NANOS_AS_LONG, "false")
        spark.conf.set(NANOS_AS_LONG, "false")
        try:
            _ = spark.read.parquet(path).schema  # resolving the schema is what fails
            nanos = frozenset()
        except PySparkException as exc:
            nanos = None if "NANOS" in str(exc) else frozenset()
        finally:
            spark.conf.set(NANOS_AS_LONG, before)
    if nanos is None or nanos:
        spark.conf.set(NANOS_AS_LONG, "true")
    return nanos


def _frames_from(spark: SparkSession, source: dict, log: ProblemLog) -> tuple[dict, dict[str, str]]:
    """``{table: (DataFrame, no nanosecond columns)}`` from a dict of DataFrames or table names."""
    frames, files = {}, {}
    for table in c.TABLE_ORDER:
        if table not in source:
            continue
        value = source[table]
        if isinstance(value, DataFrame):
            frames[table], files[table] = (value, frozenset()), table
        else:
            try:
                frames[table], files[table] = (spark.table(str(value)), frozenset()), str(value)
            except PySparkException as exc:
                log.problem(str(value), None, f"is not a readable table ({_first_line(exc)}); pass an existing table for '{table}'",
                            code="tables.unreadable")
    unknown = sorted(set(source) - set(c.TABLE_ORDER))
    if unknown:
        log.problem(", ".join(unknown), None, f"not contract table name(s); use {', '.join(c.TABLE_ORDER)}", code="tables.unknown")
    return frames, files


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _raw_names(columns: list[str], table: c.Table, mapping: dict[str, str]) -> dict[str, str]:
    """``{contract column: raw column}`` by read_history's own renaming rules.

    A one-row frame whose every cell holds its column's name goes through
    :func:`~mqa.features.history.map_columns`: what comes out under each
    contract name is the raw name.
    """
    probe = pd.DataFrame([list(columns)], columns=list(columns), dtype=object)
    mapped = map_columns(table, probe, mapping, ProblemLog())
    return {} if mapped is None else {col: mapped[col].iloc[0] for col in mapped.columns}


def _nanos_raw(df: DataFrame, nanos: frozenset | None, table: c.Table, mapping: dict[str, str]) -> set[str]:
    """Raw columns holding int64 nanosecond timestamps."""
    if nanos is not None:
        return set(nanos) & set(df.columns)
    longs = {f.name for f in df.schema.fields if isinstance(f.dataType, T.LongType)}
    return {raw for col, raw in _raw_names(df.columns, table, mapping).items()
            if table.column(col).kind == c.TIMESTAMP and raw in longs}


def _with_timestamps(table: pa.Table, nanos) -> pa.Table:
    """``table`` with its int64-nanosecond columns as UTC timestamps (what pyarrow reads from the file)."""
    for name in nanos:
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(i, name, pc.cast(table.column(i), pa.timestamp("ns", tz="UTC")))
    return table


def _read_problem(name: str, exc: BaseException) -> Problem | None:
    """What read_history says of a file it cannot read; None when ``name`` is no file (a Spark table)."""
    kind = FORMATS.get(split_name(name)[1])
    if kind == "parquet":
        return Problem(name, None, f"is not a readable Parquet file ({_first_line(exc)}); export table '{split_name(name)[0]}' again",
                       code="files.parquet_unreadable")
    if kind == "csv":
        return Problem(name, None, f"is not a well-formed CSV file ({_first_line(exc)}); export it again", code="files.malformed_csv")
    return None


def _collect_raw(df: DataFrame, nanos, table: c.Table, name: str, mapping: dict[str, str], log: ProblemLog) -> pd.DataFrame | None:
    """A small table collected to the driver, raw, as read_history would read it from its file."""
    try:
        arrow = df.toArrow()
    except PySparkException as exc:
        problem = _read_problem(name, exc)
        if problem is None:
            raise
        log.problems.append(problem)
        return None
    return _with_timestamps(arrow, _nanos_raw(df, nanos, table, mapping)).to_pandas()


def _activity_source(df: DataFrame, nanos, name: str, mapping: dict[str, str], log: ProblemLog,
                     topics: tuple[tuple[str, str], ...] = (), given: dict | None = None) -> dict:
    """The activities' header checked on the driver, and their raw frame with contract column names.

    The header (duplicate names, mapped and required columns) is checked once
    here by :func:`~mqa.features.history.type_table` on no rows; the values
    are checked chunk by chunk, where ``topics`` (``[topics] url_prefixes``)
    fill the topics too.
    """
    header = pd.DataFrame(columns=list(df.columns), dtype=object)
    checked = type_table(_ACTIVITIES, header, name, log, mapping=mapping, given=given)
    if checked is None:
        return {"frame": None}
    names = _raw_names(df.columns, _ACTIVITIES, mapping)
    raw_nanos = _nanos_raw(df, nanos, _ACTIVITIES, mapping)
    frame = df.select([F.col(_quoted(raw)).alias(col) for col, raw in names.items()])
    return {"frame": frame, "nanos": frozenset(col for col, raw in names.items() if raw in raw_nanos),
            "name": name, "slot": len(log.problems), "topics": tuple(topics)}


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


# --------------------------------------------------------------------------- activities: type, match, deduplicate

def _typed_activities(spark: SparkSession, source: dict, lookups) -> DataFrame:
    """Activities typed (and matched, with ``lookups``) chunk by chunk, with one ``_meta`` row per chunk."""
    run = functools.partial(_type_and_match, name=source["name"], nanos=source["nanos"], lookups=lookups,
                            chunk_rows=CHUNK_ROWS, topics=source.get("topics", ()))
    return source["frame"].mapInArrow(run, _spark_schema(_TYPED))


def _type_and_match(batches, name: str, nanos, lookups, chunk_rows: int, topics: tuple[tuple[str, str], ...] = ()):
    """Executor side: read_history's typing, type vocabulary, topics and matching on each chunk of one partition."""
    part = TaskContext.get().partitionId()
    start = 0
    found = _lookups(lookups.value) if lookups is not None else None
    for chunk in _rechunk(batches, chunk_rows):
        raw = _with_timestamps(chunk, nanos).to_pandas()
        log = ProblemLog()
        typed = type_table(_ACTIVITIES, raw, name, log)
        kind, unknown = activity_types(typed)
        sales = kind.isin(c.SALES_ACTIVITY_TYPES).fillna(False).to_numpy(dtype=bool)  # as clean_activities marks them
        typed["type"] = kind.mask(unknown | sales, c.OTHER_ACTIVITY)
        typed["sales_touch"] = sales
        # A row's topic depends on that row alone: duplicates dropped later keep theirs.
        typed["topic"], typed["_from_url"] = activity_topics(typed, topics)
        meta = {"part": part, "start": start, "rows": len(typed),
                "problems": [[p.column, p.message, p.count, list(p.rows), list(p.values), p.code]
                             for p in log.problems if p.count]}
        if unknown.any():
            count, rows, values = examples(unknown, kind.astype(object))
            meta["types"] = {"names": sorted(kind[unknown].unique()), "count": count, "rows": list(rows), "values": list(values)}
        given = typed["account_id"]
        if found is not None:
            report = MatchReport()
            typed = match_activities(typed, _contacts_for(found, typed), found["account_ids"], found["index"], report)
            meta["report"] = asdict(report)
        else:
            typed["matched_by"] = pd.Series(pd.NA, index=typed.index, dtype="str")
        typed["_given"] = given
        typed["_part"] = part
        typed["_idx"] = np.arange(start, start + len(typed), dtype=np.int64)
        yield from _to_arrow(typed, _TYPED.remove(_TYPED.get_field_index("_meta"))).append_column(
            "_meta", pa.nulls(len(typed), pa.string())).to_batches()
        yield from _meta_row(_TYPED, meta).to_batches()
        start += len(typed)


def _lookups(value: dict) -> dict:
    """The broadcast lookups, with a contact-id index built once per worker."""
    if "contact_index" not in value:
        value["contact_index"] = pd.Index(value["contacts"]["contact_id"])
    return value


def _contacts_for(found: dict, activities: pd.DataFrame) -> pd.DataFrame:
    """The contacts the chunk's activities name: matching looks contacts up by id only, so this subset matches the same."""
    pos = found["contact_index"].get_indexer(activities["contact_id"].dropna().unique())
    return found["contacts"].iloc[np.unique(pos[pos >= 0])]


def _on_group(fn, **bound):
    """``fn(table, **bound)`` as a plain one-argument function.

    PySpark's grouped ``applyInArrow`` reads its function's signature (one or
    two arguments), which a ``functools.partial`` or ``*args`` does not give.
    """
    def run(table):
        return fn(table, **bound)
    return run


def _on_cogroup(fn, **bound):
    """``fn(left, right, **bound)`` as a plain two-argument function (see :func:`_on_group`)."""
    def run(left, right):
        return fn(left, right, **bound)
    return run


def _rechunk(batches, rows: int):
    """Arrow batches joined into tables of at least ``rows`` rows (the last may be smaller)."""
    pending, count = [], 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(pending)
            pending, count = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _meta_row(schema: pa.Schema, meta: dict) -> pa.Table:
    """One row of ``schema``: null except ``_meta``, which holds ``meta`` as JSON."""
    columns = {f.name: pa.array([json.dumps(meta)], pa.string()) if f.name == "_meta" else pa.nulls(1, f.type)
               for f in schema}
    return pa.table(columns, schema=schema)


def _metas(frame: DataFrame, name: str | None = None, log: ProblemLog | None = None, folder: str = "") -> list[dict]:
    """The ``_meta`` rows of a chunk pass, decoded, in read order.

    Running the pass is what reads the file: a CSV file Spark cannot parse
    becomes a :class:`DataError` (with ``log``'s other problems), not a traceback.
    """
    try:
        rows = frame.where(F.col("_meta").isNotNull()).select("_meta").toArrow().column("_meta").to_pylist()
    except PySparkException as exc:
        problem = _read_problem(name, exc) if name is not None else None
        if problem is None:
            raise
        raise DataError((log.problems if log is not None else []) + [problem], folder) from None
    return sorted((json.loads(m) for m in rows), key=lambda m: (m.get("part", 0), m.get("start", 0)))


def _offsets(metas: list[dict]) -> dict[int, int]:
    """Rows before each Spark partition, in read order."""
    per: dict[int, int] = {}
    for m in metas:
        per[m["part"]] = per.get(m["part"], 0) + m["rows"]
    out, total = {}, 0
    for part in sorted(per):
        out[part] = total
        total += per[part]
    return out


# The order in which type_table checks one column's values.
_CHECK_ORDER = {"values.type": 0, "values.required": 1, "values.range": 2, "values.not_unique": 3}


def _check_rank(column: str | None, code: str) -> tuple[int, int]:
    """Where read_history lists a problem: by column, then its checks' order (type, required, range, unique)."""
    names = _ACTIVITIES.names
    if column not in names:
        return len(names), 0
    return names.index(column), _CHECK_ORDER.get(code, 2)


def _merge_examples(entries: list) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The first example rows (and values) of several chunks, in global order."""
    entries = sorted(entries, key=lambda e: e[0])[:MAX_EXAMPLES]
    rows = tuple(r for r, _ in entries)
    values = tuple(v for _, v in entries) if entries and all(v is not None for _, v in entries) else ()
    return rows, values


def _globalise(meta: dict, offsets: dict[int, int], rows: list[int], values: list) -> list:
    """Chunk row numbers (from 1) as row numbers of the whole table, paired with their values."""
    base = offsets[meta["part"]] + meta["start"]
    shown = values if values else [None] * len(rows)
    return [(base + r, v) for r, v in zip(rows, shown)]


def _activity_problems(metas: list[dict]) -> list[Problem]:
    """The chunks' problems merged: one per column and message, counted over the table."""
    offsets = _offsets(metas)
    merged: dict[tuple, list] = {}
    for m in metas:
        for column, message, count, rows, values, code in m["problems"]:
            entry = merged.setdefault((column, code, message), [0, []])
            entry[0] += count
            entry[1].extend(_globalise(m, offsets, rows, values))
    problems = [Problem("activities", column, message, count, *_merge_examples(found), code=code)
                for (column, code, message), (count, found) in merged.items()]
    return sorted(problems, key=lambda p: _check_rank(p.column, p.code))


def _insert_activity_problems(log: ProblemLog, slot: int, metas: list[dict]) -> None:
    """Put the activities' value problems where read_history lists them: after their header's."""
    log.problems[slot:slot] = _activity_problems(metas)


def _types_notice(metas: list[dict]) -> Notice | None:
    """The unknown-activity-type notice over the whole table."""
    offsets = _offsets(metas)
    names, count, examples = set(), 0, []
    for m in metas:
        t = m.get("types")
        if t:
            names.update(t["names"])
            count += t["count"]
            examples.extend(_globalise(m, offsets, t["rows"], t["values"]))
    if not count:
        return None
    return unknown_types_notice(sorted(names), count, *_merge_examples(examples))


def _add_reports(report: MatchReport, parts: list[dict], sign: int = 1) -> None:
    """Add (or subtract) chunk match reports into ``report``'s activity counts."""
    for part in parts:
        report.activities_total += sign * part["activities_total"]
        report.activities_unmatched += sign * part["activities_unmatched"]
        report.free_mail_rows += sign * part["free_mail_rows"]
        report.unknown_account_ids += sign * part["unknown_account_ids"]
        for method in MATCH_ORDER:
            report.activities_by_method[method] = (report.activities_by_method.get(method, 0)
                                                   + sign * part["activities_by_method"].get(method, 0))


def _match_all_activities(spark, source, lookups, log, act_log, report, folder, cached):
    """Type, check, match and deduplicate every activity; returns the matched frame and (rows, first, last time)."""
    typed = _typed_activities(spark, source, lookups).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        metas = _metas(typed, source["name"], log, folder)
    except DataError:
        typed.unpersist()
        raise
    _insert_activity_problems(log, source["slot"], metas)
    if log.problems:
        typed.unpersist()
        raise DataError(log.problems, folder)
    _add_reports(report, [m["report"] for m in metas])
    types = _types_notice(metas)
    if types is not None:
        act_log.notices.append(types)

    offsets = _offsets(metas)
    width = max(offsets, default=0) + 1
    start = F.element_at(F.array(*[F.lit(offsets.get(p, 0)).cast("long") for p in range(width)]), F.col("_part").cast("int") + 1)
    rows = typed.where(F.col("_meta").isNull()).withColumn("_pos", start + F.col("_idx"))

    # Duplicate ids are settled over the whole table by read_history's rule,
    # applied to every group of rows sharing an id (a group is never split).
    # Ids are found by a 64-bit hash: a shuffle of longs, not strings; rows
    # whose hashes merely collide go through the rule too and are all kept.
    hashed = rows.where(F.col("activity_id").isNotNull()).withColumn("_hash", F.xxhash64("activity_id"))
    repeated = hashed.groupBy("_hash").count().where(F.col("count") > 1).select("_hash")
    groups = max(1, spark.sparkContext.defaultParallelism)
    dedup = (hashed.join(F.broadcast(repeated), "_hash")
             .groupBy(F.pmod(F.col("_hash"), F.lit(groups)).alias("_group"))
             .applyInArrow(_on_group(_settle_duplicates, lookups=lookups), _spark_schema(_DROPPED))
             .persist(StorageLevel.MEMORY_AND_DISK))
    dmetas = _metas(dedup)
    dropped = dedup.where(F.col("_meta").isNull()).select("_pos", "activity_id")
    gone = np.sort(np.asarray(dropped.select("_pos").toArrow().column("_pos").to_numpy(), dtype=np.int64))
    if len(gone):
        _add_reports(report, [m["report"] for m in dmetas], sign=-1)
        first = dropped.orderBy("_pos").limit(MAX_EXAMPLES).toArrow()
        said = next(m["notice"] for m in dmetas if m["notice"])
        act_log.notices.append(Notice("activities", "activity_id", said["message"], len(gone),
                                      tuple(p + 1 for p in first.column("_pos").to_pylist()),
                                      tuple(first.column("activity_id").to_pylist()), code=said["code"]))
    dedup.unpersist()

    # The typed rows stay cached; the final frame is a cheap filter of them
    # (the dropped positions travel as a broadcast table, not as a plan literal).
    if len(gone):
        rows = rows.join(F.broadcast(spark.createDataFrame(pa.table({"_pos": gone}))), "_pos", "left_anti")
    final = rows.select(*_ACTIVITY_COLUMNS, "_pos")
    stats = rows.agg(F.count(F.lit(1)).alias("n"), F.min("timestamp").alias("lo"), F.max("timestamp").alias("hi"),
                     F.sum(F.col("_from_url").cast("long")).alias("from_url")).collect()[0]
    times = (int(stats["n"]), stats["lo"], stats["hi"])
    if stats["from_url"]:
        # Numbered after duplicates are dropped, as read_history numbers them.
        first = rows.where(F.col("_from_url")).select("_pos", "topic").orderBy("_pos").limit(MAX_EXAMPLES).toArrow()
        pos = np.asarray(first.column("_pos").to_numpy(), dtype=np.int64)
        _, _, shown = examples(np.ones(len(pos), dtype=bool), first.column("topic").to_pylist())
        act_log.notices.append(topics_notice(times[0], int(stats["from_url"]),
                                             tuple(int(p - np.searchsorted(gone, p) + 1) for p in pos), shown))

    note_activity_matching(act_log, report)
    if report.activities_unmatched:
        # Row numbers of unmatched activities count rows after duplicates are
        # dropped, as read_history's do.
        first = np.asarray(final.where(F.col("account_id").isNull()).select("_pos").orderBy("_pos").limit(MAX_EXAMPLES)
                           .toArrow().column("_pos").to_numpy(), dtype=np.int64)
        unmatched = next(n for n in act_log.notices if n.code == "activities.unmatched")
        unmatched.count = report.activities_unmatched
        unmatched.rows = tuple(int(p - np.searchsorted(gone, p) + 1) for p in first)
    cached.append(typed)
    return final, times


def _settle_duplicates(table: pa.Table, lookups) -> pa.Table:
    """Executor side: read_history's duplicate rule on rows sharing ids; returns the dropped rows.

    The match report of the dropped rows comes along, to be taken off the
    chunk reports (which counted every row).
    """
    frame = _from_arrow(table, {**_typed_dtypes(), "_pos": np.dtype("int64")}, order="_pos")
    frame["account_id"] = frame["_given"]
    columns = list(_ACTIVITIES.names)
    log = ProblemLog()
    kept = drop_duplicate_activities(frame[columns + ["_pos"]], log)
    dropped = frame[~frame["_pos"].isin(kept["_pos"])]
    report = MatchReport()
    found = _lookups(lookups.value)
    subset = dropped[columns].reset_index(drop=True)
    match_activities(subset, _contacts_for(found, subset), found["account_ids"], found["index"], report)
    said = next(({"message": n.message, "code": n.code} for n in log.notices if n.code == "activities.duplicate_id"), None)
    meta = {"dropped": len(dropped), "notice": said, "report": asdict(report)}
    out = pa.table({"_pos": pa.array(dropped["_pos"].to_numpy(), pa.int64()),
                    "activity_id": pa.array(dropped["activity_id"], pa.string()),
                    "_meta": pa.nulls(len(dropped), pa.string())}, schema=_DROPPED)
    return pa.concat_tables([out, _meta_row(_DROPPED, meta)])


def _typed_dtypes() -> dict:
    """pandas dtypes of the typed activity columns of a chunk pass."""
    out = {col.name: (TIMESTAMP_DTYPE if col.kind == c.TIMESTAMP else "float64" if col.kind == c.NUMBER else "str")
           for col in _ACTIVITIES.columns}
    return {**out, "sales_touch": "bool", "matched_by": "str", "_from_url": "bool", "_given": "str"}


# --------------------------------------------------------------------------- Arrow <-> pandas

def _arrow_type(dtype) -> pa.DataType:
    """How a History column travels through Spark: timestamps as int64 nanoseconds, exactly."""
    if isinstance(dtype, pd.DatetimeTZDtype) or str(dtype).startswith("datetime64"):
        return pa.int64()
    if pd.api.types.is_bool_dtype(dtype):
        return pa.bool_()
    if pd.api.types.is_integer_dtype(dtype):
        return pa.int64()
    if pd.api.types.is_float_dtype(dtype):
        return pa.float64()
    return pa.string()


def _arrow_schema(dtypes: dict, extra=()) -> pa.Schema:
    return pa.schema([(name, _arrow_type(dtype)) for name, dtype in dtypes.items()] + list(extra))


def _spark_schema(schema: pa.Schema) -> T.StructType:
    kinds = {pa.string(): T.StringType(), pa.int64(): T.LongType(), pa.float64(): T.DoubleType(), pa.bool_(): T.BooleanType()}
    fields = []
    for f in schema:
        kind = T.TimestampType() if pa.types.is_timestamp(f.type) else kinds[f.type]
        fields.append(T.StructField(f.name, kind, True))
    return T.StructType(fields)


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame``'s columns as an Arrow table of ``schema`` (missing values as nulls)."""
    return pa.table({f.name: _arrow_column(frame[f.name], f.type) for f in schema}, schema=schema)


def _arrow_column(values: pd.Series, typ: pa.DataType) -> pa.Array:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ns = pa.array(pd.DatetimeIndex(values).as_unit("ns").asi8, type=pa.int64(), mask=values.isna().to_numpy())
        # A Spark timestamp holds microseconds: as-of instants finer than that are truncated.
        return ns.cast(pa.timestamp("ns", tz="UTC")).cast(typ, safe=False) if pa.types.is_timestamp(typ) else ns
    if pa.types.is_float64(typ):
        return pa.array(values.to_numpy(dtype=float, na_value=np.nan), type=typ, from_pandas=True)
    return pa.array(values, type=typ, from_pandas=True)


def _from_arrow(table: pa.Table, dtypes: dict, order: str | None = None) -> pd.DataFrame:
    """An Arrow table back as pandas columns of exactly ``dtypes``, in ``order``'s order."""
    if order is not None:
        table = table.sort_by(order)
    columns = {}
    for name, dtype in dtypes.items():
        col = table.column(name)
        if isinstance(dtype, pd.DatetimeTZDtype) or str(dtype).startswith("datetime64"):
            columns[name] = pc.cast(col, pa.timestamp("ns", tz="UTC")).to_pandas().astype(TIMESTAMP_DTYPE)
        elif str(dtype) == "Int64":
            columns[name] = pd.Series(pd.arrays.IntegerArray(col.fill_null(0).to_numpy().astype(np.int64),
                                                             col.is_null().to_numpy()))
        elif str(dtype) == "boolean":
            columns[name] = pd.Series(pd.arrays.BooleanArray(col.fill_null(False).to_numpy(zero_copy_only=False).astype(bool),
                                                             col.is_null().to_numpy()))
        else:
            columns[name] = col.to_pandas().astype(dtype)
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


# --------------------------------------------------------------------------- partitioned runs

def default_partitions(spark: SparkSession, accounts: int) -> int:
    """Buckets of accounts: enough for every core, and at most :data:`ACCOUNTS_PER_PARTITION` accounts each."""
    return max(spark.sparkContext.defaultParallelism, math.ceil(accounts / ACCOUNTS_PER_PARTITION))


def _bucket(column, partitions: int):
    """An account's bucket: a stable hash of its id."""
    return F.pmod(F.xxhash64(column), F.lit(partitions))


def _driver_frame(spark: SparkSession, frame: pd.DataFrame, dtypes: dict) -> DataFrame:
    """A driver table as a Spark DataFrame (timestamps as int64 ns), with ``_order`` and any ``_bucket`` it has."""
    extra = [(name, pa.int64()) for name in ("_order", "_bucket") if name in frame.columns]
    # Spark makes one partition per Arrow batch (10,000 rows): a few are enough.
    return spark.createDataFrame(_to_arrow(frame, _arrow_schema(dtypes, extra=extra))).coalesce(
        spark.sparkContext.defaultParallelism)


def _slots(dtypes: dict) -> dict[str, str]:
    """Each column mapped to a shared typed slot (``s0``, ``l0``, ``d0``, ``b0``, ...).

    The small tables travel through one shuffle together; slots keep that
    frame narrow (nine string columns, not the sum of every table's).
    """
    used: dict[str, int] = {}
    out = {}
    for name, dtype in dtypes.items():
        kind = {pa.string(): "s", pa.int64(): "l", pa.float64(): "d", pa.bool_(): "b"}[_arrow_type(dtype)]
        out[name] = f"{kind}{used.get(kind, 0)}"
        used[kind] = used.get(kind, 0) + 1
    return out


def _partitioned(history: SparkHistory, spec: dict, schema: T.StructType, partitions: int | None,
                 previous: pd.DataFrame | None = None) -> DataFrame:
    """Run ``spec`` on every bucket of accounts; one output row set per bucket."""
    spark = history.spark
    n = partitions or default_partitions(spark, len(history["accounts"]))
    if n < 1:
        raise ValueError(f"partitions must be at least 1, got {n}")
    acts = history.activities.where(F.col("account_id").isNotNull()).withColumn("_bucket", _bucket(F.col("account_id"), n))

    small = {name: history.head.tables[name] for name in ("accounts", "contacts", "opportunities", "intent", "signals",
                                                         "opportunity_contacts", "dispositions")}
    if previous is not None:
        small["previous"] = previous
    dtypes = {name: dict(frame.dtypes) for name, frame in small.items()}
    dtypes["activities"] = history.activity_dtypes
    codes = {name: i for i, name in enumerate(small)}
    layout = {name: _slots(dtypes[name]) for name in small}
    width: dict[str, int] = {}
    for slots in layout.values():
        for slot in slots.values():
            width[slot[0]] = max(width.get(slot[0], 0), int(slot[1:]) + 1)
    all_slots = [f"{k}{i}" for k in "sldb" for i in range(width.get(k, 0))]

    buckets = _account_buckets(spark, history["accounts"]["account_id"], n)
    # Row order is kept in ``_order``: a bucket sees its rows in the table's
    # order, so sums run in the same order as on one machine.
    ordered = {name: frame.assign(_order=np.arange(len(frame), dtype=np.int64)) for name, frame in small.items()}
    roles = _roles_by_bucket(ordered["opportunity_contacts"], history["opportunities"], buckets)
    parts = []
    for name, frame in ordered.items():
        if name == "contacts":
            frame = _contacts_by_bucket(frame, acts, buckets, roles)
        elif name == "opportunity_contacts":
            frame = roles
        if not len(frame):
            continue
        sdf = _driver_frame(spark, frame, dtypes[name])
        if "_bucket" not in frame.columns:
            sdf = sdf.where(F.col("account_id").isNotNull()).withColumn("_bucket", _bucket(F.col("account_id"), n))
        by_slot = {slot: F.col(_quoted(col)) for col, slot in layout[name].items()}
        parts.append(sdf.select(
            F.lit(codes[name]).cast("int").alias("_table"), "_bucket", "_order",
            *[(by_slot[s] if s in by_slot else F.lit(None)).cast(_SLOT_TYPES[s[0]]).alias(s) for s in all_slots],
        ))
    right = functools.reduce(DataFrame.unionByName, parts)
    left = acts.select(*_ACTIVITY_COLUMNS, "_pos", "_bucket")
    spec = dict(spec, dtypes=dtypes, codes=codes, layout=layout, present=history.present, files=history.files,
                folder=history.head.folder, span=history.head.span, inputs=history.head.inputs,
                attributes=history.head.attributes,
                # The contacts every won deal names: the buying-group templates learn across accounts.
                won_roles=won_roles(history.head))
    run = _on_cogroup(_run_bucket, spec=spec)
    return left.groupBy("_bucket").cogroup(right.groupBy("_bucket")).applyInArrow(run, schema)


def _account_buckets(spark: SparkSession, account_ids: pd.Series, n: int) -> pd.Series:
    """``{account_id: bucket}``, hashed by Spark as :func:`_bucket` hashes every table's rows."""
    ids = spark.createDataFrame(pa.table({"account_id": pa.array(account_ids, pa.string())}))
    found = ids.select("account_id", _bucket(F.col("account_id"), n).alias("_bucket")).toArrow().to_pandas()
    return found.set_index("account_id")["_bucket"]


def _roles_by_bucket(roles: pd.DataFrame, opportunities: pd.DataFrame, buckets: pd.Series) -> pd.DataFrame:
    """Opportunity contact roles (with ``_bucket``) in the bucket of their opportunity's account.

    A role has no account of its own: it belongs where its opportunity does,
    so that a bucket sees every person on its accounts' opportunities.
    """
    account = roles["opportunity_id"].map(opportunities.set_index("opportunity_id")["account_id"])
    bucket = account.map(buckets)
    return roles[bucket.notna().to_numpy()].assign(_bucket=bucket.dropna().astype(np.int64))


def _contacts_by_bucket(contacts: pd.DataFrame, acts: DataFrame, buckets: pd.Series, roles: pd.DataFrame) -> pd.DataFrame:
    """Contacts (with ``_bucket``) in the bucket of their account, and in every bucket whose activities or roles name them.

    Features see a contact through the activities that name it (by id, or by
    email for an email-only activity), whichever account it belongs to: its
    department, its seniority, who the person is; and through the
    opportunities it had a role on (``roles``, :func:`_roles_by_bucket`).
    Only the distinct (bucket, contact id, email) triples of the activities
    reach the driver.
    """
    refs = (acts.where(F.col("contact_id").isNotNull() | F.col("email").isNotNull())
            .select("_bucket", "contact_id", "email").distinct().toArrow().to_pandas())
    own = contacts[contacts["account_id"].notna()]
    own = own.assign(_bucket=own["account_id"].map(buckets).astype(np.int64))
    by_id = contacts.merge(refs[["_bucket", "contact_id"]].dropna().drop_duplicates(), on="contact_id")
    by_email = contacts.merge(refs[["_bucket", "email"]].dropna().drop_duplicates(), on="email")
    by_role = contacts.merge(roles[["_bucket", "contact_id"]].drop_duplicates(), on="contact_id")
    return pd.concat([own, by_id, by_email, by_role], ignore_index=True).drop_duplicates(["_bucket", "_order"])


def _run_bucket(left: pa.Table, right: pa.Table, spec: dict) -> pa.Table:
    """Executor side: one bucket's History, then build_features or predict_history on it."""
    tables = {"activities": _from_arrow(left, spec["dtypes"]["activities"], order="_pos")}
    for name, code in spec["codes"].items():
        rows = right.filter(pc.equal(right.column("_table"), code))
        columns = {col: rows.column(slot) for col, slot in spec["layout"][name].items()}
        columns["_order"] = rows.column("_order")
        tables[name] = _from_arrow(pa.table(columns), spec["dtypes"][name], order="_order")
    previous = tables.pop("previous", None)
    schema = spec["arrow_schema"]
    if not len(tables["accounts"]):
        return schema.empty_table()
    history = SpannedHistory(tables=tables, present=spec["present"], files=spec["files"], folder=spec["folder"],
                             inputs=spec["inputs"], attributes=spec["attributes"], span=spec["span"],
                             won_roles=spec["won_roles"])
    if spec["mode"] == "features":
        out = build_features(history, as_of=spec["as_of"], settings=spec["settings"], all_rows=spec["all_rows"])
    else:
        # Imported here so that workers that only type, match or build
        # features never import LightGBM.
        from mqa.predict.batch import predict_history

        out = predict_history(history, _bundle(spec["bundle"], spec["bundle_key"]), spec["as_of"][0],
                              previous=previous, progress=False, data_through=spec["data_through"])
    return _to_arrow(out, schema)


def _output_schema(fields: list[tuple[str, str]]) -> pa.Schema:
    types = {"string": pa.string(), "double": pa.float64(), "boolean": pa.bool_(), "timestamp": pa.timestamp("us", tz="UTC")}
    return pa.schema([(name, types[kind]) for name, kind in fields])


def _history(spark: SparkSession, source, config: Config | None, purpose: str) -> SparkHistory:
    return source if isinstance(source, SparkHistory) else read_spark_history(spark, source, config=config, purpose=purpose)


def spark_features(spark: SparkSession, source, as_of=None, settings: FeatureSettings | None = None,
                   config: Config | None = None, all_rows: bool = False, partitions: int | None = None) -> DataFrame:
    """Point-in-time feature rows with labels, computed bucket by bucket: :func:`build_features` on Spark.

    Parameters
    ----------
    spark : SparkSession
    source : SparkHistory, path, URI or dict
        A history from :func:`read_spark_history` (reused as it is), or what
        that function reads (for training: accounts and opportunities required).
    as_of : sequence of timestamps, optional
        UTC as-of instants; default: the whole history's default grid.
    settings : FeatureSettings, optional
    config : Config, optional
        Column-name mapping, when ``source`` is read here.
    all_rows : bool
        Keep every account at every date, with ``status``.
    partitions : int, optional
        Buckets of accounts (default :func:`default_partitions`).

    Returns
    -------
    pyspark DataFrame
        The columns of :func:`build_features` (``as_of`` a Spark timestamp),
        in no particular order; :func:`to_pandas` gives the single-machine
        layout.

    Raises
    ------
    DataError
        The history breaks the contract (raised here, before anything runs).
    """
    history = _history(spark, source, config, "train")
    settings = settings or FeatureSettings()
    if as_of is None:
        as_of = history.default_as_of(settings)
    as_of = pd.DatetimeIndex(sorted(set(pd.DatetimeIndex(as_of)))).tz_convert("UTC").as_unit("ns")
    fields = [("account_id", "string"), ("as_of", "timestamp")] + ([("status", "string")] if all_rows else [])
    fields += [(f.name, "string" if f.categorical else "double") for f in features_for(settings)] + [("label", "double")]
    schema = _output_schema(fields)
    spec = {"mode": "features", "as_of": as_of, "settings": settings, "all_rows": all_rows, "arrow_schema": schema}
    return _partitioned(history, spec, _spark_schema(schema), partitions)


# Spark types of predict_history's columns that are not strings.
_PREDICT_KINDS = {"as_of": "timestamp", "probability": "double", "score": "double", "is_mqa": "boolean", "became_mqa": "boolean",
                  "is_customer": "boolean", "lift": "double", "data_through": "timestamp"}


def spark_predict(spark: SparkSession, source, model, as_of, partitions: int | None = None, previous=None,
                  config: Config | None = None) -> DataFrame:
    """Score and explain every account at ``as_of``, bucket by bucket: :func:`predict_history` on Spark.

    Parameters
    ----------
    spark : SparkSession
    source : SparkHistory, path, URI or dict
        As for :func:`spark_features` (for prediction only accounts are required).
    model : ModelBundle or str
        A bundle, a bundle folder or an MLflow model URI. Its files are
        broadcast and loaded (manifest checked) once per executor process.
    as_of : timestamp or str
        One as-of instant (a naive one is UTC).
    partitions : int, optional
        Buckets of accounts.
    previous : pandas or pyspark DataFrame, optional
        An earlier output (``account_id``, ``is_mqa``), for ``became_mqa``.
    config : Config, optional

    Returns
    -------
    pyspark DataFrame
        :data:`~mqa.predict.batch.OUTPUT_COLUMNS`, one row per account.

    Raises
    ------
    ValueError
        The model needs features this history cannot provide.
    """
    from mqa.predict import load_model
    from mqa.predict.batch import OUTPUT_COLUMNS, check_features
    from mqa.train.bundle import ModelBundle

    history = _history(spark, source, config, "predict")
    bundle = model if isinstance(model, ModelBundle) else load_model(str(model))
    check_features(bundle, history.head)
    stamp = pd.Timestamp(as_of)
    stamp = (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")).as_unit("ns")
    files = _bundle_files(bundle, None if isinstance(model, ModelBundle) else model)
    key = hashlib.sha256(b"".join(files[name] for name in sorted(files))).hexdigest()
    prev = None
    if previous is not None:
        prev = previous.toArrow().to_pandas() if isinstance(previous, DataFrame) else previous
        # The same reading of the earlier output as predict_history's.
        prev = pd.DataFrame({"account_id": prev["account_id"].astype("str"), "is_mqa": prev["is_mqa"].astype("boolean")})
    schema = _output_schema([(name, _PREDICT_KINDS.get(name, "string")) for name in OUTPUT_COLUMNS])
    # How far the engagement data reaches is the whole history's, not a bucket's.
    from pyspark.sql import functions as F

    # The streams are the families' (engagement_streams); activities live in
    # Spark, with their timestamps as int64 nanoseconds (see _TYPED), the
    # other streams on the driver.
    lasts = []
    for table, column in engagement_streams():
        if table == "activities":
            last_ns = (history.activities.filter(F.col(column) <= F.lit(int(stamp.value))).agg(F.max(column))
                       .first()[0])
            lasts.append(None if last_ns is None else pd.Timestamp(int(last_ns), unit="ns", tz="UTC"))
        elif len(history.head.tables[table]):
            values = history.head.tables[table][column]
            lasts.append(values[values <= stamp].max())
    lasts = [pd.Timestamp(t) for t in lasts if t is not None and not pd.isna(t)]
    through = max((t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")) for t in lasts) if lasts else None
    spec = {"mode": "predict", "as_of": pd.DatetimeIndex([stamp]), "bundle": spark.sparkContext.broadcast(files),
            "bundle_key": key, "arrow_schema": schema, "data_through": through}
    return _partitioned(history, spec, _spark_schema(schema), partitions, previous=prev)


def _bundle_files(bundle, ref) -> dict[str, bytes]:
    """The bundle's files, as published (a folder) or as saved now (a bundle object or an MLflow model)."""
    folder = _local(str(ref)) if ref is not None else None
    if folder is not None and folder.is_dir():
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    with tempfile.TemporaryDirectory() as tmp:
        saved = bundle.save(Path(tmp) / "bundle")
        return {p.name: p.read_bytes() for p in sorted(saved.iterdir()) if p.is_file()}


_BUNDLES: dict = {}


def _bundle(files, key: str):
    """Executor side: the broadcast bundle (a ModelBundle), written out and loaded (manifest checked) once per process."""
    from mqa.train.bundle import ModelBundle

    if key not in _BUNDLES:
        folder = Path(tempfile.mkdtemp(prefix="mqa-bundle-"))
        try:
            for name, data in files.value.items():
                (folder / name).write_bytes(data)
            _BUNDLES[key] = ModelBundle.load(folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return _BUNDLES[key]


def to_pandas(result: DataFrame, history: SparkHistory) -> pd.DataFrame:
    """A Spark result collected in the single-machine layout.

    The dtypes of :func:`build_features` / :func:`predict_history` (``as_of``
    UTC nanoseconds, ``str``, nullable ``boolean``), sorted by ``as_of`` then
    the accounts table's order. The whole result passes through the driver.
    """
    table = result.toArrow()
    columns = {}
    for f in result.schema.fields:
        col = table.column(f.name)
        if isinstance(f.dataType, T.TimestampType):
            columns[f.name] = pc.cast(col, pa.timestamp("us", tz="UTC")).to_pandas().astype(TIMESTAMP_DTYPE)
        elif isinstance(f.dataType, T.BooleanType):
            columns[f.name] = _from_arrow(pa.table({f.name: col}), {f.name: "boolean"})[f.name]
        elif isinstance(f.dataType, T.StringType):
            columns[f.name] = col.to_pandas().astype("str")
        else:
            columns[f.name] = col.to_pandas().astype("float64")
    frame = pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))
    order = pd.Index(history["accounts"]["account_id"]).get_indexer(frame["account_id"])
    keys = ["as_of", "_order"] if "as_of" in frame else ["_order"]
    return frame.assign(_order=order).sort_values(keys, kind="stable").drop(columns="_order").reset_index(drop=True)


__all__ = [
    "SpannedHistory",
    "SparkHistory",
    "SparkStartError",
    "default_partitions",
    "local_session",
    "read_spark_history",
    "read_tables",
    "spark_features",
    "spark_predict",
    "to_pandas",
]
