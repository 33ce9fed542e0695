"""Partial histories: every subset of the optional tables, and each optional column absent, works end to end.

Real exports are partial (no intent feed, no contacts, accounts without
``technologies``). Each variant is read, validated, trained on the features it
can feed, scored, explained and rendered as a report, and the features left
out are exactly those whose inputs are missing.
"""

from __future__ import annotations

import itertools
import re

import lightgbm as lgb
import pandas as pd
import pytest

from mqa.cli import main
from mqa.features.build import build_features, feature_names
from mqa.features.config import FeatureSettings
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.inputs import feature_inputs, provided_inputs, usable_features
from mqa.features.synth import generate_history
from mqa.predict.batch import check_features, predict_history, score_change
from mqa.predict.report import ReportSettings, render_report
from mqa.train.bundle import ModelBundle
from mqa.train.calibration import Calibration
from mqa.train.model import Encoding
from mqa.train.score import DEFAULT_CUTOFF, DEFAULT_TIERS, ScoreScale

from .conftest import write_tables

AS_OF = pd.Timestamp("2026-06-16", tz="UTC")
OPTIONAL_TABLES = ("contacts", "activities", "intent", "signals")
# The generator's default history has neither topics nor contact roles: the
# buying_group family never has its inputs here (tests/test_groups.py covers them).
ALL = [f for f in feature_names() if not f.startswith("buying_group__")]


def _usable(history):
    """usable_features without the buying_group family and its note (see ALL)."""
    usable, notes = usable_features(history)
    return ([f for f in usable if not f.startswith("buying_group__")],
            [n for n in notes if not n.startswith("buying_group: ")])


def _train(history) -> ModelBundle:
    """A small model on the features ``history`` can feed, in milliseconds.

    The matrix below has dozens of variants of a 60-account history; the full
    pipeline (backtest, search, bootstrap) runs on partial histories in
    ``test_train_model_on_a_partial_history`` and the funnel-export test.
    """
    settings = FeatureSettings(attributes=history.attributes)
    names, _ = usable_features(history)
    rows = build_features(history, settings=settings, features=names)
    rows = rows[rows["label"].notna()]
    encoding = Encoding.fit(rows, names, settings)
    X, y = encoding.matrix(rows), rows["label"].to_numpy(dtype=float)
    booster = lgb.train({"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 5, "verbosity": -1, "seed": 0,
                         "deterministic": True, "num_threads": 1},
                        lgb.Dataset(X, y, categorical_feature=encoding.categorical_features), num_boost_round=8)
    raw = booster.predict(X, raw_score=True)
    return ModelBundle(booster, encoding, Calibration.fit(raw, y), ScoreScale.fit(raw), dict(DEFAULT_TIERS), DEFAULT_CUTOFF,
                       settings, training={"inputs": feature_inputs(names)})


@pytest.fixture(scope="module")
def base():
    return generate_history(n_accounts=60, seed=2)


# --- what each missing input takes away, written out by family and name (not from Feature.sources) ---

def _department(f):
    return re.search(r"engagement__(departments_engaged|committee_coverage)_", f) is not None


def _seniority(f):
    return re.search(r"engagement__(seniority_levels|senior_contacts)_", f) is not None


def _people(f):
    return re.search(r"engagement__(contacts_engaged|top_contact_share|anonymous_visits|known_activities)_", f) is not None


LOSES = {
    "contacts": lambda f: _department(f) or _seniority(f),
    "activities": lambda f: f.startswith("engagement__") or f in ("timing__days_since_activity", "timing__activity_velocity_30d"),
    "intent": lambda f: f.startswith("intent__"),
    "signals": lambda f: f.startswith("timing__") and f not in ("timing__days_since_activity", "timing__activity_velocity_30d"),
    "accounts.industry": lambda f: f in ("fit__industry", "fit__icp_industry", "fit__icp_score"),
    "accounts.employees": lambda f: f in ("fit__employees", "fit__icp_size", "fit__icp_score"),
    "accounts.technologies": lambda f: f in ("fit__technologies_count", "fit__icp_technologies", "fit__icp_score"),
    "accounts.annual_revenue": lambda f: f == "fit__annual_revenue",
    "accounts.country": lambda f: f == "fit__country",
    "accounts.created_at": lambda f: f == "fit__account_age_days",
    "activities.minutes": lambda f: f.startswith("engagement__minutes_"),
    "opportunities.closed_at": lambda f: f in ("history__days_since_closed_lost", "history__is_customer"),
    "opportunities.is_won": lambda f: f in ("history__days_since_closed_lost", "history__is_customer"),
}
# Columns whose absence takes no feature away (they are shown to reps, or another column stands in).
HARMLESS = ("accounts.name", "accounts.domain", "accounts.owner", "contacts.account_id", "contacts.name", "contacts.email",
            "contacts.created_at", "contacts.title", "contacts.seniority", "contacts.department", "activities.activity_id",
            "activities.contact_id", "activities.account_id", "activities.email", "activities.url", "signals.detail",
            "intent.domain", "opportunities.stage", "opportunities.amount", "opportunities.type")


