"""The validation report: one self-contained HTML page a data scientist can send to sales ops.

Rendered with Jinja2 (autoescaped) and matplotlib (inline SVG): no network
fetch, no external file; it opens from disk or an email attachment.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from jinja2 import Environment  # noqa: E402

from mqa.features.build import family_of, feature_spec  # noqa: E402

from .pipeline import TrainingRun  # noqa: E402

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
<h1>Readiness model {{ version }}: out-of-time validation</h1>
<p class="muted">Trained {{ trained_at }} on {{ fingerprint_text }}; seed {{ seed }}. Label: an opportunity created within {{ horizon }} days of the as-of date.</p>
<div class="kpis">
<div class="kpi">ROC-AUC<b>{{ "%.3f"|format(m.roc_auc) }}</b></div>
<div class="kpi">PR-AUC<b>{{ "%.3f"|format(m.pr_auc) }}</b><span class="muted">base rate {{ "%.1f%%"|format(100*m.base_rate) }}</span></div>
<div class="kpi">Brier<b>{{ "%.4f"|format(m.brier) }}</b><span class="muted">uncalibrated {{ "%.4f"|format(m.brier_uncalibrated) }}</span></div>
{% if m.mqa_precision is defined %}<div class="kpi">MQA precision at {{ cutoff|round(0)|int }}<b>{{ "%.1f%%"|format(100*m.mqa_precision) }}</b><span class="muted">recall {{ "%.0f%%"|format(100*m.mqa_recall) }}</span></div>{% endif %}
</div>
{% if m.roc_auc > 0.95 %}<p class="note">An out-of-time ROC-AUC above 0.95 on CRM data usually means leakage: check which features lead the importance list before trusting this model.</p>{% endif %}
<p><b>What the score means.</b> {{ score_meaning }} An account is an MQA at a score of {{ cutoff|round(1) }} or more.
Tiers: {% for name, low in tiers %}{{ name }} from {{ low|round(0)|int }}{% if not loop.last %}, {% endif %}{% endfor %}.
The probability is calibrated ({{ calibration }}, fitted on the validation split): of 100 accounts at 20%, about 20 open an opportunity within {{ horizon }} days.</p>

<h2>Split by time</h2>
<table><tr><th>split</th><th>first as-of</th><th>last as-of</th><th>dates</th><th>rows</th><th>positives</th></tr>
{% for s in splits %}<tr><td>{{ s.name }}</td><td>{{ s.first }}</td><td>{{ s.last }}</td><td>{{ s.dates }}</td><td>{{ s.rows }}</td><td>{{ s.positives }}</td></tr>{% endfor %}</table>
<p class="muted">Each split ends a full horizon ({{ horizon }} days) before the next begins, so no label window reaches into a later split.</p>

<h2>Against today's rules, at the same volume</h2>
<table><tr><th>rule</th><th>accounts flagged</th><th>rule precision</th><th>model precision, same number</th><th>model / rule</th></tr>
{% for r in rules %}<tr><td>{{ r.rule }}</td><td>{{ r.flagged }}</td><td>{{ pct(r.rule_precision) }}</td><td>{{ pct(r.model_precision) }}</td><td>{{ "%.2f"|format(r.ratio) }}x</td></tr>{% endfor %}</table>
<p class="muted">(a) ICP fit &ge; {{ rule_settings.fit_threshold }} and &ge; {{ rule_settings.engagement_threshold|round(0)|int }} engagement points and &ge; {{ rule_settings.min_contacts }} engaged contacts in 90 days; (b) &ge; {{ rule_settings.points_threshold|round(0)|int }} engagement points in 90 days. At each as-of date the model flags as many accounts as the rule, its highest-scored ones.</p>

<h2>Calibration and lift</h2>
<div class="grid"><div class="plot">{{ plots.calibration|safe }}</div><div class="plot">{{ plots.lift|safe }}</div></div>

<h2>Choosing a cutoff</h2>
<div class="grid"><div class="plot">{{ plots.cutoffs|safe }}</div><div>
<table><tr><th>cutoff</th><th>MQAs per as-of date</th><th>precision</th><th>recall</th></tr>
{% for c in cutoffs %}<tr><td>{{ c.cutoff }}</td><td>{{ "%.1f"|format(c.mqas_per_date) }}</td><td>{{ pct(c.precision) }}</td><td>{{ pct(c.recall) }}</td></tr>{% endfor %}</table>
{% for kind, c in choice.items() %}<p>{% if kind == "capacity" %}Weekly capacity {{ c.weekly_capacity|round(0)|int }} MQAs{% else %}Precision target {{ pct(c.precision_target) }}{% endif %}:
{% if c.cutoff is not none %}cutoff <b>{{ c.cutoff|round(0)|int }}</b> ({{ "%.1f"|format(c.mqas_per_week) }} MQAs a week).{% else %}no cutoff from 50 to 95 meets it.{% endif %}</p>{% endfor %}
</div></div>

<h2>Do MQAs do better? (the seed's retrospective check)</h2>
<table><tr><th>group</th><th>rows</th><th>opportunity rate</th><th>win rate</th><th>average amount</th><th>days to opportunity</th></tr>
{% for r in retro %}<tr><td>{{ r.group }}</td><td>{{ r.rows }}</td><td>{{ pct(r.opportunity_rate) }}</td><td>{{ pct(r.win_rate) }}</td><td>{{ money(r.average_amount) }}</td><td>{{ num(r.days_to_opportunity) }}</td></tr>{% endfor %}</table>

<h2>What drives the scores</h2>
<div class="plot">{{ plots.importance|safe }}</div>
<p class="muted">Mean absolute SHAP contribution (exact TreeSHAP, log-odds) over the test rows.</p>

<h2>Search</h2>
<table><tr><th>candidate</th><th>parameters</th><th>rounds</th><th>validation ROC-AUC</th></tr>
{% for s in search %}<tr><td>{{ s.candidate }}{% if s.candidate == chosen %} (chosen){% endif %}</td><td>{{ s.params }}</td><td>{{ s.rounds }}</td><td>{{ "%.4f"|format(s.validation_roc_auc) }}</td></tr>{% endfor %}</table>
<p class="muted">Library versions: {{ versions }}.</p>
</body></html>
"""


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def plots(run: TrainingRun) -> dict[str, str]:
    """The report's figures as inline SVG strings."""
    ev = run.evaluation
    out = {}
    cal = ev["calibration"]
    fig, ax = plt.subplots(figsize=(5, 4))
    top = float(max(cal["predicted"].max(), cal["observed"].max(), 0.05)) * 1.1
    ax.plot([0, top], [0, top], color="#999", lw=1, ls="--", label="perfect")
    ax.plot(cal["predicted"], cal["observed"], marker="o", color="#1f6feb", label="model")
    ax.set(xlabel="predicted probability", ylabel="observed opportunity rate", title="Calibration (test)")
    ax.legend()
    out["calibration"] = _svg(fig)

    lift = ev["lift"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.bar(lift["decile"].astype(str), lift["lift"], color="#1f6feb")
    ax.axhline(1, color="#999", lw=1, ls="--")
    ax.set(xlabel="score decile (10 = highest)", ylabel="lift over base rate", title="Lift by decile (test)")
    out["lift"] = _svg(fig)

    c = ev["cutoffs"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(c["cutoff"], c["precision"], marker="o", color="#1f6feb", label="precision")
    ax.plot(c["cutoff"], c["recall"], marker="s", color="#2da44e", label="recall")
    ax.set(xlabel="cutoff", ylabel="share", title="Precision, recall and volume by cutoff")
    ax2 = ax.twinx()
    ax2.bar(c["cutoff"], c["mqas_per_date"], width=3, alpha=0.2, color="#888", label="MQAs per date")
    ax2.set_ylabel("MQAs per as-of date")
    ax.legend(loc="upper left")
    out["cutoffs"] = _svg(fig)

    imp = run.importance.head(20)[::-1]
    fig, ax = plt.subplots(figsize=(9, 6))
    labels = [f"{feature_spec(n, run.bundle.settings).description} ({family_of(n)})" for n in imp.index]
    ax.barh(labels, imp.values, color="#1f6feb")
    ax.set(xlabel="mean |SHAP| (log-odds)", title="Top 20 drivers")
    out["importance"] = _svg(fig)
    return out


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
    )
    fp = t["fingerprint"]
    tables = [f"{n} {v['rows']:,}" for n, v in fp.items() if isinstance(v, dict)]
    meaning = " ".join(score_doc.split("**")[1].split()) if "**" in score_doc else ""
    splits = [{"name": k, **v, "rows": t["rows"][k], "positives": t["positives"][k]} for k, v in t["split"].items()]
    search = [{"candidate": s["candidate"], "rounds": s["rounds"], "validation_roc_auc": s["validation_roc_auc"],
               "params": ", ".join(f"{k}={v}" for k, v in s.items()
                                   if k not in ("candidate", "rounds", "validation_roc_auc") and v == v)}
              for s in t["search"]]
    return env.from_string(TEMPLATE).render(
        version=b.version, trained_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        fingerprint_text="; ".join(tables) + " rows", seed=t["seed"], horizon=b.settings.horizon_days,
        m=run.evaluation["test"], cutoff=b.cutoff, tiers=sorted(b.tiers.items(), key=lambda kv: kv[1]),
        score_meaning=(meaning[0].upper() + meaning[1:]).rstrip(".") + "." if meaning else "",
        calibration=b.calibration.method, splits=splits,
        rules=run.evaluation["rules"].to_dict(orient="records"), rule_settings=train_settings.rules,
        cutoffs=run.evaluation["cutoffs"].to_dict(orient="records"), choice=run.evaluation["cutoff_choice"],
        retro=run.evaluation["retrospective"].to_dict(orient="records"), plots=plots(run),
        search=search, chosen=t["chosen_candidate"],
        versions=", ".join(f"{k} {v}" for k, v in t["versions"].items()),
    )
