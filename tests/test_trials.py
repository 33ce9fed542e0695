"""Families on trial: kept in the model only when the backtest shows they help, and the report says which way."""

from __future__ import annotations

import numpy as np
import pytest

import mqa
from mqa.train.pipeline import train_model
from mqa.train.report import render
from mqa.train.settings import TrainSettings
from mqa.train.summary import train_summary

from .shapes import funnel_tables


@pytest.fixture(scope="module")
def tables():
    t = funnel_tables()
    t["accounts"]["noise"] = np.random.default_rng(0).choice(["a", "b", "c"], len(t["accounts"]))
    return t


@pytest.mark.parametrize("attribute, kept", [("lead_source", True), ("noise", False)])
def test_a_family_on_trial_stays_only_when_the_backtest_shows_it_helps(tables, attribute, kept):
    config = mqa.load_config({"attributes": {"accounts": {attribute: "category"}}})
    history = mqa.read_history(dict(tables), config=config)
    run = train_model(history, settings=config.features, train=TrainSettings(trial_families=("attribute",)), seed=0)
    (trial,) = run.bundle.training["family_trials"]
    assert trial["family"] == "attribute" and trial["kept"] is kept and trial["folds"] == 3
    assert trial["gain"] == pytest.approx(trial["roc_auc_with"] - trial["roc_auc_without"], abs=2e-4)
    assert (trial["gain"] >= 0.002) is kept
    assert any(f.startswith("attribute__") for f in run.bundle.features) is kept
    line = next(x for x in train_summary(run, "funnel", history) if x.startswith("Family on trial"))
    assert ("Own fields (1 features, on trial): kept;" if kept else "Own fields (1 features, on trial): left out;") in line
    assert f"{trial['gain']:+.3f}" in line
    assert line.split(": ", 1)[1].rstrip(".") in render(run, TrainSettings())


def test_dispositions_are_on_trial_by_default_and_the_setting_is_checked():
    assert TrainSettings().trial_families == ("dispositions", "buying_group")
    assert mqa.load_config({"model": {"trial_families": []}}).file.model.trial_families == ()
    assert mqa.load_config({"model": {"trial_families": ["attribute"]}}).file.model.trial_families == ("attribute",)
    with pytest.raises(mqa.ConfigError, match=r"\[model\] trial_families: must be a non-empty list drawn from .*did you mean 'intent'"):
        mqa.load_config({"model": {"trial_families": ["intnet"]}})
    with pytest.raises(mqa.ConfigError, match=r"\[model\] family_min_gain: must be a number of ROC-AUC between -1 and 1"):
        mqa.load_config({"model": {"family_min_gain": "a lot"}})
