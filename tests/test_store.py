"""The score store (predict --store), mqa history, report --store and mqa export."""

from __future__ import annotations

import csv
import json
import sqlite3

import pandas as pd
import pytest

from mqa.cli import main
from mqa.predict.batch import predict_history
from mqa.predict.export import export_frame, mqa_since
from mqa.predict.store import SCORE_DTYPES, open_store, typed_scores

DATES = ("2026-03-03", "2026-03-17", "2026-03-31")


def stamp(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz="UTC")


def run_frame(day: str, rows: dict, version: str = "v1") -> pd.DataFrame:
    """A hand-made run: ``{account: (status, score, is_mqa, became_mqa)}``, in the predict output's columns."""
    reasons = json.dumps([{"feature": "f", "contribution": 0.5, "text": "=2+3 web visits", "kind": "why_now"},
                          {"feature": "g", "contribution": 0.2, "text": "pricing page", "kind": "why_now"}])
    frame = pd.DataFrame({
        "account_id": list(rows), "as_of": stamp(day), "model_version": version,
        "status": [r[0] for r in rows.values()], "is_customer": False,
        "probability": [r[1] / 1000 if r[0] == "scored" else None for r in rows.values()],
        "lift": [r[1] / 50 if r[0] == "scored" else None for r in rows.values()],
        "score": [r[1] if r[0] == "scored" else None for r in rows.values()],
        "tier": ["mqa" if r[2] else "targeted" if r[0] == "scored" else None for r in rows.values()],
        "is_mqa": [r[2] if r[0] == "scored" else None for r in rows.values()],
        "became_mqa": [r[3] for r in rows.values()],
        "reasons": [reasons if r[0] == "scored" else None for r in rows.values()],
        "family_contributions": "{}", "data_through": stamp(day),
    })
    return typed_scores(frame)


@pytest.fixture(scope="module")
def world(demo_folder, demo_history, demo_run, tmp_path_factory):
    """Three nightly runs of the demo model into a store folder, through the command line."""
    root = tmp_path_factory.mktemp("store")
    model = demo_run.bundle.save(root / "model")
    outputs = []
    for day in DATES:
        out = root / f"scores-{day}.parquet"
        assert main(["predict", "--data", str(demo_folder), "--model", str(model), "--as-of", day, "--out", str(out),
                     "--store", str(root / "runs")]) == 0
        outputs.append(out)
    return root, model, open_store(root / "runs")


def test_predict_store_keeps_every_run_and_flags_new_mqas_against_the_previous_one(world, demo_history, demo_run):
    root, _, store = world
    runs = store.runs()
    assert [f"{d:%Y-%m-%d}" for d in runs["as_of"]] == list(DATES)
    assert runs["model_version"].eq(demo_run.bundle.version).all()
    assert runs["previous_as_of"].isna().tolist() == [True, False, False]
    # Read back exactly what predict_history gives (dtypes, NaN, NA, timestamps, JSON text).
    last = store.scores(as_of=stamp(DATES[1]))
    expected = predict_history(demo_history, demo_run.bundle, stamp(DATES[1]), previous=store.scores(as_of=stamp(DATES[0])))
    pd.testing.assert_frame_equal(last, expected.reset_index(drop=True))
    assert last["became_mqa"].fillna(False).sum() == runs["new_mqas"].iloc[1] > 0
    first = store.scores(as_of=stamp(DATES[0]))
    assert first["became_mqa"].isna().all()  # no earlier run: not flagged, rather than all new
    was = first.set_index("account_id")["is_mqa"].fillna(False).astype(bool)
    now = last.set_index("account_id")
    new = now["is_mqa"].fillna(False).astype(bool) & ~was.reindex(now.index, fill_value=False)
    assert now["became_mqa"].fillna(False).astype(bool).equals(new)


def test_rerunning_an_as_of_replaces_its_rows(world, demo_folder, capsys):
    root, model, store = world
    before = len(store.scores())
    assert main(["predict", "--data", str(demo_folder), "--model", str(model), "--as-of", DATES[2],
                 "--store", str(root / "runs")]) == 0
    assert "replaced the earlier write of this as-of and model" in capsys.readouterr().out
    assert len(store.scores()) == before and len(store.runs()) == 3


def test_history_prints_an_account_over_time(world, capsys):
    _, _, store = world
    scores = store.scores()
    account = scores.loc[scores["status"].eq("scored"), "account_id"].iloc[0]
    capsys.readouterr()
    assert main(["history", "--store", store.where, "--account", account]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"Account {account} in ") and "3 runs" in out[0]
    rows = out[2:]
    assert [r.split()[0] for r in rows] == list(DATES)
    mine = scores[scores["account_id"] == account].sort_values("as_of")
    assert [float(r.split()[3]) for r in rows] == [round(s, 1) for s in mine["score"]]
    assert main(["history", "--store", store.where, "--account", account, "--csv"]) == 0
    table = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [r["as_of"] for r in table] == list(DATES) and table[0]["change"] == ""

    assert main(["history", "--store", store.where, "--account", account[:-1]]) == 2
    assert f"--account {account[:-1]}: no stored score for this account; did you mean {account}" in capsys.readouterr().err


