"""Reading and validating a CRM history folder.

:func:`read_history` is the one entry point: it finds the table files, reads
them, maps the user's column names, converts every value to the contract's
type, checks the whole history, and only then ties contacts, activities,
intent and signals to accounts. Every contract breach found anywhere is raised
together in one :class:`~mqa.features.problems.DataError`; problems that lose
nothing become notices in :attr:`History.notices`.

``read_history`` is a composition of public stages, which the Spark engine
(:mod:`mqa.spark`) runs too, on its driver or chunk by chunk on its executors.
Each stage returns frames; it records what it finds, with a stable code, in
the :class:`~mqa.features.problems.ProblemLog` it is given, and its matching
counts in the :class:`~mqa.features.matching.MatchReport` it is given (the
idiom of :mod:`~mqa.features.matching`), so that one log keeps every problem
in read order across stages:

1. Read and type: :func:`check_required_tables`, :func:`map_columns`,
   :func:`type_table` (and :func:`empty_table` for a table that is not there).
2. Check across tables: :func:`check_references`.
3. Match: :func:`match_contacts_to_accounts`, :func:`match_events_to_accounts`,
   :func:`match_activities_to_accounts` (:func:`note_activity_matching` for
   its notices when the counts are summed elsewhere).
4. Clean: :func:`clean_activities` (:func:`activity_types`,
   :func:`unknown_types_notice`, :func:`drop_duplicate_activities`),
   :func:`fill_topics` (:func:`activity_topics`, :func:`url_paths`,
   :func:`topics_notice`), :func:`clean_opportunities`,
   :func:`clean_opportunity_contacts`.
5. Warn: :func:`note_suspicious_times`; then :func:`canonical_order`.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import contract as c
from .coerce import CONVERTERS, EXPECTED, empty_column, is_missing
from .config import Config
from .files import discover, expected_files, read_raw
from .matching import (
    FREE_MAIL_DOMAINS,
    MatchReport,
    domain_index,
    match_activities,
    match_by_account_or_domain,
    match_contacts,
)
from .problems import DataError, Notice, Problem, ProblemLog, examples
from .sql import display_url, is_url, missing_table_hint, read_sql_tables
from .text import map_unique
from .titles import complete_roles


@dataclass
class History:
    """A validated CRM history.

    Attributes
    ----------
    tables : dict of DataFrame
        Every contract table, always present: a table missing from the folder
        is an empty frame with the contract's columns and dtypes. All contract
        columns exist (missing ones are all-NA). Timestamps are UTC.
        ``contacts`` gains ``email_domain`` and ``matched_by``; ``activities``
        gains ``matched_by`` and has ``account_id`` filled by matching (empty
        where unmatched), and ``topic`` in lower case, taken from ``url`` where
        none is given (``[topics] url_prefixes``, :func:`fill_topics`);
        ``intent`` and ``signals`` have ``account_id`` filled from ``domain``
        where needed.
    present : tuple of str
        Tables that were in the folder.
    files : dict
        ``{table: file name}``.
    notices : list of Notice
        What was reported without stopping the run.
    matching : MatchReport
        How rows were tied to accounts.
    columns : dict
        ``{table: contract columns given in its file}`` (after mapping);
        every other contract column is all-NA in :attr:`tables`.
    attributes : tuple of (str, str)
        The declared attribute columns read into ``accounts``, ``(column, kind)``.
    inputs : frozenset of str, optional
        Set on a part of a history (a Spark bucket of accounts): the
        ``table.column`` inputs the whole history provides, which
        :func:`~mqa.features.inputs.provided_inputs` then returns.
    won_roles : DataFrame, optional
        Set on a part of a history too: the contacts the whole history's won
        opportunities name, which the buying-group templates learn from
        (:func:`mqa.features.groups.won_roles`).
    """

    tables: dict[str, pd.DataFrame]
    present: tuple[str, ...]
    files: dict[str, str]
    notices: list[Notice] = field(default_factory=list)
    matching: MatchReport = field(default_factory=MatchReport)
    folder: str = ""
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    attributes: tuple[tuple[str, str], ...] = ()
    inputs: frozenset[str] | None = None
    won_roles: pd.DataFrame | None = None

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def date_range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """Earliest and latest event time over activities, intent, signals and opportunities."""
        stamps = [
            self.tables["activities"]["timestamp"],
            self.tables["intent"]["date"],
            self.tables["signals"]["date"],
            self.tables["opportunities"]["created_at"],
            self.tables["opportunities"]["closed_at"],
        ]
        lows = [s.min() for s in stamps if s.notna().any()]
        highs = [s.max() for s in stamps if s.notna().any()]
        return (min(lows), max(highs)) if lows else (None, None)

    def summary(self) -> str:
        """A short human summary: rows per table, date range, matching, notices.

        It names tables, counts and domains only: never a person's name or email.
        """
        lines = [f"CRM history {self.folder}".rstrip()]
        for name in c.TABLE_ORDER:
            if name in self.present:
                lines.append(f"  {_name_and_count(name, f'{len(self.tables[name]):,}')} rows  ({self.files[name]})")
            else:
                lines.append(f"  {_name_and_count(name, '-')}       (no file: no such signal)")
        lo, hi = self.date_range()
        if lo is not None:
            lines.append(f"  events from {lo:%Y-%m-%d} to {hi:%Y-%m-%d}")
        m = self.matching
        if m.activities_total:
            by = ", ".join(f"{k} {v:,}" for k, v in m.activities_by_method.items())
            lines.append(
                f"  activity match rate {m.match_rate:.1%}: {m.activities_total - m.activities_unmatched:,} of "
                f"{m.activities_total:,} matched ({by}); {m.activities_unmatched:,} unmatched"
            )
        if "contacts" in self.present:
            lines.append(
                f"  contacts matched by email domain {m.contacts_matched_by_domain:,}; without an account {m.contacts_unmatched:,}"
            )
        if m.ambiguous_domains:
            lines.append(f"  domains shared by several accounts: {len(m.ambiguous_domains):,} (oldest account chosen)")
        # Imported here: the feature registry builds on this module.
        from .inputs import usable_features

        usable, empty = usable_features(self)
        if empty:
            lines.append(f"  features: {len(usable):,} with signal; empty (left out of a model):")
            lines.extend(f"    - {note}" for note in empty)
        else:
            lines.append(f"  features: all {len(usable):,} have signal")
        if self.notices:
            lines.append(f"  reported ({len(self.notices)}):")
            lines.extend(f"    - {n}" for n in self.notices)
        else:
            lines.append("  nothing to report")
        return "\n".join(lines)


def _name_and_count(name: str, count: str) -> str:
    """A table's name and its count in 26 columns, the count right-aligned (a longer name eats into the count's room)."""
    room = max(12 - max(len(name) - 14, 0), len(count) + 1)
    return f"{name:<14}{count:>{room}}"


def read_history(folder: str | Path | Mapping[str, pd.DataFrame], config: Config | None = None,
                 purpose: str = "train") -> History:
    """Read, validate and match a CRM history: a folder of table files, a database, or a dict of DataFrames.

    Parameters
    ----------
    folder : path, str or dict of DataFrame
        Folder with one file per table (see ``DATA_CONTRACT.md``); a
        SQLAlchemy URL (``sqlite:///crm.db``, ``postgresql://user@host/db``)
        of a database with one table or view per contract table
        (:func:`~mqa.features.sql.read_sql_tables`; ``History.folder`` is
        then the URL with its password hidden); or ``{table name:
        DataFrame}``. Rows from a database or frames are checked, typed and
        matched by the same code as files (their columns as Parquet's would
        be: typed values, or text as a CSV gives).
    config : Config, optional
        Column-name mapping (and ``[database]``, and ``[topics]`` for the
        activities' topics); defaults to none.
    purpose : {'train', 'predict'}
        Which tables are required: training needs ``accounts`` and
        ``opportunities``, prediction only ``accounts``.

    Returns
    -------
    History

    Raises
    ------
    DataError
        One error listing every contract breach found (table, column, how
        many rows, example rows and values).
    DatabaseError
        A database URL that cannot be used: bad URL, driver not installed,
        server unreachable, no such SQLite file.
    """
    if purpose not in c.REQUIRED_TABLES:
        raise ValueError(f"purpose must be one of {', '.join(c.REQUIRED_TABLES)}, not {purpose!r}")
    config = config or Config()
    log = ProblemLog()
    hint = None
    shown_files: dict[str, str] | None = None
    if isinstance(folder, Mapping):
        raws, files = frames_as_raw(folder, log)
        folder = ""
    elif is_url(folder):
        url = str(folder)
        raws, files = read_sql_tables(url, config, log)
        folder = display_url(url)
        hint = functools.partial(missing_table_hint, config=config, url=url)
        # The summary's heading names the database; each table is named by its table.
        shown_files = {name: label.removesuffix(f" in {folder}") for name, label in files.items()}
    else:
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError([missing_folder(folder)])
        paths = discover(folder, log, config.tables)
        raws = {name: read_raw(path, name, log) for name, path in paths.items()}
        files = {name: path.name for name, path in paths.items()}
    check_required_tables(files, purpose, log, file_names=config.tables, hint=hint)

    tables: dict[str, pd.DataFrame] = {}
    given: dict[str, tuple[str, ...]] = {}
    for name, raw in raws.items():
        if raw is None:
            continue
        raw, joined = join_columns(raw, name, files[name], config.joins.get(name, {}), log)
        frame = type_table(table_for(name, config), raw, files[name], log, mapping=dict(config.columns.get(name, {}), **joined),
                           required=name in c.REQUIRED_TABLES[purpose], given=given)
        if frame is not None:
            tables[name] = frame

    if "accounts" in tables:
        check_references(tables, log, found=files)
    log.raise_if_any(str(folder) or "given as DataFrames")

    present = tuple(n for n in c.TABLE_ORDER if n in tables)
    for name in c.TABLE_ORDER:
        if name not in tables:
            tables[name] = empty_table(c.TABLES[name])
    report = MatchReport()
    tables = _match_and_clean(tables, log, report, topics=config.features.topic_url_prefixes)
    note_suspicious_times(tables, log)
    tables = canonical_order(tables)
    return History(
        tables=tables,
        present=present,
        files={n: (shown_files or files)[n] for n in present},
        notices=log.notices,
        matching=report,
        folder=str(folder),
        columns={n: given.get(n, ()) for n in present},
        attributes=config.features.attributes,
    )


def frames_as_raw(frames: Mapping[str, pd.DataFrame], log: ProblemLog) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Stage 1 for a dict of DataFrames: each contract table's frame as a file's raw frame, and its name for messages.

    Parameters
    ----------
    frames : dict of DataFrame
        ``{table name: DataFrame}``; the names are the contract's.
    log : ProblemLog
        Receives ``tables.unknown`` for a name that is not a contract table and
        ``tables.not_a_frame`` for a value that is not a DataFrame.

    Returns
    -------
    raws : dict of DataFrame
        The frames, in the contract's table order (unchanged: pandas copies on write).
    names : dict of str
        ``{table: "<table> DataFrame"}``, which messages name as they name a file.
    """
    raws: dict[str, pd.DataFrame] = {}
    names: dict[str, str] = {}
    for table in c.TABLE_ORDER:
        if table not in frames:
            continue
        value = frames[table]
        if not isinstance(value, pd.DataFrame):
            log.problem(table, None, f"must be a pandas DataFrame, not {type(value).__name__}; pass "
                        f"{{'{table}': DataFrame, ...}}", code="tables.not_a_frame")
            continue
        raws[table], names[table] = value, f"{table} DataFrame"
    unknown = sorted(str(k) for k in set(frames) - set(c.TABLE_ORDER))
    if unknown:
        log.problem(", ".join(unknown), None, f"unknown table name(s); use the contract's: {', '.join(c.TABLE_ORDER)}",
                    code="tables.unknown")
    return raws, names


def _match_and_clean(tables: dict[str, pd.DataFrame], log: ProblemLog, report: MatchReport,
                     topics: tuple[tuple[str, str], ...] = ()) -> dict[str, pd.DataFrame]:
    """Stages 3 and 4 on every table, in the order whose notices read_history lists."""
    account_ids = pd.Index(tables["accounts"]["account_id"])
    contacts, index = match_contacts_to_accounts(tables["accounts"], tables["contacts"], log, report)
    activities = clean_activities(tables["activities"], log)
    activities = fill_topics(activities, topics, log)
    activities = match_activities_to_accounts(activities, contacts, account_ids, index, log, report)
    tables.update(match_events_to_accounts(tables, account_ids, index, log))
    tables["opportunities"] = clean_opportunities(tables["opportunities"])
    tables["opportunity_contacts"] = clean_opportunity_contacts(tables["opportunity_contacts"], log)
    tables["contacts"] = contacts.drop(columns=["given_account_id"])
    tables["activities"] = activities
    return tables


# --------------------------------------------------------------------------- 1. read and type

def missing_folder(folder: str | Path) -> Problem:
    """The problem of a history folder that does not exist (code ``folder.missing``)."""
    return Problem(str(folder), None, "no such folder; pass the folder that holds the table files", code="folder.missing")


def check_required_tables(found, purpose: str, log: ProblemLog, file_names: dict[str, str] | None = None,
                          hint: Callable[[str], str] | None = None) -> None:
    """Record a problem for each table ``purpose`` requires that is not in ``found``.

    Parameters
    ----------
    found : collection of str
        The tables found (``{table: file}`` or table names).
    purpose : {'train', 'predict'}
        Whose required tables (:data:`~mqa.features.contract.REQUIRED_TABLES`).
    log : ProblemLog
        Receives ``tables.missing``; a table that already has a problem (two
        files, say) gets no second one.
    file_names : dict, optional
        ``{table: file name}`` from ``[tables]``, for the message.
    hint : callable, optional
        ``hint(table)``: what to add, for a source that is not a folder (a
        database); by default "add <the table's file> to the folder".
    """
    for name in c.REQUIRED_TABLES[purpose]:
        if name not in found and not any(p.table == name for p in log.problems):
            fix = hint(name) if hint is not None else f"add {expected_files(name, file_names)} to the folder"
            log.problem(name, None, f"required table is missing: {fix}", code="tables.missing")


# A declared attribute's kind and the contract type its values are read as.
ATTRIBUTE_TYPES = {"category": c.STRING, "number": c.NUMBER}


def table_for(name: str, config: Config) -> c.Table:
    """The contract table ``name``, with the attribute columns the configuration declares for it.

    Declared columns are read like contract columns (mapped, matched
    case-insensitively, typed); every other extra column is still dropped.
    """
    table = c.TABLES[name]
    declared = config.features.attributes if name == "accounts" else ()
    if not declared:
        return table
    extra = tuple(c.Column(col, ATTRIBUTE_TYPES[kind], declared=True) for col, kind in declared)
    return c.Table(table.name, table.columns + extra, table.one_of)


def join_columns(raw: pd.DataFrame, table: str, file_name: str, joins: dict[str, tuple[str, ...]],
                 log: ProblemLog) -> tuple[pd.DataFrame, dict[str, str]]:
    """Make each joined contract column (``name = ["FirstName", "LastName"]``) from the user's columns.

    The parts' trimmed, non-empty values are joined with one space; a row
    with none is empty. The new column is added under a name made of its
    parts (``FirstName + LastName``), which the returned mapping maps to the
    contract column, so it wins over a column that happens to carry the
    contract name, as a mapped column does. A part that is not a column of
    the file is a problem and the column is not made.
    """
    if not joins:
        return raw, {}
    normal = {str(col).strip().lower(): col for col in raw.columns}
    raw = raw.copy()
    mapping: dict[str, str] = {}
    for contract_col, parts in joins.items():
        missing = [p for p in parts if p.strip().lower() not in normal]
        if missing:
            log.problem(table, contract_col,
                        f"the configuration joins {', '.join(repr(p) for p in parts)} into it, but "
                        f"{', '.join(repr(p) for p in missing)} {'is' if len(missing) == 1 else 'are'} not a column of "
                        f"{file_name}; fix [columns.{table}] in the configuration", code="columns.join_unknown")
            continue
        columns = [raw[normal[p.strip().lower()]] for p in parts]
        text = [col.astype("string").str.strip().fillna("") for col in columns]
        joined = text[0]
        for part in text[1:]:
            joined = (joined + " " + part).str.strip()
        name = " + ".join(parts)
        raw[name] = joined.astype(object).where(joined != "", None)
        mapping[contract_col] = name
    return raw, mapping


def map_columns(table: c.Table, raw: pd.DataFrame, mapping: dict[str, str], log: ProblemLog) -> pd.DataFrame | None:
    """Rename the user's columns to contract names and keep only the contract's columns.

    Header names are matched case- and space-insensitively; a column the
    configuration maps wins over one that happens to carry the contract name.

    Parameters
    ----------
    table : Table
        The contract table (with any declared attribute columns).
    raw : DataFrame
        The file's columns as read, values untouched.
    mapping : dict
        ``{contract column: user column}`` from ``[columns.<table>]``.
    log : ProblemLog
        Receives ``columns.repeated`` and ``columns.mapping_unknown``.

    Returns
    -------
    DataFrame or None
        ``raw``'s contract columns under contract names, in the contract's
        order; None when the header repeats a name (nothing can be read).
    """
    normal = [str(col).strip().lower() for col in raw.columns]
    seen: dict[str, int] = {}
    for col in normal:
        seen[col] = seen.get(col, 0) + 1
    dup = sorted(col for col, k in seen.items() if k > 1)
    if dup:
        spelled = [str(col) for col in raw.columns if str(col).strip().lower() == dup[0]]
        log.problem(table.name, dup[0], f"appears {len(spelled)} times in the header ({', '.join(repr(x) for x in spelled)}), "
                    "counting names that differ only in case or spaces; keep one column of each name"
                    + (f" (also repeated: {', '.join(dup[1:])})" if len(dup) > 1 else ""), code="columns.repeated")
        return None
    frame = raw.set_axis(normal, axis=1)
    rename = {}
    for contract_col, user_col in mapping.items():
        key = user_col.lower()
        if key not in frame.columns:
            log.problem(
                table.name, contract_col,
                f"the configuration maps it to '{user_col}', which is not a column of the file; "
                f"fix [columns.{table.name}] in the configuration",
                code="columns.mapping_unknown",
            )
            continue
        rename[key] = contract_col
    # A mapped column wins over a column that happens to carry the contract name.
    frame = frame.drop(columns=[col for col in rename.values() if col in frame.columns and col not in rename])
    frame = frame.rename(columns=rename)
    return frame[[col for col in table.names if col in frame.columns]]


def type_table(table: c.Table, raw: pd.DataFrame, file_name: str, log: ProblemLog, *, mapping: dict[str, str] | None = None,
               required: bool = False, given: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame | None:
    """Check one table on its own and return it with the contract's columns and dtypes.

    The table is returned even when it has problems, so that the checks
    across tables still run and the one error lists everything.

    Parameters
    ----------
    table : Table
        The contract table (:func:`table_for`).
    raw : DataFrame
        The file as read (:func:`~mqa.features.files.read_raw`): CSV cells as
        strings, Parquet columns as stored.
    file_name : str
        The file's name, for messages.
    log : ProblemLog
        Receives the table's problems: ``columns.*`` for its header,
        ``tables.empty``, ``values.*`` for its values (every row that breaks
        each check, counted, with example rows) and
        ``opportunities.closed_before_created``.
    mapping : dict, optional
        ``{contract column: user column}`` (:func:`map_columns`).
    required : bool
        The table is required, hence may not be empty.
    given : dict, optional
        Receives ``{table name: contract columns the file holds}``.

    Returns
    -------
    DataFrame or None
        Every column of ``table``, in its order, typed (timestamps UTC;
        columns the file lacks are all-NA); None when the header cannot be
        read at all (:func:`map_columns`).
    """
    frame = map_columns(table, raw, mapping or {}, log)
    if frame is None:
        return None
    if given is not None:
        given[table.name] = tuple(frame.columns)
    missing = [col.name for col in table.columns if col.required and col.name not in frame.columns]
    for col in missing:
        log.problem(table.name, col, f"required column is missing from {file_name}; add it, or map your column name to it in the "
                    f"configuration{_similar_column(col, raw.columns, table, mapping or {})}", code="columns.missing")
    for col in table.columns:
        if col.declared and col.name not in frame.columns:
            log.problem(table.name, col.name,
                        f"is declared in [attributes.{table.name}] but is not a column of {file_name}; add it, map your "
                        f"column name to it in [columns.{table.name}], or remove the declaration", code="columns.declared_missing")
    for group in table.one_of:
        if not any(col in frame.columns for col in group):
            log.problem(table.name, None, f"needs one of the columns {' or '.join(group)}; neither is in {file_name}",
                        code="columns.one_of_missing")
    if required and len(frame) == 0:
        log.problem(table.name, None, f"{file_name} has a header but no rows; a required table cannot be empty", code="tables.empty")

    out = pd.DataFrame(index=frame.index)
    for col in table.columns:
        if col.name not in frame.columns:
            out[col.name] = empty_column(col.kind, frame.index)
            continue
        raw_col = frame[col.name]
        if _holds_lists(raw_col):
            if (table.name, col.name) == ("accounts", "technologies"):
                # A Parquet list of technologies is the contract's ';'-separated list.
                raw_col = raw_col.map(lambda v: ";".join(str(x) for x in v if x is not None) if _is_list(v) else v)
            else:
                log.problem(table.name, col.name, f"holds lists (a Parquet list column) in {file_name}; the contract wants "
                            "one value per cell: export the column as plain values", code="columns.lists")
                out[col.name] = empty_column(col.kind, frame.index)
                continue
        values, bad = CONVERTERS[col.kind](raw_col)
        if bad.any():
            log.problem(table.name, col.name, f"must be {EXPECTED.get(col.kind, 'a ' + col.kind)}; some values are not",
                        bad, raw_col.astype(object), col.personal, code="values.type")
        if col.required:
            empty = is_missing(raw_col)
            if empty.any():
                log.problem(table.name, col.name, "is required but empty", empty, code="values.required")
        if col.minimum is not None or col.maximum is not None:
            out_of_range = values.notna() & (
                (values < col.minimum if col.minimum is not None else False)
                | (values > col.maximum if col.maximum is not None else False)
            )
            out_of_range = out_of_range.fillna(False).astype(bool)
            if out_of_range.any():
                log.problem(table.name, col.name, f"must be {_range_text(col)}; some values are not",
                            out_of_range, raw_col.astype(object), col.personal, code="values.range")
        if col.choices:
            # Case and surrounding spaces carry no meaning: " Accepted" is accepted.
            values = values.str.strip().str.lower()
            outside = (values.notna() & ~values.isin(col.choices)).to_numpy(dtype=bool)
            if outside.any():
                log.problem(table.name, col.name, f"must be one of {', '.join(col.choices)} (in any case); some values are "
                            f"not: fix them in {file_name} or map your values onto these",
                            outside, raw_col.astype(object), col.personal, code="values.choice")
        if col.unique:
            dup = values.notna() & values.duplicated(keep=False)
            if dup.any():
                log.problem(table.name, col.name, "must be unique; some ids repeat (every copy is listed)",
                            dup, raw_col.astype(object), col.personal, code="values.not_unique")
        out[col.name] = values

    if table.name == "opportunities" and "closed_at" in frame.columns:
        before = (out["closed_at"] < out["created_at"]).fillna(False).astype(bool)
        if before.any():
            log.problem("opportunities", "closed_at", "is before created_at; an opportunity cannot close before it is created",
                        before, out["opportunity_id"].astype(object), code="opportunities.closed_before_created")
    return out


def _similar_column(col: str, header, table: c.Table, mapping: dict[str, str]) -> str:
    """`` (did you mean 'AccountId'? ...)`` for the header's closest unused name to a missing ``col``, or nothing."""
    used = set(table.names) | {v.strip().lower() for v in mapping.values()}
    spelled = {str(h).strip().lower(): str(h).strip() for h in header if str(h).strip().lower() not in used}
    close = difflib.get_close_matches(col, list(spelled), n=1, cutoff=0.75)
    if not close:
        return ""
    name = spelled[close[0]]
    return f" (did you mean {name!r}? [columns.{table.name}] {col} = \"{name}\")"


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _holds_lists(raw: pd.Series) -> bool:
    """Whether a raw column holds lists (a Parquet list column arrives as arrays in an object column)."""
    if raw.dtype != object:
        return False
    present = raw.dropna()
    return bool(len(present)) and _is_list(present.iloc[0])


def _range_text(col: c.Column) -> str:
    if col.minimum is not None and col.maximum is not None:
        return f"between {col.minimum:g} and {col.maximum:g}"
    if col.minimum is not None:
        return f">= {col.minimum:g}"
    return f"<= {col.maximum:g}"


def empty_table(table: c.Table) -> pd.DataFrame:
    """A table with no rows and every column of ``table``, in the contract's dtypes (a table the folder lacks)."""
    index = pd.RangeIndex(0)
    return pd.DataFrame({col.name: empty_column(col.kind, index) for col in table.columns}, index=index)


# --------------------------------------------------------------------------- 2. check across tables

def check_references(tables: dict[str, pd.DataFrame], log: ProblemLog, found=None) -> None:
    """Check that rows point at rows of other tables that exist.

    Contacts, opportunities and dispositions point at accounts;
    opportunity_contacts at opportunities and contacts, which it therefore
    needs: without them its rows can be neither checked nor dated (a role is
    known from its opportunity's ``created_at``).

    Parameters
    ----------
    tables : dict of DataFrame
        Typed tables (:func:`type_table`), ``accounts`` among them; a table
        absent from the dict is not checked.
    log : ProblemLog
        Receives ``references.unknown_account`` per table,
        ``references.unknown_opportunity`` and ``references.unknown_contact``
        with their rows, and ``references.table_missing`` when
        opportunity_contacts lacks the table it points at.
    found : collection of str, optional
        The tables the source holds, read or not (default: ``tables``'):
        a table that is there but could not be read already has its problem,
        and is not said to be missing.
    """
    known = pd.Index(tables["accounts"]["account_id"].dropna())
    for name in ("contacts", "opportunities", "dispositions"):
        if name not in tables:
            continue
        ids = tables[name]["account_id"]
        unknown = ids.notna() & ~ids.isin(known)
        if unknown.any():
            log.problem(name, "account_id", "points at an account that is not in the accounts table; add the account or fix the id",
                        unknown, ids.astype(object), code="references.unknown_account")
    if "opportunity_contacts" not in tables:
        return
    found = set(tables) if found is None else set(found)
    roles = tables["opportunity_contacts"]
    for column, target, key, noun in (("opportunity_id", "opportunities", "opportunity_id", "opportunity"),
                                      ("contact_id", "contacts", "contact_id", "contact")):
        if target not in tables:
            if target not in found:
                log.problem("opportunity_contacts", column,
                            f"points at {target}, but the history has no {target} table, so no row can be checked"
                            + (" or dated (a role is known from its opportunity's created_at)" if target == "opportunities" else "")
                            + f"; add the {target} table, or leave opportunity_contacts out", code="references.table_missing")
            continue
        ids = roles[column]
        unknown = ids.notna() & ~ids.isin(pd.Index(tables[target][key].dropna()))
        if unknown.any():
            log.problem("opportunity_contacts", column, f"points at {'an' if noun[0] in 'aeiou' else 'a'} {noun} that is not in "
                        f"the {target} table; add the {noun} or fix the id", unknown, ids.astype(object),
                        code=f"references.unknown_{noun}")


# The tables whose order reaches the features and the model, and the unique id that orders each.
ORDER_KEYS = {"accounts": "account_id", "contacts": "contact_id", "opportunities": "opportunity_id",
              # No id of its own: by time, then what it says (the full row, so an export's order never matters).
              "dispositions": ["date", "account_id", "disposition", "reason", "owner"],
              # No id nor time of its own: by opportunity and person, then the rest of the row.
              "opportunity_contacts": ["opportunity_id", "contact_id", "role", "is_primary"]}


def canonical_order(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Every table of :data:`ORDER_KEYS` in its keys' order, so that an export's row order never matters.

    The accounts' order is the grid's, hence the order of the training rows
    LightGBM sums gradients over and of the predict output; the same export
    with its rows shuffled must give the same bytes. Run after every check, so
    that problems and notices number rows as the files do.
    """
    out = dict(tables)
    for name, key in ORDER_KEYS.items():
        t = out.get(name)
        if t is not None and len(t) > 1:
            out[name] = t.sort_values(key, kind="stable", na_position="last").reset_index(drop=True)
    return out


# --------------------------------------------------------------------------- 3. match

def match_contacts_to_accounts(accounts: pd.DataFrame, contacts: pd.DataFrame, log: ProblemLog,
                               report: MatchReport) -> tuple[pd.DataFrame, pd.Series]:
    """The accounts' domain index, and contacts with roles completed and accounts matched.

    Parameters
    ----------
    accounts, contacts : DataFrame
        Typed tables (:func:`type_table`).
    log : ProblemLog
        Receives ``accounts.free_mail_domain``, ``accounts.shared_domain``
        and ``contacts.unmatched``.
    report : MatchReport
        Receives ``ambiguous_domains`` and the contact counts.

    Returns
    -------
    contacts : DataFrame
        With ``email_domain``, ``matched_by``, ``account_id`` filled from the
        email domain where empty, and ``given_account_id`` (the id the file
        gave), which activity matching needs and the History drops.
    index : Series
        ``{domain: account_id}`` (:func:`~mqa.features.matching.domain_index`).
    """
    free = accounts["domain"].isin(FREE_MAIL_DOMAINS)
    if free.any():
        log.notice("accounts", "domain", "is a free-mail domain, which never matches anything", free, accounts["domain"].astype(object),
                   code="accounts.free_mail_domain")
    index, ambiguous = domain_index(accounts)
    report.ambiguous_domains = ambiguous
    if ambiguous:
        shown = list(ambiguous.items())[:3]
        text = "; ".join(f"{d}: {', '.join(ids)}" for d, ids in shown)
        log.notice("accounts", "domain", f"{len(ambiguous)} domain(s) belong to several accounts; each is matched to the oldest account ({text})",
                   code="accounts.shared_domain")

    contacts = complete_roles(contacts)
    contacts["given_account_id"] = contacts["account_id"]
    contacts = match_contacts(contacts, index, report)
    if report.contacts_unmatched:
        log.notice("contacts", "account_id", "has no account and the email domain matches none; these contacts' activities count only where another clue matches",
                   contacts["account_id"].isna(), code="contacts.unmatched")
    return contacts, index


def match_activities_to_accounts(activities: pd.DataFrame, contacts: pd.DataFrame, account_ids: pd.Index, index: pd.Series,
                                 log: ProblemLog, report: MatchReport) -> pd.DataFrame:
    """Activities tied to accounts by the contract's order of clues (:func:`~mqa.features.matching.match_activities`).

    Parameters
    ----------
    activities : DataFrame
        Cleaned activities (:func:`clean_activities`).
    contacts : DataFrame
        Matched contacts with ``given_account_id`` (:func:`match_contacts_to_accounts`).
    account_ids : Index
        The accounts' ids.
    index : Series
        The accounts' domain index.
    log : ProblemLog
        Receives the notices of :func:`note_activity_matching`.
    report : MatchReport
        Receives the activity counts.

    Returns
    -------
    DataFrame
        ``activities`` with ``account_id`` filled (empty where unmatched) and
        ``matched_by``.
    """
    out = match_activities(activities, contacts, account_ids, index, report)
    note_activity_matching(log, report, out["account_id"].isna())
    return out


def note_activity_matching(log: ProblemLog, report: MatchReport, unmatched: pd.Series | None = None) -> None:
    """Record the notices of activity matching from a matching ``report``.

    Parameters
    ----------
    log : ProblemLog
        Receives ``activities.unmatched`` and ``activities.unknown_account_id``.
    report : MatchReport
        Activity counts, of one frame or summed over chunks.
    unmatched : Series of bool, optional
        The unmatched rows, for example rows; without it the notice has its
        count and no examples (a caller that sees the whole table sets them).
    """
    if report.activities_unmatched:
        log.notice("activities", "account_id", f"{report.activities_unmatched:,} of {report.activities_total:,} activities match no account "
                   f"({report.free_mail_rows:,} only by a free-mail address); they are kept but count for no account",
                   unmatched, code="activities.unmatched")
    if report.unknown_account_ids:
        log.notice("activities", "account_id", f"{report.unknown_account_ids:,} activities name an account id that is not in accounts; the next clue was used",
                   code="activities.unknown_account_id")


def match_events_to_accounts(tables: dict[str, pd.DataFrame], account_ids: pd.Index, index: pd.Series,
                             log: ProblemLog) -> dict[str, pd.DataFrame]:
    """Intent and signal rows tied to accounts by ``account_id`` or ``domain``, with their vocabulary cleaned.

    Parameters
    ----------
    tables : dict of DataFrame
        With typed ``intent`` and ``signals`` (empty tables where absent).
    account_ids : Index
        The accounts' ids.
    index : Series
        The accounts' domain index (:func:`match_contacts_to_accounts`).
    log : ProblemLog
        Receives ``intent.unmatched`` and ``signals.unmatched``.

    Returns
    -------
    dict of DataFrame
        ``{"intent": ..., "signals": ...}``, new frames: ``account_id``
        filled (empty where unmatched), signal types in lower case, intent
        topics stripped.
    """
    out = {}
    for name in ("intent", "signals"):
        t = tables[name].copy()
        t["account_id"] = match_by_account_or_domain(t, account_ids, index)
        unmatched = t["account_id"].isna()
        if unmatched.any():
            log.notice(name, "account_id", "matches no account by account_id or domain; these rows count for no account", unmatched,
                       (t["domain"] if "domain" in t else t["account_id"]).astype(object), code=f"{name}.unmatched")
        if name == "signals":
            t["type"] = t["type"].str.lower()
        else:
            t["topic"] = t["topic"].str.strip()
        out[name] = t
    return out


# --------------------------------------------------------------------------- 4. clean

def clean_opportunities(opportunities: pd.DataFrame) -> pd.DataFrame:
    """Opportunities with their ``type`` in lower case (a new frame)."""
    opp = opportunities.copy()
    opp["type"] = opp["type"].str.lower()
    return opp


def clean_opportunity_contacts(roles: pd.DataFrame, log: ProblemLog) -> pd.DataFrame:
    """Opportunity contact roles with ``role`` trimmed in lower case, and one row per person and opportunity.

    A person on one opportunity twice (an export of two role records) is one
    row: the primary one is kept, then the first role in alphabetical order,
    never by row order, so that two exports that list rows differently load
    the same.

    Parameters
    ----------
    roles : DataFrame
        Typed opportunity_contacts (:func:`type_table`).
    log : ProblemLog
        Receives ``opportunity_contacts.duplicate`` with the dropped rows.

    Returns
    -------
    DataFrame
        A new frame, its index unchanged.
    """
    out = roles.copy()
    out["role"] = out["role"].str.strip().str.lower()
    pair = ["opportunity_id", "contact_id"]
    repeated = (out[pair].notna().all(axis=1) & out.duplicated(pair, keep=False)).to_numpy(dtype=bool)
    if repeated.any():
        rank = out.loc[repeated, pair + ["role"]].assign(_secondary=~out.loc[repeated, "is_primary"].fillna(False).astype(bool))
        kept = rank.sort_values(pair + ["_secondary", "role"], na_position="last", kind="stable").drop_duplicates(pair).index
        dup = repeated & ~out.index.isin(kept)
        log.notice("opportunity_contacts", "contact_id", "names one person twice on one opportunity; one row is kept (the "
                   "primary one, then the first role in alphabetical order) and the others are dropped as duplicates",
                   dup, (out["opportunity_id"] + " / " + out["contact_id"]).astype(object),
                   code="opportunity_contacts.duplicate")
        out = out[~dup]
    return out


def url_paths(urls: pd.Series) -> pd.Series:
    """Each URL's path in lower case, without scheme, host, query and fragment: ``https://V.com/A?b`` is ``/a``.

    A URL without a scheme may start with its host (``www.vendor.com/a``); a
    URL with a host and no path is ``/``. Computed once per distinct URL.
    """
    def path(u: pd.Series) -> pd.Series:
        u = u.str.strip().str.lower()
        # scheme://host or //host; else a bare host (a dotted name) before the path.
        u = u.str.replace(r"^(?:[a-z][a-z0-9+.\-]*:)?//[^/?#]*|^[a-z0-9\-]+(?:\.[a-z0-9\-]+)+(?::\d+)?(?=[/?#]|$)", "",
                          regex=True)
        u = u.str.replace(r"[?#].*$", "", regex=True)
        return u.mask(u.eq(""), "/")
    return map_unique(urls, path)


def activity_topics(activities: pd.DataFrame, prefixes: tuple[tuple[str, str], ...] = ()) -> tuple[pd.Series, pd.Series]:
    """Each activity's topic, and where it came from its URL.

    Parameters
    ----------
    activities : DataFrame
        With ``topic`` and ``url``.
    prefixes : tuple of (str, str)
        ``(path prefix, topic)``, lower case
        (:attr:`~mqa.features.config.FeatureSettings.topic_url_prefixes`).

    Returns
    -------
    topic : Series of str
        The given topic trimmed in lower case; where none is given, the topic
        of the longest prefix the URL's path (:func:`url_paths`) starts with;
        else missing.
    from_url : Series of bool
        Where the topic came from the URL.
    """
    given = map_unique(activities["topic"], lambda t: t.str.strip().str.lower())
    given = given.mask(given.eq(""))
    if not prefixes or not len(activities):
        return given, pd.Series(False, index=activities.index)

    def topic_of(paths: pd.Series) -> pd.Series:
        out = pd.Series(pd.NA, index=paths.index, dtype="str")
        # Shortest first, so that a longer prefix overwrites it: the longest wins.
        for prefix, topic in sorted(prefixes, key=lambda p: len(p[0])):
            out = out.mask(paths.str.startswith(prefix).fillna(False).astype(bool), topic)
        return out

    derived = map_unique(url_paths(activities["url"]), topic_of)
    from_url = (given.isna() & derived.notna()).to_numpy(dtype=bool)
    return given.mask(from_url, derived), pd.Series(from_url, index=activities.index)


def fill_topics(activities: pd.DataFrame, prefixes: tuple[tuple[str, str], ...], log: ProblemLog) -> pd.DataFrame:
    """Activities with their topic in lower case, taken from the URL where none is given (:func:`activity_topics`).

    Parameters
    ----------
    activities : DataFrame
        Cleaned activities (:func:`clean_activities`).
    prefixes : tuple of (str, str)
        ``[topics] url_prefixes``.
    log : ProblemLog
        Receives ``activities.topic_from_url`` (:func:`topics_notice`).

    Returns
    -------
    DataFrame
        A new frame.
    """
    out = activities.copy()
    topic, from_url = activity_topics(out, prefixes)
    out["topic"] = topic
    if from_url.any():
        log.notices.append(topics_notice(len(out), *examples(from_url, topic.astype(object))))
    return out


def topics_notice(total: int, count: int, rows: tuple[int, ...] = (), values: tuple[str, ...] = ()) -> Notice:
    """The notice ``activities.topic_from_url``: how many activities got their topic from their URL.

    Parameters
    ----------
    total : int
        Activities (after duplicates are dropped).
    count : int
        Those whose topic came from the URL.
    rows, values : tuple
        Example rows and their topics (:func:`~mqa.features.problems.examples`).
    """
    return Notice("activities", "topic", f"{count:,} of {total:,} activities have no topic of their own and got one from "
                  "their url by [topics] url_prefixes", count, tuple(rows), tuple(values), code="activities.topic_from_url")


def clean_activities(activities: pd.DataFrame, log: ProblemLog) -> pd.DataFrame:
    """Activity types in the vocabulary, and repeated activity ids dropped.

    Parameters
    ----------
    activities : DataFrame
        Typed activities (:func:`type_table`).
    log : ProblemLog
        Receives ``activities.unknown_type`` (:func:`unknown_types_notice`)
        and ``activities.duplicate_id`` (:func:`drop_duplicate_activities`).

    Returns
    -------
    DataFrame
        A new frame with a fresh ``RangeIndex``: ``type`` in the vocabulary's
        spelling (web visits to a pricing path are ``pricing_page_visit``,
        types outside the vocabulary ``other``), ``sales_touch`` (the given
        type was a rep's call, email or meeting: ``other`` too, not reported
        as unknown), one row per activity id.
    """
    a = activities.copy()
    kind, unknown = activity_types(a)
    if unknown.any():
        log.notices.append(unknown_types_notice(sorted(kind[unknown].unique()), *examples(unknown, kind.astype(object))))
    # A rep's own call, email or meeting is 'other' to the features, as the
    # contract says of a type outside its vocabulary; ``sales_touch`` keeps
    # what it was, for timing sales' first touch after an MQA.
    sales = kind.isin(c.SALES_ACTIVITY_TYPES).fillna(False).to_numpy(dtype=bool)
    a["type"] = kind.mask(unknown | sales, c.OTHER_ACTIVITY)
    a["sales_touch"] = sales
    return drop_duplicate_activities(a, log).reset_index(drop=True)


def activity_types(activities: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Each activity's type in the vocabulary's spelling, and where that type is outside the vocabulary.

    Parameters
    ----------
    activities : DataFrame
        With ``type`` and ``url``.

    Returns
    -------
    kind : Series of str
        ``type`` stripped, lower case, words joined by ``_``; a web visit to
        a ``/pricing`` path is ``pricing_page_visit``.
    unknown : Series of bool
        Where ``kind`` is present and not in the vocabulary.
    """
    kind = map_unique(activities["type"], lambda t: t.str.strip().str.lower().str.replace(r"[\s\-]+", "_", regex=True))
    # The path, not the host or query, decides: vendor.com/pricing is a pricing page,
    # pricing.vendor.com/blog is not.
    on_pricing = map_unique(url_paths(activities["url"]), lambda p: p.str.contains("/pricing", regex=False).astype("str"))
    pricing = kind.eq("web_visit") & on_pricing.eq("True")
    kind = kind.mask(pricing, "pricing_page_visit")
    unknown = kind.notna() & ~kind.isin(c.ACTIVITY_TYPES + c.SALES_ACTIVITY_TYPES)
    return kind, unknown


def unknown_types_notice(names: list[str], count: int, rows: tuple[int, ...] = (), values: tuple[str, ...] = ()) -> Notice:
    """The notice ``activities.unknown_type``: types outside the vocabulary, kept as ``other``.

    Parameters
    ----------
    names : list of str
        Every unknown type, sorted (the first five are named).
    count : int
        Rows with an unknown type.
    rows, values : tuple
        Example rows and their types (:func:`~mqa.features.problems.examples`).
    """
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return Notice("activities", "type", f"unknown activity type(s) kept as '{c.OTHER_ACTIVITY}' ({shown})", count, tuple(rows),
                  tuple(values), code="activities.unknown_type")


def drop_duplicate_activities(activities: pd.DataFrame, log: ProblemLog) -> pd.DataFrame:
    """Activities without repeated ids: one copy of each id is kept.

    The copy kept is the first by content (timestamp, type, contact, account,
    email, url, minutes), not by row order, so that two exports of the same
    data that list rows differently load the same.

    Parameters
    ----------
    activities : DataFrame
        Typed activities with the contract's columns (others are kept).
    log : ProblemLog
        Receives ``activities.duplicate_id`` with the dropped rows.

    Returns
    -------
    DataFrame
        The kept rows, their index unchanged.
    """
    a = activities
    repeated = a["activity_id"].notna() & a["activity_id"].duplicated(keep=False)
    if repeated.any():
        order = ["activity_id", "timestamp", "type", "contact_id", "account_id", "email", "url", "minutes"]
        kept = a.loc[repeated, order].sort_values(order, na_position="last", kind="stable").drop_duplicates("activity_id").index
        dup = repeated & ~a.index.isin(kept)
        log.notice("activities", "activity_id", "repeats another activity's id; one copy is kept (the earliest, then by content) "
                   "and the others are dropped as duplicates", dup, a["activity_id"].astype(object), code="activities.duplicate_id")
        a = a[~dup.to_numpy()]
    return a


# --------------------------------------------------------------------------- 5. warn

# Engagement that stops this long before the last opportunity was exported partially.
STALE_ENGAGEMENT_DAYS = 60


def note_suspicious_times(tables: dict[str, pd.DataFrame], log: ProblemLog) -> None:
    """Record notices for time stamps that load but would mislead a model (see docs/data.md, "Partial histories").

    Parameters
    ----------
    tables : dict of DataFrame
        Every table, matched (activities and opportunities with ``account_id``).
    log : ProblemLog
        Receives ``history.stale_engagement`` (engagement ends more than
        :data:`STALE_ENGAGEMENT_DAYS` before the last opportunity),
        ``opportunities.before_account`` and ``activities.one_day``.
    """
    opps, accounts = tables["opportunities"], tables["accounts"]
    streams = {"activities": tables["activities"]["timestamp"], "intent": tables["intent"]["date"],
               "signals": tables["signals"]["date"]}
    ends = {n: t.max() for n, t in streams.items() if t.notna().any()}
    last_opp = opps["created_at"].max() if opps["created_at"].notna().any() else None
    if ends and last_opp is not None:
        end = max(ends.values())
        gap = (last_opp - end) / pd.Timedelta(days=1)
        if gap > STALE_ENGAGEMENT_DAYS:
            log.notice(
                "activities" if "activities" in ends else next(iter(ends)), None,
                f"the engagement stream ({', '.join(ends)}) ends on {end:%Y-%m-%d}, {gap:.0f} days before the last "
                f"opportunity was created ({last_opp:%Y-%m-%d}); accounts look silent before the later deals, so a model "
                "learns little from engagement. Export engagement up to the same date as the opportunities",
                code="history.stale_engagement")
    created = opps["account_id"].map(accounts.set_index("account_id")["created_at"])
    early = (opps["created_at"] < created).fillna(False).to_numpy(dtype=bool)
    if early.any():
        log.notice("opportunities", "created_at",
                   f"{int(early.sum()):,} opportunit{'y is' if early.sum() == 1 else 'ies are'} created before their "
                   "account's created_at; the account does not exist at the dates before such a deal, so it is no positive "
                   "label there. accounts.created_at may be a migration date: fix it or leave it empty",
                   early, opps["opportunity_id"].astype(object), code="opportunities.before_account")
    acts = tables["activities"]
    acts = acts[acts["account_id"].notna().to_numpy(dtype=bool)]
    if len(acts):
        days = acts["timestamp"].dt.floor("D").groupby(acts["account_id"].to_numpy()).nunique()
        one = int((days == 1).sum())
        if one > len(days) / 2:
            log.notice("activities", "timestamp",
                       f"{one:,} of {len(days):,} accounts with activity ({one / len(days):.0%}) have all of it on one "
                       "day; the export may carry one date (an import or sync date) for every event instead of its "
                       "own time. Recency and windowed counts are only as good as these time stamps",
                       code="activities.one_day")


__all__ = [
    "History", "read_history", "DataError",
    # the stages, in read_history's order
    "check_required_tables", "table_for", "map_columns", "type_table", "empty_table", "check_references",
    "match_contacts_to_accounts", "clean_activities", "activity_types", "unknown_types_notice", "drop_duplicate_activities",
    "match_activities_to_accounts", "note_activity_matching", "match_events_to_accounts", "clean_opportunities",
    "clean_opportunity_contacts", "url_paths", "activity_topics", "fill_topics", "topics_notice",
    "note_suspicious_times", "canonical_order", "missing_folder",
]