def _expected(missing: list[str]) -> list[str]:
    return [f for f in ALL if not any(LOSES[m](f) for m in missing if m in LOSES)]


def _kept(bundle, usable: list[str]) -> list[str]:
    """The usable features without the families on trial that the backtest left out."""
    left_out = {t["family"] for t in bundle.training.get("family_trials", []) if not t["kept"]}
    return [f for f in usable if f.split("__")[0] not in left_out]


def _end_to_end(history, tmp_path, pipeline: bool = False):
    """Train (with the real pipeline when ``pipeline``), score, explain one account and render the report."""
    if pipeline:
        from mqa.train.pipeline import train_model
        from mqa.train.settings import TrainSettings

        run = train_model(history, settings=FeatureSettings(attributes=history.attributes), seed=0,
                          train=TrainSettings(bootstrap=20))
        bundle = run.bundle
        assert bundle.features == _kept(bundle, usable_features(history)[0])
        assert "nan" not in " ".join(run.evaluation["baselines"]["why_not"].dropna())
    else:
        bundle = _train(history)
    check_features(bundle, history)
    scores = predict_history(history, bundle, AS_OF)
    scored = scores[scores["status"] == "scored"]
    assert len(scored) and scored["score"].between(0, 100).all()
    change = score_change(history, bundle, scored["account_id"].iloc[0], AS_OF - pd.Timedelta(days=14), AS_OF)
    assert len(change) and change["now"].notna().all()
    report = render_report(scores.assign(source=0), history, ReportSettings(), accounts=list(scored["account_id"][:6]))
    text = "".join(report.files.values())
    # Empty values are blank, never a Python or pandas placeholder.
    assert not re.search(r"\b(nan|None|NaT|<NA>)\b", text), re.search(r".{0,80}\b(nan|None|NaT|<NA>)\b.{0,20}", text).group(0)
    return bundle, scores


@pytest.mark.parametrize("dropped", [d for k in range(len(OPTIONAL_TABLES) + 1) for d in itertools.combinations(OPTIONAL_TABLES, k)],
                         ids=lambda d: "-".join(d) or "all-tables")
def test_every_subset_of_the_optional_tables(base, tmp_path, dropped):
    write_history({n: t for n, t in base.items() if n not in dropped}, tmp_path / "h")
    history = read_history(tmp_path / "h")
    usable, notes = _usable(history)
    assert usable == _expected(list(dropped))
    for table in dropped:
        assert any(f"no {table} table" in n for n in notes), notes
    if not dropped:
        assert notes == []
    rows = build_features(history, as_of=[AS_OF], all_rows=True)
    # What is left out really is without signal: the same value for every account.
    for f in set(ALL) - set(usable):
        assert rows[f].nunique(dropna=False) == 1, f
    bundle, _ = _end_to_end(history, tmp_path, pipeline=True)
    assert bundle.features == _kept(bundle, usable)


@pytest.mark.parametrize("column", sorted(set(LOSES) - set(OPTIONAL_TABLES)) + list(HARMLESS))
def test_each_optional_column_absent(base, tmp_path, column):
    table, col = column.split(".")
    write_history(dict(base, **{table: base[table].drop(columns=[col])}), tmp_path / "h")
    history = read_history(tmp_path / "h")
    if column in LOSES:  # the others may be derived (an account from the email domain, a department from the title)
        assert column not in provided_inputs(history)
    usable, notes = _usable(history)
    assert usable == _expected([column])
    if column in LOSES:
        assert any(f"{table} have no {col} (not in the file)" in n for n in notes), notes
    else:
        assert notes == []
    _end_to_end(history, tmp_path)


