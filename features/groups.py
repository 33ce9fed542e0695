"""Buying groups: who inside an account researches what, how far each group got, and who it still lacks.

A large account is not one buyer (Forrester: "multiple simultaneous buying
groups — one team evaluating your product for use case A, another for use
case B, at different stages"). At each as-of date, the people engaged at an
account in the last :data:`WINDOW_DAYS` days are split into groups:

1. **by what they research**: a person's topic is the one most of their
   topical activities of the last :data:`TOPIC_DAYS` days carry (the
   activities ``topic`` column, given or read from the URL through
   ``[topics] url_prefixes``; a product line's newsletter counts here too);
   ties go to the first topic in alphabetical order;
2. **by when**: a person with no topical activity joins the topical group
   whose members' activity is closest in time (the mean of their activity
   times), if it is within :data:`JOIN_DAYS` days; otherwise they form, with
   the other such people, the account's group without a topic.

Opening a newsletter (``email_open``) does not make anyone a member: it is
what every subscribed contact does. Anonymous (reverse-IP) activity has no
person and is not counted.

**Persona templates** are learned from the deals that were won. A persona is
a department and a seniority band (director or above, or below); a director
or above also counts as "someone from" their department. The features
measure each group against the personas the won opportunities name in
``opportunity_contacts`` (:func:`named_groups`): a persona is in the template
when at least :data:`TEMPLATE_SHARE` of the won deals named one, once
:data:`MIN_WON` deals have been won. Templates at an as-of date learn only
from opportunities won (closed) by then, so template coverage is
point-in-time like every feature; and they read no activity, so they are the
same for every account and every part of a history (a Spark bucket). The
model report goes further (:func:`template_summary`): the group behind each
won deal is the one engaged when the opportunity was created (the group
holding most of the contacts it names, else the largest) with the named
contacts added, per topic where topics exist, beside the largest groups of
accounts that never converted.

Everything is vectorised over accounts, dates and people: events are
expanded to the as-of columns whose window holds them (a handful each) and
reduced per (date, person) in numpy, then grouped with pandas; no Python
loop runs over accounts, dates or events (only :func:`describe`, writing the
JSON of one date's few groups per account, loops over groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .context import Context, Feature
from .snapshots import counted_opportunities
from .window import DAY_NS, Events, Grid, covered, events
from .wording import Template

WINDOW_DAYS = 90
JOIN_DAYS = 30
TOPIC_DAYS = 180
PASSIVE_TYPES = ("email_open",)
STAGES = ("content", "pricing", "demo")
_STAGE_OF_TYPE = {"pricing_page_visit": 1, "demo_request": 2, "trial_signup": 2}
SENIOR = ("c_level", "vp")
LEADS = ("c_level", "vp", "director")
TEMPLATE_SHARE = 0.4
MIN_WON = 5
NO_TOPIC = -1

DEPARTMENT_WORDS = {"it": "IT", "hr": "HR"}
SENIORITY_WORDS = {"c_level": "C-level", "vp": "VP", "director": "director", "manager": "manager",
                   "individual": "individual contributor"}
SENIORITY_ORDER = ("c_level", "vp", "director", "manager", "individual")


@dataclass(frozen=True)
class Vocab:
    """The names behind the integer codes: topics, departments (personas are ``2 * department + lead``)."""

    topics: tuple[str, ...]
    departments: tuple[str, ...]

    @property
    def personas(self) -> int:
        return 2 * len(self.departments)

    def persona_label(self, p: int, count: int = 1) -> str:
        """A persona said to a rep: "an IT director or above", "someone from finance", "two people from engineering"."""
        dept = self.departments[p // 2]
        word = DEPARTMENT_WORDS.get(dept, dept)
        many = _number_word(count)
        if p % 2:
            article = "an" if word[:1].lower() in "aeiou" or word in ("HR",) else "a"
            return f"{article} {word} director or above" if count <= 1 else f"{many} {word} directors or above"
        return f"someone from {word}" if count <= 1 else f"{many} people from {word}"

    def persona_name(self, p: int) -> str:
        """A persona as a short name: "IT, director or above", "finance"."""
        dept = self.departments[p // 2]
        word = DEPARTMENT_WORDS.get(dept, dept)
        return f"{word}, director or above" if p % 2 else word


def _number_word(n: int) -> str:
    return {2: "two", 3: "three", 4: "four", 5: "five"}.get(int(n), str(int(n)))


def _codes(values: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    """Codes of ``values`` in ``names`` (-1 for missing or unknown)."""
    return pd.Categorical(values, categories=list(names)).codes.astype(np.int64)


def _vocab(ctx: Context) -> Vocab:
    """The topics of the activities, and the departments of the contacts and of the won deals' roles (a bucket's
    contacts are some of the history's; the roles are all of them, so every template persona has a code)."""
    topics = ctx.history["activities"]["topic"].dropna().unique()
    depts = set(ctx.history["contacts"]["department"].dropna().astype(str))
    depts |= set(won_roles(ctx.history)["department"].dropna().astype(str))
    return Vocab(tuple(sorted(str(t) for t in topics)), tuple(sorted(depts)))