def test_report_from_the_store_draws_the_trend_from_earlier_runs(world, demo_folder, capsys):
    root, _, store = world
    out = root / "report"
    latest = store.scores(as_of=stamp(DATES[2]))
    some = latest.loc[latest["status"].eq("scored"), "account_id"].head(2).tolist()
    assert main(["report", "--store", str(root / "runs"), "--data", str(demo_folder), "--out", str(out), "--account", *some]) == 0
    assert f"at {DATES[2]}" in capsys.readouterr().out
    page = next((out / "accounts").glob("*.html")).read_text()
    assert "No earlier score" not in page and 'id="trend"' in page
    digest = (out / "index.html").read_text()
    assert "run of 2026-03-31" in digest
    assert main(["report", "--store", str(root / "runs"), "--data", str(demo_folder), "--out", str(out),
                 "--as-of", "2026-03-10"]) == 2
    assert "holds no run at 2026-03-10; its latest: 2026-03-03, 2026-03-17, 2026-03-31" in capsys.readouterr().err


def test_mqa_since_is_the_start_of_the_unbroken_streak(tmp_path):
    store = open_store(tmp_path / "s.sqlite")
    store.write_run(run_frame("2026-01-01", {"A": ("scored", 90, True, None), "B": ("scored", 95, True, None),
                                             "C": ("scored", 10, False, None)}))
    store.write_run(run_frame("2026-01-15", {"A": ("scored", 40, False, False), "B": ("scored", 96, True, False),
                                             "C": ("scored", 91, True, True)}))
    store.write_run(run_frame("2026-01-29", {"A": ("scored", 92, True, True), "B": ("scored", 97, True, False),
                                             "C": ("in_pipeline", 0, None, None), "D": ("scored", 99, True, True)}))
    run = store.latest_run()
    since = mqa_since(store, run)
    assert since.dropna().dt.strftime("%Y-%m-%d").to_dict() == {"A": "2026-01-29", "B": "2026-01-01", "D": "2026-01-29"}

    sf = export_frame(store, run, "salesforce")
    assert list(sf.columns) == ["Id", "MQA_Score__c", "MQA_Tier__c", "MQA__c", "MQA_Since__c", "MQA_Reasons__c",
                                "MQA_Model_Version__c", "MQA_As_Of__c"]
    assert sf.set_index("Id")["MQA__c"].to_dict() == {"A": "true", "B": "true", "C": "false", "D": "true"}
    assert sf.set_index("Id").loc["C", "MQA_Tier__c"] == "in_pipeline" and pd.isna(sf.set_index("Id").loc["C", "MQA_Score__c"])
    assert sf.loc[0, "MQA_Reasons__c"] == "=2+3 web visits; pricing page"
    hub = export_frame(store, run, "hubspot", only_mqa=True)
    assert list(hub["Record ID"]) == ["A", "B", "D"] and hub.columns[0] == "Record ID"


