"""Monitoring a live model: input drift, expected performance before labels, and matured cohorts.

:func:`monitor` reads a score store's runs of one model and returns a
:class:`Monitoring`: a verdict (``ok``, ``watch``, ``retrain``) with its
reasons, and the figures behind it (docs/monitoring.md):

- *drift*: the population stability index (:mod:`mqa.train.drift`) of every
  feature and of the score between the training rows (the bundle's reference)
  and the latest run(s), the missing and zero shares, and per family the
  share of rows where the whole family says nothing (a source that stopped);
- *expected performance* of the latest run from its calibrated
  probabilities: opportunities among MQAs, precision and recall at the
  cutoff, each with a 95% Poisson-binomial interval by simulation;
- *matured cohorts*: every stored run whose horizon has passed by the end of
  the history, judged against the opportunities that were created.

The store keeps scores, not features, so the features of a run are rebuilt
from the history at its as-of date; without a history only the score's drift
and the expected performance are computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from mqa.features.build import build_features, default_grid, feature_spec
from mqa.features.families import FAMILIES_BY_NAME
from mqa.features.history import History
from mqa.features.snapshots import SCORED, counted_opportunities, data_end, labels, make_grid
from mqa.train.bundle import ModelBundle
from mqa.train.drift import distribution, family_features, psi, reference, silent_share

from .batch import check_features
from .store import ScoreStore

# Verdict thresholds (docs/monitoring.md). The usual PSI bands judge the score;
# single features are not judged alone: on an unchanged history some drift
# on their own (an account's age grows with the as-of date), so a feature
# counts only with its family.
PSI_WATCH = 0.10
PSI_RETRAIN = 0.25
SILENT_WATCH = 0.10  # a family's silent share rose by this much: a source thinned out
SILENT_RETRAIN = 0.25  # ... by this much: a source stopped feeding
FAMILY_MOVED = 0.5  # this share of a family's features (and at least two) beyond PSI_RETRAIN: the family moved
SHARE_JUMP = 0.20  # a feature's missing or zero share that rose by this much is listed
TOP_MOVERS = 5
LEVEL = 0.95
DRAWS = 2000
VERDICTS = ("ok", "watch", "retrain")


class MonitorError(ValueError):
    """Monitoring cannot run: no run of the model, or no reference and no history; the message says the fix."""


@dataclass
class Monitoring:
    """What :func:`monitor` found. Every table is a DataFrame (empty where a section could not be computed)."""

    verdict: str
    reasons: list[str]
    model_version: str
    runs: pd.DataFrame
    score_psi: float
    drift: pd.DataFrame
    families: pd.DataFrame
    expected: dict
    cohorts: pd.DataFrame
    months: pd.DataFrame
    retrospective: pd.DataFrame
    matured: dict
    notes: list[str] = field(default_factory=list)
    dispositions: dict | None = None  # :meth:`DispositionSummary.to_dict` without its per-handover rows, when the history has them

    def to_dict(self) -> dict:
        """Plain JSON-ready figures (dates as ISO text, NaN as null)."""
        def table(frame: pd.DataFrame) -> list[dict]:
            out = frame.copy()
            for c in out.columns:
                if str(out[c].dtype).startswith("datetime64"):
                    out[c] = out[c].dt.strftime("%Y-%m-%d")
            return [{k: _plain(v) for k, v in r.items()} for r in out.to_dict(orient="records")]

        return {
            "verdict": self.verdict, "reasons": self.reasons, "model_version": self.model_version,
            "runs": table(self.runs[["as_of", "model_version", "scored", "mqas"]]) if len(self.runs) else [],
            "score_psi": _plain(self.score_psi), "drift": table(self.drift), "families": table(self.families),
            "expected": {k: _plain(v) for k, v in self.expected.items()}, "cohorts": table(self.cohorts),
            "months": table(self.months), "retrospective": table(self.retrospective),
            "matured": {k: _plain(v) for k, v in self.matured.items()}, "notes": self.notes,
            "dispositions": self.dispositions,
            "thresholds": {"psi_watch": PSI_WATCH, "psi_retrain": PSI_RETRAIN, "silent_watch": SILENT_WATCH,
                           "silent_retrain": SILENT_RETRAIN, "family_moved": FAMILY_MOVED},
        }


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if v is pd.NA or v is None:
        return None
    return v


def monitor(bundle: ModelBundle, store: ScoreStore, history: History | None = None, runs: int = 1,
            seed: int = 0) -> Monitoring:
    """Judge a live model from its stored runs (and the history they were made from).

    Parameters
    ----------
    bundle : ModelBundle
        The model whose runs are judged (its reference, horizon, label types).
    store : ScoreStore
        A store holding runs of ``bundle``.
    history : History, optional
        The CRM history the scores were made from: features of the latest
        run(s) for the drift, opportunities for the matured cohorts.
    runs : int
        How many of the latest runs the drift pools.
    seed : int
        Seed of the intervals' simulation.

    Raises
    ------
    MonitorError
        The store holds no run of the model, or the bundle keeps no reference
        and no history is given.
    """
    if runs < 1:
        raise MonitorError(f"--runs must be 1 or more, got {runs}")
    stored = store.runs()
    mine = stored[stored["model_version"] == bundle.version]
    if mine.empty:
        others = sorted(stored["model_version"].unique())
        held = (f"its runs are of model{'s' * (len(others) != 1)} {', '.join(others)}: pass that model's bundle"
                if others else "it holds no run yet: write one with 'mqa predict ... --store'")
        raise MonitorError(f"the store {store.where} holds no run of model {bundle.version}; {held}")
    ref = (bundle.training or {}).get("reference")
    notes: list[str] = []
    if ref is None and history is None:
        raise MonitorError(f"model {bundle.version} keeps no reference distribution of its training rows (it was trained "
                           "before mqa kept one): retrain it with this version of mqa, or pass --data (the history) so "
                           "that the training rows are rebuilt from it")
    if ref is None:
        ref = rebuilt_reference(history, bundle)
        notes.append(f"model {bundle.version} keeps no reference distribution (trained before mqa kept one): the training "
                     f"rows were rebuilt from the history with the model's settings ({ref['rows']:,} rows up to "
                     f"{str(bundle.training.get('last_labeled', ''))[:10]}), and the score's reference is the shipped "
                     "model's own score on them, not the out-of-fold one. Retrain to keep a reference in the bundle")
    latest = (mine.sort_values(["as_of", "written_at"], kind="stable").drop_duplicates("as_of", keep="last")
              .tail(runs).reset_index(drop=True))
    scores = pd.concat([store.scores(as_of=r.as_of, model_version=bundle.version) for r in latest.itertuples()],
                       ignore_index=True)
    scored = scores[scores["status"].eq(SCORED).to_numpy(dtype=bool)]
    score_psi = psi(ref["score"], scored["score"]) if len(scored) else float("nan")
    last_scores = scored[scored["as_of"] == latest["as_of"].iloc[-1]]
    expected = expected_performance(last_scores, seed=seed)

    if history is not None:
        check_features(bundle, history)
        rows = build_features(history, as_of=list(latest["as_of"]), settings=bundle.settings, all_rows=True,
                              features=bundle.features)
        rows = rows[rows["status"].eq(SCORED).to_numpy(dtype=bool)].reset_index(drop=True)
        drift, families = drift_tables(ref, rows, bundle)
        if "opportunities" in history.present:
            cohorts, months, retro, matured = matured_cohorts(store, history, bundle)
        else:
            cohorts, months, retro, matured = _empty_cohorts(), pd.DataFrame(), pd.DataFrame(), {}
            notes.append("the history has no opportunities table, so no run can be judged against its outcomes; "
                         "add it to --data for the matured cohorts")
        if cohorts.empty and "opportunities" in history.present:
            notes.append(f"no stored run has matured yet: a run is judged once its {bundle.settings.horizon_days}-day "
                         f"horizon has passed by the history's last date ({data_end(history):%Y-%m-%d})")
    else:
        drift, families = _empty_drift(), _empty_families()
        cohorts, months, retro, matured = _empty_cohorts(), pd.DataFrame(), pd.DataFrame(), {}
        notes.append("without --data only the score's drift and the expected performance are computed: the features' "
                     "drift needs the history (the store keeps scores, not features) and the matured cohorts need its "
                     "opportunities. Pass --data for them")
    verdict, reasons = judge(score_psi, drift, families)
    return Monitoring(verdict=verdict, reasons=reasons, model_version=bundle.version, runs=latest, score_psi=score_psi,
                      drift=drift, families=families, expected=expected, cohorts=cohorts, months=months,
                      retrospective=retro, matured=matured, notes=notes)


def rebuilt_reference(history: History, bundle: ModelBundle) -> dict:
    """The reference of an old bundle that kept none: its training rows rebuilt from ``history`` with its settings.

    The rows are those of the default grid up to the bundle's last labeled
    as-of date; the score is the shipped model's (its scale makes it uniform
    on these rows, so the score's PSI then says how far the run is from the
    training population).
    """
    grid = default_grid(history, bundle.settings)
    last = bundle.training.get("last_labeled")
    if last:
        grid = grid[grid <= pd.Timestamp(last)]
    if not len(grid):
        raise MonitorError(f"the history holds no as-of date up to the model's last training date ({last}); pass the "
                           "history the model was trained on, or retrain")
    rows = build_features(history, as_of=grid, settings=bundle.settings, features=bundle.features)
    rows = rows[rows["label"].notna()].reset_index(drop=True)
    return reference(rows, bundle.features, bundle.predict(rows)["score"].to_numpy())


def drift_tables(ref: dict, rows: pd.DataFrame, bundle: ModelBundle) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per feature: PSI, missing and zero shares then and now; per family: silent shares and features moved."""
    records = []
    for f in bundle.features:
        r = ref["features"].get(f)
        if r is None:
            continue
        now = distribution(rows[f])
        records.append({
            "feature": f, "family": f.partition("__")[0], "description": feature_spec(f, bundle.settings).description,
            "psi": psi(r, rows[f]), "missing_train": r["missing"], "missing_now": now["missing"],
            "zero_train": r["zero"], "zero_now": now["zero"],
        })
    drift = pd.DataFrame(records) if records else _empty_drift()
    drift = drift.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)
    fams = []
    for fam, fs in family_features(list(drift["feature"])).items():
        moved = int((drift.loc[drift["family"] == fam, "psi"] > PSI_RETRAIN).sum())
        then = ref["families"].get(fam, {}).get("silent", np.nan)
        fams.append({"family": fam, "label": FAMILIES_BY_NAME[fam].short if fam in FAMILIES_BY_NAME else fam,
                     "features": len(fs), "moved": moved, "silent_train": then, "silent_now": silent_share(rows, fs),
                     "max_psi": float(drift.loc[drift["family"] == fam, "psi"].max())})
    families = pd.DataFrame(fams) if fams else _empty_families()
    return drift, families


