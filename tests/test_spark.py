"""The Spark engine in local mode: the same matching, features, scores and errors as one machine, row for row."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mqa.cli import main
from mqa.features.build import build_features
from mqa.features.config import Config
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.problems import DataError
from mqa.features.synth import generate_history
from mqa.predict import load_model
from mqa.predict.batch import predict_history
from mqa.train.pipeline import train_model

from .conftest import write_tables

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

AS_OF = pd.Timestamp("2026-06-16", tz="UTC")
EARLIER = pd.Timestamp("2026-05-01", tz="UTC")
# One signal long after everything else: the whole history's end of data is
# then far later than any bucket's own last event, so a bucket that judged
# labels by its own rows would blank labels the single machine knows.
LATE_SIGNAL = pd.Timestamp("2026-12-31", tz="UTC")


@pytest.fixture(scope="session")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]").appName("mqa-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.shuffle.partitions", "4")
        # Not UTC on purpose: no result may depend on the session's time zone.
        .config("spark.sql.session.timeZone", "America/New_York")
        # Small read partitions: every file is read as several partitions.
        .config("spark.sql.files.maxPartitionBytes", str(256 * 1024))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def cross_referenced(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A synthetic history edited so that only a correct engine gives the single-machine answer.

    - contacts created after some of their activities (those may not be claimed through the contact);
    - activities that name their own account and a contact of another account;
    - activities that name their own account and the email of another account's contact;
    - one signal long after the rest (the end of data is global).
    """
    t = {name: frame.copy() for name, frame in tables.items()}
    acts, contacts = t["activities"], t["contacts"]
    active = contacts.index[contacts["contact_id"].isin(acts["contact_id"])]
    contacts.loc[active[:40], "created_at"] = pd.Timestamp("2025-12-01", tz="UTC")
    others = contacts.dropna(subset=["account_id", "department", "email"])
    own = acts.index[acts["account_id"].notna()][::500][:60]
    acts.loc[own, "contact_id"] = others["contact_id"].sample(len(own), random_state=0).to_numpy()
    email_only = acts.index[acts["contact_id"].isna() & acts["account_id"].isna() & acts["email"].notna()][::50][:60]
    acts.loc[email_only, "email"] = others["email"].sample(len(email_only), random_state=1).to_numpy()
    acts.loc[email_only, "account_id"] = t["accounts"]["account_id"].sample(len(email_only), random_state=2).to_numpy()
    late = pd.DataFrame({"account_id": [t["accounts"]["account_id"].iloc[0]], "domain": [None], "date": [LATE_SIGNAL],
                         "type": ["funding_round"], "detail": ["Series B"]})
    t["signals"] = pd.concat([t["signals"], late.astype(t["signals"].dtypes.to_dict())], ignore_index=True)
    return t


@pytest.fixture(scope="module")
def world(tmp_path_factory, spark):
    from mqa.spark import read_spark_history

    root = tmp_path_factory.mktemp("spark")
    tables = cross_referenced(generate_history(n_accounts=300, seed=3))
    write_history(tables, root / "history")
    # Small row groups: Spark splits a Parquet file only between row groups.
    tables["activities"].to_parquet(root / "history" / "activities.parquet", index=False, row_group_size=6000)
    history = read_history(root / "history")
    bundle_dir = train_model(history, seed=0).bundle.save(root / "model")
    return root, tables, history, read_spark_history(spark, root / "history"), bundle_dir


