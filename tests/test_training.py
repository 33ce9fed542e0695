"""Training: time split, score, calibration, bundle integrity, determinism, MLflow promotion, privacy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mqa.train.bundle import BundleError, ModelBundle
from mqa.train.calibration import Calibration
from mqa.train.pipeline import train_model
from mqa.train.score import ScoreScale, tier
from mqa.train.settings import TrainSettings


@pytest.fixture(scope="module")
def history(demo_history):
    # The README demo's history (2,000 accounts, seed 7): the figures it quotes are checked here.
    return demo_history


@pytest.fixture(scope="module")
def run(demo_run):
    return demo_run  # train_model(history, seed=0), as `mqa train` does by default


# --- backtest -------------------------------------------------------------------
def test_backtest_folds_are_one_horizon_apart(run):
    from mqa.train.backtest import check_no_overlap

    check_no_overlap(run.backtest)
    horizon = pd.Timedelta(days=run.bundle.settings.horizon_days)
    for f in run.bundle.training["backtest"]["folds"]:
        assert pd.Timestamp(f["train"]["last"]) + horizon < pd.Timestamp(f["test"]["first"])
        assert pd.Timestamp(f["fit"]["last"]) + horizon < pd.Timestamp(f["stop"]["first"])
    # Every out-of-fold row was predicted by a model that never saw a row of its as-of date.
    for f in run.backtest.folds:
        assert set(run.test_rows.loc[run.test_rows["fold"] == f.number, "as_of"]) <= set(f.test)


# --- score, tiers, calibration ------------------------------------------------
def test_score_is_monotone_in_probability_and_bounded(run):
    rows = run.test_rows
    assert rows["score"].between(0, 100).all()
    # Within one model (each fold has its own), the score never goes down as the probability rises.
    for _, fold in rows.groupby("fold"):
        fold = fold.sort_values(["raw"])
        assert (np.diff(fold["score"].to_numpy()) >= 0).all() and (np.diff(fold["probability"].to_numpy()) >= -1e-12).all()
    # Beyond the training range too.
    raw = np.linspace(-50, 50, 2001)
    b = run.bundle
    p, s = b.calibration.probability(raw), b.scale.score(raw)
    assert (np.diff(p) >= 0).all() and (np.diff(s) >= 0).all() and s.min() == 0 and s.max() == 100


def test_score_does_not_depend_on_the_batch(run):
    b = run.bundle
    rows = run.test_rows
    alone = b.predict(rows.iloc[:7])
    together = b.predict(rows).iloc[:7]
    pd.testing.assert_frame_equal(alone, together)


def test_score_scale_meaning():
    scale = ScoreScale.fit(np.arange(1000, dtype=float))
    # A score is the percent of the training population ranked below (to the 0.1-point grid of its quantiles).
    np.testing.assert_allclose(scale.score(np.array([-1.0, 499.5, 850.0, 5000.0])), [0.0, 50.0, 85.0, 100.0], atol=0.2)


def test_tiers():
    assert tier(np.array([0, 59.9, 60, 84.9, 85, 100]), {"nurture": 0, "targeted": 60, "mqa": 85}).tolist() == [
        "nurture", "nurture", "targeted", "targeted", "mqa", "mqa"]


def test_calibration_does_not_worsen_brier_on_test(run):
    """Not worse beyond noise: 0.5% relative.

    The unweighted model's own probabilities are already close, and the
    opportunity rate drifts between the validation and test blocks, so the
    two Brier scores agree to about three figures on this history (0.04260 vs
    0.04257); docs/training.md has the measurements. The test below is the
    strong guard: where calibration is needed it must help a lot.
    """
    m = run.evaluation["test"]
    assert m["brier"] <= m["brier_uncalibrated"] * 1.005


def test_calibration_repairs_a_weighted_model(history):
    """Weighting positives up biases raw probabilities; calibration must bring the Brier score back down."""
    weighted = train_model(history, seed=3, search=({"balance": True, "num_leaves": 15, "max_depth": 5},))
    m = weighted.evaluation["test"]
    assert m["brier"] < 0.6 * m["brier_uncalibrated"]
    assert abs(weighted.test_rows["probability"].mean() - m["base_rate"]) < abs(
        (1 / (1 + np.exp(-weighted.test_rows["raw"]))).mean() - m["base_rate"])


def test_calibration_round_trips_through_json():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-2 * raw))).astype(float)
    for method in ("isotonic", "sigmoid"):
        cal = Calibration.fit(raw, y, method)
        back = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())))
        np.testing.assert_array_equal(cal.probability(raw), back.probability(raw))


def test_out_of_time_auc_is_honest(run):
    """Learnable but not trivial: well above chance, below the 0.95 leakage alarm."""
    assert 0.7 < run.evaluation["test"]["roc_auc"] < 0.95


# --- bundle ------------------------------------------------------------------
def test_bundle_round_trip_gives_identical_scores(run, tmp_path):
    folder = run.bundle.save(tmp_path / "bundle", report_html="<html></html>")
    loaded = ModelBundle.load(folder)
    assert loaded.version == run.bundle.version
    pd.testing.assert_frame_equal(loaded.predict(run.test_rows), run.bundle.predict(run.test_rows))
    assert not any(p.suffix in (".pkl", ".pickle", ".joblib") for p in folder.iterdir())


@pytest.mark.parametrize("tamper, expected", [
    (lambda f: (f / "model.txt").write_text((f / "model.txt").read_text().replace("leaf_value=", "leaf_value=1", 1)),
     "changed: model.txt"),
    (lambda f: (f / "model.json").write_text("{not json"), "changed: model.json"),
    (lambda f: (f / "evil.pkl").write_bytes(b"\x80\x04K\x01."), "added: evil.pkl"),
    (lambda f: (f / "training.json").unlink(), "missing: training.json"),
])
def test_tampered_bundle_is_refused(run, tmp_path, tamper, expected):
    folder = run.bundle.save(tmp_path / "bundle")
    tamper(folder)
    with pytest.raises(BundleError, match=r"the bundle was altered since it was saved \(" + expected):
        ModelBundle.load(folder)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match=r"not a model bundle \(no manifest.json\)"):
        ModelBundle.load(tmp_path)


def test_same_seed_and_data_give_the_same_model(history, run):
    again = train_model(history, seed=0)
    assert again.bundle.version == run.bundle.version
    pd.testing.assert_frame_equal(again.test_rows, run.test_rows)


# --- evaluation --------------------------------------------------------------
def test_evaluation_tables(run):
    ev = run.evaluation
    assert list(ev["cutoffs"]["cutoff"]) == list(range(50, 100, 5))
    assert (np.diff(ev["cutoffs"]["mqas"]) <= 0).all()  # a higher cutoff never flags more
    assert set(ev["rules"]["rule"]) == {"rule_a_fit_engagement_2_contacts", "rule_b_100_points_90d"}
    assert list(ev["retrospective"]["group"]) == ["MQA", "not MQA"]
    retro = ev["retrospective"].set_index("group")
    assert retro.loc["MQA", "opportunity_rate"] > retro.loc["not MQA", "opportunity_rate"]
    assert ev["lift"]["lift"].iloc[0] > 1.5  # the top decile converts well above the base rate


def test_model_beats_each_rule_twice_over_at_the_same_volume(run):
    """The README's claim, on the README's demo history: the model's precision is >= 2x each rule's."""
    rules = run.evaluation["rules"].set_index("rule")
    assert (rules["ratio"] >= 2.0).all(), rules
    assert rules["flagged"].min() > 500  # a real volume, not a handful of rows


def test_family_restriction_is_honoured(history):
    fit_only = train_model(history, seed=3, train=TrainSettings(families=("fit",)))
    assert all(f.startswith("fit__") for f in fit_only.bundle.features)


# --- privacy -----------------------------------------------------------------
def test_no_contact_names_or_emails_in_the_bundle(run, history, tmp_path):
    from mqa.train.report import render

    folder = run.bundle.save(tmp_path / "bundle", report_html=render(run, TrainSettings()))
    text = "\n".join(p.read_text(errors="ignore") for p in folder.iterdir()).lower()
    people = history["contacts"]
    for value in pd.concat([people["name"], people["email"]]).dropna().str.lower().unique()[:500]:
        assert value not in text