def judge(score_psi: float, drift: pd.DataFrame, families: pd.DataFrame) -> tuple[str, list[str]]:
    """The verdict and its reasons, most severe first (thresholds at the top of this module)."""
    found: list[tuple[int, str]] = []
    if not np.isnan(score_psi) and score_psi >= PSI_WATCH:
        found.append((2 if score_psi > PSI_RETRAIN else 1,
                      f"score: its distribution moved (PSI {score_psi:.2f} against the training rows' out-of-fold scores; "
                      f"{PSI_WATCH:.2f} to {PSI_RETRAIN:.2f} is watch, above {PSI_RETRAIN:.2f} retrain)"))
    for f in families.itertuples():
        rise = f.silent_now - f.silent_train
        if not np.isnan(rise) and rise >= SILENT_WATCH:
            every = "every" if f.features > 1 else "its"
            found.append((2 if rise >= SILENT_RETRAIN else 1,
                          f"{f.family}: {every} {f.family} feature is zero or missing for {f.silent_now:.0%} of the "
                          f"accounts in the latest run against {f.silent_train:.0%} of training rows (a source that "
                          f"stopped or thinned out: check the {f.family} feed)"))
        elif f.features >= 2 and f.moved >= 2 and f.moved >= FAMILY_MOVED * f.features:
            top = drift[drift["family"] == f.family].head(2)
            named = "; ".join(f"{d.description} (PSI {d.psi:.2f})" for d in top.itertuples())
            found.append((1, f"{f.family}: {f.moved} of its {f.features} features moved together beyond PSI "
                             f"{PSI_RETRAIN:.2f} ({named})"))
    found.sort(key=lambda t: -t[0])
    level = max((s for s, _ in found), default=0)
    return VERDICTS[level], [text for _, text in found]


