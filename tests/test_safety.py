"""Fault injection: outputs never replace what mqa did not write, every failure is a message, hostile cells are inert.

Each test asserts the exit status, the message, and that nothing was lost.
Tests run as root, for whom chmod does not make a folder read-only: read-only
and disk-full are injected by making ``os.replace`` fail as the kernel would.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mqa.cli import main
from mqa.features.files import read_output, write_frame, write_history
from mqa.features.history import read_history
from mqa.features.outputs import TEMP_PREFIX, csv_restore, csv_safe
from mqa.features.synth import generate_history
from mqa.train.bundle import BundleError, ModelBundle
from mqa.train.pipeline import train_model

from .conftest import BASE, frame, write_tables

AS_OF = "2026-06-30"
HOSTILE = {"=HYPERLINK(\"http://evil\",\"x\")": "evil1", "+cmd|' /C calc'!A0": "evil2", "-2+3": "evil3",
           "@SUM(A1)": "evil4", "NA": "na", "null": "null", "None": "none", "nan": "nan"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A 300-account synthetic history (CSV) whose first accounts carry hostile and NA-like ids, and a bundle."""
    root = tmp_path_factory.mktemp("safety")
    tables = generate_history(n_accounts=300, seed=3)
    ids = tables["accounts"]["account_id"].head(len(HOSTILE)).tolist()
    rename = dict(zip(ids, HOSTILE))
    for t in tables.values():
        if "account_id" in t:
            t["account_id"] = t["account_id"].map(lambda v: rename.get(v, v)).astype(t["account_id"].dtype)
    write_history(tables, root / "history", fmt="csv")
    history = read_history(root / "history")
    model = train_model(history, seed=0).bundle.save(root / "model")
    return root, history, model


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- 1. outputs never replace what mqa did not write ------------------------------------
def test_train_out_on_the_data_folder_or_any_other_folder_is_refused_before_loading(world, tmp_path, capsys):
    root, _, _ = world
    data = root / "history"
    before = _files(data)
    assert main(["train", "--data", str(data), "--out", str(data), "--no-mlflow"]) == 2
    assert f"mqa train: --out {data}: is inside the history folder {data}; mqa never writes there." in capsys.readouterr().err
    models = tmp_path / "models"
    (models / "other-bundle").mkdir(parents=True)
    (models / "notes.txt").write_text("mine")
    assert main(["train", "--data", str(data), "--out", str(models), "--no-mlflow"]) == 2
    err = capsys.readouterr().err
    assert f"--out {models}: holds files that are not a model bundle (notes.txt, other-bundle); mqa only replaces a bundle it wrote." in err
    assert _files(data) == before and (models / "notes.txt").read_text() == "mine" and (models / "other-bundle").is_dir()


def test_bundle_save_replaces_a_bundle_but_never_another_folder(world, tmp_path):
    _, _, model = world
    bundle = ModelBundle.load(model)
    target = bundle.save(tmp_path / "b")
    bundle.save(target)  # over a bundle: fine
    assert ModelBundle.load(target).version == bundle.version
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "data.csv").write_text("x")
    with pytest.raises(BundleError, match=r"holds files that are not a model bundle \(data.csv\)"):
        bundle.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "data.csv").read_text() == "x"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(TEMP_PREFIX)]


@pytest.mark.parametrize("where", ["input", "inside", "previous"])
def test_predict_out_may_not_be_an_input_or_inside_the_data(world, tmp_path, capsys, where):
    root, _, model = world
    data = root / "history"
    before = _files(data)
    prev = tmp_path / "prev.csv"
    prev.write_text("account_id,is_mqa\nA,True\n")
    out = {"input": data / "accounts.csv", "inside": data / "scores.csv", "previous": prev}[where]
    argv = ["predict", "--data", str(data), "--model", str(model), "--as-of", AS_OF, "--out", str(out)]
    assert main(argv + (["--previous", str(prev)] if where == "previous" else [])) == 2
    err = capsys.readouterr().err
    if where == "previous":
        assert f"--out {prev}: is also an input ({prev}); writing it would replace the input. Choose another file name" in err
    else:
        assert f"--out {out}: is inside the history folder {data}; mqa never writes there." in err
    assert _files(data) == before and prev.read_text() == "account_id,is_mqa\nA,True\n"


