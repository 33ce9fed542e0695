"""The companies of the market: firmographics, creation dates and the latent attributes nobody exports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from .columns import id_strings
from .draws import pick, random_id_values
from .grid import Grid
from .vocab import (
    COUNTRIES,
    COUNTRY_P,
    ICP_EMPLOYEES,
    ICP_INDUSTRIES,
    ICP_TECHNOLOGIES,
    INDUSTRIES,
    INDUSTRY_P,
    INDUSTRY_REVENUE,
    NAME_SUFFIXES,
    PARTNER_INDUSTRIES,
    SYLLABLES,
    TECH_P,
    TECHNOLOGIES,
    TLDS,
)


@dataclass
class Accounts:
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


def company_names(rng, n):
    """Company names and unique domains made of invented syllables."""
    syl = np.asarray(SYLLABLES)
    parts = rng.integers(0, len(syl), size=(n, 3))
    three = rng.random(n) < 0.5
    stem = np.strings.capitalize(syl[parts[:, 0]] + syl[parts[:, 1]] + np.where(three, syl[parts[:, 2]], ""))
    suffix = pick(rng, NAME_SUFFIXES, n)
    name = np.where(suffix == "", stem, stem + " " + suffix)
    base = np.strings.lower(stem)
    tld = pick(rng, TLDS, n)
    # Two companies never share a domain here, so that every email resolves
    # to exactly one account: later namesakes get a distinguishing word.
    nth = pd.Series(base + tld).groupby(base + tld, sort=False).cumcount().to_numpy()
    word = np.asarray(["", "hq", "group", "global", "corp"])[np.minimum(nth, 4)]
    number = np.where(nth > 4, nth.astype(str), "")
    domain = base + word + number + tld
    clash = pd.Series(domain).duplicated(keep="first").to_numpy()
    domain = np.where(clash, base + "x" + np.arange(n).astype(str) + tld, domain)
    return name, domain


def installed_technologies(rng, industry, employees):
    """Installed technologies: bigger companies run more, ICP industries lean to the ICP stack."""
    icp_ind = np.isin(industry, [INDUSTRIES.index(i) for i in ICP_INDUSTRIES])
    icp_tech = np.isin(np.asarray(TECHNOLOGIES), ICP_TECHNOLOGIES)
    size = np.clip(np.log10(np.maximum(employees, 1)) / 3.0, 0.3, 1.6)
    p = TECH_P[None, :] * size[:, None] * np.where(icp_ind[:, None] & icp_tech[None, :], 1.8, 1.0)
    has = rng.random(p.shape) < np.clip(p, 0, 0.95)
    text = np.full(len(industry), "")
    for j, name in enumerate(TECHNOLOGIES):
        text = np.where(has[:, j], np.where(text == "", name, text + ";" + name), text)
    return text, has


def make_accounts(rng, n, grid: Grid) -> Accounts:
    """Firmographics, creation dates and the latent attributes of ``n`` accounts."""
    industry = rng.choice(len(INDUSTRIES), size=n, p=INDUSTRY_P / INDUSTRY_P.sum())
    employees = np.clip(np.round(np.exp(rng.normal(np.log(180), 1.5, n))), 2, 400_000).astype(np.int64)
    per_head = np.exp(rng.normal(np.log(190_000), 0.45, n)) * INDUSTRY_REVENUE[industry]
    revenue = np.round(employees * per_head, -3)
    country = pick(rng, COUNTRIES, n, COUNTRY_P)
    technologies, has_tech = installed_technologies(rng, industry, employees)
    name, domain = company_names(rng, n)

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
    partner = rng.random(n) < np.where(np.isin(industry, [INDUSTRIES.index(i) for i in PARTNER_INDUSTRIES]),
                                       0.07, 0.012)

    old = (created < -240) & ~partner
    p_cust = np.clip(0.07 * np.exp(0.7 * fit), 0, 0.5) * old
    is_cust = rng.random(n) < p_cust
    lo = np.maximum(created + 150, -4 * 365.0)
    since = lo + rng.random(n) * (-14 - lo)
    customer_since = np.where(is_cust & (lo < -14), since, np.nan)

    id_values = random_id_values(rng, n, 10)
    domain_typed, domain_missing = messy_domains(rng, domain)
    return Accounts(
        n=n, id_values=id_values, ids=id_strings("A", id_values, 10), name=name, domain=domain,
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


def messy_domains(rng, domain):
    """The account table's domain column as people type it, and which cells are left empty."""
    u = rng.random(len(domain))
    out = np.where(u < 0.04, "https://www." + np.strings.capitalize(domain) + "/", domain)
    out = np.where((u >= 0.04) & (u < 0.07), np.strings.upper(domain), out)
    out = np.where((u >= 0.07) & (u < 0.10), "www." + domain, out)
    out = np.where((u >= 0.10) & (u < 0.12), domain + "/", out)
    out = np.where((u >= 0.12) & (u < 0.14), "http://" + domain, out)
    return out, (u >= 0.14) & (u < 0.15)
