"""A CRM history in a SQL database equals the same history in files: SQLite and a real PostgreSQL server.

The PostgreSQL server is the test run's own (``postgres_url`` in conftest.py):
a throwaway cluster in a temporary folder. Every test writes its tables into
a database of its own.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from mqa.cli import main
from mqa.features.history import read_history
from mqa.features.problems import DataError, ProblemLog
from mqa.features.sql import display_url, is_url, read_sql_tables, write_sql_history

from .conftest import BASE, frame, new_database
from .shapes import START, cut, funnel_tables, write_csv

ENGINES = ["sqlite", "postgres"]


def _database(kind: str, request, tmp_path_factory) -> str:
    """A new empty database: a SQLite file, or a database on the test run's PostgreSQL server."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'crm.db'}"
    return new_database(request.getfixturevalue("postgres_url"))


def _raw_files(folder: Path) -> dict[str, pd.DataFrame]:
    """The history's table files as read, values untouched (Parquet's types, CSV's text)."""
    from mqa.features.files import discover, read_raw

    log = ProblemLog()
    return {name: read_raw(path, name, log) for name, path in discover(Path(folder), log).items()}


def _execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def assert_same_history(got, expected) -> None:
    """Every table equal, row for row and dtype for dtype, and the same notices, matching and columns."""
    assert got.present == expected.present
    for name in expected.tables:
        pd.testing.assert_frame_equal(got.tables[name], expected.tables[name], check_exact=True, obj=name)
    assert got.notices == expected.notices
    assert got.matching == expected.matching
    assert got.columns == expected.columns and got.attributes == expected.attributes


# --------------------------------------------------------------------------- the demo history

@pytest.fixture(scope="module", params=ENGINES)
def demo_url(request, demo_folder, tmp_path_factory) -> str:
    url = _database(request.param, request, tmp_path_factory)
    write_sql_history(_raw_files(demo_folder), url)
    return url


@pytest.fixture(scope="module")
def demo_from_database(demo_url):
    return read_history(demo_url)


def test_a_history_from_a_database_equals_the_same_history_from_files(demo_url, demo_from_database, demo_history):
    assert_same_history(demo_from_database, demo_history)
    assert demo_from_database.folder == display_url(demo_url)
    assert demo_from_database.files == {name: f"table {name}" for name in demo_history.present}
    assert demo_from_database.summary().splitlines()[0] == f"CRM history {display_url(demo_url)}"


def test_features_and_scores_from_a_database_equal_those_from_files(demo_from_database, demo_history, demo_run):
    from mqa.features.build import build_features
    from mqa.predict.batch import predict_history

    dates = pd.to_datetime(["2025-09-02", "2026-03-03"], utc=True)
    pd.testing.assert_frame_equal(build_features(demo_from_database, as_of=dates), build_features(demo_history, as_of=dates),
                                  check_exact=True)
    as_of = pd.Timestamp("2026-06-30", tz="UTC")
    pd.testing.assert_frame_equal(predict_history(demo_from_database, demo_run.bundle, as_of),
                                  predict_history(demo_history, demo_run.bundle, as_of), check_exact=True)


# --------------------------------------------------------------------------- a real export's shape, on the command line

FUNNEL_CONFIG = '[labels]\nhorizon_days = 30\n\n[attributes.accounts]\nlead_source = "category"\n'


@pytest.fixture(scope="module")
def funnel_export(tmp_path_factory):
    """The marketing-funnel export as CSV files, its configuration, and the model version `mqa train` gives from the files."""
    root = tmp_path_factory.mktemp("funnel")
    tables = cut(funnel_tables(1500, seed=0), START + pd.Timedelta(days=137))
    folder = write_csv(tables, root / "export")
    config = root / "mqa.toml"
    config.write_text(FUNNEL_CONFIG)
    return root, tables, folder, config, _train(folder, config, root / "model-files")


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def _train(data, config, out) -> str:
    code = main(["train", "--data", str(data), "--config", str(config), "--out", str(out), "--no-mlflow"])
    assert code == 0
    return (Path(out) / "training.json").read_text().split('"model_version": "')[1][:12]


