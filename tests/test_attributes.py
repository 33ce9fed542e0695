"""Declared attributes: a CRM's own account fields as features, and nothing undeclared ever reaching the model."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from mqa.features.build import build_features, feature_names, feature_spec, features_for
from mqa.features.config import ConfigError, FeatureSettings, load_config
from mqa.features.history import read_history
from mqa.features.inputs import usable_features
from mqa.features.problems import DataError
from mqa.predict.batch import predict_history
from mqa.predict.explain import family_contributions
from mqa.predict.sentences import sentences
from mqa.train.bundle import ModelBundle, _settings_from_dict, _settings_to_dict
from mqa.train.calibration import Calibration
from mqa.train.model import Encoding
from mqa.train.score import DEFAULT_CUTOFF, DEFAULT_TIERS, ScoreScale

from .conftest import BASE, dedent, write_tables

AS_OF = pd.Timestamp("2024-04-01", tz="UTC")
CONFIG = """
[attributes.accounts]
lead_source = "category"
Seats       = "number"

[columns.accounts]
lead_source = "Lead Source"
"""
ACCOUNTS = """
    account_id,name,domain,industry,employees,annual_revenue,country,technologies,created_at,Lead Source,SEATS,secret_score
    A1,Acme,acme.com,software,120,1000000,US,salesforce,2024-01-01, Paid Search ,120,0.9
    A2,Beta,beta.io,retail,5000,,DE,,2024-02-01,,1500.5,0.1
    A3,Gamma,gamma.co.uk,finance,40,2500000.5,GB,snowflake,,partner,,0.5
