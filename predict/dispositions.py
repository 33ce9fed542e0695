"""What sales made of the MQAs handed to them: acceptance, reasons, speed, and the MQAs nobody touched.

The handoff is where an MQA programme lives or dies. Demandbase's
dispositioning playbook has sales accept, reject or recycle every MQA with a
reason, within the first 48 to 72 hours, and reads an acceptance rate under
40% as a threshold set wrong. :func:`disposition_summary` takes that loop
back in: the MQAs are the accounts whose ``became_mqa`` is true in a run of
the score store (handed over at that run's as-of); their verdicts come from
the history's ``dispositions`` table and their first sales touches from its
activities of a sales type (:data:`~mqa.features.contract.SALES_ACTIVITY_TYPES`:
``call``, ``email``, ``meeting``).

An MQA's verdict is the first disposition of the account at or after the
as-of it was handed over and before it was handed over again; the same window
holds its first sales touch. Both edges: a verdict stamped at the as-of itself
answers this handover (the run scores data through its as-of, and the alert
goes out that morning); one at the next handover answers the next.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mqa.features import contract as c

DEFAULT_SLA_HOURS = 72.0
# Demandbase's rule of thumb: sales accepting fewer than this share of the MQAs means the threshold is wrong.
ACCEPTANCE_FLOOR = 0.40
BAND_WIDTH = 5.0
UNASSIGNED = "unassigned"
REFUSED = ("rejected", "recycled")


@dataclass
class DispositionSummary:
    """The disposition figures of the MQAs in a score store (:func:`disposition_summary`).

    Attributes
    ----------
    mqas : DataFrame
        One row per MQA handed over: ``account_id``, ``as_of``, ``model_version``,
        ``score``, ``tier``, ``band``, ``owner``, ``disposition`` (its first
        verdict, missing if none), ``reason``, ``disposed_at``,
        ``hours_to_disposition``, ``touched_at`` (first sales activity),
        ``hours_to_touch``, ``late`` (no verdict within the SLA, and the SLA
        is over), ``untouched`` (neither a verdict nor a sales touch within
        the SLA, and the SLA is over) and ``pending`` (no verdict yet, the
        SLA still running at ``observed_until``).
    by_tier, by_band, by_owner : DataFrame
        Indexed by tier, score band (``"85-90"``) or account owner:
        ``mqas``, ``dispositioned``, ``accepted``, ``rejected``,
        ``recycled``, ``acceptance_rate`` (accepted / dispositioned, NaN
        with no verdict).
    reasons : DataFrame
        The reasons given for refusals, most frequent first: ``reason``
        (``"(none given)"`` for an empty one), ``rejected``, ``recycled``, ``count``.
    sla_hours : float
    observed_until : Timestamp or None
        The latest time the history and the store show; an SLA that ends
        after it is still running.
    min_verdicts : int
        Fewer verdicts than this are too few to judge the threshold.
    """

    mqas: pd.DataFrame
    by_tier: pd.DataFrame
    by_band: pd.DataFrame
    by_owner: pd.DataFrame
    reasons: pd.DataFrame
    sla_hours: float = DEFAULT_SLA_HOURS
    observed_until: pd.Timestamp | None = None
    min_verdicts: int = 20
    notes: list[str] = field(default_factory=list)

    @property
    def dispositioned(self) -> int:
        return int(self.mqas["disposition"].notna().sum())

    @property
    def acceptance_rate(self) -> float:
        """Accepted / dispositioned over every MQA; NaN with no verdict."""
        n = self.dispositioned
        return float((self.mqas["disposition"] == "accepted").sum() / n) if n else math.nan

    def verdict(self) -> str:
        """The acceptance rate against Demandbase's 40% rule of thumb, in words."""
        n, rate = self.dispositioned, self.acceptance_rate
        if n == 0:
            return "No MQA has a verdict from sales yet: the threshold cannot be judged from dispositions."
        said = f"Sales accepted {rate:.0%} of the {n:,} MQAs they gave a verdict on"
        if n < self.min_verdicts:
            return f"{said}: {n} verdict{'s' * (n != 1)} are too few to judge the threshold (at least {self.min_verdicts} needed)."
        if rate < ACCEPTANCE_FLOOR:
            return (f"{said}, under the {ACCEPTANCE_FLOOR:.0%} below which Demandbase's playbook reads the MQA threshold as "
                    "wrong: sales do not trust these MQAs. Look at the rejection reasons, then raise [score] cutoff or "
                    "fix what the reasons point at (fit, timing) before handing over more.")
        return (f"{said}, at or above the {ACCEPTANCE_FLOOR:.0%} below which Demandbase's playbook reads the threshold as "
                "wrong: by that rule the threshold holds.")

    def text(self) -> str:
        """The summary as a person reads it."""
        m = self.mqas
        lines = [f"Dispositions of {len(m):,} MQA{'s' * (len(m) != 1)} handed over"
                 + (f" (observed until {self.observed_until:%Y-%m-%d %H:%M} UTC)" if self.observed_until is not None else ""),
                 f"  {self.verdict()}"]
        for title, frame in (("by tier", self.by_tier), ("by score band", self.by_band), ("by owner", self.by_owner)):
            lines.append(f"  Acceptance {title}:")
            for key, r in frame.iterrows():
                rate = "-" if pd.isna(r["acceptance_rate"]) else f"{r['acceptance_rate']:.0%}"
                lines.append(f"    {key:<20} {rate:>5} accepted of {int(r['dispositioned']):,} verdicts "
                             f"({int(r['mqas']):,} MQAs; {int(r['rejected']):,} rejected, {int(r['recycled']):,} recycled)")
        if len(self.reasons):
            lines.append("  Reasons for refusals:")
            lines.extend(f"    {r['reason']:<20} {int(r['count']):>5}  ({int(r['rejected'])} rejected, {int(r['recycled'])} recycled)"
                         for _, r in self.reasons.head(5).iterrows())
        sla = f"{self.sla_hours:g}-hour SLA"
        lines.append(f"  Speed against the {sla}:")
        lines.append(f"    first verdict: {_hours_text(m['hours_to_disposition'])}; "
                     f"{int(m['late'].sum()):,} late or missing")
        lines.append(f"    first sales touch ({', '.join(c.SALES_ACTIVITY_TYPES)}): {_hours_text(m['hours_to_touch'])}")
        untouched = m[m["untouched"]]
        lines.append(f"  Untouched (no verdict and no sales touch within the SLA): {len(untouched):,}"
                     + (": " + ", ".join(untouched["account_id"].head(10)) + (", ..." if len(untouched) > 10 else "")
                        if len(untouched) else ""))
        if m["pending"].any():
            lines.append(f"  Still within the SLA without a verdict: {int(m['pending'].sum()):,}")
        lines.extend(f"  Note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The summary as plain JSON types."""
        def table(frame: pd.DataFrame) -> list[dict]:
            return [{frame.index.name: key, **{k: _plain(v) for k, v in r.items()}} for key, r in frame.iterrows()]

        m = self.mqas
        return {
            "mqas": len(m), "dispositioned": self.dispositioned, "acceptance_rate": _plain(self.acceptance_rate),
            "acceptance_floor": ACCEPTANCE_FLOOR, "verdict": self.verdict(), "sla_hours": self.sla_hours,
            "observed_until": _plain(self.observed_until),
            "by_tier": table(self.by_tier), "by_band": table(self.by_band), "by_owner": table(self.by_owner),
            "reasons": [{k: _plain(v) for k, v in r.items()} for _, r in self.reasons.iterrows()],
            "median_hours_to_disposition": _plain(m["hours_to_disposition"].median()),
            "median_hours_to_touch": _plain(m["hours_to_touch"].median()),
            "late": int(m["late"].sum()), "pending": int(m["pending"].sum()),
            "untouched": m.loc[m["untouched"], "account_id"].tolist(),
            "sales_activity_types": list(c.SALES_ACTIVITY_TYPES), "notes": list(self.notes),
            "handovers": [{k: _plain(v) for k, v in r.items()} for _, r in m.iterrows()],
        }


def _plain(v):
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if math.isnan(v) else float(v)
    return v


def _hours_text(hours: pd.Series) -> str:
    h = hours.dropna()
    if h.empty:
        return "none yet"
    return f"median {h.median():.1f} h, 90th percentile {h.quantile(0.9):.1f} h ({len(h):,} MQAs)"


def handed_over(scores: pd.DataFrame) -> pd.DataFrame:
    """The MQAs of stored runs: rows whose ``became_mqa`` is true, one per account and as-of.

    Where several model versions scored one as-of, the row of the last
    version (in the store's order) stands for the handover.
    """
    new = scores[scores["became_mqa"].fillna(False).to_numpy(dtype=bool)]
    new = new.sort_values(["account_id", "as_of", "model_version"], kind="stable")
    return new.drop_duplicates(["account_id", "as_of"], keep="last").reset_index(drop=True)


def score_band(score: pd.Series, width: float = BAND_WIDTH) -> pd.Series:
    """``"85-90"``, ``"90-95"``, ``"95-100"``: bands of ``width`` points, lower edge in, 100 in the top band."""
    lo = (np.floor(score.to_numpy(dtype=float) / width) * width).clip(max=100 - width)
    return pd.Series([f"{x:g}-{x + width:g}" for x in lo], index=score.index, dtype="str")


def _first_after(mqas: pd.DataFrame, events: pd.DataFrame, on: str, cols: list[str]) -> pd.DataFrame:
    """For each MQA, the first event of its account at or after its as-of and before its next handover."""
    left = mqas[["_row", "account_id", "as_of", "_next"]].sort_values("as_of", kind="stable")
    right = events[["account_id", on] + cols].dropna(subset=["account_id", on]).sort_values([on, "account_id"], kind="stable")
    right = right.rename(columns={on: "_at"})
    if right.empty:
        out = left.assign(_at=pd.Series(pd.NaT, index=left.index, dtype="datetime64[ns, UTC]"))
        for col in cols:
            out[col] = pd.Series(pd.NA, index=left.index, dtype="str")
    else:
        right["_at"] = right["_at"].astype("datetime64[ns, UTC]")
        out = pd.merge_asof(left, right, left_on="as_of", right_on="_at", by="account_id", direction="forward")
    gone = (out["_at"] >= out["_next"]).fillna(False).to_numpy(dtype=bool)
    out.loc[gone, "_at"] = pd.NaT
    for col in cols:
        out.loc[gone, col] = pd.NA
    return out.set_index("_row").sort_index()


def disposition_summary(scores: pd.DataFrame, history, sla_hours: float = DEFAULT_SLA_HOURS,
                        min_verdicts: int = 20) -> DispositionSummary:
    """Acceptance, refusal reasons, speed and neglect of the MQAs handed to sales.

    Parameters
    ----------
    scores : DataFrame
        Stored output rows (:meth:`~mqa.predict.store.ScoreStore.scores`):
        ``account_id``, ``as_of``, ``model_version``, ``score``, ``tier``,
        ``became_mqa``.
    history : History
        The CRM history: its ``dispositions``, its ``activities`` (the
        sales types) and ``accounts.owner``.
    sla_hours : float
        Hours sales have for a verdict (and a first touch).
    min_verdicts : int
        Fewer verdicts are too few to judge the threshold.

    Returns
    -------
    DispositionSummary
    """
    mqas = handed_over(scores)
    mqas["_next"] = mqas.groupby("account_id", sort=False)["as_of"].shift(-1)
    mqas["_row"] = np.arange(len(mqas))
    disp = history["dispositions"]
    acts = history["activities"]
    marked = acts["sales_touch"] if "sales_touch" in acts else acts["type"].isin(c.SALES_ACTIVITY_TYPES)
    touches = acts[marked.fillna(False).to_numpy(dtype=bool)]
    verdict = _first_after(mqas, disp, "date", ["disposition", "reason"])
    touch = _first_after(mqas, touches, "timestamp", [])
    owners = history["accounts"].drop_duplicates("account_id").set_index("account_id")["owner"]
    owner = mqas["account_id"].map(owners).astype("str").str.strip()

    stamps = [s.max() for s in (disp["date"], acts["timestamp"], scores["as_of"]) if s.notna().any()]
    observed = max(stamps) if stamps else None
    sla = pd.Timedelta(hours=sla_hours)
    out = pd.DataFrame({
        "account_id": mqas["account_id"], "as_of": mqas["as_of"], "model_version": mqas["model_version"],
        "score": mqas["score"], "tier": mqas["tier"].fillna(UNASSIGNED), "band": score_band(mqas["score"]),
        "owner": owner.where(owner.notna() & (owner != ""), UNASSIGNED),
        "disposition": verdict["disposition"].to_numpy(), "reason": verdict["reason"].to_numpy(),
        "disposed_at": verdict["_at"].to_numpy(), "touched_at": touch["_at"].to_numpy(),
    })
    out["disposition"] = out["disposition"].astype("str")
    out["reason"] = out["reason"].astype("str")
    out["disposed_at"] = pd.to_datetime(out["disposed_at"], utc=True)
    out["touched_at"] = pd.to_datetime(out["touched_at"], utc=True)
    out["hours_to_disposition"] = (out["disposed_at"] - out["as_of"]) / pd.Timedelta(hours=1)
    out["hours_to_touch"] = (out["touched_at"] - out["as_of"]) / pd.Timedelta(hours=1)
    # An SLA is over once the history shows its end; before that, no verdict yet is pending, not late.
    over = (out["as_of"] + sla <= observed) if observed is not None else pd.Series(False, index=out.index)
    on_time = (out["hours_to_disposition"] <= sla_hours).fillna(False)
    touched_in_time = (out["hours_to_touch"] <= sla_hours).fillna(False)
    out["late"] = (~on_time & (over | out["disposition"].notna())).astype(bool)
    out["untouched"] = (over & ~on_time & ~touched_in_time).astype(bool)
    out["pending"] = (~over & out["disposition"].isna()).astype(bool)

    notes = []
    if "dispositions" not in history.present:
        notes.append("the history has no dispositions table: no MQA has a verdict")
    return DispositionSummary(
        mqas=out, by_tier=_rates(out, "tier"), by_band=_rates(out, "band"), by_owner=_rates(out, "owner"),
        reasons=_reasons(out), sla_hours=float(sla_hours), observed_until=observed, min_verdicts=int(min_verdicts),
        notes=notes)


def _rates(mqas: pd.DataFrame, by: str) -> pd.DataFrame:
    counts = pd.crosstab(mqas[by], mqas["disposition"]).reindex(columns=["accepted", "rejected", "recycled"], fill_value=0)
    frame = pd.DataFrame({"mqas": mqas.groupby(by).size()}).join(counts).fillna(0).astype("int64")
    frame["dispositioned"] = frame[["accepted", "rejected", "recycled"]].sum(axis=1)
    frame["acceptance_rate"] = frame["accepted"] / frame["dispositioned"].where(frame["dispositioned"] > 0)
    frame.index.name = by
    return frame[["mqas", "dispositioned", "accepted", "rejected", "recycled", "acceptance_rate"]]


def _reasons(mqas: pd.DataFrame) -> pd.DataFrame:
    refused = mqas[mqas["disposition"].isin(REFUSED).to_numpy(dtype=bool)]
    reason = refused["reason"].str.strip().str.lower().fillna("(none given)").replace("", "(none given)")
    table = pd.crosstab(reason, refused["disposition"]).reindex(columns=list(REFUSED), fill_value=0)
    table["count"] = table.sum(axis=1)
    table.index.name = "reason"
    table = table.reset_index().sort_values(["count", "reason"], ascending=[False, True], kind="stable")
    return table[["reason", "rejected", "recycled", "count"]].reset_index(drop=True).rename_axis(columns=None)


# --- the alert cooldown --------------------------------------------------------------------------------

def held_by_dispositions(new: pd.DataFrame, scores: pd.DataFrame, dispositions: pd.DataFrame, as_of,
                         cooldown_days: int, rescore_margin: float) -> pd.Series:
    """Which new MQAs sales turned down recently: not to be announced again yet.

    An account is held when its latest disposition at or before ``as_of`` is
    ``rejected`` or ``recycled`` and lies within ``[as_of - cooldown_days,
    as_of]``, unless its score now is at least ``rescore_margin`` points above
    its score at the last stored run at or before that disposition. Without
    such a run there is nothing to compare with, and the account is held.

    Parameters
    ----------
    new : DataFrame
        The run's new MQAs: ``account_id``, ``score``, ``model_version``.
    scores : DataFrame
        The stored rows of these accounts (every run), for their earlier scores.
    dispositions : DataFrame
        The history's ``dispositions``.
    as_of : Timestamp
    cooldown_days : int
    rescore_margin : float

    Returns
    -------
    Series of bool
        Aligned with ``new``.
    """
    as_of = pd.Timestamp(as_of)
    seen = dispositions[(dispositions["date"] <= as_of).to_numpy(dtype=bool)]
    latest = seen.sort_values(["date", "disposition"], kind="stable").drop_duplicates("account_id", keep="last")
    latest = latest.set_index("account_id")
    # reindex, not map: mapping through an empty datetime Series fails in pandas.
    when = pd.Series(latest["date"].reindex(new["account_id"]).to_numpy(), index=new.index, dtype="datetime64[ns, UTC]")
    what = pd.Series(latest["disposition"].reindex(new["account_id"]).to_numpy(), index=new.index, dtype="str")
    # "Within 14 days" includes the 14th day, as the alert log's cooldown does.
    recent = what.isin(REFUSED) & (when >= as_of - pd.Timedelta(days=cooldown_days)).fillna(False)
    if not recent.any():
        return pd.Series(False, index=new.index)
    cand = new.loc[recent.to_numpy(dtype=bool), ["account_id", "model_version"]].assign(_when=when[recent])
    earlier = scores[scores["status"].eq("scored").fillna(False).to_numpy(dtype=bool)] if "status" in scores else scores
    earlier = earlier[["account_id", "model_version", "as_of", "score"]].dropna(subset=["score"])
    # The same model's score where there is one: another model's scale is another ranking.
    pairs = cand.reset_index().merge(earlier, on=["account_id", "model_version"], how="left")
    pairs = pairs[(pairs["as_of"] <= pairs["_when"]).fillna(False).to_numpy(dtype=bool)]
    then = pairs.sort_values("as_of", kind="stable").drop_duplicates("index", keep="last").set_index("index")["score"]
    rose = (new["score"] - then.reindex(new.index)) >= rescore_margin
    return (recent & ~rose.fillna(False)).astype(bool)
