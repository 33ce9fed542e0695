"""Bad input: one error that names table, column, rows and the fix; notices that lose nothing."""

from __future__ import annotations

import re

import pytest

from mqa.features.history import read_history
from mqa.features.problems import DataError

from .conftest import write_tables


def problems_of(folder, **kwargs) -> str:
    with pytest.raises(DataError) as info:
        read_history(folder, **kwargs)
    return str(info.value)


def test_missing_required_table(tmp_path, base_tables):
    del base_tables["accounts"]
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "accounts: required table is missing: add accounts.csv" in msg


def test_opportunities_required_for_training_but_not_prediction(tmp_path, base_tables):
    del base_tables["opportunities"]
    folder = write_tables(tmp_path / "h", base_tables)
    assert "opportunities: required table is missing" in problems_of(folder)
    assert len(read_history(folder, purpose="predict")["accounts"]) == 3


def test_missing_required_column(tmp_path, base_tables):
    base_tables["activities"] = """
        activity_id,timestamp,contact_id
        E1,2024-03-01,C1
    """
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "activities: column 'type': required column is missing from activities.csv" in msg


def test_intent_needs_account_id_or_domain(tmp_path, base_tables):
    base_tables["intent"] = """
        date,topic,score
        2024-03-01,crm,70
    """
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "intent: needs one of the columns account_id or domain" in msg


def test_duplicate_and_empty_primary_ids(tmp_path, base_tables):
    base_tables["accounts"] = """
        account_id,domain
        A1,acme.com
        A2,beta.io
        A1,acme2.com
        ,x.com
        A3,gamma.co.uk
    """
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "accounts: column 'account_id': must be unique; some ids repeat (every copy is listed); 2 rows (rows 1, 3: 'A1', 'A1')" in msg
    assert "accounts: column 'account_id': is required but empty; 1 row (row 4)" in msg


def test_unparseable_timestamps_and_numbers(tmp_path, base_tables):
    base_tables["accounts"] = """
        account_id,domain,employees,annual_revenue,created_at
        A1,acme.com,12k,100,2024-01-01
        A2,beta.io,10,lots,03/04/2025
        A3,gamma.co.uk,n/a,,2024-01-01
    """
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert re.search(r"accounts: column 'employees': must be a whole number.*; 2 rows \(rows 1, 3: '12k', 'n/a'\)", msg)
    assert re.search(r"accounts: column 'annual_revenue': must be a number.*; 1 row \(row 2: 'lots'\)", msg)
    assert re.search(r"accounts: column 'created_at': must be an ISO 8601 timestamp.*; 1 row \(row 2: '03/04/2025'\)", msg)


@pytest.mark.parametrize(
    "table, text, column",
    [
        ("accounts", "account_id,domain,employees\nA1,acme.com,-1\nA2,beta.io,5\nA3,g.co.uk,1", "employees"),
        ("accounts", "account_id,domain,annual_revenue\nA1,acme.com,-0.5\nA2,beta.io,5\nA3,g.co.uk,1", "annual_revenue"),
        ("opportunities", "opportunity_id,account_id,created_at,amount\nO1,A1,2024-01-01,-100", "amount"),
        ("activities", "timestamp,type,account_id,minutes\n2024-01-01,web_visit,A1,-3", "minutes"),
    ],
)
def test_negative_quantities(tmp_path, base_tables, table, text, column):
    base_tables[table] = text
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert re.search(rf"{table}: column '{column}': must be >= 0; some values are not; 1 row \(row 1: '-", msg)


def test_intent_score_out_of_range(tmp_path, base_tables):
    base_tables["intent"] = """
        account_id,date,topic,score
        A1,2024-03-01,crm,70
        A1,2024-03-08,crm,140
        A2,2024-03-08,crm,-1
    """
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "intent: column 'score': must be between 0 and 100; some values are not; 2 rows (rows 2, 3: '140', '-1')" in msg


def test_opportunity_closing_before_created(tmp_path, base_tables):
    base_tables["opportunities"] = """
        opportunity_id,account_id,created_at,closed_at
        O1,A1,2024-05-01,2024-04-01
        O2,A2,2024-05-01,2024-05-01
    """
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "opportunities: column 'closed_at': is before created_at; an opportunity cannot close before it is created; 1 row (row 1: 'O1')" in msg


