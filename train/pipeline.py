"""Training end to end: rows, rolling-origin backtest, refit on every labeled row, calibration, score, evaluation.

:func:`train_model` returns a :class:`TrainingRun`: the bundle to save and
the evaluation that the report, the MLflow run and the README quote.

The procedure (docs/training.md):

1. Training rows on the default grid (every ``step_days`` over the
   engagement data, after a warm-up chosen from the data).
2. A rolling-origin backtest (:mod:`mqa.train.backtest`): in each fold the
   seeded search's candidates are early-stopped inside the fold's training
   rows, the cheapest-to-explain candidate near the best is chosen, and it is
   refitted on all of the fold's training rows with the rounds early
   stopping found. Its predictions on the fold's test block are out of fold.
3. The shipped model: the candidate chosen over all folds, refitted on
   **every** labeled row with the median of its folds' rounds; calibrated on
   the out-of-fold predictions (each made by a model that never saw its row);
   its score scale from its own output on the training population.
4. Evaluation on the pooled out-of-fold rows, per fold and pooled, beside
   transparent baselines with bootstrap intervals by account.
"""

from __future__ import annotations

import dataclasses
import os
import platform
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import average_precision_score, roc_auc_score

from mqa.features.build import build_features, default_grid, feature_names
from mqa.features.config import FeatureSettings
from mqa.features.history import History
from mqa.features.inputs import feature_inputs, usable_features
from mqa.features.snapshots import counted_opportunities, data_end, engagement_range

from . import baselines as bl
from . import evaluate as ev
from .backtest import Backtest, plan_backtest
from .bundle import ModelBundle
from .calibration import Calibration
from .drift import reference
from .model import FIXED_ROUNDS, SEARCH, Encoding, fit_booster, raw_scores, refit_booster
from .score import ScoreScale
from .settings import TrainSettings

IMPORTANCE_SAMPLE = 20_000
AUC_TOLERANCE = 0.005  # stopping-block ROC-AUC a candidate may give up for cheaper explanations
SHORT_STEP_DAYS = 7  # the grid step tried when the history is too short for the backtest at the configured one
LEAK_AUC = 0.9  # an attribute ranking the backtest this well on its own is a likely leak
LEAK_FILL_GAP = 0.5  # ... and so is one filled for this much larger a share of converted accounts


@dataclass
class TrainingRun:
    """A trained bundle and its backtest evaluation.

    Attributes
    ----------
    bundle : ModelBundle
        The shipped model, refitted on every labeled row.
    backtest : Backtest
        The folds.
    evaluation : dict
        Pooled and per-fold figures, baselines, evidence, notes (see :func:`train_model`).
    test_rows : DataFrame
        The out-of-fold rows: features, ``label``, ``fold``, ``raw``,
        ``probability`` and ``score`` (each from its fold's model).
    importance : Series
        Mean absolute SHAP contribution per feature of the shipped model.
    search : DataFrame
        Every fold's candidates: parameters, rounds, stopping-block ROC-AUC.
    labeled : DataFrame
        Every labeled training row (what the shipped model was fitted on).
    """

    bundle: ModelBundle
    backtest: Backtest
    evaluation: dict
    test_rows: pd.DataFrame
    importance: pd.Series
    search: pd.DataFrame
    labeled: pd.DataFrame


