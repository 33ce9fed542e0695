"""Each contract type rule: ids, timestamps, numbers, booleans, domains, column names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mqa.features.coerce import to_bool, to_id, to_integer, to_number, to_timestamp
from mqa.features.config import Config
from mqa.features.history import read_history
from mqa.features.matching import email_domain, normalise_domain

from .conftest import write_tables


def test_ids_are_trimmed_strings_and_empty_is_missing():
    values, bad = to_id(pd.Series([" A1 ", "", "   ", "007", None]))
    assert values[0] == "A1" and values[3] == "007"
    assert values[[1, 2, 4]].isna().all()
    assert not bad.any()


def test_numeric_ids_from_parquet_have_no_trailing_zero():
    values, _ = to_id(pd.Series([123.0, np.nan, 7.0]))
    assert values[0] == "123" and values[2] == "7" and pd.isna(values[1])
    values, _ = to_id(pd.Series([5, 6], dtype="int64"))
    assert values.tolist() == ["5", "6"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-03-04", "2025-03-04T00:00:00Z"),  # date only: midnight UTC
        ("2025-03-04T10:20:00", "2025-03-04T10:20:00Z"),  # naive means UTC
        ("2025-03-04T10:20:00Z", "2025-03-04T10:20:00Z"),
        ("2025-03-04T10:20:00+02:00", "2025-03-04T08:20:00Z"),  # offset honoured
        ("2025-03-04T10:20:00-05:00", "2025-03-04T15:20:00Z"),
        (" 2025-03-04 10:20:00 ", "2025-03-04T10:20:00Z"),
    ],
)
def test_timestamps_become_utc(text, expected):
    values, bad = to_timestamp(pd.Series([text]))
    assert str(values.dtype) == "datetime64[ns, UTC]"
    assert values[0] == pd.Timestamp(expected)
    assert not bad.any()


def test_mixed_timestamp_forms_in_one_column():
    values, bad = to_timestamp(pd.Series(["2025-03-04", "2025-03-04T10:20:00+02:00", ""]))
    assert values[1] == pd.Timestamp("2025-03-04T08:20:00Z")
    assert pd.isna(values[2]) and not bad.any()


@pytest.mark.parametrize("text", ["03/04/2025", "yesterday", "2025-13-01", "9999-12-31"])
def test_unparseable_timestamps_are_bad(text):
    _, bad = to_timestamp(pd.Series([text]))
    assert bad.tolist() == [True]


def test_parquet_timestamps_naive_and_zoned():
    naive = pd.Series(pd.to_datetime(["2025-03-04 10:20:00"]))
    zoned = pd.Series(pd.to_datetime(["2025-03-04 12:20:00"]).tz_localize("Europe/Berlin"))
    assert to_timestamp(naive)[0][0] == pd.Timestamp("2025-03-04T10:20:00Z")
    assert to_timestamp(zoned)[0][0] == pd.Timestamp("2025-03-04T11:20:00Z")


def test_epoch_numbers_are_refused_as_timestamps():
    _, bad = to_timestamp(pd.Series([1700000000, 1700000001]))
    assert bad.all()


def test_numbers_and_integers():
    values, bad = to_number(pd.Series(["1250", " 1250.5 ", "1e3", "", "12k", "1,000", "inf"]))
    assert values[:3].tolist() == [1250.0, 1250.5, 1000.0]
    assert bad.tolist() == [False, False, False, False, True, True, True]
    ints, bad = to_integer(pd.Series(["120", "120.0", "12.5", ""]))
    assert str(ints.dtype) == "Int64"
    assert ints[0] == 120 and ints[1] == 120
    assert bad.tolist() == [False, False, True, False]


@pytest.mark.parametrize("text, expected", [("true", True), ("FALSE", False), ("1", True), ("0", False),
                                            ("yes", True), ("No", False), ("t", True), ("n", False)])
def test_boolean_spellings(text, expected):
    values, bad = to_bool(pd.Series([text]))
    assert values[0] is expected or bool(values[0]) == expected
    assert not bad.any()


def test_boolean_nonsense_is_bad_and_empty_is_missing():
    values, bad = to_bool(pd.Series(["maybe", ""]))
    assert bad.tolist() == [True, False]
    assert pd.isna(values[1])


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("https://www.Acme.com/", "acme.com"),
        ("http://acme.com/about?x=1", "acme.com"),
        ("ACME.COM.", "acme.com"),
        ("www.acme.com:8080", "acme.com"),
        ("eu.Acme.com", "eu.acme.com"),
        ("acme", None),
        ("", None),
    ],
)
def test_domains_are_normalised(raw, expected):
    got = normalise_domain(pd.Series([raw]))[0]
    assert (pd.isna(got) and expected is None) or got == expected


def test_email_domain():
    got = email_domain(pd.Series(["Ann@EU.Acme.com ", "no-at-sign", None]))
    assert got[0] == "eu.acme.com" and pd.isna(got[1]) and pd.isna(got[2])


def test_column_names_are_case_insensitive_and_trimmed(tmp_path, base_tables):
    base_tables["accounts"] = """
        ACCOUNT_ID , Name ,DOMAIN
        A1,Acme,acme.com
        A2,Beta,beta.io
        A3,Gamma,gamma.co.uk
    """
    h = read_history(write_tables(tmp_path / "h", base_tables))
    assert h["accounts"]["account_id"].tolist() == ["A1", "A2", "A3"]
    assert h["accounts"]["name"].tolist() == ["Acme", "Beta", "Gamma"]


def test_unlisted_columns_are_ignored(tmp_path, base_tables):
    base_tables["accounts"] = """
        account_id,domain,secret_score
        A1,acme.com,99
        A2,beta.io,1
        A3,gamma.co.uk,5
    """
    h = read_history(write_tables(tmp_path / "h", base_tables))
    assert "secret_score" not in h["accounts"].columns


def test_config_maps_user_column_names(tmp_path, base_tables):
    base_tables["accounts"] = """
        Acct Id,Website,Headcount
        A1,acme.com,10
        A2,beta.io,20
        A3,gamma.co.uk,30
    """
    config = Config(columns={"accounts": {"account_id": "Acct Id", "domain": "website", "employees": "HEADCOUNT"}})
    h = read_history(write_tables(tmp_path / "h", base_tables), config=config)
    assert h["accounts"]["employees"].tolist() == [10, 20, 30]
    assert h["accounts"]["domain"].tolist() == ["acme.com", "beta.io", "gamma.co.uk"]


def test_seniority_and_department_derived_from_title(history_dir):
    c = read_history(history_dir)["contacts"].set_index("contact_id")
    assert c.loc["C1", ["seniority", "department"]].tolist() == ["vp", "engineering"]
    assert c.loc["C2", ["seniority", "department"]].tolist() == ["manager", "procurement"]
    # Given values win over the title.
    assert c.loc["C3", ["seniority", "department"]].tolist() == ["individual", "finance"]


def test_pricing_path_makes_a_pricing_page_visit(history_dir):
    a = read_history(history_dir)["activities"].set_index("activity_id")
    assert a.loc["E1", "type"] == "pricing_page_visit"
    assert a.loc["E2", "type"] == "web_visit"


def test_missing_optional_tables_are_empty_with_contract_columns(history_dir):
    h = read_history(history_dir)
    assert "intent" not in h.present and "signals" not in h.present
    assert len(h["intent"]) == 0
    assert list(h["intent"].columns) == ["account_id", "domain", "date", "topic", "score"]
    assert str(h["signals"]["date"].dtype) == "datetime64[ns, UTC]"
