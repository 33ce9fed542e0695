"""The validation report: one self-contained HTML page a data scientist can send to sales ops.

Rendered with Jinja2 (autoescaped) and matplotlib (inline SVG): no network
fetch, no external file; it opens from disk or an email attachment.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import numpy as np
from jinja2 import Environment

# Figures are drawn with matplotlib's object API and written as SVG: no
# plotting backend is chosen (a notebook's inline plots keep working).
from matplotlib.figure import Figure

from mqa.features.build import family_of, feature_spec

from .evaluate import cutoff_advice
from .pipeline import TrainingRun, family_trial_lines

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mqa validation report: model {{ version }}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2733;max-width:1100px;margin:24px auto;padding:0 20px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
.muted{color:#5b6b7c}.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.kpi{background:#f3f6f9;border-radius:8px;padding:10px 14px;min-width:140px}.kpi b{display:block;font-size:22px}
table{border-collapse:collapse;margin:8px 0;font-size:14px}th,td{padding:4px 10px;border-bottom:1px solid #e6ebf0;text-align:right}
th:first-child,td:first-child{text-align:left}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.plot svg{width:100%;height:auto}.note{background:#fff8e6;border-left:4px solid #f0b429;padding:8px 12px}
</style></head><body>
{% if evidence.thin %}<p class="note"><b>Thin evidence.</b> {{ evidence.reasons|join("; ") }}. Every figure below is a rough guide; the intervals show how rough.</p>{% endif %}
<h1>Readiness model {{ version }}: backtest</h1>
<p class="muted">Trained {{ trained_at }} on {{ fingerprint_text }}; seed {{ seed }}. Label: an opportunity created within {{ horizon }} days of the as-of date. {{ labels.note }}</p>
{% if not verdict.beats_baseline %}<p class="note"><b>The model does not beat the best transparent baseline beyond noise</b>{% if verdict.best_baseline %} ({{ verdict.best_baseline }}: ROC-AUC {{ "%.3f"|format(verdict.best_baseline_auc) }}; the model's margin {{ "%+.3f"|format(verdict.margin) }}, 95% interval {{ ci(verdict.margin_low, verdict.margin_high, "%+.3f") }}){% endif %}. It is not promoted to champion unless asked for explicitly.</p>{% endif %}
{% for leak in leaks %}<p class="note"><b>Likely leak: {{ leak.feature }}.</b> {{ leak.why|capitalize }}. A field that sales fills in during a deal tells the model the outcome; remove it from [attributes] unless it is known before the opportunity.</p>{% endfor %}
<div class="kpis">
<div class="kpi">ROC-AUC<b>{{ "%.3f"|format(m.roc_auc) }}</b><span class="muted">95% {{ ci(m.roc_auc_low, m.roc_auc_high, "%.3f") }}</span></div>
<div class="kpi">PR-AUC<b>{{ "%.3f"|format(m.pr_auc) }}</b><span class="muted">base rate {{ "%.1f%%"|format(100*m.base_rate) }}</span></div>
<div class="kpi">Brier<b>{{ "%.4f"|format(m.brier) }}</b><span class="muted">uncalibrated {{ "%.4f"|format(m.brier_uncalibrated) }}</span></div>
{% if m.mqa_precision is defined %}<div class="kpi">MQA precision at {{ cutoff|round(0)|int }}<b>{{ pct(m.mqa_precision) }}</b><span class="muted">95% {{ ci(m.mqa_precision_low, m.mqa_precision_high, "pct") }}; recall {{ pct(m.mqa_recall) }}</span></div>{% endif %}
<div class="kpi">Positives<b>{{ "{:,}".format(m.positives) }}</b><span class="muted">rows, from {{ "{:,}".format(m.positive_accounts) }} accounts</span></div>
</div>
{% if m.roc_auc > 0.95 %}<p class="note">An out-of-time ROC-AUC above 0.95 on CRM data usually means leakage: check which features lead the importance list before trusting this model.</p>{% endif %}
<p><b>What the score means.</b> {{ score_meaning }} An account is an MQA at a score of {{ cutoff|round(1) }} or more.
Tiers: {% for name, low in tiers %}{{ name }} from {{ low|round(0)|int }}{% if not loop.last %}, {% endif %}{% endfor %}.
The probability is calibrated ({{ calibration }}, fitted on the backtest's out-of-fold predictions): of 100 accounts at 20%, about 20 open an opportunity within {{ horizon }} days.</p>
{% for n in notes %}<p class="muted">Note: {{ n }}.</p>{% endfor %}
{% for line in trials %}<p>Family on trial: {{ line }}.</p>{% endfor %}
{% if groups and groups.templates %}
<h2>Buying groups of won deals</h2>
{% for t in groups.templates %}<p>{{ t.sentence[:1]|upper }}{{ t.sentence[1:] }}.</p>{% endfor %}
<table><tr><th>template</th><th>persona</th><th>share of won deals' groups</th><th>share of non-converting accounts' largest groups</th><th>median number</th></tr>
{% for t in groups.templates %}{% for p in t.personas %}<tr><td>{{ t.topic or "all topics" }}</td><td>{{ p.persona }}</td><td>{{ pct(p.won_share) }}</td><td>{{ pct(p.other_share) }}</td><td>{{ p.median }}</td></tr>{% endfor %}{% endfor %}</table>
<p class="muted">A won deal's group: the people engaged in the 90 days before the opportunity was created, grouped by topic and timing, and the contacts the opportunity names (opportunity_contacts); {{ "{:,}".format(groups.won) }} won deals. The baseline: the largest group of accounts that never opened an opportunity ({{ "{:,}".format(groups.baseline_groups) }} account-dates). The buying_group features measure each group against the personas named on won opportunities up to its date.</p>
{% endif %}

<h2>Rolling-origin backtest</h2>
<table><tr><th>fold</th><th>trained on as-of up to</th><th>training rows</th><th>test from</th><th>test to</th><th>rows</th><th>positives (accounts)</th><th>ROC-AUC</th><th>PR-AUC</th><th>early-stopping block's model</th></tr>
{% for f in folds %}<tr><td>{{ f.fold }}</td><td>{{ f.train_last }}</td><td>{{ "{:,}".format(f.train_rows) }}</td><td>{{ f.test_first }}</td><td>{{ f.test_last }}</td><td>{{ "{:,}".format(f.rows) }}</td><td>{{ "{:,}".format(f.positives) }} ({{ "{:,}".format(f.positive_accounts) }})</td><td>{{ num3(f.roc_auc) }}</td><td>{{ num3(f.pr_auc) }}</td><td>{{ num3(f.block_roc_auc) }}</td></tr>{% endfor %}</table>
<p class="muted">Each fold's test block starts a full horizon ({{ horizon }} days) after its last training as-of date, so no label window reaches into it. Early stopping watches the last training dates, a second horizon after the rows it fits on; the fold's model is then refitted on all its training rows with the rounds found. The shipped model is refitted the same way on every labeled row ({{ rounds }} rounds). The last column is the model fitted on the early-stopping block's rows only, as mqa shipped before. Headline figures: ROC-AUC within each fold, averaged by positives; pooled over folds {{ num3(m.pooled_roc_auc) }}.</p>

<h2>Beside transparent baselines</h2>
<table><tr><th>ranker</th><th>ROC-AUC</th><th>95% interval</th><th>precision at the model's MQA volume</th><th>95% interval</th></tr>
{% for b in baselines %}<tr><td>{{ b.name }}<br><span class="muted">{{ b.description }}</span></td>{% if b.available %}<td>{{ num3(b.roc_auc) }}</td><td>{{ ci(b.roc_auc_low, b.roc_auc_high, "%.3f") }}</td><td>{{ pct(b.precision) }}</td><td>{{ ci(b.precision_low, b.precision_high, "pct") }}</td>{% else %}<td colspan="4">cannot apply: {{ b.why_not }}</td>{% endif %}</tr>{% endfor %}</table>
<p class="muted">Same out-of-fold rows for every ranker. Intervals: {{ draws }} bootstrap resamples of accounts (an account's rows at several dates are one piece of evidence, not many). {% if verdict.best_baseline %}Margin over the best baseline ({{ verdict.best_baseline }}): {{ "%+.3f"|format(verdict.margin) }}, 95% interval {{ ci(verdict.margin_low, verdict.margin_high, "%+.3f") }}{% if verdict.beats_baseline %}: the model beats it beyond noise{% else %}: not beyond noise{% endif %}.{% endif %}</p>

<h2>Against today's rules, at the same volume</h2>
{% if not rules %}<p>The seed rules cannot apply to this history: {{ rules_why }}.</p>{% endif %}
<table><tr><th>rule</th><th>accounts flagged</th><th>rule precision</th><th>model precision, same number</th><th>model / rule</th></tr>
{% for r in rules %}<tr><td>{{ r.rule }}</td><td>{{ "{:,}".format(r.flagged) }}</td><td>{{ pct(r.rule_precision) }}</td><td>{{ pct(r.model_precision) }}</td><td>{% if r.ratio == r.ratio %}{{ "%.2f"|format(r.ratio) }}x{% else %}-{% endif %}</td></tr>{% endfor %}</table>
<p class="muted">(a) ICP fit &ge; {{ rule_settings.fit_threshold }} and &ge; {{ rule_settings.engagement_threshold|round(0)|int }} engagement points and &ge; {{ rule_settings.min_contacts }} engaged contacts in 90 days; (b) &ge; {{ rule_settings.points_threshold|round(0)|int }} engagement points in 90 days. At each as-of date the model flags as many accounts as the rule, its highest-scored ones.</p>

<h2>Calibration and lift</h2>
<div class="grid"><div class="plot">{{ plots.calibration|safe }}</div><div class="plot">{{ plots.lift|safe }}</div></div>

<h2>Choosing a cutoff</h2>
<div class="grid"><div class="plot">{{ plots.cutoffs|safe }}</div><div>
<table><tr><th>cutoff</th><th>MQAs per as-of date</th><th>precision</th><th>lift</th><th>probability at the cutoff</th><th>recall</th></tr>
{% for c in cutoffs %}<tr><td>{{ c.cutoff }}</td><td>{{ "{:,}".format(c.mqas_per_date|round|int) }}</td><td>{{ pct(c.precision) }}</td><td>{% if c.lift == c.lift %}{{ "%.1f"|format(c.lift) }}x{% else %}-{% endif %}</td><td>{{ pct(c.probability_at) }}{% if c.lift_at == c.lift_at %} ({{ "%.1f"|format(c.lift_at) }}x){% endif %}</td><td>{{ pct(c.recall) }}</td></tr>{% endfor %}</table>
{% for line in advice %}<p{% if loop.first %} id="cutoff-advice"{% endif %}>{{ line }}</p>{% endfor %}
{% for kind, c in choice.items() %}<p>{% if kind == "capacity" %}Weekly capacity {{ c.weekly_capacity|round(0)|int }} MQAs{% elif kind == "lift" %}Minimum lift {{ c.min_lift }}x at the cutoff{% else %}Precision target {{ pct(c.precision_target) }}{% endif %}:
{% if c.cutoff is not none %}cutoff <b>{{ c.cutoff|round(0)|int }}</b> ({{ "{:,}".format(c.mqas_per_week|round|int) }} MQAs a week).{% else %}no cutoff from 50 to 95 meets it.{% endif %}</p>{% endfor %}
</div></div>

<h2>Do MQAs do better? (the seed's retrospective check)</h2>
<table><tr><th>group</th><th>rows</th><th>opportunity rate</th><th>win rate</th><th>average amount</th><th>days to opportunity</th></tr>
{% for r in retro %}<tr><td>{{ r.group }}</td><td>{{ "{:,}".format(r.rows) }}</td><td>{{ pct(r.opportunity_rate) }}</td><td>{{ pct(r.win_rate) }}</td><td>{{ money(r.average_amount) }}</td><td>{{ num(r.days_to_opportunity) }}</td></tr>{% endfor %}</table>

<h2>What drives the scores</h2>
<div class="plot">{{ plots.importance|safe }}</div>
<p class="muted">Mean absolute SHAP contribution (exact TreeSHAP, log-odds) of the shipped model over its training rows (a sample of 20,000 at most).</p>

<h2>Search</h2>
<table><tr><th>fold</th><th>candidate</th><th>parameters</th><th>rounds</th><th>early-stopping ROC-AUC</th></tr>
{% for s in search %}<tr><td>{{ s.fold }}</td><td>{{ s.candidate }}{% if s.candidate == chosen %} (shipped){% endif %}</td><td>{{ s.params }}</td><td>{{ s.rounds }}</td><td>{{ num4(s.validation_roc_auc) }}</td></tr>{% endfor %}</table>
<p class="muted">Library versions: {{ versions }}.</p>
</body></html>
"""


