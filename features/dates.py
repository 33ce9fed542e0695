"""Dates as the library takes them: strings, ``Timestamp``s, ``datetime``s or ``date``s; naive means UTC.

Every public function that takes an as-of date reads it through
:func:`utc_instant` (one date) or :func:`utc_instants` (several), so a notebook
can pass ``"2025-06-30"``, ``pd.Timestamp("2025-06-30")``,
``datetime(2025, 6, 30)`` or ``date(2025, 6, 30)`` and mean the same instant:
midnight UTC, when rows stamped later that day are not yet seen. An aware value
is converted to UTC. The command line's ``--as-of`` text is checked by
:func:`check_iso_text` first, with the standard library only, so a malformed
date is refused before pandas is imported.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

DateLike = "str | datetime.date | datetime.datetime | pandas.Timestamp | numpy.datetime64"


def check_iso_text(text: str, option: str = "--as-of") -> list[str]:
    """The comma-separated ISO 8601 dates of a command-line option, checked with the standard library only.

    Raises
    ------
    ValueError
        No date, or a part that is not an ISO 8601 date or instant (the message names them).
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise ValueError(f"{option} needs at least one date such as 2025-03-04")
    bad = []
    for part in parts:
        try:
            _dt.datetime.fromisoformat(part)
        except ValueError:
            bad.append(part)
    if bad:
        raise ValueError(f"{option}: not ISO 8601 dates: {', '.join(bad)} (write 2025-03-04 or 2025-03-04T12:00:00Z)")
    return parts


def utc_instant(value, what: str = "as_of"):
    """One instant as a UTC ``pandas.Timestamp`` in nanoseconds; naive values and date strings mean UTC.

    Parameters
    ----------
    value : str, datetime.date, datetime.datetime, pandas.Timestamp or numpy.datetime64
        ``"2025-06-30"`` and ``date(2025, 6, 30)`` are midnight UTC; an aware value is converted to UTC.
    what : str
        The argument's name, for the message.

    Raises
    ------
    ValueError
        The value is missing or is not a date (the message names it).
    """
    import pandas as pd

    if value is None or isinstance(value, bool | int | float) or (
            not isinstance(value, str) and pd.api.types.is_list_like(value)):
        raise ValueError(f"{what}: expected one date such as '2025-06-30', got {value!r}")
    try:
        if isinstance(value, str):
            check_iso_text(value, what)
            stamp = pd.Timestamp(value.strip())
        elif isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
            stamp = pd.Timestamp(value.year, value.month, value.day)
        else:
            stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what}: {value!r} is not a date ({exc}); pass a string such as '2025-06-30', "
                         "a pandas Timestamp or a datetime") from None
    if pd.isna(stamp):
        raise ValueError(f"{what}: expected a date, got a missing value ({value!r})")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.as_unit("ns")


def utc_instants(values, what: str = "as_of"):
    """Several instants (or one) as a sorted, unique UTC ``DatetimeIndex`` in nanoseconds.

    A single string may list dates separated by commas (``"2025-01-01,2025-02-01"``), as ``--as-of`` does.
    Each value is read as :func:`utc_instant` reads it.

    Raises
    ------
    ValueError
        No date, or a value that is not a date (the message names it).
    """
    import pandas as pd

    if isinstance(values, pd.DatetimeIndex | pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):
        # Already instants (the default grid, a column of dates): converted at once.
        index = pd.DatetimeIndex(values)
        if index.hasnans:
            raise ValueError(f"{what}: expected dates, got a missing value")
        index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
        return pd.DatetimeIndex(index.unique().sort_values()).as_unit("ns")
    if isinstance(values, str):
        items: Iterable = check_iso_text(values, what)
    elif pd.api.types.is_list_like(values):
        items = list(values)
    else:
        items = [values]
    stamps = [utc_instant(v, what) for v in items]
    if not stamps:
        raise ValueError(f"{what}: needs at least one date such as '2025-06-30'")
    return pd.DatetimeIndex(sorted(set(stamps)), tz="UTC").as_unit("ns")
