"""The engagement events of the history, source by source: buying committees and every kind of noise."""

from __future__ import annotations

import numpy as np

from .accounts import Accounts
from .draws import segments
from .grid import Grid, hours, times_between, times_in_weeks
from .people import People, baseline_people, roles
from .pipeline import Cycles
from .vocab import (
    ANY_DEPTS,
    COMMITTEE_DEPTS,
    FORCED_PAGES,
    TYPE_CODE,
    W_BACKGROUND,
    W_CURIOUS,
    W_CYCLE_EARLY,
    W_CYCLE_LATE,
    W_CYCLE_LATE_LOST,
    W_EXPANSION,
    W_PARTNER,
    W_SENIOR_EARLY,
    W_SENIOR_LATE,
)

EVENT_FIELDS = ("acct", "person", "t", "type", "page", "linked", "cycle")


def event_block(acct, person, t, types, page=None, linked=None, cycle=None):
    """One block of activity rows.

    ``page``: forced page group (-1 none); ``linked``: account_id known;
    ``cycle``: the buying cycle the row is part of (-1 none).
    """
    k = len(t)
    return dict(acct=np.asarray(acct, dtype=np.int64), person=np.asarray(person, dtype=np.int64), t=t,
                type=np.asarray(types, dtype=np.int64),
                page=np.full(k, -1, dtype=np.int64) if page is None else page,
                linked=np.zeros(k, dtype=bool) if linked is None else linked,
                cycle=np.full(k, -1, dtype=np.int64) if cycle is None else np.asarray(cycle, dtype=np.int64))


def types_by_stage(rng, stage, early, late, levels=8):
    """Activity types whose mix moves from ``early`` to ``late`` weights as ``stage`` goes 0 -> 1."""
    out = np.empty(len(stage), dtype=np.int64)
    level = np.minimum((np.clip(stage, 0, 1) * levels).astype(int), levels - 1)
    for lv in range(levels):
        rows = np.flatnonzero(level == lv)
        x = (lv + 0.5) / levels
        w = (1 - x) * early + x * late
        out[rows] = rng.choice(len(w), size=len(rows), p=w / w.sum())
    return out


