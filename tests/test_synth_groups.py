"""Buying groups in the synthetic history: off, nothing moves; on, parallel groups, their traces and their truth.

Tiny histories (300 accounts), each built once per module.
"""

from __future__ import annotations

import dataclasses
import tomllib
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import pytest

from mqa.cli import main
from mqa.features.history import read_history
from mqa.features.synth import (
    PRODUCT_LINE_PREFIXES,
    PRODUCT_LINES,
    BuyingGroupParams,
    SynthParams,
    generate_history,
    simultaneous_groups,
)

ON = SynthParams(buying_groups=BuyingGroupParams(enabled=True))
TRUTH_COLUMNS = ["account_id", "person", "contact_id", "email", "group", "topic", "start", "end", "converts"]
# Salesforce's OpportunityContactRole picklist, as exports write it.
ROLES = {"Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker", "Evaluator",
         "Executive Sponsor", "Influencer", "Technical Buyer", "Other"}


@pytest.fixture(scope="module")
def plain():
    return generate_history(n_accounts=300, seed=3)


@pytest.fixture(scope="module")
def grouped():
    return generate_history(n_accounts=300, seed=3, params=ON, with_truth=True)


def line_of_url(urls: pd.Series) -> pd.Series:
    """The product line whose path prefix a url's path starts with; missing for other pages."""
    path = urls.dropna().map(lambda u: urlparse(u).path)
    out = pd.Series(pd.NA, index=urls.index, dtype="str")
    for prefix, topic in PRODUCT_LINE_PREFIXES.items():
        on = (path == prefix) | path.str.startswith(prefix + "/")
        out[on[on].index] = topic
    return out


# --------------------------------------------------------------------------- off

def test_off_by_default_and_off_changes_nothing(plain):
    assert SynthParams().buying_groups.enabled is False
    assert "opportunity_contacts" not in plain and "topic" not in plain["activities"].columns
    # Constants of a switched-off process draw nothing.
    off = SynthParams(buying_groups=BuyingGroupParams(enabled=False, parallel_share=1.0, topical_share=0.1))
    again, truth = generate_history(n_accounts=300, seed=3, params=off, with_truth=True)
    assert list(again) == list(plain)
    for name in plain:
        pd.testing.assert_frame_equal(again[name], plain[name], check_exact=True)
    # The truth is there all the same, without product lines.
    assert list(truth.columns) == TRUTH_COLUMNS and len(truth) and truth["topic"].isna().all()
    assert simultaneous_groups(truth).max() == 1


# --------------------------------------------------------------------------- on

def test_the_history_follows_the_contract(grouped):
    tables, _ = grouped
    assert list(tables) == ["accounts", "contacts", "activities", "intent", "signals", "opportunities",
                            "opportunity_contacts", "dispositions"]
    assert list(tables["activities"].columns)[-1] == "topic"
    assert list(tables["opportunity_contacts"].columns) == ["opportunity_id", "contact_id", "role", "is_primary"]
    history = read_history(tables)
    assert len(history.tables["opportunity_contacts"]) == len(tables["opportunity_contacts"])


def test_same_seed_gives_identical_tables_and_the_truth_draws_nothing(grouped):
    tables, truth = grouped
    again = generate_history(n_accounts=300, seed=3, params=ON)
    assert list(again) == list(tables)
    for name in tables:
        pd.testing.assert_frame_equal(again[name], tables[name], check_exact=True)
    _, truth_again = generate_history(n_accounts=300, seed=3, params=ON, with_truth=True)
    pd.testing.assert_frame_equal(truth_again, truth, check_exact=True)
    other = generate_history(n_accounts=300, seed=4, params=ON)
    assert not other["opportunity_contacts"].equals(tables["opportunity_contacts"])


def test_large_accounts_run_overlapping_groups_on_different_lines(grouped):
    tables, truth = grouped
    spans = truth.drop_duplicates("group")
    pairs = spans.merge(spans, on="account_id", suffixes=("", "_2"))
    pairs = pairs[(pairs["group"] < pairs["group_2"]) & (pairs["start"] < pairs["end_2"])
                  & (pairs["start_2"] < pairs["end"])]
    assert pairs["account_id"].nunique() >= 5
    assert (pairs["topic"] != pairs["topic_2"]).all() and pairs["topic"].notna().all()
    employees = tables["accounts"].set_index("account_id")["employees"]
    assert (employees[pairs["account_id"].unique()] >= ON.buying_groups.min_employees).all()
    counts = simultaneous_groups(truth)
    assert set(counts[counts >= 2].index) == set(pairs["account_id"])
    assert counts.max() <= 1 + ON.buying_groups.extra_max
    # Every new-business cycle has a line; no two groups share a person.
    assert set(truth["topic"].dropna()) == set(PRODUCT_LINES)
    assert truth.groupby("person")["group"].nunique().max() == 1


def test_the_truth_names_people_as_the_tables_do(grouped):
    tables, truth = grouped
    assert list(truth.columns) == TRUTH_COLUMNS
    assert truth["group"].dtype == np.int64 and truth["converts"].dtype == bool
    assert (truth["start"] < truth["end"]).all() and str(truth["start"].dt.tz) == "UTC"
    known = truth["contact_id"].notna()
    assert (truth.loc[known, "person"] == truth.loc[known, "contact_id"]).all()
    assert (truth.loc[~known, "person"] == truth.loc[~known, "email"]).all() and (~known).any()
    contacts = tables["contacts"].set_index("contact_id")
    assert truth.loc[known, "contact_id"].isin(contacts.index).all()
    assert (contacts.loc[truth.loc[known, "contact_id"], "email"].to_numpy() == truth.loc[known, "email"]).all()
    assert truth.groupby("group")[["account_id", "topic", "start", "converts"]].nunique(dropna=False).max().max() == 1


