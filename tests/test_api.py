"""The public API: ``import mqa`` is the door a notebook uses, and the command line is a thin layer over it."""

from __future__ import annotations

import datetime as dt
import json
import pydoc
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import mqa
from mqa.cli import main

from .conftest import frame

API = ("read_history", "build_features", "train_model", "load_model", "predict_history", "explain_account",
       "render_report", "generate_history", "load_config")


def test_help_lists_the_api_and_every_name_has_a_numpydoc_docstring():
    text = pydoc.render_doc(mqa, renderer=pydoc.plaintext)
    for name in (*API, "save_model", "explain_rows", "write_report", "train_summary"):
        assert name in mqa.__all__
        assert f"\n    {name}(" in text, name  # listed under FUNCTIONS with its signature
        doc = getattr(mqa, name).__doc__ or ""
        assert doc.strip(), name
    for name in ("read_history", "build_features", "train_model", "predict_history", "explain_account", "render_report"):
        assert "Parameters\n    ----------" in getattr(mqa, name).__doc__, name
        assert "Returns\n    -------" in getattr(mqa, name).__doc__, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mqa.nope  # noqa: B018


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_mqa_loads_no_heavy_library():
    loaded = _modules_after("import mqa")
    assert not loaded & {"pandas", "numpy", "lightgbm", "mlflow", "matplotlib", "sklearn"}


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["predict", "--data", "d", "--model", "m", "--as-of", "2024-13-45", "--out", "o.csv"],
    ["predict", "--data", "d", "--model", "no-such-model", "--as-of", "2024-06-30", "--out", "o.csv"],
    ["explain", "--data", "d", "--model", "no-such-model", "--as-of", "2024-06-30", "--account", "A1"],
    ["train", "--horizon-days", "zero", "--data", "d"],
])
def test_the_cli_answers_argument_errors_before_importing_pandas(argv, tmp_path):
    # Whether pandas was imported is what made these answers take seconds; the
    # timings themselves are in the issue note (farm-bench), not in a timed test.
    code = ("import sys\nfrom mqa.cli import main\ntry:\n    rc = main(%r)\nexcept SystemExit as e:\n    rc = e.code\n"
            "print('RC', rc, 'pandas' in sys.modules)" % (argv,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert "Traceback" not in out.stderr
    assert out.stdout.strip().splitlines()[-1] == ("RC 0 False" if argv == ["--help"] else "RC 2 False"), out


def test_every_date_form_means_the_same_utc_instant(history_dir):
    history = mqa.read_history(history_dir)
    expected = pd.Timestamp("2024-03-05", tz="UTC")
    forms = ["2024-03-05", ["2024-03-05"], pd.Timestamp("2024-03-05"), dt.datetime(2024, 3, 5), dt.date(2024, 3, 5),
             np.datetime64("2024-03-05"), pd.Timestamp("2024-03-05T01:00", tz="Europe/Paris"),
             pd.DatetimeIndex(["2024-03-05"])]
    for form in forms:
        rows = mqa.build_features(history, as_of=form)
        assert rows["as_of"].unique().tolist() == [expected], form
    rows = mqa.build_features(history, as_of=["2024-03-05", pd.Timestamp("2024-03-01", tz="UTC"), "2024-03-05"])
    assert sorted(rows["as_of"].unique()) == [pd.Timestamp("2024-03-01", tz="UTC"), expected]
    for bad, message in [("yesterday", "not ISO 8601 dates: yesterday"), (3.5, "expected one date"),
                         ([], "needs at least one date"), ([None], "expected one date")]:
        with pytest.raises(ValueError, match=message):
            mqa.build_features(history, as_of=bad)


def test_a_history_from_dataframes_equals_the_same_history_from_files(history_dir, base_tables):
    from_files = mqa.read_history(history_dir)
    tables = {name: frame(text) for name, text in base_tables.items()}
    from_frames = mqa.read_history(tables)
    for name in from_files.tables:
        pd.testing.assert_frame_equal(from_frames[name], from_files[name], check_dtype=True)
    assert from_frames.present == from_files.present
    assert from_frames.matching == from_files.matching


def test_a_bad_dataframe_is_refused_like_a_bad_file(base_tables):
    tables = {name: frame(text) for name, text in base_tables.items()}
    tables["opportunities"] = tables["opportunities"].assign(created_at="not a date")
    with pytest.raises(mqa.DataError, match="opportunities.*created_at"):
        mqa.read_history(tables)
    with pytest.raises(mqa.DataError, match="unknown table"):
        mqa.read_history({**tables, "leads": tables["accounts"]})
    with pytest.raises(mqa.MqaError):
        mqa.read_history({"accounts": "not a frame"})


def test_load_config_takes_a_parsed_document():
    config = mqa.load_config({"labels": {"horizon_days": 30}, "icp": {"industries": ["Retail"]}})
    assert config.features.horizon_days == 30 and config.features.icp_industries == ("retail",)
    assert mqa.load_config(config) is config
    with pytest.raises(mqa.ConfigError, match="horizon_days"):
        mqa.load_config({"labels": {"horizon_days": 0}})


@pytest.fixture(scope="module")
def saved(demo_run, tmp_path_factory):
    return mqa.save_model(demo_run, tmp_path_factory.mktemp("api") / "model")


def test_the_notebook_path_end_to_end_equals_the_command_line(demo_folder, demo_history, demo_run, saved, tmp_path,
                                                              capsys):
    model = mqa.load_model(saved)
    assert model.version == demo_run.bundle.version
    scores = mqa.predict_history(demo_history, model, as_of="2026-06-01")
    assert main(["predict", "--data", str(demo_folder), "--model", str(saved), "--as-of", "2026-06-01",
                 "--out", str(tmp_path / "s.parquet")]) == 0
    from_cli = pd.read_parquet(tmp_path / "s.parquet")
    pd.testing.assert_series_equal(scores["score"], from_cli["score"], check_dtype=False)
    pd.testing.assert_series_equal(scores["reasons"], from_cli["reasons"], check_dtype=False)

    below = scores[(scores["status"] == "scored") & ~scores["is_mqa"].fillna(False).astype(bool)].iloc[0]["account_id"]
    explanation = mqa.explain_account(demo_history, model, below, as_of=dt.date(2026, 6, 1))
    capsys.readouterr()
    assert main(["explain", "--data", str(demo_folder), "--model", str(saved), "--as-of", "2026-06-01",
                 "--account", below]) == 0
    assert capsys.readouterr().out.strip() == str(explanation).strip()
    assert explanation.earlier == pd.Timestamp("2026-05-18", tz="UTC")
    assert explanation.changes is not None and len(explanation.changes) > 0
    assert explanation.reasons == json.loads(explanation.now["reasons"])

    report = mqa.render_report(scores, demo_history, model)
    assert report.as_of == pd.Timestamp("2026-06-01", tz="UTC") and report.pages > 0
    out = mqa.write_report(report, tmp_path / "report")
    assert (out / "index.html").is_file()


def test_explain_rows_gives_exact_contributions(demo_run, saved):
    rows = demo_run.test_rows.head(200)
    contrib = mqa.explain_rows(saved, rows)
    assert list(contrib.columns) == [*demo_run.bundle.features, "base"]
    raw = demo_run.bundle.raw(rows)
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), raw, atol=1e-9)


def test_train_summary_is_the_library_s(demo_run, demo_history):
    lines = mqa.train_summary(demo_run, demo_history, "data/demo")
    assert lines[0].startswith("Read data/demo: 2,000 accounts")
    assert any(line.startswith("Verdict: the model beats the baselines") for line in lines)
