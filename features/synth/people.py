"""Everyone who leaves a trace, contacts or not: their roles, identities and the CRM's baseline contacts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..contract import DEPARTMENTS, SENIORITIES
from .accounts import Accounts
from .draws import pick
from .grid import Grid
from .vocab import (
    ANY_DEPTS,
    FIRST_NAMES,
    FREE_MAIL_DOMAINS,
    LAST_NAMES,
    SUBDOMAINS,
    TITLE_COUNT,
    TITLE_OFFSET,
)


class People:
    """Everyone who leaves a trace, contacts or not, collected block by block."""

    FIELDS = ("acct", "seniority", "department", "created", "in_crm", "free_mail", "subscribed", "open_rate")

    def __init__(self):
        self.blocks = []
        self.n = 0

    def add(self, rng, acct, seniority, department, created, in_crm, free_mail=None):
        """Register people; returns their global indexes."""
        k = len(acct)
        free_mail = np.zeros(k, dtype=bool) if free_mail is None else free_mail
        self.blocks.append(dict(
            acct=np.asarray(acct, dtype=np.int64), seniority=np.asarray(seniority), department=np.asarray(department),
            created=np.asarray(created, dtype=float), in_crm=np.asarray(in_crm, dtype=bool), free_mail=free_mail,
            subscribed=rng.random(k) < 0.5, open_rate=rng.beta(1.2, 6.0, k),
        ))
        start = self.n
        self.n += k
        return np.arange(start, self.n)

    def table(self):
        return {f: np.concatenate([b[f] for b in self.blocks]) for f in self.FIELDS}


def roles(rng, k, seniority_p, department_p):
    """Seniority and department indexes drawn independently from weights."""
    s = rng.choice(len(SENIORITIES), size=k, p=np.asarray(seniority_p, float) / np.sum(seniority_p))
    d = rng.choice(len(DEPARTMENTS), size=k, p=np.asarray(department_p, float) / np.sum(department_p))
    return s, d


def baseline_people(rng, acc: Accounts, grid: Grid, people: People):
    """The contacts each account has accumulated: newsletter readers, past event leads, former champions."""
    count = 1 + rng.poisson(1.2 + 1.1 * np.log10(np.maximum(acc.employees, 10)))
    acct = np.repeat(np.arange(acc.n), count)
    lo = acc.created[acct]
    created = lo + (grid.n_days - 1 - lo) * rng.beta(0.8, 1.6, len(acct))
    s, d = roles(rng, len(acct), [4, 8, 18, 30, 40], ANY_DEPTS)
    # A few people sign up with a private mailbox; the CRM still knows their company.
    free = rng.random(len(acct)) < 0.03
    return people.add(rng, acct, s, d, created, np.ones(len(acct), dtype=bool), free)


def person_identity(rng, acc: Accounts, pt):
    """Names, emails (Arrow arrays) and title indexes of everyone."""
    n = len(pt["acct"])
    first = pick(rng, FIRST_NAMES, n)
    last = pick(rng, LAST_NAMES, n)
    has_acct = pt["acct"] >= 0
    domain = np.where(has_acct, acc.domain[np.maximum(pt["acct"], 0)], "")
    sub = has_acct & ~pt["free_mail"] & (rng.random(n) < 0.08)
    domain = np.where(sub, pick(rng, SUBDOMAINS, n) + "." + domain, domain)
    domain = np.where(pt["free_mail"], pick(rng, FREE_MAIL_DOMAINS, n, [40, 25, 12, 10, 8, 5]), domain)
    local = np.strings.lower(first + "." + last)
    email = local + "@" + domain
    # Namesakes at one company get numbered mailboxes, as they do in real life.
    nth = pd.Series(email).groupby(email, sort=False).cumcount().to_numpy()
    email = np.where(nth > 0, local + (nth + 1).astype(str) + "@" + domain, email)
    g = pt["seniority"] * len(DEPARTMENTS) + pt["department"]
    title = TITLE_OFFSET[g] + (rng.random(n) * TITLE_COUNT[g]).astype(np.int64)
    return pa.array(first + " " + last), pa.array(email), title
