"""Fit: how closely an account matches the ideal customer profile (firmographics, technographics).

The accounts table is a snapshot of today's attributes, not their history, so
these features are the same at every as-of date (except the account's age).
That is a limit of what CRMs export, recorded in docs/features.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .context import Context, Feature
from .window import DAY_NS
from .wording import Template


def industry(ctx: Context) -> np.ndarray:
    """Industry, lower-cased (categorical)."""
    return ctx.per_account(ctx.accounts["industry"].str.strip().str.lower().to_numpy(dtype=object))


def country(ctx: Context) -> np.ndarray:
    """Country as given, trimmed (categorical)."""
    return ctx.per_account(ctx.accounts["country"].str.strip().to_numpy(dtype=object))


def employees(ctx: Context) -> np.ndarray:
    """Employee count; NaN where unknown."""
    return ctx.per_account(ctx.accounts["employees"].astype("float64").to_numpy())


def annual_revenue(ctx: Context) -> np.ndarray:
    """Annual revenue; NaN where unknown."""
    return ctx.per_account(ctx.accounts["annual_revenue"].to_numpy(dtype=float))


def _technologies(ctx: Context) -> pd.Series:
    """One row per (grid row, installed technology), lower-cased; index is the grid row."""
    def explode():
        # astype: an entirely empty column splits into floats, which have no .str
        tech = ctx.accounts["technologies"].astype("str").reset_index(drop=True).str.lower().str.split(";").explode().astype("str").str.strip()
        pairs = tech[tech.notna() & tech.ne("")].rename("tech").reset_index().drop_duplicates()
        return pd.Series(pairs["tech"].to_numpy(), index=pairs["index"].to_numpy())

    return ctx.memo("technologies", explode)


def _count_per_account(ctx: Context, items: pd.Series) -> np.ndarray:
    """How many items each grid row has."""
    return np.bincount(items.index.to_numpy(dtype=np.int64), minlength=ctx.grid.shape[0]).astype(float)


def technologies_count(ctx: Context) -> np.ndarray:
    """Number of installed technologies."""
    return ctx.per_account(_count_per_account(ctx, _technologies(ctx)))


def icp_technologies(ctx: Context) -> np.ndarray:
    """Number of the ICP's wanted technologies installed."""
    tech = _technologies(ctx)
    return ctx.per_account(_count_per_account(ctx, tech[tech.isin(ctx.settings.icp_technologies)]))


def icp_industry(ctx: Context) -> np.ndarray:
    """1 if the industry is a target industry of the ICP."""
    ind = ctx.accounts["industry"].str.strip().str.lower()
    return ctx.per_account(ind.isin(ctx.settings.icp_industries).to_numpy(dtype=float))


def icp_size(ctx: Context) -> np.ndarray:
    """1 if the employee count is inside the ICP band; NaN where unknown."""
    lo, hi = ctx.settings.icp_employees
    e = ctx.accounts["employees"].astype("float64")
    return ctx.per_account(np.where(e.isna(), np.nan, ((e >= lo) & (e <= hi)).astype(float)))


def icp_score(ctx: Context) -> np.ndarray:
    """ICP match 0..1: mean of industry match, size match and share of wanted technologies."""
    n_wanted = max(len(ctx.settings.icp_technologies), 1)
    size = np.nan_to_num(icp_size(ctx)[:, 0])
    parts = icp_industry(ctx)[:, 0] + size + icp_technologies(ctx)[:, 0] / n_wanted
    return ctx.per_account(parts / 3.0)


def account_age_days(ctx: Context) -> np.ndarray:
    """Days since the account was created; NaN where the creation date is unknown."""
    created = pd.DatetimeIndex(ctx.accounts["created_at"]).as_unit("ns")
    age = (ctx.grid.t[None, :] - created.asi8[:, None]) / DAY_NS
    age[created.isna()] = np.nan
    return age


INDUSTRY, EMPLOYEES, TECHNOLOGIES = "accounts.industry", "accounts.employees", "accounts.technologies"

FEATURES: list[Feature] = [
    Feature("fit__industry", industry, "industry", categorical=True, sources=(INDUSTRY,),
            template=Template("category", "industry: {n}", missing="industry unknown")),
    Feature("fit__country", country, "country", categorical=True, sources=("accounts.country",),
            template=Template("category", "country: {n}", missing="country unknown")),
    Feature("fit__employees", employees, "employees", sources=(EMPLOYEES,),
            template=Template("count", "{n} employees", "1 employee", missing="company size unknown")),
    Feature("fit__annual_revenue", annual_revenue, "annual revenue", sources=("accounts.annual_revenue",),
            template=Template("money", "annual revenue {n}", missing="revenue unknown")),
    Feature("fit__technologies_count", technologies_count, "installed technologies", sources=(TECHNOLOGIES,),
            template=Template("count", "{n} technologies installed", "1 technology installed", "no technologies on record")),
    Feature("fit__icp_technologies", icp_technologies, "ICP technologies installed", sources=(TECHNOLOGIES,),
            template=Template("count", "{n} of the ideal customer profile's technologies installed",
                              "1 of the ideal customer profile's technologies installed",
                              "none of the ideal customer profile's technologies installed")),
    Feature("fit__icp_industry", icp_industry, "industry in the ideal customer profile", sources=(INDUSTRY,),
            template=Template("flag", "in a target industry", None, "not in a target industry")),
    Feature("fit__icp_size", icp_size, "company size in the ideal customer profile's band", sources=(EMPLOYEES,),
            template=Template("flag", "company size in the ideal customer profile's band", None,
                              "company size outside the ideal customer profile's band", "company size unknown")),
    # Without one of its three parts the score only rescales the other two.
    Feature("fit__icp_score", icp_score, "ideal customer profile match (0-1)", sources=(INDUSTRY, EMPLOYEES, TECHNOLOGIES),
            template=Template("percent", "{n}% match with the ideal customer profile", None,
                              "no match with the ideal customer profile")),
    Feature("fit__account_age_days", account_age_days, "days since the account was created", sources=("accounts.created_at",),
            template=Template("days", "account created {n} days ago", "account created 1 day ago", "account created today",
                              "account creation date unknown")),
]
