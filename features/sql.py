"""A CRM history in a SQL database: reading its tables, writing a history into one.

``--data`` takes a SQLAlchemy URL (``postgresql://user@host/db``,
``sqlite:///crm.db``) where it takes a folder. The database holds one table
or view per contract table, named after it or as ``[database.tables]`` maps
it, in the default schema or ``[database] schema``. :func:`read_sql_tables`
selects only the columns the loader will use and hands the rows to the same
stages as files (:func:`~mqa.features.history.read_history`): a history read
from a database equals the same history read from files, row for row.

Values arrive as the database driver gives them. Native types are accepted
as Parquet's are: ``timestamp with time zone`` and ``timestamp`` (UTC) and
``date``; ``NUMERIC`` (Python ``Decimal``) becomes the number Parquet would
give; integers, booleans and text as they are. A SQLite column holds text
(SQLite has no date type): it reads as a CSV's cell does.

A URL may carry a password: every message uses :func:`display_url`, which
hides it, never the URL as given. SQLAlchemy is imported inside the functions,
so that the command line pays for it only when a URL is given.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mqa.errors import MqaError

from . import contract as c
from .config import Config
from .problems import ProblemLog

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Seconds to wait for a database server before saying it is unreachable.
CONNECT_TIMEOUT = 10

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# Schemes of file systems (the Spark engine reads a history folder at such a
# URI), not databases.
FILESYSTEM_SCHEMES = frozenset({"file", "s3", "s3a", "s3n", "gs", "gcs", "abfs", "abfss", "wasb", "wasbs", "adl",
                                "hdfs", "dbfs", "viewfs", "oss", "http", "https"})


class DatabaseError(MqaError):
    """A database that cannot be used as given (bad URL, driver missing, server unreachable); the message says how to fix it."""


def is_url(text) -> bool:
    """Whether ``text`` is a SQLAlchemy database URL (``sqlite:///x.db``, ``postgresql+psycopg://...``), not a folder.

    A file-system URI (``s3a://``, ``dbfs://``, ``file://``) is a folder's
    address, not a database.
    """
    if not isinstance(text, str):
        return False
    match = _SCHEME.match(text.strip())
    return bool(match) and match.group(1).lower() not in FILESYSTEM_SCHEMES


def display_url(url: str) -> str:
    """``url`` with its password hidden (``postgresql://u:***@host/db``): the only form messages and logs show."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(str(url).strip()).render_as_string(hide_password=True)
    except Exception:  # a URL SQLAlchemy cannot parse still never shows its password
        shown = re.sub(r"(://[^/@:]*:)[^@/]*@", r"\1***@", str(url).strip())
    # A password given as a query parameter (?password=...) is hidden too.
    return re.sub(r"(?i)((?:password|passwd|pwd)=)[^&;]*", r"\1***", shown)


def engine_for(url: str) -> Engine:
    """A SQLAlchemy engine for ``url``, checked by connecting once.

    Plain ``postgresql://`` uses psycopg 3 unless psycopg2 is installed; a
    server that does not answer within :data:`CONNECT_TIMEOUT` seconds is
    unreachable.

    Parameters
    ----------
    url : str
        A SQLAlchemy URL.

    Returns
    -------
    Engine

    Raises
    ------
    DatabaseError
        A ``ValueError`` naming the URL (password hidden) and the fix: the
        URL cannot be parsed, names an unknown kind of database, needs a
        driver that is not installed, or the server cannot be reached.
    """
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    shown = display_url(url)
    try:
        parsed = make_url(str(url).strip())
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseError(f"{shown}: not a database URL; write it as kind://user:password@host:port/database, such as "
                            "postgresql://mqa@db.example.com/crm or sqlite:///crm.db") from None
    if parsed.drivername == "postgresql" and importlib.util.find_spec("psycopg2") is None:
        parsed = parsed.set(drivername="postgresql+psycopg")
    connect_args: dict = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except sa.exc.NoSuchModuleError:
        raise DatabaseError(f"{shown}: SQLAlchemy knows no database kind '{parsed.drivername}'; use postgresql://... or "
                            "sqlite:///..., or install the SQLAlchemy dialect of your database") from None
    except ImportError as exc:
        module = (getattr(exc, "name", None) or "").split(".")[0]
        if parsed.get_backend_name() == "postgresql":
            fix = "install it: pip install 'mqa[postgres]'"
        else:
            fix = f"install the package that provides the Python module {module}" if module else "install it"
        raise DatabaseError(f"{shown}: the database driver {module or parsed.drivername} is not installed; {fix}") from None
    try:
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise DatabaseError(f"{shown}: cannot connect ({_reason(exc, parsed.password)}); check the host, port, database "
                            "name, user and password, and that the server is running and reachable from here") from None
    return engine


def _reason(exc: BaseException, password=None) -> str:
    """The driver's first line about ``exc``, without the password."""
    inner = exc
    while getattr(inner, "__cause__", None) is not None and not hasattr(inner, "orig"):
        inner = inner.__cause__  # pandas wraps SQLAlchemy's error, which wraps the driver's
    inner = getattr(inner, "orig", None) or inner
    lines = str(inner).strip().splitlines()
    text = lines[0].strip() if lines else type(inner).__name__
    if password:
        text = text.replace(str(password), "***")
    return text[:200]


# --------------------------------------------------------------------------- reading

def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database or an in-memory one)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(str(url).strip())
    except Exception:
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:" \
            or parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def table_names(config: Config) -> dict[str, tuple[str | None, str]]:
    """``{table: (schema or None, name)}`` for every contract table, by ``[database]`` (``schema.name`` wins over ``schema``)."""
    db = config.file.database
    mapped = db.tables.names()
    out = {}
    for table in c.TABLE_ORDER:
        name = mapped.get(table, table)
        schema, dot, rest = name.partition(".")
        out[table] = (schema, rest) if dot else (db.schema, name)
    return out


def read_sql_tables(url: str, config: Config, log: ProblemLog) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Stage 1 for a database: each contract table's rows as a file's raw frame, and its name for messages.

    Tables and views are found by name (``[database.tables]``, else the
    contract's), in ``[database] schema`` or the database's default schema;
    names match case-insensitively when that is unambiguous (a Fivetran
    replica of Salesforce writes lower-case names). Only the columns the
    loader uses are selected: the contract's and the declared attributes',
    under their ``[columns.*]`` names. When one of those is missing, every
    column is selected, so that the message lists what the table has.

    Parameters
    ----------
    url : str
        SQLAlchemy URL (:func:`engine_for`).
    config : Config
        ``[database]``, ``[columns.*]`` and ``[attributes.*]``.
    log : ProblemLog
        Receives ``database.*`` problems: a schema or a mapped table that is
        not there, two tables whose names differ only in case, a table that
        cannot be read.

    Returns
    -------
    raws : dict of DataFrame
        ``{table: rows}`` in the contract's table order, columns as the
        database names them; ``NUMERIC`` values as numbers.
    names : dict of str
        ``{table: "table <schema.name> in <url>"}`` (password hidden), which
        messages name as they name a file.

    Raises
    ------
    DatabaseError
        The URL cannot be used (:func:`engine_for`), or names a SQLite file
        that does not exist.
    """
    import sqlalchemy as sa

    shown = display_url(url)
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        # Connecting would create an empty database file: say what is wrong instead.
        raise DatabaseError(f"{shown}: no such SQLite database file ({path}); check the path (sqlite:///crm.db is "
                            "relative to the working folder, sqlite:////data/crm.db is absolute)")
    engine = engine_for(url)
    raws: dict[str, pd.DataFrame] = {}
    names: dict[str, str] = {}
    mapped = config.file.database.tables.names()
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                # One snapshot for every table: a sync writing meanwhile cannot tear the history.
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            inspector = sa.inspect(conn)
            found = _objects(inspector, {s for s, _ in table_names(config).values()}, shown, log)
            for table, (schema, name) in table_names(config).items():
                if schema not in found:
                    continue
                real = _resolve(found[schema], name, table, schema, shown, log)
                if real is None:
                    if table in mapped:
                        log.problem(table, None, f"[database.tables] names {_qualified(schema, name)!r}, which is not a table or "
                                    f"view in {shown}{_close(name, found[schema])}; fix the name in the configuration",
                                    code="database.table_unknown")
                    continue
                label = f"table {_qualified(schema, real)} in {shown}"
                try:
                    columns = [col["name"] for col in inspector.get_columns(real, schema=schema)]
                    wanted = selected_columns(table, columns, config)
                    query = sa.select(*[sa.column(col) for col in wanted]).select_from(sa.table(real, schema=schema))
                    raw = pd.read_sql(query, conn, coerce_float=False) if wanted else pd.DataFrame()
                except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
                    log.problem(table, None, f"{label} cannot be read ({_reason(exc, engine.url.password)}); grant the user "
                                "SELECT on it, or check that it is a table or view", code="database.unreadable")
                    continue
                raws[table], names[table] = native_values(raw), label
    except sa.exc.SQLAlchemyError as exc:
        raise DatabaseError(f"{shown}: reading the tables failed ({_reason(exc, engine.url.password)}); check the "
                            "database and try again") from None
    finally:
        engine.dispose()
    return raws, names


def _qualified(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _close(name: str, known) -> str:
    close = difflib.get_close_matches(name.lower(), sorted({k.lower(): k for k in known}), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _objects(inspector, schemas: set, shown: str, log: ProblemLog) -> dict:
    """``{schema: table and view names}`` of each schema that exists; a missing schema is a problem."""
    existing = None
    out = {}
    for schema in sorted(schemas, key=lambda s: s or ""):
        if schema is not None:
            existing = existing if existing is not None else inspector.get_schema_names()
            if schema not in existing:
                match = [s for s in existing if s.lower() == schema.lower()]
                if len(match) != 1:
                    log.problem(schema, None, f"no such schema in {shown}{_close(schema, existing)}; fix [database] schema "
                                "(or the schema part of [database.tables]) in the configuration", code="database.schema_missing")
                    continue
                out[schema] = _names(inspector, match[0])
                continue
        out[schema] = _names(inspector, schema)
    return out


def _names(inspector, schema) -> list[str]:
    return list(inspector.get_table_names(schema=schema)) + list(inspector.get_view_names(schema=schema))


def _resolve(known: list[str], name: str, table: str, schema, shown: str, log: ProblemLog) -> str | None:
    """The database's own spelling of ``name``: exact, else the one name equal but for case."""
    if name in known:
        return name
    same = sorted(k for k in known if k.lower() == name.lower())
    if len(same) > 1:
        log.problem(table, None, f"{len(same)} tables or views in {shown} are named {name!r} but for case "
                    f"({', '.join(_qualified(schema, s) for s in same)}); name the one to read exactly in [database.tables]",
                    code="database.ambiguous_table")
        return None
    return same[0] if same else None


def selected_columns(table: str, columns: list[str], config: Config) -> list[str]:
    """The columns of ``table``'s database table the loader uses, or all of them when one it needs is missing.

    Names compare as :func:`~mqa.features.history.map_columns` compares
    them (trimmed, any case). A missing required, mapped, joined, declared or
    one-of column selects everything: the message then reads the whole header,
    as it reads a file's.
    """
    # Imported here: history imports this module's reader.
    from .history import table_for

    spec = table_for(table, config)
    mapping = config.columns.get(table, {})
    joins = config.joins.get(table, {})
    have = {str(col).strip().lower() for col in columns}
    source = {col: mapping.get(col, col).strip().lower() for col in spec.names}
    parts = {p.strip().lower() for ps in joins.values() for p in ps}
    needed = set(source.values()) | parts | set(spec.names)
    complete = (
        all(source[col.name] in have for col in spec.columns if (col.required or col.declared) and col.name not in joins)
        and all(v.strip().lower() in have for v in mapping.values())
        and parts <= have
        and all(any(source[col] in have or col in joins for col in group) for group in spec.one_of)
    )
    if not complete:
        return list(columns)
    return [col for col in columns if str(col).strip().lower() in needed]


def native_values(raw: pd.DataFrame) -> pd.DataFrame:
    """A database's values as Parquet's: ``NUMERIC`` columns (``Decimal`` objects) become numbers.

    Whole decimals that fit become nullable integers (an id stored as
    ``NUMERIC(18, 0)`` reads ``123``, not ``123.0``), others floats.
    Timestamps, dates, booleans and text are left as the driver gave them:
    :mod:`~mqa.features.coerce` reads them as it reads Parquet's.
    """
    out = raw
    for col in raw.columns:
        s = raw[col]
        if s.dtype != object:
            continue
        present = s.dropna()
        if not len(present) or not all(isinstance(v, Decimal) for v in present):
            continue
        finite = all(v.is_finite() for v in present)
        whole = finite and all(v == v.to_integral_value() and abs(v) < 2 ** 63 for v in present)
        if whole:
            values = pd.array([int(v) if isinstance(v, Decimal) else None for v in s], dtype="Int64")
        else:
            values = pd.to_numeric(s.map(lambda v: float(v) if isinstance(v, Decimal) else np.nan), errors="coerce")
        if out is raw:
            out = raw.copy()
        out[col] = pd.Series(values, index=raw.index)
    return out


def missing_table_hint(table: str, config: Config, url: str) -> str:
    """How a required table that the database lacks must be named, for the ``tables.missing`` message."""
    schema, name = table_names(config)[table]
    where = f"schema {schema} of " if schema else ""
    mapped = " (its name in [database.tables])" if table in config.file.database.tables.names() else ""
    return (f"no table or view named {name!r}{mapped} in {where}{display_url(url)}; create it (a view over your own "
            f"table works), or name yours in [database.tables] {table} = \"...\"")


# --------------------------------------------------------------------------- writing

def sql_types(frame: pd.DataFrame) -> dict:
    """An explicit SQLAlchemy type per column: timestamps time-zone aware, numbers, booleans, text."""
    import sqlalchemy as sa

    out = {}
    for col in frame.columns:
        dtype = frame[col].dtype
        if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
            out[col] = sa.DateTime(timezone=True)
        elif pd.api.types.is_bool_dtype(dtype):
            out[col] = sa.Boolean()
        elif pd.api.types.is_integer_dtype(dtype):
            out[col] = sa.BigInteger()
        elif pd.api.types.is_float_dtype(dtype):
            out[col] = sa.Float(53)
        else:
            out[col] = sa.Text()
    return out


def _for_sql(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps in UTC (naive ones are UTC), so that a database without time zones (SQLite) stores UTC."""
    out = frame.copy()
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            out[col] = s.dt.tz_convert("UTC")
        elif pd.api.types.is_datetime64_dtype(s.dtype):
            out[col] = s.dt.tz_localize("UTC")
    return out


def _copy_rows(table, conn, keys, rows) -> int:
    """pandas' ``to_sql`` method for psycopg: PostgreSQL's COPY, several times faster than INSERTs.

    COPY also fills the table's pages in order, so a plain ``SELECT`` gives
    the rows back in the order they were written.
    """
    from psycopg import sql

    target = sql.Identifier(*([table.schema] if table.schema else []), table.name)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(target, sql.SQL(", ").join(sql.Identifier(k) for k in keys))
    count = 0
    with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _make_sqlite_folder(url: str) -> None:
    """Create the folder of a new SQLite file (``sqlite:///data/demo.db``), as writing to a folder creates it."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - engine_for words a bad URL
        return
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not parsed.database.startswith("file:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def write_sql_history(tables: dict[str, pd.DataFrame], url: str, overwrite: bool = False) -> list[str]:
    """Write a set of contract tables into a database, one table each, all or nothing.

    Parameters
    ----------
    tables : dict
        ``{table name: DataFrame}``.
    url : str
        SQLAlchemy URL; the tables go into the default schema.
    overwrite : bool
        Replace the contract's tables already there (every one of them, so
        that no old table mixes into the new history). Nothing else is
        dropped. Without it a database that holds a contract table is refused.

    Returns
    -------
    list of str
        The tables written.

    Raises
    ------
    FileExistsError
        The database holds a contract table and ``overwrite`` is false, or
        one is a view (mqa drops only tables).
    DatabaseError
        The URL cannot be used, or the write failed (nothing was written:
        one transaction).
    """
    import sqlalchemy as sa

    shown = display_url(url)
    unknown = sorted(set(tables) - set(c.TABLES))
    if unknown:
        raise ValueError(f"unknown table name(s) {', '.join(unknown)}; use the contract's: {', '.join(c.TABLE_ORDER)}")
    _make_sqlite_folder(url)
    engine = engine_for(url)
    if engine.dialect.name == "sqlite":
        # pysqlite runs DDL outside its implicit transaction: take the
        # transaction in hand, so that a failure drops and creates nothing.
        @sa.event.listens_for(engine, "connect")
        def _no_implicit(dbapi_connection, record):
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")

        engine.dispose()
    try:
        inspector = sa.inspect(engine)
        ours = {n.lower() for n in c.TABLES}
        existing = [n for n in inspector.get_table_names() if n.lower() in ours]
        views = [n for n in inspector.get_view_names() if n.lower() in ours]
        if views:
            raise FileExistsError(f"{shown} has view(s) named as contract tables ({', '.join(sorted(views))}); mqa replaces "
                                  "tables only: drop the views yourself, or write to another database")
        if existing and not overwrite:
            raise FileExistsError(f"{shown} already holds a CRM history (tables {', '.join(sorted(existing))}); choose "
                                  "another database or pass --overwrite (which replaces the contract's tables only)")
        try:
            with engine.begin() as conn:
                for name in existing:
                    conn.execute(sa.schema.DropTable(sa.Table(name, sa.MetaData())))
                method = _copy_rows if engine.dialect.driver == "psycopg" else None
                for name, frame in tables.items():
                    frame = _for_sql(frame)
                    frame.to_sql(name, conn, if_exists="fail", index=False, dtype=sql_types(frame), chunksize=50_000,
                                 method=method)
        except (sa.exc.SQLAlchemyError, pd.errors.DatabaseError) as exc:
            raise DatabaseError(f"{shown}: writing the history failed ({_reason(exc, engine.url.password)}); nothing was "
                                "written. Check that the user may create tables there") from None
    finally:
        engine.dispose()
    return list(tables)


__all__ = ["CONNECT_TIMEOUT", "DatabaseError", "display_url", "engine_for", "is_url", "missing_table_hint", "native_values",
           "read_sql_tables", "selected_columns", "sqlite_file", "table_names", "write_sql_history"]
