"""String work done once per distinct value.

A CRM export repeats the same URLs, types and email addresses millions of
times; normalising each distinct value once and mapping back by integer code
is what keeps loading fast.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd


def map_unique(values: pd.Series, fn: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``fn(values)``, computed on the distinct values only; missing stays missing."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    done = fn(pd.Series(uniques, dtype=values.dtype if len(uniques) else "str"))
    out = done.to_numpy(dtype=object, na_value=np.nan)
    result = np.where(codes >= 0, out[np.maximum(codes, 0)] if len(out) else np.nan, np.nan)
    return pd.Series(result, index=values.index, dtype=done.dtype if done.dtype != object else "str")
