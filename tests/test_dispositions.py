"""Sales' dispositions: the contract table, the summaries, the alert cooldown and the synthetic table.

The store is written by hand (the predict output's columns) and the history
is inline, so every expected figure can be counted in the test itself.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mqa.cli import main
from mqa.features.history import read_history
from mqa.features.problems import DataError
from mqa.features.synth import generate_history
from mqa.predict.dispositions import disposition_summary, score_band
from mqa.predict.store import open_store

from .conftest import BASE, write_tables
from .test_alert import ACCOUNTS, run_frame

UTC = "UTC"


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


# --- the contract ------------------------------------------------------------------------------------------

def test_bad_dispositions_are_one_message_naming_table_column_rows_and_fix(tmp_path):
    accounts = pd.DataFrame({"account_id": ["A1", "A2"]})
    bad = pd.DataFrame({"account_id": ["A1", "A2", "A9", "A1"], "date": ["2024-01-02", "2024-01-03", "2024-01-04", ""],
                        "disposition": [" Accepted", "maybe", "REJECTED", "nope"]})
    with pytest.raises(DataError) as info:
        read_history({"accounts": accounts, "dispositions": bad}, purpose="predict")
    assert str(info.value).splitlines()[1:] == [
        "  - dispositions: column 'date': is required but empty; 1 row (row 4).",
        "  - dispositions: column 'disposition': must be one of accepted, rejected, recycled (in any case); some values "
        "are not: fix them in dispositions DataFrame or map your values onto these; 2 rows (rows 2, 4: 'maybe', 'nope').",
        "  - dispositions: column 'account_id': points at an account that is not in the accounts table; add the account "
        "or fix the id; 1 row (row 3: 'A9').",
    ]
    assert [p.code for p in info.value.problems] == ["values.required", "values.choice", "references.unknown_account"]
    folder = write_tables(tmp_path / "h", {"accounts": "account_id\nA1\n", "dispositions": "account_id,date\nA1,2024-01-02\n"})
    with pytest.raises(DataError, match=r"dispositions: column 'disposition': required column is missing from "
                                        r"dispositions.csv; add it, or map your column name to it in the configuration"):
        read_history(folder, purpose="predict")


def test_dispositions_read_trimmed_in_lower_case_and_mapped_by_the_configuration(tmp_path):
    from mqa.features.config import load_config

    config = load_config({"columns": {"dispositions": {"disposition": "Status", "date": "Decided"}},
                          "tables": {"dispositions": "verdicts.csv"}})
    folder = write_tables(tmp_path / "h", {"accounts": "account_id\nA1\nA2\n"})
    (folder / "verdicts.csv").write_text("Account_ID,Decided,Status,Reason\nA2,2024-01-03T10:00:00+02:00, Recycled ,bad timing\n"
                                         "A1,2024-01-02,ACCEPTED,\n")
    h = read_history(folder, config=config, purpose="predict")
    d = h["dispositions"]
    assert "dispositions" in h.present and h.files["dispositions"] == "verdicts.csv"
    assert d["disposition"].tolist() == ["accepted", "recycled"]  # date order
    assert d["date"].tolist() == [ts("2024-01-02"), ts("2024-01-03 08:00")]
    assert str(d["disposition"].dtype) == "str"


# --- the summaries -----------------------------------------------------------------------------------------

D0, D1, D2 = ts("2024-03-01"), ts("2024-03-04"), ts("2024-03-11")
# account -> (score, is_mqa, became_mqa) per run; run_frame writes them in the predict output's columns.
RUNS = {
    D0: {"A1": (80, False, None), "A2": (80, False, None), "A3": (80, False, None), "A4": (80, False, None), "A5": (60, False, None)},
    D1: {"A1": (96, True, True), "A2": (91, True, True), "A3": (87, True, True), "A4": (86, True, True), "A5": (70, False, False)},
    D2: {"A1": (96, True, False), "A2": (91, True, False), "A3": (87, True, False), "A4": (86, True, False), "A5": (93, True, True)},
}
HISTORY = {
    "accounts": pd.DataFrame({"account_id": ["A1", "A2", "A3", "A4", "A5"],
                              "owner": ["Dana", "Dana", "Sam", None, "Sam"]}),
    "dispositions": pd.DataFrame({
        "account_id": ["A1", "A2", "A3", "A3", "A5"],
        "date": ["2024-03-04T10:00:00Z", "2024-03-08", "2024-03-05T12:00:00Z", "2024-03-06", "2024-03-10"],
        "disposition": ["accepted", "Rejected", "recycled", "rejected", "rejected"],
        "reason": [None, "No budget", "bad timing", "not a fit", "not a fit"],
    }),
    "activities": pd.DataFrame({
        "timestamp": ["2024-03-04T08:00:00Z", "2024-03-09", "2024-03-05T09:00:00Z", "2024-03-05"],
        "type": ["email", "Meeting", "call", "web_visit"],
        "account_id": ["A1", "A2", "A4", "A3"],
    }),
}


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "store")
    previous = None
    for as_of, rows in RUNS.items():
        s.write_run(run_frame(as_of, rows), previous_as_of=previous)
        previous = as_of
    return s


def test_summary_counts_each_handover_once_with_exact_rates_and_sla(store):
    history = read_history(HISTORY, purpose="predict")
    summary = disposition_summary(store.scores(), history, sla_hours=72, min_verdicts=1)
    m = summary.mqas.set_index("account_id")
    # A3's second verdict is not its first; A5's rejection came before it was handed over (at D2).
    assert m["disposition"].fillna("-").to_dict() == {"A1": "accepted", "A2": "rejected", "A3": "recycled", "A4": "-", "A5": "-"}
    assert m["hours_to_disposition"].round(6).fillna(-1).tolist() == [10.0, 96.0, 36.0, -1, -1]
    # web_visit is no sales touch; email, meeting and call are.
    assert m["hours_to_touch"].round(6).fillna(-1).tolist() == [8.0, 120.0, -1, 33.0, -1]
    assert m["late"].tolist() == [False, True, False, True, False]
    assert m["untouched"].tolist() == [False, True, False, False, False]
    assert m["pending"].tolist() == [False, False, False, False, True]  # A5's SLA runs past what the history shows
    assert summary.observed_until == D2
    assert summary.acceptance_rate == pytest.approx(1 / 3)

    def rates(frame):
        return {k: (int(r["mqas"]), int(r["dispositioned"]), None if pd.isna(r["acceptance_rate"]) else round(r["acceptance_rate"], 4))
                for k, r in frame.iterrows()}

    assert rates(summary.by_tier) == {"mqa": (5, 3, 0.3333)}
    assert rates(summary.by_band) == {"85-90": (2, 1, 0.0), "90-95": (2, 1, 0.0), "95-100": (1, 1, 1.0)}
    assert rates(summary.by_owner) == {"Dana": (2, 2, 0.5), "Sam": (2, 1, 0.0), "unassigned": (1, 0, None)}
    assert summary.reasons.to_dict("records") == [{"reason": "bad timing", "rejected": 0, "recycled": 1, "count": 1},
                                                  {"reason": "no budget", "rejected": 1, "recycled": 0, "count": 1}]
    assert summary.verdict().startswith("Sales accepted 33% of the 3 MQAs they gave a verdict on, under the 40% below "
                                        "which Demandbase's playbook reads the MQA threshold as wrong")
    text = summary.text()
    assert "Untouched (no verdict and no sales touch within the SLA): 1: A2" in text
    assert "first verdict: median 36.0 h" in text and "2 late or missing" in text
    assert disposition_summary(store.scores(), history).verdict().endswith(
        "3 verdicts are too few to judge the threshold (at least 20 needed).")


def test_score_bands_put_100_in_the_top_band():
    assert score_band(pd.Series([85.0, 89.99, 90.0, 99.5, 100.0])).tolist() == ["85-90", "85-90", "90-95", "95-100", "95-100"]


def test_cli_prints_the_summary_and_writes_json(store, tmp_path, capsys):
    folder = tmp_path / "history"
    folder.mkdir()
    for name, frame in HISTORY.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (tmp_path / "mqa.toml").write_text("[dispositions]\nsla_hours = 100\n")
    out = tmp_path / "d.json"
    assert main(["dispositions", "--store", str(tmp_path / "store"), "--data", str(folder), "--out", str(out),
                 "--config", str(tmp_path / "mqa.toml")]) == 0
    printed = capsys.readouterr().out
    assert "Speed against the 100-hour SLA" in printed
    data = json.loads(out.read_text())
    # With 100 hours, A2's 96-hour verdict is on time; nobody is untouched.
    assert (data["mqas"], data["dispositioned"], data["late"], data["untouched"]) == (5, 3, 1, [])
    assert data["by_owner"][0] == {"owner": "Dana", "mqas": 2, "dispositioned": 2, "accepted": 1, "rejected": 1,
                                   "recycled": 0, "acceptance_rate": 0.5}
    assert main(["dispositions", "--store", str(tmp_path / "store"), "--data", str(folder), "--out", str(tmp_path / "d.txt")]) == 2
    assert "--out" in capsys.readouterr().err
    (folder / "dispositions.csv").unlink()  # an export without sales' verdicts
    assert main(["dispositions", "--store", str(tmp_path / "store"), "--data", str(folder)]) == 2
    assert "has no dispositions table, so there is no verdict of sales to judge" in capsys.readouterr().err


# --- the alert cooldown ------------------------------------------------------------------------------------

D = ts("2024-03-05")
VERDICT = "account_id,date,disposition,reason,owner\nA1,2024-03-06,rejected,not a fit,Dana Whitfield\n"


def alert_world(tmp_path, comeback: float):
    """A1 became an MQA at D (88), sales rejected it the next day, it dropped, and came back at D+14."""
    s = open_store(tmp_path / "store")
    runs = {D - pd.Timedelta(days=14): {"A1": (70, False, None), "A2": (50, False, None)},
            D: {"A1": (88, True, True), "A2": (50, False, False)},
            D + pd.Timedelta(days=7): {"A1": (70, False, False), "A2": (50, False, False)},
            D + pd.Timedelta(days=14): {"A1": (comeback, True, True), "A2": (50, False, False)}}
    previous = None
    for as_of, rows in runs.items():
        s.write_run(run_frame(as_of, rows), previous_as_of=previous)
        previous = as_of
    write_tables(tmp_path / "history", dict(BASE, accounts=ACCOUNTS, dispositions=VERDICT))
    return tmp_path


def dry_run(folder, *args):
    return main(["alert", "--store", str(folder / "store"), "--dry-run", *args])


@pytest.mark.parametrize("comeback, margin, cooldown, announced", [
    (90, None, None, False),   # rejected 13 days ago, score up 2 points: held back
    (99, None, None, True),    # up 11 points over its score at the run before the rejection (88): announced
    (90, 2, None, True),       # a margin of 2 points is met
    (90, None, 12, True),      # the rejection is outside a 12-day cooldown
])
def test_mqa_alert_holds_back_what_sales_turned_down(tmp_path, capsys, comeback, margin, cooldown, announced):
    folder = alert_world(tmp_path, comeback)
    args = ["--data", str(folder / "history")]
    if margin is not None:
        (folder / "mqa.toml").write_text(f"[alert]\nrescore_margin = {margin}\n")
        args += ["--config", str(folder / "mqa.toml")]
    if cooldown is not None:
        args += ["--cooldown-days", str(cooldown)]
    assert dry_run(folder, *args) == 0
    out, err = capsys.readouterr()
    payloads = [json.loads(line) for line in out.splitlines()]
    assert [p["text"].split(",")[0] for p in payloads] == (["New MQA: Acme"] if announced else [])
    if announced:
        assert "held back" not in err
    else:
        assert ("Dry run: 0 messages for 0 new MQAs at 2024-03-19 (no webhook set: the log of every channel was checked) "
                "printed, none sent or logged; 1 held back by dispositions (rejected or recycled by sales within the "
                "14-day cooldown, score not up 10 points since).") in err


def test_mqa_alert_without_data_says_dispositions_were_not_checked(tmp_path, capsys):
    folder = alert_world(tmp_path, 90)
    assert dry_run(folder) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1  # A1 is announced: nothing says sales rejected it
    assert "dispositions not checked (pass --data to hold back accounts sales rejected or recycled)." in err


# --- the synthetic table -----------------------------------------------------------------------------------

def test_the_generator_writes_dispositions_deterministically_from_its_latent_cycles():
    first, again = generate_history(n_accounts=400, seed=5), generate_history(n_accounts=400, seed=5)
    d = first["dispositions"]
    pd.testing.assert_frame_equal(d, again["dispositions"])
    assert len(d) > 50 and set(d["disposition"]) == {"accepted", "rejected", "recycled"}
    assert set(d["reason"].dropna()) <= {"no budget", "bad timing", "not a fit", "existing customer", "no response"}
    assert d.loc[d["disposition"] == "accepted", "reason"].isna().all()
    h = read_history(first)  # the contract reads it as it is
    assert len(h["dispositions"]) == len(d)
    # Reps accept more often where a buying cycle is under way: an opportunity follows within 120 days.
    opp = first["opportunities"][["account_id", "created_at"]]
    pairs = d.reset_index().merge(opp, on="account_id", how="left")
    follows = ((pairs["created_at"] > pairs["date"]) & (pairs["created_at"] <= pairs["date"] + pd.Timedelta(days=120)))
    real = follows.groupby(pairs["index"]).any().reindex(d.index, fill_value=False).to_numpy()
    accepted = (d["disposition"] == "accepted").to_numpy()
    assert accepted[real].mean() > accepted[~real].mean() + 0.1
    assert not np.array_equal(d.to_numpy(), generate_history(n_accounts=400, seed=6)["dispositions"].head(len(d)).to_numpy())