def arrow(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as Arrow, the way pandas writes it to Parquet."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return pq.read_table(buffer)


def spark_activities(sh) -> pd.DataFrame:
    return sh.activities.toArrow().to_pandas().sort_values("_pos").reset_index(drop=True)


def assert_same_activities(sh, history) -> None:
    got, expected = spark_activities(sh), history["activities"]
    assert len(got) == len(expected)
    np.testing.assert_array_equal(got["timestamp"].to_numpy(), pd.DatetimeIndex(expected["timestamp"]).as_unit("ns").asi8)
    for col in ("activity_id", "type", "contact_id", "email", "account_id", "matched_by"):
        pd.testing.assert_series_equal(got[col].astype("str"), expected[col].astype("str"), check_names=False)


def test_activities_land_with_the_same_account_as_on_one_machine(spark, world):
    root, _, history, sh, _ = world
    assert spark.read.parquet(str(root / "history" / "activities.parquet")).rdd.getNumPartitions() > 1
    assert_same_activities(sh, history)
    a = history["activities"]
    created = history["contacts"].set_index("contact_id")["created_at"]
    before_contact = a["contact_id"].isin(created.index) & (a["contact_id"].map(created) > a["timestamp"])
    # The edits are in the data: the created_at rule decided rows, email-only rows matched by domain.
    assert before_contact.sum() > 50 and (a.loc[before_contact, "matched_by"] != "contact").all()
    assert (a["matched_by"] == "email_domain").sum() > 1000


def test_validation_summary_is_the_single_machine_one(world):
    _, _, history, sh, _ = world
    # Rows, date range, match report and every notice (unknown types,
    # duplicate ids across partitions, unmatched rows) with their row numbers.
    assert sh.summary() == history.summary()
    assert sh.matching == history.matching
    assert sh.date_range() == history.date_range() and sh.date_range()[1] == LATE_SIGNAL
    # The same notices, field for field: codes too, not only the text.
    assert sh.notices == history.notices
    assert {"activities.unknown_type", "activities.duplicate_id", "activities.unmatched"} <= {n.code for n in sh.notices}


def test_features_equal_the_single_machine_ones_row_for_row(spark, world):
    from mqa.spark import _bucket, spark_features, to_pandas

    _, _, history, sh, _ = world
    got = to_pandas(spark_features(spark, sh, partitions=4), sh)
    expected = build_features(history)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-12)
    assert len(expected) > 10_000 and expected["label"].notna().sum() > 5_000
    ids = spark.createDataFrame(history["accounts"][["account_id"]])
    assert ids.select(_bucket(ids["account_id"], 4).alias("b")).distinct().count() == 4


def test_all_rows_at_given_dates(spark, world):
    from mqa.spark import spark_features, to_pandas

    _, _, history, sh, _ = world
    dates = pd.DatetimeIndex(["2025-02-01", "2026-06-01"], tz="UTC")
    got = to_pandas(spark_features(spark, sh, as_of=dates, all_rows=True, partitions=7), sh)
    expected = build_features(history, as_of=dates, all_rows=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-12)
    # 2026-06-01 + 90 days is before the late signal: labelled on one machine, so on Spark too.
    assert got.loc[got["as_of"] == dates[1], "label"].notna().all()
    assert set(got["status"]) == {"scored", "in_pipeline", "not_created"}


def test_scores_and_reasons_equal_the_single_machine_ones(spark, world):
    from mqa.spark import spark_predict, to_pandas

    _, _, history, sh, bundle_dir = world
    bundle = load_model(str(bundle_dir))
    previous = predict_history(history, bundle, EARLIER)
    expected = predict_history(history, bundle, AS_OF, previous=previous)
    got = to_pandas(spark_predict(spark, sh, str(bundle_dir), AS_OF, partitions=3, previous=previous), sh)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-12)
    assert expected["is_mqa"].fillna(False).sum() > 10 and expected["became_mqa"].fillna(False).any()
    assert expected["reasons"].notna().sum() > 250


def test_a_csv_history_with_a_column_mapping(spark, world, tmp_path, monkeypatch):
    import mqa.spark as engine

    _, tables, _, _, _ = world
    tables = dict(tables, activities=tables["activities"].rename(columns={"timestamp": "Event Time"}))
    folder = tmp_path / "csv"
    write_history(tables, folder, fmt="csv")
    config = Config(columns={"activities": {"timestamp": "Event Time"}})
    # Several chunks per read partition, and several partitions per file.
    monkeypatch.setattr(engine, "CHUNK_ROWS", 1500)
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
    try:
        sh = engine.read_spark_history(spark, folder, config=config)
    finally:
        spark.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    history = read_history(folder, config=config)
    assert sh.summary() == history.summary()
    assert_same_activities(sh, history)
    sh.unpersist()