def test_export_writes_formula_safe_import_files(world, tmp_path, capsys):
    store = open_store(tmp_path / "s.sqlite")
    store.write_run(run_frame("2026-01-01", {"=HYPERLINK(1)": ("scored", 90, True, None), "B": ("scored", 10, False, None)}))
    out = tmp_path / "sf.csv"
    assert main(["export", "--store", str(tmp_path / "s.sqlite"), "--format", "salesforce", "--out", str(out)]) == 0
    assert "Wrote 2 accounts (1 MQAs) of the run of 2026-01-01 (model v1)" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["Id"] == "'=HYPERLINK(1)" and rows[0]["MQA_Reasons__c"] == "'=2+3 web visits; pricing page"
    assert rows[0]["MQA_Since__c"] == "2026-01-01" and rows[1]["MQA_Since__c"] == ""
    plain = tmp_path / "plain.csv"
    assert main(["export", "--store", str(tmp_path / "s.sqlite"), "--format", "csv", "--out", str(plain)]) == 0
    header = plain.read_text().splitlines()[0]
    assert header == "account_id,score,tier,is_mqa,mqa_since,reason_1,reason_2,reason_3,model_version,as_of"

    assert main(["export", "--store", str(tmp_path / "s.sqlite"), "--format", "csv", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "CRM import tools take .csv files" in capsys.readouterr().err
    assert main(["export", "--store", str(tmp_path / "none"), "--format", "csv", "--out", str(plain)]) == 2
    assert "no score store there; write one with 'mqa predict ... --store'" in capsys.readouterr().err


def test_a_store_never_writes_into_what_mqa_did_not_write(world, demo_folder, tmp_path, capsys):
    root, model, _ = world
    args = ["predict", "--data", str(demo_folder), "--model", str(model), "--as-of", DATES[0]]
    # A file that is not SQLite, named as a store.
    (tmp_path / "notes.db").write_text("my notes")
    assert main(args + ["--store", str(tmp_path / "notes.db")]) == 2
    assert "is not a SQLite database; mqa never writes into a file it did not write" in capsys.readouterr().err
    assert (tmp_path / "notes.db").read_text() == "my notes"
    # A database whose mqa_scores table is someone else's.
    with sqlite3.connect(tmp_path / "theirs.sqlite") as conn:
        conn.execute("CREATE TABLE mqa_scores (x INTEGER)")
    assert main(args + ["--store", str(tmp_path / "theirs.sqlite")]) == 2
    assert "holds a table mqa_scores that mqa did not write" in capsys.readouterr().err
    # Inside the history folder.
    assert main(args + ["--store", str(demo_folder)]) == 2
    assert "is inside the history folder" in capsys.readouterr().err
    assert not (demo_folder / "mqa-scores.sqlite").exists()
    # Nowhere to put the scores.
    assert main(args) == 2
    assert "pass --out FILE, --store URL_OR_FOLDER, or both" in capsys.readouterr().err
    assert main(args + ["--store"]) == 2
    assert "--store without a location needs --out" in capsys.readouterr().err


def test_scores_round_trip_exactly_through_the_default_sqlite_store(tmp_path):
    frame = run_frame("2026-02-01", {"A": ("scored", 85.25, True, None), "B": ("not_created", 0, None, None),
                                     "C": ("scored", 1e-9, False, None)})
    store = open_store(None, out=tmp_path / "scores.parquet")
    assert store.where == str((tmp_path / "mqa-scores.sqlite").absolute())
    store.write_run(frame)
    pd.testing.assert_frame_equal(store.scores(), frame)
    assert list(store.scores().columns) == list(SCORE_DTYPES)


def test_scores_round_trip_exactly_through_a_postgresql_table(world, pg_database, tmp_path, capsys):
    """A store in the warehouse: the same rows back, timestamps as timestamptz, history and export read it."""
    from sqlalchemy import create_engine, text

    _, _, local = world
    stored = local.scores(as_of=stamp(DATES[1]))
    edge = run_frame("2026-02-01", {"A": ("scored", 85.25, True, None), "B": ("not_created", 0, None, None),
                                    "C": ("scored", 1e-9, False, None)})
    store = open_store(pg_database)
    assert "postgres" in store.where and not store.exists()
    store.write_run(stored)
    store.write_run(edge)
    pd.testing.assert_frame_equal(store.scores(as_of=stamp(DATES[1])), stored)
    pd.testing.assert_frame_equal(store.scores(as_of=stamp("2026-02-01")), edge)
    with create_engine(pg_database).connect() as conn:
        kinds = dict(conn.execute(text("SELECT column_name, data_type FROM information_schema.columns "
                                       "WHERE table_name = 'mqa_scores'")).all())
    assert kinds["as_of"] == "timestamp with time zone" and kinds["probability"] == "double precision"
    assert kinds["is_mqa"] == "boolean"
    account = stored.loc[stored["status"].eq("scored"), "account_id"].iloc[0]
    assert main(["history", "--store", pg_database, "--account", account]) == 0
    assert f"Account {account} in postgresql+psycopg://postgres@127.0.0.1" in capsys.readouterr().out
    out = tmp_path / "hub.csv"
    assert main(["export", "--store", pg_database, "--format", "hubspot", "--out", str(out), "--as-of", DATES[1]]) == 0
    assert len(pd.read_csv(out)) == len(stored)


def test_a_store_written_before_buying_groups_gains_the_column(tmp_path):
    import sqlalchemy as sa

    path = tmp_path / "old.sqlite"
    store = open_store(path)
    store.write_run(run_frame("2026-01-01", {"A": ("scored", 90, True, None)}))
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:  # the store as an earlier mqa wrote it: no buying_groups column
        conn.exec_driver_sql("ALTER TABLE mqa_scores DROP COLUMN buying_groups")
    engine.dispose()
    old = open_store(path)
    assert old.scores()["buying_groups"].isna().all() and len(old.scores()) == 1
    later = run_frame("2026-01-15", {"A": ("scored", 91, True, False)}).assign(buying_groups='[{"group": 1}]')
    old.write_run(later)
    both = old.scores()
    assert both["buying_groups"].isna().tolist() == [True, False] and both["score"].tolist() == [90.0, 91.0]
