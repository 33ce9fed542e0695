"""Lead-to-account matching: which account each contact, activity and intent row belongs to.

The contract's order for an activity is: its ``account_id``; its contact's
account; its ``email``'s domain; its contact's email domain. A subdomain of an
account's domain matches that account (``eu.acme.com`` is ``acme.com``);
free-mail domains never match. Where two accounts share a domain the match is
resolved deterministically (earliest ``created_at``, then smallest
``account_id``) and the domain is reported as ambiguous.

Everything here is vectorised over rows: the only loop is over the (few)
levels of a domain name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .text import map_unique

# Consumer mailbox providers: a person writing from one of these says nothing
# about their employer, so these domains never match an account.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    """
    gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr yahoo.de ymail.com rocketmail.com
    hotmail.com hotmail.co.uk hotmail.fr hotmail.de outlook.com outlook.fr live.com live.co.uk
    msn.com aol.com icloud.com me.com mac.com proton.me protonmail.com pm.me gmx.com gmx.de gmx.net
    web.de mail.com email.com yandex.com yandex.ru mail.ru zoho.com qq.com 163.com 126.com
    naver.com hanmail.net comcast.net verizon.net att.net btinternet.com orange.fr free.fr
    laposte.net libero.it t-online.de fastmail.com hey.com tutanota.com
    """.split()
)

MATCH_ORDER: tuple[str, ...] = ("account_id", "contact", "email_domain", "contact_email_domain")


@dataclass
class MatchReport:
    """How rows were tied to accounts.

    Attributes
    ----------
    activities_total : int
        Activity rows seen.
    activities_by_method : dict
        Rows matched by each method of ``MATCH_ORDER``.
    activities_unmatched : int
        Rows that match no account (kept, with an empty ``account_id``).
    contacts_matched_by_domain : int
        Contacts without an account id tied to one by their email domain.
    contacts_unmatched : int
        Contacts left without an account.
    ambiguous_domains : dict
        ``{domain: [account ids]}`` for domains shared by several accounts;
        the first id is the one chosen.
    free_mail_rows : int
        Activity rows whose only clue was a free-mail address.
    unknown_account_ids : int
        Activity rows whose ``account_id`` is not in the accounts table.
    """

    activities_total: int = 0
    activities_by_method: dict[str, int] = field(default_factory=dict)
    activities_unmatched: int = 0
    contacts_matched_by_domain: int = 0
    contacts_unmatched: int = 0
    ambiguous_domains: dict[str, list[str]] = field(default_factory=dict)
    free_mail_rows: int = 0
    unknown_account_ids: int = 0

    @property
    def match_rate(self) -> float:
        """Share of activity rows tied to an account (1.0 when there are none)."""
        if self.activities_total == 0:
            return 1.0
        return 1.0 - self.activities_unmatched / self.activities_total


def normalise_domain(values: pd.Series) -> pd.Series:
    """Reduce URLs and host names to a bare lower-case domain.

    ``https://www.Acme.com/about`` and ``ACME.COM.`` both become ``acme.com``;
    a value without a dot (not a domain) becomes missing.
    """
    return map_unique(values.astype("str"), _normalise_domain)


def _normalise_domain(s: pd.Series) -> pd.Series:
    s = s.str.strip().str.lower()
    s = s.str.replace(r"^[a-z][a-z0-9+.\-]*://", "", regex=True)
    s = s.str.replace(r"^[^@/]*@", "", regex=True)  # user@host or an email given as a domain
    s = s.str.replace(r"[/?#].*$", "", regex=True)
    s = s.str.replace(r":\d+$", "", regex=True)
    s = s.str.replace(r"^www\d*\.", "", regex=True)
    s = s.str.strip(".")
    ok = s.str.fullmatch(r"[a-z0-9\-]+(\.[a-z0-9\-]+)+", na=False)
    return s.where(ok)


def email_domain(emails: pd.Series) -> pd.Series:
    """The normalised domain after the last ``@`` of each email (missing if none)."""
    return map_unique(emails.astype("str"), _email_domain)


def _email_domain(s: pd.Series) -> pd.Series:
    s = s.str.strip().str.lower()
    has_at = s.str.contains("@", regex=False, na=False)
    return _normalise_domain(s.str.rsplit("@", n=1).str[-1].where(has_at))


def domain_index(accounts: pd.DataFrame) -> tuple[pd.Series, dict[str, list[str]]]:
    """Map each account domain to one account id, and list ambiguous domains.

    Parameters
    ----------
    accounts : DataFrame
        Columns ``account_id``, ``domain`` (normalised), optional ``created_at``.

    Returns
    -------
    index : Series
        ``account_id`` indexed by domain, one per domain.
    ambiguous : dict
        ``{domain: [account ids, chosen first]}`` for shared domains.
    """
    cols = ["account_id", "domain"] + (["created_at"] if "created_at" in accounts else [])
    a = accounts[cols].dropna(subset=["domain"])
    a = a[~a["domain"].isin(FREE_MAIL_DOMAINS)]
    # Deterministic tie-break: the oldest account owns a shared domain; ids
    # break ties between accounts created at the same time (or never dated).
    sort_cols = (["created_at"] if "created_at" in a else []) + ["account_id"]
    a = a.sort_values(sort_cols, na_position="last", kind="stable")
    dup = a["domain"].duplicated(keep=False)
    ambiguous = {d: list(ids) for d, ids in a.loc[dup].groupby("domain", sort=True)["account_id"]}
    first = a.drop_duplicates("domain", keep="first")
    return pd.Series(first["account_id"].to_numpy(), index=first["domain"].to_numpy(), dtype="str"), ambiguous


def lookup_domains(domains: pd.Series, index: pd.Series) -> pd.Series:
    """Account id for each domain, trying the domain and then its parent domains.

    ``eu.sales.acme.com`` tries itself, ``sales.acme.com`` and ``acme.com``;
    never a bare top-level domain. Free-mail domains give missing.
    """
    domains = domains.astype("str")
    uniq = pd.Series(domains.dropna().unique(), dtype="str")
    found = pd.Series(pd.NA, index=uniq.index, dtype="str")
    candidate = uniq.where(~uniq.isin(FREE_MAIL_DOMAINS))
    while candidate.notna().any():
        hit = candidate.map(index).astype("str")  # floats when no account has a domain
        found = found.fillna(hit)
        # Drop the leftmost label; stop before a single-label suffix (".com").
        parent = candidate.str.split(".", n=1).str[-1]
        candidate = parent.where(found.isna() & parent.str.contains(".", regex=False, na=False))
    mapping = pd.Series(found.to_numpy(), index=uniq.to_numpy(), dtype="str")
    return domains.map(mapping).astype("str")


def match_contacts(contacts: pd.DataFrame, index: pd.Series, report: MatchReport) -> pd.DataFrame:
    """Fill a contact's missing ``account_id`` from its email domain.

    Adds ``email_domain`` and ``matched_by`` (``account_id``, ``email_domain``
    or missing) columns.
    """
    out = contacts.copy()
    out["email_domain"] = email_domain(out["email"]) if "email" in out else pd.Series(pd.NA, index=out.index, dtype="str")
    given = out["account_id"].notna()
    by_domain = lookup_domains(out["email_domain"], index)
    fill = ~given & by_domain.notna()
    out["account_id"] = out["account_id"].where(given, by_domain)
    out["matched_by"] = pd.Series(np.where(given, "account_id", np.where(fill, "email_domain", None)), index=out.index, dtype="str")
    report.contacts_matched_by_domain = int(fill.sum())
    report.contacts_unmatched = int(out["account_id"].isna().sum())
    return out


def match_activities(
    activities: pd.DataFrame,
    contacts: pd.DataFrame,
    account_ids: pd.Index,
    index: pd.Series,
    report: MatchReport,
) -> pd.DataFrame:
    """Give each activity an ``account_id`` by the contract's order of clues.

    Parameters
    ----------
    activities : DataFrame
        Contract activities (``account_id``, ``contact_id``, ``email``, ``timestamp``).
    contacts : DataFrame
        Contacts as returned by :func:`match_contacts`, with their original
        account id in ``given_account_id``.
    account_ids : Index
        Known account ids (unique).
    index : Series
        Domain index from :func:`domain_index`.

    Returns
    -------
    DataFrame
        ``activities`` with ``account_id`` filled where a clue matched and a
        ``matched_by`` column naming the clue (missing when none matched).

    Notes
    -----
    Works on integer positions (of contacts and accounts), not strings: the
    activities table is the one with millions of rows.
    """
    out = activities.copy()
    n = len(out)
    account_ids = pd.Index(account_ids)

    own = account_ids.get_indexer(out["account_id"])
    report.unknown_account_ids = int((out["account_id"].notna().to_numpy() & (own < 0)).sum())

    contact_pos = pd.Index(contacts["contact_id"]).get_indexer(out["contact_id"])
    # A contact is known from its created_at on: a contact record made later
    # must not reach back and claim earlier activities (retroactive
    # attribution would let a row dated after as_of change features at as_of).
    created = _ns(contacts["created_at"])
    stamp = _ns(out["timestamp"])
    has = contact_pos >= 0
    later = np.zeros(n, dtype=bool)
    # Missing created_at is the smallest int64, so it is never "later".
    later[has] = created[contact_pos[has]] > stamp[has]
    contact_pos = np.where(later, -1, contact_pos)

    given = account_ids.get_indexer(contacts["given_account_id"])
    via_contact = _gather(given, contact_pos)
    email_dom = email_domain(out["email"])
    via_email = _positions(lookup_domains(email_dom, index), account_ids)
    contact_dom = contacts["email_domain"].to_numpy(dtype=object)
    contact_dom_pos = _positions(lookup_domains(contacts["email_domain"], index), account_ids)
    via_contact_email = _gather(contact_dom_pos, contact_pos)

    account = np.full(n, -1, dtype=np.int64)
    method = np.full(n, -1, dtype=np.int64)
    for i, clue in enumerate((own, via_contact, via_email, via_contact_email)):
        take = (account < 0) & (clue >= 0)
        account[take] = clue[take]
        method[take] = i
    ids = pd.Series(account_ids.to_numpy(), dtype="str").array
    out["account_id"] = pd.Series(ids.take(account, allow_fill=True), index=out.index)
    names = pd.Series(list(MATCH_ORDER), dtype="str").array
    out["matched_by"] = pd.Series(names.take(method, allow_fill=True), index=out.index)

    free_contact = np.zeros(n, dtype=bool)
    free_contact[contact_pos >= 0] = pd.Series(contact_dom[contact_pos[contact_pos >= 0]]).isin(FREE_MAIL_DOMAINS).to_numpy()
    free = email_dom.isin(FREE_MAIL_DOMAINS).to_numpy() | free_contact
    report.free_mail_rows = int((free & (account < 0)).sum())
    report.activities_total = n
    report.activities_by_method = {m: int((method == i).sum()) for i, m in enumerate(MATCH_ORDER)}
    report.activities_unmatched = int((account < 0).sum())
    return out


def _ns(times: pd.Series) -> np.ndarray:
    """UTC timestamps as int64 nanoseconds (missing is the smallest int64)."""
    return pd.DatetimeIndex(times).as_unit("ns").asi8


def _gather(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``values[pos]``, with -1 where ``pos`` is -1 (or ``values`` is empty)."""
    if len(values) == 0:
        return np.full(len(pos), -1, dtype=np.int64)
    return np.where(pos >= 0, values[np.maximum(pos, 0)], -1).astype(np.int64)


def _positions(ids: pd.Series, account_ids: pd.Index) -> np.ndarray:
    """Position of each account id in ``account_ids`` (-1 for missing)."""
    return account_ids.get_indexer(ids).astype(np.int64)


def match_by_account_or_domain(table: pd.DataFrame, account_ids: pd.Index, index: pd.Series) -> pd.Series:
    """Account id for intent or signal rows: a known ``account_id``, else the ``domain``."""
    empty = pd.Series(pd.NA, index=table.index, dtype="str")
    own = table["account_id"] if "account_id" in table else empty
    own = own.where(own.isin(account_ids))
    dom = table["domain"] if "domain" in table else empty
    return own.fillna(lookup_domains(dom, index)).astype("str")
