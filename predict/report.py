"""Reports for sales reps: a page per account, a digest, and a summary a CRM or a chat message can carry.

``mqa report`` reads the output of ``mqa predict`` and the history it was made
from, and writes a folder::

    index.html            the digest: new MQAs, all MQAs, the closest below the cutoff
    accounts/<id>.html    one page per account: score, why, whom to call, what they read, ...
    summary.csv           score, tier and top three reasons per account (CRM import)
    summary.md            the same as Markdown lines (Slack, email)

Pages are rendered with Jinja2 (autoescaped: an account named
``<script>alert(1)</script>`` shows as text) and charts with pygal as inline
SVG. Nothing is fetched from the network; every page opens from a file or an
email attachment. Jinja2 and pygal are imported here and nowhere else in
``mqa.predict`` but :mod:`~mqa.predict.monitor_page` (the monitoring page, which
shares this module's chart style).

Contacts' names and titles are written into the pages, which are for reps;
they are never printed to the console, and the summary files carry none.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pygal
from jinja2 import Environment, PackageLoader, select_autoescape
from pygal.style import Style

from mqa import __version__
from mqa.features.config import DEFAULT_COMMITTEE, FeatureSettings
from mqa.features.families import FAMILIES_BY_NAME
from mqa.features.files import read_output
from mqa.features.history import History
from mqa.features.outputs import TEMP_PREFIX, OutputError, clean_leftovers, csv_safe, file_mode, temp_folder
from mqa.features.snapshots import SCORED

from .batch import FLAG_COLUMNS, NUMBER_COLUMNS
from .handoff import INTENT_DAYS, PEOPLE_DAYS, SIGNAL_DAYS, Handoff, first_step, handoffs

REQUIRED_COLUMNS = ("account_id", "as_of", "status", "score", "tier", "is_mqa", "reasons", "family_contributions")
MARKER = ".mqa-report"  # the listing of the files a report wrote: a re-run replaces those and nothing else
NEAR_CUTOFF = 20
TREND_POINTS = 8
TIER_LABELS = {"mqa": "MQA", "targeted": "Targeted", "nurture": "Nurture"}
STATUS_TEXT = {
    "in_pipeline": "Not scored: an opportunity is already open (in pipeline).",
    "not_created": "Not scored: the account did not exist yet at this date.",
}
_CHART_STYLE = Style(
    background="transparent", plot_background="transparent", font_family="system-ui,-apple-system,sans-serif",
    colors=("transparent", "#264653"), label_font_size=12, major_label_font_size=12,
    foreground="#1d2733", foreground_strong="#1d2733", foreground_subtle="#c9d2dc", guide_stroke_color="#e6ebf0",
)
_TREND_STYLE = Style(
    background="transparent", plot_background="transparent", font_family="system-ui,-apple-system,sans-serif",
    colors=("#1f5fa8", "#b0b8c1"), label_font_size=10, major_label_font_size=10, foreground="#4a5a6a",
    foreground_strong="#4a5a6a", foreground_subtle="#e6ebf0", guide_stroke_color="#eef1f4",
)


@dataclass(frozen=True)
class ReportSettings:
    """What the report words its numbers with.

    ``cutoff`` is the score's (``[score]``; tiers come with the scores), ``horizon_days``
    the label's (``[labels]``), ``committee`` and ``relevant_topics`` the
    features' (``[committee]``, ``[intent]``); ``near`` is how many accounts
    below the cutoff the digest lists.
    """

    cutoff: float = 85.0
    horizon_days: int = 90
    committee: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_COMMITTEE))
    relevant_topics: tuple[str, ...] = FeatureSettings().relevant_topics
    near: int = NEAR_CUTOFF


@dataclass
class Report:
    """A rendered report: ``files`` maps a relative path to its text; ``pages`` counts account pages."""

    files: dict[str, str]
    pages: int
    listed: int
    as_of: pd.Timestamp


def read_scores(paths) -> pd.DataFrame:
    """One or more outputs of ``mqa predict`` (Parquet or CSV), checked for the columns a report needs.

    Raises
    ------
    ValueError
        A file is missing, unreadable, or lacks a column; the message names it.
    """
    frames = []
    for i, path in enumerate(map(Path, paths)):
        if not path.is_file():
            raise ValueError(f"{path}: no such file; pass the output of 'mqa predict --out FILE'")
        try:
            frame = read_output(path, numbers=NUMBER_COLUMNS, flags=FLAG_COLUMNS)
        except Exception as exc:  # noqa: BLE001 - any reader failure is the user's file
            raise ValueError(f"{path}: not a readable Parquet or CSV file ({str(exc).splitlines()[0]})") from None
        lacking = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
        if lacking:
            raise ValueError(f"{path}: lacks column(s) {', '.join(lacking)}; pass the output of 'mqa predict'")
        frame["account_id"] = frame["account_id"].astype("str")
        frame["as_of"] = pd.to_datetime(frame["as_of"], utc=True)
        frame["is_mqa"] = frame["is_mqa"].astype("boolean")
        frame["became_mqa"] = frame["became_mqa"].astype("boolean") if "became_mqa" in frame else pd.array([pd.NA] * len(frame), dtype="boolean")
        frame["source"] = i  # which of ``paths`` the row came from
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def reported_date(scores: pd.DataFrame) -> pd.Timestamp:
    """The as-of date a report is about: the latest of the first scores file (``source`` 0), or of all rows.

    Raises
    ------
    ValueError
        No scores at all.
    """
    if scores.empty:
        raise ValueError("the scores hold no row; pass an output of 'mqa predict'")
    first = scores["source"] == 0 if "source" in scores else pd.Series(True, index=scores.index)
    return scores.loc[first.to_numpy(dtype=bool), "as_of"].max()


def render_report(scores: pd.DataFrame, history: History, settings: ReportSettings | None = None, accounts=None,
                  only_mqa: bool = False, owner: str | None = None, scores_name: str = "") -> Report:
    """Render the digest, the account pages and the summaries.

    Parameters
    ----------
    scores : DataFrame
        From :func:`read_scores`. The date reported is the latest as-of date of
        the first file (``source`` 0; the latest of all when there is no
        ``source`` column); earlier dates, in that file or the others, make each
        account's trend, and later dates of other files are left out.
    history : History
        The history the scores were made from (for names, people, content, ...).
    settings : ReportSettings, optional
    accounts : sequence of str, optional
        Write pages for these accounts (any status). Default: every MQA and
        the ``settings.near`` accounts closest below the cutoff.
    only_mqa : bool
        Only MQAs.
    owner : str, optional
        Only accounts this owner holds (``accounts.owner``).
    scores_name : str
        Shown in the digest's footer.

    Returns
    -------
    Report

    Raises
    ------
    ValueError
        An unknown account or owner, or scores of accounts the history lacks.
    """
    settings = settings or ReportSettings()
    as_of = reported_date(scores)
    scores = scores[scores["as_of"] <= as_of]
    current = scores[scores["as_of"] == as_of].drop_duplicates("account_id", keep="last")
    current.index = pd.Index(current["account_id"].to_numpy(dtype=object))
    info = history["accounts"].set_index("account_id")
    unknown = current.index.difference(info.index)
    if len(unknown):
        raise ValueError(f"the scores name {len(unknown):,} account(s) the accounts table lacks ({', '.join(unknown[:3])}); "
                         "pass the --data folder the scores were made from")
    owners_all = info["owner"] if "owner" in info else pd.Series(pd.NA, index=info.index, dtype="str")
    owners = sorted(owners_all.dropna().unique().tolist())
    pool = current
    if owner is not None:
        if not owners:
            raise ValueError("--owner needs an 'owner' column in the accounts table, and it has none (or it is empty)")
        if owner not in owners:
            raise ValueError(f"no account is owned by {owner!r}; owners in the accounts table: {', '.join(owners[:10])}"
                             + (", ..." if len(owners) > 10 else ""))
        pool = pool[owners_all.reindex(pool.index).eq(owner).fillna(False).to_numpy(dtype=bool)]

    scored = pool[pool["status"] == SCORED].sort_values(["score", "account_id"], ascending=[False, True])
    mqa = scored[scored["is_mqa"].fillna(False).to_numpy(dtype=bool)]
    if accounts is not None:
        wanted = pd.Index(pd.unique(pd.Series(list(accounts), dtype="str")))
        missing = wanted.difference(pool.index)
        if len(missing):
            where = f" owned by {owner!r}" if owner else ""
            raise ValueError(f"no score for account(s){where} {', '.join(missing[:5])} at {as_of:%Y-%m-%d}; "
                             "check the ids against the scores file")
        chosen = pool.loc[wanted]
        if only_mqa:
            chosen = chosen[chosen["is_mqa"].fillna(False).to_numpy(dtype=bool)]
        page_ids = list(chosen.index)
        listed = chosen
    else:
        near = scored[~scored["is_mqa"].fillna(False).to_numpy(dtype=bool)].head(0 if only_mqa else settings.near)
        listed = pd.concat([mqa, near])
        page_ids = list(listed.index)

    hrefs = {a: f"accounts/{page_name(a)}" for a in page_ids}
    facts = handoffs(history, page_ids, as_of, settings.committee, settings.relevant_topics)
    trends = _trends(scores, page_ids, as_of)
    env = _environment()
    account_tpl = env.get_template("account.html")
    files: dict[str, str] = {}
    rows = {}
    for a in listed.index:
        row = listed.loc[a]
        reasons = json.loads(row["reasons"]) if isinstance(row["reasons"], str) else []
        rows[a] = _digest_row(row, info.loc[a], reasons, hrefs.get(a))
    people = history["contacts"].drop_duplicates("contact_id").set_index("contact_id")
    for a in page_ids:
        files[hrefs[a]] = _account_page(account_tpl, current.loc[a], info.loc[a], facts[a], trends.get(a, []), as_of,
                                        settings, people)
    files["index.html"] = _digest(env, listed, mqa, rows, owners if owner is None else [], owner, as_of, current,
                                  settings, accounts is not None, scores_name)
    summary = pd.DataFrame([rows[a]["summary"] for a in listed.index],
                           columns=["account_id", "name", "owner", "as_of", "score", "tier", "is_mqa", "became_mqa",
                                    "reason_1", "reason_2", "reason_3", "page"])
    # Names, owners and reasons come from the data: inert for a spreadsheet.
    files["summary.csv"] = csv_safe(summary).to_csv(index=False, lineterminator="\n")
    files["summary.md"] = _markdown(summary, as_of)
    return Report(files=files, pages=len(page_ids), listed=len(listed), as_of=as_of)


def write_report(report: Report, out: str | Path) -> Path:
    """Write the report's files into ``out``, replacing only files an earlier report wrote there.

    Every file is first written to a staging folder and then renamed into
    place, the digest last, so no file is ever half written. ``out`` keeps a
    listing of the files the report wrote (:data:`MARKER`); a later report
    removes the files of that listing it no longer writes, and nothing else:
    a file the user put in the folder stays.

    Raises
    ------
    FileExistsError
        ``out`` is a file, or a folder with other files that no report wrote,
        or a file the report would write is not one an earlier report wrote.
    OutputError
        The operating system refused a write (read-only, disk full, ...).
    """
    out = Path(out)
    listed = check_report_folder(out)
    clashes = sorted(rel for rel in report.files if rel not in listed and (out / rel).exists())
    if clashes:
        raise FileExistsError(f"--out {out}: already holds {', '.join(clashes[:3])}{', ...' if len(clashes) > 3 else ''}, "
                              "which no earlier report wrote; move it away or pass another folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        clean_leftovers(out)
        staging = temp_folder(out, "report-")
    except OSError as exc:
        raise OutputError(_os_message(exc, out)) from None
    mode = file_mode()
    try:
        for rel, text in report.files.items():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
            (staging / rel).write_text(text, encoding="utf-8")
            os.chmod(staging / rel, mode)
        names = sorted(report.files, key=lambda rel: (rel == "index.html", rel))
        (out / "accounts").mkdir(exist_ok=True)
        for rel in names:
            os.replace(staging / rel, out / rel)
        for rel in sorted(listed - set(report.files)):
            try:
                (out / rel).unlink()
            except FileNotFoundError:
                pass
        listing = out / MARKER
        listing_tmp = staging / MARKER
        listing_tmp.write_text(json.dumps({"written_by": f"mqa {__version__}", "files": sorted(report.files)}, indent=1),
                               encoding="utf-8")
        os.chmod(listing_tmp, mode)
        os.replace(listing_tmp, listing)
    except OSError as exc:
        raise OutputError(_os_message(exc, out)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def check_report_folder(out: str | Path) -> set[str]:
    """The files an earlier report wrote in ``out`` (empty for a new or empty folder).

    Raises
    ------
    FileExistsError
        ``out`` is a file, or a folder of files no report wrote.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out}: is a file, not a folder; pass a new or empty folder")
    listed = _listing(out)
    if listed is None:
        raise FileExistsError(f"--out {out}: exists and is not a report folder written by 'mqa report'; "
                              "pass a new or empty folder")
    return listed


