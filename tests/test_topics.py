"""Activity topics: given in the column, or derived from the URL's path by [topics] url_prefixes."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from mqa.features.build import build_features
from mqa.features.config import ConfigError, FeatureSettings, load_config
from mqa.features.history import read_history, url_paths
from mqa.features.inputs import describe_input, provided_inputs
from mqa.features.presets import PRESETS, init_config
from mqa.train.bundle import ModelBundle, _settings_from_dict, _settings_to_dict

PREFIXES = {
    "/solutions/data": "data",
    "/Solutions/Data-Pipelines": " Data Pipelines ",
    "/solutions/reverse-etl": "reverse etl",
}
ACCOUNTS = pd.DataFrame({"account_id": ["A1"], "domain": ["acme.com"]})


def activities(urls, topics=None) -> pd.DataFrame:
    frame = pd.DataFrame({"timestamp": "2024-03-01", "type": "web_visit", "account_id": "A1", "url": urls})
    if topics is not None:
        frame["topic"] = topics
    return frame


def read(acts: pd.DataFrame, prefixes=PREFIXES):
    config = load_config({"topics": {"url_prefixes": prefixes}} if prefixes is not None else None)
    return read_history({"accounts": ACCOUNTS, "activities": acts}, config=config, purpose="predict")


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


# --- reading -----------------------------------------------------------------------------------------------

def test_url_paths_drop_scheme_host_query_and_case():
    urls = pd.Series(["https://www.Vendor.com/Solutions/ETL?utm=x#top", "vendor.com/solutions/etl", "/Solutions/etl",
                      "HTTP://vendor.com", "//cdn.vendor.com/a.pdf", "vendor.com:8080/x", None, "ebook: etl guide"],
                     dtype="str")
    assert url_paths(urls).tolist() == ["/solutions/etl", "/solutions/etl", "/solutions/etl", "/", "/a.pdf", "/x",
                                        np.nan, "ebook: etl guide"]


def test_topics_come_from_the_longest_prefix_of_the_url_path():
    h = read(activities([
        "https://www.vendor.com/solutions/data-pipelines/at-scale?utm_source=ad",  # both data prefixes: the longer wins
        "https://www.vendor.com/solutions/database-sync",  # /solutions/data only
        "https://VENDOR.com/SOLUTIONS/Reverse-ETL",  # case-insensitive
        "vendor.com/solutions/reverse-etl/guide",  # no scheme
        "https://www.vendor.com/blog/solutions/data",  # the path must start with the prefix
        "https://solutions.vendor.com/data",  # the host does not count
        "https://www.vendor.com/pricing?next=/solutions/data",  # nor the query
        None,
    ]))
    assert h["activities"]["topic"].tolist() == ["data pipelines", "data", "reverse etl", "reverse etl", np.nan, np.nan,
                                                 np.nan, np.nan]
    assert [str(n) for n in h.notices if n.code == "activities.topic_from_url"] == [
        "activities: column 'topic': 4 of 8 activities have no topic of their own and got one from their url by "
        "[topics] url_prefixes; 4 rows (rows 1, 2, 3: 'data pipelines', 'data', 'reverse etl')."]


def test_given_topics_are_kept_trimmed_in_lower_case():
    h = read(activities(["https://vendor.com/solutions/reverse-etl", "https://vendor.com/solutions/data", "/x", "/x"],
                        topics=[" Data Integration ", "", "ETL", None]))
    assert h["activities"]["topic"].tolist() == ["data integration", "data", "etl", np.nan]
    assert [(n.code, n.count, n.rows) for n in h.notices if n.code == "activities.topic_from_url"] == [
        ("activities.topic_from_url", 1, (2,))]


def test_without_prefixes_topics_stay_as_given_and_empty_ones_stay_empty():
    urls = ["https://vendor.com/solutions/reverse-etl", "https://vendor.com/solutions/data"]
    for prefixes in (None, {}):
        h = read(activities(urls, topics=["Reverse ETL", None]), prefixes=prefixes)
        assert h["activities"]["topic"].tolist() == ["reverse etl", np.nan]
        assert [n.code for n in h.notices if n.code == "activities.topic_from_url"] == []
    # A history without topics says why they are missing.
    plain = read(activities(urls), prefixes=None)
    assert describe_input(plain, "activities.topic") == (
        "activities have no topic (not given, and no url matching [topics] url_prefixes to derive it from)")
    # Derived topics are provided, as given ones are.
    assert "activities.topic" in provided_inputs(read(activities(urls)))
    assert "activities.topic" not in provided_inputs(plain)


def test_topics_are_derived_for_the_kept_copy_of_a_duplicate_and_numbered_after_it():
    acts = activities(["https://vendor.com/solutions/data", "https://vendor.com/solutions/data", "/solutions/reverse-etl"])
    acts["activity_id"] = ["E1", "E1", "E2"]
    acts["timestamp"] = ["2024-03-02", "2024-03-01", "2024-03-03"]
    h = read(acts)
    assert h["activities"][["activity_id", "topic"]].values.tolist() == [["E1", "data"], ["E2", "reverse etl"]]
    assert [(n.code, n.count, n.rows) for n in h.notices if n.code in ("activities.duplicate_id", "activities.topic_from_url")] \
        == [("activities.duplicate_id", 1, (1,)), ("activities.topic_from_url", 2, (1, 2))]


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