def cycle_activity(rng, acc: Accounts, cycles: Cycles, grid: Grid, people: People):
    """The committees' engagement through each cycle, plus anonymous visits from their offices.

    Returns the event blocks and the committees: one entry per member,
    ``cycle`` (index into ``cycles``), ``person`` (index into ``people``) and
    ``senior`` (the member is the cycle's VP or C-level).
    """
    cyc, rank = segments(cycles.size)
    k = len(cyc)
    size = cycles.size[cyc]
    is_senior = cycles.senior[cyc] & (rank == size - 1)
    # Committees grow through the cycle; the executive sponsor arrives late.
    join = np.where(rank == 0, 0.0, np.clip(rank / size * 0.65 + rng.random(k) * 0.15, 0, 0.9))
    join = np.where(is_senior, 0.4 + 0.45 * rng.random(k), join)
    s, d = roles(rng, k, [0, 0, 30, 40, 30], COMMITTEE_DEPTS)
    top_s, top_d = roles(rng, k, [35, 65, 0, 0, 0], [14, 16, 20, 6, 6, 4, 10, 24, 0])
    s = np.where(is_senior, top_s, s)
    d = np.where(is_senior, top_d, d)
    expansion = cycles.expansion[cyc]
    start_day = grid.week_day(cycles.start_w[cyc])
    weeks = cycles.weeks[cyc]
    acct = cycles.acct[cyc]
    # Some committee members were in the CRM long before; some never are
    # (they only ever appear as an email address).
    known_before = expansion | (rng.random(k) < 0.4)
    lo = acc.created[acct]
    created = np.where(known_before, lo + rng.random(k) * np.maximum(start_day - lo, 0),
                       start_day + join * weeks * 7)
    created = np.minimum(created, grid.n_days - 1)
    in_crm = expansion | (rng.random(k) < 0.85)
    person = people.add(rng, acct, s, d, created, in_crm)

    # Member-weeks from joining to the point the cycle reaches.
    first = np.floor(join * weeks)
    last = np.ceil(cycles.reach[cyc] * weeks)
    n_weeks = np.maximum(last - first, 0).astype(np.int64)
    member, j = segments(n_weeks)
    week = first[member] + j
    stage = (week + 0.5) / weeks[member]
    propensity = np.exp(rng.normal(0, 0.5, k))
    rate = 0.3 * cycles.visibility[cyc][member] * propensity[member] * (0.35 + 1.9 * stage)
    rate *= np.where(expansion[member], 0.6, 1.0)
    # A member enters by identifying themselves (a form, a registration),
    # unless the cycle runs out of sight of the vendor's tracking.
    enters = (j == 0) & (rng.random(len(member)) < 0.9 * np.minimum(cycles.visibility[cyc][member], 1.0))
    counts = rng.poisson(rate) + enters
    row = np.repeat(np.arange(len(member)), counts)
    m = member[row]
    t = times_in_weeks(rng, start_day[m] + week[row] * 7)
    st = stage[row]
    types = np.empty(len(row), dtype=np.int64)
    senior_row = is_senior[m]
    exp_row = expansion[m]
    plain = ~senior_row & ~exp_row
    won_row = cycles.converts[cyc][m]
    types[plain & won_row] = types_by_stage(rng, st[plain & won_row], W_CYCLE_EARLY, W_CYCLE_LATE)
    types[plain & ~won_row] = types_by_stage(rng, st[plain & ~won_row], W_CYCLE_EARLY, W_CYCLE_LATE_LOST)
    sr = senior_row & ~exp_row
    types[sr] = types_by_stage(rng, st[sr], W_SENIOR_EARLY, W_SENIOR_LATE)
    types[exp_row] = types_by_stage(rng, st[exp_row], W_EXPANSION, W_EXPANSION)
    blocks = [event_block(acct[m], person[m], t, types, linked=rng.random(len(row)) < 0.3, cycle=cyc[m])]

    # Anonymous traffic from the buying offices, resolved by reverse IP. The
    # research starts weeks before anyone fills in a form.
    cw, j = segments(cycles.lead + np.ceil(cycles.reach * cycles.weeks).astype(np.int64))
    week = j - cycles.lead[cw]
    stage = np.clip((week + 0.5) / cycles.weeks[cw], 0, 1)
    ok = acc.reverse_ip[cycles.acct[cw]]
    counts = rng.poisson(1.2 * cycles.visibility[cw] * (0.4 + stage) * ok)
    row = np.repeat(np.arange(len(cw)), counts)
    c = cw[row]
    t = times_in_weeks(rng, grid.week_day(cycles.start_w[c] + week[row]))
    page = np.where(rng.random(len(row)) < 0.08 + 0.3 * stage[row], FORCED_PAGES.index("pricing"), -1)
    blocks.append(event_block(cycles.acct[c], np.full(len(row), -1), t, np.full(len(row), TYPE_CODE["web_visit"]), page,
                          np.ones(len(row), dtype=bool), c))
    return blocks, dict(cycle=cyc, person=person, senior=is_senior)


def curious_activity(rng, acc: Accounts, grid: Grid, people: People):
    """Single enthusiasts (a student, an engineer on a side project) with lots of activity and no cycle."""
    span = np.maximum(grid.n_days - np.maximum(acc.created, 0), 0)
    episodes = rng.poisson(0.25 * span / 365.25)
    acct = np.repeat(np.arange(acc.n), episodes)
    k = len(acct)
    begin = np.maximum(acc.created[acct], 0) + rng.random(k) * span[acct]
    s, d = roles(rng, k, [1, 4, 10, 30, 55], [15, 35, 4, 1, 20, 8, 10, 1, 6])
    person = people.add(rng, acct, s, d, begin, rng.random(k) < 0.8)
    n_weeks = rng.integers(2, 11, k)
    ep, j = segments(n_weeks)
    counts = rng.poisson(np.exp(rng.normal(np.log(8.0), 0.6, k))[ep])
    row = np.repeat(ep, counts)
    week_start = begin[row] + np.repeat(j, counts) * 7
    t = np.floor(week_start + rng.random(len(row)) * 7) + hours(rng, len(row))
    types = rng.choice(len(W_CURIOUS), size=len(row), p=W_CURIOUS / W_CURIOUS.sum())
    return [event_block(acct[row], person[row], t, types, linked=rng.random(len(row)) < 0.3)]


