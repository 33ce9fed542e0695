"""The weekly run of the market: buying cycles, opportunities, customers and renewals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract import OPPORTUNITY_TYPES
from .accounts import Accounts
from .draws import sigmoid
from .grid import Grid
from .signals import trailing


@dataclass
class Cycles:
    """Buying cycles (new business and expansion) as parallel arrays."""

    acct: np.ndarray
    start_w: np.ndarray     # simulated week the cycle starts
    weeks: np.ndarray       # planned length in weeks
    reach: np.ndarray       # share of the plan played out before it ends (1 for converting cycles)
    size: np.ndarray        # committee size
    senior: np.ndarray      # a VP or C-level joins the committee
    visibility: np.ndarray  # how much of the committee's research happens where it is tracked
    intent: np.ndarray      # strength of third-party research, 0..1
    expansion: np.ndarray   # an existing customer's expansion cycle
    converts: np.ndarray    # ends in an opportunity
    lead: np.ndarray        # weeks of anonymous research before anyone identifies themselves


OPP_FIELDS = ("acct", "created", "closed", "won", "kind", "amount")
# Codes of the opportunity types, indexes into the contract's vocabulary.
NEW_BUSINESS, EXPANSION, RENEWAL = (OPPORTUNITY_TYPES.index(t) for t in ("new_business", "expansion", "renewal"))


def deal_size(rng, employees, n):
    """Annual contract value: grows with company size, rounded like a quote."""
    return np.round(6000 * np.sqrt(np.maximum(employees, 10) / 50.0) * np.exp(rng.normal(0, 0.5, n)), -2)


def close_weeks(rng, n):
    """Weeks from opportunity to decision: one to six months, a long tail."""
    return np.clip(np.round(np.exp(rng.normal(np.log(11), 0.45, n))), 4, 28)


def simulate_pipeline(rng, acc: Accounts, events, grid: Grid):
    """Play the market week by week: cycles, opportunities, customers.

    Returns the cycles, the opportunities as a dict of arrays, the customer
    periods (account, first day, end day) and the product-limit events that
    customers hit (account, week).
    """
    n, total = acc.n, grid.total_weeks
    exists_from = np.clip(np.ceil(acc.created / 7.0) + grid.run_in, 0, None)
    boost = np.minimum(trailing(events["executive_hire"] + events["funding_round"], 12), 2)
    hiring = np.minimum(trailing(events["hiring_surge"], 8), 1)
    layoff = np.minimum(trailing(events["layoff"], 26), 1)
    day0 = grid.week_day(np.arange(total))
    # Budgets open in the first quarter of the year and in September.
    season = 1.0 + 0.2 * np.cos(2 * np.pi * (day0 + grid.start.day_of_year - 30) / 365.25) \
        + 0.1 * np.cos(2 * np.pi * (day0 + grid.start.day_of_year - 250) / 365.25)
    nb_hazard = 0.0060 * np.exp(0.6 * acc.fit) * np.where(acc.partner, 0.05, 1.0)
    sales_hazard = 0.0002 * np.exp(0.5 * acc.fit)

    cust_since_w = np.where(np.isnan(acc.customer_since), np.inf,
                            np.floor(np.nan_to_num(acc.customer_since) / 7.0) + grid.run_in)
    cust_until_w = np.full(n, np.inf)
    # Contracts run one to three years; a renewal comes up at each term's end.
    term = rng.choice(np.array([52.0, 104.0, 156.0]), size=n, p=[0.55, 0.3, 0.15])
    renewal_w = np.where(np.isfinite(cust_since_w), cust_since_w + term, np.inf)
    later = np.isfinite(renewal_w) & (renewal_w < 8)
    renewal_w[later] += term[later] * np.ceil((8 - renewal_w[later]) / term[later])
    busy_until = np.zeros(n)
    expansion_busy = np.zeros(n)
    last_limit = np.full(n, -100.0)
    size = np.log10(np.maximum(acc.employees, 10))

    cycles, opps, limits = [], [], []

    def add_opp(idx, week, kind, won, close_w, amount):
        created = grid.week_day(week) + rng.random(len(idx)) * 7
        closed = created + close_w * 7 + rng.random(len(idx)) * 3
        opps.append(dict(acct=idx, created=created, closed=closed, won=won,
                         kind=np.full(len(idx), kind), amount=amount))

    for w in range(total):
        exists = exists_from <= w
        customer = (cust_since_w <= w) & (w < cust_until_w)

        # Customers hitting a product limit (a signal, and a reason to expand).
        hit = customer & (events["product_limit_reached"][:, w] > 0)
        limits.append(np.flatnonzero(hit))
        last_limit[hit] = w

        # New-business cycles at accounts that are neither customers nor in pipeline.
        free = exists & ~customer & (busy_until <= w)
        h = nb_hazard * season[w] * (1 + 6.0 * boost[:, w]) * (1 + 0.6 * hiring[:, w]) * (1 - 0.5 * layoff[:, w])
        u = rng.random(n)
        idx = np.flatnonzero(free & (u < h))
        if len(idx):
            k = len(idx)
            weeks = np.clip(np.round(3 + rng.gamma(2.2, 3.5, k)), 3, 26)
            m = np.clip(1 + rng.poisson(0.8 + 0.9 * size[idx]), 2, 10)
            senior = rng.random(k) < np.clip(0.2 + 0.06 * m + 0.08 * acc.fit[idx], 0.05, 0.9)
            quiet = rng.random(k) < 0.15
            vis = np.where(quiet, 0.12, np.exp(rng.normal(0, 0.4, k)))
            intent = rng.beta(2.0, 2.0, k)
            logit = (-2.0 + 0.5 * acc.fit[idx] + 1.6 * senior + 0.35 * (m - 4) + 3.0 * (intent - 0.5)
                     + 0.4 * boost[idx, w])
            converts = rng.random(k) < sigmoid(logit)
            # Half the cycles that never reach sales run their full course all
            # the same (the committee picks a competitor or does nothing); the
            # rest stall part way.
            stall = rng.random(k) < 0.5
            reach = np.where(converts, 1.0, np.where(stall, 0.3 + 0.55 * rng.random(k), 0.85 + 0.15 * rng.random(k)))
            cycles.append(dict(acct=idx, start_w=np.full(k, w), weeks=weeks, reach=reach, size=m, senior=senior,
                               visibility=vis, intent=intent, expansion=np.zeros(k, dtype=bool), converts=converts,
                               lead=rng.integers(1, 9, k)))
            # A converting cycle ends in an opportunity; a stalled one leaves
            # the account cold for a while before it can start again.
            close = close_weeks(rng, k)
            won = rng.random(k) < sigmoid(-0.5 + 0.7 * acc.fit[idx] + 0.6 * senior)
            amount = deal_size(rng, acc.employees[idx], k)
            c = converts
            add_opp(idx[c], w + weeks[c], NEW_BUSINESS, won[c], close[c], amount[c])
            busy_until[idx] = np.where(c, w + weeks + close, w + np.ceil(reach * weeks) + 4 + rng.integers(0, 22, k))
            newly = c & won
            cust_since_w[idx[newly]] = w + weeks[newly] + close[newly] + 1
            renewal_w[idx[newly]] = cust_since_w[idx[newly]] + term[idx[newly]]
            cust_until_w[idx[newly]] = np.inf

        # Opportunities sourced by sales outreach: no cycle, hardly a trace.
        idx = np.flatnonzero(free & (u >= h) & (rng.random(n) < sales_hazard * season[w]))
        if len(idx):
            k = len(idx)
            close = close_weeks(rng, k)
            won = rng.random(k) < sigmoid(-0.9 + 0.6 * acc.fit[idx])
            add_opp(idx, np.full(k, w), NEW_BUSINESS, won, close, deal_size(rng, acc.employees[idx], k))
            busy_until[idx] = w + close
            cust_since_w[idx[won]] = w + close[won] + 1
            renewal_w[idx[won]] = cust_since_w[idx[won]] + term[idx[won]]
            cust_until_w[idx[won]] = np.inf

        # Expansion cycles at customers, mostly after they hit a limit.
        h_exp = 0.0035 * (1 + 6 * (w - last_limit <= 8))
        idx = np.flatnonzero(customer & (expansion_busy <= w) & (rng.random(n) < h_exp))
        if len(idx):
            k = len(idx)
            weeks = np.clip(np.round(2 + rng.gamma(2.0, 2.0, k)), 2, 14)
            converts = rng.random(k) < 0.7
            cycles.append(dict(acct=idx, start_w=np.full(k, w), weeks=weeks,
                               reach=np.where(converts, 1.0, 0.4 + 0.6 * rng.random(k)),
                               size=np.clip(1 + rng.poisson(1.0, k), 1, 4), senior=rng.random(k) < 0.3,
                               visibility=np.exp(rng.normal(0, 0.4, k)), intent=rng.beta(1.5, 3.0, k),
                               expansion=np.ones(k, dtype=bool), converts=converts, lead=np.zeros(k, dtype=np.int64)))
            close = close_weeks(rng, k)
            won = rng.random(k) < 0.6
            upsell = np.round(0.35 * deal_size(rng, acc.employees[idx], k), -2)
            c = converts
            add_opp(idx[c], w + weeks[c], EXPANSION, won[c], close[c], upsell[c])
            expansion_busy[idx] = w + weeks + close

        # Renewals come up eight weeks before each contract anniversary.
        idx = np.flatnonzero(customer & (renewal_w - 8 == w))
        if len(idx):
            k = len(idx)
            won = rng.random(k) < 0.85
            add_opp(idx, np.full(k, w), RENEWAL, won, np.full(k, 8.0), deal_size(rng, acc.employees[idx], k))
            cust_until_w[idx[~won]] = renewal_w[idx[~won]]
            busy_until[idx[~won]] = renewal_w[idx[~won]] + 26
            renewal_w[idx[won]] += term[idx[won]]

    cycles = Cycles(**{f: np.concatenate([c[f] for c in cycles]) if cycles else np.array([])
                        for f in Cycles.__dataclass_fields__})
    opp = {f: np.concatenate([o[f] for o in opps]) for f in OPP_FIELDS} if opps else \
        {f: np.array([]) for f in OPP_FIELDS}
    opp = add_prior_deals(rng, acc, opp)
    limit_acct = np.concatenate(limits)
    limit_week = np.repeat(np.arange(total), [len(x) for x in limits])
    customers = customer_periods(grid, cust_since_w, cust_until_w)
    return cycles, opp, customers, (limit_acct, limit_week)


def add_prior_deals(rng, acc: Accounts, opp):
    """The won deal behind each customer the history opens with."""
    idx = np.flatnonzero(~np.isnan(acc.customer_since))
    k = len(idx)
    closed = acc.customer_since[idx]
    created = np.maximum(closed - 30 - rng.random(k) * 120, acc.created[idx] + 1)
    prior = dict(acct=idx, created=created, closed=closed, won=np.ones(k, dtype=bool),
                 kind=np.full(k, NEW_BUSINESS), amount=deal_size(rng, acc.employees[idx], k))
    return {f: np.concatenate([prior[f], opp[f]]) for f in OPP_FIELDS}


def customer_periods(grid, since_w, until_w):
    """(account, first day, end day) of each account's latest customer period, clipped to the history."""
    idx = np.flatnonzero(np.isfinite(since_w))
    first = np.maximum(grid.week_day(since_w[idx]), 0.0)
    until = until_w[idx]
    end = np.where(np.isfinite(until), grid.week_day(np.where(np.isfinite(until), until, 0)), grid.n_days)
    end = np.minimum(end, grid.n_days)
    keep = first < end
    return idx[keep], first[keep], end[keep]