def test_references_to_unknown_accounts(tmp_path, base_tables):
    base_tables["opportunities"] = """
        opportunity_id,account_id,created_at
        O1,A1,2024-05-01
        O2,NOPE,2024-05-01
    """
    base_tables["contacts"] = """
        contact_id,account_id,email
        C1,GHOST,secret.person@acme.com
    """
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "opportunities: column 'account_id': points at an account that is not in the accounts table; add the account or fix the id; 1 row (row 2: 'NOPE')" in msg
    assert "contacts: column 'account_id': points at an account that is not in the accounts table" in msg
    assert "(row 1: 'GHOST')" in msg


def test_two_files_for_one_table(tmp_path, base_tables):
    folder = write_tables(tmp_path / "h", base_tables)
    write_tables(folder, {"accounts": base_tables["accounts"]}, fmt="parquet")
    msg = problems_of(folder)
    assert "accounts: 2 files for one table (accounts.csv, accounts.parquet); keep exactly one" in msg


def test_empty_required_table(tmp_path, base_tables):
    base_tables["accounts"] = "account_id,domain\n"
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "accounts: accounts.csv has a header but no rows; a required table cannot be empty" in msg


def test_empty_optional_table_is_fine(tmp_path, base_tables):
    base_tables["signals"] = "account_id,date,type\n"
    h = read_history(write_tables(tmp_path / "h", base_tables))
    assert len(h["signals"]) == 0


def test_every_problem_is_listed_in_one_error(tmp_path, base_tables):
    base_tables["accounts"] = """
        account_id,domain,employees
        A1,acme.com,-1
        A1,beta.io,x
        A3,gamma.co.uk,1
    """
    base_tables["intent"] = "account_id,date,topic,score\nA1,2024-01-01,crm,101\n"
    with pytest.raises(DataError) as info:
        read_history(write_tables(tmp_path / "h", base_tables))
    err = info.value
    # Duplicate id, negative and unreadable employees, the intent score, and
    # the contact and opportunity that pointed at the (now missing) A2.
    assert len(err.problems) == 6
    assert {p.table for p in err.problems} == {"accounts", "intent", "contacts", "opportunities"}
    assert str(err).startswith(f"The CRM history in {tmp_path / 'h'} breaks the data contract (6 problems); nothing was written:")


def test_personal_values_are_never_echoed(tmp_path, base_tables):
    base_tables["contacts"] = """
        contact_id,account_id,name,email
        C1,A1,Secret Name,secret@acme.com
        C1,A1,Other Name,other@acme.com
    """
    msg = problems_of(write_tables(tmp_path / "h", base_tables))
    assert "contacts: column 'contact_id': must be unique" in msg
    assert "secret" not in msg.lower() and "Other Name" not in msg


def test_notices_lose_nothing(tmp_path, base_tables):
    base_tables["activities"] = """
        activity_id,timestamp,type,contact_id,account_id,email
        E1,2024-03-01,chat_message,C1,,
        E1,2024-03-02,web_visit,C1,,
        E2,2024-03-03,web_visit,,,someone@gmail.com
        E3,2024-03-04,email_open,,A1,
    """
    h = read_history(write_tables(tmp_path / "h", base_tables))
    text = "\n".join(str(n) for n in h.notices)
    assert "activities: column 'type': unknown activity type(s) kept as 'other' (chat_message); 1 row (row 1: 'chat_message')" in text
    assert ("activities: column 'activity_id': repeats another activity's id; one copy is kept (the earliest, then by content) "
            "and the others are dropped as duplicates; 1 row (row 2: 'E1')") in text
    assert "activities: column 'account_id': 1 of 3 activities match no account (1 only by a free-mail address)" in text
    a = h["activities"]
    assert a["activity_id"].tolist() == ["E1", "E2", "E3"]
    assert a["type"].tolist() == ["other", "web_visit", "email_open"]
    assert a["account_id"].isna().tolist() == [False, True, False]
    assert "someone" not in h.summary()


