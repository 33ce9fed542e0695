"""Batch prediction: exact explanations, statuses, reasons, became_mqa, determinism, refusals."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from mqa.cli import main
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.synth import generate_history
from mqa.predict import load_model
from mqa.predict.batch import OUTPUT_COLUMNS, predict_history
from mqa.predict.explain import KINDS, contributions, signal_of
from mqa.train.pipeline import train_model

AS_OF = pd.Timestamp("2026-06-16", tz="UTC")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    write_history(generate_history(n_accounts=600, seed=5), root / "history")
    history = read_history(root / "history")
    bundle_dir = train_model(history, seed=0).bundle.save(root / "model")
    return root, history, load_model(str(bundle_dir))


@pytest.fixture(scope="module")
def scored(world):
    _, history, bundle = world
    return predict_history(history, bundle, AS_OF)


def test_contributions_add_up_to_the_raw_output_for_every_row(world):
    from mqa.features.build import build_features

    _, history, bundle = world
    rows = build_features(history, as_of=[AS_OF], settings=bundle.settings, all_rows=True, features=bundle.features)
    X = bundle.encoding.matrix(rows)
    contrib = contributions(bundle, X)
    raw = bundle.booster.predict(X, raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=0, atol=1e-9)
    assert len(raw) == len(rows) == 600


def test_output_columns_and_statuses(scored, world):
    _, history, bundle = world
    assert tuple(scored.columns) == OUTPUT_COLUMNS
    assert len(scored) == 600 and scored["account_id"].is_unique
    assert (scored["model_version"] == bundle.version).all()
    s = scored[scored["status"] == "scored"]
    rest = scored[scored["status"] != "scored"]
    assert s["score"].between(0, 100).all() and s["probability"].between(0, 1).all()
    assert set(s["tier"]) <= {"nurture", "targeted", "mqa"}
    assert (s["is_mqa"] == (s["score"] >= bundle.cutoff)).all()
    assert rest["score"].isna().all() and rest["reasons"].isna().all() and rest["tier"].isna().all()
    # In pipeline = an opportunity open at as-of.
    opp = history["opportunities"]
    open_now = opp[(opp["created_at"] <= AS_OF) & (opp["closed_at"].isna() | (opp["closed_at"] > AS_OF))]
    assert set(scored.loc[scored["status"] == "in_pipeline", "account_id"]) == set(open_now["account_id"])
    assert scored["became_mqa"].isna().all()  # no --previous given


def test_not_created_accounts_are_not_scored(world):
    _, history, bundle = world
    early = pd.Timestamp("2024-08-01", tz="UTC")
    out = predict_history(history, bundle, early)
    created = history["accounts"].set_index("account_id")["created_at"]
    later = set(created[created > early].index)
    assert later and set(out.loc[out["status"] == "not_created", "account_id"]) == later


def test_reasons_are_the_strongest_drivers_in_words(scored, world):
    _, _, bundle = world
    s = scored[scored["status"] == "scored"]
    saw_negative = False
    for text in s["reasons"].head(200):
        items = json.loads(text)
        assert 1 <= len(items) <= 6
        c = [i["contribution"] for i in items]
        assert c == sorted(c, key=abs, reverse=True)
        assert sum(x > 0 for x in c) <= 4 and sum(x < 0 for x in c) <= 2
        saw_negative |= any(x < 0 for x in c)
        assert len({i["signal"] for i in items}) == len(items)  # one reason per signal
        for i in items:
            assert i["feature"] in bundle.features and i["family"] == i["feature"].split("__")[0]
            assert i["kind"] == ("holds_back" if i["contribution"] < 0 else i["kind"]) and i["kind"] in KINDS
            assert i["text"] and "{" not in i["text"] and not re.search(r"\bnan\b", i["text"].lower())
    assert saw_negative


def test_reason_values_and_contributions_match_the_model(scored, world):
    from mqa.features.build import build_features

    _, history, bundle = world
    rows = build_features(history, as_of=[AS_OF], settings=bundle.settings, all_rows=True,
                          features=bundle.features).set_index("account_id")
    s = scored[scored["status"] == "scored"].head(30)
    X = bundle.encoding.matrix(rows.loc[s["account_id"]])
    contrib = pd.DataFrame(contributions(bundle, X)[:, :-1], columns=bundle.features, index=s["account_id"])
    for account, text in zip(s["account_id"], s["reasons"]):
        for item in json.loads(text):
            # A reason is one signal: its contribution is the sum over the signal's features.
            assert item["feature"] in item["features"]
            assert item["contribution"] == pytest.approx(contrib.loc[account, item["features"]].sum(), abs=1e-4)
            value = rows.loc[account, item["feature"]]
            if isinstance(item["value"], str):
                assert item["value"] == value
            elif item["value"] is None:
                assert pd.isna(value)
            else:
                assert item["value"] == pytest.approx(value, abs=1e-4)


def test_family_contributions(scored, world):
    _, _, bundle = world
    s = scored[scored["status"] == "scored"].head(100)
    for text, p in zip(s["family_contributions"], s["probability"]):
        fam = json.loads(text)
        assert set(fam) == {"fit", "engagement", "intent", "timing", "history"}
        assert sum(v["share"] for v in fam.values()) == pytest.approx(1.0, abs=1e-3)


def test_chunking_does_not_change_the_result(scored, world):
    _, history, bundle = world
    pd.testing.assert_frame_equal(predict_history(history, bundle, AS_OF, chunk_size=37), scored)


def test_became_mqa_against_a_previous_output(scored, world):
    _, history, bundle = world
    previous = scored[["account_id", "is_mqa"]].copy()
    mqa_now = scored.index[scored["is_mqa"].fillna(False)]
    previous.loc[mqa_now[:5], "is_mqa"] = False  # five of today's MQAs were not MQAs before
    out = predict_history(history, bundle, AS_OF, previous=previous)
    assert set(out.loc[out["became_mqa"].fillna(False), "account_id"]) == set(scored.loc[mqa_now[:5], "account_id"])
    assert out.loc[out["status"] != "scored", "became_mqa"].isna().all()


def test_cli_output_is_byte_identical_and_atomic(world, tmp_path, capsys):
    root, _, _ = world
    args = ["predict", "--data", str(root / "history"), "--model", str(root / "model"), "--as-of", "2026-06-16"]
    for name in ("a.parquet", "b.parquet", "a.csv", "b.csv"):
        assert main(args + ["--out", str(tmp_path / name)]) == 0
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    out = capsys.readouterr()
    assert "Scored" in out.out and "scoring" not in out.err  # no progress bar outside a terminal
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.parquet", "b.csv", "b.parquet"]
    # --previous flags new MQAs.
    assert main(args[:-1] + ["2026-06-30", "--out", str(tmp_path / "c.parquet"), "--previous", str(tmp_path / "a.parquet")]) == 0
    assert pd.read_parquet(tmp_path / "c.parquet")["became_mqa"].notna().any()


def test_cli_refusals(world, tmp_path, capsys):
    root, _, _ = world
    base = ["predict", "--model", str(root / "model"), "--as-of", "2026-06-16"]
    # Bad data: plain message, exit 2, nothing written.
    bad = tmp_path / "bad"
    shutil.copytree(root / "history", bad)
    intent = pd.read_parquet(bad / "intent.parquet")
    intent.loc[0, "score"] = 250
    intent.to_parquet(bad / "intent.parquet")
    out = tmp_path / "out.parquet"
    assert main(base + ["--data", str(bad), "--out", str(out)]) == 2
    assert "intent: column 'score': must be between 0 and 100" in capsys.readouterr().err
    # A model whose features the data cannot provide: named.
    (bad / "intent.parquet").unlink()
    assert main(base + ["--data", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "the model uses features the history cannot provide: 8 need the intent table, and no intent table (intent__" in err
    # An altered bundle.
    model = tmp_path / "model"
    shutil.copytree(root / "model", model)
    (model / "model.json").write_text("{}")
    assert main(["predict", "--data", str(root / "history"), "--model", str(model), "--as-of", "2026-06-16",
                 "--out", str(out)]) == 2
    assert "the bundle was altered since it was saved (changed: model.json)" in capsys.readouterr().err
    assert main(base + ["--data", str(root / "history"), "--out", str(out), "--as-of", "2026-06-16,2026-06-30"]) == 2
    assert "--as-of takes one date, got 2" in capsys.readouterr().err
    assert not out.exists()


def test_explain_cli(world, scored, capsys):
    root, _, bundle = world
    s = scored[scored["status"] == "scored"].sort_values("score")
    below = s.iloc[len(s) // 2]["account_id"]
    args = ["explain", "--data", str(root / "history"), "--model", str(root / "model"), "--as-of", "2026-06-16"]
    assert main(args + ["--account", below]) == 0
    out = capsys.readouterr().out
    assert f"Account {below} at 2026-06-16 (model {bundle.version}):" in out
    assert "MQA at 85: no." in out and "drivers (one per signal; log-odds):" in out and " in 100 accounts like this" in out and "by family: fit" in out
    assert "since 2026-06-02: score" in out and "what moved it most:" in out
    top = s.iloc[-1]["account_id"]
    assert main(args + ["--account", top]) == 0
    assert "MQA at 85: yes." in capsys.readouterr().out
    assert main(args + ["--account", "NOPE"]) == 2
    assert "account(s) not in the accounts table: NOPE" in capsys.readouterr().err


def test_no_personal_data_in_predictions(scored, world):
    _, history, _ = world
    text = "\n".join(scored["reasons"].dropna()).lower()
    people = history["contacts"]
    for value in pd.concat([people["name"], people["email"]]).dropna().str.lower().unique()[:300]:
        assert value not in text


def test_richer_sentences():
    from mqa.predict.explain import richer_sentences

    values = pd.DataFrame({
        "engagement__contacts_engaged_30d": [4.0, 1.0, 3.0],
        "engagement__departments_engaged_30d": [3.0, 1.0, 1.0],
        "intent__relevant_surging_topics_28d": [2.0, 0.0, 1.0],
    })
    topics = pd.Series(["'ETL' and 'Data Pipelines'", None, "'ETL'"])
    got = richer_sentences(values, topics)
    assert got["engagement__contacts_engaged_30d"].tolist()[0] == "4 people from 3 departments engaged in the last 30 days"
    assert got["engagement__contacts_engaged_30d"].isna().tolist() == [False, True, True]  # one person or one department
    assert got["intent__relevant_surging_topics_28d"].tolist()[0] == "intent on 'ETL' and 'Data Pipelines' surging in the last 4 weeks"
    assert pd.isna(got["intent__relevant_surging_topics_28d"][1])


def test_batch_reasons_name_topics_and_departments(scored):
    items = [i for r in scored["reasons"].dropna() for i in json.loads(r)]
    texts = [i["text"] for i in items]
    named = [i for i in items if i["feature"] == "intent__relevant_surging_topics_28d" and (i["value"] or 0) > 0]
    assert all(i["text"].startswith("intent on '") for i in named)
    # A row never says the same thing twice.
    for r in scored["reasons"].dropna():
        said = [i["text"] for i in json.loads(r)]
        assert len(said) == len(set(said)), said
    assert any(" people from " in t and " departments engaged" in t for t in texts)


def test_score_change_adds_up_to_the_raw_difference(world, scored):
    from mqa.features.build import build_features
    from mqa.predict.batch import score_change

    _, history, bundle = world
    account = scored[scored["status"] == "scored"].iloc[0]["account_id"]
    before, after = AS_OF - pd.Timedelta(days=14), AS_OF
    change = score_change(history, bundle, account, before, after, top=len(bundle.features))
    rows = build_features(history, as_of=[before, after], settings=bundle.settings, all_rows=True,
                          features=bundle.features, accounts=[account])
    raw = bundle.raw(rows)
    assert change["delta"].sum() == pytest.approx(raw[1] - raw[0], abs=1e-9)
    assert (change["delta"].abs().diff().dropna() <= 1e-12).all()  # largest moves first


def test_predict_write_is_atomic(world, tmp_path, monkeypatch):
    """A failure mid-way through writing leaves the old output untouched and no partial file."""
    root, _, _ = world
    out = tmp_path / "scores.parquet"
    args = ["predict", "--data", str(root / "history"), "--model", str(root / "model"), "--as-of", "2026-06-16",
            "--out", str(out)]
    assert main(args) == 0
    before = out.read_bytes()
    original = pd.DataFrame.to_parquet

    def half_then_crash(self, path, *a, **k):
        original(self.head(3), path, *a, **k)  # something lands on disk...
        raise OSError("disk full")  # ...then the write dies

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_crash)
    # The failure is a message (exit status 2), not a traceback.
    assert main(args[:-3] + ["2026-06-30", "--out", str(out)]) == 2
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["scores.parquet"]


def test_scoring_is_the_same_with_everything_after_as_of_deleted(world, tmp_path):
    """The leakage guarantee end to end: the future of the data cannot change today's scores."""
    root, history, bundle = world
    tables = {name: pd.read_parquet(root / "history" / f"{name}.parquet") for name in
              ("accounts", "contacts", "activities", "intent", "signals", "opportunities")}
    cut = {
        "accounts": tables["accounts"][~(tables["accounts"]["created_at"] > AS_OF)],
        "contacts": tables["contacts"][~(tables["contacts"]["created_at"] > AS_OF)],
        "activities": tables["activities"][tables["activities"]["timestamp"] <= AS_OF],
        "intent": tables["intent"][tables["intent"]["date"] <= AS_OF],
        "signals": tables["signals"][tables["signals"]["date"] <= AS_OF],
        "opportunities": tables["opportunities"][tables["opportunities"]["created_at"] <= AS_OF].copy(),
    }
    later = cut["opportunities"]["closed_at"] > AS_OF  # still open at as-of: outcome unknown then
    cut["opportunities"].loc[later, ["closed_at", "is_won"]] = [pd.NaT, pd.NA]
    write_history(cut, tmp_path / "cut")
    full = predict_history(history, bundle, AS_OF)
    past = predict_history(read_history(tmp_path / "cut"), bundle, AS_OF)
    full = full[full["status"] != "not_created"].reset_index(drop=True)
    pd.testing.assert_frame_equal(full, past.reset_index(drop=True))


