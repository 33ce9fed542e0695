"""The rolling-origin backtest, the refit, the baselines and their intervals, labels and the as-of grid on real-export shapes."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mqa.cli import main
from mqa.features.build import build_features, default_grid
from mqa.features.config import FeatureSettings, load_config
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.synth import generate_history
from mqa.train import baselines as bl
from mqa.train.backtest import check_no_overlap, plan_backtest
from mqa.train.pipeline import likely_leaks, train_model

from .shapes import START, cut, funnel_tables, write_csv


# --- the plan ----------------------------------------------------------------
@pytest.mark.parametrize("seed", range(25))
def test_no_label_window_reaches_a_later_block(seed):
    rng = np.random.default_rng(seed)
    step = int(rng.choice([7, 14]))
    n = int(rng.integers(12, 80))
    dates = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(np.arange(n) * step, unit="D")
    horizon = int(rng.integers(7, 100))
    folds = int(rng.integers(1, 5))
    try:
        bt = plan_backtest(dates, horizon, folds)
    except ValueError as exc:
        assert "needs at least" in str(exc)
        return
    check_no_overlap(bt)
    gap = pd.Timedelta(days=horizon)
    assert len(bt.folds) == folds and bt.folds[-1].test.max() == dates.max()
    for a, b in zip(bt.folds, bt.folds[1:]):
        assert a.test.max() < b.test.min()  # consecutive, oldest first
    for f in bt.folds:
        assert f.train.max() + gap < f.test.min() and f.fit.max() + gap < f.stop.min()
        assert set(f.train) == set(dates[dates + gap < f.test.min()])  # every date that may be learned from is


def test_too_short_names_the_need_and_the_cause():
    dates = pd.date_range("2025-01-01", periods=10, freq="14D", tz="UTC")
    with pytest.raises(ValueError, match=r"a 3-fold backtest with a 90-day horizon needs at least 236 days of labeled "
                                         r"as-of dates \(two 90-day gaps and 4 dates 14 days apart\); the history has 126 "
                                         r"\(2025-01-01 to 2025-05-07\) because the grid starts late"):
        plan_backtest(dates, 90, 3, cause="the grid starts late")


def test_too_short_from_the_command_line(tmp_path, capsys):
    folder = tmp_path / "short"
    write_history(generate_history(n_accounts=120, seed=2, start="2025-10-01", end="2026-06-30"), folder)
    assert main(["train", "--data", str(folder), "--no-mlflow", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "needs at least" in err and "because the engagement data runs from 2025-10-01" in err
    assert "horizon ends by the end of the data on 2026-06-30" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


# --- labels and the grid -------------------------------------------------------
def test_renewals_are_no_label_by_default_and_untyped_opportunities_count(tmp_path):
    from .conftest import BASE, write_tables

    tables = dict(BASE, opportunities="""
        opportunity_id,account_id,created_at,closed_at,stage,is_won,amount,type
        O1,A1,2024-05-01,2024-06-01,closed_won,yes,1000,Renewal
        O2,A2,2024-05-01,2024-06-01,closed_won,yes,2000,
        O3,A3,2024-05-01,2024-06-01,closed_won,yes,2000,expansion
    """)
    h = read_history(write_tables(tmp_path / "h", tables))
    at = ["2024-04-15"]
    month = FeatureSettings(horizon_days=30)
    y = build_features(h, as_of=at, features=[], settings=month).set_index("account_id")["label"]
    assert y.to_dict() == {"A1": 0.0, "A2": 1.0, "A3": 1.0}
    (tmp_path / "all.toml").write_text("[labels]\nhorizon_days = 30\nexclude_types = []\n")
    every = build_features(h, as_of=at, features=[], settings=load_config(tmp_path / "all.toml").features)
    assert every.set_index("account_id")["label"].to_dict() == {"A1": 1.0, "A2": 1.0, "A3": 1.0}
    (tmp_path / "both.toml").write_text('[labels]\nexclude_types = []\nopportunity_types = ["expansion"]\n')
    from mqa.features.config import ConfigError

    with pytest.raises(ConfigError, match=r"give opportunity_types .* or exclude_types .*, not both"):
        load_config(tmp_path / "both.toml")


def test_grid_ends_with_the_engagement_data_and_the_warmup_is_configurable(tmp_path):
    tables = funnel_tables(300, seed=1)
    h = read_history(write_csv(tables, tmp_path / "f"))
    last_activity = tables["activities"]["timestamp"].max().floor("D")
    assert tables["opportunities"]["created_at"].max() > last_activity + pd.Timedelta(days=60)
    grid = default_grid(h, FeatureSettings(horizon_days=30))
    assert grid[-1] == last_activity  # not the last opportunity
    (tmp_path / "w.toml").write_text("[grid]\nwarmup_days = 21\n")
    s = load_config(tmp_path / "w.toml").features
    assert default_grid(h, s)[0] - pd.Timedelta(days=14) < START + pd.Timedelta(days=21) <= default_grid(h, s)[0]


def test_validate_warns_when_engagement_ends_long_before_the_opportunities(tmp_path, capsys):
    tables = funnel_tables(300, seed=1)
    folder = write_csv(tables, tmp_path / "f")
    assert main(["validate", str(folder)]) == 0
    last = tables["activities"]["timestamp"].max()
    opp = tables["opportunities"]["created_at"].max()
    assert (f"activities: the engagement stream (activities) ends on {last:%Y-%m-%d}, {(opp - last).days} days before "
            f"the last opportunity was created ({opp:%Y-%m-%d})") in capsys.readouterr().out


# --- the marketing-funnel export, from the command line ----------------------
@pytest.fixture(scope="module")
def funnel(tmp_path_factory):
    root = tmp_path_factory.mktemp("funnel")
    tables = cut(funnel_tables(1500, seed=0), START + pd.Timedelta(days=137))  # four and a half months
    folder = write_csv(tables, root / "export")
    config = root / "mqa.toml"
    config.write_text('[labels]\nhorizon_days = 30\n\n[attributes.accounts]\nlead_source = "category"\n')
    return root, folder, config


def test_funnel_export_trains_predicts_and_reports(funnel, capsys):
    root, folder, config = funnel
    code = main(["train", "--data", str(folder), "--config", str(config), "--out", str(root / "model"), "--no-mlflow"])
    out = capsys.readouterr()
    assert code == 0, out.err
    text = out.out
    assert "Beside transparent baselines on the same rows" in text
    assert "Notice: the ideal customer profile is the built-in default ([icp] not set)" in text  # no [icp] in its config
    for name in ("first_engagement_recency", "last_engagement_recency", "points_90d"):
        assert f"  {name}: 0." in text and " to " in text  # a figure with an interval, never "nan"
    assert "rule_a_fit_engagement_2_contacts: cannot apply (no contacts table" in text
    assert not re.search(r"\bnan\b", text.lower())
    assert "Verdict: the model" in text and "ROC-AUC" in text
    report = (root / "model" / "report.html").read_text()
    assert "Beside transparent baselines" in report and "cannot apply: no contacts table" in report
    bundle = json.loads((root / "model" / "training.json").read_text())
    assert any(f.startswith("attribute__lead_source") for f in json.loads((root / "model" / "model.json").read_text())
               ["encoding"]["features"])
    assert bundle["evidence"]["positive_accounts"] > 0

    scores = root / "scores.csv"
    assert main(["predict", "--data", str(folder), "--config", str(config), "--model", str(root / "model"),
                 "--as-of", "2025-05-10", "--out", str(scores)]) == 0
    assert main(["report", "--scores", str(scores), "--data", str(folder), "--config", str(config),
                 "--model", str(root / "model"), "--out", str(root / "report")]) == 0
    assert (root / "report" / "index.html").is_file()
    assert "Traceback" not in capsys.readouterr().err


# --- short synthetic histories with default settings -----------------------------
@pytest.mark.parametrize("start", ["2025-04-01", "2025-07-01"])  # 15 and 12 months
def test_short_histories_train_with_default_settings(tmp_path, start):
    history = generate_history(n_accounts=400, seed=5, start=start, end="2026-06-30")
    write_history(history, tmp_path / "h")
    run = train_model(read_history(tmp_path / "h"), seed=0)
    assert run.bundle.settings.horizon_days == 90
    assert len(run.backtest.folds) == 3
    assert 0.5 < run.evaluation["test"]["roc_auc"] < 0.95


# --- the README demo -------------------------------------------------------------
def test_refit_is_at_least_as_good_as_the_training_block_model_on_the_last_fold(demo_run):
    rc = demo_run.evaluation["refit_check"]
    assert rc["refit_roc_auc"] >= rc["block_roc_auc"]


def test_demo_model_beats_every_baseline_beyond_noise(demo_run):
    v = demo_run.evaluation["verdict"]
    assert v["beats_baseline"] and v["margin_low"] > 0
    table = demo_run.evaluation["baselines"].set_index("name")
    assert table["available"].all()
    assert (table.loc["model", "roc_auc_low"] < table.loc["model", "roc_auc"] < table.loc["model", "roc_auc_high"])


def test_shipped_model_is_refitted_on_every_labeled_row(demo_run):
    b = demo_run.bundle
    assert b.training["rows"]["labeled"] == len(demo_run.labeled)
    assert b.booster.num_trees() == b.training["rounds"]
    assert demo_run.labeled["as_of"].max() == demo_run.backtest.dates.max()


def test_no_mqa_leads_with_the_age_of_a_past_opportunity(demo_run, demo_history):
    from mqa.predict.batch import predict_history

    out = predict_history(demo_history, demo_run.bundle, pd.Timestamp("2026-06-30", tz="UTC"))
    mqas = out[out["is_mqa"].fillna(False).astype(bool)]
    assert len(mqas) > 50
    # The strongest driver pushing each MQA up: what made it an MQA.
    lead = mqas["reasons"].map(lambda r: next(x["feature"] for x in json.loads(r) if x["contribution"] > 0))
    assert not lead.isin(["history__days_since_opportunity", "history__days_since_closed_lost"]).any(), lead.value_counts()
    assert lead.str.startswith("history__").mean() < 0.02
    # Existing customers are marked, so expansion MQAs can be routed apart from new logos.
    assert out["is_customer"].dtype == "boolean" and out.loc[out["status"] == "scored", "is_customer"].any()


def test_label_summary_names_the_counted_types(demo_run):
    labels = demo_run.evaluation["labels"]
    assert labels["typed"] and labels["counts"] == "every type but renewal"
    assert 0 < labels["counted"] < labels["total"]


# --- baselines, intervals, evidence, leaks -----------------------------------------
def test_weighted_auc_equals_scikit_learn():
    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.2).astype(float)
    s = np.round(rng.normal(size=500) + y, 1)  # ties on purpose
    w = rng.integers(0, 3, size=(4, 500)).astype(float)
    got = bl.weighted_auc(y, s, w)
    want = [roc_auc_score(y, s, sample_weight=wi) for wi in w]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_bootstrap_resamples_accounts_not_rows():
    accounts = pd.Series(["a", "a", "b", "c", "c", "c"])
    w = bl.account_weights(accounts, draws=50, seed=1)
    assert w.shape == (50, 6)
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 3] == w[:, 4]).all() and (w[:, 4] == w[:, 5]).all()
    assert (w[:, [0, 2, 3]].sum(axis=1) == 3).all()  # three accounts drawn each time


def test_thin_evidence_is_said_first(tmp_path, capsys):
    folder = tmp_path / "thin"
    write_history(generate_history(n_accounts=150, seed=4, start="2025-01-01", end="2026-06-30"), folder)
    code = main(["train", "--data", str(folder), "--no-mlflow", "--out", str(tmp_path / "m")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].startswith("THIN EVIDENCE: ") and "account(s) with an opportunity in the backtest" in out
    assert "Thin evidence." in (tmp_path / "m" / "report.html").read_text()


def test_an_attribute_filled_during_the_deal_is_flagged():
    rng = np.random.default_rng(0)
    n = 2000
    label = (rng.random(n) < 0.1).astype(float)
    rows = pd.DataFrame({"account_id": [f"A{i % 400}" for i in range(n)], "label": label,
                         "attribute__deal_size": np.where(label == 1, rng.uniform(1, 9, n), np.nan),
                         "attribute__seats": rng.uniform(1, 9, n)})
    leaks = likely_leaks(rows, ["attribute__deal_size", "attribute__seats"])
    assert [x["feature"] for x in leaks] == ["attribute__deal_size"]
    assert "alone it ranks the backtest with ROC-AUC" in leaks[0]["why"]


def test_a_field_filled_during_the_deal_is_flagged_as_a_likely_leak(tmp_path, capsys):
    tables = cut(funnel_tables(1500, seed=0), START + pd.Timedelta(days=137))
    won = tables["accounts"]["account_id"].isin(tables["opportunities"]["account_id"])
    tables["accounts"]["deal_stage"] = np.where(won, "qualified", None)  # what sales types in once the deal exists
    folder = write_csv(tables, tmp_path / "export")
    config = tmp_path / "mqa.toml"
    config.write_text('[labels]\nhorizon_days = 30\n\n[attributes.accounts]\nlead_source = "category"\n'
                      'deal_stage = "category"\n')
    assert main(["train", "--data", str(folder), "--config", str(config), "--out", str(tmp_path / "m"), "--no-mlflow"]) == 0
    out = capsys.readouterr().out
    assert "Likely leak: attribute__deal_stage: " in out and "it is filled for 100% of the accounts that converted" in out
    assert "attribute__lead_source" not in [line.split(":")[1].strip() for line in out.splitlines()
                                            if line.startswith("Likely leak")]
    assert "Likely leak: attribute__deal_stage." in (tmp_path / "m" / "report.html").read_text()


def test_cutoff_advice_says_where_the_cutoff_sits_and_recommends_one():
    from mqa.train.evaluate import by_cutoff, cutoff_advice, cutoff_for

    # 10 dates x 100 rows; scores 0..99; the label is set on the top rows only.
    score = np.tile(np.arange(100, dtype=float), 10)
    label = (score >= 96).astype(int) | ((score >= 84) & (score <= 87) & (np.arange(1000) % 4 == 0)).astype(int)
    rows = pd.DataFrame({"as_of": np.repeat(pd.date_range("2025-01-01", periods=10, freq="14D", tz="UTC"), 100),
                         "label": label, "score": score})
    table = by_cutoff(rows)
    at85 = table.set_index("cutoff").loc[85]
    base = label.mean()
    assert at85["probability_at"] == pytest.approx(rows.loc[(score >= 82.5) & (score <= 87.5), "label"].mean())
    assert at85["lift_at"] == pytest.approx(at85["probability_at"] / base)
    assert at85["lift"] == pytest.approx(at85["precision"] / base)
    choice = cutoff_for(table, 14, weekly_capacity=3, min_lift=6)
    assert choice["lift"]["cutoff"] == 95 and choice["capacity"]["cutoff"] == 95
    lines = cutoff_advice(table, choice, 85, 14, 90)
    assert lines[0].startswith(f"At the cutoff of 85, an account has a probability of about {at85['probability_at']:.1%} "
                               "to open an opportunity within 90 days")
    assert lines[1] == ("That is more than sales can work (3 a week): a cutoff of 95 flags about "
                        f"{round(choice['capacity']['mqas_per_week']):,} a week.")
    assert lines[2].startswith(f"Recommended for a minimum lift of 6x ([evaluation] min_lift): a cutoff of {choice['lift']['cutoff']:g}")
    # Within capacity and lift: nothing to recommend.
    assert len(cutoff_advice(table, cutoff_for(table, 14, weekly_capacity=1000, min_lift=0.1), 85, 14, 90)) == 1


def test_train_output_says_where_the_cutoff_sits(demo_run, demo_history):
    from mqa.train.summary import train_summary

    lines = train_summary(demo_run, "data/demo", demo_history)
    at = [x for x in lines if x.strip().startswith("At the cutoff of 85, an account has a probability of about ")]
    assert len(at) == 1 and re.search(r"\(\d+\.\dx the average\)", at[0]), lines
