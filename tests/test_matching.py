"""Lead-to-account matching: the contract's order of clues, subdomains, free mail, ambiguity."""

from __future__ import annotations

import pandas as pd

from mqa.features.history import read_history
from mqa.features.matching import domain_index, lookup_domains

from .conftest import write_tables

ACCOUNTS = """
    account_id,domain,created_at
    A1,acme.com,2024-01-01
    A2,beta.io,2024-01-01
    A3,https://www.Shared.com/,2023-06-01
    A4,shared.com,2022-01-01
    A5,gmail.com,2024-01-01
"""
CONTACTS = """
    contact_id,account_id,email
    C1,A1,ann@beta.io
    C2,,bob@eu.acme.com
    C3,,cy@gmail.com
    C4,,dee@unknown.org
"""
ACTIVITIES = """
    activity_id,timestamp,type,contact_id,account_id,email
    by_account,2024-03-01,web_visit,C1,A2,
    by_contact,2024-03-01,web_visit,C1,,x@beta.io
    by_email,2024-03-01,web_visit,,,x@eu.beta.io
    by_contact_email,2024-03-01,web_visit,C2,,
    free_mail,2024-03-01,web_visit,,,x@gmail.com
    free_mail_contact,2024-03-01,web_visit,C3,,
    nothing,2024-03-01,web_visit,C4,,x@nowhere.net
    unknown_id,2024-03-01,web_visit,,NOPE,x@acme.com
    shared,2024-03-01,web_visit,,,x@shared.com
"""


def matched(tmp_path, base_tables):
    base_tables.update(accounts=ACCOUNTS, contacts=CONTACTS, activities=ACTIVITIES,
                       opportunities="opportunity_id,account_id,created_at\nO1,A1,2024-05-01\n")
    h = read_history(write_tables(tmp_path / "h", base_tables))
    return h, h["activities"].set_index("activity_id")


def test_order_of_clues(tmp_path, base_tables):
    _, a = matched(tmp_path, base_tables)
    # The activity's own account wins over its contact's account.
    assert a.loc["by_account", ["account_id", "matched_by"]].tolist() == ["A2", "account_id"]
    # The contact's account wins over the activity's email domain.
    assert a.loc["by_contact", ["account_id", "matched_by"]].tolist() == ["A1", "contact"]
    assert a.loc["by_email", ["account_id", "matched_by"]].tolist() == ["A2", "email_domain"]
    assert a.loc["by_contact_email", ["account_id", "matched_by"]].tolist() == ["A1", "contact_email_domain"]


def test_subdomain_matches_parent_domain(tmp_path, base_tables):
    h, a = matched(tmp_path, base_tables)
    assert a.loc["by_email", "account_id"] == "A2"  # eu.beta.io -> beta.io
    assert h["contacts"].set_index("contact_id").loc["C2", "account_id"] == "A1"  # eu.acme.com -> acme.com


def test_free_mail_never_matches(tmp_path, base_tables):
    h, a = matched(tmp_path, base_tables)
    # An account even claims gmail.com: free mail still matches nothing.
    assert pd.isna(a.loc["free_mail", "account_id"])
    assert pd.isna(a.loc["free_mail_contact", "account_id"])
    assert pd.isna(h["contacts"].set_index("contact_id").loc["C3", "account_id"])
    assert any("free-mail domain" in str(n) for n in h.notices)


def test_unknown_account_id_falls_through_to_next_clue(tmp_path, base_tables):
    h, a = matched(tmp_path, base_tables)
    assert a.loc["unknown_id", ["account_id", "matched_by"]].tolist() == ["A1", "email_domain"]
    assert h.matching.unknown_account_ids == 1


def test_ambiguous_domain_goes_to_oldest_account_and_is_reported(tmp_path, base_tables):
    h, a = matched(tmp_path, base_tables)
    assert a.loc["shared", "account_id"] == "A4"  # created 2022, before A3
    assert h.matching.ambiguous_domains == {"shared.com": ["A4", "A3"]}
    assert any("shared.com: A4, A3" in str(n) for n in h.notices)


def test_ambiguity_without_dates_is_broken_by_id():
    accounts = pd.DataFrame({"account_id": ["Z9", "B2", "M5"], "domain": ["x.com", "x.com", "y.com"]}, dtype="str")
    index, ambiguous = domain_index(accounts)
    assert index["x.com"] == "B2"
    assert ambiguous == {"x.com": ["B2", "Z9"]}


def test_match_rate_and_unmatched_count(tmp_path, base_tables):
    h, _ = matched(tmp_path, base_tables)
    m = h.matching
    assert m.activities_total == 9
    assert m.activities_unmatched == 3  # free_mail, free_mail_contact, nothing
    assert m.free_mail_rows == 2
    assert abs(m.match_rate - 6 / 9) < 1e-12
    assert m.activities_by_method == {"account_id": 1, "contact": 1, "email_domain": 3, "contact_email_domain": 1}
    assert "activity match rate 66.7%: 6 of 9 matched" in h.summary()
    assert "3 unmatched" in h.summary()


def test_unmatched_activities_are_kept(tmp_path, base_tables):
    _, a = matched(tmp_path, base_tables)
    assert len(a) == 9
    assert a["account_id"].isna().sum() == 3


def test_lookup_stops_before_top_level_domain():
    index = pd.Series(["A1"], index=["com"], dtype="str")  # a broken account with domain "com"
    got = lookup_domains(pd.Series(["acme.com"]), index)
    assert pd.isna(got[0])


def test_intent_and_signals_by_domain(tmp_path, base_tables):
    base_tables["intent"] = """
        domain,date,topic,score
        https://www.acme.com,2024-03-01,crm,70
        sub.beta.io,2024-03-01,crm,20
        nowhere.net,2024-03-01,crm,90
    """
    base_tables["signals"] = """
        account_id,domain,date,type
        A2,,2024-03-01,Funding_Round
        ,acme.com,2024-03-01,executive_hire
    """
    h = read_history(write_tables(tmp_path / "h", base_tables))
    assert h["intent"]["account_id"].tolist()[:2] == ["A1", "A2"]
    assert pd.isna(h["intent"]["account_id"][2])
    assert h["signals"]["account_id"].tolist() == ["A2", "A1"]
    assert h["signals"]["type"].tolist() == ["funding_round", "executive_hire"]
    assert any(str(n).startswith("intent: column 'account_id': matches no account") for n in h.notices)