"""


def _config(tmp_path, text=CONFIG):
    path = tmp_path / "mqa.toml"
    path.write_text(dedent(text))
    return load_config(path)


@pytest.fixture
def declared(tmp_path):
    config = _config(tmp_path)
    history = read_history(write_tables(tmp_path / "h", dict(BASE, accounts=ACCOUNTS)), config=config)
    return config, history


# --- configuration --------------------------------------------------------------------------------------

def test_config_parses_attributes_in_order_lower_case(tmp_path):
    settings = _config(tmp_path).features
    assert settings.attributes == (("lead_source", "category"), ("seats", "number"))
    assert FeatureSettings().attributes == ()
    hash(settings.attributes)  # frozen settings stay hashable


def test_config_lists_every_attribute_problem_at_once(tmp_path):
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, """
            [attributes.accounts]
            plan = "text"
            seats = 3
            industry = "category"
            "Lead Source" = "category"

            [attributes.contacts]
            role = "category"

            [attributes.deals]
            size = "number"
        """)
    msg = str(err.value)
    assert "[attributes.accounts] plan: unknown kind 'text'; expected one of category, number" in msg
    assert "[attributes.accounts] seats: the kind must be a string, \"category\" or \"number\", not 3" in msg
    assert ("[attributes.accounts] industry: is a contract column of accounts, already read as the contract says; "
            "declare only your CRM's own fields") in msg
    assert ("[attributes.accounts] Lead Source: a name must be letters, digits and underscores (it names the feature "
            "attribute__<name>); map your column to such a name in [columns.accounts]") in msg
    assert "[attributes.contacts]: only accounts attributes are supported for now ([attributes.accounts])" in msg
    assert ("[attributes.deals]: only accounts attributes are supported for now ([attributes.accounts]); "
            "'deals' is not a table of the contract either") in msg
    assert msg.count("\n  - ") == 6


def test_mapping_an_undeclared_field_is_refused_with_the_hint(tmp_path):
    with pytest.raises(ConfigError, match=r"\[columns.accounts\] lead_source: not a column of 'accounts'; .*"
                                          r"\(a field of your own must be declared in \[attributes.accounts\] first\)"):
        _config(tmp_path, '[columns.accounts]\nlead_source = "Lead Source"\n')


# --- reading ---------------------------------------------------------------------------------------------

def test_declared_columns_are_read_typed_and_undeclared_ones_dropped(declared):
    _, history = declared
    a = history["accounts"].set_index("account_id")
    assert a["lead_source"].tolist()[0] == "Paid Search"  # trimmed
    assert pd.isna(a.loc["A2", "lead_source"]) and a.loc["A3", "lead_source"] == "partner"
    assert a["seats"].dtype == "float64"
    np.testing.assert_array_equal(a["seats"].to_numpy(), [120.0, 1500.5, np.nan])
    assert "secret_score" not in a.columns
    assert history.attributes == (("lead_source", "category"), ("seats", "number"))


def test_a_bad_number_is_a_data_error_with_table_column_and_rows(tmp_path):
    config = _config(tmp_path)
    accounts = ACCOUNTS.replace(",1500.5,", ",12k,")
    with pytest.raises(DataError, match=r"accounts: column 'seats': must be a number such as 1250 or 1250.5 "
                                        r"\(no thousands separators or currency signs\); some values are not; "
                                        r"1 row \(row 2: '12k'\)"):
        read_history(write_tables(tmp_path / "h", dict(BASE, accounts=accounts)), config=config)


def test_a_declared_column_missing_from_the_file_is_a_data_error(tmp_path):
    config = _config(tmp_path)
    with pytest.raises(DataError, match=r"accounts: column 'seats': is declared in \[attributes.accounts\] but is not "
                                        r"a column of accounts.csv; add it, map your column name to it in "
                                        r"\[columns.accounts\], or remove the declaration"):
        read_history(write_tables(tmp_path / "h", dict(BASE)), config=config)


# --- features --------------------------------------------------------------------------------------------

def test_attribute_features_are_per_account_constants(declared):
    config, history = declared
    names = feature_names(config.features)
    assert names[-2:] == ["attribute__lead_source", "attribute__seats"] and len(names) == len(feature_names()) + 2
    rows = build_features(history, as_of=[AS_OF, AS_OF + pd.Timedelta(days=14)], settings=config.features, all_rows=True)
    assert rows["attribute__lead_source"].dtype == "str" and rows["attribute__seats"].dtype == "float64"
    first = rows[rows["as_of"] == AS_OF].set_index("account_id")
    lead = first["attribute__lead_source"]
    assert lead["A1"] == "Paid Search" and pd.isna(lead["A2"]) and lead["A3"] == "partner"
    np.testing.assert_array_equal(first["attribute__seats"].to_numpy(), [120.0, 1500.5, np.nan])
    later = rows[rows["as_of"] != AS_OF].set_index("account_id")
    pd.testing.assert_series_equal(first["attribute__seats"], later["attribute__seats"])
    assert not any("secret" in c for c in rows.columns)
    # Without declarations, no attribute feature is built, whatever the accounts file holds.
    plain = build_features(history, as_of=[AS_OF], all_rows=True)
    assert not any(c.startswith("attribute__") for c in plain.columns)


def test_feature_spec_knows_declared_attributes_only(declared):
    config, _ = declared
    spec = feature_spec("attribute__lead_source", config.features)
    assert spec.family == "attribute" and spec.categorical and spec.sources == ("accounts.lead_source",)
    assert not feature_spec("attribute__seats", config.features).categorical
    with pytest.raises(KeyError, match=r"attribute the settings do not declare; add plan to \[attributes.accounts\]"):
        feature_spec("attribute__plan", config.features)
    assert [f.name for f in features_for(None)] == feature_names()


def test_an_entirely_empty_attribute_is_not_usable(tmp_path):
    config = _config(tmp_path)
    accounts = ACCOUNTS.replace(",120,0.9", ",,0.9").replace(",1500.5,", ",,")
    history = read_history(write_tables(tmp_path / "h", dict(BASE, accounts=accounts)), config=config)
    usable, notes = usable_features(history)
    assert "attribute__lead_source" in usable and "attribute__seats" not in usable
    assert ("attribute: accounts have no seats (empty in every row); 1 of 2 attribute features left out "
            "(attribute__seats)") in notes


def test_sentences_for_attributes(declared):
    config, _ = declared
    s = config.features
    assert sentences("attribute__lead_source", np.array(["paid search", None], dtype=object), s).tolist() == [
        "lead source: paid search", "lead source unknown"]
    assert sentences("attribute__seats", np.array([120.0, 1500.0, 12.5, np.nan]), s).tolist() == [
        "seats: 120", "seats: 1,500", "seats: 12.5", "seats unknown"]


# --- a model with attributes -----------------------------------------------------------------------------

def _bundle(history, settings) -> ModelBundle:
    names = ["attribute__lead_source", "attribute__seats", "fit__employees"]
    rows = build_features(history, as_of=[AS_OF], settings=settings, all_rows=True, features=names)
    rows = pd.concat([rows] * 10, ignore_index=True)
    y = np.tile([1.0, 0.0, 0.0], 10)
    encoding = Encoding.fit(rows.iloc[:0], names, settings)  # an empty fit still records which are categorical
    encoding = Encoding(encoding.features, {"attribute__lead_source": ["Paid Search", "partner"]})
    X = encoding.matrix(rows)
    booster = lgb.train({"objective": "binary", "min_data_in_leaf": 1, "min_data_in_bin": 1, "verbosity": -1,
                         "num_threads": 1, "seed": 0, "deterministic": True},
                        lgb.Dataset(X, y, categorical_feature=encoding.categorical_features), num_boost_round=5)
    raw = booster.predict(X, raw_score=True)
    return ModelBundle(booster, encoding, Calibration.fit(raw, y, method="sigmoid"), ScoreScale.fit(raw),
                       dict(DEFAULT_TIERS), DEFAULT_CUTOFF, settings)


def test_encoding_marks_category_attributes_categorical(declared):
    config, history = declared
    rows = build_features(history, as_of=[AS_OF], settings=config.features, all_rows=True)
    enc = Encoding.fit(pd.concat([rows] * 20, ignore_index=True), ["attribute__lead_source", "attribute__seats"],
                       config.features)
    assert enc.categorical_features == ["attribute__lead_source"]
    assert enc.categories["attribute__lead_source"] == ["Paid Search", "partner"]


def test_bundle_round_trip_and_prediction_with_attributes(declared, tmp_path):
    config, history = declared
    bundle = _bundle(history, config.features)
    loaded = ModelBundle.load(bundle.save(tmp_path / "model"))
    assert loaded.settings.attributes == (("lead_source", "category"), ("seats", "number"))
    assert loaded.settings == bundle.settings and loaded.version == bundle.version
    out = predict_history(history, loaded, AS_OF)
    reasons = [r for text in out["reasons"].dropna() for r in json.loads(text)]
    said = {r["text"] for r in reasons if r["feature"].startswith("attribute__")}
    assert said and said <= {"lead source: Paid Search", "lead source: partner", "lead source unknown",
                             "seats: 120", "seats: 1500.5", "seats unknown"}
    assert all(r["family"] == "attribute" for r in reasons if r["feature"].startswith("attribute__"))
    fams = json.loads(out["family_contributions"].dropna().iloc[0])
    assert "attribute" in fams


def test_a_history_read_without_the_declaration_is_refused_with_the_fix(declared, tmp_path):
    config, history = declared
    bundle = _bundle(history, config.features)
    plain = read_history(history.folder)  # no --config: the attribute columns are dropped
    with pytest.raises(ValueError, match=r"need accounts.lead_source, and accounts have no lead_source \(not in the file\).*"
                                         r"read it with the configuration that declares the model's \[attributes.accounts\]"):
        predict_history(plain, bundle, AS_OF)


def test_settings_without_attributes_serialise_as_before():
    d = _settings_to_dict(FeatureSettings())
    assert "attributes" not in d  # older models keep their model.json, hence their version
    assert _settings_from_dict(d).attributes == ()
    with_attrs = _settings_to_dict(FeatureSettings(attributes=(("seats", "number"),)))
    assert json.loads(json.dumps(with_attrs))["attributes"] == [["seats", "number"]]
    assert _settings_from_dict(json.loads(json.dumps(with_attrs))).attributes == (("seats", "number"),)


def test_family_contributions_list_attribute_only_for_models_that_have_it():
    contrib = np.array([[0.5, -0.25, 0.1]])
    per, text = family_contributions(contrib, ["fit__employees", "attribute__seats"])
    assert set(json.loads(text[0])) == {"fit", "engagement", "intent", "timing", "history", "attribute"}
    np.testing.assert_allclose(per[0, -1], -0.25)
    _, plain = family_contributions(contrib[:, [0, 2]], ["fit__employees"])
    assert "attribute" not in json.loads(plain[0])
