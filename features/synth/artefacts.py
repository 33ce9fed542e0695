"""What tracking tools make of engagement events: urls, minutes on page, ids, renamed types, duplicates."""

from __future__ import annotations

import numpy as np

from .draws import random_id_values
from .vocab import FORCED_PAGES, PAGE_GROUP, TYPE_CODE, TYPE_PAGES


def urls_and_minutes(rng, ev):
    """Page (index into the url list, -1 for none) and minutes on page of each activity row."""
    n = len(ev["t"])
    url = np.full(n, -1, dtype=np.int64)
    for name, code in TYPE_CODE.items():
        spec = TYPE_PAGES[name]
        rows = np.flatnonzero(ev["type"] == code)
        if spec is None or not len(rows):
            continue
        group, share = spec
        rows = rows[rng.random(len(rows)) < share]
        pages = PAGE_GROUP[group]
        url[rows] = pages[rng.integers(0, len(pages), len(rows))]
    for code, group in enumerate(FORCED_PAGES):
        rows = np.flatnonzero(ev["page"] == code)
        pages = PAGE_GROUP[group]
        url[rows] = pages[rng.integers(0, len(pages), len(rows))]

    minutes = np.full(n, np.nan)
    typ = ev["type"]
    visit = np.isin(typ, [TYPE_CODE["web_visit"], TYPE_CODE["pricing_page_visit"]])
    minutes[visit] = np.round(np.exp(rng.normal(np.log(1.5), 0.9, int(visit.sum()))), 2)
    webinar = typ == TYPE_CODE["webinar_attended"]
    minutes[webinar] = np.round(5 + 55 * rng.beta(2, 1.5, int(webinar.sum())))
    event = typ == TYPE_CODE["event_attended"]
    minutes[event] = np.round(30 + rng.exponential(120, int(event.sum())))
    # Trackers do not always report time on page.
    minutes[rng.random(n) < 0.2] = np.nan
    return url, minutes


def finish_activities(rng, ev, pt):
    """Turn simulated events into export rows: artefacts, identifiers, duplicates, time order.

    Adds ``url``, ``minutes``, ``id``, ``has_contact`` and ``email_only`` to
    ``ev`` and returns the rows sorted by time and id.
    """
    n = len(ev["t"])
    # Many trackers log a pricing visit as a web visit to /pricing.
    as_visit = (ev["type"] == TYPE_CODE["pricing_page_visit"]) & (rng.random(n) < 0.35)
    ev["type"][as_visit] = TYPE_CODE["web_visit"]
    ev["page"][as_visit] = FORCED_PAGES.index("pricing")
    # A chat widget or video host the contract does not know.
    odd = (ev["person"] >= 0) & (rng.random(n) < 0.004)
    ev["type"][odd] = np.where(rng.random(int(odd.sum())) < 0.7, TYPE_CODE["chat_message"], TYPE_CODE["video_view"])
    ev["url"], ev["minutes"] = urls_and_minutes(rng, ev)

    person = ev["person"]
    p = np.maximum(person, 0)
    in_crm = (person >= 0) & pt["in_crm"][p]
    # Some exports carry only the address of a person they do know.
    ev["email_only"] = (person >= 0) & (~in_crm | (rng.random(n) < 0.05))
    ev["has_contact"] = in_crm & ~ev["email_only"]
    # The account id is filled where the tool knew it: reverse-IP rows always,
    # rows of people the CRM has tied to an account sometimes.
    ev["linked"] &= (ev["acct"] >= 0) & ((person < 0) | (in_crm & pt["account_known"][p]))
    ev["id"] = random_id_values(rng, n, 12)

    # A sync that ran twice: the same row, id and all, exported again.
    dup = np.flatnonzero(rng.random(n) < 0.002)
    ev = {f: np.concatenate([v, v[dup]]) for f, v in ev.items()}
    order = np.lexsort((ev["id"], np.round(ev["t"] * 86_400).astype(np.int64)))
    return {f: v[order] for f, v in ev.items()}