@dataclass(frozen=True)
class Members:
    """The activities that make people members: one entry per activity, aligned with ``ev``."""

    ev: Events
    person: np.ndarray
    topic: np.ndarray
    stage: np.ndarray
    active: np.ndarray  # makes a member (anything but a newsletter open); every topical row says what they research

    def subset(self, mask: np.ndarray) -> "Members":
        return Members(self.ev.subset(mask), self.person[mask], self.topic[mask], self.stage[mask], self.active[mask])


def _members(ctx: Context, vocab: Vocab) -> Members:
    codes = ctx.activity_codes
    a = ctx.history["activities"]
    ev = ctx.activity_events
    topic = _codes(pd.Series(ev.take(a["topic"]), dtype="str"), vocab.topics) if len(ev) else np.empty(0, np.int64)
    names = np.asarray(codes.type_names, dtype=object)
    type_name = names[codes.type] if len(ev) else np.empty(0, dtype=object)
    stage = np.zeros(len(ev), dtype=np.int64)
    for kind, level in _STAGE_OF_TYPE.items():
        stage[type_name == kind] = level
    keep = codes.person >= 0
    active = ~np.isin(type_name, PASSIVE_TYPES)
    return Members(ev.subset(keep), codes.person[keep], topic[keep], stage[keep], active[keep])


def _people(ctx: Context, vocab: Vocab) -> tuple[np.ndarray, np.ndarray]:
    """Each person code's persona base (``2 * department``, -1 unknown) and seniority (index in SENIORITY_ORDER, -1)."""
    contacts = ctx.history["contacts"]
    n_people = int(ctx.activity_codes.person.max()) + 1 if len(ctx.activity_codes.person) else 0
    n_people = max(n_people, len(contacts))
    dept = np.full(n_people, -1, dtype=np.int64)
    sen = np.full(n_people, -1, dtype=np.int64)
    dept[:len(contacts)] = _codes(contacts["department"], vocab.departments)
    sen[:len(contacts)] = _codes(contacts["seniority"], SENIORITY_ORDER)
    return dept, sen


def assign(cell, person, t, topic, stage, interest: pd.DataFrame | None = None) -> pd.DataFrame:
    """Group the people of each cell (an account at a date, or an opportunity) by topic, then by time.

    Parameters
    ----------
    cell, person, t, topic, stage : ndarray
        One entry per activity: its cell, person code, time (int64 ns),
        topic code (-1 none) and stage (0 content, 1 pricing, 2 demo).

    Returns
    -------
    DataFrame
        One row per (cell, person): ``cell``, ``person``, ``group`` (the
        topic code of the person's group, -1 for the group without a topic),
        ``n`` (activities), ``last`` (ns), ``stage`` (their most advanced);
        sorted by cell then person.

    A person's topic is the one most of their topical activities carry:
    those of ``interest`` (``cell``, ``person``, ``topic``, one row per
    topical activity, over a longer memory) when given, else the topical
    ones among the activities.
    """
    cell, person = np.asarray(cell, np.int64), np.asarray(person, np.int64)
    t, topic, stage = np.asarray(t, np.int64), np.asarray(topic, np.int64), np.asarray(stage, np.int64)
    if not len(cell):
        return pd.DataFrame({c: np.empty(0, np.int64) for c in ("cell", "person", "group", "n", "last", "stage")})
    # One pass of numpy over the (many) activities: sorted by (cell, person), reduced per run.
    # (cell, person) as one int64: one sort, not a lexsort; what is reduced per run (a count, a maximum, a sum of
    # whole seconds from the first activity, which is exact) does not depend on the order within a run.
    width = int(person.max()) + 1
    key = cell * width + person
    order = np.argsort(key)
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    n = np.diff(np.r_[starts, len(key)])
    seconds = (t[order] - t.min()) // 10**9
    per = pd.DataFrame({"cell": key[starts] // width, "person": key[starts] % width, "n": n,
                        "last": np.maximum.reduceat(t[order], starts),
                        "mean": np.add.reduceat(seconds, starts) / n * 1e9 + float(t.min()),
                        "stage": np.maximum.reduceat(stage[order], starts)})
    if interest is None:
        on = topic >= 0
        interest = pd.DataFrame({"cell": cell[on], "person": person[on], "topic": topic[on]})
    topical = interest[interest["topic"] >= 0]
    counts = topical.groupby(["cell", "person", "topic"], sort=True).size().rename("c").reset_index()
    counts = counts.sort_values(["cell", "person", "c", "topic"], ascending=[True, True, False, True], kind="stable")
    top = counts.drop_duplicates(["cell", "person"])[["cell", "person", "topic"]]
    per = per.merge(top, on=["cell", "person"], how="left")
    per["group"] = per["topic"].fillna(NO_TOPIC).astype(np.int64)
    per = per.drop(columns="topic")

    # Where each topical group's activity sits in time: the mean time of its members' activities.
    has = per[per["group"] >= 0]
    centres = (has.assign(w=has["mean"] * has["n"]).groupby(["cell", "group"], sort=True)[["w", "n"]].sum()
               .reset_index())
    centres["centre"] = centres["w"] / centres["n"]
    loose = per[per["group"] < 0].reset_index()
    if len(loose) and len(centres):
        near = loose[["index", "cell", "mean"]].merge(centres[["cell", "group", "centre"]], on="cell")
        near["d"] = (near["mean"] - near["centre"]).abs()
        near = near.sort_values(["index", "d", "group"], kind="stable").drop_duplicates("index")
        near = near[near["d"] <= JOIN_DAYS * DAY_NS]
        per.loc[near["index"].to_numpy(), "group"] = near["group"].to_numpy()
    return per[["cell", "person", "group", "n", "last", "stage"]]


