"""What buying groups leave in the tables, and the truth of who belonged to which.

With buying groups on (:class:`~mqa.features.synth.params.BuyingGroupParams`),
every new-business cycle evaluates one product line and large accounts run
several at once (:mod:`~mqa.features.synth.pipeline`). This module writes
what that looks like from outside: committee members' activities about their
line (on the line's pages, some with the ``topic`` column filled), the odd
visit of someone else on a line's pages, and the contact roles sales records
on the opportunities the cycles open. :func:`truth_frame` is what no export
holds: each committee member's cycle, the key a detector is measured against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract import DEPARTMENTS, SENIORITIES
from .accounts import Accounts
from .columns import str_column, string_array, take, timestamps
from .grid import Grid
from .params import BuyingGroupParams
from .pipeline import Cycles
from .vocab import FORCED_PAGES, LINE_PAGES, PAGE_GROUP, PAGES, PRODUCT_LINES, TYPE_CODE, TYPE_PAGES

# Page groups of the site by code (their order in PAGES): integers keep the
# per-row comparisons below off Python objects.
_GROUPS = list(PAGES)
# Group code of each activity type's url (TYPE_CODE order), -1 for a type that never has one.
_TYPE_GROUP = np.array([_GROUPS.index(TYPE_PAGES[name][0]) if TYPE_PAGES[name] else -1 for name in TYPE_CODE])
_FORCED_GROUP = np.array([_GROUPS.index(name) for name in FORCED_PAGES])
# Groups a line has pages of; and other people's rows that may land on a line's pages: a visit, a download.
_LINE_GROUPS = [_GROUPS.index(name) for name in LINE_PAGES]
_NOISE_GROUPS = [_GROUPS.index(name) for name in ("general", "resources")]


def check_params(g: BuyingGroupParams) -> None:
    """Refuse buying-group constants the run cannot play, naming every one.

    Raises
    ------
    ValueError
        A share outside 0..1, ``extra_max`` not in 1..(product lines - 1),
        ``offset_max_weeks`` below 1 or ``min_employees`` below 0.
    """
    problems = [f"{name} must be in 0..1; got {getattr(g, name)!r}"
                for name in ("parallel_share", "topical_share", "entry_topical_share", "topic_column_share", "contact_roles_share",
                             "role_missing_share", "noise_share") if not 0 <= getattr(g, name) <= 1]
    if not 1 <= g.extra_max <= len(PRODUCT_LINES) - 1:
        problems.append(f"extra_max must be in 1..{len(PRODUCT_LINES) - 1} (each sibling evaluates another of the "
                        f"{len(PRODUCT_LINES)} product lines); got {g.extra_max!r}")
    if g.offset_max_weeks < 1:
        problems.append(f"offset_max_weeks must be at least 1; got {g.offset_max_weeks!r}")
    if g.min_employees < 0:
        problems.append(f"min_employees must be >= 0; got {g.min_employees!r}")
    if problems:
        raise ValueError("buying_groups: " + "; ".join(problems))


def _row_groups(ev):
    """The code of the page group each row's url was drawn from: a forced page's, else its type's."""
    return np.where(ev["page"] >= 0, _FORCED_GROUP[np.maximum(ev["page"], 0)], _TYPE_GROUP[ev["type"]])