def versions() -> dict[str, str]:
    """Versions of Python and the libraries a model depends on."""
    out = {"python": platform.python_version()}
    for name in ("mqa", "lightgbm", "scikit-learn", "pandas", "numpy", "pyarrow", "shap", "mlflow"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def fingerprint(history: History) -> dict:
    """What the model was trained on: per table, rows and date range; no row contents."""
    stamps = {"accounts": "created_at", "contacts": "created_at", "activities": "timestamp",
              "intent": "date", "signals": "date", "opportunities": "created_at"}
    out = {}
    for name in history.present:
        if name not in stamps:
            continue
        col = history[name][stamps[name]]
        out[name] = {"file": history.files[name], "rows": int(len(history[name])),
                     "from": str(col.min()) if col.notna().any() else None,
                     "to": str(col.max()) if col.notna().any() else None}
    out["activity_match_rate"] = round(history.matching.match_rate, 6)
    return out


def training_rows(history: History, settings: FeatureSettings, folds: int) -> tuple[pd.DataFrame, FeatureSettings, list[str]]:
    """Rows on the default grid, with the grid step shortened when the history is too short for the backtest.

    Returns the rows, the settings they were built with, and notes.
    """
    notes = []
    steps = [settings.step_days] + ([SHORT_STEP_DAYS] if settings.step_days > SHORT_STEP_DAYS else [])
    for i, step in enumerate(steps):
        s = dataclasses.replace(settings, step_days=step)
        rows = build_features(history, as_of=default_grid(history, s, folds), settings=s)
        dates = rows.loc[rows["label"].notna(), "as_of"].unique()
        try:
            plan_backtest(dates, s.horizon_days, folds)
        except ValueError:
            if i + 1 < len(steps):
                continue
        if i:
            notes.append(f"the history is too short for a {folds}-fold backtest with as-of dates {settings.step_days} days "
                         f"apart, so they are {step} days apart")
        return rows, s, notes
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns on its last step


def span_cause(history: History, settings: FeatureSettings, rows: pd.DataFrame) -> str:
    """Why the labeled as-of dates span what they do, in words (for the too-short message)."""
    lo, hi = engagement_range(history)
    end = data_end(history)
    if lo is None or end is None:
        return "the history has no dated events"
    grid = rows["as_of"]
    first = grid.min().date() if len(grid) else None
    return (f"the engagement data runs from {lo.date()} to {hi.date()} ({(hi - lo).days} days), the as-of grid starts "
            f"on {first} after the warm-up, and an as-of date is labeled only when its {settings.horizon_days}-day "
            f"horizon ends by the end of the data on {end.date()}")


def train_model(history: History, settings: FeatureSettings | None = None, train: TrainSettings | None = None,
                seed: int = 0, rows: pd.DataFrame | None = None, search: tuple[dict, ...] = SEARCH) -> TrainingRun:
    """Backtest, refit, calibrate and evaluate a readiness model on a history.

    Parameters
    ----------
    history : History
        A validated history (with opportunities).
    settings : FeatureSettings
        Feature and label settings (horizon, ICP, warm-up, ...).
    train : TrainSettings
        Cutoff, tiers, rule thresholds, evaluation targets, folds, bootstrap draws.
    seed : int
        Seed of every random step (LightGBM's bagging and feature sampling, the bootstrap).
    rows : DataFrame, optional
        Pre-built training rows (from :func:`build_features` with the same
        settings); built on the default grid when omitted.
    search : tuple of dict
        The candidates of the seeded search (default :data:`~mqa.train.model.SEARCH`).

    Raises
    ------
    ValueError
        Too little history for the backtest (the message says what is
        needed and why there is less), or no opportunity to learn from.
    """
    settings = settings or FeatureSettings()
    train = train or TrainSettings()
    notes: list[str] = []
    if rows is None:
        rows, settings, notes = training_rows(history, settings, train.folds)
    labeled = rows[rows["label"].notna()].reset_index(drop=True)
    backtest = plan_backtest(labeled["as_of"].unique(), settings.horizon_days, train.folds,
                             cause=span_cause(history, settings, rows))
    if not (labeled["label"] == 1).any():
        raise ValueError(f"no labeled row has an opportunity within {settings.horizon_days} days "
                         f"(counted types: {label_text(settings)}); the model has nothing to learn from")
    usable, unusable = usable_features(history, feature_names(settings))
    notes.extend(unusable)
    chosen = [f for f in usable if f.split("__")[0] in train.families]
    if not chosen:
        raise ValueError(f"no feature can be built from this history in the families {', '.join(train.families)}")
    y = labeled["label"].to_numpy(dtype=float)
    as_of = labeled["as_of"]

    masks = {f.number: {k: as_of.isin(getattr(f, k)).to_numpy() for k in ("fit", "stop", "train", "test")}
             for f in backtest.folds}
    backtest = _learnable(backtest, masks, y, settings, notes)
    folds = backtest.folds
    chosen, trials_run = family_trials(labeled, y, masks, folds, chosen, settings, train, seed)

    # --- the search, fold by fold: candidates early-stopped inside each fold's training rows
    enc = {f.number: Encoding.fit(labeled[masks[f.number]["train"]], chosen, settings) for f in folds}
    X = {f.number: enc[f.number].matrix(labeled) for f in folds}
    trials = _search(X, y, masks, enc, search, seed)
    search_table = pd.DataFrame([{k: v for k, v in t.items() if k != "_b"} for t in trials])
    per_fold = {f.number: _pick([t for t in trials if t["fold"] == f.number]) for f in folds}
    summary, final_pick = _shipped_candidate(search_table)
    final_params = search[int(final_pick["candidate"])]
    final_rounds = max(1, int(round(final_pick["rounds"])))

    # --- refits: each fold's choice on all of its training rows; the shipped model on every labeled row
    final_enc = Encoding.fit(labeled, chosen, settings)
    X_all = final_enc.matrix(labeled)
    jobs = [(X[f.number][masks[f.number]["train"]], y[masks[f.number]["train"]], enc[f.number].categorical_features,
             search[per_fold[f.number]["candidate"]], per_fold[f.number]["rounds"]) for f in folds]
    jobs.append((X_all, y, final_enc.categorical_features, final_params, final_rounds))
    refits = Parallel(n_jobs=min(len(jobs), os.cpu_count() or 1), prefer="threads")(
        delayed(refit_booster)(Xj, yj, cats, params={**params, "num_threads": 1}, rounds=rounds, seed=seed)
        for Xj, yj, cats, params, rounds in jobs)
    booster = refits[-1]

    test_rows, fold_table = _out_of_fold(labeled, folds, masks, X, refits[:-1], per_fold)
    y_test = test_rows["label"].to_numpy(dtype=float)
    if len(np.unique(y_test)) < 2:
        raise ValueError(f"the backtest's test blocks ({folds[0].test.min().date()} to {folds[-1].test.max().date()}) have "
                         f"{'no' if not y_test.sum() else 'only'} opportunities within {settings.horizon_days} days; "
                         f"the backtest cannot judge the model. Use a longer history or a longer --horizon-days")
    calibration, test_rows["probability"] = _calibrate(test_rows, folds)
    if len(folds) == 1:
        notes.append("one fold: the calibration's Brier score is measured on the rows it was fitted on")
    raw_all = raw_scores(booster, X_all)
    scale = ScoreScale.fit(raw_all)
    evaluation = _evaluate(history, settings, train, test_rows, fold_table, chosen, seed,
                           constant=booster.num_trees() == 0 or np.ptp(raw_all) == 0, labeled_dates=len(backtest.dates))
    evaluation["validation_roc_auc"] = float(summary.loc[int(final_pick["candidate"]), "validation_roc_auc"])
    evaluation["notes"] = notes
    t = evaluation["test"]

    importance = global_importance(booster, X_all, seed)
    bundle = ModelBundle(
        booster=booster, encoding=final_enc, calibration=calibration, scale=scale,
        tiers=dict(train.tiers), cutoff=train.cutoff, settings=settings,
        training={
            "seed": seed,
            "fingerprint": fingerprint(history),
            "backtest": backtest.describe(),
            "last_labeled": str(backtest.dates.max()),
            "rows": {"labeled": int(len(labeled)), "backtest": int(len(test_rows))},
            "positives": {"labeled": int(y.sum()), "backtest": int(y_test.sum()),
                          "labeled_accounts": int(labeled.loc[labeled["label"] == 1, "account_id"].nunique())},
            "search": search_table.to_dict(orient="records"),
            "chosen_candidate": int(final_pick["candidate"]),
            "chosen_params": dict(final_params),
            "rounds": final_rounds,
            "metrics": t,
            "verdict": evaluation["verdict"],
            "evidence": evaluation["evidence"],
            "labels": evaluation["labels"],
            "family_trials": trials_run,
            **_group_templates(history, settings, chosen),
            "inputs": feature_inputs(chosen),
            "versions": versions(),
            "feature_count": len(final_enc.features),
            # What the inputs looked like, for `mqa monitor`'s drift (aggregates only: no row, no id).
            "reference": reference(labeled, list(final_enc.features), test_rows["score"]),
        },
    )
    return TrainingRun(bundle, backtest, evaluation, test_rows, importance, search_table, labeled)


def _group_templates(history: History, settings: FeatureSettings, chosen: list[str]) -> dict:
    """The won deals' persona templates for the model report, when the history can feed the buying_group family.

    Left out otherwise, so a history without topics or contact roles trains
    the same bundle, byte for byte, as before the family existed.
    """
    from mqa.features.groups import FEATURES, template_summary
    from mqa.features.inputs import lacking_inputs, provided_inputs

    provided = provided_inputs(history)
    if all(lacking_inputs(f.sources, provided) for f in FEATURES):
        return {}
    return {"buying_groups": template_summary(history, settings)}


def _learnable(backtest: Backtest, masks: dict, y: np.ndarray, settings: FeatureSettings, notes: list[str]) -> Backtest:
    """The folds that can learn, with notes on the others.

    A fold whose training rows hold no opportunity cannot learn: it is left
    out. One whose early-stopping split lacks a class fits all its training
    rows for a fixed number of rounds instead (its ``masks`` are changed).
    """
    learnable = []
    for f in backtest.folds:
        m = masks[f.number]
        if len(np.unique(y[m["train"]])) < 2:
            notes.append(f"fold {f.number} (test {f.test.min().date()} to {f.test.max().date()}) is left out: its training "
                         f"rows hold {'no' if not y[m['train']].sum() else 'only'} opportunities")
            continue
        if len(np.unique(y[m["fit"]])) < 2:
            m["fit"], m["stop"] = m["train"], np.zeros(len(y), dtype=bool)
            notes.append(f"fold {f.number}: too few opportunities to early-stop inside its training rows; "
                         f"fitted on all of them for {FIXED_ROUNDS} rounds")
        learnable.append(f)
    if not learnable:
        raise ValueError(f"no fold of the backtest has training rows with and without an opportunity within "
                         f"{settings.horizon_days} days; the history needs more opportunities before "
                         f"{backtest.folds[-1].test.min().date()}")
    return dataclasses.replace(backtest, folds=tuple(learnable))


def family_trials(labeled: pd.DataFrame, y: np.ndarray, masks: dict, folds, chosen: list[str], settings: FeatureSettings,
                  train: TrainSettings, seed: int = 0) -> tuple[list[str], list[dict]]:
    """Try each family on trial with and without; leave out those that do not help.

    In every fold of the backtest a model with the default parameters and
    :data:`~mqa.train.model.FIXED_ROUNDS` rounds is fitted on the fold's
    training rows, once with the family and once without, and judged on the
    fold's test block; the family is kept when the mean of the folds' ROC-AUC
    gains at least ``train.family_min_gain``. This one keep-or-leave-out
    choice per family is the only one made on the test blocks (the search
    uses the early-stopping blocks), and the report says so. A family none
    of whose features has signal in this history is not tried.

    Returns
    -------
    features : list of str
        ``chosen`` without the families left out.
    trials : list of dict
        Per family tried: ``family``, ``features``, ``roc_auc_with``,
        ``roc_auc_without``, ``gain``, ``folds``, ``kept`` (the model report shows them).
    """
    results = []
    for fam in train.trial_families:
        mine = [f for f in chosen if f.split("__")[0] == fam]
        rest = [f for f in chosen if f.split("__")[0] != fam]
        if not mine or not rest:
            continue
        aucs: dict[str, list[float]] = {"with": [], "without": []}
        for f in folds:
            m = masks[f.number]
            if len(np.unique(y[m["test"]])) < 2 or len(np.unique(y[m["train"]])) < 2:
                continue
            for key, names in (("with", chosen), ("without", rest)):
                enc = Encoding.fit(labeled[m["train"]], names, settings)
                X = enc.matrix(labeled)
                booster = refit_booster(X[m["train"]], y[m["train"]], enc.categorical_features, seed=seed)
                aucs[key].append(float(roc_auc_score(y[m["test"]], raw_scores(booster, X[m["test"]]))))
        if not aucs["with"]:
            continue
        with_, without = float(np.mean(aucs["with"])), float(np.mean(aucs["without"]))
        kept = with_ - without >= train.family_min_gain
        results.append({"family": fam, "features": len(mine), "roc_auc_with": round(with_, 4),
                        "roc_auc_without": round(without, 4), "gain": round(with_ - without, 4),
                        "folds": len(aucs["with"]), "min_gain": train.family_min_gain, "kept": bool(kept)})
        if not kept:
            chosen = rest
    return chosen, results


def family_trial_lines(trials: list[dict]) -> list[str]:
    """One sentence per family tried: kept or left out, and by how much."""
    from mqa.features.families import family

    lines = []
    for t in trials:
        name = family(t["family"]).short
        verb = "kept" if t["kept"] else "left out"
        lines.append(f"{name} ({t['features']} features, on trial): {verb}; backtest ROC-AUC "
                     f"{t['roc_auc_with']:.3f} with it, {t['roc_auc_without']:.3f} without ({t['gain']:+.3f}; kept at "
                     f"{t['min_gain']:+.3f} or more)")
    return lines


def _search(X: dict, y: np.ndarray, masks: dict, enc: dict, search: tuple[dict, ...], seed: int) -> list[dict]:
    """Every candidate early-stopped in every fold, side by side (joblib threads, one LightGBM thread each).

    LightGBM releases the GIL, and the models are identical to a sequential run.
    """
    jobs = [(k, i, params) for k in X for i, params in enumerate(search)]
    boosters = Parallel(n_jobs=min(len(jobs), os.cpu_count() or 1), prefer="threads")(
        delayed(fit_booster)(X[k][masks[k]["fit"]], y[masks[k]["fit"]], X[k][masks[k]["stop"]], y[masks[k]["stop"]],
                             enc[k].categorical_features, params={**params, "num_threads": 1}, seed=seed)
        for k, i, params in jobs)
    trials = []
    for (k, i, params), booster in zip(jobs, boosters):
        stop_y = y[masks[k]["stop"]]
        auc = (roc_auc_score(stop_y, raw_scores(booster, X[k][masks[k]["stop"]])) if len(np.unique(stop_y)) == 2
               else np.nan)
        trials.append({"fold": k, "candidate": i, **params, "rounds": int(booster.best_iteration or booster.current_iteration()),
                       "validation_roc_auc": auc, "explain_cost": explanation_cost(booster), "_b": booster})
    return trials


def _shipped_candidate(search_table: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The candidate to ship: best mean stopping-block AUC over the folds (the cheapest to explain within the
    tolerance), with the median of its folds' early-stopped rounds."""
    summary = search_table.groupby("candidate").agg(validation_roc_auc=("validation_roc_auc", "mean"),
                                                    explain_cost=("explain_cost", "mean"), rounds=("rounds", "median"))
    return summary, _pick([{"candidate": c, **r} for c, r in summary.to_dict(orient="index").items()])


def _out_of_fold(labeled: pd.DataFrame, folds, masks: dict, X: dict, refits: list, per_fold: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each fold's test rows scored by its refitted model (and by its early-stopping block's model), and the per-fold table."""
    y = labeled["label"].to_numpy(dtype=float)
    parts, records = [], []
    for f, refit in zip(folds, refits):
        m = masks[f.number]
        raw = raw_scores(refit, X[f.number][m["test"]])
        block = raw_scores(per_fold[f.number]["_b"], X[f.number][m["test"]])
        scale = ScoreScale.fit(raw_scores(refit, X[f.number][m["train"]]))
        part = labeled[m["test"]].assign(fold=f.number, raw=raw, block_raw=block, score=scale.score(raw))
        parts.append(part)
        y_t = y[m["test"]]
        two = len(np.unique(y_t)) == 2
        records.append({
            "fold": f.number, "test_first": str(f.test.min().date()), "test_last": str(f.test.max().date()),
            "train_last": str(f.train.max().date()), "train_rows": int(m["train"].sum()), "rows": int(m["test"].sum()),
            "positives": int(y_t.sum()), "positive_accounts": int(part.loc[part["label"] == 1, "account_id"].nunique()),
            "candidate": int(per_fold[f.number]["candidate"]), "rounds": int(per_fold[f.number]["rounds"]),
            "roc_auc": float(roc_auc_score(y_t, raw)) if two else np.nan,
            "pr_auc": float(average_precision_score(y_t, raw)) if two else np.nan,
            "block_roc_auc": float(roc_auc_score(y_t, block)) if two else np.nan,
        })
    return pd.concat(parts, ignore_index=True), pd.DataFrame(records)


def _calibrate(test_rows: pd.DataFrame, folds) -> tuple[Calibration, np.ndarray]:
    """The shipped calibration, fitted on every out-of-fold prediction; and each row's probability for the figures.

    The figures use, for each fold, a calibration fitted on the other folds
    only, so the Brier score is not judged on the rows it was fitted on.
    """
    calibration = Calibration.fit(test_rows["raw"], test_rows["label"], order=test_rows["as_of"].to_numpy())
    probability = np.empty(len(test_rows))
    for f in folds:
        here = (test_rows["fold"] == f.number).to_numpy()
        other = ~here if len(folds) > 1 else here
        cal = (Calibration.fit(test_rows.loc[other, "raw"], test_rows.loc[other, "label"], method=calibration.method,
                               order=test_rows.loc[other, "as_of"].to_numpy())
               if len(np.unique(test_rows.loc[other, "label"])) == 2 else calibration)
        probability[here] = cal.probability(test_rows.loc[here, "raw"])
    return calibration, probability


def _evaluate(history: History, settings: FeatureSettings, train: TrainSettings, test_rows: pd.DataFrame,
              fold_table: pd.DataFrame, chosen: list[str], seed: int, constant: bool, labeled_dates: int) -> dict:
    """Every figure of the out-of-fold rows: headline, folds, baselines with intervals, rules, evidence, leaks."""
    y = test_rows["label"].to_numpy(dtype=float)
    raw = test_rows["raw"].to_numpy()
    probability = test_rows["probability"].to_numpy()
    cutoffs = ev.by_cutoff(test_rows)
    o = history["opportunities"]
    counted = o[counted_opportunities(o, settings.label_types, settings.label_excluded_types)]
    why = missing_inputs(history, chosen)
    rankers = bl.baselines(test_rows, train.rules, first_activity(history), why)
    table, verdict = bl.compare(test_rows, raw, test_rows["score"].to_numpy() >= train.cutoff, rankers,
                                seed=seed, draws=train.bootstrap)
    last = fold_table.iloc[-1]
    evaluation = {
        "test": ev.headline(y, probability, 1.0 / (1.0 + np.exp(-raw)), raw),
        "folds": fold_table,
        "refit_check": {"fold": int(last["fold"]), "block_roc_auc": float(last["block_roc_auc"]),
                        "refit_roc_auc": float(last["roc_auc"])},
        "calibration": ev.calibration_table(y, probability),
        "lift": ev.lift_by_decile(y, test_rows["score"].to_numpy()),
        "cutoffs": cutoffs,
        "cutoff_choice": ev.cutoff_for(cutoffs, settings.step_days, train.weekly_capacity, train.precision_target,
                                        train.min_lift),
        "rules": applicable_rules(test_rows, train.rules, why),
        "retrospective": ev.retrospective(test_rows, counted, train.cutoff, settings.horizon_days),
        "baselines": table,
        "verdict": verdict,
        "evidence": bl.evidence(test_rows, labeled_dates, constant),
        "labels": label_summary(history, settings),
        "leaks": likely_leaks(test_rows, chosen),
        "missing_inputs": why,
    }
    t = evaluation["test"]
    # Ranking figures within each fold (one model's scale), averaged over the
    # folds by their positives; the pooled ones mix the folds' models.
    t["pooled_roc_auc"], t["pooled_pr_auc"] = t["roc_auc"], t["pr_auc"]
    weights = fold_table["positives"].where(fold_table["roc_auc"].notna(), 0)
    t["roc_auc"] = float(np.average(fold_table["roc_auc"].fillna(0), weights=weights)) if weights.sum() else np.nan
    t["pr_auc"] = float(np.average(fold_table["pr_auc"].fillna(0), weights=weights)) if weights.sum() else np.nan
    t["positive_accounts"] = evaluation["evidence"]["positive_accounts"]
    ci = table.set_index("name").loc["model"]
    t["roc_auc_low"], t["roc_auc_high"] = float(ci["roc_auc_low"]), float(ci["roc_auc_high"])
    at_cutoff = cutoffs.set_index("cutoff")
    if train.cutoff in at_cutoff.index:
        t["mqa_precision"] = float(at_cutoff.loc[train.cutoff, "precision"])
        t["mqa_recall"] = float(at_cutoff.loc[train.cutoff, "recall"])
    t["mqa_precision_low"], t["mqa_precision_high"] = float(ci["precision_low"]), float(ci["precision_high"])
    return evaluation


def _pick(trials: list[dict]) -> dict:
    """The cheapest-to-explain trial within :data:`AUC_TOLERANCE` of the best AUC (NaN AUCs count as worst)."""
    aucs = [t["validation_roc_auc"] for t in trials]
    if all(np.isnan(a) for a in aucs):
        return min(trials, key=lambda t: t["candidate"])
    top = np.nanmax(aucs)
    near = [t for t in trials if not np.isnan(t["validation_roc_auc"]) and t["validation_roc_auc"] >= top - AUC_TOLERANCE]
    return min(near, key=lambda t: (t["explain_cost"], -t["validation_roc_auc"], t["candidate"]))


def applicable_rules(rows: pd.DataFrame, rules, why: dict) -> pd.DataFrame:
    """The seed rules against the model at the same volume, for the rules whose inputs the history has."""
    needs = {"rule_a_fit_engagement_2_contacts": ("activities", "contacts", "fit"), "rule_b_100_points_90d": ("activities",)}
    columns = ("fit__icp_score", "engagement__points_90d", "engagement__contacts_engaged_90d")
    if "activities" in why or not all(c in rows for c in columns):
        return ev.no_rules()
    table = ev.compare_with_rules(rows, rules)
    return table[[not any(k in why for k in needs[r]) for r in table["rule"]]].reset_index(drop=True)


def missing_inputs(history: History, features: list[str]) -> dict[str, str]:
    """``{input: reason}`` for what the baselines need and the history lacks."""
    out = {}
    if "activities" not in history.present or not len(history["activities"]):
        out["activities"] = "no activities table"
    if "contacts" not in history.present or not len(history["contacts"]):
        out["contacts"] = "no contacts table"
    acc = history["accounts"]
    if not any(acc[c].notna().any() for c in ("industry", "employees", "technologies")):
        out["fit"] = "no firmographic columns (industry, employees, technologies)"
    return out


def first_activity(history: History) -> pd.Series | None:
    """Each account's first activity time, or None without activities."""
    a = history["activities"]
    a = a[a["account_id"].notna()]
    if not len(a):
        return None
    return a.groupby("account_id")["timestamp"].min()


def label_text(settings: FeatureSettings) -> str:
    if settings.label_types is not None:
        return ", ".join(settings.label_types) + " (and untyped)"
    excluded = ", ".join(settings.label_excluded_types)
    return f"every type but {excluded}" if excluded else "every type"


def label_summary(history: History, settings: FeatureSettings) -> dict:
    """What the label counts, and how many opportunities that is."""
    o = history["opportunities"]
    counted = counted_opportunities(o, settings.label_types, settings.label_excluded_types)
    typed = bool(o["type"].notna().any())
    note = (f"The label counts {label_text(settings)}: {int(counted.sum()):,} of {len(o):,} opportunities."
            if typed else f"The opportunities carry no type, so every one of the {len(o):,} counts (renewals cannot be told apart).")
    return {"counted": int(counted.sum()), "total": int(len(o)), "typed": typed, "counts": label_text(settings), "note": note}


def likely_leaks(rows: pd.DataFrame, features: list[str]) -> list[dict]:
    """Declared attributes that look filled in during the deal: too good alone, or filled mainly for converters."""
    out = []
    y = rows["label"].to_numpy(dtype=float)
    converted = rows.groupby("account_id")["label"].max()
    for f in [f for f in features if f.startswith("attribute__")]:
        v = rows[f]
        if v.dtype.kind in "fiu":
            auc = bl.weighted_auc(y, v.to_numpy(dtype=float), np.ones((1, len(y))))[0]
        else:
            rate = rows.groupby(v.astype("str").fillna(""))["label"].transform("mean")
            auc = bl.weighted_auc(y, rate.to_numpy(dtype=float), np.ones((1, len(y))))[0]
        filled = v.notna().groupby(rows["account_id"]).max()
        fill_conv = float(filled[converted == 1].mean()) if (converted == 1).any() else np.nan
        fill_other = float(filled[converted == 0].mean()) if (converted == 0).any() else np.nan
        why = []
        strength = max(auc, 1 - auc) if not np.isnan(auc) else np.nan
        if strength >= LEAK_AUC:
            why.append(f"alone it ranks the backtest with ROC-AUC {strength:.2f}")
        if not np.isnan(fill_conv) and not np.isnan(fill_other) and fill_conv - fill_other >= LEAK_FILL_GAP:
            why.append(f"it is filled for {fill_conv:.0%} of the accounts that converted and {fill_other:.0%} of the others")
        if why:
            out.append({"feature": f, "auc": float(strength), "fill_converted": fill_conv, "fill_other": fill_other,
                        "why": "; ".join(why)})
    return out


def explanation_cost(booster) -> float:
    """Exact TreeSHAP work per row, up to a constant: the sum over trees of leaves x depth squared."""
    trees = booster.trees_to_dataframe()
    if booster.best_iteration:
        trees = trees[trees["tree_index"] < booster.best_iteration]
    per_tree = trees.groupby("tree_index").agg(leaves=("left_child", lambda c: int(c.isna().sum())),
                                               depth=("node_depth", "max"))
    return float((per_tree["leaves"] * (per_tree["depth"] - 1).clip(lower=1) ** 2).sum())


def global_importance(booster, X: pd.DataFrame, seed: int) -> pd.Series:
    """Mean absolute SHAP contribution per feature (LightGBM's exact TreeSHAP) on a sample of rows."""
    if len(X) > IMPORTANCE_SAMPLE:
        X = X.sample(IMPORTANCE_SAMPLE, random_state=seed)
    contrib = booster.predict(X, pred_contrib=True, num_iteration=booster.best_iteration or None)
    return pd.Series(np.abs(contrib[:, :-1]).mean(axis=0), index=X.columns).sort_values(ascending=False)


def refit_on_folds(labeled: pd.DataFrame, backtest: Backtest, features: list[str], params: dict, seed: int = 0,
                   settings: FeatureSettings | None = None) -> np.ndarray:
    """Out-of-fold raw outputs of one fixed candidate run through the same backtest (early stop, then refit per fold).

    The rows come out in the order of :attr:`TrainingRun.test_rows` (fold by
    fold, each fold's test rows in ``labeled`` order). Used to judge another
    model's settings (the champion's) on exactly the folds this run used.
    """
    y = labeled["label"].to_numpy(dtype=float)
    as_of = labeled["as_of"]
    out = []
    for f in backtest.folds:
        m = {k: as_of.isin(getattr(f, k)).to_numpy() for k in ("fit", "stop", "train", "test")}
        enc = Encoding.fit(labeled[m["train"]], features, settings)
        X = enc.matrix(labeled)
        if len(np.unique(y[m["fit"]])) < 2:  # as in train_model: no early stopping without both classes
            m["fit"], m["stop"] = m["train"], np.zeros(len(y), dtype=bool)
        stopped = fit_booster(X[m["fit"]], y[m["fit"]], X[m["stop"]], y[m["stop"]], enc.categorical_features,
                              params=params, seed=seed)
        refit = refit_booster(X[m["train"]], y[m["train"]], enc.categorical_features, params=params,
                              rounds=stopped.best_iteration or stopped.current_iteration(), seed=seed)
        out.append(raw_scores(refit, X[m["test"]]))
    return np.concatenate(out)