def _expand(grid: Grid, ev: Events, days: float) -> tuple[np.ndarray, np.ndarray]:
    """Each event repeated once per as-of column whose window holds it: (event index, cell = row * dates + column)."""
    k = grid.shape[1]
    lo, hi = covered(grid, ev, days)
    span = np.maximum(hi - lo, 0)
    rep = np.repeat(np.arange(len(ev)), span)
    step = np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span)
    return rep, ev.row[rep] * k + lo[rep] + step


def _persona_fill(dept: np.ndarray, sen: np.ndarray, n_personas: int, owner: np.ndarray, n_owners: int) -> np.ndarray:
    """``(owners, personas)`` booleans: which personas each owner's members (``dept``, ``sen``, ``owner``) fill."""
    fill = np.zeros((n_owners, max(n_personas, 1)), dtype=bool)
    ok = dept >= 0
    base = 2 * dept[ok]
    fill[owner[ok], base] = True
    lead = ok & np.isin(sen, [SENIORITY_ORDER.index(s) for s in LEADS])
    fill[owner[lead], 2 * dept[lead] + 1] = True
    return fill[:, :n_personas]


@dataclass(frozen=True)
class WonGroups:
    """The groups behind won opportunities: one row each, in close order."""

    closed: np.ndarray      # int64 ns
    topic: np.ndarray       # topic code, -1 none
    size: np.ndarray
    fill: np.ndarray        # (groups, personas) bool
    counts: np.ndarray      # (groups, personas) how many members fill each persona


