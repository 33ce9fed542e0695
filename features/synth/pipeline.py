"""The weekly run of the market: buying cycles, opportunities, customers and renewals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .accounts import Accounts
from .deals import (
    EXPANSION,
    NEW_BUSINESS,
    OPP_FIELDS,
    RENEWAL,
    add_prior_deals,
    close_weeks,
    deal_size,
    open_opportunities,
)
from .draws import segments, sigmoid
from .grid import Grid
from .params import RenewalParams, SeasonParams, SynthParams, TimingParams
from .signals import trailing
from .vocab import PRODUCT_LINES


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
    line: np.ndarray        # product line it evaluates (index into PRODUCT_LINES), -1: none (buying groups off)


@dataclass
class Market:
    """Where each account stands, in simulated weeks: the state the weekly processes share.

    One entry per account. ``inf`` means never (not a customer, no churn),
    and an account is free to start a new-business cycle from ``busy_until``.
    """

    customer_since: np.ndarray     # week the account became a customer
    customer_until: np.ndarray     # week it churned
    renewal_due: np.ndarray        # week of its next contract anniversary
    term: np.ndarray               # its contract term, weeks
    busy_until: np.ndarray         # in a cycle, in pipeline or cold until this week
    expansion_until: np.ndarray    # no new expansion cycle before this week
    last_limit: np.ndarray         # last week it hit a product limit

    def customers(self, w):
        """Whether each account is a customer in week ``w``."""
        return (self.customer_since <= w) & (w < self.customer_until)

    def sign(self, idx, first_week):
        """Accounts ``idx`` become customers from ``first_week``, on a new contract."""
        self.customer_since[idx] = first_week
        self.renewal_due[idx] = self.customer_since[idx] + self.term[idx]
        self.customer_until[idx] = np.inf


@dataclass(frozen=True)
class Drivers:
    """What the weekly processes read and never change: per account, per week, or both."""

    exists_from: np.ndarray   # (accounts,) first simulated week the account exists
    triggers: np.ndarray      # (accounts, weeks) recent executive hires and funding rounds, capped
    hiring: np.ndarray        # (accounts, weeks) a hiring surge in the recent weeks
    layoff: np.ndarray        # (accounts, weeks) a layoff in the recent weeks
    season: np.ndarray        # (weeks,) budget-calendar multiplier of the hazards
    nb_hazard: np.ndarray     # (accounts,) weekly new-business hazard before season and events
    sales_hazard: np.ndarray  # (accounts,) weekly sales-outreach hazard before season
    log_size: np.ndarray      # (accounts,) log10 employees, small companies floored


@dataclass
class Ledger:
    """What the run records, week by week: cycles, opportunities and product-limit hits."""

    cycles: list[dict]          # one dict of Cycles fields per process and week that started any
    opportunities: list[dict]   # one dict of OPP_FIELDS per process and week
    limits: list[np.ndarray]    # per simulated week, the accounts that hit a product limit
    n_cycles: int = 0           # cycles recorded so far

    def add_cycles(self, **fields) -> np.ndarray:
        """Record a block of cycles (one array per Cycles field); returns their indexes in the run's cycles."""
        k = len(fields["acct"])
        self.cycles.append(fields)
        self.n_cycles += k
        return np.arange(self.n_cycles - k, self.n_cycles)


def _season(grid: Grid, p: SeasonParams):
    """Budget-calendar multiplier of each simulated week: budgets open in the first quarter and in September."""
    day = grid.week_day(np.arange(grid.total_weeks)) + grid.start.day_of_year
    return 1.0 + p.new_year_lift * np.cos(2 * np.pi * (day - p.new_year_peak_day) / 365.25) \
        + p.autumn_lift * np.cos(2 * np.pi * (day - p.autumn_peak_day) / 365.25)