def test_spark_dataframes_and_table_names_as_the_source(spark, world):
    from mqa.spark import read_spark_history, spark_features, to_pandas

    _, tables, history, _, _ = world
    frames = {name: spark.createDataFrame(arrow(frame)) for name, frame in tables.items()}
    frames["accounts"].createOrReplaceTempView("mqa_test_accounts")
    frames["accounts"] = "mqa_test_accounts"
    sh = read_spark_history(spark, frames)
    assert sh.files["accounts"] == "mqa_test_accounts" and sh.matching == history.matching
    assert_same_activities(sh, history)
    dates = [pd.Timestamp("2026-04-01", tz="UTC")]
    got = to_pandas(spark_features(spark, sh, as_of=dates, partitions=2), sh)
    pd.testing.assert_frame_equal(got, build_features(history, as_of=dates), check_exact=False, rtol=1e-9, atol=1e-12)
    sh.unpersist()


def test_cli_spark_engine_writes_what_the_pandas_engine_writes(spark, world, tmp_path, capsys):
    root, _, _, _, bundle_dir = world
    data = str(root / "history")
    for engine in ("pandas", "spark"):
        assert main(["features", "--data", data, "--as-of", "2026-03-01,2026-06-01", "--engine", engine, "--partitions", "3",
                     "--out", str(tmp_path / f"features-{engine}.parquet")]) == 0
        assert main(["predict", "--data", data, "--model", str(bundle_dir), "--as-of", "2026-06-16", "--engine", engine,
                     "--out", str(tmp_path / f"scores-{engine}.csv")]) == 0
    lines = capsys.readouterr().out.splitlines()
    wrote = [line.split(" to ")[0] for line in lines if line.startswith("Wrote ")]
    scored = [line.split(" with model")[0] for line in lines if line.startswith("Scored ")]
    assert len(wrote) == len(scored) == 2 and wrote[0] == wrote[1] and scored[0] == scored[1]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "features-spark.parquet"),
                                  pd.read_parquet(tmp_path / "features-pandas.parquet"), check_exact=False, rtol=1e-9)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "scores-spark.csv"), pd.read_csv(tmp_path / "scores-pandas.csv"),
                                  check_exact=False, rtol=1e-9)


def bad_history(folder, base_tables):
    """A CSV history whose activities (6,000 rows, several read partitions) hold bad values far apart."""
    rows = ["activity_id,timestamp,type,contact_id,account_id,email,url,minutes"]
    for i in range(1, 6001):
        stamp = "yesterday" if i in (10, 4321) else f"2024-03-{1 + i % 28:02d}T10:00:00Z"
        kind = "" if i == 5990 else "web_visit"
        minutes = "-5" if i in (2, 3100, 5999) else str(i % 7)
        rows.append(f"E{i},{stamp},{kind},,A{1 + i % 3},,https://vendor.com/page/{i},{minutes}")
    base_tables["activities"] = "\n".join(rows)
    base_tables["accounts"] = base_tables["accounts"].replace(",5000,", ",12k,")
    return write_tables(folder, base_tables)


def test_bad_data_gives_the_single_machine_message(spark, tmp_path, base_tables, capsys):
    from mqa.spark import read_spark_history

    folder = bad_history(tmp_path / "bad", base_tables)
    with pytest.raises(DataError) as single:
        read_history(folder)
    spark.conf.set("spark.sql.files.maxPartitionBytes", str(64 * 1024))
    try:
        assert spark.read.csv(str(folder / "activities.csv"), header=True).rdd.getNumPartitions() > 2
        with pytest.raises(DataError) as on_spark:
            read_spark_history(spark, folder)
        assert main(["features", "--data", str(folder), "--engine", "spark", "--out", str(tmp_path / "f.parquet")]) == 2
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", str(256 * 1024))
    message = str(single.value)
    assert str(on_spark.value) == message
    assert [p.code for p in on_spark.value.problems] == [p.code for p in single.value.problems]
    assert {"values.type", "values.required", "values.range"} <= {p.code for p in single.value.problems}
    assert "activities: column 'minutes': must be >= 0; some values are not; 3 rows (rows 2, 3100, 5999: '-5', '-5', '-5')" in message
    assert "accounts: column 'employees': must be a whole number such as 120; some values are not; 1 row (row 2: '12k')" in message
    assert "rows 10, 4321: 'yesterday', 'yesterday'" in message and "column 'type': is required but empty; 1 row (row 5990)" in message
    err = capsys.readouterr().err
    assert err.strip() == message and "Traceback" not in err
    assert not (tmp_path / "f.parquet").exists()


# Topics from URL prefixes: nested prefixes, so that the longest must win on the executors too.
TOPICS = {"topics": {"url_prefixes": {"/blog": "blog", "/pricing": "pricing", "/pricing/enterprise": "enterprise"}}}


