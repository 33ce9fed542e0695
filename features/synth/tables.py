"""The contract tables of the weekly run, as a CRM export writes them, from the simulated arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..contract import (
    ACTIVITY_TYPES,
    DEPARTMENTS,
    OPPORTUNITY_TYPES,
    SENIORITIES,
    SIGNAL_TYPES,
)
from .accounts import Accounts
from .columns import id_strings, str_column, string_array, take, timestamps
from .draws import random_id_values
from .grid import Grid
from .vocab import (
    INDUSTRIES,
    OPEN_STAGES,
    PRODUCT_LINES,
    RELEVANT_TOPICS,
    TITLE_TEXT,
    UNKNOWN_ACTIVITY_TYPES,
    UNRELATED_TOPICS,
    URLS,
)


def accounts_frame(rng, acc: Accounts, grid: Grid):
    no_industry = rng.random(acc.n) < 0.02
    no_revenue = rng.random(acc.n) < 0.03
    o = np.argsort(acc.id_values, kind="stable")
    return pd.DataFrame({
        "account_id": take(acc.ids, o),
        "name": str_column(acc.name[o]),
        "domain": str_column(acc.domain_typed[o], acc.domain_missing[o]),
        "industry": take(string_array(INDUSTRIES), acc.industry[o], no_industry[o]),
        "employees": acc.employees[o].astype(np.int64),
        "annual_revenue": np.where(no_revenue, np.nan, acc.revenue)[o].astype(float),
        "country": str_column(acc.country[o]),
        "technologies": str_column(acc.technologies[o], (acc.technologies == "")[o]),
        "created_at": timestamps(grid, np.floor(acc.created[o] * 24) / 24),
    })


def contacts_frame(rng, acc: Accounts, pt, ident, contact_ids, id_values, grid: Grid):
    name, email, title = ident
    rows = np.flatnonzero(pt["in_crm"])
    rows = rows[np.argsort(id_values[rows], kind="stable")]
    k = len(rows)
    return pd.DataFrame({
        "contact_id": take(contact_ids, rows),
        "account_id": take(acc.ids, np.maximum(pt["acct"][rows], 0), ~pt["account_known"][rows]),
        "name": take(name, rows),
        "email": take(email, rows),
        "title": take(string_array(TITLE_TEXT), title[rows], rng.random(k) < 0.03),
        "seniority": take(string_array(SENIORITIES), pt["seniority"][rows], rng.random(k) < 0.15),
        "department": take(string_array(DEPARTMENTS), pt["department"][rows], rng.random(k) < 0.15),
        "created_at": timestamps(grid, pt["created"][rows]),
    })


def activities_frame(acc: Accounts, ev, email, contact_ids, grid: Grid, topics: bool = False):
    """The activities; with ``topics``, a ``topic`` column from ``ev``'s ``line`` where ``tagged``."""
    p = np.maximum(ev["person"], 0)
    frame = pd.DataFrame({
        "activity_id": pd.Series(id_strings("E", ev["id"], 12), dtype="str"),
        "timestamp": timestamps(grid, ev["t"]),
        "type": take(string_array(ACTIVITY_TYPES + UNKNOWN_ACTIVITY_TYPES), ev["type"]),
        "contact_id": take(contact_ids, p, ~ev["has_contact"]),
        "account_id": take(acc.ids, np.maximum(ev["acct"], 0), ~ev["linked"]),
        "email": take(email, p, ~ev["email_only"]),
        "url": take(string_array(URLS), np.maximum(ev["url"], 0), ev["url"] < 0),
        "minutes": ev["minutes"],
    })
    if topics:
        frame["topic"] = take(string_array(PRODUCT_LINES), np.maximum(ev["line"], 0), ~ev["tagged"])
    return frame


def provider_ids(rng, acc: Accounts, acct):
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
    return (take(acc.ids, acct, ~by_id),
            take(domains, acct + acc.n * www, ~by_domain))


def intent_frame(rng, acc: Accounts, rows, grid: Grid):
    o = np.argsort(rows["week"].to_numpy(), kind="stable")
    acct = rows["acct"].to_numpy()[o]
    account_id, domain = provider_ids(rng, acc, acct)
    return pd.DataFrame({
        "account_id": account_id,
        "domain": domain,
        "date": timestamps(grid, rows["week"].to_numpy()[o] * 7.0),
        "topic": take(string_array(RELEVANT_TOPICS + UNRELATED_TOPICS), rows["topic"].to_numpy()[o]),
        "score": rows["score"].to_numpy()[o].astype(np.int64),
    })


def signals_frame(rng, acc: Accounts, sig, grid: Grid):
    acct, day, kind, detail = sig
    o = np.argsort(day, kind="stable")
    account_id, domain = provider_ids(rng, acc, acct[o])
    return pd.DataFrame({
        "account_id": account_id,
        "domain": domain,
        "date": timestamps(grid, day[o]),
        "type": take(string_array(SIGNAL_TYPES), kind[o]),
        "detail": str_column(detail[o]),
    })


def opportunities_frame(rng, acc: Accounts, opp, grid: Grid):
    """The opportunities created in the history or before it, and the cycle each row came from (-1 none)."""
    keep = (opp["created"] < grid.n_days) & (opp["created"] >= acc.created[opp["acct"]])
    ids = random_id_values(rng, int(keep.sum()), 10)
    o = {f: v[keep] for f, v in opp.items()}
    order = np.lexsort((ids, np.round(o["created"] * 86_400)))
    o = {f: v[order] for f, v in o.items()}
    ids = ids[order]
    is_open = o["closed"] >= grid.n_days
    age = grid.n_days - o["created"]
    stage = np.where(o["won"], "closed_won", "closed_lost")
    stage = np.where(is_open, OPEN_STAGES[np.minimum((age / 21).astype(int), 3)], stage)
    won = pd.array(o["won"].astype(bool), dtype="boolean")
    won[is_open] = pd.NA
    frame = pd.DataFrame({
        "opportunity_id": pd.Series(id_strings("O", ids, 10), dtype="str"),
        "account_id": take(acc.ids, o["acct"].astype(np.int64)),
        "created_at": timestamps(grid, o["created"]),
        "closed_at": timestamps(grid, np.where(is_open, np.nan, o["closed"])),
        "stage": str_column(stage),
        "is_won": won,
        "amount": o["amount"].astype(float),
        "type": take(string_array(OPPORTUNITY_TYPES), o["kind"].astype(np.int64)),
    })
    return frame, o["cycle"].astype(np.int64)
