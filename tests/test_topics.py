"""[topics] url_prefixes: URL path prefixes mapped to topics, checked like every section and kept in the model bundle."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from mqa.features.build import build_features
from mqa.features.config import ConfigError, FeatureSettings, load_config
from mqa.features.history import read_history
from mqa.features.presets import PRESETS, init_config
from mqa.train.bundle import ModelBundle, _settings_from_dict, _settings_to_dict

PREFIXES = {
    "/solutions/data": "data",
    "/Solutions/Data-Pipelines": " Data Pipelines ",
    "/solutions/reverse-etl": "reverse etl",
}


# --- [topics] ----------------------------------------------------------------------------------------------

def test_prefixes_become_sorted_lower_case_settings():
    config = load_config({"topics": {"url_prefixes": PREFIXES}})
    assert config.features.topic_url_prefixes == (
        ("/solutions/data", "data"), ("/solutions/data-pipelines", "data pipelines"),
        ("/solutions/reverse-etl", "reverse etl"))
    assert load_config(None).features.topic_url_prefixes == () == FeatureSettings().topic_url_prefixes


def test_bad_prefixes_and_topics_are_listed_together(tmp_path):
    path = tmp_path / "mqa.toml"
    path.write_text('[topics]\nurl_prefixes = { "solutions/etl" = "etl", "https://vendor.com/x" = "x", "/ok" = "", '
                    '"/n" = 3, "/dup" = "a", "/DUP " = "b" }\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).splitlines() == [
        f"config {path}:",
        "  - [topics] url_prefixes: 'solutions/etl': a prefix must be a URL path starting with \"/\", such as "
        "\"/solutions/etl\" (the path only: a URL's host and query are not compared)",
        "  - [topics] url_prefixes: 'https://vendor.com/x': a prefix must be a URL path starting with \"/\", such as "
        "\"/solutions/etl\" (the path only: a URL's host and query are not compared)",
        "  - [topics] url_prefixes: '/ok': the topic must be non-empty text, not ''",
        "  - [topics] url_prefixes: '/n': the topic must be non-empty text, not 3",
        "  - [topics] url_prefixes: '/DUP ': given twice (prefixes are compared case-insensitively)",
    ]


@pytest.mark.parametrize("document, message", [
    ("[topics]\nurl_prefixes = 3\n",
     '[topics] url_prefixes: must be a table of URL path prefix = topic, such as { "/solutions/etl" = "etl" }, not 3'),
    ("[topics]\nurl_prefix = {}\n", "unknown key (did you mean url_prefixes?); the keys of [topics] are url_prefixes"),
    ('url_prefixes = { "/a" = "b" }\n', "url_prefixes]: is not a section; it is a key of [topics]: write it under [topics]"),
])
def test_the_section_is_checked_like_every_section(tmp_path, document, message):
    path = tmp_path / "mqa.toml"
    path.write_text(document)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)


def test_mqa_init_shows_the_section_with_an_example_that_loads(tmp_path):
    text = init_config()
    assert ("\n[topics]\n# URL path prefix = topic: an activity without a topic gets the one of the longest prefix its "
            "URL's path starts with (compared case-insensitively; host and query ignored). Not set by default; for "
            "example:\n# url_prefixes = { \"/solutions/data-pipelines\" = \"data pipelines\", \"/solutions/reverse-etl\" = "
            "\"reverse etl\" }\n") in text
    for preset in (None, *PRESETS):
        path = tmp_path / f"{preset}.toml"
        path.write_text(init_config(preset))
        assert load_config(path).features.topic_url_prefixes == ()
        # Uncommenting the example gives the example's settings.
        path.write_text(init_config(preset).replace("# url_prefixes = ", "url_prefixes = "))
        assert load_config(path).features.topic_url_prefixes == (
            ("/solutions/data-pipelines", "data pipelines"), ("/solutions/reverse-etl", "reverse etl"))


# --- the model bundle --------------------------------------------------------------------------------------

def test_settings_keep_their_prefixes_through_json_and_leave_them_out_when_none():
    assert "topic_url_prefixes" not in _settings_to_dict(FeatureSettings())  # older models keep their version
    settings = load_config({"topics": {"url_prefixes": PREFIXES}}).features
    d = json.loads(json.dumps(_settings_to_dict(settings)))
    assert d["topic_url_prefixes"][0] == ["/solutions/data", "data"]
    assert _settings_from_dict(d) == settings
    assert _settings_from_dict(_settings_to_dict(FeatureSettings())).topic_url_prefixes == ()


def test_a_saved_bundle_keeps_the_prefixes(tmp_path):
    from mqa.features.config import DEFAULT_CUTOFF, DEFAULT_TIERS
    from mqa.train.calibration import Calibration
    from mqa.train.model import Encoding
    from mqa.train.score import ScoreScale

    settings = load_config({"topics": {"url_prefixes": PREFIXES}}).features
    accounts = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "employees": ["10", "200", "3000"]})
    history = read_history({"accounts": accounts}, purpose="predict")
    names = ["fit__employees"]
    rows = build_features(history, as_of=[pd.Timestamp("2024-06-01", tz="UTC")], settings=settings, all_rows=True,
                          features=names)
    rows = pd.concat([rows] * 10, ignore_index=True)
    y = np.tile([1.0, 0.0, 0.0], 10)
    encoding = Encoding.fit(rows, names, settings)
    booster = lgb.train({"objective": "binary", "min_data_in_leaf": 1, "min_data_in_bin": 1, "verbosity": -1,
                         "num_threads": 1, "seed": 0, "deterministic": True},
                        lgb.Dataset(encoding.matrix(rows), y), num_boost_round=3)
    raw = booster.predict(encoding.matrix(rows), raw_score=True)
    bundle = ModelBundle(booster, encoding, Calibration.fit(raw, y, method="sigmoid"), ScoreScale.fit(raw),
                         dict(DEFAULT_TIERS), DEFAULT_CUTOFF, settings)
    loaded = ModelBundle.load(bundle.save(tmp_path / "model"))
    assert loaded.settings.topic_url_prefixes == settings.topic_url_prefixes
    assert loaded.settings == settings and loaded.version == bundle.version