def test_predict_out_that_is_a_folder_or_under_a_file(world, tmp_path, capsys):
    root, _, model = world
    argv = ["predict", "--data", str(root / "history"), "--model", str(model), "--as-of", AS_OF, "--out"]
    (tmp_path / "dir.csv").mkdir()
    assert main(argv + [str(tmp_path / "dir.csv")]) == 2
    assert f"--out {tmp_path / 'dir.csv'}: is a folder; pass a file name inside it" in capsys.readouterr().err
    (tmp_path / "file").write_text("keep")
    assert main(argv + [str(tmp_path / "file" / "scores.csv")]) == 2
    assert f"{tmp_path / 'file'} is a file, not a folder; choose a path whose parent folders are folders" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "keep"


@pytest.mark.parametrize("code, words", [
    (errno.EROFS, "the file system is read-only; write to another folder"),
    (errno.EACCES, "permission denied; write to a folder you can write to"),
    (errno.ENOSPC, "the disk is full (or the quota is used up); free some space or write to another disk"),
])
def test_os_errors_on_writing_are_messages_and_keep_the_old_file(world, tmp_path, capsys, monkeypatch, code, words):
    root, _, model = world
    out = tmp_path / "scores.parquet"
    write_frame(pd.DataFrame({"a": [1]}), out)

    def refuse(src, dst):
        raise OSError(code, os.strerror(code), str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    assert main(["predict", "--data", str(root / "history"), "--model", str(model), "--as-of", AS_OF, "--out", str(out)]) == 2
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert f"mqa predict: {out}: cannot write it: {words}" in err and "Nothing was written." in err
    assert "Traceback" not in err
    assert pd.read_parquet(out)["a"].tolist() == [1]
    assert sorted(os.listdir(tmp_path)) == ["scores.parquet"]


def test_leftovers_of_an_interrupted_run_are_removed_and_outputs_get_the_umask(tmp_path):
    old = tmp_path / f"{TEMP_PREFIX}abc.tmp"
    old.write_text("half")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    young = tmp_path / f"{TEMP_PREFIX}def.tmp"  # may belong to a run still going
    young.write_text("half")
    mine = tmp_path / ".my.tmp"
    mine.write_text("not mqa's")
    os.utime(mine, (time.time() - 7200, time.time() - 7200))
    mask = os.umask(0o022)
    try:
        out = write_frame(pd.DataFrame({"a": [1]}), tmp_path / "x.csv")
    finally:
        os.umask(mask)
    assert not old.exists() and young.exists() and mine.exists()
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)


def test_report_replaces_only_its_own_files(world, tmp_path, capsys):
    root, _, model = world
    scores = tmp_path / "scores.parquet"
    data = str(root / "history")
    assert main(["predict", "--data", data, "--model", str(model), "--as-of", AS_OF, "--out", str(scores)]) == 0
    rep = tmp_path / "rep"
    assert main(["report", "--scores", str(scores), "--data", data, "--out", str(rep), "--near", "3"]) == 0
    pages = sorted(p.name for p in (rep / "accounts").iterdir())
    (rep / "my-notes.txt").write_text("mine")
    (rep / "accounts" / "keep.html").write_text("mine too")
    assert main(["report", "--scores", str(scores), "--data", data, "--out", str(rep), "--near", "0", "--only-mqa"]) == 0
    assert (rep / "my-notes.txt").read_text() == "mine" and (rep / "accounts" / "keep.html").read_text() == "mine too"
    now = sorted(p.name for p in (rep / "accounts").iterdir())
    assert len(now) < len(pages) + 1 and "keep.html" in now
    listing = json.loads((rep / ".mqa-report").read_text())["files"]
    assert set(listing) == {f"accounts/{n}" for n in now if n != "keep.html"} | {"index.html", "summary.csv", "summary.md"}
    # A file the report would write but did not write before is never replaced.
    (rep / "summary.md").unlink()
    listing.remove("summary.md")
    (rep / ".mqa-report").write_text(json.dumps({"files": listing}))
    (rep / "summary.md").write_text("the user's own")
    capsys.readouterr()
    assert main(["report", "--scores", str(scores), "--data", data, "--out", str(rep), "--only-mqa"]) == 2
    assert "already holds summary.md, which no earlier report wrote; move it away or pass another folder" in capsys.readouterr().err
    assert (rep / "summary.md").read_text() == "the user's own"
    # Nor may the report folder be inside the history.
    assert main(["report", "--scores", str(scores), "--data", data, "--out", str(root / "history" / "rep")]) == 2
    assert "is inside the history folder" in capsys.readouterr().err


