"""One account's score explained, and the lines ``mqa predict`` and ``mqa explain`` print.

:func:`explain_account` is what ``mqa explain`` does: score one account at a
date and, one grid step earlier, say what moved its score most. The result
carries its own text (:meth:`AccountExplanation.lines`), so a notebook and
the command line say the same thing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from mqa.features.history import History
from mqa.features.outputs import printable
from mqa.train.bundle import ModelBundle

from .batch import predict_history, score_change

KIND_WORDS = {"why_now": "why now", "background": "background", "holds_back": "holds it back"}


@dataclass(frozen=True)
class AccountExplanation:
    """One account's score at ``as_of`` and, below the cutoff, what moved it since ``earlier``.

    Attributes
    ----------
    account : str
    as_of, earlier : Timestamp
        The as-of instant and the one a grid step (``step_days``) before it.
    model : str
        The model version.
    now, then : Series
        The account's row of :func:`~mqa.predict.batch.predict_history` at ``as_of`` and at ``earlier``
        (``status``, ``score``, ``tier``, ``probability``, ``is_mqa``, ``lift``, ``reasons``, ...).
    changes : DataFrame or None
        The features whose contributions moved the score most between the two dates (``feature``,
        ``delta`` in log-odds, ``then`` and ``now`` sentences); None when the account is an MQA or was
        not scored at either date.
    cutoff : float
    horizon_days : int
    """

    account: str
    as_of: pd.Timestamp
    earlier: pd.Timestamp
    model: str
    now: pd.Series
    then: pd.Series
    changes: pd.DataFrame | None
    cutoff: float
    horizon_days: int

    @property
    def reasons(self) -> list[dict]:
        """The drivers at ``as_of``, one per signal: ``text``, ``contribution`` (log-odds), ``kind``, ``family``, ..."""
        return json.loads(self.now["reasons"]) if self.now["status"] == "scored" else []

    def lines(self) -> list[str]:
        """The explanation in words, as ``mqa explain`` prints it (text from the data made printable)."""
        now, then = self.now, self.then
        out = [f"Account {printable(self.account)} at {self.as_of:%Y-%m-%d} (model {self.model}):"]
        if now["status"] != "scored":
            return out + [f"  not scored: {now['status'].replace('_', ' ')}."]
        out.append(f"  score {now['score']:.1f} ({now['tier']}), probability of an opportunity within "
                   f"{self.horizon_days} days {now['probability']:.1%}; MQA at {self.cutoff:g}: "
                   f"{'yes' if now['is_mqa'] else 'no'}.")
        out.append(f"  about {round(100 * now['probability'])} in 100 accounts like this open an opportunity "
                   f"({now['lift']:.1f}x the average); data through {now['data_through']:%Y-%m-%d}.")
        out.append("  drivers (one per signal; log-odds):")
        for r in self.reasons:
            kind = KIND_WORDS.get(str(r.get("kind")), "up" if r["contribution"] > 0 else "down")
            out.append(f"    {'+' if r['contribution'] > 0 else '-'} {kind}: {printable(r['text'])} ({r['contribution']:+.2f})")
        shares = json.loads(now["family_contributions"])
        out.append("  by family: " + ", ".join(f"{k} {v['share']:.0%}" for k, v in shares.items()))
        out.extend(group_lines(now.get("buying_groups"), shares.get("buying_group")))
        if now["is_mqa"]:
            return out
        if then["status"] != "scored":
            return out + [f"  on {self.earlier:%Y-%m-%d} it was not scored ({then['status'].replace('_', ' ')})."]
        out.append(f"  since {self.earlier:%Y-%m-%d}: score {then['score']:.1f} -> {now['score']:.1f}.")
        out.append("  what moved it most:")
        for r in (self.changes if self.changes is not None else pd.DataFrame()).itertuples():
            out.append(f"    {r.delta:+.2f}: {printable(r.now)}" + (f" (was: {printable(r.then)})" if r.then != r.now else ""))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def group_lines(groups_json, family: dict | None = None) -> list[str]:
    """The account's buying groups as ``mqa explain`` prints them; the first, the strongest, is the one behind the score.

    The strongest group is the one the ``buying_group`` features measure;
    ``family`` (that family's entry of ``family_contributions``, when the
    model has it) says how much it moved the score.
    """
    groups = json.loads(groups_json) if isinstance(groups_json, str) else []
    if not groups:
        return []
    moved = family["log_odds"] if family and "log_odds" in family else 0.0
    said = f"; its buying_group features moved the score {moved:+.2f} log-odds" if abs(moved) >= 0.005 else ""
    out = [f"  buying groups ({len(groups)}; the score rests on the first{said}):"]
    for g in groups:
        out.append(f"    {g['group']}. {printable(g['summary'])}; furthest step: {g['stage']}, last active "
                   f"{g['last_activity'][:10]}")
    return out


def explain_account(history: History, bundle: ModelBundle, account: str, as_of: pd.Timestamp,
                    earlier: pd.Timestamp | None = None) -> AccountExplanation:
    """Score and explain one account at ``as_of``; below the cutoff, say what moved it since ``earlier``.

    Parameters
    ----------
    history : History
    bundle : ModelBundle
    account : str
        The account's id.
    as_of : Timestamp
        UTC as-of instant.
    earlier : Timestamp, optional
        The date to compare with; default one grid step (the model's ``step_days``) before ``as_of``.

    Raises
    ------
    ValueError
        The account is not in the history (the message names it).
    """
    earlier = as_of - pd.Timedelta(days=bundle.settings.step_days) if earlier is None else earlier
    now = predict_history(history, bundle, as_of, accounts=[account], progress=False).iloc[0]
    then = predict_history(history, bundle, earlier, accounts=[account], progress=False).iloc[0]
    changes = None
    if now["status"] == "scored" and not now["is_mqa"] and then["status"] == "scored":
        changes = score_change(history, bundle, account, earlier, as_of)
    return AccountExplanation(account=account, as_of=as_of, earlier=earlier, model=bundle.version, now=now, then=then,
                              changes=changes, cutoff=bundle.cutoff, horizon_days=bundle.settings.horizon_days)


def predict_summary(result: pd.DataFrame, history: History, bundle: ModelBundle, as_of: pd.Timestamp,
                    previous: bool, top: int = 0, seconds: float | None = None, out=None) -> list[str]:
    """What ``mqa predict`` prints after scoring: counts, MQAs and, with ``top``, the ``top`` best MQAs and their reasons.

    ``seconds`` and ``out`` (the file written), when given, are said too.
    """
    counts = result["status"].value_counts()
    lines = [f"Scored {int(counts.get('scored', 0)):,} accounts at {as_of:%Y-%m-%d} with model {bundle.version}"
             + (f" in {seconds:.1f} s" if seconds is not None else "")
             + f" ({int(counts.get('in_pipeline', 0)):,} in pipeline, {int(counts.get('not_created', 0)):,} not created yet).",
             f"  MQAs (score >= {bundle.cutoff:g}): {int(result['is_mqa'].fillna(False).sum()):,}"
             + (f", of which new since the previous run: {int(result['became_mqa'].fillna(False).sum()):,}" if previous else "")
             + "." + (f" Written to {out}." if out is not None else "")]
    if top > 0:
        best = (result[result["is_mqa"].fillna(False)].sort_values(["score", "account_id"], ascending=[False, True])
                .head(top))
        names = history["accounts"].set_index("account_id")["name"]
        lines.append(f"Top {len(best)} MQAs:")
        for r in best.itertuples():
            name = names.get(r.account_id)
            # Names and ids come from the data: no escape sequence reaches the terminal.
            label = f"{printable(r.account_id)} ({printable(name)})" if isinstance(name, str) else printable(r.account_id)
            new = " NEW" if r.became_mqa is True else ""
            lines.append(f"  {r.score:5.1f}  {label}{new}: " + "; ".join(printable(x["text"]) for x in json.loads(r.reasons)[:3]))
    return lines
