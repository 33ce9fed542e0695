"""What ``mqa train`` says about a run: thin evidence first, then the backtest, the baselines, the verdict and notes.

The lines are the library's, so a notebook prints the same account of a run as the command line::

    print("\n".join(mqa.train_summary(run, "data/demo", history)))
"""

from __future__ import annotations

from .evaluate import cutoff_advice
from .pipeline import family_trial_lines


def train_summary(run, data, history) -> list[str]:
    """What ``mqa train`` prints about ``run``: thin evidence first, then the backtest, the baselines, the verdict and notes.

    Parameters
    ----------
    run : TrainingRun
        From :func:`~mqa.train.pipeline.train_model`.
    data : str or path
        Where the history was read from (named in the first line).
    history : History
        The history the run was trained on.

    Returns
    -------
    list of str
        One line each, without newlines.
    """
    ev, b = run.evaluation, run.bundle
    m, e, verdict = ev["test"], ev["evidence"], ev["verdict"]
    lines = []
    if e["thin"]:
        lines.append("THIN EVIDENCE: " + "; ".join(e["reasons"]) + ". Treat every figure below as a rough guide.")
    lines.append(f"Read {data}: {len(history['accounts']):,} accounts, {len(history['activities']):,} activities, "
                 f"{len(history['opportunities']):,} opportunities (match rate {history.matching.match_rate:.1%}).")
    d = run.backtest.describe()["labeled"]
    lines.append(f"Label: an opportunity within {b.settings.horizon_days} days. {ev['labels']['note']}")
    lines.append(f"Backtest: {len(run.backtest.folds)} folds over {d['dates']} labeled as-of dates {d['first']} to {d['last']} "
                 f"({b.settings.step_days} days apart); each fold's test block one horizon after its training rows.")
    lines.append(f"Out of fold ({m['rows']:,} rows, {m['positives']:,} positives from {m['positive_accounts']:,} accounts): "
                 f"ROC-AUC {m['roc_auc']:.3f} [{_ci(m['roc_auc_low'], m['roc_auc_high'], '.3f')}], PR-AUC {m['pr_auc']:.3f}, "
                 f"Brier {m['brier']:.4f} (uncalibrated {m['brier_uncalibrated']:.4f}).")
    for f in ev["folds"].itertuples():
        auc = "n/a (one class)" if f.roc_auc != f.roc_auc else f"{f.roc_auc:.3f}"
        lines.append(f"  fold {f.fold} ({f.test_first} to {f.test_last}): ROC-AUC {auc}, {f.positives:,} positives "
                     f"of {f.rows:,} rows; trained on {f.train_rows:,} rows up to {f.train_last}")
    rc = ev["refit_check"]
    if rc["refit_roc_auc"] == rc["refit_roc_auc"]:
        lines.append(f"  last fold: refitted on all its training rows {rc['refit_roc_auc']:.3f} vs the early-stopping "
                     f"block's model {rc['block_roc_auc']:.3f} (the shipped model is refitted on every labeled row)")
    if "mqa_precision" in m:
        lines.append(f"MQAs (score >= {b.cutoff:g}): precision {m['mqa_precision']:.1%} "
                     f"[{_ci(m['mqa_precision_low'], m['mqa_precision_high'], '.1%')}], recall {m['mqa_recall']:.1%}.")
    lines += ["  " + x for x in cutoff_advice(ev["cutoffs"], ev["cutoff_choice"], b.cutoff, b.settings.step_days,
                                              b.settings.horizon_days)]
    lines.append("Beside transparent baselines on the same rows (ROC-AUC, 95% interval by account; precision at the model's MQA volume):")
    for r in ev["baselines"].itertuples():
        if not r.available:
            lines.append(f"  {r.name}: cannot apply ({r.why_not})")
        else:
            lines.append(f"  {r.name}: {r.roc_auc:.3f} [{_ci(r.roc_auc_low, r.roc_auc_high, '.3f')}], precision "
                         f"{_pct(r.precision)}")
    if verdict["best_baseline"] is not None:
        margin = (f"by {verdict['margin']:+.3f} ROC-AUC [{_ci(verdict['margin_low'], verdict['margin_high'], '+.3f')}] over "
                  f"the best baseline, {verdict['best_baseline']} ({verdict['best_baseline_auc']:.3f})")
        lines.append(("Verdict: the model beats the baselines " + margin + "." ) if verdict["beats_baseline"] else
                     ("Verdict: the model does NOT beat the best baseline beyond noise (" + margin + "); it will not "
                      "become champion unless you pass --promote-anyway."))
    for r in ev["rules"].itertuples():
        if not r.flagged:
            lines.append(f"  {r.rule}: flags no account in the backtest")
            continue
        ratio = f"{r.ratio:.2f}x" if r.ratio == r.ratio else "no hit for the rule"
        lines.append(f"  {r.rule}: {r.flagged:,} flagged, precision {r.rule_precision:.1%}; model at the same volume "
                     f"{r.model_precision:.1%} ({ratio})")
    for leak in ev["leaks"]:
        lines.append(f"Likely leak: {leak['feature']}: {leak['why']}. A field sales fills in during a deal tells the "
                     f"model the outcome; remove it from [attributes] unless it is known before.")
    for note in ev["notes"]:
        lines.append(f"Note: {note}.")
    for line in family_trial_lines(b.training.get("family_trials", [])):
        lines.append(f"Family on trial: {line}.")
    if m["roc_auc"] > 0.95:
        lines.append("Warning: an out-of-time ROC-AUC above 0.95 on CRM data usually means leakage; check the report's drivers.")
    return lines


def _ci(lo: float, hi: float, spec: str) -> str:
    return "-" if lo != lo or hi != hi else f"{lo:{spec}} to {hi:{spec}}"


def _pct(v: float) -> str:
    return "-" if v != v else f"{v:.1%}"