def _drivers(acc: Accounts, events, grid: Grid, p: SynthParams) -> Drivers:
    """The fixed inputs of the run, from the accounts and their timing events."""
    t, nb, sales = p.timing, p.new_business, p.sales
    return Drivers(
        exists_from=np.clip(np.ceil(acc.created / 7.0) + grid.run_in, 0, None),
        triggers=np.minimum(trailing(events["executive_hire"] + events["funding_round"], t.trigger_weeks),
                            t.trigger_cap),
        hiring=np.minimum(trailing(events["hiring_surge"], t.hiring_weeks), 1),
        layoff=np.minimum(trailing(events["layoff"], t.layoff_weeks), 1),
        season=_season(grid, p.season),
        nb_hazard=nb.hazard * np.exp(nb.fit_slope * acc.fit) * np.where(acc.partner, nb.partner_factor, 1.0),
        sales_hazard=sales.hazard * np.exp(sales.fit_slope * acc.fit),
        log_size=np.log10(np.maximum(acc.employees, p.deals.min_employees)),
    )


def _opening_market(rng, acc: Accounts, grid: Grid, p: RenewalParams) -> Market:
    """The market at the first simulated week: the customers the history opens with, on their contracts."""
    n = acc.n
    since = np.where(np.isnan(acc.customer_since), np.inf,
                     np.floor(np.nan_to_num(acc.customer_since) / 7.0) + grid.run_in)
    term = rng.choice(np.array(p.terms_weeks), size=n, p=list(p.terms_p))
    renewal = np.where(np.isfinite(since), since + term, np.inf)
    # An anniversary whose renewal would have opened before the run began is
    # moved on by whole terms.
    later = np.isfinite(renewal) & (renewal < p.lead_weeks)
    renewal[later] += term[later] * np.ceil((p.lead_weeks - renewal[later]) / term[later])
    return Market(customer_since=since, customer_until=np.full(n, np.inf), renewal_due=renewal, term=term,
                  busy_until=np.zeros(n), expansion_until=np.zeros(n), last_limit=np.full(n, -100.0))


def _product_limits(market: Market, events, customer, w):
    """Customers that hit a product limit in week ``w`` (a signal, and a reason to expand).

    Parameters
    ----------
    market : Market
        Its ``last_limit`` is set to ``w`` for those accounts.
    events : dict of str to ndarray
        Weekly timing-event counts, (accounts, weeks).
    customer : ndarray of bool, shape (accounts,)
    w : int
        Simulated week.

    Returns
    -------
    ndarray of int
        The accounts that hit a limit.
    """
    hit = customer & (events["product_limit_reached"][:, w] > 0)
    market.last_limit[hit] = w
    return np.flatnonzero(hit)


def _new_business_hazard(d: Drivers, w, p: TimingParams):
    """Each account's hazard of starting a new-business cycle in week ``w``."""
    return d.nb_hazard * d.season[w] * (1 + p.trigger_lift * d.triggers[:, w]) * (1 + p.hiring_lift * d.hiring[:, w]) \
        * (1 - p.layoff_cut * d.layoff[:, w])