def test_committee_activities_are_about_their_line(grouped):
    tables, truth = grouped
    a = tables["activities"].drop_duplicates("activity_id")
    by_url = line_of_url(a["url"])
    tagged = a["topic"].notna()
    # The topic column is filled on some rows only; where it is, a url is the line's page.
    assert 0 < tagged.mean() < 0.2 and set(a.loc[tagged, "topic"]) == set(PRODUCT_LINES)
    with_url = tagged & a["url"].notna()
    assert (by_url[with_url] == a.loc[with_url, "topic"]).all()
    on_line = by_url.notna()
    assert 0.3 < a.loc[on_line, "topic"].notna().mean() < 0.7  # the rest: only the url tells
    line = a["topic"].fillna(by_url)

    person = a["contact_id"].fillna(a["email"])
    topic_of = truth.dropna(subset=["topic"]).set_index("person")["topic"]
    member = person.isin(topic_of.index)
    # A member's rows about a line are about their own group's line, and most of their cycle rows are.
    about = member & line.notna()
    assert about.sum() > 500 and (line[about] == person[about].map(topic_of)).all()
    spans = truth.dropna(subset=["topic"]).set_index("person")
    in_span = member & (a["timestamp"] >= person.map(spans["start"])) & (a["timestamp"] < person.map(spans["end"]))
    assert line[in_span].notna().mean() > 0.4
    # Other people land on a line's pages now and then.
    others = ~person.isin(truth["person"]) & person.notna()
    assert 0 < line[others].notna().mean() < 0.05


def test_opportunity_contacts_name_written_rows_with_one_primary_each(grouped):
    tables, truth = grouped
    oc, opp = tables["opportunity_contacts"], tables["opportunities"]
    assert len(oc) > 100
    assert oc["opportunity_id"].isin(opp["opportunity_id"]).all()
    assert oc["contact_id"].isin(tables["contacts"]["contact_id"]).all()
    assert not oc.duplicated(["opportunity_id", "contact_id"]).any()
    assert (oc.groupby("opportunity_id")["is_primary"].sum() == 1).all()
    assert set(oc["role"].dropna()) <= ROLES and 0 < oc["role"].isna().mean() < 0.15
    # The contacts are one converting group's members, at the opportunity's account.
    member = truth.dropna(subset=["contact_id"]).set_index("contact_id")
    rows = oc.join(member[["account_id", "group", "converts"]], on="contact_id")
    assert rows["converts"].all() and (rows.groupby("opportunity_id")["group"].nunique() == 1).all()
    account = opp.set_index("opportunity_id")["account_id"]
    assert (rows["account_id"].to_numpy() == account[rows["opportunity_id"]].to_numpy()).all()
    assert set(opp.loc[opp["opportunity_id"].isin(oc["opportunity_id"]), "type"]) <= {"new_business", "expansion"}
    # Most cycle opportunities get their roles, not all.
    converting = truth[truth["converts"]]["group"].nunique()
    assert 0.3 * converting < oc["opportunity_id"].nunique() < converting


def test_bad_buying_group_params_are_refused_all_at_once():
    bad = dataclasses.replace(ON.buying_groups, extra_max=3, topical_share=1.5)
    with pytest.raises(ValueError, match=r"buying_groups: topical_share must be in 0\.\.1; got 1\.5; "
                                         r"extra_max must be in 1\.\.2 .*got 3"):
        generate_history(n_accounts=10, params=SynthParams(buying_groups=bad))


def test_synth_command_writes_the_extra_table_and_says_how_to_read_topics(tmp_path, capsys):
    assert main(["synth", "--out", str(tmp_path / "on"), "--accounts", "60", "--seed", "3", "--format", "csv",
                 "--buying-groups"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "on" / "opportunity_contacts.csv").exists()
    assert "opportunity_contacts.csv" in out
    line = out.strip().splitlines()[-1]
    assert "under [topics]" in line
    config = tomllib.loads("[topics]\n" + line.split("configuration: ", 1)[1])
    assert config["topics"]["url_prefixes"] == PRODUCT_LINE_PREFIXES
    written = pd.read_csv(tmp_path / "on" / "activities.csv")
    assert written["topic"].notna().any()
    # Without the flag: the default history, and no such table or line.
    assert main(["synth", "--out", str(tmp_path / "on"), "--accounts", "60", "--seed", "3", "--format", "csv",
                 "--overwrite"]) == 0
    assert "[topics]" not in capsys.readouterr().out
    assert not (tmp_path / "on" / "opportunity_contacts.csv").exists()


def test_synth_command_writes_the_extra_table_into_a_database(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert main(["synth", "--out", url, "--accounts", "60", "--seed", "3", "--buying-groups"]) == 0
    assert "table opportunity_contacts" in capsys.readouterr().out
    history = read_history(url)
    assert len(history.tables["opportunity_contacts"]) > 0
    assert history.tables["activities"]["topic"].notna().any()
    # Written again without the flag, the database holds no stale contact roles.
    assert main(["synth", "--out", url, "--accounts", "60", "--seed", "3", "--overwrite"]) == 0
    assert len(read_history(url).tables.get("opportunity_contacts", ())) == 0