def topical_activities(rng, ev, cycles: Cycles, committees, pt, g: BuyingGroupParams):
    """Put committee activities on their cycle's product line, and a few other people's on a random one.

    A cycle's rows (its committee's and the anonymous visits from its
    offices) are about its line with probability ``g.topical_share``: a row
    with a url gets one of the line's pages of the same kind (a download its
    guide, a pricing visit its pricing page), a row without one (an email
    open, a trade-show scan) is about the line all the same. Of those rows,
    ``g.topic_column_share`` have the ``topic`` column filled. People on no
    committee see a line's pages in ``g.noise_share`` of their visits and
    downloads. A row exported twice (same id) stays the same row.

    Parameters
    ----------
    rng : numpy.random.Generator
        The buying groups' stream.
    ev : dict of str to ndarray
        Finished events (:func:`~mqa.features.synth.artefacts.finish_activities`);
        ``url`` is changed, ``line`` (index into ``PRODUCT_LINES``, -1 none)
        and ``tagged`` (topic column filled) are added.
    cycles : Cycles
    committees : dict of str to ndarray
        One entry per committee member: ``person``.
    pt : dict of str to ndarray
        The people table.
    g : BuyingGroupParams

    Returns
    -------
    dict of str to ndarray
        ``ev``.
    """
    n = len(ev["t"])
    group = _row_groups(ev)
    has_url = ev["url"] >= 0
    # A url of a kind no line has (a careers page, the app) keeps the row generic.
    line_kind = np.isin(group, _LINE_GROUPS)
    cyc_line = np.where(ev["cycle"] >= 0, cycles.line[np.maximum(ev["cycle"], 0)], -1)
    can = (cyc_line >= 0) & (~has_url | line_kind)
    line = np.where(can & (rng.random(n) < g.topical_share), cyc_line, -1)
    # A member identifies themselves on their line's content (its gated guide, its webinar), mostly.
    mine = np.flatnonzero((ev["cycle"] >= 0) & (ev["person"] >= 0))
    mine = mine[np.lexsort((ev["t"][mine], ev["person"][mine], ev["cycle"][mine]))]
    key = ev["cycle"][mine] * (int(ev["person"].max()) + 1) + ev["person"][mine]
    entry = mine[np.r_[True, key[1:] != key[:-1]]] if len(mine) else mine
    entry = entry[can[entry] & (rng.random(len(entry)) < g.entry_topical_share)]
    line[entry] = cyc_line[entry]

    person = ev["person"]
    on_committee = np.zeros(len(pt["acct"]), dtype=bool)
    on_committee[committees["person"]] = True
    other = (person >= 0) & ~on_committee[np.maximum(person, 0)] & (ev["cycle"] < 0)
    noisy = np.flatnonzero(other & has_url & np.isin(group, _NOISE_GROUPS) & (rng.random(n) < g.noise_share))
    line[noisy] = rng.integers(0, len(PRODUCT_LINES), len(noisy))
    tagged = (line >= 0) & (rng.random(n) < g.topic_column_share)

    url = ev["url"].copy()
    rows = np.flatnonzero((line >= 0) & has_url)
    for li, name in enumerate(PRODUCT_LINES):
        for kind in LINE_PAGES:
            on = rows[(line[rows] == li) & (group[rows] == _GROUPS.index(kind))]
            pages = PAGE_GROUP[(name, kind)]
            url[on] = pages[rng.integers(0, len(pages), len(on))]

    # Duplicates were drawn apart above; the export repeats the first.
    _, first, inverse = np.unique(ev["id"], return_index=True, return_inverse=True)
    ev["line"], ev["tagged"], ev["url"] = line[first][inverse], tagged[first][inverse], url[first][inverse]
    return ev


def contact_roles(seniority, department, senior):
    """Salesforce's OpportunityContactRole of committee members, from their seniority and department.

    The cycle's VP or C-level decides (a C-level sponsors); finance and
    procurement hold the budget; IT and engineering judge the product
    (individual contributors evaluate it hands-on); the rest influence the
    choice (directors) or will use it.
    """
    s = np.asarray(SENIORITIES, dtype=object)[seniority]
    d = np.asarray(DEPARTMENTS, dtype=object)[department]
    top = np.isin(s, ["c_level", "vp", "director"])
    other = np.where(top, "Influencer", "Business User")
    technical = np.where(s == "individual", "Evaluator", "Technical Buyer")
    role = np.where(np.isin(d, ["it", "engineering"]), technical, other)
    role = np.where(np.isin(d, ["finance", "procurement"]), "Economic Buyer", role)
    return np.where(senior, np.where(s == "c_level", "Executive Sponsor", "Decision Maker"), role)