def _plan_cycles(rng, acc: Accounts, d: Drivers, idx, w, p: SynthParams) -> dict:
    """What new-business cycles at accounts ``idx``, triggered in week ``w``, will be: length, committee, outcome.

    A cycle gathers a committee; broader, more senior committees with strong
    intent at well-fitting accounts convert more often.

    Returns
    -------
    dict of str to ndarray, shape (len(idx),)
        ``weeks``, ``size``, ``senior``, ``visibility``, ``intent``,
        ``converts``, ``reach`` and ``lead`` (as in :class:`Cycles`), and the
        opportunity's ``close`` (weeks to a decision), ``won`` and ``amount``
        should it convert.
    """
    nb, k = p.new_business, len(idx)
    weeks = np.clip(np.round(nb.min_weeks + rng.gamma(nb.length_shape, nb.length_scale, k)), nb.min_weeks,
                    nb.max_weeks)
    m = np.clip(1 + rng.poisson(nb.committee_base + nb.committee_per_decade * d.log_size[idx]), nb.committee_min,
                nb.committee_max)
    senior = rng.random(k) < np.clip(nb.senior_base + nb.senior_per_member * m + nb.senior_fit * acc.fit[idx],
                                     nb.senior_min, nb.senior_max)
    quiet = rng.random(k) < nb.quiet_share
    vis = np.where(quiet, nb.quiet_visibility, np.exp(rng.normal(0, nb.visibility_sd, k)))
    intent = rng.beta(nb.intent_a, nb.intent_b, k)
    logit = (nb.convert_logit + nb.convert_fit * acc.fit[idx] + nb.convert_senior * senior
             + nb.convert_member * (m - nb.convert_typical_size) + nb.convert_intent * (intent - 0.5)
             + p.timing.trigger_logit * d.triggers[idx, w])
    converts = rng.random(k) < sigmoid(logit)
    # Some cycles that never reach sales run their full course all the same
    # (the committee picks a competitor or does nothing); the rest stall.
    stall = rng.random(k) < nb.stall_share
    reach = np.where(converts, 1.0, np.where(stall, nb.stall_reach_min + nb.stall_reach_spread * rng.random(k),
                                             nb.full_reach_min + nb.full_reach_spread * rng.random(k)))
    lead = rng.integers(nb.lead_min_weeks, nb.lead_max_weeks, k)
    close = close_weeks(rng, k, p.deals)
    won = rng.random(k) < sigmoid(nb.win_logit + nb.win_fit * acc.fit[idx] + nb.win_senior * senior)
    amount = deal_size(rng, acc.employees[idx], k, p.deals)
    return dict(weeks=weeks, size=m, senior=senior, visibility=vis, intent=intent, converts=converts, reach=reach,
                lead=lead, close=close, won=won, amount=amount)


def _open_cycles(rng, grid: Grid, ledger: Ledger, idx, start_w, plan: dict, line, p: SynthParams):
    """Record planned new-business cycles and the opportunities of those that convert.

    Returns the week each account is free again: after its opportunity's
    decision, or some cold weeks after a cycle that ends without one.
    """
    nb, k, c = p.new_business, len(idx), plan["converts"]
    weeks, close = plan["weeks"], plan["close"]
    cycle = ledger.add_cycles(acct=idx, start_w=start_w, weeks=weeks, reach=plan["reach"], size=plan["size"],
                              senior=plan["senior"], visibility=plan["visibility"], intent=plan["intent"],
                              expansion=np.zeros(k, dtype=bool), converts=c, lead=plan["lead"], line=line)
    ledger.opportunities.append(open_opportunities(rng, grid, p.deals, idx[c], (start_w + weeks)[c], NEW_BUSINESS,
                                                   plan["won"][c], close[c], plan["amount"][c], cycle[c]))
    return np.where(c, start_w + weeks + close, start_w + np.ceil(plan["reach"] * weeks) + nb.cold_min_weeks
                    + rng.integers(0, nb.cold_spread_weeks, k))


