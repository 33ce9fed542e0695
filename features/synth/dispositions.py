"""Sales' verdicts on the accounts marketing hands over: the ``dispositions`` table.

An account is handed to sales when it looks like an MQA: most buying cycles
whose committee shows itself, some time after it does, and a share of the
noisy accounts (partners, email scanners, busy non-buyers) at random weeks.
A rep gives a verdict hours to days later, or never. A cycle really under way
is accepted more often than noise, and more often still when it will end in
an opportunity; a refusal carries a reason, with noise: reps misjudge, and
write "no response" whatever the truth.

The draws come from a random stream of their own (see :func:`generate_history`),
so that the other tables do not change when this one does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .accounts import Accounts
from .columns import str_column, take, timestamps
from .draws import pick
from .grid import Grid

# Share of the cycles whose committee is visible enough to be handed over.
HANDED_CYCLES = 0.6
# Handovers per noisy (non-buying, busy) account and year.
HANDED_NOISE_PER_YEAR = 0.1
UNTOUCHED = 0.15              # handed over and never given a verdict
DELAY_MEDIAN_HOURS = 30.0     # the verdict's delay: log-normal, a fifth after 72 hours
DELAY_SIGMA = 1.0
P_ACCEPT = {"converting cycle": 0.8, "cycle": 0.55, "noise": 0.2}
P_RECYCLED = 0.45             # of the refused: recycled (come back later) rather than rejected
REJECT_REASONS = ("not a fit", "no budget", "existing customer", "no response")
REJECT_P = (0.45, 0.25, 0.05, 0.25)
RECYCLE_REASONS = ("bad timing", "no budget", "no response")
RECYCLE_P = (0.5, 0.2, 0.3)
NO_REASON = 0.1               # refusals whose reason field is left empty
OTHER_OWNER = 0.1             # verdicts given by another rep than the account's owner


def handovers(rng, acc: Accounts, cycles, grid: Grid):
    """When each handed-over account crossed into MQA territory: (account, day, kind code).

    Kind 0 is a cycle that converts, 1 a cycle that does not, 2 noise.
    """
    n_cyc = len(cycles.acct)
    handed = rng.random(n_cyc) < HANDED_CYCLES * np.clip(np.asarray(cycles.visibility, dtype=float) + 0.3, 0, 1)
    # Somewhere after the committee identified itself and before the cycle ended.
    played = np.asarray(cycles.weeks, dtype=float) * np.asarray(cycles.reach, dtype=float)
    lead = np.minimum(np.asarray(cycles.lead, dtype=float), played)
    week = np.asarray(cycles.start_w, dtype=float) + lead + rng.random(n_cyc) * np.maximum(played - lead, 1.0)
    cyc_kind = np.where(np.asarray(cycles.converts, dtype=bool), 0, 1)

    noisy = np.flatnonzero(acc.partner | acc.email_scanner | (acc.fit < -0.5))
    years = grid.n_days / 365.25
    n_noise = int(rng.poisson(HANDED_NOISE_PER_YEAR * years * len(noisy))) if len(noisy) else 0
    noise_acct = noisy[rng.integers(0, len(noisy), size=n_noise)] if n_noise else np.array([], dtype=np.int64)
    noise_day = rng.random(n_noise) * grid.n_days

    acct = np.concatenate([np.asarray(cycles.acct, dtype=np.int64)[handed], noise_acct.astype(np.int64)])
    day = np.concatenate([grid.week_day(week[handed]) + rng.random(int(handed.sum())) * 7.0, noise_day])
    kind = np.concatenate([cyc_kind[handed], np.full(n_noise, 2)])
    # Only what the written history holds, and never before the account exists.
    keep = (day >= 0) & (day < grid.n_days) & (day >= acc.created[acct])
    return acct[keep], day[keep], kind[keep]


def dispositions_frame(rng, acc: Accounts, cycles, grid: Grid, owners: pd.Series) -> pd.DataFrame:
    """The ``dispositions`` table, in date order.

    Parameters
    ----------
    rng : numpy.random.Generator
        The table's own stream.
    acc : Accounts
    cycles : Cycles
    grid : Grid
    owners : Series of str
        Each account's owner, indexed by account id (the accounts table's).
    """
    acct, day, kind = handovers(rng, acc, cycles, grid)
    k = len(acct)
    touched = rng.random(k) >= UNTOUCHED
    hours = np.exp(np.log(DELAY_MEDIAN_HOURS) + DELAY_SIGMA * rng.standard_normal(k))
    when = day + hours / 24.0
    p_accept = np.array([P_ACCEPT["converting cycle"], P_ACCEPT["cycle"], P_ACCEPT["noise"]])[kind]
    u = rng.random(k)
    verdict = np.where(u < p_accept, "accepted", np.where(rng.random(k) < P_RECYCLED, "recycled", "rejected"))
    reason = np.where(verdict == "rejected", pick(rng, REJECT_REASONS, k, REJECT_P),
                      np.where(verdict == "recycled", pick(rng, RECYCLE_REASONS, k, RECYCLE_P), ""))
    no_reason = (verdict == "accepted") | (rng.random(k) < NO_REASON)
    other = rng.random(k) < OTHER_OWNER
    keep = touched & (when < grid.n_days)
    ids = take(acc.ids, acct).to_numpy(dtype=object)
    owner = owners.reindex(ids).to_numpy(dtype=object)
    owner = np.where(other | pd.isna(owner), pick(rng, sorted(owners.dropna().unique()) or ["unassigned"], k), owner)
    order = np.lexsort((ids[keep].astype(str), when[keep]))
    sel = np.flatnonzero(keep)[order]
    return pd.DataFrame({
        "account_id": pd.Series(ids[sel], dtype="str"),
        "date": timestamps(grid, np.floor(when[sel] * 86_400) / 86_400),
        "disposition": str_column(verdict[sel]),
        "reason": str_column(reason[sel], no_reason[sel]),
        "owner": pd.Series(owner[sel], dtype="str"),
    })
