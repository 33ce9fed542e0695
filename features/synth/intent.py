"""Third-party intent observations: background noise, surges without intent, and research during cycles."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .accounts import Accounts
from .draws import segments, weekly_episodes
from .grid import Grid
from .pipeline import Cycles
from .vocab import RELEVANT_TOPICS, UNRELATED_TOPICS


def intent_rows(rng, acc: Accounts, cycles: Cycles, grid: Grid):
    """Weekly (account, week, topic, score) rows from the intent provider, for covered accounts only."""
    nt = len(RELEVANT_TOPICS)
    n_topics = nt + len(UNRELATED_TOPICS)
    first_w = np.maximum(np.ceil(acc.created / 7.0), 0).astype(np.int64)
    live = np.maximum(grid.n_weeks - first_w, 0)
    cov = acc.intent_covered
    acct, week, topic, score = [], [], [], []

    # Background noise on every topic, mostly low.
    counts = rng.poisson(0.6 * live * cov)
    a = np.repeat(np.arange(acc.n), counts)
    acct.append(a)
    week.append(first_w[a] + (rng.random(len(a)) * live[a]).astype(np.int64))
    topic.append(rng.integers(0, n_topics, len(a)))
    score.append(np.round(100 * rng.beta(1.6, 5.0, len(a))))

    # Surges without purchase intent: unrelated topics mostly, ours sometimes.
    for rate, lo_topic, hi_topic in ((0.35, nt, n_topics), (0.08, 0, nt)):
        n_ep = rng.poisson(rate * live / 52 * cov)
        a = np.repeat(np.arange(acc.n), n_ep)
        begin = first_w[a] + (rng.random(len(a)) * live[a]).astype(np.int64)
        ep, w, j = weekly_episodes(begin, rng.integers(2, 7, len(a)))
        top = rng.integers(lo_topic, hi_topic, len(a))
        peak = 55 + 40 * rng.random(len(a))
        acct.append(a[ep])
        week.append(w)
        topic.append(top[ep])
        score.append(np.round(peak[ep] * (0.75 + 0.25 * rng.random(len(ep)))))

    # Research on the product's topics during buying cycles, often starting
    # a few weeks before anyone visits the vendor.
    nb = np.flatnonzero(~cycles.expansion & cov[cycles.acct] & (rng.random(len(cycles.acct)) < 0.85))
    lead = cycles.lead[nb] + rng.integers(0, 3, len(nb))
    begin = cycles.start_w[nb] - grid.run_in - lead
    length = np.ceil(cycles.reach[nb] * cycles.weeks[nb]).astype(np.int64) + lead
    ep, w, j = weekly_episodes(begin, length)
    stage = np.clip((j - lead[ep] + 0.5) / cycles.weeks[nb][ep], 0, 1)
    per_week = 1 + rng.binomial(2, 0.5 * cycles.intent[nb][ep])
    ep2, _ = segments(per_week)
    strength = cycles.intent[nb][ep][ep2]
    acct.append(cycles.acct[nb][ep][ep2])
    week.append(w[ep2])
    topic.append(rng.integers(0, nt, len(ep2)))
    score.append(np.round(25 + 72 * strength * (0.35 + 0.65 * stage[ep2]) + rng.normal(0, 9, len(ep2))))

    acct, week, topic = np.concatenate(acct), np.concatenate(week), np.concatenate(topic)
    score = np.clip(np.concatenate(score), 0, 100)
    keep = (week >= first_w[acct]) & (week >= 0) & (week < grid.n_weeks) & (week * 7 < grid.n_days)
    df = pd.DataFrame({"acct": acct[keep], "week": week[keep], "topic": topic[keep], "score": score[keep]})
    # One observation per account, week and topic: the strongest reading.
    df = df.sort_values(["acct", "week", "topic", "score"], ascending=[True, True, True, False], kind="stable")
    return df.drop_duplicates(["acct", "week", "topic"], keep="first")
