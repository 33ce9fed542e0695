"""mqa monitor: drift against the bundle's reference, expected performance, matured cohorts, the command's exits.

One model (the shared README demo's, trained on the unchanged history) scores
the same accounts from two histories: the unchanged one, and one whose intent
feed stops half-way (every intent row after 2025-07-01 dropped).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mqa.cli import EXIT_USER_ERROR, EXIT_VERDICT, main
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.predict.batch import predict_history
from mqa.predict.monitor import MonitorError, expected_performance, monitor
from mqa.predict.store import open_store
from mqa.train.drift import PSI_FLOOR, distribution, psi

LATE = pd.Timestamp("2026-06-16", tz="UTC")
# Horizons that have passed by the history's end (2026-06-30): 2026-03-31 lies after
# the last training as-of (2026-03-24), so its scores are out of sample.
MATURED = (pd.Timestamp("2026-02-03", tz="UTC"), pd.Timestamp("2026-03-31", tz="UTC"))
STOP = pd.Timestamp("2025-07-01", tz="UTC")


@pytest.fixture(scope="module")
def world(demo_run, demo_history, tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor")
    bundle = demo_run.bundle
    model = root / "model"
    bundle.save(model)
    tables = {n: demo_history[n] for n in demo_history.present}
    tables["intent"] = tables["intent"][tables["intent"]["date"] < STOP]
    stopped_folder = root / "stopped"
    write_history(tables, stopped_folder)
    stopped = read_history(stopped_folder)
    unchanged = open_store(root / "unchanged.sqlite")
    for as_of in (*MATURED, LATE):
        unchanged.write_run(predict_history(demo_history, bundle, as_of))
    cut = open_store(root / "stopped.sqlite")
    cut.write_run(predict_history(stopped, bundle, LATE))
    return {"root": root, "bundle": bundle, "model": model, "stopped": stopped, "stopped_folder": stopped_folder,
            "unchanged": unchanged, "cut": cut, "unchanged_monitor": monitor(bundle, unchanged, demo_history)}


def test_psi_formula_and_bins():
    ref = distribution(pd.Series([0.0, 0, 1, 1, 2, 2, np.nan, np.nan]))
    assert ref["kind"] == "numeric" and ref["cuts"] == [0.5, 1.5]  # few values: one bin per value
    assert ref["shares"] == [0.25, 0.25, 0.25, 0.25] and ref["missing"] == 0.25 and ref["zero"] == 0.25
    assert psi(ref, pd.Series([0.0, 0, 1, 1, 2, 2, np.nan, np.nan])) == 0
    # Every value zero: bins 0 (a = 1), 1, 2 and missing (a floored).
    a = np.array([1.0, PSI_FLOOR, PSI_FLOOR, PSI_FLOOR])
    e = np.array([0.25] * 4)
    assert psi(ref, pd.Series([0.0] * 4)) == pytest.approx(float(np.sum((a - e) * np.log(a / e))))
    many = distribution(pd.Series(np.arange(1000.0)))
    assert len(many["cuts"]) == 9 and np.allclose(many["shares"][:10], 0.1)


def test_bundle_keeps_only_aggregates(demo_run):
    ref = demo_run.bundle.training["reference"]
    assert set(ref["features"]) == set(demo_run.bundle.features)
    assert ref["rows"] == len(demo_run.labeled)
    text = json.dumps(ref)
    ids = demo_run.labeled["account_id"].unique()[:50]
    assert not any(a in text for a in ids)
    assert abs(sum(ref["score"]["shares"]) - 1) < 1e-9


def test_unchanged_history_is_ok(world, demo_history):
    m = world["unchanged_monitor"]
    assert m.verdict == "ok", m.reasons
    assert m.score_psi < 0.1
    assert m.families.set_index("family").loc["intent", "silent_now"] < 0.7


def test_intent_stopping_is_named(world):
    m = monitor(world["bundle"], world["cut"], world["stopped"])
    assert m.verdict in ("watch", "retrain")
    assert m.reasons[0].startswith("intent: every intent feature is zero or missing for 100%")
    fam = m.families.set_index("family").loc["intent"]
    assert fam["silent_now"] == 1.0 and fam["silent_train"] < 0.75
    assert m.drift.iloc[0]["family"] == "intent" and m.drift.iloc[0]["psi"] > 0.25


def test_matured_cohorts_equal_a_direct_computation(world, demo_history):
    m = world["unchanged_monitor"]
    assert list(m.cohorts["as_of"]) == list(MATURED)  # the late run's horizon has not passed
    o = demo_history["opportunities"]
    counted = o[o["type"].isna() | ~o["type"].isin(["renewal"])]
    horizon = pd.Timedelta(days=world["bundle"].settings.horizon_days)
    for as_of, row in zip(MATURED, m.cohorts.itertuples()):
        s = world["unchanged"].scores(as_of=as_of)
        s = s[s["status"] == "scored"]
        created = counted[(counted["created_at"] > as_of) & (counted["created_at"] <= as_of + horizon)]
        y = s["account_id"].isin(created["account_id"]).to_numpy(dtype=float)
        mqa = s["is_mqa"].to_numpy(dtype=bool)
        p = s["probability"].to_numpy()
        assert row.scored == len(s) and row.mqas == mqa.sum()
        assert row.precision == pytest.approx(y[mqa].mean())
        assert row.recall == pytest.approx(y[mqa].sum() / y.sum())
        assert row.roc_auc == pytest.approx(roc_auc_score(y, p))
        assert row.expected == pytest.approx(p.sum()) and row.realised == y.sum()
        assert row.expected_mqa == pytest.approx(p[mqa].sum()) and row.realised_mqa == y[mqa].sum()
    retro = m.retrospective.set_index("group")
    assert retro.loc["MQA", "opportunity_rate"] > 3 * retro.loc["not MQA", "opportunity_rate"]
    assert retro.loc["MQA", "rows"] == m.cohorts["mqas"].sum()


def test_expected_precision_covers_the_realised(world, demo_history):
    m = world["unchanged_monitor"]
    run = m.cohorts.set_index("as_of").loc[MATURED[-1]]
    s = world["unchanged"].scores(as_of=MATURED[-1])
    e = expected_performance(s[s["status"] == "scored"])
    assert e["expected_precision"] == pytest.approx(run["expected_precision"])
    assert e["precision_low"] <= run["precision"] <= e["precision_high"]
    assert e["opportunities_low"] <= run["realised_mqa"] <= e["opportunities_high"]
    assert e["recall_low"] <= run["recall"] <= e["recall_high"]


def test_without_data_only_the_score(world):
    m = monitor(world["bundle"], world["cut"])
    assert m.drift.empty and m.cohorts.empty and m.expected["mqas"] > 0
    assert "without --data only the score's drift and the expected performance" in m.notes[0]


def test_old_bundle(world, demo_history):
    b = world["bundle"]
    old = dataclasses.replace(b, training={k: v for k, v in b.training.items() if k != "reference"})
    with pytest.raises(MonitorError, match="keeps no reference .* retrain it with this version of mqa, or pass --data"):
        monitor(old, world["unchanged"])
    m = monitor(old, world["unchanged"], demo_history)
    assert m.verdict == "ok" and "the training rows were rebuilt from the history" in m.notes[0]


def test_command(world, demo_folder, capsys):
    root = world["root"]
    args = ["monitor", "--model", str(world["model"]), "--out", str(root / "out")]
    status = main(args + ["--store", str(root / "stopped.sqlite"), "--data", str(world["stopped_folder"]),
                          "--fail-on", "watch"])
    out = capsys.readouterr().out
    assert status == EXIT_VERDICT and "Verdict: retrain" in out and "intent: every intent feature" in out
    saved = json.loads((root / "out" / "monitor.json").read_text())
    assert saved["verdict"] == "retrain" and saved["families"]
    assert main(args + ["--store", str(root / "unchanged.sqlite"), "--data", str(demo_folder), "--fail-on",
                        "watch"]) == 0
    out = capsys.readouterr().out
    assert "Verdict: ok" in out and "matured runs: 2" in out
    page = (root / "out" / "monitor.html").read_text()
    assert "<svg" in page  # the trend of two matured runs
    # The synthetic history has sales' dispositions: the page and the JSON carry their summary.
    from mqa.features.history import read_history
    from mqa.predict.dispositions import disposition_summary

    said = disposition_summary(world["unchanged"].scores(), read_history(demo_folder, purpose="predict"))
    saved = json.loads((root / "out" / "monitor.json").read_text())
    assert saved["dispositions"]["verdict"] == said.verdict() and saved["dispositions"]["mqas"] == len(said.mqas)
    assert "handovers" not in saved["dispositions"]
    assert "Dispositions: what sales made of the MQAs" in page and f"dispositions: {said.verdict()}" in out


def test_command_errors(world, demo_folder, tmp_path, capsys):
    args = ["monitor", "--model", str(world["model"]), "--out", str(tmp_path / "out")]
    assert main(args + ["--store", str(tmp_path / "none.sqlite")]) == EXIT_USER_ERROR
    assert "no score store there; write one with 'mqa predict ... --store'" in capsys.readouterr().err
    empty = open_store(tmp_path / "other.sqlite")
    other = world["unchanged"].scores(as_of=LATE).assign(model_version="0123456789ab")
    empty.write_run(other)
    assert main(args + ["--store", str(tmp_path / "other.sqlite")]) == EXIT_USER_ERROR
    assert "holds no run of model" in capsys.readouterr().err
    inside = ["monitor", "--model", str(world["model"]), "--store", str(world["root"] / "unchanged.sqlite"),
              "--data", str(demo_folder), "--out", str(demo_folder / "monitor")]
    assert main(inside) == EXIT_USER_ERROR
    assert "is inside the history folder" in capsys.readouterr().err
    # --fail-on retrain: ok is no failure, retrain is.
    stopped = ["--store", str(world["root"] / "stopped.sqlite"), "--fail-on", "retrain"]
    assert main(args + stopped) == 0  # without --data only the score is judged: it did not move
    assert main(args + stopped + ["--data", str(world["stopped_folder"])]) == EXIT_VERDICT
    capsys.readouterr()


def test_the_verdict_bands_watch_between_ok_and_retrain():
    import pandas as pd

    from mqa.predict.monitor import judge

    families = pd.DataFrame({"family": ["intent"], "label": ["Intent"], "features": [8], "moved": [0],
                             "silent_train": [0.40], "silent_now": [0.40], "max_psi": [0.05]})
    drift = pd.DataFrame({"feature": ["intent__x"], "family": ["intent"], "description": ["x"], "psi": [0.05],
                          "missing_train": [0.0], "missing_now": [0.0], "zero_train": [0.4], "zero_now": [0.4]})
    assert judge(0.05, drift, families) == ("ok", [])
    verdict, reasons = judge(0.15, drift, families)
    assert verdict == "watch" and reasons[0].startswith("score: its distribution moved (PSI 0.15")
    assert judge(0.30, drift, families)[0] == "retrain"
    thinner = families.assign(silent_now=[0.55])  # 15 points more silent: watch; 25 or more: retrain
    verdict, reasons = judge(0.0, drift, thinner)
    assert verdict == "watch" and "intent: every intent feature is zero or missing for 55%" in reasons[0]
    assert judge(0.0, drift, families.assign(silent_now=[0.66]))[0] == "retrain"
    together = families.assign(moved=[4])
    moved = drift.assign(psi=[0.4])
    verdict, reasons = judge(0.0, moved, together)
    assert verdict == "watch" and reasons == ["intent: 4 of its 8 features moved together beyond PSI 0.25 (x (PSI 0.40))"]