def _new_business(rng, acc: Accounts, grid: Grid, d: Drivers, market: Market, ledger: Ledger, idx, w,
                  p: SynthParams, groups_rng=None):
    """Buying cycles that start in week ``w`` at accounts ``idx``, and the opportunities they lead to.

    A converting cycle ends in an opportunity after its planned weeks; one
    that does not leaves the account cold for a while.

    Parameters
    ----------
    rng : numpy.random.Generator
    acc : Accounts
    grid : Grid
    d : Drivers
    market : Market
        Updated: ``busy_until`` of ``idx``, and the contract of accounts that win.
    ledger : Ledger
        Receives the cycles and the opportunities.
    idx : ndarray of int
        Accounts starting a cycle.
    w : int
        Simulated week.
    p : SynthParams
        Uses ``new_business``, ``timing``, ``deals`` and ``buying_groups``.
    groups_rng : numpy.random.Generator, optional
        The buying groups' own stream, when they are on: each cycle gets a
        product line, and some at large accounts sibling cycles
        (:func:`_sibling_cycles`). None: the run draws nothing more.
    """
    if not len(idx):
        return
    k = len(idx)
    plan = _plan_cycles(rng, acc, d, idx, w, p)
    start = np.full(k, w)
    line = np.full(k, -1) if groups_rng is None else groups_rng.integers(0, len(PRODUCT_LINES), k)
    market.busy_until[idx] = _open_cycles(rng, grid, ledger, idx, start, plan, line, p)
    newly = plan["converts"] & plan["won"]
    market.sign(idx[newly], (start + plan["weeks"] + plan["close"])[newly] + 1)
    if groups_rng is not None:
        _sibling_cycles(groups_rng, acc, grid, d, market, ledger, idx, w, plan, line, p)


def _sibling_cycles(rng, acc: Accounts, grid: Grid, d: Drivers, market: Market, ledger: Ledger, idx, w,
                    first: dict, line, p: SynthParams):
    """Other teams of large accounts ``idx`` that start evaluating other product lines while a first cycle runs.

    Each sibling is a cycle of its own: its committee, length, reach,
    conversion and opportunity are drawn afresh; it starts some weeks after
    the first cycle, before that one ends. An account is free again when
    all its cycles are done, and becomes a customer on its first won deal.

    Parameters
    ----------
    rng : numpy.random.Generator
        The buying groups' stream.
    first : dict
        The first cycles' plans (:func:`_plan_cycles`).
    line : ndarray of int
        The first cycles' product lines.
    acc, grid, d, market, ledger, idx, w
        As for :func:`_new_business`.
    p : SynthParams
        Uses ``buying_groups``, ``new_business``, ``timing`` and ``deals``.
    """
    g, k, n_lines = p.buying_groups, len(idx), len(PRODUCT_LINES)
    has = (acc.employees[idx] >= g.min_employees) & (rng.random(k) < g.parallel_share)
    parent, j = segments(np.where(has, rng.integers(1, g.extra_max + 1, k), 0))
    if not len(parent):
        return
    # Each sibling of a cycle evaluates another line than it and than each other.
    others = np.argsort(rng.random((k, n_lines - 1)), axis=1)
    sib_line = (line[parent] + 1 + others[parent, j]) % n_lines
    sib = idx[parent]
    played = np.ceil(first["reach"] * first["weeks"])[parent].astype(np.int64)
    start = w + np.minimum(rng.integers(1, g.offset_max_weeks + 1, len(sib)), np.maximum(played - 1, 0))
    plan = _plan_cycles(rng, acc, d, sib, w, p)
    np.maximum.at(market.busy_until, sib, _open_cycles(rng, grid, ledger, sib, start, plan, sib_line, p))
    won = plan["converts"] & plan["won"]
    sign_w = np.full(acc.n, np.inf)
    np.minimum.at(sign_w, sib[won], (start + plan["weeks"] + plan["close"])[won] + 1)
    # A first cycle that won already set its account's contract to start later on.
    pending = np.where(market.customer_since > w, market.customer_since, np.inf)
    earlier = np.flatnonzero(sign_w < pending)
    market.sign(earlier, sign_w[earlier])


