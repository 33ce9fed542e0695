"""Histories shaped like real exports, not like mqa's own generator.

``funnel_history`` is a marketing-funnel export: accounts with only an id, a
creation date and the CRM's lead source; two activities per account at first
contact; won opportunities created and closed on the same day; eleven months
in all, with the activity stream ending months before the last opportunity.
No contacts, intent or signals. What converts is the lead source and a demo
request at first contact, within weeks of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-01", tz="UTC")
SOURCES = {"referral": 0.40, "event": 0.28, "partner": 0.22, "webinar": 0.15, "organic": 0.07, "paid search": 0.04}


def funnel_tables(n_accounts: int = 1500, seed: int = 0, months: float = 11.0) -> dict[str, pd.DataFrame]:
    """The funnel export's tables (accounts, activities, opportunities) as DataFrames."""
    rng = np.random.default_rng(seed)
    days = months * 30.4
    ids = np.array([f"L{i:05d}" for i in range(n_accounts)])
    # Leads arrive over the first eight months; the last three only close deals.
    created = START + pd.to_timedelta(rng.uniform(0, min(days, 8 * 30.4) - 5, n_accounts), unit="D")
    source = rng.choice(list(SOURCES), size=n_accounts, p=[0.1, 0.1, 0.1, 0.2, 0.25, 0.25])
    first_type = rng.choice(["form_fill", "content_download", "demo_request"], size=n_accounts, p=[0.5, 0.35, 0.15])
    second = created + pd.to_timedelta(rng.uniform(0.1, 5, n_accounts), unit="D")
    activities = pd.DataFrame({
        "activity_id": np.r_[[f"E{i}a" for i in range(n_accounts)], [f"E{i}b" for i in range(n_accounts)]],
        "timestamp": np.r_[created, second],
        "type": np.r_[first_type, rng.choice(["web_visit", "email_click"], size=n_accounts)],
        "account_id": np.r_[ids, ids],
    })
    p = np.array([SOURCES[s] for s in source]) * np.where(first_type == "demo_request", 2.0, 1.0)
    converts = rng.random(n_accounts) < np.clip(p, 0, 0.9)
    opened = created + pd.to_timedelta(1 + rng.exponential(18, n_accounts), unit="D")
    keep = converts & (opened < START + pd.Timedelta(days=days))
    opportunities = pd.DataFrame({
        "opportunity_id": [f"O{i:05d}" for i in range(int(keep.sum()))],
        "account_id": ids[keep],
        "created_at": opened[keep],
        "closed_at": opened[keep],
        "is_won": "true",
        "amount": np.round(rng.lognormal(9, 0.5, int(keep.sum()))),
    })
    accounts = pd.DataFrame({"account_id": ids, "created_at": created, "lead_source": source})
    return {"accounts": accounts, "activities": activities, "opportunities": opportunities}


def cut(tables: dict[str, pd.DataFrame], until: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The export as it looked on ``until``: nothing created later."""
    stamp = {"accounts": "created_at", "activities": "timestamp", "opportunities": "created_at"}
    return {name: t[t[stamp[name]] <= until].reset_index(drop=True) for name, t in tables.items()}


def write_csv(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Each table as ``<name>.csv`` with ISO 8601 timestamps, as a CRM export writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, t in tables.items():
        t = t.copy()
        for col in t.columns:
            if isinstance(t[col].dtype, pd.DatetimeTZDtype):
                t[col] = t[col].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        t.to_csv(folder / f"{name}.csv", index=False)
    return folder