@pytest.fixture(scope="module")
def roles_world(tmp_path_factory, spark, world):
    """The world's history with opportunity contact roles (some of another account's contacts, one repeated) and URL topics."""
    from mqa.features.config import load_config
    from mqa.spark import read_spark_history

    _, tables, _, _, _ = world
    t = dict(tables)
    rng = np.random.default_rng(4)
    opp, contacts = t["opportunities"], t["contacts"].dropna(subset=["account_id"])
    own = contacts.groupby("account_id")["contact_id"].first()
    has = opp["account_id"].isin(own.index).to_numpy()
    roles = pd.DataFrame({"opportunity_id": opp["opportunity_id"][has].to_numpy(),
                          "contact_id": opp["account_id"][has].map(own).to_numpy(),
                          "role": rng.choice(["Decision Maker", "Evaluator", None], has.sum()),
                          "is_primary": rng.random(has.sum()) < 0.5})
    # People of other accounts on a third of the deals (a partner, a consultant): their bucket is the deal's.
    other = pd.DataFrame({"opportunity_id": opp["opportunity_id"].to_numpy()[::3],
                          "contact_id": contacts["contact_id"].sample(len(opp[::3]), random_state=5).to_numpy(),
                          "role": "influencer", "is_primary": False})
    t["opportunity_contacts"] = pd.concat([roles, other, roles.iloc[:3].assign(role="technical buyer")],
                                          ignore_index=True).sample(frac=1.0, random_state=6).reset_index(drop=True)
    folder = tmp_path_factory.mktemp("roles") / "history"
    write_history(t, folder)
    t["activities"].to_parquet(folder / "activities.parquet", index=False, row_group_size=6000)
    config = load_config(TOPICS)
    return folder, config, read_history(folder, config=config), read_spark_history(spark, folder, config=config)


def test_roles_and_url_topics_read_on_spark_as_on_one_machine(roles_world):
    _, _, history, sh = roles_world
    assert sh.summary() == history.summary()
    assert sh.notices == history.notices
    codes = [n.code for n in history.notices]
    assert {"opportunity_contacts.duplicate", "activities.topic_from_url", "activities.duplicate_id"} <= set(codes)
    # Numbered after the duplicates are dropped, before matching's notices, as on one machine.
    assert codes.index("activities.duplicate_id") < codes.index("activities.topic_from_url") < codes.index("activities.unmatched")
    got = spark_activities(sh)
    pd.testing.assert_series_equal(got["topic"].astype("str"), history["activities"]["topic"].astype("str"), check_names=False)
    assert set(history["activities"]["topic"].dropna()) == {"blog", "pricing", "enterprise"}
    pd.testing.assert_frame_equal(sh["opportunity_contacts"], history["opportunity_contacts"], check_exact=True)


def test_an_opportunitys_roles_and_their_people_reach_its_accounts_bucket(spark, roles_world):
    from pyspark.sql import functions as F

    from mqa.spark import _account_buckets, _bucket, _contacts_by_bucket, _roles_by_bucket, spark_features, to_pandas

    _, _, history, sh = roles_world
    n = 3
    buckets = _account_buckets(spark, history["accounts"]["account_id"], n)
    roles = _roles_by_bucket(history["opportunity_contacts"].assign(_order=0), history["opportunities"], buckets)
    account = roles["opportunity_id"].map(history["opportunities"].set_index("opportunity_id")["account_id"])
    assert len(roles) == len(history["opportunity_contacts"]) and (roles["_bucket"] == account.map(buckets)).all()
    acts = sh.activities.where(F.col("account_id").isNotNull()).withColumn("_bucket", _bucket(F.col("account_id"), n))
    contacts = history["contacts"].assign(_order=np.arange(len(history["contacts"])))
    placed = set(zip(*_contacts_by_bucket(contacts, acts, buckets, roles)[["_bucket", "contact_id"]].T.to_numpy()))
    named = set(zip(roles["_bucket"], roles["contact_id"]))
    own = contacts.set_index("contact_id")["account_id"].map(buckets)
    assert named <= placed and any(own[c] != b for b, c in named)  # some come from another account's bucket
    dates = [pd.Timestamp("2026-04-01", tz="UTC")]
    got = to_pandas(spark_features(spark, sh, as_of=dates, partitions=n), sh)
    pd.testing.assert_frame_equal(got, build_features(history, as_of=dates), check_exact=False, rtol=1e-9, atol=1e-12)


