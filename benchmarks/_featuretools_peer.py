"""featuretools side of ``features_benchmark.py``: run in featuretools' OWN virtualenv.

featuretools does not support pandas 3, so ``features_benchmark.py`` creates a
separate virtualenv (pandas < 3) and runs this script there::

    python _featuretools_peer.py IN_DIR OUT_DIR

IN_DIR holds ``activities.parquet`` (account_id, timestamp as naive UTC ns,
type, contact_id: matched activities only), ``accounts.parquet``
(account_id), ``cutoffs.parquet`` (account_id, time: one row per grid cell)
and ``meta.json`` (``{"types": [...]}``). OUT_DIR receives ``result.parquet``
(account_id, as_of, the subset columns named as in the benchmark) and
``timing.json``.

Window semantics (featuretools 1.31, ``EntitySet._handle_time`` with the
default ``include_cutoff_time=True``): rows with ``t <= cutoff`` and, with a
``training_window`` w, ``t > cutoff - w``. That is exactly mqa's rule
``as_of - w < t <= as_of``, so no adjustment is made. (With
``include_cutoff_time=False`` it would be ``cutoff - w <= t < cutoff``: both
edges flipped. ``Feature(use_previous=...)`` filters ``t >= cutoff - w``, left
edge inclusive, which is why it is not used.) One ``training_window`` applies
to a whole ``calculate_feature_matrix`` call, so the 30-day, the 90-day and
the unbounded (days since last) aggregates are three calls.

Timed: building the EntitySet (dataframes, relationship, last-time indexes,
interesting values) and the three ``calculate_feature_matrix`` calls,
including the merge of their outputs. Not timed: interpreter start-up,
imports, reading the Parquet inputs, writing the result.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import featuretools as ft
import pandas as pd
from featuretools.primitives import Count, NumUnique, TimeSinceLast
from woodwork.logical_types import Categorical, Datetime


def build_entityset(acts: pd.DataFrame, accounts: pd.DataFrame, types: list[str]) -> ft.EntitySet:
    es = ft.EntitySet("mqa_bench")
    es.add_dataframe(dataframe_name="accounts", dataframe=accounts, index="account_id",
                     logical_types={"account_id": Categorical})
    es.add_dataframe(dataframe_name="activities", dataframe=acts, index="rid", make_index=True,
                     time_index="timestamp",
                     logical_types={"timestamp": Datetime, "account_id": Categorical,
                                    "type": Categorical, "contact_id": Categorical})
    es.add_relationship("accounts", "account_id", "activities", "account_id")
    es.add_last_time_indexes()
    es.add_interesting_values(dataframe_name="activities", values={"type": types})
    return es


def features(es: ft.EntitySet, types: list[str], which: str):
    """Feature definitions, as deep feature synthesis writes them (depth 1)."""
    acts = es["activities"]
    rid = ft.IdentityFeature(acts.ww["rid"])
    type_f = ft.IdentityFeature(acts.ww["type"])
    out = []
    if which in ("30", "90"):
        for t in types:
            out.append(ft.AggregationFeature(rid, "accounts", Count, where=type_f == t).rename(f"count_{t}_{which}d"))
    if which == "90":
        out.append(ft.AggregationFeature(ft.IdentityFeature(acts.ww["contact_id"]), "accounts", NumUnique)
                   .rename("distinct_contacts_90d"))
    if which == "all":
        out.append(ft.AggregationFeature(ft.IdentityFeature(acts.ww["timestamp"]), "accounts", TimeSinceLast(unit="days"))
                   .rename("days_since_last"))
    return out


def main(in_dir: str, out_dir: str) -> None:
    src, dst = Path(in_dir), Path(out_dir)
    dst.mkdir(parents=True, exist_ok=True)
    acts = pd.read_parquet(src / "activities.parquet")
    accounts = pd.read_parquet(src / "accounts.parquet")
    cutoffs = pd.read_parquet(src / "cutoffs.parquet")
    types = json.loads((src / "meta.json").read_text())["types"]
    assert str(acts["timestamp"].dtype) == "datetime64[ns]", acts["timestamp"].dtype
    assert str(cutoffs["time"].dtype) == "datetime64[ns]", cutoffs["time"].dtype

    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    es = build_entityset(acts, accounts, types)
    t1 = time.perf_counter()
    parts = []
    for which, window in (("30", "30 days"), ("90", "90 days"), ("all", None)):
        fm = ft.calculate_feature_matrix(features(es, types, which), entityset=es, cutoff_time=cutoffs,
                                         training_window=window, cutoff_time_in_index=True, n_jobs=1)
        parts.append(fm)
    result = pd.concat(parts, axis=1).reset_index()
    t2 = time.perf_counter()

    result = result.rename(columns={"time": "as_of"})
    result["account_id"] = result["account_id"].astype(str)
    result.to_parquet(dst / "result.parquet", index=False)
    (dst / "timing.json").write_text(json.dumps({
        "entityset_s": t1 - t0, "calculate_s": t2 - t1, "total_s": t2 - t0,
        "featuretools": ft.__version__, "pandas": pd.__version__,
        "rows": len(result), "activities": len(acts),
    }))


if __name__ == "__main__":
    main(*sys.argv[1:3])
