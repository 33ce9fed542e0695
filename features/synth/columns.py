"""Arrow-backed pandas columns (ids, strings, timestamps) built without Python objects per row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .grid import Grid


def id_strings(prefix, values, digits):
    """Ids such as ``A3f09c2d1e7`` from integers, as an Arrow string array.

    Built from nibbles with array operations: formatting millions of ids one
    by one in Python would dominate the run time. Fixed width, so sorting the
    integers sorts the strings.
    """
    n = len(values)
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = ((values[:, None] >> shifts) & np.uint64(15)).astype(np.intp)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, len(prefix)))
    raw = np.ascontiguousarray(np.concatenate([head, chars], axis=1))
    width = len(prefix) + digits
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(raw)]).cast(pa.string())


def str_column(values, missing=None):
    """A pandas ``str`` column from a numpy string array; ``missing`` marks cells left empty."""
    mask = None if missing is None else np.asarray(missing, dtype=bool)
    return pd.Series(pa.array(np.asarray(values), type=pa.string(), mask=mask), dtype="str")


def take(vocab, idx, missing=None):
    """``vocab[idx]`` as a ``str`` column, ``missing`` cells empty.

    Arrow's take keeps millions of repeated strings (ids, emails, urls) out of
    Python objects, which saves both time and memory.
    """
    mask = None if missing is None else np.asarray(missing, dtype=bool)
    indices = pa.array(np.asarray(idx, dtype=np.int64), mask=mask)
    return pd.Series(pc.take(vocab, indices), dtype="str")


def string_array(values):
    return pa.array(list(values), type=pa.string())


def timestamps(grid: Grid, days):
    """UTC timestamps, to the second, for days since ``start`` (NaN stays NaT)."""
    days = np.asarray(days, dtype=float)
    ok = np.isfinite(days)
    ns = np.zeros(len(days), dtype=np.int64)
    ns[ok] = np.round(days[ok] * 86_400).astype(np.int64) * 10**9 + grid.start.value
    out = pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")
    return out.mask(~ok)