def _figure(width: float, height: float):
    """A figure of its own (no pyplot state, no backend) and its one axes."""
    fig = Figure(figsize=(width, height))
    return fig, fig.subplots()


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def plots(run: TrainingRun) -> dict[str, str]:
    """The report's figures as inline SVG strings."""
    ev = run.evaluation
    out = {}
    cal = ev["calibration"]
    fig, ax = _figure(5, 4)
    top = float(max(cal["predicted"].max(), cal["observed"].max(), 0.05)) * 1.1
    ax.plot([0, top], [0, top], color="#999", lw=1, ls="--", label="perfect")
    ax.plot(cal["predicted"], cal["observed"], marker="o", color="#1f6feb", label="model")
    ax.set(xlabel="predicted probability", ylabel="observed opportunity rate", title="Calibration (out of fold)")
    ax.legend()
    out["calibration"] = _svg(fig)

    lift = ev["lift"]
    fig, ax = _figure(5, 4)
    ax.bar(lift["decile"].astype(str), lift["lift"], color="#1f6feb")
    ax.axhline(1, color="#999", lw=1, ls="--")
    ax.set(xlabel="score decile (10 = highest)", ylabel="lift over base rate", title="Lift by decile (out of fold)")
    out["lift"] = _svg(fig)

    c = ev["cutoffs"]
    fig, ax = _figure(5, 4)
    ax.plot(c["cutoff"], c["precision"], marker="o", color="#1f6feb", label="precision")
    ax.plot(c["cutoff"], c["recall"], marker="s", color="#2da44e", label="recall")
    ax.set(xlabel="cutoff", ylabel="share", title="Precision, recall and volume by cutoff")
    ax2 = ax.twinx()
    ax2.bar(c["cutoff"], c["mqas_per_date"], width=3, alpha=0.2, color="#888", label="MQAs per date")
    ax2.set_ylabel("MQAs per as-of date")
    ax.legend(loc="upper left")
    out["cutoffs"] = _svg(fig)

    imp = run.importance.head(20)[::-1]
    fig, ax = _figure(9, 6)
    labels = [f"{feature_spec(n, run.bundle.settings).description} ({family_of(n)})" for n in imp.index]
    ax.barh(labels, imp.values, color="#1f6feb")
    ax.set(xlabel="mean |SHAP| (log-odds)", title="Top 20 drivers")
    out["importance"] = _svg(fig)
    return out


