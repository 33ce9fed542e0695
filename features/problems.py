"""Problems found in a CRM history: fatal ones (``DataError``) and notices.

A fatal problem breaks the contract and stops the run before anything is
written; a notice loses nothing (an unknown activity type, an unmatched
activity) and goes into the run's summary. Both name the table, the column,
how many rows, and a few example rows. Row numbers count data rows from 1, as
a spreadsheet shows them below the header row.
"""

from __future__ import annotations

from mqa.errors import MqaError

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

MAX_EXAMPLES = 3


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
    """

    table: str
    column: str | None
    message: str
    count: int = 0
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()

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
    """Something reported that lost nothing (the run goes on)."""

    table: str
    column: str | None
    message: str
    count: int = 0
    rows: tuple[int, ...] = ()
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        return str(Problem(self.table, self.column, self.message, self.count, self.rows, self.values))


@dataclass
class ProblemLog:
    """Collects problems and notices while a history is read."""

    problems: list[Problem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def problem(self, table, column, message, mask=None, values=None, personal=False):
        """Record a fatal problem for the rows where ``mask`` is true."""
        self.problems.append(Problem(table, column, message, *_rows(mask, values, personal)))

    def notice(self, table, column, message, mask=None, values=None, personal=False):
        """Record a notice for the rows where ``mask`` is true."""
        self.notices.append(Notice(table, column, message, *_rows(mask, values, personal)))

    def raise_if_any(self, folder: str | None = None) -> None:
        """Raise one ``DataError`` listing every problem, if there is any."""
        if self.problems:
            raise DataError(self.problems, folder)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows(mask, values, personal) -> tuple[int, tuple[int, ...], tuple[str, ...]]:
    """Count, example row numbers and example values for a boolean mask."""
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
