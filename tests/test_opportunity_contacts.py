"""The optional opportunity_contacts table: who was on an opportunity, in which role.

Tiny inline tables, so that every expected row and message reads in the test
itself; the Spark engine's side is in test_spark.py.
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from mqa.features.config import load_config
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.presets import init_config
from mqa.features.problems import DataError
from mqa.features.sql import write_sql_history

from .conftest import BASE, write_tables
from .test_presets import SALESFORCE, write_export

ACCOUNTS = pd.DataFrame({"account_id": ["A1", "A2"], "domain": ["acme.com", "beta.io"]})
CONTACTS = pd.DataFrame({"contact_id": ["C1", "C2", "C3"], "account_id": ["A1", "A1", "A2"]})
OPPORTUNITIES = pd.DataFrame({"opportunity_id": ["O1", "O2"], "account_id": ["A1", "A2"],
                              "created_at": ["2024-05-01", "2024-06-01"]})
ROLES = pd.DataFrame({
    "opportunity_id": ["O2", "O1", "O1"],
    "contact_id": ["C3", "C2", "C1"],
    "role": ["Evaluator", " Economic Buyer ", "decision maker"],
    "is_primary": ["false", "", "yes"],
})


def history(roles: pd.DataFrame, **tables) -> dict[str, pd.DataFrame]:
    return {"accounts": ACCOUNTS, "contacts": CONTACTS, "opportunities": OPPORTUNITIES, "opportunity_contacts": roles,
            **tables}


def problems(tables: dict, purpose: str = "train") -> list[str]:
    with pytest.raises(DataError) as info:
        read_history(tables, purpose=purpose)
    return str(info.value).splitlines()[1:]


def test_an_unknown_opportunity_is_refused_naming_table_column_rows_and_fix():
    roles = pd.DataFrame({"opportunity_id": ["O1", "O9", "O2", "O8"], "contact_id": ["C1", "C1", "C3", "C2"]})
    assert problems(history(roles)) == [
        "  - opportunity_contacts: column 'opportunity_id': points at an opportunity that is not in the opportunities "
        "table; add the opportunity or fix the id; 2 rows (rows 2, 4: 'O9', 'O8')."]


def test_an_unknown_contact_is_refused_naming_table_column_rows_and_fix():
    roles = pd.DataFrame({"opportunity_id": ["O1", "O2"], "contact_id": ["C1", "GHOST"]})
    with pytest.raises(DataError) as info:
        read_history(history(roles))
    assert str(info.value).splitlines()[1:] == [
        "  - opportunity_contacts: column 'contact_id': points at a contact that is not in the contacts table; add the "
        "contact or fix the id; 1 row (row 2: 'GHOST')."]
    assert [p.code for p in info.value.problems] == ["references.unknown_contact"]


def test_a_missing_required_column_is_refused(tmp_path):
    folder = write_tables(tmp_path / "h", dict(BASE, opportunity_contacts="""
        opportunity_id,role
        O1,evaluator
    """))
    with pytest.raises(DataError) as info:
        read_history(folder)
    assert str(info.value).splitlines()[1:] == [
        "  - opportunity_contacts: column 'contact_id': required column is missing from opportunity_contacts.csv; add "
        "it, or map your column name to it in the configuration."]
    assert [p.code for p in info.value.problems] == ["columns.missing"]


def test_empty_ids_are_refused():
    roles = pd.DataFrame({"opportunity_id": ["O1", " "], "contact_id": ["", "C1"]})
    assert problems(history(roles)) == [
        "  - opportunity_contacts: column 'opportunity_id': is required but empty; 1 row (row 2).",
        "  - opportunity_contacts: column 'contact_id': is required but empty; 1 row (row 1).",
    ]


def test_without_the_tables_it_points_at_the_table_is_refused():
    # Prediction does without opportunities, but a role cannot be checked (nor dated) without its opportunity.
    lines = problems({"accounts": ACCOUNTS, "opportunity_contacts": ROLES}, purpose="predict")
    assert lines == [
        "  - opportunity_contacts: column 'opportunity_id': points at opportunities, but the history has no "
        "opportunities table, so no row can be checked or dated (a role is known from its opportunity's created_at); "
        "add the opportunities table, or leave opportunity_contacts out.",
        "  - opportunity_contacts: column 'contact_id': points at contacts, but the history has no contacts table, so "
        "no row can be checked; add the contacts table, or leave opportunity_contacts out.",
    ]
    with pytest.raises(DataError) as info:
        read_history({"accounts": ACCOUNTS, "opportunities": OPPORTUNITIES, "opportunity_contacts": ROLES})
    assert [(p.table, p.column, p.code) for p in info.value.problems] == [
        ("opportunity_contacts", "contact_id", "references.table_missing")]


def test_a_table_that_cannot_be_read_is_not_also_said_to_be_missing(tmp_path):
    tables = dict(BASE, opportunity_contacts="opportunity_id,contact_id\nO1,C1\n")
    folder = write_tables(tmp_path / "h", tables)
    (folder / "contacts.csv").write_bytes(b"contact_id;account_id\nC1;A1\n")
    with pytest.raises(DataError) as info:
        read_history(folder)
    assert [p.code for p in info.value.problems] == ["files.semicolons"]


def test_a_valid_table_is_read_typed_and_in_canonical_order():
    h = read_history(history(ROLES))
    assert "opportunity_contacts" in h.present and h.files["opportunity_contacts"] == "opportunity_contacts DataFrame"
    roles = h["opportunity_contacts"]
    assert roles.to_dict("list") == {
        "opportunity_id": ["O1", "O1", "O2"],
        "contact_id": ["C1", "C2", "C3"],
        "role": ["decision maker", "economic buyer", "evaluator"],  # trimmed, lower case
        "is_primary": [True, None, False],  # an empty cell is missing
    }
    assert str(roles["is_primary"].dtype) == "boolean" and str(roles["role"].dtype) == "str"
    assert h.notices == []
    assert "  opportunity_contacts     3 rows  (opportunity_contacts DataFrame)" in h.summary()


def test_shuffled_rows_give_an_identical_frame():
    rows = pd.DataFrame({
        "opportunity_id": ["O1", "O1", "O2", "O1", "O2"],
        "contact_id": ["C2", "C1", "C3", "C3", "C1"],
        "role": ["evaluator", "", "influencer", "economic buyer", "technical buyer"],
        "is_primary": ["no", "yes", "", "no", "no"],
    })
    first = read_history(history(rows))["opportunity_contacts"]
    for seed in range(3):
        shuffled = rows.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        pd.testing.assert_frame_equal(read_history(history(shuffled))["opportunity_contacts"], first, check_exact=True)
    assert list(zip(first["opportunity_id"], first["contact_id"])) == [
        ("O1", "C1"), ("O1", "C2"), ("O1", "C3"), ("O2", "C1"), ("O2", "C3")]


def test_a_person_twice_on_one_opportunity_is_kept_once_with_a_notice():
    rows = pd.DataFrame({
        "opportunity_id": ["O1", "O1", "O2", "O1", "O1"],
        "contact_id": ["C1", "C2", "C3", "C1", "C1"],
        "role": ["influencer", "evaluator", "evaluator", "economic buyer", "decision maker"],
        "is_primary": ["no", "no", "", "yes", "no"],
    })
    h = read_history(history(rows))
    roles = h["opportunity_contacts"]
    # The primary row of O1/C1 is kept, whatever the order of the export's rows.
    assert roles[["opportunity_id", "contact_id", "role"]].values.tolist() == [
        ["O1", "C1", "economic buyer"], ["O1", "C2", "evaluator"], ["O2", "C3", "evaluator"]]
    assert [str(n) for n in h.notices] == [
        "opportunity_contacts: column 'contact_id': names one person twice on one opportunity; one row is kept (the "
        "primary one, then the first role in alphabetical order) and the others are dropped as duplicates; 2 rows "
        "(rows 1, 5: 'O1 / C1', 'O1 / C1')."]
    assert [n.code for n in h.notices] == ["opportunity_contacts.duplicate"]
    # Without a primary row, the first role in alphabetical order is kept.
    again = read_history(history(rows.assign(is_primary="no")))["opportunity_contacts"]
    assert again["role"].tolist()[0] == "decision maker"


def test_mapped_by_the_configuration_from_a_salesforce_export(tmp_path):
    folder = write_export(tmp_path / "export", dict(SALESFORCE, **{"OpportunityContactRole.csv": """
        Id,OpportunityId,ContactId,Role,IsPrimary,CreatedDate
        00K5g00000R2,0065g00000One,0035g00000Bob,Economic Buyer,false,2024-04-02T10:00:00.000Z
        00K5g00000R1,0065g00000One,0035g00000Ada,Decision Maker,true,2024-04-01T10:00:00.000Z
    """}))
    (tmp_path / "mqa.toml").write_text(init_config("salesforce"))
    h = read_history(folder, config=load_config(tmp_path / "mqa.toml"))
    assert h.files["opportunity_contacts"] == "OpportunityContactRole.csv"
    assert h["opportunity_contacts"].to_dict("list") == {
        "opportunity_id": ["0065g00000One", "0065g00000One"], "contact_id": ["0035g00000Ada", "0035g00000Bob"],
        "role": ["decision maker", "economic buyer"], "is_primary": [True, False]}


def test_a_history_without_the_table_reads_as_before(history_dir):
    h = read_history(history_dir)
    assert "opportunity_contacts" not in h.present
    assert list(h["opportunity_contacts"].columns) == ["opportunity_id", "contact_id", "role", "is_primary"]
    assert len(h["opportunity_contacts"]) == 0
    assert "  opportunity_contacts     -       (no file: no such signal)" in h.summary()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_table_round_trips_through_the_files_writer(tmp_path, fmt):
    h = read_history(history(ROLES))
    write_history({name: h[name] for name in h.present}, tmp_path / "out", fmt=fmt)
    again = read_history(tmp_path / "out")
    pd.testing.assert_frame_equal(again["opportunity_contacts"], h["opportunity_contacts"], check_exact=True)


def test_the_table_round_trips_through_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    h = read_history(history(ROLES))
    assert "opportunity_contacts" in write_sql_history({name: h[name] for name in h.present}, url)
    again = read_history(url)
    assert again.files["opportunity_contacts"] == "table opportunity_contacts"
    pd.testing.assert_frame_equal(again["opportunity_contacts"], h["opportunity_contacts"], check_exact=True)


def test_a_database_table_of_its_own_name_is_mapped_by_the_configuration(tmp_path):
    url = f"sqlite:///{tmp_path / 'sf.db'}"
    h = read_history(history(ROLES))
    write_sql_history({name: h[name] for name in ("accounts", "contacts", "opportunities")}, url)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        h["opportunity_contacts"].rename(columns={"opportunity_id": "OpportunityId"}).to_sql(
            "OpportunityContactRole", conn, index=False)
    engine.dispose()
    config = load_config({"database": {"tables": {"opportunity_contacts": "OpportunityContactRole"}},
                          "columns": {"opportunity_contacts": {"opportunity_id": "OpportunityId"}}})
    mapped = read_history(url, config=config)
    assert mapped.files["opportunity_contacts"] == "table OpportunityContactRole"
    pd.testing.assert_frame_equal(mapped["opportunity_contacts"], h["opportunity_contacts"], check_exact=True)
