"""The ``mqa`` command: help texts, validate, exit status 2 with a plain message on bad input."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from mqa.cli import build_parser, main

from .conftest import write_tables

MQA = shutil.which("mqa") or ""


def run_mqa(*args: str) -> subprocess.CompletedProcess:
    """Run the installed console command (falls back to ``python -m mqa``)."""
    cmd = [MQA, *args] if MQA else [sys.executable, "-m", "mqa", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


def test_help_explains_every_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name in subcommands():
        assert name in out
    for name in subcommands():
        with pytest.raises(SystemExit) as info:
            main([name, "--help"])
        assert info.value.code == 0
        text = capsys.readouterr().out
        assert f"usage: mqa {name}" in text and len(text) > 200


def test_validate_prints_summary(history_dir, capsys):
    assert main(["validate", str(history_dir)]) == 0
    out = capsys.readouterr().out
    assert "accounts                 3 rows  (accounts.csv)" in out
    assert "intent                   -       (no file: no such signal)" in out
    assert "activity match rate 100.0%: 4 of 4 matched" in out
    assert "OK: the history follows the data contract (checked for train)." in out
    # Summaries never carry people's names or emails.
    assert "Ann Archer" not in out and "ann@acme.com" not in out


def test_validate_bad_data_exits_2_without_traceback(tmp_path, base_tables):
    base_tables["intent"] = "account_id,date,topic,score\nA1,2024-01-01,crm,140\n"
    folder = write_tables(tmp_path / "h", base_tables)
    result = run_mqa("validate", str(folder))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "intent: column 'score': must be between 0 and 100; some values are not; 1 row (row 1: '140')." in result.stderr
    assert result.stdout == ""


def test_validate_missing_folder(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: no such folder; pass the folder that holds the table files." in capsys.readouterr().err


def test_validate_for_prediction_needs_no_opportunities(tmp_path, base_tables, capsys):
    del base_tables["opportunities"]
    folder = write_tables(tmp_path / "h", base_tables)
    assert main(["validate", str(folder)]) == 2
    assert "opportunities: required table is missing" in capsys.readouterr().err
    assert main(["validate", str(folder), "--for", "predict"]) == 0


def test_validate_with_config_mapping(tmp_path, base_tables, capsys):
    base_tables["accounts"] = "Id,Web\nA1,acme.com\nA2,beta.io\nA3,gamma.co.uk\n"
    folder = write_tables(tmp_path / "h", base_tables)
    config = tmp_path / "mqa.toml"
    config.write_text('[columns.accounts]\naccount_id = "Id"\ndomain = "Web"\n')
    assert main(["validate", str(folder), "--config", str(config)]) == 0
    assert main(["validate", str(folder)]) == 2
    assert "accounts: column 'account_id': required column is missing from accounts.csv" in capsys.readouterr().err


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[columns.acounts]\naccount_id = 'Id'\n", "[columns.acounts]: unknown table; known tables are accounts, contacts"),
        ("[columns.accounts]\naccount_idd = 'Id'\n", "[columns.accounts] account_idd: not a column of 'accounts'"),
        ("[columns.accounts]\naccount_id = 3\n", "[columns.accounts] account_id: the value must be your column's name as a string"),
        ("[columns.accounts\n", "not valid TOML"),
    ],
)
def test_bad_config_is_refused(history_dir, tmp_path, capsys, text, expected):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    assert main(["validate", str(history_dir), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"config {config}" in err and expected in err


def test_config_mapping_to_absent_column(history_dir, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[columns.accounts]\nemployees = "Headcount"\n')
    assert main(["validate", str(history_dir), "--config", str(config)]) == 2
    assert ("accounts: column 'employees': the configuration maps it to 'Headcount', which is not a column of the file; "
            "fix [columns.accounts] in the configuration.") in capsys.readouterr().err


def test_missing_config_file(history_dir, tmp_path, capsys):
    assert main(["validate", str(history_dir), "--config", str(tmp_path / "none.toml")]) == 2
    assert "none.toml: no such file" in capsys.readouterr().err


def test_features_writes_rows_by_extension(history_dir, tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "rows.parquet"
    assert main(["features", "--data", str(history_dir), "--as-of", "2024-03-05,2024-03-01", "--out", str(out)]) == 0
    rows = pd.read_parquet(out)
    assert list(rows.columns[:2]) == ["account_id", "as_of"] and rows.columns[-1] == "label"
    assert sorted(rows["as_of"].unique()) == [pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-03-05", tz="UTC")]
    assert "Wrote" in capsys.readouterr().out
    csv = tmp_path / "rows.csv"
    assert main(["features", "--data", str(history_dir), "--as-of", "2024-03-05", "--out", str(csv), "--all-rows"]) == 0
    assert "status" in pd.read_csv(csv).columns


def test_features_bad_input_writes_nothing(tmp_path, base_tables, capsys):
    base_tables["intent"] = "account_id,date,topic,score\nA1,2024-01-01,crm,140\n"
    folder = write_tables(tmp_path / "h", base_tables)
    out = tmp_path / "rows.parquet"
    assert main(["features", "--data", str(folder), "--out", str(out)]) == 2
    assert "intent: column 'score': must be between 0 and 100" in capsys.readouterr().err
    assert not out.exists()
    assert main(["features", "--data", str(folder), "--out", str(tmp_path / "rows.txt")]) == 2
    assert "use .parquet, .csv or .csv.gz" in capsys.readouterr().err
    assert main(["features", "--data", str(folder), "--out", str(out), "--as-of", "yesterday"]) == 2
    assert "--as-of: not ISO 8601 dates: yesterday" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [folder]


def test_synth_writes_a_history_that_validates(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "demo"
    assert main(["synth", "--out", str(out), "--accounts", "60", "--seed", "3", "--format", "csv"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "accounts.csv", "activities.csv", "contacts.csv", "dispositions.csv", "intent.csv", "opportunities.csv", "signals.csv"]
    assert "Wrote a synthetic CRM history of 60 accounts (seed 3)" in capsys.readouterr().out
    assert main(["validate", str(out)]) == 0
    # Refuses to mix a second history into the folder; --overwrite replaces it whole.
    assert main(["synth", "--out", str(out), "--accounts", "60", "--seed", "4"]) == 2
    assert "already holds a CRM history" in capsys.readouterr().err
    assert main(["synth", "--out", str(out), "--accounts", "60", "--seed", "3", "--overwrite"]) == 0
    assert sorted(p.suffix for p in out.iterdir()) == [".parquet"] * 7
    again = tmp_path / "again"
    assert main(["synth", "--out", str(again), "--accounts", "60", "--seed", "3"]) == 0
    for name in ("accounts", "activities"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), pd.read_parquet(again / f"{name}.parquet"))


def test_synth_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["synth", "--out", str(tmp_path / "x"), "--accounts", "0"])
    assert info.value.code == 2
    assert "must be at least 1, got 0" in capsys.readouterr().err
    assert main(["synth", "--out", str(tmp_path / "x"), "--start", "2026-01-01", "--end", "2025-01-01"]) == 2
    assert "mqa synth:" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_train_refuses_bad_data_and_short_history(tmp_path, base_tables, capsys):
    folder = write_tables(tmp_path / "h", base_tables)
    assert main(["train", "--data", str(folder), "--out", str(tmp_path / "m"), "--no-mlflow"]) == 2
    err = capsys.readouterr().err
    assert "mqa train:" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_output_into_a_closed_pipe_gives_no_traceback(history_dir, monkeypatch):
    """`mqa ... | head`: the reader is gone; mqa stops quietly with 141 instead of a traceback."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone away
    closed = os.fdopen(write_end, "w", buffering=1)
    monkeypatch.setattr(sys, "stdout", closed)
    try:
        assert main(["validate", str(history_dir)]) == 141
    finally:
        monkeypatch.undo()
        try:
            closed.close()
        except BrokenPipeError:
            pass
