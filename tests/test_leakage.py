"""Leakage: no row dated after as_of, in any table, may move a feature at as_of.

Property-style: on a seeded synthetic history, random rows dated after as_of
are deleted, changed and added, table by table, and every feature of every
family at as_of must stay exactly as it was. And a row dated exactly at as_of
must count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mqa.features.build import FAMILIES, build_features, feature_names
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.synth import generate_history

AS_OF = pd.Timestamp("2025-09-15", tz="UTC")
DATES = [AS_OF - pd.Timedelta(days=30), AS_OF]
DATE_COLUMN = {"activities": "timestamp", "intent": "date", "signals": "date", "opportunities": "created_at",
               "contacts": "created_at", "accounts": "created_at", "dispositions": "date"}


@pytest.fixture(scope="module")
def base_tables():
    return generate_history(n_accounts=150, seed=11)


@pytest.fixture(scope="module")
def base_rows(base_tables, tmp_path_factory):
    return features_of(base_tables, tmp_path_factory.mktemp("base"))


def features_of(tables, folder) -> pd.DataFrame:
    write_history(tables, folder, fmt="parquet", overwrite=True)
    rows = build_features(read_history(folder), as_of=DATES)
    return rows.drop(columns=["label"]).set_index(["account_id", "as_of"]).sort_index()


def later(rng, n):
    """n random instants after AS_OF (within a year)."""
    return AS_OF + pd.to_timedelta(rng.integers(1, 365 * 86_400, n), unit="s")


def mutate(tables: dict, name: str, rng) -> dict:
    """Delete, change and add rows of ``name`` dated after AS_OF; everything else untouched."""
    out = {k: v.copy() for k, v in tables.items()}
    t = out[name]
    col = DATE_COLUMN[name]
    after = (t[col] > AS_OF).to_numpy()
    idx = np.flatnonzero(after)
    assert len(idx) > 5, f"the fixture needs rows after as_of in {name}"
    drop = rng.choice(idx, size=len(idx) // 4, replace=False)
    change = rng.choice(np.setdiff1d(idx, drop), size=len(idx) // 4, replace=False)
    accounts = tables["accounts"]["account_id"].to_numpy()
    if name == "activities":
        t.loc[change, "type"] = rng.choice(["demo_request", "pricing_page_visit", "web_visit"], len(change))
        t.loc[change, "account_id"] = rng.choice(accounts, len(change))
        t.loc[change, "minutes"] = rng.uniform(0, 100, len(change))
        t.loc[change, col] = later(rng, len(change))
        new = t.iloc[rng.choice(len(t), 40)].copy()
        new["account_id"] = rng.choice(accounts, 40)
        new["activity_id"] = [f"NEW{i}" for i in range(40)]
    elif name == "intent":
        t["score"] = t["score"].astype(float)
        t.loc[change, "score"] = rng.uniform(0, 100, len(change))
        t.loc[change, "topic"] = "ETL"
        new = t.iloc[rng.choice(len(t), 40)].copy()
        new["account_id"] = rng.choice(accounts, 40)
        new["score"] = 99.0
    elif name == "signals":
        t.loc[change, "type"] = "funding_round"
        new = t.iloc[rng.choice(len(t), 20)].copy()
        new["account_id"] = rng.choice(accounts, 20)
    elif name == "opportunities":
        t.loc[change, "is_won"] = ~t.loc[change, "is_won"].fillna(False).astype(bool)
        t.loc[change, "amount"] = 1.0
        # Outcomes are future information too: flip the result of opportunities
        # that are open at as_of and close after it.
        open_then = ((t["created_at"] <= AS_OF) & (t["closed_at"] > AS_OF)).to_numpy()
        t.loc[open_then, "is_won"] = ~t.loc[open_then, "is_won"].fillna(False).astype(bool)
        new = t.iloc[rng.choice(len(t), 20)].copy()
        new["account_id"] = rng.choice(accounts, 20)
        new["opportunity_id"] = [f"NEWO{i}" for i in range(20)]
        new["closed_at"] = pd.NaT
    elif name == "dispositions":
        t.loc[change, "disposition"] = "rejected"
        t.loc[change, "account_id"] = rng.choice(accounts, len(change))
        new = t.iloc[rng.choice(len(t), 20)].copy()
        new["account_id"] = rng.choice(accounts, 20)
        new["disposition"] = "rejected"
    elif name == "contacts":
        t.loc[change, "department"] = "procurement"
        t.loc[change, "seniority"] = "c_level"
        t.loc[change, "account_id"] = rng.choice(accounts, len(change))
        new = t.iloc[rng.choice(len(t), 20)].copy()
        new["contact_id"] = [f"NEWC{i}" for i in range(20)]
        new["email"] = [f"p{i}@{d}" for i, d in enumerate(rng.choice(tables["accounts"]["domain"].dropna(), 20))]
        drop = np.array([], dtype=int)  # activities still name dropped contacts: tested by changing them instead
    else:  # accounts created after as_of: new ones with fresh domains, changed attributes
        t.loc[change, "employees"] = 99_999
        t.loc[change, "industry"] = "Software"
        new = t.iloc[rng.choice(len(t), 10)].copy()
        new["account_id"] = [f"NEWA{i}" for i in range(10)]
        new["domain"] = [f"brand-new-{i}.example" for i in range(10)]
        drop = np.array([], dtype=int)  # their contacts and opportunities would dangle
    new[col] = later(rng, len(new))
    t = pd.concat([t.drop(index=drop), new], ignore_index=True)
    out[name] = t
    return out


def assert_same(before: pd.DataFrame, after: pd.DataFrame, family: str | None = None):
    cols = [c for c in feature_names() if family is None or c.startswith(family + "__")]
    assert before.index.equals(after.index)
    moved = [c for c in cols if not before[c].equals(after[c])]
    assert not moved, f"features moved by rows dated after as_of: {moved[:10]}"


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("table", list(DATE_COLUMN))
def test_rows_after_as_of_change_nothing(base_tables, base_rows, tmp_path, table, seed):
    rng = np.random.default_rng([seed, list(DATE_COLUMN).index(table)])
    assert_same(base_rows, features_of(mutate(base_tables, table, rng), tmp_path / "h"))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_survives_all_mutations_at_once(base_tables, base_rows, tmp_path, family):
    rng = np.random.default_rng(100 + FAMILIES.index(family))
    tables = base_tables
    for name in DATE_COLUMN:
        tables = mutate(tables, name, rng)
    assert_same(base_rows, features_of(tables, tmp_path / "h"), family)


def test_rows_exactly_at_as_of_count(base_tables, base_rows, tmp_path):
    tables = {k: v.copy() for k, v in base_tables.items()}
    scored = base_rows.xs(AS_OF, level="as_of").index
    target = scored[0]
    domain = tables["accounts"].set_index("account_id").loc[target, "domain"]
    tables["activities"] = pd.concat([tables["activities"], pd.DataFrame({
        "activity_id": ["AT1"], "timestamp": [AS_OF], "type": ["demo_request"], "account_id": [target]})], ignore_index=True)
    tables["intent"] = pd.concat([tables["intent"], pd.DataFrame({
        "account_id": [target], "domain": [domain], "date": [AS_OF], "topic": ["ETL"], "score": [100.0]})], ignore_index=True)
    tables["signals"] = pd.concat([tables["signals"], pd.DataFrame({
        "account_id": [target], "date": [AS_OF], "type": ["layoff"]})], ignore_index=True)
    after = features_of(tables, tmp_path / "h").loc[(target, AS_OF)]
    before = base_rows.loc[(target, AS_OF)]
    assert after["engagement__demo_request_7d"] == before["engagement__demo_request_7d"] + 1
    assert after["intent__max_score_28d"] == 100.0
    assert after["timing__days_since_layoff"] == 0.0
    assert after["timing__days_since_activity"] == 0.0


def test_opportunity_created_exactly_at_as_of_puts_account_in_pipeline(base_tables, base_rows, tmp_path):
    tables = {k: v.copy() for k, v in base_tables.items()}
    target = base_rows.xs(AS_OF, level="as_of").index[0]
    tables["opportunities"] = pd.concat([tables["opportunities"], pd.DataFrame({
        "opportunity_id": ["AT-O"], "account_id": [target], "created_at": [AS_OF], "type": ["new_business"]})],
        ignore_index=True)
    after = features_of(tables, tmp_path / "h")
    assert (target, AS_OF) not in after.index
    assert (target, AS_OF - pd.Timedelta(days=30)) in after.index
