"""Shared test helpers: tiny inline CRM histories written to a temporary folder, and a throwaway PostgreSQL server."""

from __future__ import annotations

import glob
import io
import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import uuid
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


# --------------------------------------------------------------------------- a throwaway PostgreSQL server

def _postgres_binaries() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (Debian's layout); fails, never skips, when there is none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0]))
    if not found:
        pytest.fail("the PostgreSQL tests need a PostgreSQL server's binaries (/usr/lib/postgresql/*/bin/initdb): install "
                    "Debian's postgresql package (apt-get install postgresql; .ci/run does it when they are missing)")
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server of its own for the test run: a new cluster in a temporary folder, on a free port.

    initdb refuses to run as root: as root, the cluster belongs to the
    unprivileged ``postgres`` user (Debian's package creates it) and the
    binaries run as that user. Trust authentication on 127.0.0.1 only; the
    server is stopped and its folder removed when the session ends.
    """
    bin_dir = _postgres_binaries()
    root = Path(tempfile.mkdtemp(prefix="mqa-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()

    def run(*cmd: str) -> None:
        done = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)
        if done.returncode:
            log = (root / "log").read_text() if (root / "log").exists() else ""
            pytest.fail(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}")

    # fsync off: a throwaway server has nothing to keep through a crash, and tests run faster.
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def new_database(server_url: str) -> str:
    """The URL of a new, empty database on the server of ``server_url``."""
    import sqlalchemy as sa

    name = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        engine.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def pg_database(postgres_url) -> str:
    """The URL of a fresh database of its own on the test run's PostgreSQL server."""
    return new_database(postgres_url)
