"""Synthetic CRM history drawn from a latent buying process.

:func:`generate_history` plays out two years of a B2B vendor's market week by
week and writes down what a CRM, a marketing automation platform, an intent
provider and a reverse-IP tool would have recorded of it, in the six tables of
``DATA_CONTRACT.md``.

What drives pipeline is hidden, as it is in real data. Each account has a
latent fit to the ideal customer profile (industry, size, installed
technologies, and a part no column shows). Its hazard of starting a buying
cycle rises with fit and for some weeks after an executive hire or a funding
round. A cycle gathers a committee of several people whose engagement grows
and turns senior towards its end, usually shows up as intent surges on the
product's topics, and ends in an opportunity only sometimes: broader, more
senior committees with strong intent at well-fitting accounts convert more
often. Some opportunities come from quiet cycles or from sales outreach and
leave hardly a trace.

Raw activity volume is deliberately a poor guide. Newsletters and security
scanners that open and click every email, single curious visitors, agencies
and competitors browsing all year, trade-show badge scans, job seekers,
reverse-IP traffic that grows with company size and customers' product usage
all add volume, and often several engaged people, without buying intent. The
data is messy in the ways real exports are (unnormalised domains, contacts
without accounts, activities known only by an email address, duplicate ids,
unknown activity types).

Everything is vectorised over accounts, people and events; the only loops run
over weeks and over small fixed vocabularies. One seeded
``numpy.random.Generator`` drives every draw, so the same arguments give the
same tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_START = "2024-07-01"
DEFAULT_END = "2026-06-30"

INDUSTRIES: tuple[str, ...] = (
    "Software", "Financial Services", "Healthcare", "Logistics", "Manufacturing", "Retail",
    "Telecommunications", "Education", "Media", "Energy", "Professional Services", "Public Sector",
)
ICP_INDUSTRIES: tuple[str, ...] = ("Software", "Financial Services", "Healthcare", "Logistics")
ICP_EMPLOYEES: tuple[int, int] = (200, 5000)
TECHNOLOGIES: tuple[str, ...] = (
    "Salesforce", "HubSpot", "Snowflake", "AWS", "Azure", "Google Cloud", "Kubernetes", "dbt",
    "Tableau", "Power BI", "SAP", "Oracle", "Workday", "Zendesk", "Shopify", "Marketo", "Slack",
    "Jira", "Looker", "MongoDB",
)
ICP_TECHNOLOGIES: tuple[str, ...] = ("Snowflake", "dbt", "AWS", "Kubernetes", "Salesforce")
RELEVANT_TOPICS: tuple[str, ...] = (
    "Data Integration", "ETL", "Data Warehousing", "Reverse ETL", "Data Pipelines", "Customer Data Platform",
)
UNRELATED_TOPICS: tuple[str, ...] = (
    "Payroll Software", "Office Furniture", "Employee Benefits", "Fleet Management", "Video Conferencing",
    "Tax Compliance", "Recruiting Software", "Travel Management", "Cybersecurity Training", "Cloud Backup",
    "Point of Sale", "Facilities Management",
)
FREE_MAIL_DOMAINS: tuple[str, ...] = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "proton.me")
VENDOR_SITE = "https://www.acme-vendor.com"

ACTIVITY_TYPES: tuple[str, ...] = (
    "web_visit", "pricing_page_visit", "content_download", "webinar_registered", "webinar_attended",
    "email_open", "email_click", "ad_click", "form_fill", "demo_request", "event_attended", "trial_signup",
    "product_usage",
)
# Types outside the contract's vocabulary, which a reader must keep as "other".
UNKNOWN_ACTIVITY_TYPES: tuple[str, ...] = ("chat_message", "video_view")
SIGNAL_TYPES: tuple[str, ...] = (
    "executive_hire", "funding_round", "hiring_surge", "technology_added", "technology_removed", "layoff",
    "acquisition", "product_limit_reached",
)
SENIORITIES: tuple[str, ...] = ("c_level", "vp", "director", "manager", "individual")
DEPARTMENTS: tuple[str, ...] = (
    "it", "engineering", "finance", "procurement", "marketing", "sales", "operations", "executive", "hr",
)

_T = {name: i for i, name in enumerate(ACTIVITY_TYPES + UNKNOWN_ACTIVITY_TYPES)}

# Weeks simulated before ``start`` so that the history opens mid-stream: some
# cycles are already running, some opportunities already open, some accounts
# already customers. Only opportunities of that run-in are written.
_RUN_IN_WEEKS = 26

# --------------------------------------------------------------------------- vocabularies

_INDUSTRY_P = np.array([14, 10, 9, 7, 11, 9, 6, 6, 6, 5, 10, 7], dtype=float)
# Revenue per employee relative to the median company, by industry.
_INDUSTRY_REVENUE = np.array([1.3, 1.8, 0.9, 0.8, 1.0, 0.7, 1.4, 0.5, 0.9, 1.6, 1.0, 0.6])
_COUNTRIES = (
    "United States", "United Kingdom", "Germany", "France", "Canada", "Netherlands", "Australia", "India",
    "Brazil", "Sweden", "Spain", "Japan",
)
_PARTNER_INDUSTRIES = ("Software", "Media", "Professional Services")
_COUNTRY_P = np.array([45, 10, 8, 6, 6, 4, 4, 5, 3, 3, 3, 3], dtype=float)
# Base share of accounts running each of TECHNOLOGIES.
_TECH_P = np.array([0.35, 0.25, 0.15, 0.40, 0.25, 0.15, 0.15, 0.08, 0.20, 0.25, 0.12, 0.12, 0.12, 0.18, 0.08,
                    0.10, 0.45, 0.35, 0.08, 0.10])
_SYLLABLES = (
    "ac", "al", "am", "an", "ar", "as", "ba", "bel", "bri", "ca", "cor", "da", "del", "dor", "el", "en", "fa", "fin",
    "ga", "gen", "ha", "in", "ka", "kel", "la", "lin", "lu", "ma", "mer", "mi", "na", "nor", "no", "or", "pa", "pol",
    "qua", "ra", "ren", "ri", "sa", "sel", "sol", "ta", "ter", "tri", "ul", "va", "vel", "vi", "wa", "wen", "xa",
    "ya", "zan", "zo", "ly", "ex", "on", "um",
)
_NAME_SUFFIXES = ("", "", "", "Systems", "Labs", "Group", "Technologies", "Partners", "Holdings", "Solutions", "Inc")
_TLDS = (".com", ".com", ".com", ".com", ".com", ".io", ".co", ".net", ".ai")
_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William",
    "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Daniel", "Lisa",
    "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley", "Steven", "Emily", "Paul", "Michelle", "Andrew",
    "Amanda", "Joshua", "Melissa", "Kevin", "Stephanie", "Brian", "Rebecca", "George", "Laura", "Priya", "Wei",
    "Hiroshi", "Fatima", "Lars", "Ingrid", "Luca", "Sofia", "Mateo", "Camila", "Arjun", "Ananya", "Omar", "Leila",
    "Pierre", "Claire", "Jonas", "Anna", "Diego", "Lucia", "Kenji", "Yuki", "Noah", "Emma", "Liam", "Olivia",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Patel", "Singh", "Kim", "Chen", "Wang",
    "Nguyen", "Mueller", "Schmidt", "Schneider", "Fischer", "Dubois", "Moreau", "Rossi", "Bianchi", "Silva",
    "Santos", "Tanaka", "Suzuki", "Larsen", "Johansson", "Novak", "Kowalski", "Okafor", "Haddad", "Cohen", "Murphy",
)
_SUBDOMAINS = ("eu", "us", "uk", "de", "emea", "apac")

# Free-text titles for each (seniority, department): mostly what a reader's
# keyword rules recognise, with the odd title they do not.
_DEPT_LABEL = {
    "it": "IT", "engineering": "Engineering", "finance": "Finance", "procurement": "Procurement",
    "marketing": "Marketing", "sales": "Sales", "operations": "Operations", "hr": "Human Resources",
}
_C_LEVEL_TITLES = {
    "it": ("CIO", "Chief Information Officer", "CISO"), "engineering": ("CTO", "Chief Technology Officer"),
    "finance": ("CFO", "Chief Financial Officer"), "procurement": ("Chief Procurement Officer",),
    "marketing": ("CMO", "Chief Marketing Officer"), "sales": ("CRO", "Chief Revenue Officer"),
    "operations": ("COO", "Chief Operating Officer"), "executive": ("CEO", "Founder & CEO", "President"),
    "hr": ("Chief People Officer",),
}
_INDIVIDUAL_TITLES = {
    "it": ("Systems Administrator", "IT Specialist", "Network Engineer"),
    "engineering": ("Software Engineer", "Senior Software Engineer", "Data Engineer", "DevOps Engineer"),
    "finance": ("Financial Analyst", "Accountant", "FP&A Analyst"),
    "procurement": ("Buyer", "Procurement Specialist", "Sourcing Analyst"),
    "marketing": ("Marketing Specialist", "Content Marketer", "Demand Generation Specialist"),
    "sales": ("Account Executive", "Sales Representative", "Business Development Representative"),
    "operations": ("Operations Analyst", "Supply Chain Analyst", "Operations Coordinator"),
    "executive": ("Executive Assistant",),
    "hr": ("Recruiter", "HR Generalist", "Talent Acquisition Specialist"),
}


def _titles_for(seniority: str, department: str) -> tuple[str, ...]:
    """Job titles a person of this seniority and department might carry."""
    if seniority == "c_level":
        return _C_LEVEL_TITLES[department]
    if seniority == "individual":
        return _INDIVIDUAL_TITLES[department]
    if department == "executive":
        return {"vp": ("Executive Vice President",), "director": ("Managing Director",),
                "manager": ("General Manager", "Office Manager")}[seniority]
    label = _DEPT_LABEL[department]
    if seniority == "vp":
        return (f"VP of {label}", f"Vice President, {label}", f"SVP {label}")
    if seniority == "director":
        return (f"Director of {label}", f"Head of {label}", f"{label} Director")
    return (f"{label} Manager", f"Senior {label} Manager", f"{label} Team Lead")


_TITLE_TABLE = [(s, d, t) for s in range(len(SENIORITIES)) for d in range(len(DEPARTMENTS))
                for t in _titles_for(SENIORITIES[s], DEPARTMENTS[d])]
_TITLE_TEXT = np.array([t for _, _, t in _TITLE_TABLE])
_TITLE_GROUP = np.array([s * len(DEPARTMENTS) + d for s, d, _ in _TITLE_TABLE])
_TITLE_COUNT = np.bincount(_TITLE_GROUP, minlength=len(SENIORITIES) * len(DEPARTMENTS))
_TITLE_OFFSET = np.concatenate([[0], np.cumsum(_TITLE_COUNT)[:-1]])

# Pages of the vendor's site, and which ones each activity type lands on.
_PAGES = {
    "general": ("/", "/product", "/product/integrations", "/product/security", "/customers", "/about",
                "/blog/data-pipelines-at-scale", "/blog/reverse-etl-explained", "/blog/warehouse-cost-control",
                "/docs/getting-started", "/docs/connectors", "/solutions/financial-services"),
    "pricing": ("/pricing", "/pricing/", "/pricing/enterprise", "/pricing?plan=team"),
    "careers": ("/careers", "/careers/senior-data-engineer", "/careers/account-executive", "/careers/apply"),
    "resources": ("/resources/buyers-guide.pdf", "/resources/roi-calculator.xlsx", "/resources/analyst-report.pdf",
                  "/resources/security-whitepaper.pdf"),
    "webinars": ("/webinars/modern-data-stack", "/webinars/customer-roundtable", "/webinars/cost-of-bad-data"),
    "ads": ("/lp/data-integration?utm_source=linkedin", "/lp/free-trial?utm_source=google"),
    "contact": ("/contact", "/resources/buyers-guide.pdf"),
    "demo": ("/demo",),
    "trial": ("/trial",),
    "app": ("https://app.acme-vendor.com/dashboard", "https://app.acme-vendor.com/pipelines",
            "https://app.acme-vendor.com/settings/billing"),
}
_URLS = np.array([p if p.startswith("http") else VENDOR_SITE + p for group in _PAGES.values() for p in group],
                 dtype=object)
_PAGE_GROUP = {}
_start = 0
for _name, _group in _PAGES.items():
    _PAGE_GROUP[_name] = np.arange(_start, _start + len(_group))
    _start += len(_group)
del _start, _name, _group
# (page group, share of rows with a url) per activity type; None: never a url.
_TYPE_PAGES = {
    "web_visit": ("general", 1.0), "pricing_page_visit": ("pricing", 0.8), "content_download": ("resources", 0.95),
    "webinar_registered": ("webinars", 0.9), "webinar_attended": ("webinars", 0.9), "email_open": None,
    "email_click": ("general", 0.9), "ad_click": ("ads", 1.0), "form_fill": ("contact", 0.9),
    "demo_request": ("demo", 0.9), "event_attended": None, "trial_signup": ("trial", 0.9),
    "product_usage": ("app", 1.0), "chat_message": ("general", 0.5), "video_view": ("general", 0.5),
}
# Page groups an event can be forced onto, whatever its type's default.
_FORCED_PAGES = ("pricing", "careers")

# Relative weights of activity types early (p = 0) and late (p = 1) in a
# buying cycle, and for the other kinds of engagement. Order of ACTIVITY_TYPES.
_W_CYCLE_EARLY = np.array([30, 1.0, 15, 6, 5, 14, 8, 10, 3, 0.3, 2, 0.5, 0])
_W_CYCLE_LATE = np.array([22, 14, 7, 3, 3, 7, 6, 3, 8, 8, 3, 5, 0])
# A committee heading for "no decision" or a competitor still compares
# prices, but rarely asks this vendor for a demo or a trial.
_W_CYCLE_LATE_LOST = np.array([24, 14, 9, 3, 3, 7, 6, 3, 6, 1.5, 3, 1.5, 0])
_W_SENIOR_EARLY = np.array([20, 4, 6, 3, 5, 10, 5, 2, 2, 2, 6, 0.5, 0])
_W_SENIOR_LATE = np.array([15, 16, 3, 1, 3, 6, 4, 1, 4, 10, 6, 1, 0])
_W_CURIOUS = np.array([35, 10, 18, 6, 6, 4, 8, 6, 4, 1.5, 1, 5, 0])
_W_BACKGROUND = np.array([50, 1.5, 14, 5, 4, 0, 5, 15, 2, 0.2, 3, 0.3, 0])
_W_PARTNER = np.array([35, 16, 20, 8, 8, 0, 5, 2, 2, 0.3, 3, 6, 0])
_W_EXPANSION = np.array([10, 12, 6, 4, 6, 6, 6, 1, 8, 6, 2, 0, 0])


# --------------------------------------------------------------------------- small helpers

@dataclass(frozen=True)
class _Grid:
    """The simulated weeks: index 0 is the first run-in week, ``run_in`` the week of ``start``."""

    start: pd.Timestamp
    n_days: float
    run_in: int
    n_weeks: int  # weeks of the written history

    @property
    def total_weeks(self) -> int:
        return self.run_in + self.n_weeks

    def week_day(self, w):
        """First day (days since ``start``) of simulated week ``w``."""
        return (np.asarray(w) - self.run_in) * 7.0


def _make_grid(start, end) -> _Grid:
    """Parse and check the history's first and last day."""
    try:
        t0 = pd.Timestamp(start)
        t1 = pd.Timestamp(end)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"start and end must be dates such as '2024-07-01'; got start={start!r}, end={end!r}") from exc
    if pd.isna(t0) or pd.isna(t1):
        raise ValueError(f"start and end must be dates such as '2024-07-01'; got start={start!r}, end={end!r}")
    t0 = (t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")).normalize()
    t1 = (t1.tz_localize("UTC") if t1.tzinfo is None else t1.tz_convert("UTC")).normalize()
    # ``end`` names the last day of the history, so rows run up to, not
    # including, the midnight after it.
    n_days = (t1 - t0) / pd.Timedelta(days=1) + 1
    if n_days < 28:
        raise ValueError(f"the history must span at least 28 days; start={t0.date()} and end={t1.date()} "
                         f"span {n_days:.0f}. Choose an end at least four weeks after start.")
    return _Grid(start=t0, n_days=float(n_days), run_in=_RUN_IN_WEEKS, n_weeks=int(np.ceil(n_days / 7)))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _pick(rng, values, n, p=None):
    """``n`` draws from a small vocabulary, as a string array."""
    values = np.asarray(values)
    if p is not None:
        p = np.asarray(p, dtype=float) / np.sum(p)
    return values[rng.choice(len(values), size=n, p=p)]


def _segments(lengths):
    """For segments of the given lengths laid end to end: (segment of each slot, position in its segment)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    seg = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    return seg, np.arange(len(seg)) - starts[seg]


def _hours(rng, n):
    """Fraction of a day at which people act: office hours, with a tail into the evening."""
    return np.clip(rng.normal(14.0, 3.0, n), 0.0, 23.99) / 24.0


_WEEKDAY_P = np.array([0.19, 0.21, 0.21, 0.19, 0.14, 0.035, 0.025])


def _times_in_weeks(rng, week_day):
    """A working-hours moment inside the week starting on each ``week_day``."""
    n = len(week_day)
    return week_day + rng.choice(7, size=n, p=_WEEKDAY_P) + _hours(rng, n)


def _times_between(rng, lo, hi):
    """A working-hours moment between days ``lo`` and ``hi``."""
    day = np.floor(lo + rng.random(len(lo)) * np.maximum(hi - lo, 0.0))
    return day + _hours(rng, len(lo))


def _id_values(rng, n, digits):
    """``n`` distinct random integers below ``16**digits``: ids that carry no order."""
    high = np.uint64(1) << np.uint64(4 * digits)
    values = rng.integers(0, high, size=n, dtype=np.uint64)
    while True:
        _, first = np.unique(values, return_index=True)
        if len(first) == n:
            return values
        clash = np.ones(n, dtype=bool)
        clash[first] = False
        values[clash] = rng.integers(0, high, size=int(clash.sum()), dtype=np.uint64)


def _id_strings(prefix, values, digits):
    """Ids such as ``A3f09c2d1e7`` from integers, as an Arrow string array.

    Built from nibbles with array operations: formatting millions of ids one
    by one in Python would dominate the run time. Fixed width, so sorting the
    integers sorts the strings.
    """
    n = len(values)
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = ((values[:, None] >> shifts) & np.uint64(15)).astype(np.intp)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    head = np.broadcast_to(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, len(prefix)))
    raw = np.ascontiguousarray(np.concatenate([head, chars], axis=1))
    width = len(prefix) + digits
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, pa.py_buffer(raw)]).cast(pa.string())


def _str_column(values, missing=None):
    """A pandas ``str`` column from a numpy string array; ``missing`` marks cells left empty."""
    mask = None if missing is None else np.asarray(missing, dtype=bool)
    return pd.Series(pa.array(np.asarray(values), type=pa.string(), mask=mask), dtype="str")


def _take(vocab, idx, missing=None):
    """``vocab[idx]`` as a ``str`` column, ``missing`` cells empty.

    Arrow's take keeps millions of repeated strings (ids, emails, urls) out of
    Python objects, which saves both time and memory.
    """
    mask = None if missing is None else np.asarray(missing, dtype=bool)
    indices = pa.array(np.asarray(idx, dtype=np.int64), mask=mask)
    return pd.Series(pc.take(vocab, indices), dtype="str")


def _vocab(values):
    return pa.array(list(values), type=pa.string())


def _timestamps(grid: _Grid, days):
    """UTC timestamps, to the second, for days since ``start`` (NaN stays NaT)."""
    days = np.asarray(days, dtype=float)
    ok = np.isfinite(days)
    ns = np.zeros(len(days), dtype=np.int64)
    ns[ok] = np.round(days[ok] * 86_400).astype(np.int64) * 10**9 + grid.start.value
    out = pd.Series(ns.view("datetime64[ns]")).dt.tz_localize("UTC")
    return out.mask(~ok)


# --------------------------------------------------------------------------- accounts

@dataclass
class _Accounts:
    """Accounts as parallel arrays, with the latent attributes nobody exports."""

    n: int
    id_values: np.ndarray       # integers behind the ids, for sorting
    ids: pa.Array
    name: np.ndarray
    domain: np.ndarray          # the true, clean domain (what emails use)
    domain_typed: np.ndarray    # the CRM's domain column: as people type it
    domain_missing: np.ndarray  # the CRM has no domain for the account
    industry: np.ndarray        # index into INDUSTRIES
    employees: np.ndarray
    revenue: np.ndarray
    country: np.ndarray
    technologies: np.ndarray    # ';'-joined text
    created: np.ndarray         # days since start; negative: before the history
    fit: np.ndarray             # latent fit, centred near 0, sd near 1
    reverse_ip: np.ndarray      # anonymous visits are resolved to this account
    intent_covered: np.ndarray  # the intent provider knows this account
    email_scanner: np.ndarray   # a security gateway opens and clicks every email
    partner: np.ndarray         # an agency, reseller or competitor: engages all the time, never buys
    customer_since: np.ndarray  # day a pre-history deal closed; NaN if none


def _company_names(rng, n):
    """Company names and unique domains made of invented syllables."""
    syl = np.asarray(_SYLLABLES)
    parts = rng.integers(0, len(syl), size=(n, 3))
    three = rng.random(n) < 0.5
    stem = np.strings.capitalize(syl[parts[:, 0]] + syl[parts[:, 1]] + np.where(three, syl[parts[:, 2]], ""))
    suffix = _pick(rng, _NAME_SUFFIXES, n)
    name = np.where(suffix == "", stem, stem + " " + suffix)
    base = np.strings.lower(stem)
    tld = _pick(rng, _TLDS, n)
    # Two companies never share a domain here, so that every email resolves
    # to exactly one account: later namesakes get a distinguishing word.
    nth = pd.Series(base + tld).groupby(base + tld, sort=False).cumcount().to_numpy()
    word = np.asarray(["", "hq", "group", "global", "corp"])[np.minimum(nth, 4)]
    number = np.where(nth > 4, nth.astype(str), "")
    domain = base + word + number + tld
    clash = pd.Series(domain).duplicated(keep="first").to_numpy()
    domain = np.where(clash, base + "x" + np.arange(n).astype(str) + tld, domain)
    return name, domain


def _technologies(rng, industry, employees):
    """Installed technologies: bigger companies run more, ICP industries lean to the ICP stack."""
    icp_ind = np.isin(industry, [INDUSTRIES.index(i) for i in ICP_INDUSTRIES])
    icp_tech = np.isin(np.asarray(TECHNOLOGIES), ICP_TECHNOLOGIES)
    size = np.clip(np.log10(np.maximum(employees, 1)) / 3.0, 0.3, 1.6)
    p = _TECH_P[None, :] * size[:, None] * np.where(icp_ind[:, None] & icp_tech[None, :], 1.8, 1.0)
    has = rng.random(p.shape) < np.clip(p, 0, 0.95)
    text = np.full(len(industry), "")
    for j, name in enumerate(TECHNOLOGIES):
        text = np.where(has[:, j], np.where(text == "", name, text + ";" + name), text)
    return text, has


def _make_accounts(rng, n, grid: _Grid) -> _Accounts:
    """Firmographics, creation dates and the latent attributes of ``n`` accounts."""
    industry = rng.choice(len(INDUSTRIES), size=n, p=_INDUSTRY_P / _INDUSTRY_P.sum())
    employees = np.clip(np.round(np.exp(rng.normal(np.log(180), 1.5, n))), 2, 400_000).astype(np.int64)
    per_head = np.exp(rng.normal(np.log(190_000), 0.45, n)) * _INDUSTRY_REVENUE[industry]
    revenue = np.round(employees * per_head, -3)
    country = _pick(rng, _COUNTRIES, n, _COUNTRY_P)
    technologies, has_tech = _technologies(rng, industry, employees)
    name, domain = _company_names(rng, n)

    icp_industry = np.isin(industry, [INDUSTRIES.index(i) for i in ICP_INDUSTRIES])
    in_band = (employees >= ICP_EMPLOYEES[0]) & (employees <= ICP_EMPLOYEES[1])
    tech = {t: has_tech[:, TECHNOLOGIES.index(t)] for t in ICP_TECHNOLOGIES}
    # Not every ICP signal weighs the same: a modern warehouse stack (Snowflake
    # with dbt) matters most, a CRM only where the data team owns it, and the
    # middle of the size band is the sweet spot. So a rule that counts ICP
    # criteria sees fit only roughly.
    stack = 0.45 * tech["Snowflake"] + 0.35 * tech["dbt"] + 0.3 * (tech["Snowflake"] & tech["dbt"])
    stack = stack + 0.15 * tech["AWS"] + 0.15 * tech["Kubernetes"] + 0.25 * (tech["Salesforce"] & icp_industry)
    sweet = (employees >= 500) & (employees <= 2000)
    # The vendor sells where it has a sales team and to companies that earn
    # well per head (they can afford a data team): fit no ICP rule spells out.
    market = np.isin(country, ["United States", "United Kingdom", "Germany", "Netherlands"])
    rich = np.log(per_head / 190_000)
    # The normal term is the part of fit no column shows (budget, strategy, a
    # champion's taste): it keeps firmographics alone from settling the question.
    fit = (0.45 * icp_industry + 0.2 * in_band + 0.35 * sweet + stack + 0.6 * market + 0.6 * rich
           + rng.normal(0.0, 0.55, n) - 1.0)

    # Most accounts predate the history; some are created during it and do
    # not exist before their created_at.
    new = rng.random(n) < 0.15
    created = np.where(new, rng.random(n) * (grid.n_days - 45), -(20 + rng.exponential(900, n)))
    created = np.maximum(created, -15 * 365.0)

    # Agencies, resellers and competitors browse the vendor's site all year
    # and never buy; they cluster where the vendor's own trade is.
    partner = rng.random(n) < np.where(np.isin(industry, [INDUSTRIES.index(i) for i in _PARTNER_INDUSTRIES]),
                                       0.07, 0.012)

    old = (created < -240) & ~partner
    p_cust = np.clip(0.07 * np.exp(0.7 * fit), 0, 0.5) * old
    is_cust = rng.random(n) < p_cust
    lo = np.maximum(created + 150, -4 * 365.0)
    since = lo + rng.random(n) * (-14 - lo)
    customer_since = np.where(is_cust & (lo < -14), since, np.nan)

    id_values = _id_values(rng, n, 10)
    domain_typed, domain_missing = _messy_domains(rng, domain)
    return _Accounts(
        n=n, id_values=id_values, ids=_id_strings("A", id_values, 10), name=name, domain=domain,
        domain_typed=domain_typed, domain_missing=domain_missing,
        industry=industry, employees=employees, revenue=revenue, country=country, technologies=technologies,
        created=created, fit=fit,
        reverse_ip=rng.random(n) < 0.7,
        intent_covered=rng.random(n) < np.clip(0.3 + 0.08 * np.log10(employees), 0, 0.85),
        # Security gateways that click every link are an enterprise habit.
        email_scanner=rng.random(n) < np.clip(0.015 + 0.015 * np.log10(employees), 0, 0.3),
        partner=partner,
        customer_since=customer_since,
    )


# --------------------------------------------------------------------------- timing events

def _latent_events(rng, acc: _Accounts, grid: _Grid) -> dict[str, np.ndarray]:
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


def _trailing(counts, weeks):
    """Events in the ``weeks`` weeks before each week (the week itself excluded)."""
    c = np.concatenate([np.zeros((counts.shape[0], 1)), np.cumsum(counts, axis=1, dtype=float)], axis=1)
    w = np.arange(counts.shape[1])
    return c[:, w] - c[:, np.maximum(w - weeks, 0)]


# --------------------------------------------------------------------------- the pipeline run

@dataclass
class _Cycles:
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


_OPP_FIELDS = ("acct", "created", "closed", "won", "kind", "amount")
_NEW_BUSINESS, _EXPANSION, _RENEWAL = 0, 1, 2


def _deal_size(rng, employees, n):
    """Annual contract value: grows with company size, rounded like a quote."""
    return np.round(6000 * np.sqrt(np.maximum(employees, 10) / 50.0) * np.exp(rng.normal(0, 0.5, n)), -2)


def _close_weeks(rng, n):
    """Weeks from opportunity to decision: one to six months, a long tail."""
    return np.clip(np.round(np.exp(rng.normal(np.log(11), 0.45, n))), 4, 28)


def _simulate_pipeline(rng, acc: _Accounts, events, grid: _Grid):
    """Play the market week by week: cycles, opportunities, customers.

    Returns the cycles, the opportunities as a dict of arrays, the customer
    periods (account, first day, end day) and the product-limit events that
    customers hit (account, week).
    """
    n, total = acc.n, grid.total_weeks
    exists_from = np.clip(np.ceil(acc.created / 7.0) + grid.run_in, 0, None)
    boost = np.minimum(_trailing(events["executive_hire"] + events["funding_round"], 12), 2)
    hiring = np.minimum(_trailing(events["hiring_surge"], 8), 1)
    layoff = np.minimum(_trailing(events["layoff"], 26), 1)
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
            converts = rng.random(k) < _sigmoid(logit)
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
            close = _close_weeks(rng, k)
            won = rng.random(k) < _sigmoid(-0.5 + 0.7 * acc.fit[idx] + 0.6 * senior)
            amount = _deal_size(rng, acc.employees[idx], k)
            c = converts
            add_opp(idx[c], w + weeks[c], _NEW_BUSINESS, won[c], close[c], amount[c])
            busy_until[idx] = np.where(c, w + weeks + close, w + np.ceil(reach * weeks) + 4 + rng.integers(0, 22, k))
            newly = c & won
            cust_since_w[idx[newly]] = w + weeks[newly] + close[newly] + 1
            renewal_w[idx[newly]] = cust_since_w[idx[newly]] + term[idx[newly]]
            cust_until_w[idx[newly]] = np.inf

        # Opportunities sourced by sales outreach: no cycle, hardly a trace.
        idx = np.flatnonzero(free & (u >= h) & (rng.random(n) < sales_hazard * season[w]))
        if len(idx):
            k = len(idx)
            close = _close_weeks(rng, k)
            won = rng.random(k) < _sigmoid(-0.9 + 0.6 * acc.fit[idx])
            add_opp(idx, np.full(k, w), _NEW_BUSINESS, won, close, _deal_size(rng, acc.employees[idx], k))
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
            close = _close_weeks(rng, k)
            won = rng.random(k) < 0.6
            upsell = np.round(0.35 * _deal_size(rng, acc.employees[idx], k), -2)
            c = converts
            add_opp(idx[c], w + weeks[c], _EXPANSION, won[c], close[c], upsell[c])
            expansion_busy[idx] = w + weeks + close

        # Renewals come up eight weeks before each contract anniversary.
        idx = np.flatnonzero(customer & (renewal_w - 8 == w))
        if len(idx):
            k = len(idx)
            won = rng.random(k) < 0.85
            add_opp(idx, np.full(k, w), _RENEWAL, won, np.full(k, 8.0), _deal_size(rng, acc.employees[idx], k))
            cust_until_w[idx[~won]] = renewal_w[idx[~won]]
            busy_until[idx[~won]] = renewal_w[idx[~won]] + 26
            renewal_w[idx[won]] += term[idx[won]]

    cycles = _Cycles(**{f: np.concatenate([c[f] for c in cycles]) if cycles else np.array([])
                        for f in _Cycles.__dataclass_fields__})
    opp = {f: np.concatenate([o[f] for o in opps]) for f in _OPP_FIELDS} if opps else \
        {f: np.array([]) for f in _OPP_FIELDS}
    opp = _add_prior_deals(rng, acc, opp)
    limit_acct = np.concatenate(limits)
    limit_week = np.repeat(np.arange(total), [len(x) for x in limits])
    customers = _customer_periods(grid, cust_since_w, cust_until_w)
    return cycles, opp, customers, (limit_acct, limit_week)


def _add_prior_deals(rng, acc: _Accounts, opp):
    """The won deal behind each customer the history opens with."""
    idx = np.flatnonzero(~np.isnan(acc.customer_since))
    k = len(idx)
    closed = acc.customer_since[idx]
    created = np.maximum(closed - 30 - rng.random(k) * 120, acc.created[idx] + 1)
    prior = dict(acct=idx, created=created, closed=closed, won=np.ones(k, dtype=bool),
                 kind=np.full(k, _NEW_BUSINESS), amount=_deal_size(rng, acc.employees[idx], k))
    return {f: np.concatenate([prior[f], opp[f]]) for f in _OPP_FIELDS}


def _customer_periods(grid, since_w, until_w):
    """(account, first day, end day) of each account's latest customer period, clipped to the history."""
    idx = np.flatnonzero(np.isfinite(since_w))
    first = np.maximum(grid.week_day(since_w[idx]), 0.0)
    until = until_w[idx]
    end = np.where(np.isfinite(until), grid.week_day(np.where(np.isfinite(until), until, 0)), grid.n_days)
    end = np.minimum(end, grid.n_days)
    keep = first < end
    return idx[keep], first[keep], end[keep]


# --------------------------------------------------------------------------- people

class _People:
    """Everyone who leaves a trace, contacts or not, collected block by block."""

    FIELDS = ("acct", "seniority", "department", "created", "in_crm", "free_mail", "subscribed", "open_rate")

    def __init__(self):
        self.blocks = []
        self.n = 0

    def add(self, rng, acct, seniority, department, created, in_crm, free_mail=None):
        """Register people; returns their global indexes."""
        k = len(acct)
        free_mail = np.zeros(k, dtype=bool) if free_mail is None else free_mail
        self.blocks.append(dict(
            acct=np.asarray(acct, dtype=np.int64), seniority=np.asarray(seniority), department=np.asarray(department),
            created=np.asarray(created, dtype=float), in_crm=np.asarray(in_crm, dtype=bool), free_mail=free_mail,
            subscribed=rng.random(k) < 0.5, open_rate=rng.beta(1.2, 6.0, k),
        ))
        start = self.n
        self.n += k
        return np.arange(start, self.n)

    def table(self):
        return {f: np.concatenate([b[f] for b in self.blocks]) for f in self.FIELDS}


def _roles(rng, k, seniority_p, department_p):
    """Seniority and department indexes drawn independently from weights."""
    s = rng.choice(len(SENIORITIES), size=k, p=np.asarray(seniority_p, float) / np.sum(seniority_p))
    d = rng.choice(len(DEPARTMENTS), size=k, p=np.asarray(department_p, float) / np.sum(department_p))
    return s, d


# Who tends to sit on a buying committee for a data platform.
_COMMITTEE_DEPTS = [20, 26, 10, 9, 10, 4, 14, 2, 1]
_ANY_DEPTS = [12, 16, 9, 5, 15, 15, 12, 4, 12]


def _baseline_people(rng, acc: _Accounts, grid: _Grid, people: _People):
    """The contacts each account has accumulated: newsletter readers, past event leads, former champions."""
    count = 1 + rng.poisson(1.2 + 1.1 * np.log10(np.maximum(acc.employees, 10)))
    acct = np.repeat(np.arange(acc.n), count)
    lo = acc.created[acct]
    created = lo + (grid.n_days - 1 - lo) * rng.beta(0.8, 1.6, len(acct))
    s, d = _roles(rng, len(acct), [4, 8, 18, 30, 40], _ANY_DEPTS)
    # A few people sign up with a private mailbox; the CRM still knows their company.
    free = rng.random(len(acct)) < 0.03
    return people.add(rng, acct, s, d, created, np.ones(len(acct), dtype=bool), free)


# --------------------------------------------------------------------------- activities

_EVENT_FIELDS = ("acct", "person", "t", "type", "page", "linked")


def _events(acct, person, t, types, page=None, linked=None):
    """One block of activity rows. ``page``: forced page group (-1 none); ``linked``: account_id known."""
    k = len(t)
    return dict(acct=np.asarray(acct, dtype=np.int64), person=np.asarray(person, dtype=np.int64), t=t,
                type=np.asarray(types, dtype=np.int64),
                page=np.full(k, -1, dtype=np.int64) if page is None else page,
                linked=np.zeros(k, dtype=bool) if linked is None else linked)


def _types_by_stage(rng, stage, early, late, levels=8):
    """Activity types whose mix moves from ``early`` to ``late`` weights as ``stage`` goes 0 -> 1."""
    out = np.empty(len(stage), dtype=np.int64)
    level = np.minimum((np.clip(stage, 0, 1) * levels).astype(int), levels - 1)
    for lv in range(levels):
        rows = np.flatnonzero(level == lv)
        x = (lv + 0.5) / levels
        w = (1 - x) * early + x * late
        out[rows] = rng.choice(len(w), size=len(rows), p=w / w.sum())
    return out


def _cycle_activity(rng, acc: _Accounts, cycles: _Cycles, grid: _Grid, people: _People):
    """The committees' engagement through each cycle, plus anonymous visits from their offices."""
    cyc, rank = _segments(cycles.size)
    k = len(cyc)
    size = cycles.size[cyc]
    is_senior = cycles.senior[cyc] & (rank == size - 1)
    # Committees grow through the cycle; the executive sponsor arrives late.
    join = np.where(rank == 0, 0.0, np.clip(rank / size * 0.65 + rng.random(k) * 0.15, 0, 0.9))
    join = np.where(is_senior, 0.4 + 0.45 * rng.random(k), join)
    s, d = _roles(rng, k, [0, 0, 30, 40, 30], _COMMITTEE_DEPTS)
    top_s, top_d = _roles(rng, k, [35, 65, 0, 0, 0], [14, 16, 20, 6, 6, 4, 10, 24, 0])
    s = np.where(is_senior, top_s, s)
    d = np.where(is_senior, top_d, d)
    expansion = cycles.expansion[cyc]
    start_day = grid.week_day(cycles.start_w[cyc])
    weeks = cycles.weeks[cyc]
    acct = cycles.acct[cyc]
    # Some committee members were in the CRM long before; some never are
    # (they only ever appear as an email address).
    known_before = expansion | (rng.random(k) < 0.4)
    lo = acc.created[acct]
    created = np.where(known_before, lo + rng.random(k) * np.maximum(start_day - lo, 0),
                       start_day + join * weeks * 7)
    created = np.minimum(created, grid.n_days - 1)
    in_crm = expansion | (rng.random(k) < 0.85)
    person = people.add(rng, acct, s, d, created, in_crm)

    # Member-weeks from joining to the point the cycle reaches.
    first = np.floor(join * weeks)
    last = np.ceil(cycles.reach[cyc] * weeks)
    n_weeks = np.maximum(last - first, 0).astype(np.int64)
    member, j = _segments(n_weeks)
    week = first[member] + j
    stage = (week + 0.5) / weeks[member]
    propensity = np.exp(rng.normal(0, 0.5, k))
    rate = 0.3 * cycles.visibility[cyc][member] * propensity[member] * (0.35 + 1.9 * stage)
    rate *= np.where(expansion[member], 0.6, 1.0)
    # A member enters by identifying themselves (a form, a registration),
    # unless the cycle runs out of sight of the vendor's tracking.
    enters = (j == 0) & (rng.random(len(member)) < 0.9 * np.minimum(cycles.visibility[cyc][member], 1.0))
    counts = rng.poisson(rate) + enters
    row = np.repeat(np.arange(len(member)), counts)
    m = member[row]
    t = _times_in_weeks(rng, start_day[m] + week[row] * 7)
    st = stage[row]
    types = np.empty(len(row), dtype=np.int64)
    senior_row = is_senior[m]
    exp_row = expansion[m]
    plain = ~senior_row & ~exp_row
    won_row = cycles.converts[cyc][m]
    types[plain & won_row] = _types_by_stage(rng, st[plain & won_row], _W_CYCLE_EARLY, _W_CYCLE_LATE)
    types[plain & ~won_row] = _types_by_stage(rng, st[plain & ~won_row], _W_CYCLE_EARLY, _W_CYCLE_LATE_LOST)
    sr = senior_row & ~exp_row
    types[sr] = _types_by_stage(rng, st[sr], _W_SENIOR_EARLY, _W_SENIOR_LATE)
    types[exp_row] = _types_by_stage(rng, st[exp_row], _W_EXPANSION, _W_EXPANSION)
    blocks = [_events(acct[m], person[m], t, types, linked=rng.random(len(row)) < 0.3)]

    # Anonymous traffic from the buying offices, resolved by reverse IP. The
    # research starts weeks before anyone fills in a form.
    cw, j = _segments(cycles.lead + np.ceil(cycles.reach * cycles.weeks).astype(np.int64))
    week = j - cycles.lead[cw]
    stage = np.clip((week + 0.5) / cycles.weeks[cw], 0, 1)
    ok = acc.reverse_ip[cycles.acct[cw]]
    counts = rng.poisson(1.2 * cycles.visibility[cw] * (0.4 + stage) * ok)
    row = np.repeat(np.arange(len(cw)), counts)
    c = cw[row]
    t = _times_in_weeks(rng, grid.week_day(cycles.start_w[c] + week[row]))
    page = np.where(rng.random(len(row)) < 0.08 + 0.3 * stage[row], _FORCED_PAGES.index("pricing"), -1)
    blocks.append(_events(cycles.acct[c], np.full(len(row), -1), t, np.full(len(row), _T["web_visit"]), page,
                          np.ones(len(row), dtype=bool)))
    return blocks


def _curious_activity(rng, acc: _Accounts, grid: _Grid, people: _People):
    """Single enthusiasts (a student, an engineer on a side project) with lots of activity and no cycle."""
    span = np.maximum(grid.n_days - np.maximum(acc.created, 0), 0)
    episodes = rng.poisson(0.25 * span / 365.25)
    acct = np.repeat(np.arange(acc.n), episodes)
    k = len(acct)
    begin = np.maximum(acc.created[acct], 0) + rng.random(k) * span[acct]
    s, d = _roles(rng, k, [1, 4, 10, 30, 55], [15, 35, 4, 1, 20, 8, 10, 1, 6])
    person = people.add(rng, acct, s, d, begin, rng.random(k) < 0.8)
    n_weeks = rng.integers(2, 11, k)
    ep, j = _segments(n_weeks)
    counts = rng.poisson(np.exp(rng.normal(np.log(8.0), 0.6, k))[ep])
    row = np.repeat(ep, counts)
    week_start = begin[row] + np.repeat(j, counts) * 7
    t = np.floor(week_start + rng.random(len(row)) * 7) + _hours(rng, len(row))
    types = rng.choice(len(_W_CURIOUS), size=len(row), p=_W_CURIOUS / _W_CURIOUS.sum())
    return [_events(acct[row], person[row], t, types, linked=rng.random(len(row)) < 0.3)]


def _partner_activity(rng, acc: _Accounts, grid: _Grid, people: _People):
    """Agencies, resellers and competitors: a steady crowd on the site, pricing pages included."""
    idx = np.flatnonzero(acc.partner)
    staff = 2 + rng.poisson(3.0, len(idx))
    who, _ = _segments(staff)
    acct = idx[who]
    k = len(acct)
    s, d = _roles(rng, k, [1, 4, 15, 35, 45], [10, 25, 2, 1, 25, 25, 8, 1, 3])
    lo = np.maximum(acc.created[acct], -400.0)
    begin = lo + rng.random(k) * (grid.n_days - lo) * 0.5
    person = people.add(rng, acct, s, d, begin, rng.random(k) < 0.9)
    start = np.maximum(begin, 0)
    counts = rng.poisson(np.exp(rng.normal(np.log(0.8), 0.6, k)) * (grid.n_days - start) / 7)
    row = np.repeat(np.arange(k), counts)
    t = _times_between(rng, start[row], np.full(len(row), grid.n_days))
    types = rng.choice(len(_W_PARTNER), size=len(row), p=_W_PARTNER / _W_PARTNER.sum())
    return [_events(acct[row], person[row], t, types, linked=rng.random(len(row)) < 0.3)]


def _conference_activity(rng, acc: _Accounts, grid: _Grid, people: _People):
    """Trade shows: badge scans of several people per company, then a short follow-up.

    Big companies send more people, senior ones among them: broad, senior
    engagement on one day that has nothing to do with a buying cycle.
    """
    dates = np.sort(np.floor(rng.random(max(1, int(round(4 * grid.n_days / 365.25)))) * (grid.n_days - 14)))
    n_conf = len(dates)
    p_attend = np.clip(0.035 * (np.maximum(acc.employees, 10) / 200.0) ** 0.35, 0, 0.4)
    attend = (rng.random((acc.n, n_conf)) < p_attend[:, None]) & (acc.created[:, None] <= dates[None, :])
    a, c = np.nonzero(attend)
    badges = 1 + rng.poisson(0.3 + 0.6 * np.log10(np.maximum(acc.employees[a], 10)))
    visit, _ = _segments(badges)
    acct, day = a[visit], dates[c[visit]]
    k = len(acct)
    s, d = _roles(rng, k, [3, 8, 25, 34, 30], _ANY_DEPTS)
    person = people.add(rng, acct, s, d, day + 0.4, np.ones(k, dtype=bool))
    scan = _events(acct, person, day + 0.3 + 0.4 * rng.random(k), np.full(k, _T["event_attended"]),
                   linked=rng.random(k) < 0.3)
    n_follow = rng.poisson(1.5, k)
    row = np.repeat(np.arange(k), n_follow)
    types = rng.choice([_T["email_open"], _T["email_click"], _T["content_download"], _T["web_visit"]],
                       size=len(row), p=[0.45, 0.2, 0.2, 0.15])
    t = np.floor(day[row] + 1 + rng.random(len(row)) * 14) + _hours(rng, len(row))
    follow = _events(acct[row], person[row], t, types, linked=rng.random(len(row)) < 0.3)
    return [scan, follow]


def _newsletter_activity(rng, acc: _Accounts, grid: _Grid, pt):
    """Opens and clicks of the fortnightly newsletter and a few big campaign blasts.

    Security gateways at some companies open and click every email within
    seconds: bursts of "engagement" from every contact at once.
    """
    sends = np.arange(1.0, grid.n_days, 14.0) + 14 / 24
    blasts = np.sort(rng.random(max(1, int(grid.n_days / 90))) * grid.n_days)
    send_times = np.concatenate([sends, np.floor(blasts) + 15 / 24])
    open_boost = np.concatenate([np.ones(len(sends)), np.full(len(blasts), 1.6)])
    who = np.flatnonzero(pt["in_crm"] & pt["subscribed"] & (pt["acct"] >= 0))
    scanner = acc.email_scanner[pt["acct"][who]]
    blocks = []
    for send, boost in zip(send_times, open_boost):
        subscribed = pt["created"][who] <= send
        live, bot = who[subscribed], scanner[subscribed]
        opened = bot | (rng.random(len(live)) < np.minimum(pt["open_rate"][live] * boost, 0.95))
        p, b = live[opened], bot[opened]
        delay = np.where(b, rng.random(len(p)) * 0.003, rng.exponential(0.4, len(p)))
        t_open = send + delay
        # A scanner follows every link of the email; a reader clicks one, rarely.
        n_clicks = np.where(b, rng.integers(1, 4, len(p)), rng.random(len(p)) < 0.1)
        who_clicked = np.repeat(np.arange(len(p)), n_clicks)
        t_click = t_open[who_clicked] + np.where(b[who_clicked], 0.0005 * rng.random(len(who_clicked)),
                                                 rng.exponential(0.01, len(who_clicked)))
        pc = p[who_clicked]
        blocks.append(_events(pt["acct"][p], p, t_open, np.full(len(p), _T["email_open"])))
        blocks.append(_events(pt["acct"][pc], pc, t_click, np.full(len(pc), _T["email_click"])))
    return blocks


def _background_activity(rng, grid: _Grid, pt):
    """Occasional visits, ad clicks and downloads by known contacts, with no purchase in mind."""
    who = np.flatnonzero(pt["in_crm"] & (pt["acct"] >= 0))
    lo = np.maximum(pt["created"][who], 0)
    span = np.maximum(grid.n_days - lo, 0)
    # Executives seldom browse a vendor's site unprompted.
    by_seniority = np.array([0.3, 0.5, 0.8, 1.0, 1.0])[pt["seniority"][who]]
    counts = rng.poisson(0.04 * span / 7 * by_seniority * np.exp(rng.normal(0, 0.8, len(who))))
    row = np.repeat(np.arange(len(who)), counts)
    p = who[row]
    t = _times_between(rng, lo[row], np.full(len(row), grid.n_days))
    types = rng.choice(len(_W_BACKGROUND), size=len(row), p=_W_BACKGROUND / _W_BACKGROUND.sum())
    return [_events(pt["acct"][p], p, t, types, linked=rng.random(len(row)) < 0.3)]


def _anonymous_activity(rng, acc: _Accounts, grid: _Grid):
    """Reverse-IP visits: more traffic from bigger companies, whatever they intend."""
    lo = np.maximum(acc.created, 0)
    span = np.maximum(grid.n_days - lo, 0)
    rate = 0.2 * (np.maximum(acc.employees, 10) / 500.0) ** 0.45 * acc.reverse_ip
    counts = rng.poisson(rate * span / 7)
    acct = np.repeat(np.arange(acc.n), counts)
    t = _times_between(rng, lo[acct], np.full(len(acct), grid.n_days))
    u = rng.random(len(acct))
    page = np.where(u < 0.04, _FORCED_PAGES.index("pricing"),
                    np.where(u < 0.14, _FORCED_PAGES.index("careers"), -1))
    return [_events(acct, np.full(len(acct), -1), t, np.full(len(acct), _T["web_visit"]), page,
                    np.ones(len(acct), dtype=bool))]


def _usage_activity(rng, acc: _Accounts, customers, people: _People):
    """Customers' users in the product: heavy, steady volume that says nothing about new business."""
    c_acct, first, end = customers
    users = 1 + rng.poisson(0.3 + 0.4 * np.log10(np.maximum(acc.employees[c_acct], 10)))
    period, _ = _segments(users)
    acct = c_acct[period]
    k = len(acct)
    s, d = _roles(rng, k, [0, 1, 5, 30, 64], [25, 40, 3, 0, 10, 6, 16, 0, 0])
    lo = acc.created[acct]
    created = np.maximum(first[period] - rng.random(k) * 60, lo + 1)
    person = people.add(rng, acct, s, d, created, np.ones(k, dtype=bool))
    weekly = np.exp(rng.normal(np.log(0.7), 0.6, k))
    counts = rng.poisson(weekly * (end[period] - first[period]) / 7)
    row = np.repeat(np.arange(k), counts)
    t = _times_between(rng, first[period][row], end[period][row])
    usage = _events(acct[row], person[row], t, np.full(len(row), _T["product_usage"]),
                    linked=rng.random(len(row)) < 0.5)
    # Users check plan limits and prices on the pricing page now and then.
    n_price = rng.poisson(2.0 * (end[period] - first[period]) / 365.25)
    row = np.repeat(np.arange(k), n_price)
    pricing = _events(acct[row], person[row], _times_between(rng, first[period][row], end[period][row]),
                      np.full(len(row), _T["pricing_page_visit"]), linked=rng.random(len(row)) < 0.5)
    # And they sign up for product training webinars, and mostly attend.
    n_train = rng.poisson(2.0 * (end[period] - first[period]) / 365.25)
    row = np.repeat(np.arange(k), n_train)
    t = _times_between(rng, first[period][row], end[period][row])
    attended = rng.random(len(row)) < 0.7
    training = _events(np.concatenate([acct[row], acct[row][attended]]),
                       np.concatenate([person[row], person[row][attended]]),
                       np.concatenate([t, t[attended] + 2 + rng.random(int(attended.sum())) * 5]),
                       np.concatenate([np.full(len(row), _T["webinar_registered"]),
                                       np.full(int(attended.sum()), _T["webinar_attended"])]))
    return [usage, pricing, training]


def _job_seeker_activity(rng, acc: _Accounts, grid: _Grid, people: _People):
    """People looking for a job at the vendor: careers pages, applications, private mailboxes."""
    k = int(rng.poisson(0.15 * acc.n))
    s, d = _roles(rng, k, [0, 0, 2, 15, 83], [10, 45, 5, 0, 15, 15, 10, 0, 0])
    begin = rng.random(k) * (grid.n_days - 7)
    person = people.add(rng, np.full(k, -1), s, d, begin, rng.random(k) < 0.4, np.ones(k, dtype=bool))
    counts = rng.integers(2, 9, k)
    row = np.repeat(np.arange(k), counts)
    t = np.minimum(begin[row] + rng.exponential(5, len(row)), grid.n_days - 0.01)
    types = np.where(rng.random(len(row)) < 0.15, _T["form_fill"], _T["web_visit"])
    page = np.full(len(row), _FORCED_PAGES.index("careers"))
    return [_events(np.full(len(row), -1), person[row], t, types, page)]


def _simulate_activities(rng, acc: _Accounts, cycles: _Cycles, customers, grid: _Grid):
    """Every engagement event of the history, and everyone behind them.

    Returns the events (parallel arrays, inside the history and after their
    account's creation) and the people table.
    """
    people = _People()
    _baseline_people(rng, acc, grid, people)
    blocks = _cycle_activity(rng, acc, cycles, grid, people)
    blocks += _curious_activity(rng, acc, grid, people)
    blocks += _conference_activity(rng, acc, grid, people)
    blocks += _partner_activity(rng, acc, grid, people)
    blocks += _usage_activity(rng, acc, customers, people)
    blocks += _job_seeker_activity(rng, acc, grid, people)
    pt = people.table()
    blocks += _newsletter_activity(rng, acc, grid, pt)
    blocks += _background_activity(rng, grid, pt)
    blocks += _anonymous_activity(rng, acc, grid)

    ev = {f: np.concatenate([b[f] for b in blocks]) for f in _EVENT_FIELDS}
    ev["t"] = np.round(ev["t"] * 86_400) / 86_400
    in_window = (ev["t"] >= 0) & (ev["t"] < grid.n_days)
    exists = (ev["acct"] < 0) | (ev["t"] >= acc.created[np.maximum(ev["acct"], 0)])
    ev = {f: v[in_window & exists] for f, v in ev.items()}
    # A contact enters the CRM no later than their first recorded activity.
    first_seen = np.full(people.n, np.inf)
    known = ev["person"] >= 0
    np.minimum.at(first_seen, ev["person"][known], ev["t"][known])
    pt["created"] = np.minimum(pt["created"], np.floor(first_seen * 1440) / 1440)
    # Contacts synced from a form tool often lack an account: a reader has
    # to match them by their email's domain, so only where the CRM has one.
    has_domain = ~acc.domain_missing[np.maximum(pt["acct"], 0)]
    pt["account_known"] = (pt["acct"] >= 0) & ((rng.random(people.n) >= 0.10) | pt["free_mail"] | ~has_domain)
    return ev, pt


def _urls_and_minutes(rng, ev):
    """Page (index into the url list, -1 for none) and minutes on page of each activity row."""
    n = len(ev["t"])
    url = np.full(n, -1, dtype=np.int64)
    for name, code in _T.items():
        spec = _TYPE_PAGES[name]
        rows = np.flatnonzero(ev["type"] == code)
        if spec is None or not len(rows):
            continue
        group, share = spec
        rows = rows[rng.random(len(rows)) < share]
        pages = _PAGE_GROUP[group]
        url[rows] = pages[rng.integers(0, len(pages), len(rows))]
    for code, group in enumerate(_FORCED_PAGES):
        rows = np.flatnonzero(ev["page"] == code)
        pages = _PAGE_GROUP[group]
        url[rows] = pages[rng.integers(0, len(pages), len(rows))]

    minutes = np.full(n, np.nan)
    typ = ev["type"]
    visit = np.isin(typ, [_T["web_visit"], _T["pricing_page_visit"]])
    minutes[visit] = np.round(np.exp(rng.normal(np.log(1.5), 0.9, int(visit.sum()))), 2)
    webinar = typ == _T["webinar_attended"]
    minutes[webinar] = np.round(5 + 55 * rng.beta(2, 1.5, int(webinar.sum())))
    event = typ == _T["event_attended"]
    minutes[event] = np.round(30 + rng.exponential(120, int(event.sum())))
    # Trackers do not always report time on page.
    minutes[rng.random(n) < 0.2] = np.nan
    return url, minutes


def _finish_activities(rng, ev, pt):
    """Turn simulated events into export rows: artefacts, identifiers, duplicates, time order.

    Adds ``url``, ``minutes``, ``id``, ``has_contact`` and ``email_only`` to
    ``ev`` and returns the rows sorted by time and id.
    """
    n = len(ev["t"])
    # Many trackers log a pricing visit as a web visit to /pricing.
    as_visit = (ev["type"] == _T["pricing_page_visit"]) & (rng.random(n) < 0.35)
    ev["type"][as_visit] = _T["web_visit"]
    ev["page"][as_visit] = _FORCED_PAGES.index("pricing")
    # A chat widget or video host the contract does not know.
    odd = (ev["person"] >= 0) & (rng.random(n) < 0.004)
    ev["type"][odd] = np.where(rng.random(int(odd.sum())) < 0.7, _T["chat_message"], _T["video_view"])
    ev["url"], ev["minutes"] = _urls_and_minutes(rng, ev)

    person = ev["person"]
    p = np.maximum(person, 0)
    in_crm = (person >= 0) & pt["in_crm"][p]
    # Some exports carry only the address of a person they do know.
    ev["email_only"] = (person >= 0) & (~in_crm | (rng.random(n) < 0.05))
    ev["has_contact"] = in_crm & ~ev["email_only"]
    # The account id is filled where the tool knew it: reverse-IP rows always,
    # rows of people the CRM has tied to an account sometimes.
    ev["linked"] &= (ev["acct"] >= 0) & ((person < 0) | (in_crm & pt["account_known"][p]))
    ev["id"] = _id_values(rng, n, 12)

    # A sync that ran twice: the same row, id and all, exported again.
    dup = np.flatnonzero(rng.random(n) < 0.002)
    ev = {f: np.concatenate([v, v[dup]]) for f, v in ev.items()}
    order = np.lexsort((ev["id"], np.round(ev["t"] * 86_400).astype(np.int64)))
    return {f: v[order] for f, v in ev.items()}


# --------------------------------------------------------------------------- intent and signals

def _weekly_episodes(begin_w, length):
    """Expand episodes to rows: (episode, week, weeks since the episode began)."""
    ep, j = _segments(length)
    return ep, begin_w[ep] + j, j


def _intent_rows(rng, acc: _Accounts, cycles: _Cycles, grid: _Grid):
    """Weekly (account, week, topic, score) rows from the intent provider, for covered accounts only."""
    nt = len(RELEVANT_TOPICS)
    n_topics = nt + len(UNRELATED_TOPICS)
    first_w = np.maximum(np.ceil(acc.created / 7.0), 0).astype(np.int64)
    live = np.maximum(grid.n_weeks - first_w, 0)
    cov = acc.intent_covered
    acct, week, topic, score = [], [], [], []

    # Background noise on every topic, mostly low.
    counts = rng.poisson(0.6 * live * cov)
    a = np.repeat(np.arange(acc.n), counts)
    acct.append(a)
    week.append(first_w[a] + (rng.random(len(a)) * live[a]).astype(np.int64))
    topic.append(rng.integers(0, n_topics, len(a)))
    score.append(np.round(100 * rng.beta(1.6, 5.0, len(a))))

    # Surges without purchase intent: unrelated topics mostly, ours sometimes.
    for rate, lo_topic, hi_topic in ((0.35, nt, n_topics), (0.08, 0, nt)):
        n_ep = rng.poisson(rate * live / 52 * cov)
        a = np.repeat(np.arange(acc.n), n_ep)
        begin = first_w[a] + (rng.random(len(a)) * live[a]).astype(np.int64)
        ep, w, j = _weekly_episodes(begin, rng.integers(2, 7, len(a)))
        top = rng.integers(lo_topic, hi_topic, len(a))
        peak = 55 + 40 * rng.random(len(a))
        acct.append(a[ep])
        week.append(w)
        topic.append(top[ep])
        score.append(np.round(peak[ep] * (0.75 + 0.25 * rng.random(len(ep)))))

    # Research on the product's topics during buying cycles, often starting
    # a few weeks before anyone visits the vendor.
    nb = np.flatnonzero(~cycles.expansion & cov[cycles.acct] & (rng.random(len(cycles.acct)) < 0.85))
    lead = cycles.lead[nb] + rng.integers(0, 3, len(nb))
    begin = cycles.start_w[nb] - grid.run_in - lead
    length = np.ceil(cycles.reach[nb] * cycles.weeks[nb]).astype(np.int64) + lead
    ep, w, j = _weekly_episodes(begin, length)
    stage = np.clip((j - lead[ep] + 0.5) / cycles.weeks[nb][ep], 0, 1)
    per_week = 1 + rng.binomial(2, 0.5 * cycles.intent[nb][ep])
    ep2, _ = _segments(per_week)
    strength = cycles.intent[nb][ep][ep2]
    acct.append(cycles.acct[nb][ep][ep2])
    week.append(w[ep2])
    topic.append(rng.integers(0, nt, len(ep2)))
    score.append(np.round(25 + 72 * strength * (0.35 + 0.65 * stage[ep2]) + rng.normal(0, 9, len(ep2))))

    acct, week, topic = np.concatenate(acct), np.concatenate(week), np.concatenate(topic)
    score = np.clip(np.concatenate(score), 0, 100)
    keep = (week >= first_w[acct]) & (week >= 0) & (week < grid.n_weeks) & (week * 7 < grid.n_days)
    df = pd.DataFrame({"acct": acct[keep], "week": week[keep], "topic": topic[keep], "score": score[keep]})
    # One observation per account, week and topic: the strongest reading.
    df = df.sort_values(["acct", "week", "topic", "score"], ascending=[True, True, True, False], kind="stable")
    return df.drop_duplicates(["acct", "week", "topic"], keep="first")


_EXEC_ROLES = ("Chief Financial Officer", "Chief Information Officer", "Chief Technology Officer",
               "VP of Engineering", "VP of Data", "Chief Data Officer", "VP of IT", "Chief Operating Officer")
_ROUNDS = ("Seed", "Series A", "Series B", "Series C", "Series D", "Growth equity")


def _signal_details(rng, kind, acc: _Accounts, acct):
    """Free-text ``detail`` of each signal row, by its type."""
    k = len(acct)
    person = _pick(rng, _FIRST_NAMES, k) + " " + _pick(rng, _LAST_NAMES, k)
    amount = np.round(np.exp(rng.normal(np.log(20), 1.0, k)), 1).astype(str)
    tech = _pick(rng, TECHNOLOGIES, k)
    buyer = acc.name[(acct + rng.integers(1, max(acc.n, 2), k)) % acc.n]  # another company
    text = {
        "executive_hire": "New " + _pick(rng, _EXEC_ROLES, k) + ": " + person,
        "funding_round": _pick(rng, _ROUNDS, k) + " round of $" + amount + "M",
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


def _signal_rows(rng, acc: _Accounts, events, limits, grid: _Grid):
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
    return acct, day, kind, _signal_details(rng, kind, acc, acct)


# --------------------------------------------------------------------------- frames

def _messy_domains(rng, domain):
    """The account table's domain column as people type it, and which cells are left empty."""
    u = rng.random(len(domain))
    out = np.where(u < 0.04, "https://www." + np.strings.capitalize(domain) + "/", domain)
    out = np.where((u >= 0.04) & (u < 0.07), np.strings.upper(domain), out)
    out = np.where((u >= 0.07) & (u < 0.10), "www." + domain, out)
    out = np.where((u >= 0.10) & (u < 0.12), domain + "/", out)
    out = np.where((u >= 0.12) & (u < 0.14), "http://" + domain, out)
    return out, (u >= 0.14) & (u < 0.15)


# Account owners (sales reps): the report digest can be filtered by them.
OWNERS = ("Dana Whitfield", "Marcus Oyelaran", "Priya Natarajan", "Tomasz Kowal", "Elena Ruiz", "Sam Okafor")


def _accounts_frame(rng, acc: _Accounts, grid: _Grid):
    no_industry = rng.random(acc.n) < 0.02
    no_revenue = rng.random(acc.n) < 0.03
    o = np.argsort(acc.id_values, kind="stable")
    return pd.DataFrame({
        "account_id": _take(acc.ids, o),
        "name": _str_column(acc.name[o]),
        "domain": _str_column(acc.domain_typed[o], acc.domain_missing[o]),
        "industry": _take(_vocab(INDUSTRIES), acc.industry[o], no_industry[o]),
        "employees": acc.employees[o].astype(np.int64),
        "annual_revenue": np.where(no_revenue, np.nan, acc.revenue)[o].astype(float),
        "country": _str_column(acc.country[o]),
        "technologies": _str_column(acc.technologies[o], (acc.technologies == "")[o]),
        "created_at": _timestamps(grid, np.floor(acc.created[o] * 24) / 24),
    })


def _person_identity(rng, acc: _Accounts, pt):
    """Names, emails (Arrow arrays) and title indexes of everyone."""
    n = len(pt["acct"])
    first = _pick(rng, _FIRST_NAMES, n)
    last = _pick(rng, _LAST_NAMES, n)
    has_acct = pt["acct"] >= 0
    domain = np.where(has_acct, acc.domain[np.maximum(pt["acct"], 0)], "")
    sub = has_acct & ~pt["free_mail"] & (rng.random(n) < 0.08)
    domain = np.where(sub, _pick(rng, _SUBDOMAINS, n) + "." + domain, domain)
    domain = np.where(pt["free_mail"], _pick(rng, FREE_MAIL_DOMAINS, n, [40, 25, 12, 10, 8, 5]), domain)
    local = np.strings.lower(first + "." + last)
    email = local + "@" + domain
    # Namesakes at one company get numbered mailboxes, as they do in real life.
    nth = pd.Series(email).groupby(email, sort=False).cumcount().to_numpy()
    email = np.where(nth > 0, local + (nth + 1).astype(str) + "@" + domain, email)
    g = pt["seniority"] * len(DEPARTMENTS) + pt["department"]
    title = _TITLE_OFFSET[g] + (rng.random(n) * _TITLE_COUNT[g]).astype(np.int64)
    return pa.array(first + " " + last), pa.array(email), title


def _contacts_frame(rng, acc: _Accounts, pt, ident, contact_ids, id_values, grid: _Grid):
    name, email, title = ident
    rows = np.flatnonzero(pt["in_crm"])
    rows = rows[np.argsort(id_values[rows], kind="stable")]
    k = len(rows)
    return pd.DataFrame({
        "contact_id": _take(contact_ids, rows),
        "account_id": _take(acc.ids, np.maximum(pt["acct"][rows], 0), ~pt["account_known"][rows]),
        "name": _take(name, rows),
        "email": _take(email, rows),
        "title": _take(_vocab(_TITLE_TEXT), title[rows], rng.random(k) < 0.03),
        "seniority": _take(_vocab(SENIORITIES), pt["seniority"][rows], rng.random(k) < 0.15),
        "department": _take(_vocab(DEPARTMENTS), pt["department"][rows], rng.random(k) < 0.15),
        "created_at": _timestamps(grid, pt["created"][rows]),
    })


def _activities_frame(acc: _Accounts, ev, email, contact_ids, grid: _Grid):
    p = np.maximum(ev["person"], 0)
    return pd.DataFrame({
        "activity_id": pd.Series(_id_strings("E", ev["id"], 12), dtype="str"),
        "timestamp": _timestamps(grid, ev["t"]),
        "type": _take(_vocab(ACTIVITY_TYPES + UNKNOWN_ACTIVITY_TYPES), ev["type"]),
        "contact_id": _take(contact_ids, p, ~ev["has_contact"]),
        "account_id": _take(acc.ids, np.maximum(ev["acct"], 0), ~ev["linked"]),
        "email": _take(email, p, ~ev["email_only"]),
        "url": _take(_vocab(_URLS), np.maximum(ev["url"], 0), ev["url"] < 0),
        "minutes": ev["minutes"],
    })


def _provider_ids(rng, acc: _Accounts, acct):
    """The account_id and domain columns of a data provider's rows.

    A row carries one or the other, sometimes both; a provider writes
    domains clean, with the odd ``www.`` left on. Where the CRM has no domain
    the provider can only have matched the account by its id.
    """
    k = len(acct)
    u = rng.random(k)
    by_id, by_domain = (u < 0.6) | acc.domain_missing[acct], (u >= 0.5) & ~acc.domain_missing[acct]
    domains = pa.concat_arrays([pa.array(acc.domain), pa.array("www." + acc.domain)])
    www = rng.random(k) < 0.1
    return (_take(acc.ids, acct, ~by_id),
            _take(domains, acct + acc.n * www, ~by_domain))


def _intent_frame(rng, acc: _Accounts, rows, grid: _Grid):
    o = np.argsort(rows["week"].to_numpy(), kind="stable")
    acct = rows["acct"].to_numpy()[o]
    account_id, domain = _provider_ids(rng, acc, acct)
    return pd.DataFrame({
        "account_id": account_id,
        "domain": domain,
        "date": _timestamps(grid, rows["week"].to_numpy()[o] * 7.0),
        "topic": _take(_vocab(RELEVANT_TOPICS + UNRELATED_TOPICS), rows["topic"].to_numpy()[o]),
        "score": rows["score"].to_numpy()[o].astype(np.int64),
    })


def _signals_frame(rng, acc: _Accounts, sig, grid: _Grid):
    acct, day, kind, detail = sig
    o = np.argsort(day, kind="stable")
    account_id, domain = _provider_ids(rng, acc, acct[o])
    return pd.DataFrame({
        "account_id": account_id,
        "domain": domain,
        "date": _timestamps(grid, day[o]),
        "type": _take(_vocab(SIGNAL_TYPES), kind[o]),
        "detail": _str_column(detail[o]),
    })


_OPEN_STAGES = np.array(["qualification", "discovery", "proposal", "negotiation"])
_OPP_TYPES = ("new_business", "expansion", "renewal")


def _opportunities_frame(rng, acc: _Accounts, opp, grid: _Grid):
    keep = (opp["created"] < grid.n_days) & (opp["created"] >= acc.created[opp["acct"]])
    ids = _id_values(rng, int(keep.sum()), 10)
    o = {f: v[keep] for f, v in opp.items()}
    order = np.lexsort((ids, np.round(o["created"] * 86_400)))
    o = {f: v[order] for f, v in o.items()}
    ids = ids[order]
    is_open = o["closed"] >= grid.n_days
    age = grid.n_days - o["created"]
    stage = np.where(o["won"], "closed_won", "closed_lost")
    stage = np.where(is_open, _OPEN_STAGES[np.minimum((age / 21).astype(int), 3)], stage)
    won = pd.array(o["won"].astype(bool), dtype="boolean")
    won[is_open] = pd.NA
    return pd.DataFrame({
        "opportunity_id": pd.Series(_id_strings("O", ids, 10), dtype="str"),
        "account_id": _take(acc.ids, o["acct"].astype(np.int64)),
        "created_at": _timestamps(grid, o["created"]),
        "closed_at": _timestamps(grid, np.where(is_open, np.nan, o["closed"])),
        "stage": _str_column(stage),
        "is_won": won,
        "amount": o["amount"].astype(float),
        "type": _take(_vocab(_OPP_TYPES), o["kind"].astype(np.int64)),
    })


# --------------------------------------------------------------------------- entry point

def generate_history(
    n_accounts: int = 2000, seed: int = 0, start=DEFAULT_START, end=DEFAULT_END
) -> dict[str, pd.DataFrame]:
    """Generate a synthetic CRM history in the shape of ``DATA_CONTRACT.md``.

    Parameters
    ----------
    n_accounts : int, default 2000
        Number of accounts (companies). Other tables scale with it: about 9
        contacts, 190 activities, 35 intent rows and 0.5 opportunities per
        account.
    seed : int, default 0
        Seed of the one random generator behind every draw; the same arguments
        give identical tables.
    start, end : date-like, default ``DEFAULT_START``, ``DEFAULT_END``
        First and last day (inclusive, UTC) of the history. Activities, intent
        and signals are stamped in ``[start, end + 1 day)``. Accounts and
        contacts may be created before ``start``, and so may opportunities
        (the won deals of the customers the history opens with, and those of
        a half-year run-in), as in a CRM export: the history opens with
        customers and open pipeline.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``accounts``, ``contacts``, ``activities``, ``intent``, ``signals`` and
        ``opportunities``, with exactly the contract's columns. Ids and text are
        ``str`` columns with missing values for empty cells, timestamps are
        ``datetime64[ns, UTC]``, ``employees`` and intent ``score`` are
        ``int64``, ``annual_revenue``, ``minutes`` and ``amount`` are
        ``float64`` (NaN when unknown) and ``is_won`` is a nullable
        ``boolean`` (NA while the opportunity is open). Rows are ordered by
        id (accounts, contacts), by time then id (activities, opportunities)
        or by date (intent, signals), with a fresh ``RangeIndex``.

    Raises
    ------
    ValueError
        ``n_accounts`` is not a positive integer, ``seed`` is not a
        non-negative integer, or ``start``/``end`` are not dates at least 28
        days apart.
    """
    if isinstance(n_accounts, bool) or not isinstance(n_accounts, (int, np.integer)) or n_accounts < 1:
        raise ValueError(f"n_accounts must be a positive integer; got {n_accounts!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    grid = _make_grid(start, end)
    rng = np.random.default_rng(int(seed))

    acc = _make_accounts(rng, int(n_accounts), grid)
    events = _latent_events(rng, acc, grid)
    cycles, opp, customers, limits = _simulate_pipeline(rng, acc, events, grid)
    ev, pt = _simulate_activities(rng, acc, cycles, customers, grid)
    ev = _finish_activities(rng, ev, pt)

    ident = _person_identity(rng, acc, pt)
    contact_values = _id_values(rng, len(pt["acct"]), 10)
    contact_ids = _id_strings("C", contact_values, 10)
    tables = {
        "accounts": _accounts_frame(rng, acc, grid),
        "contacts": _contacts_frame(rng, acc, pt, ident, contact_ids, contact_values, grid),
        "activities": _activities_frame(acc, ev, ident[1], contact_ids, grid),
        "intent": _intent_frame(rng, acc, _intent_rows(rng, acc, cycles, grid), grid),
        "signals": _signals_frame(rng, acc, _signal_rows(rng, acc, events, limits, grid), grid),
        "opportunities": _opportunities_frame(rng, acc, opp, grid),
    }
    # Owners come from a stream of their own, so adding them changed no other
    # table (nor any model trained on the same seed).
    owner_rng = np.random.default_rng([int(seed), 0x0A11])
    tables["accounts"]["owner"] = _str_column(_pick(owner_rng, OWNERS, acc.n), owner_rng.random(acc.n) < 0.03)
    return tables