def won_groups(ctx: Context, vocab: Vocab, members: Members | None = None) -> WonGroups:
    """The group behind every won opportunity of the grid's accounts: the engaged group at its creation, and the contacts it names.

    The model report's templates (per topic, :func:`template_summary`); the
    features use :func:`named_groups`, which needs no activities.
    """
    members = members or _members(ctx, vocab)
    members = members.subset(members.active)
    dept, sen = _people(ctx, vocab)
    opp = _won_opportunities(ctx)
    oev = events(ctx.grid, opp["account_id"], opp["created_at"])
    o = pd.DataFrame({"opp": oev.keep, "row": oev.row, "created": oev.t,
                      "closed": pd.DatetimeIndex(opp["closed_at"]).as_unit("ns").asi8[oev.keep]})
    m = pd.DataFrame({"row": members.ev.row, "t": members.ev.t, "person": members.person, "topic": members.topic,
                      "stage": members.stage})
    x = o.merge(m, on="row")
    x = x[(x["t"] <= x["created"]) & (x["t"] > x["created"] - WINDOW_DAYS * DAY_NS)]
    per = assign(x["opp"], x["person"], x["t"], x["topic"], x["stage"])

    # The contacts each opportunity names, as person codes (a contact's code is its row).
    oc = ctx.history["opportunity_contacts"]
    named = pd.DataFrame({"opp": pd.Index(opp["opportunity_id"]).get_indexer(oc["opportunity_id"]),
                          "person": pd.Index(ctx.history["contacts"]["contact_id"]).get_indexer(oc["contact_id"])})
    named = named[(named["opp"] >= 0) & (named["person"] >= 0)].drop_duplicates()
    named = named[named["opp"].isin(o["opp"])]
    hit = per.merge(named.rename(columns={"opp": "cell"}).assign(named=1), on=["cell", "person"], how="left")
    hit["named"] = hit["named"].fillna(0)
    sizes = hit.groupby(["cell", "group"], sort=True).agg(named=("named", "sum"), size=("person", "size"),
                                                           stage=("stage", "max"), last=("last", "max")).reset_index()
    sizes = sizes.sort_values(["cell", "named", "size", "stage", "last", "group"],
                              ascending=[True, False, False, False, False, True], kind="stable")
    chosen = sizes.drop_duplicates("cell")[["cell", "group"]]
    core = per.merge(chosen, on=["cell", "group"])[["cell", "person", "group"]]
    extra = named.rename(columns={"opp": "cell"}).merge(chosen, on="cell", how="left")
    extra["group"] = extra["group"].fillna(NO_TOPIC).astype(np.int64)
    team = pd.concat([core, extra[["cell", "person", "group"]]]).drop_duplicates(["cell", "person"])
    team = team.sort_values(["cell", "person"], kind="stable")
    cells = np.unique(team["cell"].to_numpy())
    pos = np.searchsorted(cells, team["cell"].to_numpy())
    p = team["person"].to_numpy()
    d, sn = dept[p], sen[p]
    closed = o.set_index("opp")["closed"].reindex(cells).to_numpy()
    topic = team.drop_duplicates("cell")["group"].to_numpy()
    return _won(vocab, cells, pos, d, sn, closed, topic)


def _won_opportunities(ctx: Context) -> pd.DataFrame:
    """Every won opportunity of a counted type with its close date, over the whole history (not only the grid's accounts)."""
    opp = ctx.history["opportunities"]
    s = ctx.settings
    won = (opp["is_won"].fillna(False).to_numpy(dtype=bool) & opp["closed_at"].notna().to_numpy()
           & counted_opportunities(opp, s.label_types, s.label_excluded_types))
    return opp[won].reset_index(drop=True)


def won_roles(history) -> pd.DataFrame:
    """The contacts every won opportunity names: one row per (opportunity, contact), in opportunity then contact order.

    Columns ``opportunity_id``, ``type`` (the opportunity's), ``closed_at``
    (int64 ns), ``department``, ``seniority`` (the contact's). A part of a
    history (a Spark bucket) carries the whole history's in
    :attr:`History.won_roles`, and that is returned: the templates are then
    the same in every bucket.
    """
    given = getattr(history, "won_roles", None)
    if given is not None:
        return given
    opp = history["opportunities"]
    won = opp[opp["is_won"].fillna(False).to_numpy(dtype=bool) & opp["closed_at"].notna().to_numpy()]
    oc = history["opportunity_contacts"]
    people = history["contacts"][["contact_id", "department", "seniority"]].drop_duplicates("contact_id")
    rows = (oc[["opportunity_id", "contact_id"]].drop_duplicates()
            .merge(won[["opportunity_id", "type", "closed_at"]], on="opportunity_id")
            .merge(people, on="contact_id")
            .sort_values(["opportunity_id", "contact_id"], kind="stable"))
    return pd.DataFrame({
        "opportunity_id": rows["opportunity_id"].astype("str").to_numpy(),
        "type": pd.Series(rows["type"].to_numpy(), dtype="str"),
        "closed_at": pd.DatetimeIndex(rows["closed_at"]).as_unit("ns").asi8 if len(rows) else np.empty(0, np.int64),
        "department": pd.Series(rows["department"].to_numpy(), dtype="str"),
        "seniority": pd.Series(rows["seniority"].to_numpy(), dtype="str"),
    })


def named_groups(ctx: Context, vocab: Vocab) -> WonGroups:
    """The contacts each won opportunity names (``opportunity_contacts``): the templates the features measure against.

    Only the CRM's own record of who was on a deal is used here, never the
    activities, so a template is the same for every account and every part
    of a history (a Spark bucket holds its accounts' activities only, and
    the whole history's :func:`won_roles`).
    """
    s = ctx.settings
    roles = won_roles(ctx.history)
    roles = roles[counted_opportunities(roles, s.label_types, s.label_excluded_types)]
    cells, pos = np.unique(roles["opportunity_id"].to_numpy(dtype=object).astype(str), return_inverse=True)
    closed = np.zeros(len(cells), dtype=np.int64)
    closed[pos] = roles["closed_at"].to_numpy(dtype=np.int64)
    return _won(vocab, np.arange(len(cells)), pos.astype(np.int64), _codes(roles["department"], vocab.departments),
                _codes(roles["seniority"], SENIORITY_ORDER), closed, np.full(len(cells), NO_TOPIC))