def _os_message(exc: OSError, out: Path) -> str:
    from mqa.features.outputs import os_error_message

    return os_error_message(exc, out, "files already in the folder were left as they were")


def _listing(out: Path) -> set[str] | None:
    """The files an earlier report wrote in ``out``: empty for a new or empty folder, None for a folder of other files."""
    if not out.exists():
        return set()
    entries = [p for p in out.iterdir() if not p.name.startswith(TEMP_PREFIX)]
    marker = out / MARKER
    if not marker.exists():
        return set() if not entries else None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        return {str(rel) for rel in data["files"] if ".." not in Path(str(rel)).parts and not Path(str(rel)).is_absolute()}
    except (ValueError, KeyError, TypeError):
        # A report of an earlier mqa version marked its folder without a listing: its own files follow these names.
        own = [p.relative_to(out).as_posix() for p in out.glob("accounts/*.html")]
        return set(own) | {name for name in ("index.html", "summary.csv", "summary.md") if (out / name).exists()}


def page_name(account_id: str) -> str:
    """A safe, unique file name for an account's page (ids may hold any character)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", account_id)[:80]
    if safe != account_id or safe.startswith("."):
        safe = safe.lstrip(".") + "-" + hashlib.sha1(account_id.encode()).hexdigest()[:10]
    return safe + ".html"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("mqa.predict", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(version=__version__, money=_money, num=_num, ago=ago, people_days=PEOPLE_DAYS, intent_days=INTENT_DAYS,
                       signal_days=SIGNAL_DAYS)
    env.filters["sentence"] = sentence_case
    return env


def sentence_case(text) -> str:
    """The first letter in capitals, the rest as it is (Jinja's ``capitalize`` would lower-case 'ETL' and 'IT')."""
    text = "" if text is None else str(text)
    return text[:1].upper() + text[1:]


def _num(value) -> str:
    """A whole count with thousands separators ("1,898"); blank when missing."""
    return "" if value is None or pd.isna(value) else f"{round(float(value)):,}"


def _date(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    try:
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    except ValueError:
        return ""


def ago(day, as_of) -> str:
    """A date relative to as-of: "today", "yesterday", "3 days ago", "5 weeks ago", "4 months ago" (blank when missing)."""
    if not day:
        return ""
    stamp = pd.Timestamp(day)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    days = (pd.Timestamp(as_of).normalize() - stamp.normalize()).days
    if days <= 0:
        return "today" if days == 0 else f"{day}"
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 61:
        return f"{days // 7} weeks ago"
    return f"{round(days / 30.4)} months ago"


def _money(value) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.0f}"


def _flag(value) -> bool:
    """A nullable boolean cell as a plain bool (missing is False)."""
    return False if value is None or pd.isna(value) else bool(value)


def _text(value) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _facts_line(info: pd.Series) -> str:
    parts = [_text(info.get("industry"))]
    emp = info.get("employees")
    if emp is not None and not pd.isna(emp):
        parts.append(f"{int(emp):,} employees")
    parts += [_text(info.get("country")), _text(info.get("domain"))]
    return " \u00b7 ".join(p for p in parts if p)


def _tier_label(tier) -> str:
    return TIER_LABELS.get(tier, str(tier).replace("_", " ").capitalize()) if isinstance(tier, str) else ""


def rank_text(score: float) -> str:
    """Where a score ranks: "top 14%" of the accounts the model learned from, never better than "top 1%"."""
    top = max(1, math.ceil(100 - float(score))) if not pd.isna(score) else None
    return "" if top is None else f"top {min(top, 100)}%"


def odds_text(probability, lift, horizon_days: int) -> str:
    """The probability in words: "about 6 in 100 accounts like this open an opportunity within 90 days, 1.1x the average"."""
    if probability is None or pd.isna(probability):
        return ""
    n = round(100 * float(probability))
    text = (f"about {n} in 100 accounts like this open an opportunity within {horizon_days} days" if n >= 1 else
            f"fewer than 1 in 100 accounts like this open an opportunity within {horizon_days} days")
    if lift is not None and not pd.isna(lift) and np.isfinite(lift):
        text += f", {float(lift):.1f}x the average" if lift >= 0.95 else f", {float(lift):.1f}x the average (below it)"
    return text


def _meaning(score: float, probability: float, settings: ReportSettings, lift=None) -> str:
    cutoff = f"{settings.cutoff:g}"
    text = (f"The score is a rank: {score:.0f} puts the account in the {rank_text(score)} of the accounts the model "
            f"learned from" + (f" (MQA from {cutoff})." if score < settings.cutoff else f", at or above the MQA cutoff of {cutoff}."))
    said = odds_text(probability, lift, settings.horizon_days)
    if said:
        text += " " + said[0].upper() + said[1:] + "."
    return text


def ordered_reasons(reasons: list[dict]) -> list[dict]:
    """Reasons as a rep reads them: why now, then background, then what holds the account back (strongest first in each).

    Reasons written before kinds existed count as why now when they push up.
    """
    def kind(r):
        return r.get("kind") or ("why_now" if r["contribution"] > 0 else "holds_back")
    rank = {"why_now": 0, "background": 1, "holds_back": 2}
    return sorted(reasons, key=lambda r: (rank.get(kind(r), 3), -abs(r["contribution"])))


def top_reasons(reasons, n: int = 3) -> list[str]:
    """The ``n`` reasons a rep reads first, as text (those that push the score up first), padded with "".

    ``reasons`` is the output's JSON text or its parsed list; missing or unreadable gives ``n`` empty strings.
    """
    if isinstance(reasons, str):
        try:
            reasons = json.loads(reasons)
        except ValueError:
            reasons = []
    if not isinstance(reasons, list):
        reasons = []
    ordered = ordered_reasons(reasons)
    up = [r["text"] for r in ordered if r["contribution"] > 0] or [r["text"] for r in ordered]
    return (up + [""] * n)[:n]


def _kind(r: dict) -> str:
    return r.get("kind") or ("why_now" if r["contribution"] > 0 else "holds_back")


def _trends(scores: pd.DataFrame, accounts: list[str], as_of: pd.Timestamp) -> dict[str, list[tuple[str, float]]]:
    """Each account's scores at the latest as-of dates, oldest first (earlier runs' files included)."""
    s = scores[scores["account_id"].isin(accounts) & (scores["status"] == SCORED) & (scores["as_of"] <= as_of)]
    s = s.drop_duplicates(["account_id", "as_of"], keep="last").sort_values(["account_id", "as_of"])
    s = s.groupby("account_id").tail(TREND_POINTS)
    out: dict[str, list] = {}
    for acct, day, score in zip(s["account_id"], s["as_of"].dt.strftime("%Y-%m-%d"), s["score"]):
        out.setdefault(acct, []).append((day, float(score)))
    return out


def _trend_text(points: list[tuple[str, float]], scored: bool) -> str:
    if not scored:
        return ""
    if len(points) < 2:
        return "No earlier score in the files given, so no trend yet."
    (day, before), (_, now) = points[-2], points[-1]
    if abs(now - before) < 0.5:
        return f"About the same as on {day} ({before:.0f})."
    return f"{'Up' if now > before else 'Down'} from {before:.0f} on {day}."


def _trend_svg(points: list[tuple[str, float]], cutoff: float, key: str) -> str:
    if len(points) < 2:
        return ""
    chart = pygal.Line(width=260, height=110, show_legend=False, style=_TREND_STYLE, js=[], disable_xml_declaration=True,
                       explicit_size=True, range=(0, 100), show_y_guides=True, y_labels=[0, 50, 100], margin=2, margin_right=16,
                       x_label_rotation=0, dots_size=3, show_minor_x_labels=False, truncate_label=-1)
    chart.x_labels = [d[5:] for d, _ in points]
    chart.x_labels_major = [chart.x_labels[0], chart.x_labels[-1]]
    chart.add("score", [round(v, 1) for _, v in points])
    chart.add("MQA cutoff", [cutoff] * len(points), show_dots=False, stroke_style={"dasharray": "4,3", "width": 1})
    return _svg(chart, f"trend-{key}", "Score at each earlier as-of date; the dashed line is the MQA cutoff")


def _waterfall_svg(families: list[dict], key: str) -> str:
    """Family contributions as a horizontal waterfall in score points, from a typical account (0) to this account (the sum)."""
    steps = [f["points"] for f in families]
    ends = np.cumsum([0.0] + steps)
    total = float(ends[-1])
    lows = [min(a, b) for a, b in zip(ends[:-1], ends[1:])] + [min(0.0, total)]
    shift = -min(min(lows), 0.0)
    labels = [f"{f['short']} {f['points']:+.0f}" for f in families] + [f"This account {total:+.0f}"]
    # pygal draws the first label at the bottom: reverse so the list reads top-down like the text beside it.
    rev = slice(None, None, -1)
    chart = pygal.HorizontalStackedBar(width=520, height=34 * (len(labels)) + 24, show_legend=False, style=_CHART_STYLE,
                                       js=[], disable_xml_declaration=True, explicit_size=True, show_x_labels=False,
                                       show_y_guides=False, show_x_guides=False, margin=4, spacing=8, truncate_label=-1)
    chart.x_labels = labels[rev]
    chart.add("offset", [lo + shift for lo in lows][rev])
    # One series for every visible bar, coloured per value: pygal's cost grows with series x bars.
    colours = ["#2a9d8f" if s > 0 else "#e76f51" for s in steps] + ["#264653"]
    chart.add("change", [{"value": abs(v), "color": c} for v, c in zip(steps + [total], colours)][rev])
    chart.add_xml_filter(_drop_empty_bars)
    return _svg(chart, f"wf-{key}", "Waterfall of the score's drivers by kind of signal")


def _drop_empty_bars(root):
    """pygal draws a stacked series' missing values as rects without a width, which HTML validators refuse."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.endswith("rect") and "width" not in child.attrib:
                parent.remove(child)
    return root


def _svg(chart, chart_id: str, title: str) -> str:
    # A fixed id (pygal draws a random one) keeps the output byte-identical across runs; the
    # generator comment carries today's date, so it goes too.
    chart.uuid = chart_id
    chart.title = None
    svg = chart.render(is_unicode=True)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    return svg.replace("<title>Pygal</title>", f"<title>{title}</title>", 1).replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1)


def _family_rows(row: pd.Series, reasons: list[dict]) -> list[dict]:
    try:
        shares = json.loads(row["family_contributions"]) if isinstance(row["family_contributions"], str) else {}
    except json.JSONDecodeError:
        shares = {}
    out = []
    for name, v in shares.items():
        said = [{"sign": "+" if r["contribution"] > 0 else "\u2212", "text": r["text"]} for r in reasons if r["family"] == name]
        # Outputs written before points existed: log-odds, as they were.
        points = float(v["points"]) if "points" in v else float(v["log_odds"])
        if abs(points) < 0.5 and not said:
            continue
        known = FAMILIES_BY_NAME.get(name)  # an output of another version may name a family this one lacks
        out.append({"name": name, "label": known.label if known else name.capitalize(),
                    "short": known.short if known else name.capitalize(), "points": points,
                    "points_text": f"{points:+.0f}" if "points" in v else f"{points:+.2f}", "sentences": said})
    return out


def buying_groups(value, people: pd.DataFrame | None = None, shown: int = 6) -> list[dict]:
    """The account's buying groups of the scores' ``buying_groups`` JSON, with their members' names and titles.

    Names come from the contacts table here, in the rep's report only (the
    scores carry contact ids); at most ``shown`` members each, most senior first.
    """
    groups = json.loads(value) if isinstance(value, str) else []
    for g in groups:
        members = []
        for cid in g.get("contacts", [])[:shown]:
            if people is not None and cid in people.index:
                c = people.loc[cid]
                members.append({"name": _text(c.get("name")) or cid, "title": _text(c.get("title")) or ""})
        g["members"] = members
        g["more"] = max(len(g.get("contacts", [])) - shown, 0) + int(g.get("unnamed", 0))
    return groups


def group_step(groups: list[dict]) -> str:
    """The first step aimed at the most advanced group (demo, then pricing, then content; the larger one on a tie)."""
    if not groups:
        return ""
    rank = {"demo": 2, "pricing": 1, "content": 0}
    best = sorted(groups, key=lambda g: (-rank.get(g["stage"], 0), -g["size"], g["group"]))[0]
    what = f" on '{best['topic']}'" if best.get("topic") else ""
    reached = {"demo": "asked for a demo or a trial", "pricing": "looked at pricing",
               "content": "read the content"}[best["stage"]]
    lead = best["members"][0]["name"] if best.get("members") else None
    missing = best.get("missing") or []
    ask = f"; ask them to bring in {missing[0]}" if missing else ""
    others = f" ({len(groups) - 1} other group{'s' if len(groups) > 2 else ''} at the account)" if len(groups) > 1 else ""
    return (f"Aim at the {best['name']}{what}, the furthest along{others}: they {reached}"
            + (f"; start with {lead}" if lead else "") + ask + ".")


def _account_page(tpl, row: pd.Series, info: pd.Series, h: Handoff, trend, as_of, settings: ReportSettings,
                  people: pd.DataFrame | None = None) -> str:
    scored = row["status"] == SCORED
    groups = buying_groups(row.get("buying_groups"), people)
    reasons = json.loads(row["reasons"]) if scored and isinstance(row["reasons"], str) else []
    key = hashlib.sha1(str(row["account_id"]).encode()).hexdigest()[:10]
    families = _family_rows(row, reasons) if scored else []
    tier = row["tier"] if scored else None
    ordered = ordered_reasons(reasons)
    now = [r for r in ordered if _kind(r) == "why_now"]
    background = [r for r in ordered if _kind(r) == "background"]
    back = [r for r in ordered if _kind(r) == "holds_back"]
    return tpl.render(
        a={"id": row["account_id"], "name": _text(info.get("name")) or row["account_id"], "facts": _facts_line(info),
           "owner": _text(info.get("owner")), "domain": _text(info.get("domain"))},
        s={"scored": scored, "score": f"{row['score']:.0f}" if scored else None, "tier_label": _tier_label(tier),
           "tier_class": re.sub(r"[^a-z0-9-]", "-", str(tier).lower()), "became_mqa": _flag(row.get("became_mqa")),
           "meaning": _meaning(row["score"], row.get("probability"), settings, row.get("lift")) if scored else "",
           "rank": rank_text(row["score"]) if scored else "",
           "status_text": STATUS_TEXT.get(row["status"], f"Not scored ({row['status']}).")},
        trend_svg=_trend_svg(trend, settings.cutoff, key) if scored else "",
        trend_text=_trend_text(trend, scored),
        top_reasons=now[:3],
        lead=(now or background or ordered)[:1],
        background=background[:3],
        holds_back=back,
        step=first_step(ordered, h),
        group_step=group_step(groups),
        groups=groups,
        h=h,
        families=families,
        waterfall_svg=_waterfall_svg(families, key) if families else "",
        as_of=f"{as_of:%Y-%m-%d}",
        as_of_stamp=as_of,
        data_through=_date(row.get("data_through")),
        model_version=row.get("model_version", ""),
        digest_href="../index.html",
    )


def _digest_row(row: pd.Series, info: pd.Series, reasons: list[dict], href: str | None) -> dict:
    scored = row["status"] == SCORED
    name = _text(info.get("name")) or row["account_id"]
    owner = _text(info.get("owner"))
    top3 = top_reasons(reasons)
    return {
        "name": name, "owner": owner, "href": href, "became_mqa": _flag(row.get("became_mqa")),
        "score": float(row["score"]) if scored else None,
        "score_text": f"{row['score']:.0f}" if scored else "\u2014",
        "tier_label": _tier_label(row["tier"]) if scored else row["status"].replace("_", " "),
        "reason": top3[0] if scored else STATUS_TEXT.get(row["status"], ""),
        "summary": [row["account_id"], name, owner or "", f"{row['as_of']:%Y-%m-%d}", round(float(row["score"]), 1) if scored else None,
                    row["tier"] if scored else row["status"], bool(row["is_mqa"]) if scored else False,
                    _flag(row.get("became_mqa")), *top3, href or ""],
    }


def _digest(env, listed, mqa, rows, owners, owner, as_of, current, settings: ReportSettings, chosen: bool,
            scores_name: str) -> str:
    ids = list(listed.index)
    is_mqa = listed["is_mqa"].fillna(False).to_numpy(dtype=bool)
    scored = (listed["status"] == SCORED).to_numpy()
    new = [a for a in ids if rows[a]["became_mqa"]]
    below = [a for a, m, s in zip(ids, is_mqa, scored) if s and not m]
    # Each account once: the new MQAs are not listed again among the others.
    fresh = set(new)
    others = [rows[a] for a, m in zip(ids, is_mqa) if m and a not in fresh]
    sections = [
        {"id": "new-mqas", "title": "New MQAs since the previous run", "rows": [rows[a] for a in new],
         "empty": "None new." if current["became_mqa"].notna().any() else
         "Unknown: these scores were made without --previous, so no account is marked new."},
        {"id": "mqas", "title": "Other MQAs (already MQAs at the previous run)" if new else "All MQAs", "rows": others,
         "empty": "No other MQA at this date." if new else "No MQA at this date."},
        {"id": "near", "title": "Other accounts asked for" if chosen else "Closest below the cutoff",
         "rows": [rows[a] for a in below], "empty": "None.",
         "note": "" if chosen else f"The {len(below):,} highest-scored accounts under {settings.cutoff:g}: worth a look before they cross it."},
    ]
    unscored = [a for a, s in zip(ids, scored) if not s]
    if unscored:
        sections.append({"id": "not-scored", "title": "Not scored", "rows": [rows[a] for a in unscored], "empty": ""})
    pool_scored = current[current["status"] == SCORED]
    counts = {"mqa": int(pool_scored["is_mqa"].fillna(False).sum()) if owner is None else len(mqa),
              "scored": len(pool_scored) if owner is None else None,
              "new": int(pool_scored["became_mqa"].fillna(False).sum()) if pool_scored["became_mqa"].notna().any() else None}
    if owner is not None:
        counts["scored"] = int(listed["status"].eq(SCORED).sum())
        counts["new"] = len(new) if counts["new"] is not None else None
    versions = current["model_version"].dropna().unique() if "model_version" in current else []
    return env.get_template("digest.html").render(
        as_of=f"{as_of:%Y-%m-%d}", owner=owner, owners=owners, sections=sections, counts=counts,
        unassigned=bool(owners) and any(not rows[a]["owner"] for a in ids),
        cutoff_text=f"{settings.cutoff:g}", cutoff_rank=rank_text(settings.cutoff), model_version=", ".join(map(str, versions)) or "unknown",
        scores_name=scores_name)


def _markdown(summary: pd.DataFrame, as_of: pd.Timestamp) -> str:
    lines = [f"# MQA summary, {as_of:%Y-%m-%d}", ""]
    for r in summary.itertuples(index=False):
        score = "not scored" if r.score is None or pd.isna(r.score) else f"score {r.score:.0f}"
        new = ", **new**" if r.became_mqa else ""
        reasons = "; ".join(x for x in (r.reason_1, r.reason_2, r.reason_3) if x)
        lines.append(f"- **{_md(r.name)}** ({score}, {r.tier}{new}): {_md(reasons)}")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Markdown-inert text: a name like '*Acme*' or '[x](y)' must not format or link."""
    return re.sub(r"([\\`*_{}\[\]()#+!|<>])", r"\\\1", str(text))