# --- 4. hostile cells are inert; NA-like ids stay ids ---------------------------------
def test_csv_cells_that_are_formulas_are_neutralised_and_read_back_exactly():
    f = pd.DataFrame({"id": pd.Series(list(HOSTILE) + ["'=x", "'plain", "\tTab", "\rCR", "ok"], dtype="str"),
                      "n": [-1.5] * 13})
    safe = csv_safe(f)
    assert safe["id"].tolist()[:4] == ["'" + k for k in list(HOSTILE)[:4]]
    assert safe["id"].tolist()[8:] == ["''=x", "'plain", "'\tTab", "'\rCR", "ok"]
    assert safe["n"].tolist() == [-1.5] * 13  # numbers are numbers, not formulas
    assert csv_restore(safe["id"]).tolist() == f["id"].tolist()


def test_predict_csv_is_inert_and_previous_and_report_read_the_exact_ids(world, tmp_path, capsys):
    root, _, model = world
    data = str(root / "history")
    out = tmp_path / "scores.csv"
    assert main(["predict", "--data", data, "--model", str(model), "--as-of", AS_OF, "--out", str(out)]) == 0
    raw = pd.read_csv(out, dtype=str, keep_default_na=False)
    dangerous = raw["account_id"].str.match(r"^[=+\-@\t\r]")
    assert not dangerous.any()
    assert {"'" + k for k in list(HOSTILE)[:4]} <= set(raw["account_id"])
    back = read_output(out, numbers=("probability", "score"), flags=("is_customer", "is_mqa", "became_mqa"))
    assert set(HOSTILE) <= set(back["account_id"])  # NA, null, None and nan stay ids
    # Compared with itself, no account became an MQA, not even 'None'.
    again = tmp_path / "again.parquet"
    assert main(["predict", "--data", data, "--model", str(model), "--as-of", AS_OF, "--out", str(again),
                 "--previous", str(out)]) == 0
    assert not pd.read_parquet(again)["became_mqa"].fillna(False).any()
    rep = tmp_path / "rep"
    # ('-2+3' would read as an option on the command line.)
    wanted = [k for k in HOSTILE if not k.startswith("-")]
    assert main(["report", "--scores", str(out), "--data", data, "--out", str(rep), "--account", *wanted]) == 0
    summary = pd.read_csv(rep / "summary.csv", dtype=str, keep_default_na=False)
    assert not summary["account_id"].str.match(r"^[=+\-@]").any()
    assert set(csv_restore(summary["account_id"])) == set(wanted)


def test_names_printed_to_the_terminal_lose_their_control_characters(world, tmp_path, capsys):
    root, _, model = world
    data = tmp_path / "history"
    scores = tmp_path / "s.parquet"
    assert main(["predict", "--data", str(root / "history"), "--model", str(model), "--as-of", AS_OF, "--out", str(scores)]) == 0
    s = pd.read_parquet(scores)
    best = s[s["is_mqa"].fillna(False)].sort_values(["score", "account_id"], ascending=[False, True])["account_id"].iloc[0]
    tables = {p.name.split(".")[0]: pd.read_csv(p, dtype=str, keep_default_na=False) for p in (root / "history").iterdir()}
    tables["accounts"].loc[tables["accounts"]["account_id"] == best, "name"] = "\x1b]0;PWNED\x07\x1b[2JEvil Corp"
    write_history(tables, data, fmt="csv")
    capsys.readouterr()
    assert main(["predict", "--data", str(data), "--model", str(model), "--as-of", AS_OF, "--out", str(tmp_path / "t.parquet"),
                 "--top", "1"]) == 0
    out = capsys.readouterr().out
    assert "]0;PWNED[2JEvil Corp" in out and "\x1b" not in out and "\x07" not in out


