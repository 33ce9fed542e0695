"""Shared test helpers: tiny inline CRM histories written to a temporary folder."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pandas as pd
import pytest

# A small valid history, readable in the test itself. Each test copies it and
# changes only what it is about.
BASE = {
    "accounts": """
        account_id,name,domain,industry,employees,annual_revenue,country,technologies,created_at
        A1,Acme,https://www.Acme.com/,software,120,1000000,US,salesforce;hubspot,2024-01-01
        A2,Beta,beta.io,retail,5000,,DE,,2024-02-01T10:00:00+02:00
        A3,Gamma,gamma.co.uk,finance,40,2500000.5,GB,snowflake,
    """,
    "contacts": """
        contact_id,account_id,name,email,title,seniority,department,created_at
        C1,A1,Ann Archer,ann@acme.com,VP of Engineering,,,2024-01-01
        C2,,Bob Baker,bob@eu.acme.com,Procurement Manager,,,2024-01-01
        C3,A2,Cy Cole,cy@beta.io,Analyst,individual,finance,2024-01-01
    """,
    "activities": """
        activity_id,timestamp,type,contact_id,account_id,email,url,minutes
        E1,2024-03-01T09:00:00Z,web_visit,C1,,,https://vendor.com/pricing,2
        E2,2024-03-02,web_visit,,A2,,https://vendor.com/blog,
        E3,2024-03-03,email_open,,,zed@beta.io,,
        E4,2024-03-04,content_download,C2,,,,
    """,
    "opportunities": """
        opportunity_id,account_id,created_at,closed_at,stage,is_won,amount,type
        O1,A1,2024-05-01,2024-06-01,closed_won,yes,1000,new_business
        O2,A2,2024-05-01,,open,,2000,new_business
    """,
}


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory) -> Path:
    """The README demo's history on disk: 2,000 accounts, seed 7 (shared by the training and report tests)."""
    from mqa.features.files import write_history
    from mqa.features.synth import generate_history

    folder = tmp_path_factory.mktemp("demo") / "history"
    write_history(generate_history(n_accounts=2000, seed=7), folder)
    return folder


@pytest.fixture(scope="session")
def demo_history(demo_folder):
    from mqa.features.history import read_history

    return read_history(demo_folder)


@pytest.fixture(scope="session")
def demo_run(demo_history):
    """The README demo's model, trained as `mqa train` does by default (seed 0)."""
    from mqa.train.pipeline import train_model

    return train_model(demo_history, seed=0)


def dedent(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


def frame(text: str) -> pd.DataFrame:
    """A DataFrame of strings from inline CSV text (empty cells stay empty strings)."""
    return pd.read_csv(io.StringIO(dedent(text)), dtype=str, keep_default_na=False)


def write_tables(folder: Path, tables: dict[str, str], fmt: str = "csv") -> Path:
    """Write inline CSV texts as ``<table>.<fmt>`` files; ``fmt`` is csv, csv.gz or parquet."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        if fmt == "csv":
            (folder / f"{name}.csv").write_text(dedent(text))
        elif fmt == "csv.gz":
            frame(text).to_csv(folder / f"{name}.csv.gz", index=False, compression="gzip")
        else:
            frame(text).to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.fixture
def base_tables() -> dict[str, str]:
    return dict(BASE)


@pytest.fixture
def history_dir(tmp_path: Path, base_tables) -> Path:
    return write_tables(tmp_path / "history", base_tables)
