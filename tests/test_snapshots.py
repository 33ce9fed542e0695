"""Snapshot grid and labels against a brute-force reference on small hand-written histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mqa.features.build import build_features
from mqa.features.config import FeatureSettings
from mqa.features.history import read_history
from mqa.features.snapshots import (
    IN_PIPELINE,
    NOT_CREATED,
    SCORED,
    default_as_of,
    labels,
    make_grid,
    parse_as_of,
    status,
)

from .conftest import write_tables

AS_OF = pd.Timestamp("2025-01-01", tz="UTC")

# Each account is one edge case of the label and pipeline rules, at AS_OF with a 90-day horizon.
ACCOUNTS = """
    account_id,domain,created_at
    at_as_of,a.com,2024-01-01
    at_horizon,b.com,2024-01-01
    after_horizon,c.com,2024-01-01
    open_now,d.com,2024-01-01
    closed_at_as_of,e.com,2024-01-01
    created_later,f.com,2025-01-01T00:00:01
    created_at_as_of,g.com,2025-01-01
    renewal_only,h.com,2024-01-01
    nothing,i.com,
"""
OPPORTUNITIES = """
    opportunity_id,account_id,created_at,closed_at,type
    O1,at_as_of,2025-01-01,2025-02-01,new_business
    O2,at_horizon,2025-04-01,,new_business
    O3,after_horizon,2025-04-01T00:00:01,,new_business
    O4,open_now,2024-12-01,,new_business
    O5,closed_at_as_of,2024-12-01,2025-01-01,new_business
    O6,created_later,2025-02-01,,new_business
    O7,renewal_only,2025-02-01,2025-03-01,renewal
    O8,nothing,2020-01-01,2020-02-01,new_business
"""
END = """
    activity_id,timestamp,type,account_id
    last,2025-12-31,web_visit,nothing