def _won(vocab: Vocab, cells, pos, d, sn, closed, topic) -> WonGroups:
    """Won groups from their members (``pos`` is each member's group), in close order."""
    fill = _persona_fill(d, sn, vocab.personas, pos, len(cells))
    counts = np.zeros((len(cells), vocab.personas), dtype=np.int64)
    ok = d >= 0
    np.add.at(counts, (pos[ok], 2 * d[ok]), 1)
    lead = ok & np.isin(sn, [SENIORITY_ORDER.index(s) for s in LEADS])
    np.add.at(counts, (pos[lead], 2 * d[lead] + 1), 1)
    size = np.bincount(pos, minlength=len(cells))
    order = np.lexsort((cells, closed))
    return WonGroups(np.asarray(closed)[order], np.asarray(topic)[order], size[order], fill[order], counts[order])


def templates(won: WonGroups, as_of: np.ndarray, n_topics: int) -> tuple[np.ndarray, np.ndarray]:
    """Persona templates at each as-of: ``(topics + 1, dates, personas)`` bools, and the won groups behind each.

    Index 0 is over all topics, ``1 + t`` topic ``t``. A template needs
    :data:`MIN_WON` won groups closed at or before the as-of date.
    """
    k, n_p = len(as_of), won.fill.shape[1]
    seen = np.searchsorted(won.closed, as_of, side="right")  # won groups closed at or before each as-of
    out = np.zeros((n_topics + 1, k, n_p), dtype=bool)
    n_won = np.zeros((n_topics + 1, k), dtype=np.int64)
    for slot in range(n_topics + 1):  # the few topics, not rows
        mask = np.ones(len(won.topic), bool) if slot == 0 else won.topic == slot - 1
        cum = np.vstack([np.zeros((1, n_p)), np.cumsum(won.fill & mask[:, None], axis=0)])
        cum_n = np.r_[0, np.cumsum(mask)]
        n = cum_n[seen]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = cum[seen] / n[:, None]
        out[slot] = (n[:, None] >= MIN_WON) & (share >= TEMPLATE_SHARE)
        n_won[slot] = n
    return out, n_won


@dataclass(frozen=True)
class Groups:
    """Every buying group on a grid: one row per (cell, group), and who is in it."""

    groups: pd.DataFrame   # cell, group (topic code or -1), size, stage, last, seniors, coverage, rank (0 strongest)
    people: pd.DataFrame   # cell, person, group
    fill: np.ndarray       # (groups, personas) bool, aligned with ``groups``
    template: np.ndarray   # (groups, personas) bool: the template each group was measured against
    vocab: Vocab


def detect(ctx: Context) -> Groups:
    """The buying groups of every account at every as-of date of ``ctx``'s grid."""
    vocab = _vocab(ctx)
    everyone = _members(ctx, vocab)
    # What a person researches is read over a longer memory, and from every topical row (a newsletter
    # about a product line too), than who is engaged now.
    topical = everyone.subset(everyone.topic >= 0)
    t_rep, t_cell = _expand(ctx.grid, topical.ev, TOPIC_DAYS)
    interest = pd.DataFrame({"cell": t_cell, "person": topical.person[t_rep], "topic": topical.topic[t_rep]})
    members = everyone.subset(everyone.active)
    rep, cell = _expand(ctx.grid, members.ev, WINDOW_DAYS)
    per = assign(cell, members.person[rep], members.ev.t[rep], members.topic[rep], members.stage[rep], interest)
    dept, sen = _people(ctx, vocab)
    p = per["person"].to_numpy()
    pd_, ps = dept[p], sen[p]  # _people covers every person code
    senior = np.isin(ps, [SENIORITY_ORDER.index(s) for s in SENIOR])
    g = per.assign(senior=senior).groupby(["cell", "group"], sort=True).agg(
        size=("person", "size"), stage=("stage", "max"), last=("last", "max"), seniors=("senior", "sum")).reset_index()
    owner = pd.MultiIndex.from_frame(g[["cell", "group"]]).get_indexer(pd.MultiIndex.from_frame(per[["cell", "group"]]))
    fill = _persona_fill(pd_, ps, vocab.personas, owner, len(g))

    k = ctx.grid.shape[1]
    tmpl, _ = templates(named_groups(ctx, vocab), ctx.grid.t, 0)
    col = g["cell"].to_numpy() % k
    template = tmpl[0, col] if len(g) else np.zeros((0, vocab.personas), dtype=bool)
    wanted = template.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        g["coverage"] = np.where(wanted > 0, (fill & template).sum(axis=1) / np.maximum(wanted, 1), np.nan)
    order = g.sort_values(["cell", "size", "stage", "last", "group"], ascending=[True, False, False, False, True],
                          kind="stable").index
    g["rank"] = 0
    ranked = g.loc[order]
    g.loc[order, "rank"] = ranked.groupby("cell", sort=False).cumcount().to_numpy()
    return Groups(g, per[["cell", "person", "group"]], fill, template, vocab)


