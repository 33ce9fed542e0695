"""Any history that follows the contract loads, whoever wrote it.

A synthetic history is rewritten the way another exporter might write it:
different id formats, shuffled rows, upper-case column names with spaces,
extra columns, timestamps with offsets, CSV instead of Parquet. It must load
to the same content.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mqa.features.build import build_features
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.synth import generate_history

ID_COLUMNS = ("account_id", "contact_id", "opportunity_id", "activity_id")


@pytest.fixture(scope="module")
def tables():
    return generate_history(n_accounts=120, seed=5)


def rewrite(tables: dict, rng) -> tuple[dict, dict]:
    """Another exporter's copy: integer ids, shuffled rows, odd headers, extra columns, +05:30 offsets."""
    id_maps = {}
    for col in ID_COLUMNS:
        values = pd.concat([t[col] for t in tables.values() if col in t]).dropna().unique()
        id_maps[col] = dict(zip(values, (rng.permutation(len(values)) + 1000).astype(str)))
    out = {}
    for name, t in tables.items():
        t = t.copy()
        for col in ID_COLUMNS:
            if col in t:
                t[col] = t[col].map(id_maps[col])
        for col in t.columns:
            if isinstance(t[col].dtype, pd.DatetimeTZDtype):
                t[col] = t[col].dt.tz_convert("Asia/Kolkata").map(lambda v: v.isoformat() if pd.notna(v) else "")
        t["exporter_note"] = "x"
        t = t.sample(frac=1.0, random_state=int(rng.integers(1 << 30))).reset_index(drop=True)
        t.columns = [f" {c.upper()} " for c in t.columns]
        out[name] = t
    return out, id_maps


def test_another_exporters_copy_loads_to_the_same_content(tables, tmp_path):
    rng = np.random.default_rng(0)
    theirs, id_maps = rewrite(tables, rng)
    ours = read_history(write_history(tables, tmp_path / "ours", fmt="parquet") and tmp_path / "ours")
    other = read_history(write_history(theirs, tmp_path / "theirs", fmt="csv") and tmp_path / "theirs")

    assert other.matching.match_rate == pytest.approx(ours.matching.match_rate)
    assert other.matching.activities_by_method == ours.matching.activities_by_method
    assert len(other.notices) == len(ours.notices)

    # Activities: same accounts after mapping ids, same times, same types.
    acc = id_maps["account_id"]
    a = ours["activities"].assign(account_id=ours["activities"]["account_id"].map(acc),
                                  activity_id=ours["activities"]["activity_id"].map(id_maps["activity_id"]))
    key = ["activity_id", "timestamp", "type", "account_id"]
    left = a[key].sort_values(key, na_position="last").reset_index(drop=True)
    right = other["activities"][key].sort_values(key, na_position="last").reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_features_do_not_depend_on_the_exporter(tables, tmp_path):
    rng = np.random.default_rng(1)
    theirs, id_maps = rewrite(tables, rng)
    write_history(tables, tmp_path / "ours", fmt="parquet")
    write_history(theirs, tmp_path / "theirs", fmt="csv.gz")
    as_of = [pd.Timestamp("2025-10-01", tz="UTC")]
    ours = build_features(read_history(tmp_path / "ours"), as_of=as_of)
    other = build_features(read_history(tmp_path / "theirs"), as_of=as_of)
    ours["account_id"] = ours["account_id"].map(id_maps["account_id"])
    ours = ours.sort_values("account_id").reset_index(drop=True)
    other = other.sort_values("account_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, other, check_dtype=False)