def partner_activity(rng, acc: Accounts, grid: Grid, people: People):
    """Agencies, resellers and competitors: a steady crowd on the site, pricing pages included."""
    idx = np.flatnonzero(acc.partner)
    staff = 2 + rng.poisson(3.0, len(idx))
    who, _ = segments(staff)
    acct = idx[who]
    k = len(acct)
    s, d = roles(rng, k, [1, 4, 15, 35, 45], [10, 25, 2, 1, 25, 25, 8, 1, 3])
    lo = np.maximum(acc.created[acct], -400.0)
    begin = lo + rng.random(k) * (grid.n_days - lo) * 0.5
    person = people.add(rng, acct, s, d, begin, rng.random(k) < 0.9)
    start = np.maximum(begin, 0)
    counts = rng.poisson(np.exp(rng.normal(np.log(0.8), 0.6, k)) * (grid.n_days - start) / 7)
    row = np.repeat(np.arange(k), counts)
    t = times_between(rng, start[row], np.full(len(row), grid.n_days))
    types = rng.choice(len(W_PARTNER), size=len(row), p=W_PARTNER / W_PARTNER.sum())
    return [event_block(acct[row], person[row], t, types, linked=rng.random(len(row)) < 0.3)]


def conference_activity(rng, acc: Accounts, grid: Grid, people: People):
    """Trade shows: badge scans of several people per company, then a short follow-up.

    Big companies send more people, senior ones among them: broad, senior
    engagement on one day that has nothing to do with a buying cycle.
    """
    dates = np.sort(np.floor(rng.random(max(1, int(round(4 * grid.n_days / 365.25)))) * (grid.n_days - 14)))
    n_conf = len(dates)
    p_attend = np.clip(0.035 * (np.maximum(acc.employees, 10) / 200.0) ** 0.35, 0, 0.4)
    attend = (rng.random((acc.n, n_conf)) < p_attend[:, None]) & (acc.created[:, None] <= dates[None, :])
    a, c = np.nonzero(attend)
    badges = 1 + rng.poisson(0.3 + 0.6 * np.log10(np.maximum(acc.employees[a], 10)))
    visit, _ = segments(badges)
    acct, day = a[visit], dates[c[visit]]
    k = len(acct)
    s, d = roles(rng, k, [3, 8, 25, 34, 30], ANY_DEPTS)
    person = people.add(rng, acct, s, d, day + 0.4, np.ones(k, dtype=bool))
    scan = event_block(acct, person, day + 0.3 + 0.4 * rng.random(k), np.full(k, TYPE_CODE["event_attended"]),
                   linked=rng.random(k) < 0.3)
    n_follow = rng.poisson(1.5, k)
    row = np.repeat(np.arange(k), n_follow)
    follow_types = [TYPE_CODE[t] for t in ("email_open", "email_click", "content_download", "web_visit")]
    types = rng.choice(follow_types, size=len(row), p=[0.45, 0.2, 0.2, 0.15])
    t = np.floor(day[row] + 1 + rng.random(len(row)) * 14) + hours(rng, len(row))
    follow = event_block(acct[row], person[row], t, types, linked=rng.random(len(row)) < 0.3)
    return [scan, follow]


def newsletter_activity(rng, acc: Accounts, grid: Grid, pt):
    """Opens and clicks of the fortnightly newsletter and a few big campaign blasts.

    Security gateways at some companies open and click every email within
    seconds: bursts of "engagement" from every contact at once.
    """
    sends = np.arange(1.0, grid.n_days, 14.0) + 14 / 24
    blasts = np.sort(rng.random(max(1, int(grid.n_days / 90))) * grid.n_days)
    send_times = np.concatenate([sends, np.floor(blasts) + 15 / 24])
    open_boost = np.concatenate([np.ones(len(sends)), np.full(len(blasts), 1.6)])
    who = np.flatnonzero(pt["in_crm"] & pt["subscribed"] & (pt["acct"] >= 0))
    scanner = acc.email_scanner[pt["acct"][who]]
    blocks = []
    for send, boost in zip(send_times, open_boost):
        subscribed = pt["created"][who] <= send
        live, bot = who[subscribed], scanner[subscribed]
        opened = bot | (rng.random(len(live)) < np.minimum(pt["open_rate"][live] * boost, 0.95))
        p, b = live[opened], bot[opened]
        delay = np.where(b, rng.random(len(p)) * 0.003, rng.exponential(0.4, len(p)))
        t_open = send + delay
        # A scanner follows every link of the email; a reader clicks one, rarely.
        n_clicks = np.where(b, rng.integers(1, 4, len(p)), rng.random(len(p)) < 0.1)
        who_clicked = np.repeat(np.arange(len(p)), n_clicks)
        t_click = t_open[who_clicked] + np.where(b[who_clicked], 0.0005 * rng.random(len(who_clicked)),
                                                 rng.exponential(0.01, len(who_clicked)))
        pc = p[who_clicked]
        blocks.append(event_block(pt["acct"][p], p, t_open, np.full(len(p), TYPE_CODE["email_open"])))
        blocks.append(event_block(pt["acct"][pc], pc, t_click, np.full(len(pc), TYPE_CODE["email_click"])))
    return blocks