def test_a_huge_bad_cell_is_quoted_cut_to_a_readable_length(tmp_path, base_tables, capsys):
    base_tables["accounts"] = base_tables["accounts"].replace(",120,", "," + "9x" * 5_000_000 + ",")
    folder = write_tables(tmp_path / "h", base_tables)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "accounts: column 'employees': must be a whole number such as 120; some values are not; 1 row (row 1: '9x9x" in err
    assert "…'" in err and len(err) < 1000


# --- 5. input that would be misread is refused or read right --------------------------
@pytest.mark.parametrize("header, shown", [
    ("account_id,name,employees,employees", "'employees', 'employees'"),
    ("account_id,name,Employees,employees ", "'Employees', 'employees '"),
])
def test_repeated_column_names_are_refused_naming_the_column(tmp_path, base_tables, capsys, header, shown):
    base_tables["accounts"] = f"{header}\nA1,Acme,10,20\nA2,Beta,5,6\nA3,Gamma,1,2\n"
    folder = write_tables(tmp_path / "h", base_tables)
    assert main(["validate", str(folder)]) == 2
    assert f"accounts: column 'employees': appears 2 times in the header ({shown})" in capsys.readouterr().err


def test_repeated_account_id_column_is_refused(tmp_path, base_tables, capsys):
    base_tables["accounts"] = "account_id,account_id,name\nA1,A9,Acme\nA2,A8,Beta\nA3,A7,Gamma\n"
    folder = write_tables(tmp_path / "h", base_tables)
    assert main(["validate", str(folder)]) == 2
    assert "accounts: column 'account_id': appears 2 times in the header ('account_id', 'account_id')" in capsys.readouterr().err


def test_parquet_list_columns_are_joined_for_technologies_and_refused_elsewhere(tmp_path, base_tables, capsys):
    folder = write_tables(tmp_path / "h", {k: v for k, v in base_tables.items() if k != "accounts"})
    accounts = frame(BASE["accounts"])
    accounts["technologies"] = [["Salesforce", "Slack"], [], ["snowflake"]]
    accounts.to_parquet(folder / "accounts.parquet", index=False)
    assert read_history(folder)["accounts"]["technologies"].tolist()[0] == "Salesforce;Slack"
    accounts["industry"] = [["software"], ["retail"], ["finance"]]
    accounts.to_parquet(folder / "accounts.parquet", index=False)
    assert main(["validate", str(folder)]) == 2
    assert ("accounts: column 'industry': holds lists (a Parquet list column) in accounts.parquet; the contract wants one "
            "value per cell: export the column as plain values.") in capsys.readouterr().err


def _write_accounts(folder: Path, data: bytes, base_tables) -> Path:
    write_tables(folder, {k: v for k, v in base_tables.items() if k != "accounts"})
    (folder / "accounts.csv").write_bytes(data)
    return folder


@pytest.mark.parametrize("kind, message", [
    ("semicolons", "accounts.csv: is separated by semicolons (';'), not commas; export it again as comma-separated CSV"),
    ("utf16", "accounts.csv: is UTF-16 text (as Excel's 'Unicode Text' saves it); save it as UTF-8 CSV"),
])
def test_semicolon_and_utf16_files_get_their_own_message(tmp_path, base_tables, capsys, kind, message):
    text = frame(BASE["accounts"]).to_csv(index=False)
    data = text.replace(",", ";").encode() if kind == "semicolons" else text.encode("utf-16")
    folder = _write_accounts(tmp_path / "h", data, base_tables)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert message in err and "required column is missing" not in err and "binary data" not in err