# --------------------------------------------------------------------------- stable codes

BAD = {
    "values": {  # one table's values
        "accounts": """
            account_id,domain,employees
            A1,acme.com,-1
            A1,beta.io,x
            ,gamma.co.uk,1
            A2,beta2.io,5
        """,
    },
    "header": {  # headers and tables that cannot be read as the contract says
        "activities": "activity_id,timestamp,contact_id\nE1,2024-03-01,C1\n",
        "intent": "date,topic,score\n2024-03-01,crm,70\n",
        "signals": "account_id,Date,date,type\nA1,2024-01-01,2024-01-01,funding\n",
        "opportunities": "opportunity_id,account_id,created_at\n",
    },
    "references": {  # across tables, and an opportunity closing before it opens
        "contacts": "contact_id,account_id\nC1,GHOST\n",
        "opportunities": "opportunity_id,account_id,created_at,closed_at\nO1,A1,2024-05-01,2024-04-01\n",
    },
}
BAD_CODES = {
    "values": {"values.type", "values.range", "values.not_unique", "values.required"},
    "header": {"columns.missing", "columns.one_of_missing", "columns.repeated", "tables.empty", "columns.mapping_unknown"},
    "references": {"references.unknown_account", "opportunities.closed_before_created"},
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_every_problem_has_a_documented_code(tmp_path, base_tables, case):
    from mqa.features.config import Config
    from mqa.features.problems import PROBLEM_CODES

    base_tables.update(BAD[case])
    config = Config(columns={"accounts": {"name": "Company Name"}}) if case == "header" else None
    with pytest.raises(DataError) as info:
        read_history(write_tables(tmp_path / "h", base_tables), config=config)
    codes = [p.code for p in info.value.problems]
    assert all(code in PROBLEM_CODES for code in codes), codes
    assert set(codes) == BAD_CODES[case]


@pytest.mark.parametrize("name, content, code, expected", [
    ("accounts.parquet", b"account_id,domain\nA1,acme.com\n", "files.parquet_unreadable",
     "accounts.parquet: is not a readable Parquet file"),
    ("accounts.csv", b"PK\x03\x04\x00\x00binary", "files.binary", "accounts.csv: is not a CSV file (it holds binary data)"),
    ("accounts.csv.gz", b"not gzip at all", "files.gzip_unreadable", "accounts.csv.gz: is not a readable gzip file"),
    ("accounts.csv", b"", "files.no_header", "accounts.csv: is empty: not even a header row"),
    ("accounts.csv", "account_id\nA1\n\u00e9".encode("latin-1"), "files.not_utf8", "accounts.csv: is not UTF-8 text"),
    ("accounts.csv", b"account_id;domain\nA1;acme.com\n", "files.semicolons", "accounts.csv"),
    ("accounts.csv", b'account_id,domain\n"A1,acme.com\n', "files.malformed_csv", "accounts.csv"),
    ("accounts.csv", "account_id\nA1\n".encode("utf-16"), "files.utf16", "accounts.csv"),
    ("accounts.xlsx", b"whatever", "files.format", "accounts.xlsx: table 'accounts' must be a CSV, CSV.gz or Parquet file"),
])
def test_files_that_are_not_csv_or_parquet_say_so_with_a_code(tmp_path, base_tables, name, content, code, expected):
    del base_tables["accounts"]
    folder = write_tables(tmp_path / "h", base_tables)
    (folder / name).write_bytes(content)
    with pytest.raises(DataError) as info:
        read_history(folder)
    assert expected in str(info.value)
    assert [p.code for p in info.value.problems] == [code, "tables.missing"][: 1 if name.endswith((".csv", ".csv.gz", ".parquet")) else 2]


def test_two_files_a_broken_link_and_no_folder_have_codes(tmp_path, base_tables):
    folder = write_tables(tmp_path / "h", base_tables)
    write_tables(folder, {"accounts": base_tables["accounts"]}, fmt="parquet")
    with pytest.raises(DataError) as info:
        read_history(folder)
    assert [p.code for p in info.value.problems] == ["files.duplicate"]
    (folder / "accounts.parquet").unlink()
    (folder / "accounts.csv").unlink()
    (folder / "accounts.csv").symlink_to(tmp_path / "gone.csv")
    with pytest.raises(DataError) as info:
        read_history(folder)
    assert [p.code for p in info.value.problems] == ["files.broken_link"]
    with pytest.raises(DataError) as info:
        read_history(tmp_path / "nowhere")
    assert [p.code for p in info.value.problems] == ["folder.missing"]


def test_every_notice_has_a_documented_code(tmp_path, base_tables):
    from mqa.features.problems import NOTICE_CODES

    base_tables["accounts"] += "A4,Mail,gmail.com,,,,,,2024-01-01\nA5,Acme2,acme.com,,,,,,2025-01-01\n"
    base_tables["contacts"] += "C4,,Dee,dee@nowhere.example,,,,2024-01-01\n"
    base_tables["activities"] = """
        activity_id,timestamp,type,contact_id,account_id,email
        E1,2024-03-01,chat_message,C1,,
        E1,2024-03-02,web_visit,C1,,
        E2,2024-03-03,web_visit,,,someone@gmail.com
        E3,2024-03-04,email_open,,A9,
    """
    # O3 opens before its account exists; O4 opens long after the last activity.
    base_tables["opportunities"] += "O3,A2,2023-12-01,,open,,10,new_business\nO4,A1,2024-09-01,,open,,10,new_business\n"
    base_tables["intent"] = "domain,date,topic,score\nnowhere.example,2024-03-01,crm,70\n"
    base_tables["signals"] = "domain,date,type\nnowhere.example,2024-03-01,funding\n"
    h = read_history(write_tables(tmp_path / "h", base_tables))
    codes = [n.code for n in h.notices]
    assert all(code in NOTICE_CODES for code in codes), codes
    assert set(codes) == {
        "accounts.free_mail_domain", "accounts.shared_domain", "contacts.unmatched", "activities.unknown_type",
        "activities.duplicate_id", "activities.unmatched", "activities.unknown_account_id", "intent.unmatched",
        "signals.unmatched", "history.stale_engagement", "opportunities.before_account", "activities.one_day",
    }


def test_a_code_outside_the_lists_is_refused():
    from mqa.features.problems import ProblemLog

    with pytest.raises(ValueError, match="unknown problem code 'activities.nope'"):
        ProblemLog().notice("activities", None, "text", code="activities.nope")
    with pytest.raises(ValueError, match="unknown problem code 'activities.unmatched'"):
        ProblemLog().problem("activities", None, "a notice's code is no fatal problem's", code="activities.unmatched")


def test_the_codes_are_documented():
    from pathlib import Path

    from mqa.features.problems import CODES

    text = (Path(__file__).parents[1] / "docs" / "data.md").read_text()
    assert [code for code in CODES if f"`{code}`" not in text] == []


def test_the_public_stages_on_inline_frames():
    """The stages read_history composes, called one by one as another engine would call them."""
    import pandas as pd

    from mqa.features import contract as c
    from mqa.features.history import clean_activities, drop_duplicate_activities, type_table
    from mqa.features.problems import ProblemLog

    raw = pd.DataFrame({"Activity_ID": ["E1", "E1", "E2"], "timestamp": ["2024-03-02", "2024-03-01", "2024-03-03"],
                        "Kind": ["Web Visit", "web_visit", "chat"], "url": ["https://v.com/pricing?x", "", ""]})
    log = ProblemLog()
    typed = type_table(c.TABLES["activities"], raw, "activities.csv", log, mapping={"type": "kind"})
    assert log.problems == [] and list(typed.columns) == list(c.TABLES["activities"].names)
    assert typed["timestamp"].dt.tz is not None

    kept = drop_duplicate_activities(typed, ProblemLog())
    assert kept.index.tolist() == [1, 2]  # the earliest copy of E1, index unchanged

    cleaned = clean_activities(typed, log)
    assert cleaned["activity_id"].tolist() == ["E1", "E2"] and cleaned["type"].tolist() == ["web_visit", "other"]
    assert [(n.code, n.count, n.rows) for n in log.notices] == [
        ("activities.unknown_type", 1, (3,)), ("activities.duplicate_id", 1, (1,))]