def test_bad_roles_give_the_single_machine_message(spark, tmp_path, base_tables):
    from mqa.spark import read_spark_history

    folder = write_tables(tmp_path / "bad", dict(base_tables, opportunity_contacts="""
        opportunity_id,contact_id,role
        O1,C1,evaluator
        O9,C1,evaluator
        O2,GHOST,
    """))
    with pytest.raises(DataError) as single:
        read_history(folder)
    with pytest.raises(DataError) as on_spark:
        read_spark_history(spark, folder)
    assert str(on_spark.value) == str(single.value)
    assert [p.code for p in single.value.problems] == ["references.unknown_opportunity", "references.unknown_contact"]


def test_core_modules_never_import_pyspark():
    code = ("import sys, mqa.cli, mqa.features.history, mqa.features.build, mqa.predict.batch, mqa.train.pipeline\n"
            "mqa.cli.build_parser()\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_spark_engine_without_pyspark_says_how_to_install_it(tmp_path):
    # PySpark is made unimportable in a child process, as on a machine without the extra.
    code = textwrap.dedent("""
        import sys

        class NoSpark:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("pyspark", "py4j"):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)

        sys.meta_path.insert(0, NoSpark())
        from mqa.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    (tmp_path / "model").mkdir()  # a missing --model would be refused first, before the engine is looked at
    for command in (["features"], ["predict", "--model", str(tmp_path / "model"), "--as-of", "2026-06-16"]):
        result = subprocess.run([sys.executable, "-c", code, *command, "--data", str(tmp_path / "data"), "--engine", "spark",
                                 "--out", str(tmp_path / "out.parquet")], capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 2
        assert "install the spark extra: pip install -e '.[spark]'" in result.stderr
        assert "Traceback" not in result.stderr


def private_mqa_names(source: str) -> list[str]:
    """Names starting with ``_`` that ``source`` takes from a mqa module: imported, or read off an imported mqa module."""
    import ast
    import importlib
    import inspect

    tree = ast.parse(source)
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] == "mqa"):
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
            if not node.level:
                module = importlib.import_module(node.module)
                modules |= {a.asname or a.name for a in node.names if inspect.ismodule(getattr(module, a.name, None))}
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "mqa" and "._" in a.name]
    found += [f"{n.value.id}.{n.attr}" for n in ast.walk(tree) if isinstance(n, ast.Attribute)
              and isinstance(n.value, ast.Name) and n.value.id in modules and n.attr.startswith("_")]
    return found


def test_the_spark_engine_imports_no_private_name_of_mqa():
    """mqa.spark uses the loader's public stages only, so that changing a private helper cannot break it."""
    from pathlib import Path

    import mqa.spark

    assert private_mqa_names(Path(mqa.spark.__file__).read_text()) == []
    # The check sees what it is for.
    assert private_mqa_names("from mqa.features.history import History, _typed_table\nfrom mqa.features import contract as c\n"
                             "x = c._private") == ["mqa.features.history._typed_table", "c._private"]


def test_a_salesforce_export_reads_on_spark_as_on_one_machine(spark, tmp_path):
    # [tables] file names and joined columns (FirstName + LastName) take the same path on both engines.
    from mqa.features.config import load_config
    from mqa.features.presets import init_config
    from mqa.spark import read_spark_history

    from .test_presets import SALESFORCE, write_export

    folder = write_export(tmp_path / "export", SALESFORCE)
    (tmp_path / "mqa.toml").write_text(init_config("salesforce"))
    config = load_config(tmp_path / "mqa.toml")
    local = read_history(folder, config=config)
    on_spark = read_spark_history(spark, str(folder), config=config)
    try:
        for name in ("accounts", "contacts", "opportunities"):
            pd.testing.assert_frame_equal(on_spark.head.tables[name].reset_index(drop=True),
                                          local[name].reset_index(drop=True), check_dtype=False)
        assert on_spark.head.tables["contacts"]["name"].tolist() == local["contacts"]["name"].tolist()
        assert "Ada Lovelace" in local["contacts"]["name"].tolist()
    finally:
        on_spark.unpersist()