def background_activity(rng, grid: Grid, pt):
    """Occasional visits, ad clicks and downloads by known contacts, with no purchase in mind."""
    who = np.flatnonzero(pt["in_crm"] & (pt["acct"] >= 0))
    lo = np.maximum(pt["created"][who], 0)
    span = np.maximum(grid.n_days - lo, 0)
    # Executives seldom browse a vendor's site unprompted.
    by_seniority = np.array([0.3, 0.5, 0.8, 1.0, 1.0])[pt["seniority"][who]]
    counts = rng.poisson(0.04 * span / 7 * by_seniority * np.exp(rng.normal(0, 0.8, len(who))))
    row = np.repeat(np.arange(len(who)), counts)
    p = who[row]
    t = times_between(rng, lo[row], np.full(len(row), grid.n_days))
    types = rng.choice(len(W_BACKGROUND), size=len(row), p=W_BACKGROUND / W_BACKGROUND.sum())
    return [event_block(pt["acct"][p], p, t, types, linked=rng.random(len(row)) < 0.3)]


def anonymous_activity(rng, acc: Accounts, grid: Grid):
    """Reverse-IP visits: more traffic from bigger companies, whatever they intend."""
    lo = np.maximum(acc.created, 0)
    span = np.maximum(grid.n_days - lo, 0)
    rate = 0.2 * (np.maximum(acc.employees, 10) / 500.0) ** 0.45 * acc.reverse_ip
    counts = rng.poisson(rate * span / 7)
    acct = np.repeat(np.arange(acc.n), counts)
    t = times_between(rng, lo[acct], np.full(len(acct), grid.n_days))
    u = rng.random(len(acct))
    page = np.where(u < 0.04, FORCED_PAGES.index("pricing"),
                    np.where(u < 0.14, FORCED_PAGES.index("careers"), -1))
    return [event_block(acct, np.full(len(acct), -1), t, np.full(len(acct), TYPE_CODE["web_visit"]), page,
                    np.ones(len(acct), dtype=bool))]


def usage_activity(rng, acc: Accounts, customers, people: People):
    """Customers' users in the product: heavy, steady volume that says nothing about new business."""
    c_acct, first, end = customers
    users = 1 + rng.poisson(0.3 + 0.4 * np.log10(np.maximum(acc.employees[c_acct], 10)))
    period, _ = segments(users)
    acct = c_acct[period]
    k = len(acct)
    s, d = roles(rng, k, [0, 1, 5, 30, 64], [25, 40, 3, 0, 10, 6, 16, 0, 0])
    lo = acc.created[acct]
    created = np.maximum(first[period] - rng.random(k) * 60, lo + 1)
    person = people.add(rng, acct, s, d, created, np.ones(k, dtype=bool))
    weekly = np.exp(rng.normal(np.log(0.7), 0.6, k))
    counts = rng.poisson(weekly * (end[period] - first[period]) / 7)
    row = np.repeat(np.arange(k), counts)
    t = times_between(rng, first[period][row], end[period][row])
    usage = event_block(acct[row], person[row], t, np.full(len(row), TYPE_CODE["product_usage"]),
                    linked=rng.random(len(row)) < 0.5)
    # Users check plan limits and prices on the pricing page now and then.
    n_price = rng.poisson(2.0 * (end[period] - first[period]) / 365.25)
    row = np.repeat(np.arange(k), n_price)
    pricing = event_block(acct[row], person[row], times_between(rng, first[period][row], end[period][row]),
                      np.full(len(row), TYPE_CODE["pricing_page_visit"]), linked=rng.random(len(row)) < 0.5)
    # And they sign up for product training webinars, and mostly attend.
    n_train = rng.poisson(2.0 * (end[period] - first[period]) / 365.25)
    row = np.repeat(np.arange(k), n_train)
    t = times_between(rng, first[period][row], end[period][row])
    attended = rng.random(len(row)) < 0.7
    training = event_block(np.concatenate([acct[row], acct[row][attended]]),
                       np.concatenate([person[row], person[row][attended]]),
                       np.concatenate([t, t[attended] + 2 + rng.random(int(attended.sum())) * 5]),
                       np.concatenate([np.full(len(row), TYPE_CODE["webinar_registered"]),
                                       np.full(int(attended.sum()), TYPE_CODE["webinar_attended"])]))
    return [usage, pricing, training]


