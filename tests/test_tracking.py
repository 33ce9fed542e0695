"""MLflow: runs logged to a local store, the model registered, champion only when better, no personal data."""

from __future__ import annotations


import mlflow
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


def log(run, history, root, tag):
    settings = TrainSettings(model_name=NAME)
    html = render(run, settings)
    folder = run.bundle.save(root / "bundles" / tag, report_html=html)
    return log_run(run, folder, html, settings, history)


def test_promotion_only_when_better(setup, monkeypatch):
    root, history, full, weak = setup
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(TrainSettings()) == "sqlite:///mlflow.db"

    first = log(weak, history, root, "weak")
    assert first.promoted and first.version == "1"
    assert "is the first: it is now 'champion'" in str(first)

    better = log(full, history, root, "full")
    assert better.promoted and better.champion_version == "1"
    assert better.champion_auc == pytest.approx(weak.evaluation["test"]["roc_auc"])
    assert "it beats version 1 and is now 'champion'" in str(better)

    worse = log(weak, history, root, "weak-again")
    assert not worse.promoted
    assert f"it does not beat '{CHAMPION}' version 2, which stays; the new one is '{CHALLENGER}'" in str(worse)

    client = MlflowClient()
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == "2"
    assert str(client.get_model_version_by_alias(NAME, CHALLENGER).version) == "3"
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
    assert len(runs) == 3 and runs["metrics.test_roc_auc"].notna().all()
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