def opportunity_contacts_frame(rng, committees, pt, opportunities: pd.DataFrame, opp_cycle, contact_ids,
                               g: BuyingGroupParams) -> pd.DataFrame:
    """The ``opportunity_contacts`` table: each cycle opportunity's committee members who are CRM contacts.

    Sales records the roles on ``g.contact_roles_share`` of the
    opportunities that came from a cycle. The primary contact is the member
    who started the cycle (the champion), or the earliest to join who is a
    contact. Only written opportunities and contacts are named.

    Parameters
    ----------
    rng : numpy.random.Generator
        The buying groups' stream.
    committees : dict of str to ndarray
        One entry per committee member, in cycle order and by joining order
        within a cycle: ``cycle``, ``person``, ``senior``.
    pt : dict of str to ndarray
        The people table (``in_crm``, ``seniority``, ``department``).
    opportunities : DataFrame
        The written opportunities table.
    opp_cycle : ndarray of int, shape (len(opportunities),)
        The cycle each of its rows came from, -1 none.
    contact_ids : pyarrow.Array
        Every person's contact id.
    g : BuyingGroupParams

    Returns
    -------
    DataFrame
        ``opportunity_id``, ``contact_id``, ``role`` (missing for
        ``g.role_missing_share`` of the rows) and ``is_primary`` (bool,
        exactly one per opportunity), in the opportunities' order.
    """
    rows = np.flatnonzero(opp_cycle >= 0)
    rows = rows[rng.random(len(rows)) < g.contact_roles_share]
    n_cycles = int(max(opp_cycle.max(initial=-1), committees["cycle"].max(initial=-1))) + 1
    opp_of_cycle = np.full(n_cycles, -1, dtype=np.int64)
    opp_of_cycle[opp_cycle[rows]] = rows
    person = committees["person"]
    member_opp = opp_of_cycle[committees["cycle"]]
    sel = np.flatnonzero((member_opp >= 0) & pt["in_crm"][person])
    # Committees come in joining order: the first member named on an opportunity is its primary.
    order = sel[np.argsort(member_opp[sel], kind="stable")]
    opp_row = member_opp[order]
    primary = np.r_[True, opp_row[1:] != opp_row[:-1]] if len(order) else np.zeros(0, dtype=bool)
    p = person[order]
    role = contact_roles(pt["seniority"][p], pt["department"][p], committees["senior"][order])
    return pd.DataFrame({
        "opportunity_id": pd.Series(opportunities["opportunity_id"].to_numpy()[opp_row], dtype="str"),
        "contact_id": take(contact_ids, p),
        "role": str_column(role.astype(str), rng.random(len(order)) < g.role_missing_share),
        "is_primary": primary,
    })


def truth_frame(acc: Accounts, cycles: Cycles, committees, pt, email, contact_ids, grid: Grid) -> pd.DataFrame:
    """Who belonged to which buying cycle: one row per committee member of every cycle.

    Parameters
    ----------
    acc : Accounts
    cycles : Cycles
    committees : dict of str to ndarray
        One entry per committee member: ``cycle``, ``person``.
    pt : dict of str to ndarray
        The people table (``in_crm``).
    email, contact_ids : pyarrow.Array
        Every person's email and contact id.
    grid : Grid

    Returns
    -------
    DataFrame
        ``account_id``; ``person``, the key activities name the person by
        (the contact id of a CRM contact, else the email); ``contact_id``
        (missing for people the CRM never had); ``email``; ``group``, the
        cycle (an int unique in the history); ``topic``, its product line
        (missing for cycles without one: expansion cycles, or buying groups
        off); ``start`` and ``end``, UTC timestamps of the weeks its
        committee is active, ``[start, end)``, which may begin before the
        history; ``converts``, whether it ends in an opportunity.
    """
    cyc, person = committees["cycle"], committees["person"]
    in_crm = pt["in_crm"][person]
    contact = take(contact_ids, person, ~in_crm)
    mail = take(email, person)
    start_w = cycles.start_w[cyc]
    played = np.ceil(cycles.reach[cyc] * cycles.weeks[cyc])
    line = cycles.line[cyc].astype(np.int64)
    return pd.DataFrame({
        "account_id": take(acc.ids, cycles.acct[cyc].astype(np.int64)),
        "person": contact.fillna(mail),
        "contact_id": contact,
        "email": mail,
        "group": cyc.astype(np.int64),
        "topic": take(string_array(PRODUCT_LINES), np.maximum(line, 0), line < 0),
        "start": timestamps(grid, grid.week_day(start_w)),
        "end": timestamps(grid, grid.week_day(start_w + played)),
        "converts": cycles.converts[cyc].astype(bool),
    })


def simultaneous_groups(truth: pd.DataFrame) -> pd.Series:
    """The most buying groups each account had running at once.

    Parameters
    ----------
    truth : DataFrame
        :func:`~mqa.features.synth.generate_history`'s truth (``account_id``,
        ``group``, ``start``, ``end``).

    Returns
    -------
    Series of int
        Indexed by ``account_id``, one entry per account with a group; a
        history is multi-group where some entry is 2 or more. Spans are
        ``[start, end)``: a group that ends as another starts does not
        overlap it.
    """
    spans = truth.drop_duplicates("group")[["account_id", "start", "end"]]
    edges = pd.DataFrame({
        "account_id": np.concatenate([spans["account_id"].to_numpy(), spans["account_id"].to_numpy()]),
        "t": np.concatenate([spans["start"].to_numpy(), spans["end"].to_numpy()]),
        "step": np.r_[np.ones(len(spans), dtype=np.int64), -np.ones(len(spans), dtype=np.int64)],
    })
    # An end sorts before a start at the same instant: the right edge is exclusive.
    edges = edges.sort_values(["account_id", "t", "step"], kind="stable")
    edges["running"] = edges.groupby("account_id", sort=False)["step"].cumsum()
    return edges.groupby("account_id")["running"].max().astype(np.int64).rename("groups")
