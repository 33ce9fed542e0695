"""Feature settings read from the TOML configuration: values and error messages."""

from __future__ import annotations

import pytest

from mqa.features.config import DEFAULT_WEIGHTS, ConfigError, FeatureSettings, load_config


def write(tmp_path, text):
    path = tmp_path / "mqa.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file():
    s = load_config(None).features
    assert s == FeatureSettings()
    assert s.horizon_days == 90 and s.step_days == 14 and s.label_types is None
    assert s.weights["demo_request"] == 25 and s.weights["product_usage"] == 0


def test_every_section(tmp_path):
    s = load_config(write(tmp_path, """
        [icp]
        industries = ["Retail", " Energy "]
        employees = [10, 500]
        technologies = ["Excel"]
        [intent]
        relevant_topics = ["CRM"]
        [engagement.weights]
        demo_request = 50
        [engagement.committee]
        buyers = ["procurement", "Finance"]
        [labels]
        horizon_days = 60
        opportunity_types = ["New_Business"]
        [grid]
        step_days = 7
    """.replace("\n        ", "\n"))).features
    assert s.icp_industries == ("retail", "energy")
    assert s.icp_employees == (10, 500)
    assert s.icp_technologies == ("excel",)
    assert s.relevant_topics == ("crm",)
    assert s.weights == dict(DEFAULT_WEIGHTS, demo_request=50.0)
    assert s.committee == {"buyers": ("procurement", "finance")}
    assert (s.horizon_days, s.label_types, s.step_days) == (60, ("new_business",), 7)


def test_all_errors_listed_at_once(tmp_path):
    path = write(tmp_path, """
[icp]
employees = [500, 10]
industries = "software"
[engagement.weights]
demo = 5
web_visit = -1
[labels]
horizon_days = 0
opportunity_types = []
[grid]
step_days = 1.5
""")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    for expected in [
        f"config {path}:",
        "[icp] employees: must be [min, max] whole numbers with 0 <= min <= max",
        "[icp] industries: must be a list of strings",
        "[engagement.weights] demo: not an activity type",
        "[engagement.weights] web_visit: must be a number >= 0",
        "[labels] horizon_days: must be a whole number >= 1",
        "[labels] opportunity_types: must be a non-empty list of opportunity types",
        "[grid] step_days: must be a whole number >= 1",
    ]:
        assert expected in msg