@pytest.mark.parametrize("kind", ENGINES)
def test_validate_features_train_predict_and_report_from_a_database(kind, funnel_export, request, tmp_path_factory, tmp_path,
                                                                    capsys):
    """The export's typed frames in the database (native timestamps, floats, text), then every command as from files."""
    root, tables, folder, config, file_version = funnel_export
    capsys.readouterr()
    url = _database(kind, request, tmp_path_factory)
    # The CSV export keeps whole seconds; the database gets the same instants, as native timestamps.
    write_sql_history({name: t.assign(**{col: t[col].dt.floor("s") for col in t.columns if isinstance(t[col].dtype, pd.DatetimeTZDtype)})
                       for name, t in tables.items()}, url)
    cfg = ["--config", str(config)]

    from mqa.features.config import load_config

    assert_same_history(read_history(url, load_config(config)), read_history(folder, load_config(config)))
    code, out, err = _run(["validate", url, *cfg], capsys)
    assert code == 0, err
    assert out.splitlines()[0] == f"CRM history {display_url(url)}" and "OK: the history follows the data contract" in out

    features = {}
    for name, data in (("db", url), ("files", str(folder))):
        code, _, err = _run(["features", "--data", data, *cfg, "--as-of", "2025-03-01,2025-04-01",
                             "--out", str(tmp_path / f"{name}.parquet")], capsys)
        assert code == 0, err
        features[name] = pd.read_parquet(tmp_path / f"{name}.parquet")
    pd.testing.assert_frame_equal(features["db"], features["files"], check_exact=True)

    version = _train(url, config, tmp_path / "model")
    assert version == file_version, "the same history from a database trains the same model"
    assert f"Read {display_url(url)}: " in capsys.readouterr().out

    scores = {}
    for name, data in (("db", url), ("files", str(folder))):
        code, _, err = _run(["predict", "--data", data, *cfg, "--model", str(tmp_path / "model"), "--as-of", "2025-05-01",
                             "--out", str(tmp_path / f"scores-{name}.parquet")], capsys)
        assert code == 0, err
        scores[name] = pd.read_parquet(tmp_path / f"scores-{name}.parquet")
    pd.testing.assert_frame_equal(scores["db"], scores["files"], check_exact=True)

    first = scores["db"].loc[scores["db"]["status"] == "scored", "account_id"].iloc[0]
    code, out, err = _run(["report", "--scores", str(tmp_path / "scores-db.parquet"), "--data", url, *cfg,
                           "--out", str(tmp_path / "report"), "--account", first], capsys)
    assert code == 0, err
    assert (tmp_path / "report" / "index.html").is_file()


# --------------------------------------------------------------------------- native PostgreSQL types