def test_predict_prints_the_top_mqas(world, tmp_path, capsys):
    root, _, _ = world
    assert main(["predict", "--data", str(root / "history"), "--model", str(root / "model"), "--as-of", "2026-06-16",
                 "--out", str(tmp_path / "s.parquet"), "--top", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.split("Top 3 MQAs:\n")[1].strip().splitlines()
    assert len(lines) == 3
    scores = [float(line.split()[0]) for line in lines]
    assert scores == sorted(scores, reverse=True) and min(scores) >= 85


def test_features_of_one_signal_are_one_reason():
    assert {signal_of(f"engagement__pricing_page_visit_{w}d") for w in (7, 30, 90)} == {"engagement:pricing_page_visit"}
    assert signal_of("engagement__days_since_pricing_visit") == "engagement:pricing_page_visit"
    assert {signal_of(f) for f in ("intent__surging_topics_28d", "intent__max_score_28d", "intent__score_trend_28d",
                                   "intent__relevant_surging_topics_28d")} == {"intent:surge"}
    assert signal_of("timing__days_since_funding_round") == signal_of("timing__funding_round_90d") == "timing:funding_round"
    assert signal_of("fit__employees") == signal_of("fit__icp_size") != signal_of("fit__industry")


def test_grouped_reasons_sum_their_features_and_say_the_strongest():
    from mqa.predict.explain import reasons

    features = ["intent__surging_topics_28d", "intent__max_score_28d", "fit__account_age_days", "engagement__days_since_demo_request"]
    values = pd.DataFrame({features[0]: [2.0, 0.0], features[1]: [80.0, 20.0], features[2]: [4203.0, 30.0],
                           features[3]: [400.0, 3.0]})
    contrib = np.array([[0.3, 0.5, 0.2, 0.1, -1.0],
                        [-0.2, -0.1, -0.4, 0.6, -1.0]])
    got = [json.loads(t) for t in reasons(values, contrib, features, horizon_days=90)]
    first = got[0]
    assert [r["signal"] for r in first] == ["intent:surge", "fit:account_age_days", "engagement:demo_request"]
    assert first[0]["contribution"] == pytest.approx(0.8) and first[0]["feature"] == "intent__max_score_28d"
    assert first[0]["features"] == features[:2] and first[0]["text"] == "top intent score 80 in the last 4 weeks"
    # Account age is background, a demo request 400 days ago beyond the horizon too; the surge is why now.
    assert [r["kind"] for r in first] == ["why_now", "background", "background"]
    second = got[1]
    assert [(r["signal"], r["kind"]) for r in second] == [("engagement:demo_request", "why_now"),
                                                         ("fit:account_age_days", "holds_back"),
                                                         ("intent:surge", "holds_back")]
    assert second[2]["contribution"] == pytest.approx(-0.3) and second[2]["feature"] == "intent__surging_topics_28d"


def test_a_driver_down_that_states_an_event_says_it_lowers_the_score():
    from mqa.predict.explain import reasons

    f = ["intent__score_trend_28d"]
    got = json.loads(reasons(pd.DataFrame({f[0]: [19.0]}), np.array([[-0.4, -1.0]]), f)[0])
    assert got[0]["kind"] == "holds_back"
    assert got[0]["text"] == "intent score up 19 points against the 8 weeks before; on its own this lowers the score"


def test_predict_far_past_the_data_warns_and_strict_refuses(world, tmp_path, capsys):
    root, history, _ = world
    args = ["predict", "--data", str(root / "history"), "--model", str(root / "model"), "--as-of", "2027-07-01",
            "--out", str(tmp_path / "late.parquet")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert re.search(r"mqa predict: warning: --as-of 2027-07-01 is 3\d\d days past the last engagement event in the data "
                     r"\(2026-06-30\), more than one step \(14 days\)", err), err
    late = pd.read_parquet(tmp_path / "late.parquet")
    assert (late["data_through"].dt.strftime("%Y-%m-%d") == "2026-06-30").all()
    assert main(args[:-1] + [str(tmp_path / "strict.parquet"), "--strict"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mqa predict: --as-of 2027-07-01 is ") and err.strip().endswith("(refused: --strict)")
    assert not (tmp_path / "strict.parquet").exists()
    # In time: no warning, and explain refuses the same way.
    assert main(args[:-3] + ["2026-06-30", "--out", str(tmp_path / "ok.parquet"), "--strict"]) == 0
    assert "warning" not in capsys.readouterr().err
    explain = ["explain", "--data", str(root / "history"), "--model", str(root / "model"), "--as-of", "2027-07-01",
               "--account", history["accounts"]["account_id"].iloc[0]]
    assert main(explain + ["--strict"]) == 2
    assert "(refused: --strict)" in capsys.readouterr().err
    assert main(explain) == 0 and "mqa explain: warning: --as-of 2027-07-01" in capsys.readouterr().err


def test_lift_is_the_probability_over_the_base_rate(scored, world):
    from mqa.predict.batch import base_rate

    _, _, bundle = world
    s = scored[scored["status"] == "scored"]
    rate = base_rate(bundle)
    assert 0 < rate < 1
    np.testing.assert_allclose(s["lift"], s["probability"] / rate)
