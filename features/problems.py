"""Problems found in a CRM history: fatal ones (``DataError``) and notices.

A fatal problem breaks the contract and stops the run before anything is
written; a notice loses nothing (an unknown activity type, an unmatched
activity) and goes into the run's summary. Both name the table, the column,
how many rows, and a few example rows. Row numbers count data rows from 1, as
a spreadsheet shows them below the header row.

Every problem and notice carries a stable ``code`` from :data:`CODES`, so that
a program (the Spark engine, a scheduler's alerting) can tell them apart
without reading their message, which is written for people and may change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from mqa.errors import MqaError

MAX_EXAMPLES = 3

# Every code a problem (fatal) or a notice may carry, and what it means. A
# code names what went wrong, never the table's name when the check is the
# same for every table (the problem's ``table`` says which); codes are never
# reused for another meaning.
PROBLEM_CODES: dict[str, str] = {
    "folder.missing": "the history folder does not exist",
    "files.format": "a table file is neither CSV, CSV.gz nor Parquet",
    "files.duplicate": "two files for one table",
    "files.broken_link": "a table file is a symbolic link to nothing",
    "files.permission": "a table file cannot be read: permission denied",
    "files.unreadable": "a table file cannot be read at all",
    "files.parquet_unreadable": "a .parquet file is not readable Parquet",
    "files.gzip_unreadable": "a .csv.gz file is not readable gzip",
    "files.utf16": "a CSV file is UTF-16 text",
    "files.binary": "a CSV file holds binary data",
    "files.semicolons": "a CSV file is separated by semicolons",
    "files.no_header": "a CSV file is empty, without even a header row",
    "files.not_utf8": "a CSV file is not UTF-8 text",
    "files.malformed_csv": "a CSV file cannot be parsed",
    "database.schema_missing": "the configuration's [database] schema is not in the database",
    "database.table_unknown": "[database.tables] names a table or view the database lacks",
    "database.ambiguous_table": "several tables or views of the database are named as one table but for case",
    "database.unreadable": "a table or view of the database cannot be read (no SELECT permission, ...)",
    "tables.missing": "a table the purpose requires is not there",
    "tables.empty": "a required table has a header but no rows",
    "tables.unknown": "a dict of DataFrames (or a Spark source) names a table outside the contract",
    "tables.not_a_frame": "a dict of DataFrames holds something else than a DataFrame for a table",
    "tables.unreadable": "a Spark source names a table Spark cannot read",
    "columns.repeated": "a column name appears more than once in a header",
    "columns.mapping_unknown": "the configuration maps a contract column to a column the file lacks",
    "columns.join_unknown": "the configuration joins columns into a contract column, and the file lacks one of them",
    "columns.missing": "a required column is missing",
    "columns.declared_missing": "a declared attribute column is missing",
    "columns.one_of_missing": "none of a table's alternative columns is there",
    "columns.lists": "a column holds lists (a Parquet list column)",
    "values.type": "values that are not of the column's type",
    "values.required": "empty values in a required column",
    "values.range": "values outside the column's range",
    "values.choice": "values outside the column's list of allowed values (dispositions.disposition)",
    "values.not_unique": "repeated values in a unique id column",
    "opportunities.closed_before_created": "an opportunity closes before it is created",
    "references.unknown_account": "an account_id that is not in accounts",
    "references.unknown_opportunity": "an opportunity_id of opportunity_contacts that is not in opportunities",
    "references.unknown_contact": "a contact_id of opportunity_contacts that is not in contacts",
    "references.table_missing": "opportunity_contacts without the opportunities or contacts table it points at",
}
NOTICE_CODES: dict[str, str] = {
    "accounts.free_mail_domain": "an account's domain is a free-mail domain, which matches nothing",
    "accounts.shared_domain": "domains shared by several accounts (the oldest is chosen)",
    "contacts.unmatched": "contacts without an account that no email domain matches",
    "activities.unknown_type": "activity types outside the vocabulary, kept as 'other'",
    "activities.duplicate_id": "repeated activity ids; one copy is kept",
    "activities.topic_from_url": "activities without a topic that got one from their url by [topics] url_prefixes",
    "activities.unmatched": "activities that match no account",
    "activities.unknown_account_id": "activities naming an account id that is not in accounts",
    "intent.unmatched": "intent rows that match no account",
    "signals.unmatched": "signal rows that match no account",
    "opportunity_contacts.duplicate": "one person named twice on one opportunity; one row is kept",
    "history.stale_engagement": "the engagement stream ends long before the last opportunity",
    "opportunities.before_account": "opportunities created before their account",
    "activities.one_day": "most accounts have all their activity on one day",
}
CODES: dict[str, str] = {**PROBLEM_CODES, **NOTICE_CODES}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one column of one table.

    Parameters
    ----------
    table : str
        Table name (or file name where the file itself is the problem).
    column : str or None
        Contract column, or None for a table-level problem.
    message : str
        What is wrong and how to fix it, without the row details.
    count : int
        How many rows are affected (0 for a table-level problem).
    rows : tuple of int
        A few example row numbers (1 = first data row).
    values : tuple of str
        The values at those rows, or empty where the column is personal.
    code : str
        What kind of problem this is, one of :data:`PROBLEM_CODES`
        (``"values.type"``); stable, unlike the message.
    """

    table: str
    column: str | None
    message: str
    count: int = 0
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()
    code: str = ""

    def __str__(self) -> str:
        where = f"{self.table}: column '{self.column}'" if self.column else self.table
        text = f"{where}: {self.message}"
        if self.count:
            noun = "row" if self.count == 1 else "rows"
            text += f"; {self.count:,} {noun}"
            if self.rows:
                shown = ", ".join(str(r) for r in self.rows)
                text += f" (row{'s' if len(self.rows) > 1 else ''} {shown}"
                if self.values:
                    text += ": " + ", ".join(repr(v) for v in self.values)
                text += ")"
        return text + "."