def top_movers(drift: pd.DataFrame, n: int = TOP_MOVERS) -> list[str]:
    """The features that moved most, in plain words."""
    out = []
    for d in drift.head(n).itertuples():
        shares = []
        if d.zero_now - d.zero_train >= SHARE_JUMP or d.zero_train - d.zero_now >= SHARE_JUMP:
            shares.append(f"zero for {d.zero_now:.0%} now against {d.zero_train:.0%} in training")
        if abs(d.missing_now - d.missing_train) >= SHARE_JUMP:
            shares.append(f"missing for {d.missing_now:.0%} now against {d.missing_train:.0%}")
        out.append(f"{d.description} ({d.family}): PSI {d.psi:.2f}" + (f"; {', '.join(shares)}" if shares else ""))
    return out


def expected_performance(scored: pd.DataFrame, seed: int = 0, draws: int = DRAWS, level: float = LEVEL) -> dict:
    """Expected opportunities among MQAs, precision and recall at the cutoff, from calibrated probabilities.

    Each scored account opens an opportunity with its probability,
    independently: the count among MQAs is Poisson-binomial. Its interval
    (and precision's and recall's) is the central ``level`` of ``draws``
    simulated outcomes with a fixed seed.
    """
    p = scored["probability"].to_numpy(dtype=float)
    mqa = scored["is_mqa"].fillna(False).to_numpy(dtype=bool)
    p = np.nan_to_num(p)
    n_mqa = int(mqa.sum())
    out = {"accounts": int(len(p)), "mqas": n_mqa, "expected_opportunities": float(p[mqa].sum()),
           "expected_all": float(p.sum()),
           "expected_precision": float(p[mqa].mean()) if n_mqa else float("nan"),
           "expected_recall": float(p[mqa].sum() / p.sum()) if p.sum() > 0 else float("nan"),
           "level": level, "draws": draws, "seed": seed}
    rng = np.random.default_rng(seed)
    hits_mqa = np.empty(draws)
    hits_all = np.empty(draws)
    chunk = max(1, 2_000_000 // max(len(p), 1))
    for start in range(0, draws, chunk):
        k = min(chunk, draws - start)
        hit = rng.random((k, len(p))) < p
        hits_mqa[start:start + k] = hit[:, mqa].sum(axis=1)
        hits_all[start:start + k] = hit.sum(axis=1)
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    out["opportunities_low"], out["opportunities_high"] = map(float, np.quantile(hits_mqa, [lo, hi]))
    if n_mqa:
        out["precision_low"], out["precision_high"] = map(float, np.quantile(hits_mqa / n_mqa, [lo, hi]))
    else:
        out["precision_low"] = out["precision_high"] = float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(hits_all > 0, hits_mqa / np.maximum(hits_all, 1), np.nan)
    out["recall_low"], out["recall_high"] = map(float, np.nanquantile(recall, [lo, hi])) if np.isfinite(recall).any() \
        else (float("nan"), float("nan"))
    return out


def cohort_rows(store: ScoreStore, history: History, bundle: ModelBundle) -> pd.DataFrame:
    """Every stored scored row whose horizon has passed by the end of the history, with its label.

    ``label`` is 1 when an opportunity of the model's counted types was
    created in ``(as_of, as_of + horizon]`` (the training label's code,
    :func:`~mqa.features.snapshots.labels`); rows of accounts the history does
    not hold are left out.
    """
    end = data_end(history)
    horizon = pd.Timedelta(days=bundle.settings.horizon_days)
    scores = store.scores()
    scores = scores[scores["status"].eq(SCORED).to_numpy(dtype=bool)]
    if end is None:
        return scores.iloc[:0].assign(label=pd.Series(dtype=float))
    scores = scores[(scores["as_of"] + horizon <= end).to_numpy(dtype=bool)]
    if scores.empty:
        return scores.assign(label=pd.Series(dtype=float))
    s = bundle.settings
    dates = pd.DatetimeIndex(scores["as_of"].drop_duplicates().sort_values())
    grid = make_grid(history, dates)
    y = labels(history, grid, s.horizon_days, s.label_types, excluded_types=s.label_excluded_types)
    long = pd.DataFrame({"account_id": np.repeat(grid.accounts.to_numpy(), len(dates)),
                         "as_of": np.tile(dates.to_numpy(), len(grid.accounts)), "label": y.ravel()})
    long["account_id"] = long["account_id"].astype("str")
    long["as_of"] = long["as_of"].astype(scores["as_of"].dtype)
    rows = scores.merge(long, on=["account_id", "as_of"], how="inner")
    return rows[rows["label"].notna().to_numpy()].reset_index(drop=True)


def _auc(y, p) -> float:
    return float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan")


def _judged(frame: pd.DataFrame) -> pd.Series:
    y = frame["label"].to_numpy(dtype=float)
    p = frame["probability"].to_numpy(dtype=float)
    mqa = frame["is_mqa"].fillna(False).to_numpy(dtype=bool)
    hits = float(y[mqa].sum())
    return pd.Series({
        "scored": len(frame), "mqas": int(mqa.sum()), "opportunities": int(y.sum()), "mqa_opportunities": int(hits),
        "precision": hits / mqa.sum() if mqa.any() else np.nan, "recall": hits / y.sum() if y.sum() else np.nan,
        "roc_auc": _auc(y, p), "expected": float(p.sum()), "realised": float(y.sum()),
        "expected_mqa": float(p[mqa].sum()), "realised_mqa": hits,
        "expected_precision": float(p[mqa].mean()) if mqa.any() else np.nan,
    })


def matured_cohorts(store: ScoreStore, history: History, bundle: ModelBundle):
    """Per matured run and per month of as-of: precision, recall, ROC-AUC, expected vs realised; the retrospective.

    Returns ``(cohorts, months, retrospective, pooled)``.
    """
    rows = cohort_rows(store, history, bundle)
    if rows.empty:
        return _empty_cohorts(), pd.DataFrame(), pd.DataFrame(), {}
    keys = ["as_of", "model_version"]
    cols = ["label", "probability", "is_mqa"]
    cohorts = rows.groupby(keys, sort=True)[cols].apply(_judged).reset_index()
    month = rows["as_of"].dt.tz_localize(None).dt.to_period("M").astype("str")
    months = rows.assign(month=month).groupby("month", sort=True)[cols].apply(_judged).reset_index()
    pooled = {k: _plain(v) for k, v in _judged(rows).items()}
    return cohorts, months, retrospective(rows, history, bundle), pooled


def retrospective(rows: pd.DataFrame, history: History, bundle: ModelBundle) -> pd.DataFrame:
    """MQAs against the rest of the matured rows: opportunity rate, win rate, mean amount, median days to opportunity.

    The first counted opportunity created in a row's horizon is the one that
    counts; the win rate is over those that have closed.
    """
    s = bundle.settings
    o = history["opportunities"]
    o = o[counted_opportunities(o, s.label_types, s.label_excluded_types)][
        ["account_id", "created_at", "closed_at", "is_won", "amount"]]
    r = rows[["account_id", "as_of", "label", "is_mqa"]].reset_index(drop=True).rename_axis("row").reset_index()
    m = r[r["label"] == 1].merge(o, on="account_id")
    m = m[(m["created_at"] > m["as_of"]) & (m["created_at"] <= m["as_of"] + pd.Timedelta(days=s.horizon_days))]
    first = m.sort_values(["created_at"], kind="stable").drop_duplicates("row").set_index("row")
    r = r.join(first[["created_at", "closed_at", "is_won", "amount"]], on="row")
    r["days_to_opportunity"] = (r["created_at"] - r["as_of"]).dt.total_seconds() / 86_400
    r["group"] = np.where(r["is_mqa"].fillna(False).to_numpy(dtype=bool), "MQA", "not MQA")
    out = r.groupby("group").agg(rows=("row", "size"), opportunity_rate=("label", "mean"),
                                 mean_amount=("amount", "mean"), median_days_to_opportunity=("days_to_opportunity", "median"))
    closed = r[r["closed_at"].notna()]
    out["win_rate"] = closed.groupby("group")["is_won"].mean().astype(float)
    return out.reindex(["MQA", "not MQA"]).reset_index()


def _empty_drift() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in
                         ("feature", "family", "description", "psi", "missing_train", "missing_now", "zero_train", "zero_now")})


def _empty_families() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in
                         ("family", "label", "features", "moved", "silent_train", "silent_now", "max_psi")})


def _empty_cohorts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in ("as_of", "model_version", "scored", "precision")})