def _stage(url: str, tables: dict[str, str], schema: str | None = None, names: dict[str, str] | None = None) -> None:
    """Inline CSV texts as text tables (``raw_<table>`` unless ``names`` says otherwise)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for table, text in tables.items():
                data = frame(text)
                data.to_sql((names or {}).get(table, f"raw_{table}"), conn, schema=schema, index=False,
                            dtype={col: sa.Text() for col in data.columns})
    finally:
        engine.dispose()


def test_native_postgresql_types_read_as_the_csv_history_does(pg_database, history_dir):
    """timestamptz, timestamp, date, numeric, integer and boolean columns give the history CSV text gives."""
    _stage(pg_database, BASE)
    _execute(
        pg_database,
        # A date or a time without an offset is UTC in the contract; the session says so to PostgreSQL's casts.
        "SET TIME ZONE 'UTC'",
        "CREATE TABLE accounts AS SELECT account_id, name, domain, industry, nullif(employees, '')::integer AS employees, "
        "nullif(annual_revenue, '')::numeric(14, 2) AS annual_revenue, country, technologies, "
        "nullif(created_at, '')::timestamptz AS created_at FROM raw_accounts",
        "CREATE TABLE contacts AS SELECT contact_id, account_id, name, email, title, seniority, department, "
        "nullif(created_at, '')::date AS created_at FROM raw_contacts",
        'CREATE TABLE activities AS SELECT activity_id, nullif("timestamp", \'\')::timestamp AS "timestamp", type, contact_id, '
        "account_id, email, url, nullif(minutes, '')::numeric AS minutes FROM raw_activities",
        "CREATE TABLE opportunities AS SELECT opportunity_id, account_id, nullif(created_at, '')::date AS created_at, "
        "nullif(closed_at, '')::timestamptz AS closed_at, stage, nullif(is_won, '')::boolean AS is_won, "
        "nullif(amount, '')::numeric(12, 2) AS amount, type FROM raw_opportunities",
    )
    engine = sa.create_engine(pg_database)
    kinds = {col["name"]: str(col["type"]) for col in sa.inspect(engine).get_columns("opportunities")}
    engine.dispose()
    assert (kinds["created_at"], kinds["closed_at"], kinds["is_won"], kinds["amount"]) == (
        "DATE", "TIMESTAMP", "BOOLEAN", "NUMERIC(12, 2)")
    assert_same_history(read_history(pg_database), read_history(history_dir))


def test_a_schema_mapped_tables_and_a_view(pg_database, history_dir):
    """[database] schema, [database.tables] (a bare name, a view, another schema's table) and a name matched despite its case."""
    from mqa.features.config import load_config

    _execute(pg_database, "CREATE SCHEMA crm")
    accounts = BASE["accounts"].replace("account_id,name", "Id,name", 1)
    _stage(pg_database, {"accounts": accounts, "contacts": BASE["contacts"], "opportunities": BASE["opportunities"]}, "crm",
           {"accounts": "sf_account", "contacts": "Contacts", "opportunities": "sf_opportunity"})
    _stage(pg_database, {"activities": BASE["activities"]}, names={"activities": "web_events"})
    _execute(pg_database, "CREATE VIEW crm.deals AS SELECT * FROM crm.sf_opportunity")
    config = load_config({"database": {"schema": "crm", "tables": {"accounts": "sf_account", "opportunities": "deals",
                                                                   "activities": "public.web_events"}},
                          "columns": {"accounts": {"account_id": "Id"}}})
    history = read_history(pg_database, config)
    assert_same_history(history, read_history(history_dir))
    assert history.files == {"accounts": "table crm.sf_account", "contacts": "table crm.Contacts",
                             "activities": "table public.web_events", "opportunities": "table crm.deals"}

    wrong = load_config({"database": {"schema": "crn"}})
    with pytest.raises(DataError) as info:
        read_history(pg_database, wrong)
    assert f"  - crn: no such schema in {display_url(pg_database)} (did you mean 'crm'?); fix [database] schema" in str(info.value)
    missing = load_config({"database": {"schema": "crm", "tables": {"accounts": "sf_accounts", "signals": "sf_signal",
                                                                "opportunities": "deals"}}})
    with pytest.raises(DataError) as info:
        read_history(pg_database, missing)
    assert [p.code for p in info.value.problems] == ["database.table_unknown", "database.table_unknown"]
    assert (f"accounts: [database.tables] names 'crm.sf_accounts', which is not a table or view in {display_url(pg_database)} "
            "(did you mean 'sf_account'?); fix the name in the configuration.") in str(info.value)


def test_only_the_columns_the_loader_uses_are_selected(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    accounts = frame(BASE["accounts"]).assign(notes="private", LEAD_SOURCE="event")
    write_sql_history({"accounts": accounts}, url)
    from mqa.features.config import load_config

    raws, names = read_sql_tables(url, load_config({"attributes": {"accounts": {"lead_source": "category"}}}), ProblemLog())
    assert list(raws["accounts"].columns) == list(frame(BASE["accounts"]).columns) + ["LEAD_SOURCE"]
    assert names == {"accounts": f"table accounts in {url}"}


# --------------------------------------------------------------------------- errors, on the command line

@pytest.fixture
def base_sqlite(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    write_sql_history({name: frame(text) for name, text in BASE.items()}, url)
    return url


def test_a_missing_table_is_named_with_its_database(base_sqlite, capsys):
    _execute(base_sqlite, "DROP TABLE opportunities")
    code, out, err = _run(["validate", base_sqlite], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert err == (f"The CRM history in {base_sqlite} breaks the data contract (1 problem); nothing was written:\n"
                   f"  - opportunities: required table is missing: no table or view named 'opportunities' in {base_sqlite}; "
                   "create it (a view over your own table works), or name yours in [database.tables] opportunities = \"...\".\n")
    code, _, err = _run(["validate", base_sqlite, "--for", "predict"], capsys)
    assert code == 0, err


def test_a_missing_column_says_which_column_of_the_table_was_meant(base_sqlite, capsys):
    _execute(base_sqlite, "ALTER TABLE accounts RENAME COLUMN account_id TO AccountId")
    code, out, err = _run(["validate", base_sqlite], capsys)
    assert code == 2 and "Traceback" not in err
    assert (f"  - accounts: column 'account_id': required column is missing from table accounts in {base_sqlite}; add it, or "
            "map your column name to it in the configuration (did you mean 'AccountId'? [columns.accounts] account_id = "
            '"AccountId").\n') in err


def test_bad_values_name_the_table_in_the_database(base_sqlite, capsys):
    _execute(base_sqlite, "UPDATE accounts SET employees = '12k' WHERE account_id = 'A2'")
    code, _, err = _run(["validate", base_sqlite], capsys)
    assert code == 2
    assert "  - accounts: column 'employees': must be a whole number such as 120; some values are not; 1 row (row 2: '12k').\n" in err


def test_an_unreachable_server_fails_fast_and_never_shows_the_password(capsys):
    t0 = time.perf_counter()
    code, out, err = _run(["validate", "postgresql://u:secret@127.0.0.1:9/db"], capsys)
    assert time.perf_counter() - t0 < 5
    assert code == 2 and out == "" and "secret" not in err and "Traceback" not in err
    assert err.startswith("postgresql://u:***@127.0.0.1:9/db: cannot connect (")
    assert err.endswith("); check the host, port, database name, user and password, and that the server is running and "
                        "reachable from here\n")


def test_a_url_that_cannot_be_parsed_is_a_message(capsys):
    code, _, err = _run(["validate", "postgresql://u:secret@127.0.0.1:notaport/db"], capsys)
    assert code == 2 and "secret" not in err and "Traceback" not in err
    assert err.startswith("postgresql://u:***@127.0.0.1:notaport/db: not a database URL; write it as kind://user:password@")


def test_a_sqlite_file_that_does_not_exist_is_not_created(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    code, _, err = _run(["validate", url], capsys)
    assert code == 2 and not (tmp_path / "nope.db").exists()
    assert err == (f"{url}: no such SQLite database file ({tmp_path / 'nope.db'}); check the path (sqlite:///crm.db is relative "
                   "to the working folder, sqlite:////data/crm.db is absolute)\n")


def test_spark_refuses_a_database_url_in_one_sentence(base_sqlite, tmp_path, capsys):
    code, _, err = _run(["features", "--engine", "spark", "--data", base_sqlite, "--out", str(tmp_path / "f.parquet")], capsys)
    assert code == 2 and not (tmp_path / "f.parquet").exists()
    assert err.startswith("mqa features: --engine spark reads a history folder or Spark tables, not a database URL; use "
                          "--engine pandas")


def test_urls_and_their_passwords():
    assert is_url("sqlite:///x.db") and is_url("postgresql+psycopg://u@h/db") and is_url("postgresql://u:p@h:5432/db")
    assert not is_url("data/demo") and not is_url("s3a://bucket/history") and not is_url("dbfs://crm") and not is_url(Path("x"))
    assert display_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    assert "secret" not in display_url("postgresql://u@h/db?password=secret")
    assert "secret" not in display_url("postgresql://u:secret@h:notaport/db")


# --------------------------------------------------------------------------- writing

def test_synth_into_a_database_refuses_a_history_and_overwrites_only_its_tables(tmp_path, capsys):
    db = tmp_path / "demo.db"
    url = f"sqlite:///{db}"
    code, out, err = _run(["synth", "--out", url, "--accounts", "30"], capsys)
    assert code == 0, err
    assert f"to {url} in " in out and re.search(r"table accounts +30 rows", out)
    _execute(url, "CREATE TABLE keep_me (x INTEGER)", "INSERT INTO keep_me VALUES (1)")
    code, _, err = _run(["synth", "--out", url, "--accounts", "40"], capsys)
    assert code == 2 and "already holds a CRM history (tables accounts, activities, contacts, dispositions, intent, opportunities, signals)" in err
    code, _, err = _run(["synth", "--out", url, "--accounts", "40", "--format", "csv"], capsys)
    assert code == 2 and "--format is for a folder" in err
    code, _, err = _run(["synth", "--out", url, "--accounts", "40", "--overwrite"], capsys)
    assert code == 0, err
    assert len(read_history(url).tables["accounts"]) == 40
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT x FROM keep_me").scalar() == 1
    engine.dispose()


def test_a_failed_write_leaves_the_database_as_it_was(base_sqlite):
    from mqa.features.sql import DatabaseError

    bad = pd.DataFrame({"contact_id": ["C9"], "created_at": [{"not": "a value"}]})
    with pytest.raises(DatabaseError, match="writing the history failed .*; nothing was written"):
        write_sql_history({"accounts": frame(BASE["accounts"]).head(1), "contacts": bad}, base_sqlite, overwrite=True)
    history = read_history(base_sqlite)
    assert len(history.tables["accounts"]) == 3 and len(history.tables["activities"]) == 4


def test_the_database_section_refuses_unknown_tables_with_did_you_mean():
    from mqa.features.config import ConfigError, load_config
    from mqa.features.presets import init_config

    with pytest.raises(ConfigError) as info:
        load_config({"database": {"shema": "crm", "tables": {"acounts": "sf_account", "contacts": "a.b.c"}}})
    assert sorted(str(info.value).splitlines()[1:]) == sorted([
        "  - [database] shema: unknown key (did you mean schema?); the keys of [database] are schema, tables",
        "  - [database.tables] acounts: not a table of the contract; known tables are accounts, contacts, activities, intent, "
        "signals, opportunities, opportunity_contacts, dispositions (did you mean accounts?)",
        "  - [database.tables] contacts: must be a table or view name, or schema.name, not 'a.b.c'",
    ])
    text = init_config()
    assert "[database]\n# The schema holding the tables" in text and "# [database.tables]\n# accounts = \"sf_account\"" in text
