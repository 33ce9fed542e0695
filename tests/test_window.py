"""The point-in-time window helper against a brute-force reference on random events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mqa.features.window import (
    DAY_NS,
    Grid,
    days_since_last,
    events,
    window_distinct,
    window_group_max_share,
    window_max,
    window_sum,
)

T0 = pd.Timestamp("2025-01-01", tz="UTC")


def random_case(seed: int, n_events: int = 400):
    rng = np.random.default_rng(seed)
    accounts = pd.Index([f"A{i}" for i in range(6)])
    # Irregular as-of dates, some exactly on event times.
    as_of = pd.DatetimeIndex(sorted(set(T0 + pd.to_timedelta(rng.integers(0, 200, 12), unit="D")))).tz_convert("UTC")
    t = T0 + pd.to_timedelta(rng.integers(-50 * 24, 220 * 24, n_events), unit="h")
    t = pd.Series(t)
    t.iloc[:5] = as_of[rng.integers(0, len(as_of), 5)]  # events exactly at an as-of count
    frame = pd.DataFrame({
        "account_id": rng.choice(list(accounts) + ["UNKNOWN"], n_events),
        "t": t,
        "key": rng.choice(["k1", "k2", "k3", None], n_events),
        "value": rng.integers(0, 10, n_events).astype(float),
    })
    return Grid(accounts, as_of), frame


def brute(grid, frame, days, fn, offset=0):
    out = np.full(grid.shape, np.nan)
    for i, acc in enumerate(grid.accounts):
        for j, t in enumerate(grid.as_of):
            hi = t - pd.Timedelta(days=offset)
            lo = hi - pd.Timedelta(days=days) if days is not None else pd.Timestamp.min.tz_localize("UTC")
            rows = frame[(frame.account_id == acc) & (frame.t > lo) & (frame.t <= hi)]
            out[i, j] = fn(rows)
    return out


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("days", [7, 30, 90, None])
def test_window_sum_and_count(seed, days):
    grid, f = random_case(seed)
    ev = events(grid, f.account_id, f.t)
    np.testing.assert_allclose(window_sum(grid, ev, days), brute(grid, f, days, len))
    np.testing.assert_allclose(window_sum(grid, ev, days, ev.take(f.value)), brute(grid, f, days, lambda r: r.value.sum()))


@pytest.mark.parametrize("seed", range(3))
def test_window_with_offset(seed):
    grid, f = random_case(seed)
    ev = events(grid, f.account_id, f.t)
    np.testing.assert_allclose(window_sum(grid, ev, 56, offset_days=28), brute(grid, f, 56, len, offset=28))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("days", [7, 30, 90, None])
def test_window_distinct(seed, days):
    grid, f = random_case(seed)
    ev = events(grid, f.account_id, f.t)
    got = window_distinct(grid, ev, ev.take(f.key), days)
    np.testing.assert_allclose(got, brute(grid, f, days, lambda r: r.key.dropna().nunique()))


@pytest.mark.parametrize("seed", range(5))
def test_window_max_and_share(seed):
    grid, f = random_case(seed)
    ev = events(grid, f.account_id, f.t)
    want = brute(grid, f, 28, lambda r: r.value.max() if len(r) else np.nan)
    np.testing.assert_allclose(window_max(grid, ev, ev.take(f.value), 28), want)

    def share(r):
        r = r.dropna(subset=["key"])
        return r.key.value_counts().max() / len(r) if len(r) else np.nan

    np.testing.assert_allclose(window_group_max_share(grid, ev, ev.take(f.key), 90), brute(grid, f, 90, share))


@pytest.mark.parametrize("seed", range(5))
def test_days_since_last(seed):
    grid, f = random_case(seed)
    ev = events(grid, f.account_id, f.t)
    want = np.full(grid.shape, np.nan)
    for i, acc in enumerate(grid.accounts):
        for j, t in enumerate(grid.as_of):
            seen = f.t[(f.account_id == acc) & (f.t <= t)]
            if len(seen):
                want[i, j] = (t - seen.max()).value / DAY_NS
    np.testing.assert_allclose(days_since_last(grid, ev), want)


def test_edges_are_inclusive_right_exclusive_left():
    grid = Grid(pd.Index(["A"]), pd.DatetimeIndex([T0]))
    times = pd.Series([T0, T0 - pd.Timedelta(days=30), T0 - pd.Timedelta(days=30) + pd.Timedelta(seconds=1),
                       T0 + pd.Timedelta(microseconds=1)])
    ev = events(grid, pd.Series(["A"] * 4), times)
    # At as_of: counts. Exactly 30 days before: out. One second later: in. After as_of: out.
    assert window_sum(grid, ev, 30)[0, 0] == 2
