"""Buying groups: grouping by topic and time, persona templates from won deals, point-in-time features, outputs.

Hand-made histories, shaped like a CRM export with contact roles and topics
(and, below, one without either), so that every expected group is known.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mqa.features.build import build_features
from mqa.features.config import FeatureSettings
from mqa.features.context import Context
from mqa.features.groups import FEATURES, assign, describe, detect, template_summary
from mqa.features.history import read_history
from mqa.features.inputs import usable_features
from mqa.features.snapshots import make_grid

T0 = pd.Timestamp("2025-01-01", tz="UTC")
AS_OF = T0 + pd.Timedelta(days=400)
NAMES = [f.name for f in FEATURES]


def day(n: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


def tables(n_won: int = 6) -> dict[str, pd.DataFrame]:
    """Account A has two teams at AS_OF (data on 'pipelines', marketing on 'reverse etl') and a loner; won deals elsewhere."""
    contacts, acts, opps, roles = [], [], [], []

    def person(cid, acct, dept, sen, title="Someone"):
        contacts.append({"contact_id": cid, "account_id": acct, "name": f"Name {cid}", "email": f"{cid.lower()}@x.com",
                         "title": title, "department": dept, "seniority": sen, "created_at": T0})

    def act(cid, acct, t, kind="web_visit", topic=None, url=None):
        acts.append({"activity_id": f"E{len(acts)}", "timestamp": t, "type": kind, "contact_id": cid, "account_id": acct,
                     "topic": topic, "url": url})

    # Account A: an IT/engineering group on data pipelines, active 60-20 days before AS_OF.
    for cid, dept, sen in (("CA1", "it", "director"), ("CA2", "engineering", "individual"),
                           ("CA3", "engineering", "manager")):
        person(cid, "A", dept, sen)
        act(cid, "A", AS_OF - pd.Timedelta(days=50), "content_download", "data pipelines")
        act(cid, "A", AS_OF - pd.Timedelta(days=30), "web_visit", "data pipelines")
    act("CA1", "A", AS_OF - pd.Timedelta(days=25), "pricing_page_visit")
    # CA4 reads nothing topical but works alongside them: joins by timing.
    person("CA4", "A", "finance", "vp")
    act("CA4", "A", AS_OF - pd.Timedelta(days=35), "web_visit")
    # A marketing group on reverse etl, a week ago, who asked for a demo.
    for cid, sen in (("CA5", "vp"), ("CA6", "individual")):
        person(cid, "A", "marketing", sen)
        act(cid, "A", AS_OF - pd.Timedelta(days=6), "webinar_attended", "reverse etl")
    act("CA5", "A", AS_OF - pd.Timedelta(days=5), "demo_request", "reverse etl")
    # An email opener is no member; a loner far from any group forms the group without a topic.
    person("CA7", "A", "sales", "individual")
    act("CA7", "A", AS_OF - pd.Timedelta(days=10), "email_open")
    person("CA8", "A", "hr", "manager")
    act("CA8", "A", AS_OF - pd.Timedelta(days=88), "web_visit")

    # Won deals at other accounts: IT directors and engineers named on each.
    accounts = [{"account_id": "A", "name": "Acme", "created_at": T0}]
    for i in range(n_won):
        acct = f"W{i}"
        accounts.append({"account_id": acct, "name": f"Won {i}", "created_at": T0})
        person(f"C{acct}1", acct, "it", "director")
        person(f"C{acct}2", acct, "engineering", "individual")
        act(f"C{acct}1", acct, day(20 + 30 * i), "content_download", "data pipelines")
        act(f"C{acct}2", acct, day(22 + 30 * i), "web_visit", "data pipelines")
        opps.append({"opportunity_id": f"O{i}", "account_id": acct, "created_at": day(30 + 30 * i),
                     "closed_at": day(60 + 30 * i), "is_won": True, "stage": "closed_won", "type": "new_business"})
        roles += [{"opportunity_id": f"O{i}", "contact_id": f"C{acct}1", "role": "Decision Maker", "is_primary": True},
                  {"opportunity_id": f"O{i}", "contact_id": f"C{acct}2", "role": "Technical Buyer", "is_primary": False}]
    act("CW01", "W0", AS_OF + pd.Timedelta(days=1))  # the data reach past as-of
    return {"accounts": pd.DataFrame(accounts), "contacts": pd.DataFrame(contacts), "activities": pd.DataFrame(acts),
            "opportunities": pd.DataFrame(opps), "opportunity_contacts": pd.DataFrame(roles)}


@pytest.fixture(scope="module")
def history():
    return read_history(tables())


def at(history, as_of=AS_OF, accounts=None, settings=None):
    return Context(history, make_grid(history, pd.DatetimeIndex([as_of]), accounts), settings or FeatureSettings())


def groups_of(history, account="A"):
    said = describe(at(history, accounts=[account]))
    return json.loads(said.iloc[0])


def test_people_are_grouped_by_topic_then_by_time(history):
    groups = groups_of(history)
    by_topic = {g["topic"]: g for g in groups}
    assert set(by_topic) == {"data pipelines", "reverse etl", None}
    assert sorted(by_topic["data pipelines"]["contacts"]) == ["CA1", "CA2", "CA3", "CA4"]  # CA4 joined by timing
    assert sorted(by_topic["reverse etl"]["contacts"]) == ["CA5", "CA6"]
    assert by_topic[None]["contacts"] == ["CA8"]  # too far from every group
    assert all("CA7" not in g["contacts"] for g in groups)  # an email open makes no member
    # Strongest first: the largest group.
    assert [g["group"] for g in groups] == [1, 2, 3] and groups[0]["topic"] == "data pipelines"


def test_each_group_has_its_stage_seniority_and_missing_personas(history):
    by_topic = {g["topic"]: g for g in groups_of(history)}
    data, marketing = by_topic["data pipelines"], by_topic["reverse etl"]
    assert data["stage"] == "pricing" and marketing["stage"] == "demo"
    assert data["seniority"] == "VP to individual contributor"
    # The template of the won deals: an IT director or above and someone from engineering.
    assert data["coverage"] == 1.0 and data["missing"] == []
    assert marketing["coverage"] == 0.0
    assert marketing["missing"] == ["someone from engineering", "an IT director or above"]
    assert data["summary"] == "Engineering team: evaluating 'data pipelines', 4 people, VP to individual contributor"
    assert marketing["summary"] == ("Marketing team: evaluating 'reverse etl', 2 people, VP to individual contributor, "
                                    "missing: someone from engineering and an IT director or above")


def test_the_output_names_no_one(history):
    text = describe(at(history, accounts=["A"])).iloc[0]
    assert "Name CA1" not in text and "@" not in text


def test_features_of_the_strongest_group(history):
    rows = build_features(history, as_of=[AS_OF], features=NAMES, accounts=["A"]).iloc[0]
    assert rows["buying_group__groups_90d"] == 2  # the loner is no group of two
    assert rows["buying_group__top_size_90d"] == 4
    assert rows["buying_group__top_coverage_90d"] == 1.0
    assert rows["buying_group__top_senior_share_90d"] == 0.25  # the finance VP of four


def test_templates_learn_only_from_deals_won_by_then(history):
    # Before five won deals have closed there is no template: coverage is unknown, not zero.
    early = day(60 + 30 * 3)  # four deals closed
    rows = build_features(history, as_of=[early, AS_OF], features=NAMES, accounts=["A"])
    assert np.isnan(rows["buying_group__top_coverage_90d"].iloc[0]) and rows["buying_group__top_coverage_90d"].iloc[1] == 1.0
    with_five = read_history(tables(n_won=5))
    late = build_features(with_five, as_of=[AS_OF], features=NAMES, accounts=["A"]).iloc[0]
    assert late["buying_group__top_coverage_90d"] == 1.0
    four = read_history(tables(n_won=4))
    assert np.isnan(build_features(four, as_of=[AS_OF], features=NAMES, accounts=["A"]).iloc[0][
        "buying_group__top_coverage_90d"])


def test_nothing_after_as_of_moves_the_family(history):
    """Leakage: activities, topics, contact roles and outcomes dated after as-of change no buying_group feature."""
    base = build_features(history, as_of=[AS_OF - pd.Timedelta(days=1)], features=NAMES)
    t = tables()
    later = AS_OF + pd.Timedelta(days=3)
    extra = pd.DataFrame([{"activity_id": f"X{i}", "timestamp": later, "type": "demo_request", "contact_id": cid,
                           "account_id": "A", "topic": "reverse etl", "url": None}
                          for i, cid in enumerate(("CA1", "CA2", "CA3", "CA8"))])
    t["activities"] = pd.concat([t["activities"], extra], ignore_index=True)
    # A deal won after as-of, naming the marketing VP, and a later contact role on an old deal.
    t["opportunities"] = pd.concat([t["opportunities"], pd.DataFrame([{
        "opportunity_id": "OX", "account_id": "W1", "created_at": later, "closed_at": later + pd.Timedelta(days=1),
        "is_won": True, "stage": "closed_won", "type": "new_business"}])], ignore_index=True)
    t["opportunity_contacts"] = pd.concat([t["opportunity_contacts"], pd.DataFrame([
        {"opportunity_id": "OX", "contact_id": "CA5", "role": "Decision Maker", "is_primary": True}])],
        ignore_index=True)
    moved = build_features(read_history(t), as_of=[AS_OF - pd.Timedelta(days=1)], features=NAMES)
    pd.testing.assert_frame_equal(base, moved)


def test_a_row_at_as_of_counts(history):
    t = tables()
    t["activities"] = pd.concat([t["activities"], pd.DataFrame([{
        "activity_id": "AT", "timestamp": AS_OF, "type": "web_visit", "contact_id": "CA7", "account_id": "A",
        "topic": "reverse etl", "url": None}])], ignore_index=True)
    rows = build_features(read_history(t), as_of=[AS_OF], features=NAMES, accounts=["A"]).iloc[0]
    assert rows["buying_group__groups_90d"] == 2
    assert {g["topic"]: g["size"] for g in groups_of(read_history(t))}["reverse etl"] == 3


def test_features_do_not_depend_on_the_other_accounts(history):
    alone = build_features(history, as_of=[AS_OF], features=NAMES, accounts=["A"])
    everyone = build_features(history, as_of=[AS_OF], features=NAMES)
    pd.testing.assert_frame_equal(alone.reset_index(drop=True),
                                  everyone[everyone["account_id"] == "A"].reset_index(drop=True))


def test_a_history_without_contacts_or_topics_leaves_the_family_empty():
    t = tables()
    bare = {"accounts": t["accounts"], "opportunities": t["opportunities"],
            "activities": t["activities"].drop(columns=["topic", "contact_id"]).assign(email="someone@x.com")}
    h = read_history(bare)
    usable, notes = usable_features(h)
    assert not [n for n in usable if n.startswith("buying_group__")]
    assert any(n.startswith("buying_group: activities have no topic") for n in notes), notes
    rows = build_features(h, as_of=[AS_OF], features=NAMES)
    assert len(rows) == len(t["accounts"])
    # The groups still describe who is engaged, without a topic.
    said = json.loads(describe(at(h, accounts=["A"])).iloc[0])
    assert [g["topic"] for g in said] == [None] and said[0]["contacts"] == []


def test_without_contact_roles_coverage_is_unknown():
    t = tables()
    del t["opportunity_contacts"]
    h = read_history(t)
    usable, _ = usable_features(h)
    assert "buying_group__top_coverage_90d" not in usable and "buying_group__top_size_90d" in usable
    assert np.isnan(build_features(h, as_of=[AS_OF], features=NAMES, accounts=["A"]).iloc[0][
        "buying_group__top_coverage_90d"])


def test_assign_is_deterministic_whatever_the_row_order():
    rng = np.random.default_rng(0)
    n = 400
    cell, person = rng.integers(0, 5, n), rng.integers(0, 30, n)
    t = rng.integers(0, 90, n) * 86_400 * 10**9
    topic, stage = rng.integers(-1, 3, n), rng.integers(0, 3, n)
    a = assign(cell, person, t, topic, stage)
    o = rng.permutation(n)
    b = assign(cell[o], person[o], t[o], topic[o], stage[o])
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))


def test_the_model_report_states_the_template(history):
    summary = template_summary(history, FeatureSettings())
    overall = summary["templates"][0]
    assert overall["topic"] is None and overall["won"] == 6
    assert [p["persona"] for p in overall["personas"]] == ["engineering", "IT, director or above"]
    assert overall["sentence"].startswith("groups that opened won opportunities usually had ")
    assert "median 2 people (6 won deals)" in overall["sentence"]


def test_detect_counts_groups_on_every_date(history):
    ctx = Context(history, make_grid(history, pd.DatetimeIndex([AS_OF - pd.Timedelta(days=120), AS_OF]), ["A"]),
                  FeatureSettings())
    g = detect(ctx).groups
    assert set(g["cell"]) == {1}  # 120 days earlier no one at A was engaged yet


# --- on the generator's history with several simultaneous buying groups ---------------------------------------

def _benchmark():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "groups_benchmark.py"
    spec = importlib.util.spec_from_file_location("groups_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def grouped():
    from mqa.features.config import config_from
    from mqa.features.synth import PRODUCT_LINE_PREFIXES, BuyingGroupParams, SynthParams, generate_history

    tables, truth = generate_history(600, seed=1, params=SynthParams(buying_groups=BuyingGroupParams(enabled=True)),
                                     with_truth=True)
    config = config_from({"topics": {"url_prefixes": dict(PRODUCT_LINE_PREFIXES)}})
    return read_history(tables, config=config), truth, config


def test_detected_groups_match_the_generators_true_ones(grouped):
    """The issue's bar: adjusted Rand index >= 0.8 over the engaged people of multi-group accounts.

    Pooled over every account-date with two or more true groups engaged (groups never span accounts); the
    per-date median too. The mean per account-date is lower (0.82 here, 0.76-0.82 over seeds): ARI is harsh on
    a three-person date with one person misplaced; the benchmark prints all of them.
    """
    history, truth, config = grouped
    d = _benchmark().detection(history, truth, config.features)
    assert d["cells"] >= 150 and d["accounts"] >= 20
    assert d["ari_pooled"] >= 0.85
    assert d["ari_cell_median"] >= 0.8
    assert d["ari_mean"] >= 0.75


def test_predict_report_and_explain_show_the_groups(grouped, tmp_path):
    import lightgbm as lgb

    from mqa.features.inputs import feature_inputs
    from mqa.predict.account import group_lines
    from mqa.predict.batch import predict_history
    from mqa.predict.report import ReportSettings, render_report
    from mqa.train.bundle import ModelBundle
    from mqa.train.calibration import Calibration
    from mqa.train.model import Encoding
    from mqa.train.score import DEFAULT_CUTOFF, DEFAULT_TIERS, ScoreScale

    history, _, config = grouped
    names, _ = usable_features(history)
    assert set(NAMES) <= set(names)  # topics from the URLs, roles on the won deals: the whole family has signal
    settings = config.features
    rows = build_features(history, as_of=pd.date_range("2025-06-01", "2026-03-01", freq="28D", tz="UTC"),
                          settings=settings, features=names)
    rows = rows[rows["label"].notna()]
    encoding = Encoding.fit(rows, names, settings)
    X, y = encoding.matrix(rows), rows["label"].to_numpy(dtype=float)
    booster = lgb.train({"objective": "binary", "num_leaves": 4, "min_data_in_leaf": 5, "verbosity": -1, "seed": 0,
                         "deterministic": True, "num_threads": 1}, lgb.Dataset(X, y), num_boost_round=8)
    raw = booster.predict(X, raw_score=True)
    bundle = ModelBundle(booster, encoding, Calibration.fit(raw, y), ScoreScale.fit(raw), dict(DEFAULT_TIERS),
                         DEFAULT_CUTOFF, settings, training={"inputs": feature_inputs(names)})
    as_of = pd.Timestamp("2026-05-01", tz="UTC")
    out = predict_history(history, bundle, as_of, progress=False)
    groups = out["buying_groups"].dropna().map(json.loads)
    multi = groups[groups.map(lambda gs: len({g["topic"] for g in gs if g["topic"] and g["size"] >= 2}) >= 2)]
    assert len(multi) >= 2, "some accounts have two teams on different product lines"
    account = out.loc[multi.index[0], "account_id"]
    said = multi.iloc[0]
    assert [g["group"] for g in said] == list(range(1, len(said) + 1))
    assert all(g["summary"].startswith(g["name"]) and g["stage"] in ("content", "pricing", "demo") for g in said)
    lines = group_lines(out.loc[multi.index[0], "buying_groups"])
    assert lines[0].startswith(f"  buying groups ({len(said)}; the score rests on the first")
    assert said[0]["summary"] in lines[1]

    report = render_report(out, history, ReportSettings(), accounts=[account])
    page = next(text for name, text in report.files.items() if name.startswith("accounts/"))
    assert 'id="buying-groups"' in page and f"Buying groups ({len(said)})" in page
    import html

    text = html.unescape(page)
    assert said[0]["summary"] in text
    assert "Aim at the " in text
    # Names appear in the rep's page, never in the scores.
    first = said[0]["contacts"][0]
    name = history["contacts"].set_index("contact_id").loc[first, "name"]
    assert name in text and name not in out.loc[multi.index[0], "buying_groups"]


def test_the_model_report_templates_per_topic(grouped):
    history, _, config = grouped
    summary = template_summary(history, config.features)
    topics = [t["topic"] for t in summary["templates"]]
    assert topics[0] is None and len(topics) >= 2  # over all topics, then the product lines with five won deals
    overall = summary["templates"][0]
    assert overall["personas"], "won deals share personas"
    for p in overall["personas"]:
        assert p["won_share"] >= 0.4 and 0 <= p["other_share"] <= 1
    assert overall["sentence"].startswith("groups that opened won opportunities usually had ")


def test_scoring_reads_topics_from_urls_as_the_model_was_trained(grouped):
    """A model trained with [topics] url_prefixes scores a history read without them the same way."""
    import dataclasses

    from mqa.cli import _with_model_topics
    from mqa.features.config import Config

    _, _, config = grouped

    @dataclasses.dataclass
    class Trained:
        settings: FeatureSettings

    bundle = Trained(config.features)
    assert _with_model_topics(Config(), bundle).features.topic_url_prefixes == config.features.topic_url_prefixes
    own = config_with = _with_model_topics(config, Trained(FeatureSettings()))
    assert own is config_with and own.features.topic_url_prefixes == config.features.topic_url_prefixes
    untrained = Config()
    assert _with_model_topics(untrained, Trained(FeatureSettings())) is untrained


def test_the_model_report_and_bundle_carry_the_templates_and_the_trial(grouped):
    import dataclasses

    from mqa.train.pipeline import train_model
    from mqa.train.report import render
    from mqa.train.settings import TrainSettings

    history, _, config = grouped
    train = dataclasses.replace(TrainSettings(), bootstrap=20)
    run = train_model(history, settings=config.features, train=train, seed=0)
    t = run.bundle.training
    trial = [x for x in t["family_trials"] if x["family"] == "buying_group"]
    assert len(trial) == 1 and trial[0]["features"] == 4  # tried, whichever way it went
    templates = t["buying_groups"]["templates"]
    assert templates[0]["topic"] is None and templates[0]["won"] >= 5
    page = render(run, train)
    assert "<h2>Buying groups of won deals</h2>" in page
    first = templates[0]["sentence"]
    assert f"<p>{first[:1].upper()}{first[1:]}.</p>" in page.replace("&#39;", "'")
    assert "Buying groups (4 features, on trial)" in page
    # Personas and counts only: nothing of a person reaches the bundle.
    text = json.dumps(t["buying_groups"])
    contacts = history["contacts"]
    assert not any(str(v) in text for v in contacts["contact_id"].head(50))
    assert not any(str(v) in text for v in contacts["email"].dropna().head(50))


def test_the_public_api_generates_a_history_with_buying_groups():
    import mqa

    grouped = mqa.generate_history(200, seed=1, buying_groups=True)
    plain = mqa.generate_history(200, seed=1)
    assert "opportunity_contacts" in grouped and grouped["activities"]["topic"].notna().any()
    assert "opportunity_contacts" not in plain and "topic" not in plain["activities"]


def test_report_sentences_keep_their_capitals():
    from mqa.predict.report import sentence_case

    assert sentence_case("intent on 'ETL' surging in the last 4 weeks") == "Intent on 'ETL' surging in the last 4 weeks"
    assert sentence_case("") == "" and sentence_case(None) == ""


def test_no_one_known_by_name_means_no_groups():
    """Activities without a person (reverse-IP visits only), or no activities at all: no group, no error."""
    t = tables()
    anonymous = t["activities"].drop(columns=["contact_id"])
    for acts in (anonymous, anonymous.iloc[:0]):
        h = read_history({"accounts": t["accounts"], "opportunities": t["opportunities"], "activities": acts})
        assert describe(at(h)).isna().all()
        rows = build_features(h, as_of=[AS_OF], features=NAMES)
        assert rows[NAMES].isna().all().all()  # the family is empty: no topics, or no one
