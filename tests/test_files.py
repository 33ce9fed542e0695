"""File formats: CSV, CSV.gz and Parquet copies of one history load to equal frames; writes are atomic."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from mqa.features.files import write_frame, write_history
from mqa.features.history import read_history

from .conftest import BASE, frame, write_tables


def load_all(folder: Path) -> dict[str, pd.DataFrame]:
    return read_history(folder).tables


@pytest.mark.parametrize("fmt", ["parquet", "csv.gz"])
def test_csv_and_other_formats_load_to_equal_frames(tmp_path, fmt):
    from_csv = load_all(write_tables(tmp_path / "csv", dict(BASE)))
    from_other = load_all(write_tables(tmp_path / fmt, dict(BASE), fmt=fmt))
    for name in from_csv:
        pd.testing.assert_frame_equal(from_csv[name], from_other[name], check_exact=True, obj=name)


def test_typed_parquet_loads_like_csv(tmp_path):
    """A Parquet file with real types (ints, floats, zoned timestamps, bools) equals its CSV copy."""
    csv_dir = write_tables(tmp_path / "csv", dict(BASE))
    typed = tmp_path / "typed"
    write_tables(typed, {k: v for k, v in BASE.items() if k != "accounts"}, fmt="parquet")
    accounts = frame(BASE["accounts"])
    accounts["employees"] = accounts["employees"].astype("int64")
    accounts["annual_revenue"] = pd.to_numeric(accounts["annual_revenue"])
    accounts["created_at"] = pd.to_datetime(accounts["created_at"], utc=True, format="ISO8601").dt.tz_convert("America/New_York")
    accounts.to_parquet(typed / "accounts.parquet", index=False)
    opps = frame(BASE["opportunities"])
    opps["is_won"] = opps["is_won"].map({"yes": True, "": None}).astype("boolean")
    opps.to_parquet(typed / "opportunities.parquet", index=False)
    a, b = load_all(csv_dir), load_all(typed)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


def test_parquet_dataset_folder_is_read(tmp_path):
    """Spark writes a table as a folder of part files: <table>.parquet/part-*.parquet."""
    folder = write_tables(tmp_path / "h", {k: v for k, v in BASE.items() if k != "activities"})
    acts = frame(BASE["activities"])
    (folder / "activities.parquet").mkdir()
    acts.iloc[:2].to_parquet(folder / "activities.parquet" / "part-0.parquet", index=False)
    acts.iloc[2:].to_parquet(folder / "activities.parquet" / "part-1.parquet", index=False)
    assert sorted(read_history(folder)["activities"]["activity_id"]) == ["E1", "E2", "E3", "E4"]


def test_table_file_names_are_case_insensitive_and_other_files_ignored(tmp_path):
    folder = write_tables(tmp_path / "h", {k: v for k, v in BASE.items() if k != "accounts"})
    (folder / "Accounts.CSV").write_text(frame(BASE["accounts"]).to_csv(index=False))
    (folder / "README.txt").write_text("notes")
    (folder / "campaigns.csv").write_text("x\n1\n")
    h = read_history(folder)
    assert h.files["accounts"] == "Accounts.CSV"
    assert len(h["accounts"]) == 3


def test_write_frame_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "out.parquet"
    write_frame(pd.DataFrame({"a": [1]}), target)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_frame(pd.DataFrame({"a": [2]}), target)
    monkeypatch.undo()
    # The old file is intact and no temporary file is left behind.
    assert pd.read_parquet(target)["a"].tolist() == [1]
    assert os.listdir(tmp_path) == ["out.parquet"]


def test_write_frame_refuses_unknown_extension(tmp_path):
    with pytest.raises(ValueError, match=r"out.xlsx: the output format is chosen by the extension; use .parquet, .csv or .csv.gz"):
        write_frame(pd.DataFrame({"a": [1]}), tmp_path / "out.xlsx")


def test_write_history_refuses_a_folder_that_holds_a_history(tmp_path):
    tables = {"accounts": pd.DataFrame({"account_id": ["A1"]})}
    write_history(tables, tmp_path / "h", fmt="csv")
    with pytest.raises(FileExistsError, match=r"already holds a CRM history \(accounts.csv\); choose an empty folder or pass --overwrite"):
        write_history(tables, tmp_path / "h", fmt="parquet")
    write_history(tables, tmp_path / "h", fmt="parquet", overwrite=True)
    assert sorted(os.listdir(tmp_path / "h")) == ["accounts.parquet"]