def _ci(lo, hi, fmt: str) -> str:
    """A 95% interval as text ("0.812 to 0.866"); "-" where it is unknown."""
    if lo is None or hi is None or np.isnan(lo) or np.isnan(hi):
        return "-"
    if fmt == "pct":
        return f"{100 * lo:.1f}% to {100 * hi:.1f}%"
    return f"{fmt % lo} to {fmt % hi}"


def render(run: TrainingRun, train_settings) -> str:
    """The report as one HTML string."""
    from .score import __doc__ as score_doc

    b = run.bundle
    t = b.training
    env = Environment(autoescape=True)
    env.globals.update(
        pct=lambda v: "-" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{100 * v:.1f}%",
        money=lambda v: "-" if v is None or np.isnan(v) else f"{v:,.0f}",
        num=lambda v: "-" if v is None or np.isnan(v) else f"{v:.1f}",
        num3=lambda v: "-" if v is None or np.isnan(v) else f"{v:.3f}",
        num4=lambda v: "-" if v is None or np.isnan(v) else f"{v:.4f}",
        ci=_ci,
    )
    fp = t["fingerprint"]
    tables = [f"{n} {v['rows']:,}" for n, v in fp.items() if isinstance(v, dict)]
    meaning = " ".join(score_doc.split("**")[1].split()) if "**" in score_doc else ""
    search = [{"fold": s["fold"], "candidate": s["candidate"], "rounds": s["rounds"], "validation_roc_auc": s["validation_roc_auc"],
               "params": ", ".join(f"{k}={v}" for k, v in s.items()
                                   if k not in ("fold", "candidate", "rounds", "validation_roc_auc", "explain_cost") and v == v)}
              for s in t["search"]]
    ev = run.evaluation
    return env.from_string(TEMPLATE).render(
        version=b.version, trained_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        fingerprint_text="; ".join(tables) + " rows", seed=t["seed"], horizon=b.settings.horizon_days,
        m=run.evaluation["test"], cutoff=b.cutoff, tiers=sorted(b.tiers.items(), key=lambda kv: kv[1]),
        score_meaning=(meaning[0].upper() + meaning[1:]).rstrip(".") + "." if meaning else "",
        calibration=b.calibration.method, folds=ev["folds"].to_dict(orient="records"), rounds=t["rounds"],
        baselines=ev["baselines"].to_dict(orient="records"), verdict=ev["verdict"], evidence=ev["evidence"],
        labels=ev["labels"], leaks=ev["leaks"], notes=ev["notes"], draws=train_settings.bootstrap,
        trials=family_trial_lines(t.get("family_trials", [])),
        groups=t.get("buying_groups"),
        rules_why="; ".join(ev["missing_inputs"].values()) or "their features were not built",
        rules=run.evaluation["rules"].to_dict(orient="records"), rule_settings=train_settings.rules,
        cutoffs=run.evaluation["cutoffs"].to_dict(orient="records"), choice=run.evaluation["cutoff_choice"],
        advice=cutoff_advice(run.evaluation["cutoffs"], run.evaluation["cutoff_choice"], run.bundle.cutoff,
                             run.bundle.settings.step_days, run.bundle.settings.horizon_days),
        retro=run.evaluation["retrospective"].to_dict(orient="records"), plots=plots(run),
        search=search, chosen=t["chosen_candidate"],
        versions=", ".join(f"{k} {v}" for k, v in t["versions"].items()),
    )