def job_seeker_activity(rng, acc: Accounts, grid: Grid, people: People):
    """People looking for a job at the vendor: careers pages, applications, private mailboxes."""
    k = int(rng.poisson(0.15 * acc.n))
    s, d = roles(rng, k, [0, 0, 2, 15, 83], [10, 45, 5, 0, 15, 15, 10, 0, 0])
    begin = rng.random(k) * (grid.n_days - 7)
    person = people.add(rng, np.full(k, -1), s, d, begin, rng.random(k) < 0.4, np.ones(k, dtype=bool))
    counts = rng.integers(2, 9, k)
    row = np.repeat(np.arange(k), counts)
    t = np.minimum(begin[row] + rng.exponential(5, len(row)), grid.n_days - 0.01)
    types = np.where(rng.random(len(row)) < 0.15, TYPE_CODE["form_fill"], TYPE_CODE["web_visit"])
    page = np.full(len(row), FORCED_PAGES.index("careers"))
    return [event_block(np.full(len(row), -1), person[row], t, types, page)]


def simulate_activities(rng, acc: Accounts, cycles: Cycles, customers, grid: Grid):
    """Every engagement event of the history, and everyone behind them.

    Returns the events (parallel arrays, inside the history and after their
    account's creation), the people table and the committees (see
    :func:`cycle_activity`).
    """
    people = People()
    baseline_people(rng, acc, grid, people)
    blocks, committees = cycle_activity(rng, acc, cycles, grid, people)
    blocks += curious_activity(rng, acc, grid, people)
    blocks += conference_activity(rng, acc, grid, people)
    blocks += partner_activity(rng, acc, grid, people)
    blocks += usage_activity(rng, acc, customers, people)
    blocks += job_seeker_activity(rng, acc, grid, people)
    pt = people.table()
    blocks += newsletter_activity(rng, acc, grid, pt)
    blocks += background_activity(rng, grid, pt)
    blocks += anonymous_activity(rng, acc, grid)

    ev = {f: np.concatenate([b[f] for b in blocks]) for f in EVENT_FIELDS}
    ev["t"] = np.round(ev["t"] * 86_400) / 86_400
    in_window = (ev["t"] >= 0) & (ev["t"] < grid.n_days)
    exists = (ev["acct"] < 0) | (ev["t"] >= acc.created[np.maximum(ev["acct"], 0)])
    ev = {f: v[in_window & exists] for f, v in ev.items()}
    # A contact enters the CRM no later than their first recorded activity.
    first_seen = np.full(people.n, np.inf)
    known = ev["person"] >= 0
    np.minimum.at(first_seen, ev["person"][known], ev["t"][known])
    pt["created"] = np.minimum(pt["created"], np.floor(first_seen * 1440) / 1440)
    # Contacts synced from a form tool often lack an account: a reader has
    # to match them by their email's domain, so only where the CRM has one.
    has_domain = ~acc.domain_missing[np.maximum(pt["acct"], 0)]
    pt["account_known"] = (pt["acct"] >= 0) & ((rng.random(people.n) >= 0.10) | pt["free_mail"] | ~has_domain)
    return ev, pt, committees