def _sales_sourced(rng, acc: Accounts, grid: Grid, d: Drivers, market: Market, ledger: Ledger, candidates, w,
                   p: SynthParams):
    """Opportunities sales opens in week ``w`` by outreach: no cycle before them, hardly a trace.

    Parameters
    ----------
    candidates : ndarray of bool, shape (accounts,)
        Free accounts that did not start a cycle this week.
    rng, acc, grid, d, market, ledger, w
        As for :func:`_new_business`; ``market`` is updated for the accounts
        approached and those that sign.
    p : SynthParams
        Uses ``sales`` and ``deals``.
    """
    idx = np.flatnonzero(candidates & (rng.random(acc.n) < d.sales_hazard * d.season[w]))
    if not len(idx):
        return
    k = len(idx)
    close = close_weeks(rng, k, p.deals)
    won = rng.random(k) < sigmoid(p.sales.win_logit + p.sales.win_fit * acc.fit[idx])
    amount = deal_size(rng, acc.employees[idx], k, p.deals)
    ledger.opportunities.append(
        open_opportunities(rng, grid, p.deals, idx, np.full(k, w), NEW_BUSINESS, won, close, amount))
    market.busy_until[idx] = w + close
    market.sign(idx[won], w + close[won] + 1)


def _expansion(rng, acc: Accounts, grid: Grid, market: Market, ledger: Ledger, customer, w, p: SynthParams):
    """Expansion cycles customers start in week ``w``, mostly after a product limit, and their opportunities.

    Parameters
    ----------
    customer : ndarray of bool, shape (accounts,)
        Customers at the start of week ``w``.
    rng, acc, grid, market, ledger, w
        As for :func:`_new_business`; ``market.expansion_until`` is set for
        the accounts that start one.
    p : SynthParams
        Uses ``expansion`` and ``deals``.
    """
    ex = p.expansion
    recent_limit = w - market.last_limit <= ex.limit_weeks
    h = ex.hazard * (1 + ex.limit_lift * recent_limit)
    idx = np.flatnonzero(customer & (market.expansion_until <= w) & (rng.random(acc.n) < h))
    if not len(idx):
        return
    k = len(idx)
    weeks = np.clip(np.round(ex.min_weeks + rng.gamma(ex.length_shape, ex.length_scale, k)), ex.min_weeks,
                    ex.max_weeks)
    converts = rng.random(k) < ex.convert_share
    reach = np.where(converts, 1.0, ex.stall_reach_min + ex.stall_reach_spread * rng.random(k))
    size = np.clip(1 + rng.poisson(ex.committee_mean, k), 1, ex.committee_max)
    senior = rng.random(k) < ex.senior_share
    visibility = np.exp(rng.normal(0, ex.visibility_sd, k))
    intent = rng.beta(ex.intent_a, ex.intent_b, k)
    cycle = ledger.add_cycles(acct=idx, start_w=np.full(k, w), weeks=weeks, reach=reach, size=size, senior=senior,
                              visibility=visibility, intent=intent, expansion=np.ones(k, dtype=bool),
                              converts=converts, lead=np.zeros(k, dtype=np.int64), line=np.full(k, -1))
    close = close_weeks(rng, k, p.deals)
    won = rng.random(k) < ex.win_share
    upsell = np.round(ex.upsell_share * deal_size(rng, acc.employees[idx], k, p.deals), -2)
    c = converts
    ledger.opportunities.append(open_opportunities(rng, grid, p.deals, idx[c], w + weeks[c], EXPANSION, won[c],
                                                   close[c], upsell[c], cycle[c]))
    market.expansion_until[idx] = w + weeks + close


def _renewals(rng, acc: Accounts, grid: Grid, market: Market, ledger: Ledger, customer, w, p: SynthParams):
    """Renewal opportunities that open in week ``w``, a fixed lead before each contract anniversary.

    A won renewal extends the contract by a term; a lost one ends the
    customer period at the anniversary and keeps the account out of the
    market for a while.

    Parameters
    ----------
    customer : ndarray of bool, shape (accounts,)
        Customers at the start of week ``w``.
    rng, acc, grid, market, ledger, w
        As for :func:`_new_business`.
    p : SynthParams
        Uses ``renewal`` and ``deals``.
    """
    r = p.renewal
    idx = np.flatnonzero(customer & (market.renewal_due - r.lead_weeks == w))
    if not len(idx):
        return
    k = len(idx)
    won = rng.random(k) < r.win_share
    amount = deal_size(rng, acc.employees[idx], k, p.deals)
    ledger.opportunities.append(
        open_opportunities(rng, grid, p.deals, idx, np.full(k, w), RENEWAL, won, np.full(k, float(r.lead_weeks)),
                           amount))
    lost = idx[~won]
    market.customer_until[lost] = market.renewal_due[lost]
    market.busy_until[lost] = market.renewal_due[lost] + r.churn_cold_weeks
    market.renewal_due[idx[won]] += market.term[idx[won]]


