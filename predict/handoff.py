"""What a rep needs next to a score: who is engaged, what they read, what changed, what to do first.

Everything here is computed for a set of accounts at one as-of instant from
rows stamped at or before it, like the features: a report made for an earlier
date never shows what happened after it. The tables are worked on whole
(filter, group, sort); the result is bucketed by account once at the end.

This module holds the facts and the rules that word them; rendering them is
:mod:`mqa.predict.report`'s job. Contacts' names, titles and emails pass
through here on their way into the reports, and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mqa.features.config import DEFAULT_COMMITTEE
from mqa.features.contract import SURGE_THRESHOLD
from mqa.features.history import History

from .sentences import SIGNAL_WORDS

PEOPLE_DAYS = 90     # engaged stakeholders, content and pages
INTENT_DAYS = 28     # surging intent topics (four weekly observations)
SIGNAL_DAYS = 180    # timing signals worth opening a conversation with
MAX_PEOPLE = 8
MAX_CONTENT = 6
MAX_OPPORTUNITIES = 5

SENIORITY_ORDER = ("c_level", "vp", "director", "manager", "individual")
DEPARTMENT_WORDS = {"it": "IT", "hr": "HR"}
SENIORITY_WORDS = {"c_level": "C-level", "vp": "VP", "director": "Director", "manager": "Manager", "individual": "Individual"}
ROLE_WORDS = {
    "executive_sponsor": "the executive team",
    "technical": "IT or engineering",
    "finance": "finance",
    "procurement": "procurement",
    "business_user": "the business teams (marketing, sales or operations)",
}
# What a visit to a page or asset counts as, for the "content consumed" list.
CONTENT_VERBS = {
    "content_download": "downloaded",
    "webinar_registered": "registered",
    "webinar_attended": "attended",
    "pricing_page_visit": "visited",
    "web_visit": "visited",
    "email_click": "clicked in an email",
    "ad_click": "clicked an ad",
    "form_fill": "filled a form",
    "demo_request": "requested a demo",
    "event_attended": "attended",
    "trial_signup": "signed up",
    "product_usage": "used the product",
}
BREADTH_MEASURES = ("contacts_engaged", "departments_engaged", "senior_contacts", "committee", "seniority_levels")
HOT_TYPES = {"demo_request": "asked for a demo", "pricing_page_visit": "looked at pricing", "trial_signup": "started a trial"}


@dataclass
class Handoff:
    """The facts about one account at as-of, ready for a template.

    ``people``: dicts with ``name``, ``title``, ``seniority``, ``department``,
    ``activities``, ``last`` (most senior, then most active, first);
    ``more_people``: how many engaged people are not listed; ``missing_roles``:
    buying roles nobody engaged from; ``content``: dicts with ``title``,
    ``path``, ``verb``, ``times``, ``people``, ``last``; ``intent``: dicts with
    ``topic``, ``score``, ``weeks``, ``relevant``; ``signals``: dicts with
    ``date``, ``type``, ``what``, ``detail``; ``opportunities``: dicts with
    ``created``, ``closed``, ``state``, ``amount``, ``type``.
    """

    people: list[dict] = field(default_factory=list)
    more_people: int = 0
    anonymous: int = 0
    missing_roles: list[str] = field(default_factory=list)
    content: list[dict] = field(default_factory=list)
    intent: list[dict] = field(default_factory=list)
    signals: list[dict] = field(default_factory=list)
    opportunities: list[dict] = field(default_factory=list)
    hot: dict[str, dict] = field(default_factory=dict)

    @property
    def missing_text(self) -> str:
        """"No one from finance or procurement yet." (empty when every role is covered)."""
        return f"No one from {_either(self.missing_roles)} yet." if self.missing_roles else ""


def handoffs(history: History, accounts, as_of: pd.Timestamp, committee: dict | None = None,
             relevant_topics: tuple[str, ...] = ()) -> dict[str, Handoff]:
    """The hand-off facts of each of ``accounts`` at ``as_of``.

    Parameters
    ----------
    history : History
        A validated, matched history.
    accounts : sequence of str
        Account ids.
    as_of : Timestamp
        UTC instant; only rows at or before it are used.
    committee : dict, optional
        Buying roles and the departments that fill them (default: the
        features' committee).
    relevant_topics : tuple of str
        Intent topics of the product's category (lower case), marked in the list.

    Returns
    -------
    dict
        ``{account_id: Handoff}`` for every account asked for.
    """
    accounts = pd.Index(pd.unique(pd.Series(list(accounts), dtype="str")))
    out = {a: Handoff() for a in accounts}
    committee = committee or DEFAULT_COMMITTEE
    acts = _window(history["activities"], "timestamp", accounts, as_of, PEOPLE_DAYS)
    _people(acts, history["contacts"], committee, out)
    _content(acts, out)
    _intent(_window(history["intent"], "date", accounts, as_of, INTENT_DAYS), relevant_topics, out)
    _signals(_window(history["signals"], "date", accounts, as_of, SIGNAL_DAYS), out)
    _opportunities(history["opportunities"], accounts, as_of, out)
    return out


def _window(table: pd.DataFrame, time: str, accounts: pd.Index, as_of: pd.Timestamp, days: int) -> pd.DataFrame:
    """Rows of ``accounts`` in ``(as_of - days, as_of]``: the features' window, right edge included."""
    t = table[time]
    keep = (t <= as_of) & (t > as_of - pd.Timedelta(days=days)) & table["account_id"].isin(accounts)
    return table[keep.fillna(False).to_numpy(dtype=bool)]


def _records(frame: pd.DataFrame, out: dict[str, Handoff], attr: str, limit: int | None = None) -> None:
    """Append each row of ``frame`` (already in display order) to its account's ``attr`` list."""
    if not len(frame):
        return
    ids = frame["account_id"].to_numpy(dtype=object)
    values = frame.drop(columns="account_id")
    # Missing cells are None, which templates and sentences treat as blank; NaN would print "nan".
    rows = values.astype(object).where(values.notna().to_numpy(), None).to_dict("records")
    for acct, row in zip(ids, rows):
        bucket = getattr(out[acct], attr)
        if limit is None or len(bucket) < limit:
            bucket.append(row)


def _blank(values: pd.Series) -> pd.Series:
    """Text cells with every missing or empty value as "" (never "nan" or "None" on a page)."""
    text = values.astype("str")
    return text.where(text.notna() & (text.str.strip() != ""), "").str.strip().astype(object)


def person_of(acts: pd.DataFrame, contacts: pd.DataFrame) -> pd.Series:
    """Who did each activity: its contact, else the contact whose email it carries, else ``email:<address>``.

    Contacts sharing an email: the earliest created (then the smallest id) is
    the person, as in the features' :class:`~mqa.features.context.ActivityCodes`,
    so a page never lists one person twice (once by name, once by address).
    """
    ranked = contacts.sort_values(["created_at", "contact_id"], na_position="last", kind="stable")
    ranked = ranked[ranked["email"].notna().to_numpy(dtype=bool)]
    by_email = ranked.assign(_e=ranked["email"].str.lower()).drop_duplicates("_e").set_index("_e")["contact_id"]
    email = acts["email"].str.lower()
    return acts["contact_id"].fillna(email.map(by_email)).fillna("email:" + email)


def _people(acts: pd.DataFrame, contacts: pd.DataFrame, committee: dict, out: dict[str, Handoff]) -> None:
    known = acts["contact_id"].notna() | acts["email"].notna()
    for acct, n in acts.loc[~known.to_numpy(dtype=bool), "account_id"].value_counts().items():
        out[acct].anonymous = int(n)
    acts = acts[known.to_numpy(dtype=bool)]
    person = person_of(acts, contacts)
    g = pd.DataFrame({"account_id": acts["account_id"], "person": person, "timestamp": acts["timestamp"]})
    per = g.groupby(["account_id", "person"], sort=False).agg(activities=("timestamp", "size"), last=("timestamp", "max")).reset_index()
    info = contacts.drop_duplicates("contact_id").set_index("contact_id")
    cid = per["person"].where(~per["person"].str.startswith("email:"))
    address = per["person"].str.removeprefix("email:").where(cid.isna())

    def field_of(column: str) -> pd.Series:
        col = info[column] if column in info else pd.Series(pd.NA, index=info.index, dtype="str")
        return _blank(cid.map(col))

    per["name"] = field_of("name")
    per["name"] = per["name"].where(per["name"] != "", _blank(address))
    per["name"] = per["name"].where(per["name"] != "", "(contact " + per["person"].astype(object) + ", no name in contacts)")
    per["email"] = field_of("email")
    per["email"] = per["email"].where(per["email"] != "", _blank(address))
    for column in ("title", "seniority", "department", "phone", "linkedin_url"):
        per[column] = field_of(column)
    rank = per["seniority"].map({s: i for i, s in enumerate(SENIORITY_ORDER)}).fillna(len(SENIORITY_ORDER))
    per = per.assign(_rank=rank).sort_values(["account_id", "_rank", "activities", "last", "person"],
                                             ascending=[True, True, False, False, True], kind="stable")
    per["seniority"] = per["seniority"].map(lambda v: SENIORITY_WORDS.get(v, v)).astype(object)
    per["last"] = per["last"].dt.strftime("%Y-%m-%d")
    # Who did the hot things last (a demo request, a pricing visit, a trial): the person to call first.
    hot = g.assign(type=acts["type"].to_numpy())
    hot = hot[hot["type"].isin(list(HOT_TYPES)).to_numpy(dtype=bool)].sort_values("timestamp", kind="stable")
    hot = hot.drop_duplicates(["account_id", "type"], keep="last").merge(
        per[["account_id", "person", "name", "title"]], on=["account_id", "person"], how="left")
    for acct, kind, name, title, when in zip(hot["account_id"], hot["type"], hot["name"], hot["title"], hot["timestamp"]):
        out[acct].hot[kind] = {"name": name, "title": title if isinstance(title, str) else "", "date": f"{when:%Y-%m-%d}"}
    counts = per["account_id"].value_counts()
    # Buying roles nobody engaged from (departments as the contacts table or their titles give them).
    engaged = per[per["department"] != ""].groupby("account_id")["department"].agg(set)
    per["department"] = per["department"].map(
        lambda d: DEPARTMENT_WORDS.get(d, d.replace("_", " ").capitalize())).astype(object)
    _records(per[["account_id", "name", "title", "seniority", "department", "email", "phone", "linkedin_url",
                  "activities", "last"]], out, "people", MAX_PEOPLE)
    for acct, n in counts.items():
        out[acct].more_people = max(int(n) - MAX_PEOPLE, 0)
    for acct, h in out.items():
        have = engaged.get(acct, set())
        h.missing_roles = [ROLE_WORDS.get(role, role.replace("_", " ")) for role, deps in committee.items()
                           if not have.intersection(deps)]


ACRONYMS = ("abm", "ai", "api", "b2b", "cdp", "crm", "csv", "dbt", "elt", "etl", "faq", "gdpr", "kpi", "ml", "roi", "saas",
            "sdk", "seo", "sql", "sso", "ui")


def content_title(paths: pd.Series, titles: pd.Series | None = None) -> pd.Series:
    """A readable name for a page: its ``title`` where the activities give one, else one made from the path.

    '/blog/reverse-etl-explained' -> 'Reverse ETL explained (blog)';
    '/resources/etl_guide.pdf' -> 'ETL guide (resources)'.
    """
    parts = paths.str.strip("/").str.split("/")
    section = parts.str[0].fillna("").str.replace(r"[-_]+", " ", regex=True)
    leaf = parts.str[-1].fillna("").str.replace(r"\.(?:pdf|html?|php|aspx?|docx?|pptx?)$", "", regex=True, flags=re.IGNORECASE)
    leaf = leaf.str.replace(r"[-_]+", " ", regex=True).str.strip()
    pattern = r"\b(" + "|".join(ACRONYMS) + r")\b"
    leaf = leaf.str.replace(pattern, lambda m: m.group(1).upper(), regex=True, flags=re.IGNORECASE)
    leaf = leaf.str.slice(0, 1).str.upper() + leaf.str.slice(1)
    titled = leaf.where(parts.str.len() < 2, leaf + " (" + section + ")")
    titled = titled.where(leaf != "", "Home page")  # "/" and "" alike
    if titles is not None:
        given = titles.astype("str").str.strip()
        titled = given.where(given.notna() & (given != ""), titled)
    return titled


def _content(acts: pd.DataFrame, out: dict[str, Handoff]) -> None:
    acts = acts[acts["url"].notna().to_numpy(dtype=bool) & acts["type"].isin(list(CONTENT_VERBS)).to_numpy(dtype=bool)]
    if not len(acts):
        return
    path = acts["url"].str.extract(r"^(?:[a-z]+://)?[^/?#]*(/[^?#]*)?", flags=re.IGNORECASE)[0].fillna("/")
    who = acts["contact_id"].fillna(acts["email"].str.lower())
    given = acts["title"] if "title" in acts else pd.Series(pd.NA, index=acts.index, dtype="str")
    g = pd.DataFrame({"account_id": acts["account_id"], "path": path, "verb": acts["type"].map(CONTENT_VERBS),
                      "who": who, "timestamp": acts["timestamp"], "given": given.astype("str")})
    per = g.groupby(["account_id", "path", "verb"], sort=False).agg(
        times=("timestamp", "size"), people=("who", "nunique"), last=("timestamp", "max"),
        given=("given", "last")).reset_index()
    # Product screens say "they use it", not "they read it": listed after what they chose to read.
    product = (per["verb"] == CONTENT_VERBS["product_usage"]).astype(int)
    per = per.assign(_p=product).sort_values(["account_id", "_p", "people", "times", "last", "path"],
                                             ascending=[True, True, False, False, False, True], kind="stable")
    per["title"] = content_title(per["path"], per["given"])
    per["last"] = per["last"].dt.strftime("%Y-%m-%d")
    _records(per[["account_id", "title", "path", "verb", "times", "people", "last"]], out, "content", MAX_CONTENT)


def _intent(rows: pd.DataFrame, relevant: tuple[str, ...], out: dict[str, Handoff]) -> None:
    hot = rows[(rows["score"] >= SURGE_THRESHOLD).fillna(False).to_numpy(dtype=bool)]
    if not len(hot):
        return
    per = hot.assign(topic=hot["topic"].str.strip()).groupby(["account_id", "topic"], sort=False).agg(
        score=("score", "max"), weeks=("date", "nunique")).reset_index()
    per["relevant"] = per["topic"].str.lower().isin([t.lower() for t in relevant])
    per = per.sort_values(["account_id", "relevant", "score", "topic"], ascending=[True, False, False, True], kind="stable")
    per["score"] = per["score"].round().astype(int)
    _records(per[["account_id", "topic", "score", "weeks", "relevant"]], out, "intent", 6)


def _signals(rows: pd.DataFrame, out: dict[str, Handoff]) -> None:
    if not len(rows):
        return
    s = rows.sort_values(["account_id", "date"], ascending=[True, False], kind="stable")
    what = s["type"].map({k: v[0] for k, v in SIGNAL_WORDS.items()}).fillna(s["type"].str.replace("_", " "))
    frame = pd.DataFrame({"account_id": s["account_id"], "date": s["date"].dt.strftime("%Y-%m-%d"), "type": s["type"],
                          "what": what.str.slice(0, 1).str.upper() + what.str.slice(1), "detail": s["detail"]})
    _records(frame, out, "signals", 6)


def _opportunities(opps: pd.DataFrame, accounts: pd.Index, as_of: pd.Timestamp, out: dict[str, Handoff]) -> None:
    o = opps[(opps["account_id"].isin(accounts) & (opps["created_at"] <= as_of)).fillna(False).to_numpy(dtype=bool)]
    if not len(o):
        return
    o = o.sort_values(["account_id", "created_at"], ascending=[True, False], kind="stable")
    # The outcome as known at as-of: a deal closed later was still open then.
    closed = (o["closed_at"] <= as_of).fillna(False).to_numpy(dtype=bool)
    won = o["is_won"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    state = np.where(~closed, "open", np.where(won, "won", "lost"))
    frame = pd.DataFrame({
        "account_id": o["account_id"],
        "created": o["created_at"].dt.strftime("%Y-%m-%d"),
        "closed": o["closed_at"].dt.strftime("%Y-%m-%d").where(closed, ""),
        "state": state,
        "amount": o["amount"].to_numpy(),
        "type": o["type"].fillna("").str.replace("_", " "),
    })
    _records(frame, out, "opportunities", MAX_OPPORTUNITIES)


def _either(items: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _both(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _happened(reason: dict) -> bool:
    """The reason's event took place recently (a why-now reason; before kinds: a count above zero or a known days-since)."""
    if "kind" in reason:
        return reason["kind"] == "why_now"
    value = reason.get("value")
    if not isinstance(value, (int, float)) or np.isnan(value):
        return False
    return value > 0 or "days_since" in reason["feature"]


def first_step(reasons: list[dict], h: Handoff) -> str:
    """One suggested first step, from the strongest reason pushing the score up and the facts behind it.

    The reason decides the opening (what the rep talks about); the people
    decide whom to call; missing buying roles decide whom to ask for next.
    """
    up = [r for r in reasons if r["contribution"] > 0]
    top = up[0] if up else None
    feature = top["feature"] if top else ""
    family = top["family"] if top else ""
    # A demo request, a pricing visit or a trial among the reasons up is the opening, whatever its rank.
    hot = [kind for r in up for kind in HOT_TYPES if kind.split("_")[0] in r["feature"] and _happened(r)]
    relevant = [t["topic"] for t in h.intent if t["relevant"]] or [t["topic"] for t in h.intent]
    reading = [c for c in h.content if c["verb"] != CONTENT_VERBS["product_usage"]]

    caller = None
    if hot and hot[0] in h.hot:
        caller = h.hot[hot[0]]
        opening = f"they {HOT_TYPES[hot[0]]} on {caller['date']}, so offer a short call on their use case"
    elif hot:
        opening = f"the account {HOT_TYPES[hot[0]]} recently, so offer a short call on their use case"
    elif family == "intent" and relevant:
        opening = f"open with {_both([repr(t) for t in relevant[:2]])}, which the account is researching now"
    elif family == "timing" and h.signals:
        kind = next((s for s in h.signals if s["type"] in feature), h.signals[0])
        if kind["type"] == "executive_hire":
            opening = f"reach the new executive in their first months ({kind['detail'] or kind['what'].lower()})"
        elif kind["type"] == "funding_round":
            opening = f"reference their funding round ({kind['detail'] or kind['date']}) and the growth it pays for"
        else:
            opening = f"mention the {kind['what'].lower()} of {kind['date']}"
    elif any(k in feature for k in BREADTH_MEASURES) and len(h.people) > 1:
        opening = f"{len(h.people) + h.more_people} people are engaged, so propose one call with them together"
    elif reading:
        opening = f"follow up on '{reading[0]['title']}', what they read most"
    else:
        opening = "introduce yourself with the account's industry in mind"

    if h.people or caller:
        p = caller or h.people[0]
        who = p["name"] + (f" ({p['title']})" if isinstance(p["title"], str) and p["title"] else "")
        step = f"Call {who}: {opening}."
        if h.missing_roles:
            step += f" Then ask them to bring in {_both(h.missing_roles)}."
        return step
    return f"No one here is known by name yet: {opening}, and find a first contact through the account's website visitors."
