"""Each feature family on a tiny inline history, with exact expected values at one as-of date.

The history is built so that every edge is visible: a row exactly at as_of
counts, a row exactly one window before as_of does not, a row a second after
as_of does not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mqa.features.build import build_features, feature_names
from mqa.features.history import read_history

from .conftest import write_tables

AS_OF = pd.Timestamp("2025-01-01", tz="UTC")

TABLES = {
    "accounts": """
        account_id,domain,industry,employees,technologies,created_at
        A,acme.com,Software,300,Snowflake; dbt;Excel,2023-01-01
        B,beta.io,,,,
        C,gamma.com,Retail,50,,2024-12-01
    """,
    "contacts": """
        contact_id,account_id,name,email,title,seniority,department,created_at
        c1,A,Ann,ann@acme.com,VP Engineering,,,2024-01-01
        c2,A,Bob,bob@acme.com,Finance Manager,,,2024-01-01
        c3,A,Cy,cy@acme.com,Procurement Analyst,,,2024-01-01
    """,
    "activities": """
        activity_id,timestamp,type,contact_id,account_id,email,url,minutes
        e01,2024-12-31T09:00:00Z,web_visit,c1,,,https://v.com/docs,3
        e02,2024-12-20,web_visit,c1,,,https://v.com/pricing,
        e03,2024-12-10,demo_request,c2,,,,
        e04,2024-11-01,content_download,c3,,,,
        e05,2024-10-03,email_open,c1,,,,
        e06,2025-01-01T00:00:00Z,webinar_attended,c2,,,,60
        e07,2025-01-01T00:00:01Z,form_fill,c1,,,,
        e08,2024-12-30,web_visit,,A,,,
        e09,2024-12-15,email_click,,,new.person@acme.com,,
        e10,2024-12-31,web_visit,,C,,,
    """,
    "intent": """
        account_id,date,topic,score
        A,2024-12-30,ETL,80
        A,2024-12-23,ETL,70
        A,2024-12-23,Payroll Software,65
        A,2024-12-16,Data Warehousing,40
        A,2024-11-20,ETL,30
        A,2024-11-06,ETL,50
        A,2025-01-02,ETL,99
    """,
    "signals": """
        account_id,date,type
        A,2024-12-01,executive_hire
        A,2024-06-01,funding_round
        A,2025-02-01,executive_hire
    """,
    "opportunities": """
        opportunity_id,account_id,created_at,closed_at,is_won,type
        O1,A,2023-01-01,2023-03-01,true,new_business
        O2,A,2024-05-01,2024-08-01,false,new_business
        O3,A,2024-12-20,2024-12-25,false,new_business
        O4,C,2024-12-02,2025-03-01,true,new_business
        O5,B,2025-12-31,,,new_business
    """,
}


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    folder = write_tables(tmp_path_factory.mktemp("families") / "h", TABLES)
    frame = build_features(read_history(folder), as_of=[AS_OF], all_rows=True)
    return frame.set_index("account_id")


def check(rows, account, expected: dict):
    got = rows.loc[account, list(expected)]
    for name, want in expected.items():
        value = got[name]
        if isinstance(want, float) and np.isnan(want):
            assert pd.isna(value), f"{name}: expected NaN, got {value}"
        else:
            assert value == pytest.approx(want), f"{name}: expected {want}, got {value}"


def test_names_follow_family_measure_window():
    names = feature_names()
    assert len(names) == len(set(names))
    for name in names:
        family, _, measure = name.partition("__")
        assert family in {"fit", "engagement", "intent", "timing", "history", "dispositions", "buying_group"} and measure, name


def test_fit(rows):
    check(rows, "A", {
        "fit__industry": "software", "fit__employees": 300.0, "fit__technologies_count": 3.0,
        "fit__icp_technologies": 2.0, "fit__icp_industry": 1.0, "fit__icp_size": 1.0,
        "fit__icp_score": (1 + 1 + 2 / 5) / 3, "fit__account_age_days": 731.0,
    })
    # Nothing known: well-defined values, never an error.
    check(rows, "B", {
        "fit__employees": np.nan, "fit__technologies_count": 0.0, "fit__icp_industry": 0.0,
        "fit__icp_size": np.nan, "fit__icp_score": 0.0, "fit__account_age_days": np.nan,
    })
    assert pd.isna(rows.loc["B", "fit__industry"])


def test_engagement_depth(rows):
    check(rows, "A", {
        "engagement__web_visit_7d": 2.0,  # e01 and the anonymous e08
        "engagement__pricing_page_visit_7d": 0.0,
        "engagement__pricing_page_visit_30d": 1.0,  # e02: a web visit on /pricing
        "engagement__demo_request_30d": 1.0,
        "engagement__content_download_30d": 0.0,
        "engagement__content_download_90d": 1.0,
        "engagement__email_open_90d": 0.0,  # exactly 90 days before: outside
        "engagement__webinar_attended_7d": 1.0,  # exactly at as_of: inside
        "engagement__form_fill_7d": 0.0,  # one second after: outside
        "engagement__email_click_30d": 1.0,
        "engagement__activities_7d": 3.0,
        "engagement__activities_90d": 7.0,
        "engagement__points_30d": 2 * 1 + 10 + 25 + 8 + 3,
        "engagement__points_90d": 2 * 1 + 10 + 25 + 8 + 3 + 5,
        "engagement__minutes_30d": 63.0,
        "engagement__anonymous_visits_30d": 1.0,
        "engagement__known_activities_30d": 5.0,
        "engagement__days_since_pricing_visit": 12.0,
        "engagement__days_since_demo_request": 22.0,
    })
    check(rows, "B", {"engagement__activities_90d": 0.0, "engagement__points_90d": 0.0,
                      "engagement__days_since_pricing_visit": np.nan})


def test_engagement_breadth(rows):
    check(rows, "A", {
        "engagement__contacts_engaged_30d": 3.0,  # c1, c2 and the email-only new.person
        "engagement__contacts_engaged_90d": 4.0,  # + c3
        "engagement__departments_engaged_30d": 2.0,  # engineering, finance
        "engagement__departments_engaged_90d": 3.0,  # + procurement
        "engagement__seniority_levels_30d": 2.0,  # vp, manager
        "engagement__seniority_levels_90d": 3.0,  # + individual
        "engagement__senior_contacts_30d": 1.0,
        "engagement__committee_coverage_30d": 3 / 5,  # sponsor (VP), technical, finance
        "engagement__committee_coverage_90d": 4 / 5,  # + procurement
        "engagement__top_contact_share_30d": 2 / 5,  # c1 and c2 hold 2 of 5 known activities each
    })
    check(rows, "B", {"engagement__contacts_engaged_90d": 0.0, "engagement__committee_coverage_90d": 0.0,
                      "engagement__top_contact_share_90d": np.nan})


def test_intent(rows):
    check(rows, "A", {
        "intent__surging_topics_28d": 2.0,  # ETL and Payroll Software (>= 60)
        "intent__relevant_surging_topics_28d": 1.0,  # ETL only
        "intent__max_score_28d": 80.0,  # the 99 on 2025-01-02 is after as_of
        "intent__relevant_max_score_28d": 80.0,
        "intent__mean_score_28d": (80 + 70 + 65 + 40) / 4,
        "intent__score_trend_28d": (80 + 70 + 65 + 40) / 4 - (30 + 50) / 2,
        "intent__weeks_surging_84d": 2.0,
        "intent__relevant_weeks_surging_84d": 2.0,
    })
    # No intent observed: zero counts, missing scores.
    check(rows, "B", {"intent__surging_topics_28d": 0.0, "intent__max_score_28d": np.nan,
                      "intent__mean_score_28d": np.nan, "intent__score_trend_28d": np.nan})


def test_timing(rows):
    check(rows, "A", {
        "timing__days_since_executive_hire": 31.0,  # the 2025-02-01 hire is after as_of
        "timing__executive_hire_90d": 1.0,
        "timing__days_since_funding_round": 214.0,
        "timing__funding_round_90d": 0.0,
        "timing__days_since_layoff": np.nan,
        "timing__days_since_activity": 0.0,  # the webinar exactly at as_of
        "timing__activity_velocity_30d": (6 + 1) / (1 / 2 + 1),
    })
    check(rows, "B", {"timing__days_since_activity": np.nan, "timing__activity_velocity_30d": 1.0})


def test_history(rows):
    check(rows, "A", {
        "history__prior_opportunities": 3.0,
        "history__days_since_closed_lost": 7.0,
        "history__is_customer": 1.0,
        "history__days_since_opportunity": 12.0,
    })
    # C's opportunity is open at as_of and won only later: not a customer yet.
    check(rows, "C", {"history__prior_opportunities": 1.0, "history__is_customer": 0.0,
                      "history__days_since_closed_lost": np.nan})
    assert rows.loc["C", "status"] == "in_pipeline"
    assert rows.loc["A", "status"] == "scored"


def test_icp_settings_change_fit(tmp_path):
    from mqa.features.config import FeatureSettings

    folder = write_tables(tmp_path / "h", TABLES)
    settings = FeatureSettings(icp_industries=("retail",), icp_employees=(10, 100), icp_technologies=("excel",))
    r = build_features(read_history(folder), as_of=[AS_OF], all_rows=True, settings=settings).set_index("account_id")
    assert r.loc["A", "fit__icp_score"] == pytest.approx((0 + 0 + 1) / 3)
    assert r.loc["C", "fit__icp_score"] == pytest.approx((1 + 1 + 0) / 3)


def test_weights_setting_changes_points(tmp_path):
    from mqa.features.config import DEFAULT_WEIGHTS, FeatureSettings

    weights = dict(DEFAULT_WEIGHTS, demo_request=100.0)
    folder = write_tables(tmp_path / "h", TABLES)
    r = build_features(read_history(folder), as_of=[AS_OF], all_rows=True,
                       settings=FeatureSettings(weights=weights)).set_index("account_id")
    assert r.loc["A", "engagement__points_30d"] == 2 + 10 + 100 + 8 + 3


def test_dispositions_count_only_verdicts_given_by_as_of():
    import pandas as pd

    from mqa.features.history import read_history

    tables = {
        "accounts": pd.DataFrame({"account_id": ["A", "B"], "created_at": ["2024-01-01", "2024-01-01"]}),
        "dispositions": pd.DataFrame({
            "account_id": ["A", "A", "A", "A", "B"],
            "date": ["2024-01-10", "2024-05-01", "2024-06-20", "2024-07-02", "2024-06-01"],
            "disposition": ["rejected", "Rejected", "recycled", "rejected", "accepted"],
        }),
    }
    rows = build_features(read_history(tables, purpose="predict"), as_of=["2024-07-01"], all_rows=True).set_index("account_id")
    a, b = rows.loc["A"], rows.loc["B"]
    # The rejection of 2024-07-02 comes after as-of and counts nowhere; the 180 days run from 2024-01-03.
    assert a["dispositions__days_since_rejection"] == 61.0  # 2024-05-01
    assert a["dispositions__rejections_180d"] == 2.0  # 2024-01-10 and 2024-05-01 (the window starts 2024-01-03)
    assert a["dispositions__recycled_180d"] == 1.0
    assert pd.isna(b["dispositions__days_since_rejection"]) and b["dispositions__rejections_180d"] == 0.0