def simulate_pipeline(rng, acc: Accounts, events, grid: Grid, p: SynthParams, groups_rng=None):
    """Play the market week by week: cycles, opportunities, customers.

    Each week, in this order (the random draws follow it): customers hit
    product limits; free accounts start new-business cycles, and some of
    those that did not are approached by sales; customers start expansion
    cycles; renewals come up.

    Parameters
    ----------
    rng : numpy.random.Generator
    acc : Accounts
    events : dict of str to ndarray
        Weekly timing-event counts, (accounts, simulated weeks).
    grid : Grid
    p : SynthParams
    groups_rng : numpy.random.Generator, optional
        The buying groups' own stream; None (buying groups off) draws
        nothing more than the default run.

    Returns
    -------
    cycles : Cycles
    opp : dict of str to ndarray
        The opportunities, one array per field of ``OPP_FIELDS``, the
        opening customers' deals first.
    customers : tuple of ndarray
        The customer periods: (account, first day, end day).
    limits : tuple of ndarray
        The product limits customers hit: (account, simulated week).
    """
    d = _drivers(acc, events, grid, p)
    market = _opening_market(rng, acc, grid, p.renewal)
    ledger = Ledger(cycles=[], opportunities=[], limits=[])
    for w in range(grid.total_weeks):
        customer = market.customers(w)
        ledger.limits.append(_product_limits(market, events, customer, w))
        free = (d.exists_from <= w) & ~customer & (market.busy_until <= w)
        # One uniform per account decides whether a cycle starts; the
        # accounts it spares are the ones sales may approach.
        h = _new_business_hazard(d, w, p.timing)
        u = rng.random(acc.n)
        _new_business(rng, acc, grid, d, market, ledger, np.flatnonzero(free & (u < h)), w, p, groups_rng)
        _sales_sourced(rng, acc, grid, d, market, ledger, free & (u >= h), w, p)
        _expansion(rng, acc, grid, market, ledger, customer, w, p)
        _renewals(rng, acc, grid, market, ledger, customer, w, p)

    cycles = Cycles(**{f: np.concatenate([c[f] for c in ledger.cycles]) if ledger.cycles else np.array([])
                       for f in Cycles.__dataclass_fields__})
    opps = ledger.opportunities
    opp = {f: np.concatenate([o[f] for o in opps]) for f in OPP_FIELDS} if opps else \
        {f: np.array([]) for f in OPP_FIELDS}
    opp = add_prior_deals(rng, acc, opp, p.deals)
    limit_acct = np.concatenate(ledger.limits)
    limit_week = np.repeat(np.arange(grid.total_weeks), [len(x) for x in ledger.limits])
    customers = customer_periods(grid, market.customer_since, market.customer_until)
    return cycles, opp, customers, (limit_acct, limit_week)


def customer_periods(grid, since_w, until_w):
    """(account, first day, end day) of each account's latest customer period, clipped to the history."""
    idx = np.flatnonzero(np.isfinite(since_w))
    first = np.maximum(grid.week_day(since_w[idx]), 0.0)
    until = until_w[idx]
    end = np.where(np.isfinite(until), grid.week_day(np.where(np.isfinite(until), until, 0)), grid.n_days)
    end = np.minimum(end, grid.n_days)
    keep = first < end
    return idx[keep], first[keep], end[keep]
