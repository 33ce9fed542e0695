"""The constants of the synthetic market's weekly run, named, with their units.

:class:`SynthParams` gathers one frozen dataclass per process of
:mod:`~mqa.features.synth.pipeline`. The defaults are the market the project's
tests, benchmarks and README figures are measured on: changing one changes the
history a seed gives. Hazards are weekly probabilities; "logit" coefficients
add to the log-odds of the event they name; weeks and days are simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SeasonParams:
    """The budget calendar: a cosine bump on the hazard of starting to buy, twice a year."""

    new_year_lift: float = 0.2      # relative rise of the hazard at the new-year budget peak
    new_year_peak_day: int = 30     # day of the year of that peak (end of January)
    autumn_lift: float = 0.1        # relative rise at the autumn planning peak
    autumn_peak_day: int = 250      # day of the year of that peak (early September)


@dataclass(frozen=True)
class TimingParams:
    """How timing events change the weekly hazard of a new-business cycle."""

    trigger_weeks: int = 12         # weeks an executive hire or funding round keeps raising the hazard
    trigger_cap: int = 2            # most such events that count at once
    trigger_lift: float = 6.0       # hazard multiplier is 1 + trigger_lift per counted event
    trigger_logit: float = 0.4      # log-odds of conversion per counted event
    hiring_weeks: int = 8           # weeks a hiring surge counts for
    hiring_lift: float = 0.6        # hazard multiplier is 1 + hiring_lift after a surge
    layoff_weeks: int = 26          # weeks a layoff counts for
    layoff_cut: float = 0.5         # share of the hazard a layoff takes away


@dataclass(frozen=True)
class NewBusinessParams:
    """Buying cycles at accounts that are neither customers nor in pipeline."""

    hazard: float = 0.0060          # weekly hazard at latent fit 0, season 1 and no timing event
    fit_slope: float = 0.6          # log-hazard per unit of latent fit
    partner_factor: float = 0.05    # hazard multiplier for agencies, resellers and competitors
    min_weeks: int = 3              # shortest cycle, weeks; length is min_weeks + Gamma(shape, scale)
    length_shape: float = 2.2       # shape of that gamma draw
    length_scale: float = 3.5       # scale of that gamma draw, weeks
    max_weeks: int = 26             # longest cycle, weeks
    committee_base: float = 0.8     # committee size is 1 + Poisson(base + per_decade * log10 employees)
    committee_per_decade: float = 0.9  # extra members per tenfold company size
    committee_min: int = 2          # smallest committee, people
    committee_max: int = 10         # largest committee, people
    senior_base: float = 0.2        # chance a VP or C-level joins, before the two terms below
    senior_per_member: float = 0.06  # added chance per committee member
    senior_fit: float = 0.08        # added chance per unit of latent fit
    senior_min: float = 0.05        # lowest chance of a senior member
    senior_max: float = 0.9         # highest chance of a senior member
    quiet_share: float = 0.15       # share of cycles that run almost out of the vendor's sight
    quiet_visibility: float = 0.12  # visibility of such a cycle (1: a typical cycle)
    visibility_sd: float = 0.4      # sd of log visibility of the other cycles
    intent_a: float = 2.0           # third-party research strength is Beta(intent_a, intent_b), 0..1
    intent_b: float = 2.0
    convert_logit: float = -2.0     # log-odds that a cycle ends in an opportunity, before the terms below
    convert_fit: float = 0.5        # per unit of latent fit
    convert_senior: float = 1.6     # when a senior member joins
    convert_member: float = 0.35    # per member above convert_typical_size
    convert_typical_size: int = 4   # committee size at which the member term is 0
    convert_intent: float = 3.0     # per unit of research strength above 0.5 (its mean)
    stall_share: float = 0.5        # share of non-converting cycles that stall part way
    stall_reach_min: float = 0.3    # a stalled cycle plays out min + spread * U(0, 1) of its plan
    stall_reach_spread: float = 0.55
    full_reach_min: float = 0.85    # the others (no decision, a competitor) play out min + spread * U
    full_reach_spread: float = 0.15
    lead_min_weeks: int = 1         # anonymous research before anyone identifies themselves, weeks
    lead_max_weeks: int = 9         # exclusive upper bound of that draw
    win_logit: float = -0.5         # log-odds that the opportunity is won, before the terms below
    win_fit: float = 0.7            # per unit of latent fit
    win_senior: float = 0.6         # when a senior member joined
    cold_min_weeks: int = 4         # after a cycle ends without an opportunity, weeks before another
    cold_spread_weeks: int = 22     # plus U{0, ..., cold_spread_weeks - 1} weeks


@dataclass(frozen=True)
class SalesParams:
    """Opportunities sourced by sales outreach: no cycle, hardly a trace."""

    hazard: float = 0.0002          # weekly hazard at latent fit 0 and season 1
    fit_slope: float = 0.5          # log-hazard per unit of latent fit
    win_logit: float = -0.9         # log-odds that the opportunity is won at fit 0
    win_fit: float = 0.6            # per unit of latent fit


@dataclass(frozen=True)
class ExpansionParams:
    """Expansion cycles at customers, mostly after they hit a product limit."""

    hazard: float = 0.0035          # weekly hazard of a customer without a recent limit
    limit_lift: int = 6             # hazard multiplier is 1 + limit_lift after a product limit
    limit_weeks: int = 8            # weeks a product limit counts for
    min_weeks: int = 2              # shortest cycle, weeks; length is min_weeks + Gamma(shape, scale)
    length_shape: float = 2.0
    length_scale: float = 2.0       # weeks
    max_weeks: int = 14             # longest cycle, weeks
    convert_share: float = 0.7      # share of cycles that end in an opportunity
    stall_reach_min: float = 0.4    # the others play out min + spread * U(0, 1) of their plan
    stall_reach_spread: float = 0.6
    committee_mean: float = 1.0     # committee size is 1 + Poisson(committee_mean), at most committee_max
    committee_max: int = 4
    senior_share: float = 0.3       # chance a VP or C-level joins
    visibility_sd: float = 0.4      # sd of log visibility
    intent_a: float = 1.5           # research strength is Beta(intent_a, intent_b): customers research less
    intent_b: float = 3.0
    win_share: float = 0.6          # share of expansion opportunities won
    upsell_share: float = 0.35      # expansion amount as a share of a new deal's size


@dataclass(frozen=True)
class RenewalParams:
    """Contract terms and the renewal opportunity at each term's end."""

    terms_weeks: tuple[float, ...] = (52.0, 104.0, 156.0)  # contract terms a customer signs, weeks
    terms_p: tuple[float, ...] = (0.55, 0.3, 0.15)          # share of customers on each term
    lead_weeks: int = 8             # the renewal opportunity opens this many weeks before the anniversary
    win_share: float = 0.85         # share of renewals won (the rest churn at the anniversary)
    churn_cold_weeks: int = 26      # weeks after churning before a new-business cycle can start