def test_entirely_empty_columns_and_tables(base, tmp_path):
    accounts = base["accounts"].assign(technologies=None, industry="  ")
    write_history(dict(base, accounts=accounts, intent=base["intent"].iloc[:0], contacts=base["contacts"].iloc[:0]),
                  tmp_path / "h")
    history = read_history(tmp_path / "h")
    usable, notes = _usable(history)
    assert usable == _expected(["accounts.technologies", "accounts.industry", "intent", "contacts"])
    assert ("fit: accounts have no industry, technologies (empty in every row); 5 of 10 fit features left out "
            "(fit__industry, fit__technologies_count, fit__icp_technologies, ...)") in notes
    assert any(n.startswith("intent: the intent table has no rows; 8 of 8") for n in notes)
    _end_to_end(history, tmp_path)


def test_contacts_without_titles_or_roles_lose_department_and_seniority(base, tmp_path):
    contacts = base["contacts"].drop(columns=["title", "seniority", "department"])
    write_history(dict(base, contacts=contacts), tmp_path / "h")
    history = read_history(tmp_path / "h")
    usable, notes = _usable(history)
    assert usable == _expected(["contacts"])
    assert any("contacts have no department, seniority (not given, and no title to derive it from)" in n for n in notes)
    _end_to_end(history, tmp_path)


def test_activities_without_people_lose_breadth(base, tmp_path):
    write_history(dict(base, activities=base["activities"].drop(columns=["contact_id", "email"])), tmp_path / "h")
    history = read_history(tmp_path / "h")
    usable, notes = _usable(history)
    assert usable == [f for f in ALL if not (_people(f) or _department(f) or _seniority(f))]
    assert any("activities have neither contact_id nor email (not in the file)" in n for n in notes)
    _end_to_end(history, tmp_path)


def test_feature_inputs_are_sorted_and_name_table_and_column():
    assert feature_inputs(["fit__icp_score", "fit__industry"]) == ["accounts.employees", "accounts.industry",
                                                                   "accounts.technologies"]
    assert feature_inputs(["engagement__contacts_engaged_30d"]) == ["activities.contact_id|activities.email",
                                                                    "activities.timestamp"]
    assert feature_inputs(["attribute__seats"]) == ["accounts.seats"]
    every = feature_inputs(ALL)
    assert "intent.score" in every and "signals.type" in every and "opportunities.created_at" in every
    with pytest.raises(KeyError, match="no feature 'fit__nope'"):
        feature_inputs(["fit__nope"])


# --- prediction refuses a model only for inputs the history lacks ------------------------------------------

@pytest.fixture(scope="module")
def full(base, tmp_path_factory):
    folder = tmp_path_factory.mktemp("full") / "h"
    write_history(base, folder)
    history = read_history(folder)
    return history, _train(history)


def test_a_history_like_training_passes_and_a_poorer_one_is_refused(base, full, tmp_path):
    history, bundle = full
    check_features(bundle, history)
    write_history(dict(base, accounts=base["accounts"].assign(technologies=None),
                       intent=base["intent"].iloc[:0]), tmp_path / "poor")
    poor = read_history(tmp_path / "poor")
    with pytest.raises(ValueError) as err:
        predict_history(poor, bundle, AS_OF)
    msg = str(err.value)
    assert msg.startswith("the model uses features the history cannot provide: ")
    assert "need accounts.technologies, and accounts have no technologies (empty in every row) (fit__technologies_count" in msg
    assert "8 need the intent table, and the intent table has no rows (intent__surging_topics_28d" in msg
    assert msg.endswith("or retrain on this history (training uses only the features a history can feed).")


def test_a_model_of_a_partial_history_scores_that_history(base, tmp_path):
    write_history({n: t for n, t in base.items() if n not in ("intent", "signals")}, tmp_path / "h")
    history = read_history(tmp_path / "h")
    bundle = _train(history)
    assert not any(f.startswith("intent__") for f in bundle.features)
    out = predict_history(history, bundle, AS_OF)
    assert out["reasons"].notna().sum() == (out["status"] == "scored").sum() > 0


