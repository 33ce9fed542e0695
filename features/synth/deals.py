"""Opportunities: their sizes, their time to a decision, and the deals behind the opening customers."""

from __future__ import annotations

import numpy as np

from ..contract import OPPORTUNITY_TYPES
from .accounts import Accounts
from .grid import Grid
from .params import DealParams

# ``cycle``: the buying cycle an opportunity came from (its index in the
# run's cycles), -1 for none (sales outreach, renewals, deals before the run).
OPP_FIELDS = ("acct", "created", "closed", "won", "kind", "amount", "cycle")
# Codes of the opportunity types, indexes into the contract's vocabulary.
NEW_BUSINESS, EXPANSION, RENEWAL = (OPPORTUNITY_TYPES.index(t) for t in ("new_business", "expansion", "renewal"))


def deal_size(rng, employees, n, p: DealParams):
    """Annual contract value of ``n`` deals: grows with company size, rounded like a quote."""
    return np.round(p.acv * np.sqrt(np.maximum(employees, p.min_employees) / p.acv_employees)
                    * np.exp(rng.normal(0, p.acv_sd, n)), -2)


def close_weeks(rng, n, p: DealParams):
    """Weeks from opportunity to decision of ``n`` deals: one to six months, a long tail."""
    return np.clip(np.round(np.exp(rng.normal(np.log(p.close_median_weeks), p.close_sd, n))),
                   p.close_min_weeks, p.close_max_weeks)


def open_opportunities(rng, grid: Grid, p: DealParams, idx, week, kind, won, close_w, amount, cycle=None) -> dict:
    """Opportunities of accounts ``idx`` opened in simulated ``week`` and decided ``close_w`` weeks later.

    Parameters
    ----------
    rng : numpy.random.Generator
    grid : Grid
    p : DealParams
    idx : ndarray of int, shape (k,)
        Accounts.
    week : ndarray of float, shape (k,)
        Simulated week each opens in; it opens on a random moment of that week.
    kind : int
        Opportunity type code (``NEW_BUSINESS``, ``EXPANSION`` or ``RENEWAL``).
    won : ndarray of bool, shape (k,)
    close_w : ndarray of float, shape (k,)
        Weeks to the decision; it lands up to ``p.close_jitter_days`` later.
    amount : ndarray of float, shape (k,)
    cycle : ndarray of int, shape (k,), optional
        The cycle each comes from; default -1 (none).

    Returns
    -------
    dict of str to ndarray
        One array per field of ``OPP_FIELDS``; ``created`` and ``closed`` in
        days since ``start``.
    """
    created = grid.week_day(week) + rng.random(len(idx)) * 7
    closed = created + close_w * 7 + rng.random(len(idx)) * p.close_jitter_days
    cycle = np.full(len(idx), -1, dtype=np.int64) if cycle is None else np.asarray(cycle, dtype=np.int64)
    return dict(acct=idx, created=created, closed=closed, won=won, kind=np.full(len(idx), kind), amount=amount,
                cycle=cycle)


def add_prior_deals(rng, acc: Accounts, opp, p: DealParams):
    """The won deal behind each customer the history opens with, put before ``opp``'s rows."""
    idx = np.flatnonzero(~np.isnan(acc.customer_since))
    k = len(idx)
    closed = acc.customer_since[idx]
    created = np.maximum(closed - p.prior_open_days - rng.random(k) * p.prior_open_spread_days, acc.created[idx] + 1)
    prior = dict(acct=idx, created=created, closed=closed, won=np.ones(k, dtype=bool),
                 kind=np.full(k, NEW_BUSINESS), amount=deal_size(rng, acc.employees[idx], k, p),
                 cycle=np.full(k, -1, dtype=np.int64))
    return {f: np.concatenate([prior[f], opp[f]]) for f in OPP_FIELDS}