def test_a_dangling_link_and_an_unreadable_file_get_their_own_message(tmp_path, base_tables, capsys, monkeypatch):
    folder = write_tables(tmp_path / "h", {k: v for k, v in base_tables.items() if k != "accounts"})
    (folder / "accounts.csv").symlink_to(tmp_path / "gone.csv")
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"accounts.csv: is a symbolic link to {tmp_path / 'gone.csv'}, which does not exist; fix the link" in err
    assert "gzip" not in err
    (folder / "accounts.csv").unlink()
    write_tables(folder, {"accounts": BASE["accounts"]})
    real_access = os.access
    # Root reads every file whatever its mode: the refusal is injected where the kernel would give it.
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p).endswith("accounts.csv") else real_access(p, mode, **kw))
    assert main(["validate", str(folder)]) == 2
    assert "accounts.csv: cannot be read: permission denied; give the user running mqa read access" in capsys.readouterr().err


def test_na_like_ids_pass_validation_as_ids(tmp_path, base_tables):
    base_tables["accounts"] = base_tables["accounts"].replace("A3,", "NA,")
    h = read_history(write_tables(tmp_path / "h", base_tables))
    assert "NA" in h["accounts"]["account_id"].tolist()


# --- 6. row order never matters -------------------------------------------------------
def test_a_shuffled_export_gives_byte_identical_features_model_and_scores(tmp_path):
    from mqa.features.build import build_features
    from mqa.predict.batch import predict_history

    tables = generate_history(n_accounts=300, seed=3)
    rng = np.random.default_rng(1)
    shuffled = {k: v.sample(frac=1, random_state=1)[list(rng.permutation(v.columns))] for k, v in tables.items()}
    for tag, t in (("a", tables), ("b", shuffled)):
        write_history(t, tmp_path / tag / "h")
        h = read_history(tmp_path / tag / "h")
        write_frame(build_features(h), tmp_path / tag / "features.parquet")
        bundle = train_model(h, seed=0).bundle
        bundle.save(tmp_path / tag / "model")
        write_frame(predict_history(h, bundle, pd.Timestamp(AS_OF, tz="UTC")), tmp_path / tag / "scores.csv")
    for name in ("features.parquet", "model/model.txt", "model/model.json", "scores.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


# --- 7. bundles -----------------------------------------------------------------------
@pytest.mark.parametrize("extra", [".hidden", "sub/part.txt"])
def test_the_manifest_covers_dotfiles_and_subfolders(world, tmp_path, extra):
    _, _, model = world
    folder = ModelBundle.load(model).save(tmp_path / "b")
    (folder / extra).parent.mkdir(exist_ok=True)
    (folder / extra).write_text("slipped in")
    with pytest.raises(BundleError, match=f"altered since it was saved \\(added: {extra}\\)"):
        ModelBundle.load(folder)


def test_a_damaged_bundle_whose_manifest_matches_is_a_message(world, tmp_path, capsys):
    from mqa.train.bundle import _write_manifest

    root, _, model = world
    folder = ModelBundle.load(model).save(tmp_path / "b")
    (folder / "model.txt").write_text("not a model")
    (folder / "manifest.json").unlink()
    _write_manifest(folder)
    argv = ["predict", "--data", str(root / "history"), "--model", str(folder), "--as-of", AS_OF, "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"mqa predict: {folder}: the bundle's files match its manifest but cannot be read as a model (LightGBMError" in err
    assert not (tmp_path / "s.csv").exists()
    model_json = json.loads((model / "model.json").read_text())
    del model_json["score_scale"]
    folder = ModelBundle.load(model).save(tmp_path / "c")
    (folder / "model.json").write_text(json.dumps(model_json))
    (folder / "manifest.json").unlink()
    _write_manifest(folder)
    with pytest.raises(BundleError, match=r"cannot be read as a model \(KeyError"):
        ModelBundle.load(folder)


def test_signed_bundles_refuse_an_edited_manifest(world, tmp_path, monkeypatch):
    from mqa.train.bundle import _write_manifest

    _, _, model = world
    bundle = ModelBundle.load(model)
    monkeypatch.setenv("MQA_BUNDLE_KEY", "s3cret")
    folder = bundle.save(tmp_path / "signed")
    assert "hmac_sha256" in json.loads((folder / "manifest.json").read_text())
    assert ModelBundle.load(folder).version == bundle.version
    # Edit a file and rewrite the manifest without the key: the hash matches, the signature does not exist.
    (folder / "training.json").write_text("{}")
    monkeypatch.delenv("MQA_BUNDLE_KEY")
    (folder / "manifest.json").unlink()
    _write_manifest(folder)
    monkeypatch.setenv("MQA_BUNDLE_KEY", "s3cret")
    with pytest.raises(BundleError, match="the bundle is not signed, and MQA_BUNDLE_KEY is set"):
        ModelBundle.load(folder)
    monkeypatch.setenv("MQA_BUNDLE_KEY", "other")
    (folder / "manifest.json").unlink()
    _write_manifest(folder)
    monkeypatch.setenv("MQA_BUNDLE_KEY", "s3cret")
    with pytest.raises(BundleError, match="signature does not match MQA_BUNDLE_KEY"):
        ModelBundle.load(folder)


# --- 2, 3. MLflow: fast failures, no store created, two runs at once -----------------
def _mqa(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "mqa", *args], capture_output=True, text=True, timeout=600, cwd=cwd, check=False,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("uri, words", [
    ("http://127.0.0.1:9", "the MLflow tracking server http://127.0.0.1:9 does not answer"),
    ("nonsense://x", "MLFLOW_TRACKING_URI 'nonsense://x' is not a tracking URI MLflow knows"),
])
def test_a_bad_tracking_uri_fails_in_seconds_before_training(world, tmp_path, uri, words):
    root, _, _ = world
    t0 = time.monotonic()
    result = _mqa("train", "--data", str(root / "history"), "--out", str(tmp_path / "m"), cwd=tmp_path,
                  env={"MLFLOW_TRACKING_URI": uri})
    assert result.returncode == 2 and time.monotonic() - t0 < 30
    assert words in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "m").exists()


def test_a_models_uri_never_creates_a_store(world, tmp_path):
    root, _, _ = world
    result = _mqa("predict", "--data", str(root / "history"), "--model", "models:/mqa-readiness@champion", "--as-of", AS_OF,
                  "--out", str(tmp_path / "s.csv"), cwd=tmp_path, env={"MLFLOW_TRACKING_URI": ""})
    assert result.returncode == 2
    assert f"there is no MLflow store at {tmp_path / 'mlflow.db'}" in result.stderr
    assert sorted(os.listdir(tmp_path)) == []


def test_training_that_cannot_log_says_where_the_bundle_is(world, tmp_path):
    root, _, _ = world
    (tmp_path / "file").write_text("x")
    result = _mqa("train", "--data", str(root / "history"), "--out", str(tmp_path / "m"), cwd=tmp_path,
                  env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/file/mlflow.db"})
    assert result.returncode == 2, result.stderr
    assert f"mqa train: the model bundle was written to {tmp_path / 'm'}, but it was not logged to MLflow" in result.stderr
    assert f"(mqa predict --model {tmp_path / 'm'})" in result.stderr
    assert ModelBundle.load(tmp_path / "m").version


def test_two_first_trainings_at_once_leave_a_consistent_registry(world, tmp_path):
    from mlflow import MlflowClient

    root, _, _ = world
    env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
    procs = [subprocess.Popen([sys.executable, "-m", "mqa", "train", "--data", str(root / "history"), "--out",
                               str(tmp_path / f"m{i}"), "--seed", str(i), "--promote-anyway"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    assert [code for code, _ in results] == [0, 0], results
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path}/mlflow.db", registry_uri=f"sqlite:///{tmp_path}/mlflow.db")
    versions = sorted(int(v.version) for v in client.search_model_versions("name='mqa-readiness'"))
    assert versions == [1, 2]
    champion = client.get_model_version_by_alias("mqa-readiness", "champion")
    assert str(champion.version) in ("1", "2")
    # The next train finds the store whole.
    result = _mqa("train", "--data", str(root / "history"), "--out", str(tmp_path / "m3"), cwd=tmp_path,
                  env={"MLFLOW_TRACKING_URI": ""})
    assert result.returncode == 0, result.stderr
