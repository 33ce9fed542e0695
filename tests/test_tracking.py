"""MLflow: runs logged to a local store, the model registered, champion only when better, no personal data."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.synth import generate_history
from mqa.train.pipeline import train_model
from mqa.train.report import render
from mqa.train.settings import TrainSettings
from mqa.train.tracking import CHALLENGER, CHAMPION, log_run, tracking_uri

NAME = "mqa-test-model"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    write_history(generate_history(n_accounts=500, seed=8), root / "history")
    history = read_history(root / "history")
    full = train_model(history, seed=1)
    weak = train_model(history, seed=1, train=TrainSettings(families=("fit",)))
    assert weak.evaluation["test"]["roc_auc"] < full.evaluation["test"]["roc_auc"]
    return root, history, full, weak


def log(run, history, root, tag, force=True):
    settings = TrainSettings(model_name=NAME)
    html = render(run, settings)
    folder = run.bundle.save(root / "bundles" / tag, report_html=html)
    return log_run(run, folder, html, settings, history, force=force)


def test_promotion_only_when_better(setup, monkeypatch):
    root, history, full, weak = setup
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(TrainSettings()) == "sqlite:///mlflow.db"

    # On 500 accounts the fit-only model does not beat the best baseline beyond noise: held back unless forced.
    assert not weak.evaluation["verdict"]["beats_baseline"]
    held = log(weak, history, root, "weak-held", force=False)
    assert not held.promoted and held.version == "1"
    assert f"stays '{CHALLENGER}': it does not beat the best baseline (last_engagement_recency" in str(held)
    assert "pass --promote-anyway to make it champion all the same" in str(held)
    client = MlflowClient()
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias(NAME, CHAMPION)
    runs = mlflow.search_runs(experiment_names=["mqa"])
    assert (runs["tags.beats_baseline"] == "false").all()

    first = log(weak, history, root, "weak")  # --promote-anyway
    assert first.promoted and first.version == "2"
    assert "is the first: it is now 'champion'" in str(first)

    better = log(full, history, root, "full")
    assert better.promoted and better.champion_version == "2"
    # Same history: no row is newer than the champion's training data, so the
    # champion's settings are refitted on the same folds.
    assert better.compared_on == "with the champion's settings refitted on the same backtest folds"
    assert better.champion_auc == pytest.approx(weak.evaluation["test"]["roc_auc"], abs=0.03)
    assert "it beats version 2 and is now 'champion'" in str(better)

    worse = log(weak, history, root, "weak-again")
    assert not worse.promoted
    assert f"it does not beat '{CHAMPION}' version 3, which stays; the new one is '{CHALLENGER}'" in str(worse)

    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == "3"
    assert str(client.get_model_version_by_alias(NAME, CHALLENGER).version) == "4"
    assert (root / "mlflow.db").exists()

    # The registered champion scores raw feature rows like the bundle does.
    model = mlflow.pyfunc.load_model(f"models:/{NAME}@{CHAMPION}")
    rows = full.test_rows.head(50)
    got = model.predict(rows)
    want = full.bundle.predict(rows).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want)

    # Batch prediction takes the registered champion by its URI.
    from mqa.predict import load_model

    assert load_model(f"models:/{NAME}@{CHAMPION}").version == full.bundle.version
    with pytest.raises(ValueError, match=r"--model models:/no-such-model@champion: MLflow could not load it"):
        load_model("models:/no-such-model@champion")

    # Runs carry the metrics and the report.
    runs = mlflow.search_runs(experiment_names=["mqa"])
    assert len(runs) == 4 and runs["metrics.backtest_roc_auc"].notna().all() and runs["metrics.fold3_roc_auc"].notna().all()
    artifacts = [a.path for a in client.list_artifacts(runs.iloc[0]["run_id"], "evaluation")]
    assert "evaluation/report.html" in artifacts

    # The logged model is code plus the hashed bundle: nothing to unpickle.
    assert not [p for p in root.rglob("*") if p.suffix in (".pkl", ".pickle", ".joblib")]

    # Nothing about people in any artifact MLflow holds.
    text = "\n".join(p.read_text(errors="ignore") for p in root.rglob("*") if p.is_file() and p.suffix in
                     (".html", ".json", ".csv", ".txt", ".svg", ".yaml", ".MLmodel", "")).lower()
    people = history["contacts"]
    for value in pd.concat([people["name"], people["email"]]).dropna().str.lower().unique()[:300]:
        assert value not in text


def test_environment_uri_wins(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert tracking_uri(TrainSettings(tracking_uri="sqlite:///config.db")) == "sqlite:///elsewhere.db"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert tracking_uri(TrainSettings(tracking_uri="sqlite:///config.db")) == "sqlite:///config.db"


def export_as_of(tables: dict, until: pd.Timestamp) -> dict:
    """The same CRM exported on an earlier day: nothing created later, deals closed later still open."""
    stamp = {"accounts": "created_at", "contacts": "created_at", "activities": "timestamp", "intent": "date",
             "signals": "date", "opportunities": "created_at", "dispositions": "date"}
    out = {}
    for name, t in tables.items():
        t = t[t[stamp[name]].isna() | (t[stamp[name]] <= until)].copy()
        if name == "opportunities":
            later = t["closed_at"] > until
            t.loc[later, "closed_at"] = pd.NaT
            t["is_won"] = t["is_won"].mask(later, pd.NA)
        out[name] = t.reset_index(drop=True)
    return out


def test_champion_is_judged_on_rows_newer_than_its_training_data(setup):
    from mqa.train.baselines import fold_auc
    from mqa.train.tracking import compare_with_champion

    root, history, full, weak = setup
    write_history(export_as_of(generate_history(n_accounts=500, seed=8), pd.Timestamp("2026-01-15", tz="UTC")),
                  root / "older")
    old = train_model(read_history(root / "older"), seed=1)
    last = pd.Timestamp(old.bundle.training["last_labeled"])
    new_auc, champ_auc, how = compare_with_champion(full, old.bundle, history)
    newer = full.test_rows[full.test_rows["as_of"] > last]
    assert how.startswith(f"on {len(newer):,} out-of-fold rows newer than the champion's training data")
    ones = np.ones((1, len(newer)))
    assert new_auc == pytest.approx(fold_auc(newer["label"].to_numpy(), newer["raw"].to_numpy(), ones, newer["fold"].to_numpy())[0])
    assert champ_auc == pytest.approx(fold_auc(newer["label"].to_numpy(), old.bundle.raw(newer), ones, newer["fold"].to_numpy())[0])