"""


@pytest.fixture
def edge_history(tmp_path, base_tables):
    base_tables.update(accounts=ACCOUNTS, opportunities=OPPORTUNITIES, activities=END)
    del base_tables["contacts"]
    return read_history(write_tables(tmp_path / "h", base_tables))


def brute_force(history, as_of, horizon_days, types=None, end=None, excluded=("renewal",)):
    """The contract's rules written out literally, one account at a time.

    Counted: the given ``types``, else every type but ``excluded``; an opportunity without a type always counts.
    """
    acc = history["accounts"]
    opp = history["opportunities"]
    end = end or history.date_range()[1]
    out = {}
    for _, a in acc.iterrows():
        if pd.notna(a.created_at) and a.created_at > as_of:
            out[a.account_id] = (NOT_CREATED, np.nan)
            continue
        mine = opp[opp.account_id == a.account_id]
        open_now = mine[(mine.created_at <= as_of) & (mine.closed_at.isna() | (mine.closed_at > as_of))]
        state = IN_PIPELINE if len(open_now) else SCORED
        counted = mine[mine.type.isna() | (mine.type.isin(types) if types is not None else ~mine.type.isin(excluded))]
        ahead = counted[(counted.created_at > as_of) & (counted.created_at <= as_of + pd.Timedelta(days=horizon_days))]
        label = np.nan if as_of + pd.Timedelta(days=horizon_days) > end else float(len(ahead) > 0)
        out[a.account_id] = (state, label)
    return out


def test_edges_match_brute_force(edge_history):
    grid = make_grid(edge_history, pd.DatetimeIndex([AS_OF]))
    got_status = dict(zip(grid.accounts, status(edge_history, grid)[:, 0]))
    got_label = dict(zip(grid.accounts, labels(edge_history, grid, 90)[:, 0]))
    want = brute_force(edge_history, AS_OF, 90)
    assert got_status == {k: v[0] for k, v in want.items()}
    np.testing.assert_array_equal([got_label[k] for k in want], [v[1] for v in want.values()])
    # The edges, spelled out.
    assert got_status["at_as_of"] == IN_PIPELINE  # created exactly at as_of: already known, in pipeline
    assert got_label["at_horizon"] == 1.0  # created exactly at as_of + horizon: inside
    assert got_label["after_horizon"] == 0.0  # one second later: outside
    assert got_status["open_now"] == IN_PIPELINE
    assert got_status["closed_at_as_of"] == SCORED  # closed at as_of: no longer open
    assert got_status["created_later"] == NOT_CREATED
    assert got_status["created_at_as_of"] == SCORED  # created exactly at as_of exists
    assert got_status["nothing"] == SCORED  # no created_at: always existed


def test_label_types_restrict_positives(edge_history):
    grid = make_grid(edge_history, pd.DatetimeIndex([AS_OF]))
    default = dict(zip(grid.accounts, labels(edge_history, grid, 90)[:, 0]))
    every = dict(zip(grid.accounts, labels(edge_history, grid, 90, excluded_types=())[:, 0]))
    new_only = dict(zip(grid.accounts, labels(edge_history, grid, 90, label_types=("new_business",))[:, 0]))
    # Renewals follow the contract calendar: no positive by default (DATA_CONTRACT.md, "Time").
    assert default["renewal_only"] == 0.0 and every["renewal_only"] == 1.0 and new_only["renewal_only"] == 0.0
    assert [every[k] for k in every] == pytest.approx([v[1] for v in brute_force(edge_history, AS_OF, 90, excluded=()).values()],
                                                      nan_ok=True)
    want = brute_force(edge_history, AS_OF, 90, types=("new_business",))
    assert [new_only[k] for k in want] == pytest.approx([v[1] for v in want.values()], nan_ok=True)


@pytest.mark.parametrize("seed", range(4))
def test_random_dates_and_horizons_match_brute_force(edge_history, seed):
    rng = np.random.default_rng(seed)
    dates = pd.DatetimeIndex(sorted(set(AS_OF + pd.to_timedelta(rng.integers(-400, 400, 6), unit="D"))))
    horizon = int(rng.integers(20, 200))
    grid = make_grid(edge_history, dates)
    st, lab = status(edge_history, grid), labels(edge_history, grid, horizon)
    for j, t in enumerate(dates):
        want = brute_force(edge_history, t, horizon)
        assert list(st[:, j]) == [v[0] for v in want.values()]
        np.testing.assert_array_equal(lab[:, j], [v[1] for v in want.values()])


def test_horizon_past_end_of_data_is_unlabeled(edge_history):
    late = pd.Timestamp("2025-12-01", tz="UTC")  # + 90 days runs past 2025-12-31
    rows = build_features(edge_history, as_of=[late], features=[])
    assert rows["label"].isna().all()


def test_training_rows_exclude_pipeline_and_not_created(edge_history):
    rows = build_features(edge_history, as_of=[AS_OF], features=[])
    assert list(rows.columns) == ["account_id", "as_of", "label"]
    assert set(rows.account_id) == {"at_horizon", "after_horizon", "closed_at_as_of", "created_at_as_of", "renewal_only", "nothing"}
    every = build_features(edge_history, as_of=[AS_OF], all_rows=True, features=[])
    assert len(every) == 9
    assert every.set_index("account_id").loc["open_now", "status"] == IN_PIPELINE


def test_default_grid_is_anchored_on_the_last_day():
    acts = pd.DataFrame({"timestamp": pd.to_datetime(["2025-01-01T10:00", "2025-12-31T15:00"], utc=True)})

    class H:  # the two fields default_as_of reads
        tables = {"activities": acts, "intent": pd.DataFrame({"date": pd.Series([], dtype="datetime64[ns, UTC]")}),
                  "signals": pd.DataFrame({"date": pd.Series([], dtype="datetime64[ns, UTC]")})}

        def __getitem__(self, k):
            return self.tables[k]

        def date_range(self):
            return acts.timestamp.min(), acts.timestamp.max()

    grid = default_as_of(H(), step_days=14)
    assert grid[-1] == pd.Timestamp("2025-12-31", tz="UTC")
    assert (np.diff(grid.asi8) == 14 * 86_400 * 10**9).all()
    assert grid[0] >= pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(days=90)
    assert grid[0] - pd.Timedelta(days=14) < pd.Timestamp("2025-04-01", tz="UTC")


def test_parse_as_of():
    got = parse_as_of("2025-03-04, 2025-01-01T12:00:00+02:00,2025-03-04")
    assert list(got) == [pd.Timestamp("2025-01-01T10:00:00Z"), pd.Timestamp("2025-03-04T00:00:00Z")]
    with pytest.raises(ValueError, match=r"--as-of: not ISO 8601 dates: 03/04/2025"):
        parse_as_of("2025-01-01,03/04/2025")


def test_settings_horizon_changes_labels(edge_history):
    short = build_features(edge_history, as_of=[AS_OF], settings=FeatureSettings(horizon_days=30), features=[])
    assert short.set_index("account_id").loc["at_horizon", "label"] == 0.0
