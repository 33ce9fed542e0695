"""Turning raw column values into the contract's types.

Each function takes a raw column (strings from CSV, stored types from Parquet)
and returns the typed column and a boolean mask of the cells that held a value
that could not be read. Missing cells (empty or whitespace) are not "bad":
whether a value is required is checked elsewhere.

Timestamps become UTC here, once, where data enters: no feature function ever
converts a time zone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from . import contract as c
from .matching import normalise_domain

STR = pd.StringDtype(na_value=np.nan)
TIMESTAMP_DTYPE = "datetime64[ns, UTC]"

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "1.0"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "0.0"})

# What each kind should look like, for error messages.
EXPECTED: dict[str, str] = {
    c.TIMESTAMP: "an ISO 8601 timestamp such as 2025-03-04 or 2025-03-04T10:20:00+02:00 (years 1678-2261)",
    c.NUMBER: "a number such as 1250 or 1250.5 (no thousands separators or currency signs)",
    c.INTEGER: "a whole number such as 120",
    c.BOOL: "true/false, yes/no or 1/0",
}

DTYPES: dict[str, object] = {
    c.ID: STR,
    c.STRING: STR,
    c.DOMAIN: STR,
    c.EMAIL: STR,
    c.TIMESTAMP: TIMESTAMP_DTYPE,
    c.NUMBER: "float64",
    c.INTEGER: "Int64",
    c.BOOL: "boolean",
}


def is_missing(raw: pd.Series) -> pd.Series:
    """True where a raw cell holds no value (NA, or only white space)."""
    if pdt.is_string_dtype(raw) or raw.dtype == object:
        return raw.isna() | raw.astype(STR).str.strip().eq("")
    return raw.isna()


def as_text(raw: pd.Series) -> pd.Series:
    """Raw values as trimmed strings, missing where empty.

    Whole numbers stored as floats (an id column with gaps in Parquet) are
    written without a trailing ``.0``.
    """
    if pdt.is_float_dtype(raw):
        whole = raw.notna() & np.isfinite(raw) & (raw == np.round(raw))
        text = raw.astype(STR)
        text = text.mask(whole, raw[whole].astype("int64").astype(STR) if whole.any() else text)
    elif pdt.is_bool_dtype(raw):
        text = raw.astype(STR).str.lower()
    else:
        text = raw.astype(STR)
    text = text.str.strip()
    return text.mask(text.eq(""))


def to_id(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ids: trimmed strings; empty is missing. Nothing is ever bad."""
    return as_text(raw), pd.Series(False, index=raw.index)


def to_string(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Free text: trimmed; empty is missing."""
    return as_text(raw), pd.Series(False, index=raw.index)


def to_domain(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Web domains normalised (``https://www.Acme.com/`` is ``acme.com``).

    A value that is no domain at all is bad (it could never match anything).
    """
    text = as_text(raw)
    dom = normalise_domain(text)
    return dom, text.notna() & dom.isna()


def to_email(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Email addresses, trimmed and lower-cased; a malformed one is only unmatched."""
    text = as_text(raw).str.lower()
    return text, pd.Series(False, index=raw.index)


def to_number(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Floats; text that is not a finite number is bad."""
    missing = is_missing(raw)
    if pdt.is_bool_dtype(raw):
        return raw.astype("float64"), pd.Series(False, index=raw.index)
    if pdt.is_numeric_dtype(raw):
        values = raw.astype("float64")
    else:
        values = pd.to_numeric(as_text(raw), errors="coerce").astype("float64")
    bad = ~missing & ~np.isfinite(values.fillna(0.0))
    bad |= ~missing & values.isna()
    return values.where(~bad), bad


def to_integer(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Nullable integers; fractions and text are bad."""
    values, bad = to_number(raw)
    frac = values.notna() & (values != np.round(values))
    bad = bad | frac
    return values.where(~bad).round().astype("Int64"), bad


def to_bool(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Nullable booleans from true/false, yes/no, 1/0, t/f, y/n (any case)."""
    if pdt.is_bool_dtype(raw):
        return raw.astype("boolean"), pd.Series(False, index=raw.index)
    text = as_text(raw).str.lower()
    true = text.isin(TRUE_WORDS)
    false = text.isin(FALSE_WORDS)
    bad = text.notna() & ~true & ~false
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out = out.mask(true, True).mask(false, False)
    return out, bad


def to_timestamp(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """UTC timestamps: no offset means UTC, offsets are honoured, dates are midnight UTC."""
    missing = is_missing(raw)
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        values = raw.dt.tz_convert("UTC")
    elif pdt.is_datetime64_dtype(raw):
        values = raw.dt.tz_localize("UTC")
    elif pdt.is_numeric_dtype(raw) or pdt.is_bool_dtype(raw):
        # Epoch numbers are ambiguous (seconds? milliseconds?): refuse them.
        values = pd.Series(pd.NaT, index=raw.index, dtype=TIMESTAMP_DTYPE)
    elif raw.dtype == object and hasattr(_first_value(raw), "isoformat"):
        # Parquet date32 columns and Python datetimes arrive as objects.
        values = pd.to_datetime(raw, utc=True, errors="coerce")
    else:
        values = pd.to_datetime(as_text(raw), utc=True, format="ISO8601", errors="coerce")
    # Placeholder dates such as 9999-12-31 parse at a coarser unit but do not
    # fit nanoseconds: they are reported as bad rather than crashing the run.
    lo, hi = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    values = values.where((values >= lo) & (values <= hi)).astype(TIMESTAMP_DTYPE)
    bad = ~missing & values.isna()
    return values, bad


def _first_value(raw: pd.Series):
    """The first non-missing value, or None."""
    present = raw.dropna()
    return present.iloc[0] if len(present) else None


CONVERTERS = {
    c.ID: to_id,
    c.STRING: to_string,
    c.DOMAIN: to_domain,
    c.EMAIL: to_email,
    c.NUMBER: to_number,
    c.INTEGER: to_integer,
    c.BOOL: to_bool,
    c.TIMESTAMP: to_timestamp,
}


def empty_column(kind: str, index: pd.Index) -> pd.Series:
    """An all-missing column of the contract dtype for ``kind``."""
    if kind == c.TIMESTAMP:
        return pd.Series(pd.NaT, index=index, dtype=TIMESTAMP_DTYPE)
    if kind == c.NUMBER:
        return pd.Series(np.nan, index=index, dtype="float64")
    return pd.Series(pd.NA if kind in (c.INTEGER, c.BOOL) else np.nan, index=index, dtype=DTYPES[kind])