def _groups(ctx: Context) -> pd.DataFrame | None:
    """The grid's groups, or None when the history has no topics (nor people): the family is then empty.

    Whether it has them is the whole history's answer (a Spark bucket's
    :attr:`History.inputs`), so every part of a history agrees; and a history
    without topics does not pay for grouping.
    """
    from .inputs import lacking_inputs, provided_inputs  # the inputs module builds on the registry

    if lacking_inputs(GROUP_PEOPLE, provided_inputs(ctx.history)):
        return None
    return ctx.memo("buying_groups", lambda: detect(ctx)).groups


def _strongest(ctx: Context) -> pd.DataFrame | None:
    groups = _groups(ctx)
    return None if groups is None else groups[groups["rank"] == 0]


def _on_grid(ctx: Context, cells: np.ndarray | None, values, fill_value: float) -> np.ndarray:
    n, k = ctx.grid.shape
    out = np.full(n * k, fill_value if cells is not None else np.nan, dtype=float)
    if cells is not None:
        out[cells] = values
    return out.reshape(n, k)


def group_count(ctx: Context) -> np.ndarray:
    """Buying groups of two or more people engaged in the last 90 days; NaN for a history without topics."""
    groups = _groups(ctx)
    if groups is None:
        return _on_grid(ctx, None, None, np.nan)
    real = groups[groups["size"] >= 2]
    n, k = ctx.grid.shape
    return np.bincount(real["cell"].to_numpy(), minlength=n * k).astype(float).reshape(n, k)


def top_size(ctx: Context) -> np.ndarray:
    """People in the largest buying group."""
    s = _strongest(ctx)
    if s is None:
        return _on_grid(ctx, None, None, np.nan)
    return _on_grid(ctx, s["cell"].to_numpy(), s["size"].to_numpy(dtype=float), 0.0)


def top_coverage(ctx: Context) -> np.ndarray:
    """Share (0-1) of the won deals' persona template the largest group covers; NaN without a template or group."""
    s = _strongest(ctx)
    if s is None:
        return _on_grid(ctx, None, None, np.nan)
    return _on_grid(ctx, s["cell"].to_numpy(), s["coverage"].to_numpy(dtype=float), np.nan)


def top_senior_share(ctx: Context) -> np.ndarray:
    """Share of the largest group's people who are VP or C-level; NaN without a group."""
    s = _strongest(ctx)
    if s is None:
        return _on_grid(ctx, None, None, np.nan)
    return _on_grid(ctx, s["cell"].to_numpy(), (s["seniors"] / s["size"]).to_numpy(dtype=float), np.nan)


GROUP_PEOPLE = ("activities.timestamp", "activities.contact_id|activities.email", "activities.topic")
TEMPLATE_INPUTS = GROUP_PEOPLE + ("contacts.department", "opportunities.is_won", "opportunities.closed_at",
                                  "opportunity_contacts.contact_id")

FEATURES: list[Feature] = [
    Feature(f"buying_group__groups_{WINDOW_DAYS}d", group_count,
            f"buying groups of two or more people engaged in the last {WINDOW_DAYS} days", sources=GROUP_PEOPLE,
            template=Template("count", "{n} buying groups at work in {w}", "1 buying group at work in {w}",
                              "no buying group of two or more people in {w}").within(WINDOW_DAYS)),
    Feature(f"buying_group__top_size_{WINDOW_DAYS}d", top_size,
            f"people in the largest buying group of the last {WINDOW_DAYS} days", sources=GROUP_PEOPLE,
            template=Template("count", "its largest buying group has {n} people", "its largest buying group is 1 person",
                              "no buying group in {w}").within(WINDOW_DAYS)),
    Feature(f"buying_group__top_coverage_{WINDOW_DAYS}d", top_coverage,
            "share of the won deals' personas the largest buying group has", sources=TEMPLATE_INPUTS,
            template=Template("percent", "its largest buying group has {n}% of the personas won deals had", None,
                              "its largest buying group has none of the personas won deals had",
                              "no won deals to compare its buying group with yet")),
    Feature(f"buying_group__top_senior_share_{WINDOW_DAYS}d", top_senior_share,
            "share of the largest buying group who are VP or C-level",
            sources=GROUP_PEOPLE + ("contacts.seniority",),
            template=Template("percent", "{n}% of its largest buying group is VP or C-level", None,
                              "no VP or C-level in its largest buying group", "no buying group in {w}").within(WINDOW_DAYS)),
]


