"""Feature settings read from the TOML configuration: values and error messages."""

from __future__ import annotations

import pytest

from mqa.features.config import DEFAULT_WEIGHTS, ConfigError, FeatureSettings, load_config, validate_document


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


# --- one schema: unknown names, every problem at once, no traceback ----------------------------------------

def test_misspelt_key_is_refused_with_the_right_name(tmp_path):
    with pytest.raises(ConfigError, match=r"\[labels\] horizon_day: unknown key \(did you mean horizon_days\?\); "
                                          r"the keys of \[labels\] are horizon_days, opportunity_types, exclude_types"):
        load_config(write(tmp_path, "[labels]\nhorizon_day = 30\n"))


def test_misspelt_section_is_refused_with_the_right_name(tmp_path):
    with pytest.raises(ConfigError, match=r"\[scores\]: unknown section \(did you mean \[score\]\?\); the sections are "
                                          r"\[tables\], .*\[score\]"):
        load_config(write(tmp_path, "[scores]\ncutoff = 70\n"))


def test_a_key_outside_its_section_is_sent_to_it(tmp_path):
    with pytest.raises(ConfigError, match=r"horizon_days: is not a section; it is a key of \[labels\]"):
        load_config(write(tmp_path, "horizon_days = 30\n"))


def test_problems_in_every_section_are_reported_together(tmp_path):
    path = write(tmp_path, """
[labels]
horizon_day = 30
[scores]
cutoff = 70
[evaluation]
weekly_capacity = "lots"
[score]
tiers = { targeted = 60, mqa = 85 }
[model]
families = ["fit", "engagment"]
[backtest]
folds = 0
[mlflow]
experiment = ""
[columns.accounts]
account_idd = "Id"
[tables]
accounts = "Account.xlsx"
""")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    expected = [
        f"config {path}:",
        "[labels] horizon_day: unknown key (did you mean horizon_days?)",
        "[scores]: unknown section (did you mean [score]?)",
        "[evaluation] weekly_capacity: must be a number >= 0, not 'lots'",
        "[score.tiers]: the lowest tier must start at 0 so every score has a tier",
        "[model] families: must be a non-empty list drawn from fit, engagement, intent, timing, history, dispositions, buying_group, attribute, "
        "not ['fit', 'engagment'] (did you mean 'engagement' for 'engagment'?)",
        "[backtest] folds: must be a whole number from 1 to 12, not 0",
        "[mlflow] experiment: must be a non-empty string, not ''",
        "[columns.accounts] account_idd: not a column of 'accounts' (did you mean account_id?)",
        "[tables] accounts: 'Account.xlsx' is neither CSV nor Parquet",
    ]
    for line in expected:
        assert line in msg
    assert msg.count("\n  - ") == len(expected) - 1


@pytest.mark.parametrize("text, expected", [
    ("icp = 3\n", "[icp]: must be a table ([icp] with its keys below it), not 3"),
    ('columns = "x"\n', "[columns]: must be a table ([columns] with its keys below it), not 'x'"),
    ("icp = [1, 2]\n", "[icp]: must be a table ([icp] with its keys below it), not [1, 2]"),
    ('[columns]\naccounts = "x"\n', "[columns] accounts: must map contract column names to your column names, not 'x'"),
    ("[engagement]\nweights = [1]\n", "[engagement] weights: must be a table of activity type = points, not [1]"),
    ("[engagement.committee]\nbuyers = []\n", "[engagement.committee] buyers: each role must map to a non-empty list"),
    ("[icp]\nemployees = 500\n", "[icp] employees: must be [min, max] whole numbers with 0 <= min <= max, not 500"),
    ("[score]\ncutoff = true\n", "[score] cutoff: must be a number from 0 to 100, not True"),
    ("[grid]\nwarmup_days = 2024-01-01\n", "[grid] warmup_days: must be a whole number >= 0, not datetime.date(2024, 1, 1)"),
    ("[tables]\naccounts = \"exports/Account.csv\"\n", "[tables] accounts: must be a file name in the history folder, not a path"),
    ('[tables]\naccounts = "a.csv"\ncontacts = "A.CSV"\n', "[tables] contacts: 'A.CSV' is already the file of accounts"),
    ('[columns.acounts]\naccount_id = "Id"\n', "[columns.acounts]: unknown table; known tables are accounts, contacts, "
                                              "activities, intent, signals, opportunities, opportunity_contacts, dispositions (did you mean [columns.accounts]?)"),
    ("[columns.contacts]\nname = []\n", "[columns.contacts] name: the value must be your column's name as a string, "
                                        "or a list of column names to join with a space, not []"),
    ("[labels\n", "not valid TOML"),
])
def test_malformed_files_are_refused_with_a_message(tmp_path, text, expected):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert expected in str(info.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "mqa.toml"
    path.write_bytes(b'[icp]\nindustries = ["caf\xe9"]\n')
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte \d+\); save the file as UTF-8"):
        load_config(path)


def test_a_folder_is_no_config_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path)


def test_a_dict_is_read_like_a_file():
    config = load_config({"labels": {"horizon_days": 30}, "columns": {"contacts": {"name": ["First", "Last"]}},
                          "icp": {"employees": (10, 500), "industries": ("Retail",)}})
    assert config.features.horizon_days == 30 and config.joins == {"contacts": {"name": ("First", "Last")}}
    assert config.features.icp_employees == (10, 500) and config.features.icp_industries == ("retail",)
    with pytest.raises(ConfigError, match=r"config \(a dict\):\n  - \[labels\] horizon_day: unknown key"):
        load_config({"labels": {"horizon_day": 30}})
    with pytest.raises(ConfigError, match="must be a table of sections"):
        validate_document([1])


def test_training_sections_are_read_and_their_defaults_agree(tmp_path):
    from mqa.train.settings import TrainSettings, train_settings

    assert train_settings(load_config(None)) == TrainSettings()
    t = train_settings(load_config(write(tmp_path, """
[score]
cutoff = 70
[rules]
min_contacts = 3
[evaluation]
weekly_capacity = 40
[backtest]
folds = 2
[model]
families = ["fit", "engagement"]
[mlflow]
experiment = "x"
""")))
    assert (t.cutoff, t.tiers["mqa"], t.rules.min_contacts, t.weekly_capacity, t.folds, t.families, t.experiment) == (
        70.0, 70.0, 3, 40.0, 2, ("fit", "engagement"), "x")


def test_the_default_icp_is_noticed(tmp_path):
    from mqa.features.config import icp_notice

    assert load_config(None).icp_is_default
    assert "the ideal customer profile is the built-in default" in icp_notice(load_config(None))
    mine = load_config(write(tmp_path, '[icp]\nindustries = ["retail"]\n'))
    assert not mine.icp_is_default and icp_notice(mine) is None
