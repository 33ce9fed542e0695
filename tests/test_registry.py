"""A feature is defined once: every registered feature carries all of its metadata, and the families are registered.

Name, family, description, sources (contract columns) and a sentence
template whose forms render; families with their report labels, tables and
engagement streams. Adding a feature without one of them fails here, not at
scoring time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mqa.features import contract
from mqa.features.build import REGISTRY, UnknownFeature, feature_spec, features_for
from mqa.features.config import FeatureSettings
from mqa.features.context import Feature
from mqa.features.families import FAMILIES, FAMILIES_BY_NAME, FAMILY_REGISTRY, engagement_streams, family
from mqa.features.wording import KINDS, Template
from mqa.predict.sentences import sentences, template

SETTINGS = FeatureSettings(attributes=(("lead_source", "category"), ("seats", "number")))
NUMBERS = np.array([0.0, 1.0, 2.0, 1500.0, 0.37, np.nan])
WORDS = np.array(["software", "Retail", None], dtype=object)
ALL = features_for(SETTINGS)


def _contract_column(source: str) -> bool:
    table, _, column = source.partition(".")
    return table in contract.TABLES and column in contract.TABLES[table].names


def test_registry_has_every_family_and_unique_names():
    names = [f.name for f in ALL]
    assert len(names) == len(set(names))
    assert {f.family for f in ALL} == set(FAMILIES)
    assert len(REGISTRY) == 115  # the counts docs/features.md gives, family by family


@pytest.mark.parametrize("feature", ALL, ids=lambda f: f.name)
def test_feature_carries_all_its_metadata(feature):
    assert feature.name.startswith(feature.family + "__") and len(feature.name) > len(feature.family) + 2
    assert feature.family in FAMILIES_BY_NAME
    assert isinstance(feature.description, str) and feature.description.strip()
    assert feature.sources
    for source in feature.sources:
        for part in source.split("|"):
            if feature.family == "attribute":
                # A declared attribute is a column of the accounts table beyond the contract's.
                assert part == f"accounts.{feature.name.removeprefix('attribute__')}"
            else:
                assert _contract_column(part), f"{feature.name}: {part} is no contract column"
    t = feature.template
    assert isinstance(t, Template) and t.kind in KINDS
    assert template(feature.name, SETTINGS) == t


@pytest.mark.parametrize("feature", ALL, ids=lambda f: f.name)
def test_every_template_form_renders(feature):
    values = WORDS if feature.categorical else NUMBERS
    text = sentences(feature.name, values, SETTINGS)
    assert len(text) == len(values)
    for v, s in zip(values, text):
        assert isinstance(s, str) and s.strip(), f"{feature.name}: empty sentence for {v!r}"
        assert "{n}" not in s and "{w}" not in s, f"{feature.name}: unfilled placeholder in {s!r} for {v!r}"
    # The value itself shows where the template has a place for it.
    if feature.template.kind == "count" and "{n}" in feature.template.many:
        assert "1,500" in text[3]
    assert text.iloc[-1] == (feature.template.missing or ("unknown" if feature.categorical else "not known yet"))


def test_window_phrase_fills_every_form():
    t = Template("count", "{n} visits in {w}", "1 visit in {w}", "no visits in {w}", "nothing seen in {w}").within(28)
    assert (t.many, t.one, t.zero, t.missing) == ("{n} visits in the last 4 weeks", "1 visit in the last 4 weeks",
                                                  "no visits in the last 4 weeks", "nothing seen in the last 4 weeks")
    assert Template("count", "{n} in {w}").within(45).many == "{n} in the last 45 days"
    assert feature_spec("engagement__web_visit_90d").template.zero == "no web visits in the last 90 days"


def test_template_kind_is_checked():
    with pytest.raises(ValueError, match="template kind 'percentage' is none of count, days"):
        Template("percentage", "{n}%")


def test_unknown_feature_says_so_clearly():
    with pytest.raises(UnknownFeature, match=r"no feature 'engagement__web_visits_30d' in this version of mqa; "
                                             r"did you mean 'engagement__web_visit_30d'"):
        sentences("engagement__web_visits_30d", [1.0])
    with pytest.raises(KeyError) as err:  # still a KeyError for callers that catch one
        template("bogus__thing")
    assert str(err.value).startswith("no feature 'bogus__thing' in this version of mqa")
    with pytest.raises(UnknownFeature, match=r"attribute the settings do not declare; add plan to \[attributes.accounts\]"):
        template("attribute__plan", SETTINGS)


def test_a_feature_needs_a_registered_family_and_a_template():
    with pytest.raises(ValueError, match="no family 'engagment'; the families are fit, engagement"):
        Feature("engagment__x", None, "x", sources=("activities.timestamp",), template=Template("count", "{n}"))
    with pytest.raises(ValueError, match="'fit__x': needs a template"):
        Feature("fit__x", None, "x", sources=("accounts.industry",))


def test_families_defined_once():
    assert FAMILIES == ("fit", "engagement", "intent", "timing", "history", "dispositions", "buying_group", "attribute")
    for f in FAMILY_REGISTRY:
        assert f.label and f.short and f.description
        assert all(t in contract.TABLES for t in f.tables)
        assert all(_contract_column(s) for s in f.streams)
        # A family's tables are exactly those its features read.
        read = {part.split(".")[0] for feat in ALL if feat.family == f.name for s in feat.sources for part in s.split("|")}
        assert read == set(f.tables), f.name
        # A stream is read by a feature of the family.
        used = {part for feat in ALL if feat.family == f.name for s in feat.sources for part in s.split("|")}
        assert set(f.streams) <= used, f.name
    assert engagement_streams() == (("activities", "timestamp"), ("intent", "date"), ("signals", "date"))
    assert family("attribute").short == "Own fields"
    with pytest.raises(KeyError, match="no feature family 'fits'; the families are fit, engagement"):
        family("fits")


def test_report_and_batch_read_the_family_registry(monkeypatch):
    from mqa.features import families
    from mqa.predict import batch, report

    fams = {f["name"]: f for f in report._family_rows(
        pd.Series({"family_contributions": '{"fit": {"log_odds": 1, "share": 0.5, "points": 3}, '
                                          '"attribute": {"log_odds": -1, "share": 0.5, "points": -2}, '
                                          '"legacy": {"log_odds": 1, "share": 0.1, "points": 4}}'}), [])}
    assert (fams["fit"]["label"], fams["fit"]["short"]) == ("Fit: who they are", "Fit")
    assert (fams["attribute"]["label"], fams["attribute"]["short"]) == ("Your CRM's own fields", "Own fields")
    assert fams["legacy"]["label"] == "Legacy"  # a family of another version keeps its name

    at = pd.Timestamp("2025-01-10", tz="UTC")
    history = dict(activities=pd.DataFrame({"timestamp": pd.to_datetime(["2025-01-01"], utc=True)}),
                     intent=pd.DataFrame({"date": pd.to_datetime(["2025-01-05"], utc=True)}),
                     signals=pd.DataFrame({"date": pd.to_datetime(["2025-01-08"], utc=True)}))
    assert batch.last_event_at(history, at) == pd.Timestamp("2025-01-08", tz="UTC")
    # The streams come from the families: a family without them is not looked at.
    monkeypatch.setattr(families, "FAMILY_REGISTRY", tuple(f for f in families.FAMILY_REGISTRY if f.name != "timing"))
    assert batch.last_event_at(history, at) == pd.Timestamp("2025-01-05", tz="UTC")