class DataError(MqaError):
    """A CRM history that breaks the contract; lists every problem found."""

    def __init__(self, problems: Sequence[Problem], folder: str | None = None):
        self.problems = list(problems)
        self.folder = folder
        super().__init__(self.format())

    def format(self) -> str:
        """The whole message: a heading and one line per problem."""
        n = len(self.problems)
        where = f" in {self.folder}" if self.folder else ""
        head = f"The CRM history{where} breaks the data contract ({n} problem{'s' if n != 1 else ''}); nothing was written:"
        return "\n".join([head] + [f"  - {p}" for p in self.problems])


@dataclass
class Notice:
    """Something reported that lost nothing (the run goes on).

    It has :class:`Problem`'s fields; its ``code`` is one of :data:`NOTICE_CODES`
    (``"activities.unmatched"``).
    """

    table: str
    column: str | None
    message: str
    count: int = 0
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()
    code: str = ""

    def __str__(self) -> str:
        return str(Problem(self.table, self.column, self.message, self.count, self.rows, self.values))


@dataclass
class ProblemLog:
    """Collects problems and notices while a history is read."""

    problems: list[Problem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def problem(self, table, column, message, mask=None, values=None, personal=False, *, code: str):
        """Record a fatal problem, coded ``code`` (of :data:`PROBLEM_CODES`), for the rows where ``mask`` is true."""
        self.problems.append(Problem(table, column, message, *examples(mask, values, personal), code=_known(code, PROBLEM_CODES)))

    def notice(self, table, column, message, mask=None, values=None, personal=False, *, code: str):
        """Record a notice, coded ``code`` (of :data:`NOTICE_CODES`), for the rows where ``mask`` is true."""
        self.notices.append(Notice(table, column, message, *examples(mask, values, personal), code=_known(code, NOTICE_CODES)))

    def raise_if_any(self, folder: str | None = None) -> None:
        """Raise one ``DataError`` listing every problem, if there is any."""
        if self.problems:
            raise DataError(self.problems, folder)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _known(code: str, codes: dict[str, str]) -> str:
    # A code outside the table is a bug in mqa, not in the user's data.
    if code not in codes:
        raise ValueError(f"unknown problem code {code!r}; add it to mqa.features.problems with its meaning")
    return code


def examples(mask, values=None, personal: bool = False) -> tuple[int, tuple[int, ...], tuple[str, ...]]:
    """How many rows a boolean mask marks, and a few of them, as a problem shows them.

    Parameters
    ----------
    mask : array of bool, or None
        The rows concerned; None for a table-level problem.
    values : array, optional
        The values to quote at the example rows.
    personal : bool
        The values are personal data: quote none.

    Returns
    -------
    count : int
        Rows where ``mask`` is true.
    rows : tuple of int
        The first :data:`MAX_EXAMPLES` of them, numbered from 1.
    values : tuple of str
        Their values, clipped, or empty.
    """
    if mask is None:
        return 0, (), ()
    mask = np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(mask)
    first = idx[:MAX_EXAMPLES]
    shown: tuple[str, ...] = ()
    if values is not None and not personal:
        vals = np.asarray(values, dtype=object)[first]
        # A value is quoted, never echoed whole: a 10 MB cell would bury the message.
        shown = tuple("" if v is None or (isinstance(v, float) and np.isnan(v)) else _clip(str(v)) for v in vals)
    return int(idx.size), tuple(int(i) + 1 for i in first), shown