# --------------------------------------------------------------------------- what a rep reads

def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _team_name(depts: list[str]) -> str:
    """A group's name from its members' departments: the most common one ("IT team"), or "Team" when none is known."""
    known = [d for d in depts if d]
    if not known:
        return "Team"
    top = sorted(set(known), key=lambda d: (-known.count(d), d))[0]
    word = DEPARTMENT_WORDS.get(top, top)
    return f"{word[:1].upper()}{word[1:]} team"


def _seniority_span(levels: list[int]) -> str | None:
    known = sorted(level for level in levels if level >= 0)
    if not known:
        return None
    hi, lo = SENIORITY_WORDS[SENIORITY_ORDER[known[0]]], SENIORITY_WORDS[SENIORITY_ORDER[known[-1]]]
    return hi if hi == lo else f"{hi} to {lo}"


def _missing(template: np.ndarray, fill: np.ndarray, vocab: Vocab) -> list[str]:
    """The template's personas the group lacks; a missing lead stands for its whole department."""
    gone = np.flatnonzero(template & ~fill)
    leads = {p // 2 for p in gone if p % 2}
    return [vocab.persona_label(p) for p in gone if p % 2 or p // 2 not in leads]


def describe(ctx: Context) -> pd.Series:
    """Each grid account's buying groups at the grid's one as-of date: a JSON list, strongest first; missing where none.

    Each group: ``group`` (1 is the strongest), ``name`` ("IT team"),
    ``topic`` (null for the group without one), ``size``, ``contacts``
    (contact ids of its members the CRM knows, most senior first),
    ``unnamed`` (members known only by email, who are not named here),
    ``seniority`` ("VP to individual contributor"), ``personas``,
    ``coverage`` (share of the won deals' template it has, null without a
    template), ``missing`` (template personas it lacks), ``stage`` (its most
    advanced action: content, pricing or demo), ``last_activity`` (ISO, UTC)
    and ``summary``, the sentence a rep reads. No name or email is written:
    the output goes to warehouses; the report looks the contacts up.
    """
    import json

    n, k = ctx.grid.shape
    if k != 1:
        raise ValueError(f"describe takes a grid of one as-of date, not {k}")
    found = ctx.memo("buying_groups", lambda: detect(ctx))
    g, people, vocab = found.groups, found.people, found.vocab
    contacts = ctx.history["contacts"]
    dept, sen = _people(ctx, vocab)
    people = people.merge(g[["cell", "group", "rank"]], on=["cell", "group"])
    p = people["person"].to_numpy()
    is_contact = p < len(contacts)
    ids = contacts["contact_id"].to_numpy(dtype=object)
    contact = np.full(len(p), None, dtype=object)
    contact[is_contact] = ids[p[is_contact]]
    people = people.assign(contact=contact, dept=dept[p], sen=sen[p])
    people = people.sort_values(["cell", "rank", "sen", "contact"], key=lambda c: c.where(c >= 0, 99)
                                if c.name == "sen" else c, kind="stable", na_position="last")
    # Each group's members as plain arrays, sliced by the runs of (cell, rank): no pandas inside the loop.
    cell_of, rank_of = people["cell"].to_numpy(), people["rank"].to_numpy()
    who, dept_of, sen_of = people["contact"].to_numpy(dtype=object), people["dept"].to_numpy(), people["sen"].to_numpy()
    starts = np.flatnonzero(np.r_[len(cell_of) > 0, (cell_of[1:] != cell_of[:-1]) | (rank_of[1:] != rank_of[:-1])])
    ends = np.r_[starts[1:], len(cell_of)]
    members = {(int(cell_of[b]), int(rank_of[b])): (int(b), int(e)) for b, e in zip(starts, ends)}
    out: dict[int, list[dict]] = {}
    order = np.lexsort((g["rank"].to_numpy(), g["cell"].to_numpy()))
    cols = {c: g[c].to_numpy() for c in ("cell", "group", "rank", "size", "stage", "last", "coverage")}
    for i in order:  # one entry per group at one date: a few per account
        row = {c: v[i] for c, v in cols.items()}
        b, e = members[(int(row["cell"]), int(row["rank"]))]
        depts = [vocab.departments[d] if d >= 0 else "" for d in dept_of[b:e]]
        named = [c for c in who[b:e] if isinstance(c, str)]
        topic = vocab.topics[int(row["group"])] if row["group"] >= 0 else None
        coverage = None if np.isnan(row["coverage"]) else round(float(row["coverage"]), 2)
        missing = _missing(found.template[i], found.fill[i], vocab)
        span = _seniority_span(list(sen_of[b:e]))
        name = _team_name(depts)
        size = int(row["size"])
        what = f"evaluating '{topic}'" if topic else "no topic in what they read"
        summary = f"{name}: {what}, {size} {'person' if size == 1 else 'people'}" + (f", {span}" if span else "") \
            + (f", missing: {_and(missing)}" if missing else "")
        out.setdefault(int(row["cell"]), []).append({
            "group": int(row["rank"]) + 1, "name": name, "topic": topic, "size": size,
            "contacts": named, "unnamed": (e - b) - len(named),
            "seniority": span, "personas": [vocab.persona_name(q) for q in np.flatnonzero(found.fill[i])],
            "coverage": coverage, "missing": missing, "stage": STAGES[int(row["stage"])],
            "last_activity": pd.Timestamp(int(row["last"]), tz="UTC").isoformat(), "summary": summary})
    values = [json.dumps(out[r]) if r in out else None for r in range(n)]
    return pd.Series(values, index=ctx.grid.accounts, dtype="str")


def template_summary(history, settings) -> dict:
    """The persona templates of the won deals, for the model report: overall and per topic, against non-converting accounts.

    Won groups here are the engaged group at each won opportunity's creation
    with the contacts it names (:func:`won_groups`); the baseline is the
    largest group (two people or more) of accounts that never opened a
    counted opportunity, at every as-of date. No name, email or id is kept:
    personas and counts only.
    """
    from .snapshots import make_grid

    lo, hi = history.date_range()
    if lo is None:
        return {"won": 0, "templates": []}
    dates = pd.date_range(lo.normalize(), hi, freq=f"{settings.step_days}D", tz="UTC")
    ctx = Context(history, make_grid(history, dates), settings)
    found = ctx.memo("buying_groups", lambda: detect(ctx))
    vocab = found.vocab
    won = won_groups(ctx, vocab)
    opp = history["opportunities"]
    converted = set(opp.loc[counted_opportunities(opp, settings.label_types, settings.label_excluded_types), "account_id"])
    k = ctx.grid.shape[1]
    g = found.groups
    account = ctx.grid.accounts.to_numpy()[g["cell"].to_numpy() // k]
    base = ((g["rank"] == 0) & (g["size"] >= 2)).to_numpy() & ~np.isin(account, list(converted))
    base_share = found.fill[base].mean(axis=0) if base.any() else np.zeros(vocab.personas)
    out = []
    for slot in [NO_TOPIC - 1] + list(range(len(vocab.topics))):  # overall, then each topic
        mask = np.ones(len(won.topic), bool) if slot < NO_TOPIC else won.topic == slot
        n = int(mask.sum())
        if n < MIN_WON:
            continue
        share = won.fill[mask].mean(axis=0)
        personas = []
        for p in np.argsort(-share, kind="stable"):
            if share[p] < TEMPLATE_SHARE or (p % 2 == 0 and share[p + 1] >= TEMPLATE_SHARE
                                             and share[p + 1] >= share[p] - 0.1):
                continue  # a lead that is usually there stands for "someone from" their department
            having = won.counts[mask][:, p]
            median = int(np.median(having[having > 0])) if (having > 0).any() else 1
            personas.append({"persona": vocab.persona_name(int(p)), "label": vocab.persona_label(int(p), median),
                             "won_share": round(float(share[p]), 3), "other_share": round(float(base_share[p]), 3),
                             "median": median})
        topic = vocab.topics[slot] if slot >= 0 else None
        size = float(np.median(won.size[mask]))
        where = f" on '{topic}'" if topic else ""
        sentence = (f"groups that opened won opportunities{where} usually had "
                    + (_and([p["label"] for p in personas]) if personas else "no persona in common")
                    + f"; median {size:g} people ({n} won deals)")
        out.append({"topic": topic, "won": n, "median_size": size, "personas": personas, "sentence": sentence})
    return {"won": int(len(won.topic)), "baseline_groups": int(base.sum()), "templates": out}