@dataclass(frozen=True)
class DealParams:
    """Sizes and timings of opportunities, whatever their type."""

    acv: float = 6000.0             # annual contract value at acv_employees employees, USD
    acv_employees: float = 50.0     # company size at which the median deal is acv
    acv_sd: float = 0.5             # sd of log deal size; the value grows as sqrt(employees)
    min_employees: int = 10         # smaller companies are priced as this size
    close_median_weeks: int = 11    # median weeks from opportunity to decision
    close_sd: float = 0.45          # sd of log weeks to decision
    close_min_weeks: int = 4        # quickest decision, weeks
    close_max_weeks: int = 28       # slowest decision, weeks
    close_jitter_days: int = 3      # decision lands up to this many days after its week
    prior_open_days: int = 30       # a pre-history deal opened at least this many days before it closed
    prior_open_spread_days: int = 120  # plus U(0, spread) days


@dataclass(frozen=True)
class BuyingGroupParams:
    """Buying groups: several teams of one large account, each evaluating its own product line.

    Off by default, and then nothing of it is drawn: the default history is
    the one the project's figures are measured on. When on, every
    new-business cycle is about one of the product lines
    (:data:`~mqa.features.synth.vocab.PRODUCT_LINES`), some cycles at large
    accounts get sibling cycles on the other lines, committee members'
    activities are about their line, and converting cycles' opportunities
    name their committee in ``opportunity_contacts``. Its draws come from a
    random stream of its own.
    """

    enabled: bool = False           # play buying groups at all
    min_employees: int = 1000       # accounts this size and up may run parallel cycles, employees
    parallel_share: float = 0.5     # share of their new-business cycles that get sibling cycles
    extra_max: int = 2              # such a cycle gets U{1, ..., extra_max} siblings, each on another line
    offset_max_weeks: int = 8       # a sibling starts U{1, ..., this} weeks after the first cycle, while it runs
    topical_share: float = 0.7      # share of a committee member's activities about their cycle's line
    entry_topical_share: float = 0.9  # chance a member's first activity in the cycle (how they identify
                                      # themselves: the line's gated guide, its webinar) is about the line
    topic_column_share: float = 0.5  # share of those whose topic column is filled (the rest: only the url says it)
    contact_roles_share: float = 0.85  # share of converting cycles' opportunities whose committee gets contact roles
    role_missing_share: float = 0.05  # share of contact-role rows whose role is left empty
    noise_share: float = 0.03       # share of other people's web visits and downloads on a random line's pages


@dataclass(frozen=True)
class SynthParams:
    """Every named constant of the weekly market run, one group per process.

    Parameters
    ----------
    run_in_weeks : int, default 26
        Weeks simulated before ``start`` so that the history opens mid-stream:
        some cycles already running, some opportunities already open, some
        accounts already customers.
    season, timing, new_business, sales, expansion, renewal, deals
        The constants of each process; see their classes.
    buying_groups : BuyingGroupParams
        Parallel buying groups at large accounts; off by default.
    """

    run_in_weeks: int = 26
    season: SeasonParams = field(default_factory=SeasonParams)
    timing: TimingParams = field(default_factory=TimingParams)
    new_business: NewBusinessParams = field(default_factory=NewBusinessParams)
    sales: SalesParams = field(default_factory=SalesParams)
    expansion: ExpansionParams = field(default_factory=ExpansionParams)
    renewal: RenewalParams = field(default_factory=RenewalParams)
    deals: DealParams = field(default_factory=DealParams)
    buying_groups: BuyingGroupParams = field(default_factory=BuyingGroupParams)