def test_train_model_on_a_partial_history(base, tmp_path):
    from mqa.train.pipeline import train_model

    write_history({n: t for n, t in base.items() if n not in ("intent", "signals")}, tmp_path / "h")
    history = read_history(tmp_path / "h")
    bundle = train_model(history, seed=0).bundle
    assert bundle.features == _kept(bundle, usable_features(history)[0])
    assert bundle.training["inputs"] == feature_inputs(bundle.features)
    predict_history(history, bundle, AS_OF)


def test_cli_features_and_validate_without_technologies(base, tmp_path, capsys):
    write_history(dict(base, accounts=base["accounts"].drop(columns=["technologies"])), tmp_path / "h")
    assert main(["validate", str(tmp_path / "h")]) == 0
    out = capsys.readouterr().out
    assert ("fit: accounts have no technologies (not in the file); 3 of 10 fit features left out "
            "(fit__technologies_count, fit__icp_technologies, fit__icp_score)") in out
    assert main(["features", "--data", str(tmp_path / "h"), "--out", str(tmp_path / "rows.parquet"),
                 "--as-of", "2026-06-16"]) == 0
    rows = pd.read_parquet(tmp_path / "rows.parquet")
    assert (rows["fit__technologies_count"] == 0).all() and rows["fit__industry"].notna().any()


# --- validate: families that will be empty, and the three warnings ----------------------------------------

def _summary(tmp_path, tables):
    return read_history(write_tables(tmp_path / "h", tables)).summary()


def test_summary_names_the_empty_families(base_tables, tmp_path):
    text = _summary(tmp_path, base_tables)
    assert "  features: 84 with signal; empty (left out of a model):" in text
    assert ("    - intent: no intent table; 8 of 8 intent features left out "
            "(intent__surging_topics_28d, intent__relevant_surging_topics_28d, intent__max_score_28d, ...)") in text
    assert ("    - timing: no signals table; 16 of 18 timing features left out "
            "(timing__days_since_executive_hire, timing__days_since_funding_round, timing__days_since_hiring_surge, ...)") in text
    # The base history's engagement ends 58 days before its last opportunity: no warning yet.
    assert "engagement stream" not in text and "created before their account" not in text and "on one day" not in text


def test_warns_when_engagement_ends_long_before_the_opportunities(base_tables, tmp_path):
    base_tables["opportunities"] = base_tables["opportunities"].replace("O2,A2,2024-05-01", "O2,A2,2024-06-01")
    text = _summary(tmp_path, base_tables)
    assert ("activities: the engagement stream (activities) ends on 2024-03-04, 89 days before the last opportunity "
            "was created (2024-06-01); accounts look silent before the later deals") in text


def test_warns_about_opportunities_older_than_their_account(base_tables, tmp_path):
    base_tables["opportunities"] = base_tables["opportunities"].replace(
        "O2,A2,2024-05-01,,open,,2000,new_business", "O2,A2,2024-05-01,,open,,2000,new_business\n        O3,A2,2024-01-15,,open,,10,")
    text = _summary(tmp_path, base_tables)
    assert ("opportunities: column 'created_at': 1 opportunity is created before their account's created_at; the account "
            "does not exist at the dates before such a deal, so it is no positive label there. accounts.created_at may "
            "be a migration date: fix it or leave it empty; 1 row (row 3: 'O3').") in text


def test_warns_when_most_accounts_have_all_their_activity_on_one_day(base_tables, tmp_path):
    acts = base_tables["activities"]
    half = acts.replace("E4,2024-03-04", "E4,2024-03-01T18:00:00Z")  # A1 on one day, A2 on two
    assert "on one day" not in _summary(tmp_path / "half", dict(base_tables, activities=half))
    both = half.replace("E3,2024-03-03", "E3,2024-03-02T23:00:00Z")
    text = _summary(tmp_path / "both", dict(base_tables, activities=both))
    assert ("activities: column 'timestamp': 2 of 2 accounts with activity (100%) have all of it on one day; the export "
            "may carry one date (an import or sync date) for every event instead of its own time.") in text


def test_a_spark_bucket_uses_the_whole_histories_inputs(full):
    history, _ = full
    part = read_history(history.folder)
    part.inputs = frozenset({"accounts.account_id"})
    assert provided_inputs(part) == {"accounts.account_id"}
    assert usable_features(part)[0] == []
    assert {"intent.score", "contacts.department", "activities.minutes"} <= provided_inputs(history)
