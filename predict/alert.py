"""New-MQA alerts: one chat message per account that just became an MQA, posted to an incoming webhook.

``mqa alert`` reads a run of the score store (:mod:`mqa.predict.store`) and
announces the accounts whose ``became_mqa`` is true, the morning they cross
the cutoff: buying windows are short, and a digest read a week later is too
late. Three decisions, each a function a notebook can call:

- :func:`plan_alerts`: which accounts are due: the run's new MQAs minus those
  the store's alert log already announced to the same channel for this run
  or within the cooldown before it (an account that drops below the cutoff
  and comes back is not announced again), and those sales rejected or
  recycled within the cooldown unless their score rose by a margin since;
- :func:`build_messages`: the Slack-compatible payloads (Block Kit with a
  plain ``text`` fallback): account, score as a rank and tier, the
  probability in words, the top reason, the person to call, the owner and a
  link to the account's report page; one per account, or one per owner;
- :func:`deliver`: posting them with ``requests`` and urllib3's ``Retry``
  (backoff on 5xx, Retry-After honoured on 429 up to a cap), logging each
  message in the store right after it is delivered.

The webhook URL is a secret (whoever holds it can post to the channel): it is
never printed, logged or stored. Messages show :func:`shown_url` (scheme and
host), and the alert log names the channel by :func:`~mqa.predict.store.channel_key`.
A contact's name is in the payload, which is for reps, and nowhere else.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pandas as pd

from mqa.errors import MqaError

from .report import page_name, rank_text, top_reasons
from .store import ScoreStore, channel_key

ENV_VAR = "MQA_WEBHOOK_URL"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_PER_MESSAGE = 20  # accounts in one grouped message (Block Kit allows 50 blocks)
UNASSIGNED = "unassigned"
_TIER_LABELS = {"mqa": "MQA", "targeted": "Targeted", "nurture": "Nurture"}


class AlertError(MqaError):
    """An alert that cannot be planned or sent as asked; the message says why and the fix."""


@dataclass(frozen=True)
class AlertSettings:
    """How alerts are chosen, worded and delivered (``[alert]`` in the configuration; see docs/configuration.md).

    Parameters
    ----------
    cooldown_days : int
        An account announced to a channel at an as-of within this many days
        before the run's is not announced again (0: only never twice for the same run);
        nor is one sales rejected or recycled within as many days (see ``rescore_margin``).
    group_by_owner : bool
        One message per owner listing their new MQAs, instead of one per account.
    report_url : str or None
        Where ``mqa report``'s folder is served; the messages link
        ``<report_url>/accounts/<page>``.
    retries, backoff_seconds, timeout_seconds, max_retry_after_seconds
        Delivery: retries per message on 429/5xx and connection errors, the
        exponential backoff factor, the timeout of each request, and the
        longest a Retry-After header may make it wait.
    horizon_days : int
        The model's label horizon, for the probability in words.
    rescore_margin : float
        A new MQA sales rejected or recycled within the cooldown is announced
        only if its score rose by at least this many points since
        (:func:`~mqa.predict.dispositions.held_by_dispositions`).
    """

    cooldown_days: int = 14
    group_by_owner: bool = False
    report_url: str | None = None
    retries: int = 4
    backoff_seconds: float = 1.0
    timeout_seconds: float = 10.0
    max_retry_after_seconds: float = 120.0
    horizon_days: int = 90
    rescore_margin: float = 10.0


@dataclass
class AlertPlan:
    """The accounts a run announces: ``due`` (output rows, highest score first) and why the others are not.

    ``compared`` is False when the run had no earlier run to compare with (every
    ``became_mqa`` missing), and then nothing is due. ``already``: new MQAs this
    run already announced to the channel; ``cooled``: new MQAs announced within
    the cooldown before it; ``held``: new MQAs sales rejected or recycled
    within the cooldown whose score did not rise by the margin since.
    ``dispositions_checked`` is False when no dispositions were given (then
    nobody is held).
    """

    as_of: pd.Timestamp
    model_version: str
    due: pd.DataFrame
    new: int = 0
    already: list[str] = field(default_factory=list)
    cooled: list[str] = field(default_factory=list)
    compared: bool = True
    held: list[str] = field(default_factory=list)
    dispositions_checked: bool = False


@dataclass(frozen=True)
class AlertMessage:
    """One message: the accounts it announces, their owner (when grouped) and the JSON payload."""

    accounts: tuple[str, ...]
    owner: str | None
    payload: dict


@dataclass
class Delivery:
    """What :func:`deliver` did: messages delivered (and logged), and those that failed with why."""

    sent: list[AlertMessage] = field(default_factory=list)
    failed: list[tuple[AlertMessage, str]] = field(default_factory=list)


# --- the webhook ------------------------------------------------------------------------------------------

def webhook_url(given: str | None = None, configured: str | None = None) -> tuple[str, str] | None:
    """The webhook URL and where it came from: ``given`` (--webhook), else $MQA_WEBHOOK_URL, else the configuration.

    Returns None when none of the three is set.

    Raises
    ------
    AlertError
        The URL found is not an http(s) URL with a host (the message does not quote it).
    """
    for url, source in ((given, "--webhook"), (os.environ.get(ENV_VAR), ENV_VAR), (configured, "[alert] webhook_url")):
        if url is not None and url.strip():
            url = url.strip()
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise AlertError(f"{source}: not an http(s) URL with a host (the value is not shown: it is a secret); "
                                 "pass the incoming webhook's URL, https://hooks.slack.com/services/...")
            return url, source
    return None


def shown_url(url: str) -> str:
    """What messages show of a webhook URL: its scheme and host, the secret path elided (``https://hooks.slack.com/…``)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}/\u2026"


# --- which accounts --------------------------------------------------------------------------------------

def plan_alerts(store: ScoreStore, run: pd.Series, channel: str | None, cooldown_days: int = 14,
                dispositions: pd.DataFrame | None = None, rescore_margin: float = 10.0) -> AlertPlan:
    """The new MQAs of ``run`` that are due to be announced to ``channel``.

    An account is due when it became an MQA in this run and the store's alert
    log holds no alert of it to ``channel`` whose as-of lies in
    ``[as_of - cooldown_days, as_of]``: this very as-of included (so a re-run
    sends nothing, even with a cooldown of 0), and an alert exactly
    ``cooldown_days`` earlier too. Alerts logged for a later as-of do not
    count: the window looks back from the run.

    With ``dispositions`` (the history's table), a new MQA whose latest
    disposition at or before the as-of is ``rejected`` or ``recycled`` and
    lies within the same cooldown is held back, unless its score rose by
    ``rescore_margin`` points over its score at the last run at or before that
    disposition (:func:`~mqa.predict.dispositions.held_by_dispositions`).

    Parameters
    ----------
    store : ScoreStore
    run : Series
        A row of :meth:`ScoreStore.runs` (``as_of``, ``model_version``).
    channel : str or None
        :func:`~mqa.predict.store.channel_key` of the webhook; None checks the
        log of every channel (a dry run without a webhook).
    cooldown_days : int
    dispositions : DataFrame, optional
        ``account_id``, ``date``, ``disposition``; None: not checked.
    rescore_margin : float

    Returns
    -------
    AlertPlan
    """
    as_of, version = run["as_of"], str(run["model_version"])
    scores = store.run_scores(run)
    if scores["became_mqa"].isna().all():
        return AlertPlan(as_of=as_of, model_version=version, due=scores.iloc[:0], compared=False)
    new = scores[scores["became_mqa"].fillna(False).to_numpy(dtype=bool)]
    log = store.alerts()
    if channel is not None:
        log = log[log["channel"] == channel]
    # Both edges are inclusive: the run's own as-of counts, so a re-run finds what it sent, and an alert
    # exactly cooldown_days before still counts ("within 14 days"), so a cooldown of 0 means "this run only".
    same = log["as_of"] == as_of
    recent = (log["as_of"] >= as_of - pd.Timedelta(days=cooldown_days)) & (log["as_of"] <= as_of)
    this_run = new["account_id"].isin(log.loc[same.to_numpy(dtype=bool), "account_id"])
    cooled = ~this_run & new["account_id"].isin(log.loc[recent.to_numpy(dtype=bool), "account_id"])
    held = pd.Series(False, index=new.index)
    if dispositions is not None and len(new):
        from .dispositions import held_by_dispositions

        earlier = store.scores(model_version=version, accounts=new["account_id"].tolist())
        held = ~(this_run | cooled) & held_by_dispositions(new, earlier, dispositions, as_of, cooldown_days, rescore_margin)
    due = new[~(this_run | cooled | held).to_numpy(dtype=bool)]
    due = due.sort_values(["score", "account_id"], ascending=[False, True], kind="stable").reset_index(drop=True)
    return AlertPlan(as_of=as_of, model_version=version, due=due, new=len(new),
                     already=new.loc[this_run.to_numpy(dtype=bool), "account_id"].tolist(),
                     cooled=new.loc[cooled.to_numpy(dtype=bool), "account_id"].tolist(),
                     held=new.loc[held.to_numpy(dtype=bool), "account_id"].tolist(),
                     dispositions_checked=dispositions is not None)


def alert_rows(due: pd.DataFrame, history=None, as_of=None, committee: dict | None = None,
               relevant_topics: tuple[str, ...] = ()) -> pd.DataFrame:
    """What each due account's message says: the output row plus ``name``, ``owner``, ``reason``, ``person``, ``person_title``.

    Without ``history`` the name is the account id, owner and person are
    missing and ``looked_up`` is False (the messages then leave them out). With it, the person to call is the first of
    :func:`~mqa.predict.handoff.handoffs` (the most senior, then most active,
    engaged in the 90 days up to as-of).
    """
    rows = due.reset_index(drop=True)
    ids = rows["account_id"]
    missing = pd.Series(pd.NA, index=rows.index, dtype="str")
    found = {"name": missing, "owner": missing, "person": missing, "person_title": missing}
    if history is not None and len(rows):
        from .handoff import handoffs

        info = history["accounts"].drop_duplicates("account_id").set_index("account_id")
        for col in ("name", "owner"):
            if col in info:
                values = ids.map(info[col]).astype("str").str.strip()
                found[col] = values.where(values.notna() & (values != ""))
        facts = handoffs(history, ids.tolist(), as_of if as_of is not None else rows["as_of"].iloc[0], committee,
                         relevant_topics)
        first = [facts[a].people[0] if facts[a].people else {} for a in ids]
        for col, key in (("person", "name"), ("person_title", "title")):
            found[col] = pd.Series([p.get(key) or None for p in first], index=rows.index, dtype="str")
    return rows.assign(name=found["name"].fillna(ids), owner=found["owner"],
                       reason=[top_reasons(r, 1)[0] for r in rows["reasons"]],
                       person=found["person"], person_title=found["person_title"], looked_up=history is not None)


# --- the messages ----------------------------------------------------------------------------------------

def build_messages(rows: pd.DataFrame, settings: AlertSettings | None = None) -> list[AlertMessage]:
    """The payloads for :func:`alert_rows`' accounts: one per account, or per owner (``settings.group_by_owner``).

    Grouped, the accounts without an owner share one "unassigned" message, and
    an owner with more than :data:`MAX_PER_MESSAGE` new MQAs gets several.
    """
    settings = settings or AlertSettings()
    if rows.empty:
        return []
    if not settings.group_by_owner:
        return [AlertMessage((r["account_id"],), None if pd.isna(r["owner"]) else r["owner"], _single(r, settings))
                for _, r in rows.iterrows()]
    out = []
    keyed = rows.assign(_owner=rows["owner"].fillna(UNASSIGNED), _none=rows["owner"].isna())
    # Named owners alphabetically, "unassigned" last.
    for (_, owner), group in keyed.groupby(["_none", "_owner"], sort=True):
        parts = [group.iloc[i:i + MAX_PER_MESSAGE] for i in range(0, len(group), MAX_PER_MESSAGE)]
        for n, part in enumerate(parts, 1):
            label = owner + (f" (part {n} of {len(parts)})" if len(parts) > 1 else "")
            out.append(AlertMessage(tuple(part["account_id"]), None if owner == UNASSIGNED and part["_none"].all() else owner,
                                    _grouped(label, part, len(group), settings)))
    return out


def _esc(text) -> str:
    """Slack-inert text: ``&``, ``<`` and ``>`` escaped, so a name like ``<!channel>`` neither pings nor links."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(r: pd.Series, settings: AlertSettings) -> str | None:
    if not settings.report_url:
        return None
    return f"{settings.report_url.rstrip('/')}/accounts/{page_name(str(r['account_id']))}"


def _facts(r: pd.Series, settings: AlertSettings) -> dict[str, str]:
    """The plain facts of one account (unescaped): score line, odds, reason, person, owner."""
    from .report import odds_text

    tier = _TIER_LABELS.get(r["tier"], str(r["tier"]).replace("_", " ").capitalize()) if isinstance(r["tier"], str) else ""
    person = "" if pd.isna(r["person"]) else r["person"] + ("" if pd.isna(r["person_title"]) else f", {r['person_title']}")
    odds = odds_text(r["probability"], r["lift"], settings.horizon_days)
    return {
        "score": f"score {r['score']:.0f} ({rank_text(r['score'])}), {tier}",
        "odds": odds[:1].upper() + odds[1:],
        "reason": r["reason"] or "",
        "person": person or "no engaged contact in the last 90 days",
        "owner": "unassigned" if pd.isna(r["owner"]) else r["owner"],
        "call": (f"Call {person}." if person else "No engaged contact in the last 90 days.") if r["looked_up"] else "",
    }


def _title(r: pd.Series, settings: AlertSettings) -> str:
    link = _link(r, settings)
    name = _esc(r["name"])
    return f"<{link}|{name}>" if link else name


def _single(r: pd.Series, settings: AlertSettings) -> dict:
    f = _facts(r, settings)
    as_of = f"{r['as_of']:%Y-%m-%d}"
    text = f"New MQA: {_esc(r['name'])}, {f['score']}. Why now: {_esc(f['reason'])}."
    if r["looked_up"]:
        text += f" {_esc(f['call'])} Owner: {_esc(f['owner'])}."
    if (link := _link(r, settings)):
        text += f" {link}"
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn",
                                         "text": f"*New MQA: {_title(r, settings)}*\n{f['score'][:1].upper()}{f['score'][1:]}\n{_esc(f['odds'])}"}},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*Why now*\n{_esc(f['reason'])}"}] + ([
                {"type": "mrkdwn", "text": f"*Call*\n{_esc(f['person'])}"},
                {"type": "mrkdwn", "text": f"*Owner*\n{_esc(f['owner'])}"},
            ] if r["looked_up"] else [])},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(
                f"mqa · as of {as_of} · account {r['account_id']} · model {r['model_version']}")}]},
        ],
    }


def _grouped(owner: str, part: pd.DataFrame, total: int, settings: AlertSettings) -> dict:
    as_of = f"{part['as_of'].iloc[0]:%Y-%m-%d}"
    many = "s" * (total != 1)
    head = (f"{total} unassigned new MQA{many}{owner[len(UNASSIGNED):]} at {as_of}" if owner.startswith(UNASSIGNED)
            and part["_none"].all() else f"{total} new MQA{many} for {owner} at {as_of}")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{_esc(head)}*"}}]
    names = []
    for _, r in part.iterrows():
        f = _facts(r, settings)
        names.append(_esc(r["name"]))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            f"*{_title(r, settings)}*: {f['score']}\n{_esc(f['odds'])}\n"
            f"Why now: {_esc(f['reason'])}\n{_esc(f['call'])}")}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _esc(
        f"mqa · as of {as_of} · model {part['model_version'].iloc[0]}")}]})
    return {"text": f"{_esc(head)}: {', '.join(names)}", "blocks": blocks}


# --- delivery --------------------------------------------------------------------------------------------

def _retry_class():
    from urllib3.util.retry import Retry

    class CappedRetry(Retry):
        """urllib3's Retry with a cap on how long a Retry-After header may make it sleep."""

        max_retry_after: float = 120.0

        def parse_retry_after(self, retry_after: str) -> float:
            return min(super().parse_retry_after(retry_after), self.max_retry_after)

        def new(self, **kw):
            retry = super().new(**kw)
            retry.max_retry_after = self.max_retry_after
            return retry

    return CappedRetry


def webhook_session(settings: AlertSettings | None = None):
    """A ``requests`` session whose adapter retries a POST on 429/500/502/503/504 and connection errors.

    Backoff is exponential (``backoff_seconds`` x 2^(n-1) from the second
    retry, urllib3's rule); a Retry-After header on 429 (or 503) is honoured,
    capped at ``max_retry_after_seconds``.
    """
    import requests
    from requests.adapters import HTTPAdapter

    settings = settings or AlertSettings()
    retry = _retry_class()(total=settings.retries, status_forcelist=RETRY_STATUSES, allowed_methods=frozenset({"POST"}),
                           backoff_factor=settings.backoff_seconds, respect_retry_after_header=True,
                           raise_on_status=False)
    retry.max_retry_after = settings.max_retry_after_seconds
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _Redact(logging.Filter):
    """Replace the webhook's URL and path in urllib3's debug records (they quote the request line)."""

    def __init__(self, url: str):
        super().__init__()
        parts = urlsplit(url)
        self.secrets = [s for s in (url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.path) if s and s != "/"]

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(s in text for s in self.secrets):
            for s in self.secrets:
                text = text.replace(s, "/\u2026")
            record.msg, record.args = text, None
        return True


@contextmanager
def _redacted(url: str):
    loggers = [logging.getLogger(n) for n in ("urllib3.connectionpool", "urllib3.util.retry", "urllib3.connection")]
    f = _Redact(url)
    for lg in loggers:
        lg.addFilter(f)
    try:
        yield
    finally:
        for lg in loggers:
            lg.removeFilter(f)


def deliver(messages: list[AlertMessage], url: str, store: ScoreStore, plan: AlertPlan,
            settings: AlertSettings | None = None, on_sent=None, session=None) -> Delivery:
    """Post each message to ``url``; log each in the store's alert log right after it is delivered.

    A message still refused after the retries (or unanswered) is not logged,
    so the next run sends it again; the others go on.

    Parameters
    ----------
    messages : list of AlertMessage
    url : str
        The webhook (never shown; the log keys it by :func:`~mqa.predict.store.channel_key`).
    store : ScoreStore
    plan : AlertPlan
        The run the messages announce (its as-of and model version are logged).
    settings : AlertSettings, optional
    on_sent : callable, optional
        Called with each delivered message, after it is logged.
    session : requests.Session, optional
        Default: :func:`webhook_session`.

    Returns
    -------
    Delivery

    Raises
    ------
    mqa.predict.store.StoreError
        A delivered message could not be logged (the message says it may be sent again).
    """
    import requests

    settings = settings or AlertSettings()
    session = session or webhook_session(settings)
    channel = channel_key(url)
    done = Delivery()
    with _redacted(url), session:
        for message in messages:
            try:
                response = session.post(url, data=json.dumps(message.payload).encode(),
                                        headers={"Content-Type": "application/json"}, timeout=settings.timeout_seconds,
                                        allow_redirects=False)
            except requests.RequestException as exc:
                # The exception's text quotes the URL: only its kind is shown.
                done.failed.append((message, f"no answer ({_exception_kind(exc)}) after {settings.retries} retries"))
                continue
            if not 200 <= response.status_code < 300:
                again = f" after {settings.retries} retries" if response.status_code in RETRY_STATUSES else ""
                done.failed.append((message, f"HTTP {response.status_code}{again}"))
                continue
            sent = pd.DataFrame({"account_id": list(message.accounts), "as_of": plan.as_of,
                                 "model_version": plan.model_version})
            try:
                store.record_alerts(sent, channel)
            except MqaError as exc:
                raise type(exc)(f"{exc}; the alert for {', '.join(message.accounts)} was delivered but not logged, so the "
                                "next run sends it again") from None
            done.sent.append(message)
            if on_sent is not None:
                on_sent(message)
    return done


def _exception_kind(exc: BaseException) -> str:
    """What went wrong, in words, without the exception's text (it quotes the URL)."""
    kinds = {"ConnectTimeout": "connection timed out", "ReadTimeout": "no reply within the timeout",
             "NewConnectionError": "connection refused or host unreachable", "NameResolutionError": "unknown host",
             "SSLError": "TLS error", "ProtocolError": "connection broken"}
    # requests wraps urllib3's MaxRetryError, whose ``reason`` is the last failure: look down the chain.
    chain, seen = [exc], 0
    while seen < 4:
        last = chain[-1]
        nxt = getattr(last, "reason", None) or (last.args[0] if last.args and isinstance(last.args[0], BaseException) else None)
        if not isinstance(nxt, BaseException):
            break
        chain.append(nxt)
        seen += 1
    for e in reversed(chain):
        for k, text in kinds.items():
            if k in type(e).__name__:
                return text
    return type(exc).__name__
