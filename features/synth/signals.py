"""Timing events (executive hires, funding rounds, ...): what happens, and the part a data provider sees."""

from __future__ import annotations

import numpy as np

from ..contract import SIGNAL_TYPES
from .accounts import Accounts
from .draws import pick
from .grid import Grid
from .vocab import (
    EXEC_ROLES,
    FIRST_NAMES,
    LAST_NAMES,
    ROUNDS,
    TECHNOLOGIES,
)


def latent_events(rng, acc: Accounts, grid: Grid) -> dict[str, np.ndarray]:
    """Weekly counts (accounts x simulated weeks) of the timing events that happen, seen or not."""
    shape = (acc.n, grid.total_weeks)
    small = acc.employees < 500
    per_year = {
        "executive_hire": np.full(acc.n, 0.25),
        "funding_round": np.where(small, 0.12, 0.04),
        "hiring_surge": np.full(acc.n, 0.15),
        "technology_added": np.full(acc.n, 0.30),
        "technology_removed": np.full(acc.n, 0.15),
        "layoff": np.where(small, 0.04, 0.08),
        "acquisition": np.full(acc.n, 0.02),
        # Only customers can hit a product limit: the pipeline run keeps
        # these where the account is a customer at the time.
        "product_limit_reached": np.full(acc.n, 0.6),
    }
    return {kind: rng.poisson(np.broadcast_to(rate[:, None] / 52.0, shape)).astype(np.int8)
            for kind, rate in per_year.items()}


def trailing(counts, weeks):
    """Events in the ``weeks`` weeks before each week (the week itself excluded)."""
    c = np.concatenate([np.zeros((counts.shape[0], 1)), np.cumsum(counts, axis=1, dtype=float)], axis=1)
    w = np.arange(counts.shape[1])
    return c[:, w] - c[:, np.maximum(w - weeks, 0)]


def signal_details(rng, kind, acc: Accounts, acct):
    """Free-text ``detail`` of each signal row, by its type."""
    k = len(acct)
    person = pick(rng, FIRST_NAMES, k) + " " + pick(rng, LAST_NAMES, k)
    amount = np.round(np.exp(rng.normal(np.log(20), 1.0, k)), 1).astype(str)
    tech = pick(rng, TECHNOLOGIES, k)
    buyer = acc.name[(acct + rng.integers(1, max(acc.n, 2), k)) % acc.n]  # another company
    text = {
        "executive_hire": "New " + pick(rng, EXEC_ROLES, k) + ": " + person,
        "funding_round": pick(rng, ROUNDS, k) + " round of $" + amount + "M",
        "hiring_surge": "Open roles up " + rng.integers(10, 60, k).astype(str) + "% in 60 days",
        "technology_added": "Started using " + tech,
        "technology_removed": "Stopped using " + tech,
        "layoff": "Workforce reduced by about " + rng.integers(3, 25, k).astype(str) + "%",
        "acquisition": "Acquired by " + buyer,
        "product_limit_reached": "Reached " + rng.integers(85, 101, k).astype(str) + "% of licensed seats",
    }
    out = np.full(k, "", dtype=object)
    for j, name in enumerate(SIGNAL_TYPES):
        out[kind == j] = text[name][kind == j]
    return out


def signal_rows(rng, acc: Accounts, events, limits, grid: Grid):
    """Timing events the data provider saw (about three in four), stamped inside their week."""
    acct, week, kind = [], [], []
    for j, name in enumerate(SIGNAL_TYPES[:-1]):
        a, w = np.nonzero(events[name])
        acct.append(a)
        week.append(w)
        kind.append(np.full(len(a), j))
    acct.append(limits[0])
    week.append(limits[1])
    kind.append(np.full(len(limits[0]), len(SIGNAL_TYPES) - 1))
    acct, week, kind = np.concatenate(acct), np.concatenate(week), np.concatenate(kind)
    day = np.floor(grid.week_day(week) + rng.random(len(acct)) * 7)
    seen = rng.random(len(acct)) < 0.75
    keep = seen & (day >= 0) & (day < grid.n_days) & (day >= acc.created[acct])
    acct, day, kind = acct[keep], day[keep], kind[keep]
    return acct, day, kind, signal_details(rng, kind, acc, acct)
