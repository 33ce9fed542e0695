"""The monitoring page (``monitor.html``) and file (``monitor.json``) of :class:`~mqa.predict.monitor.Monitoring`.

One self-contained HTML page, rendered with Jinja2 (autoescaped) and a pygal
trend chart as inline SVG, like the reps' reports: nothing is fetched from
the network. Both files are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pygal
from jinja2 import Environment

from mqa.features.outputs import check_output, write_text

from .monitor import PSI_RETRAIN, PSI_WATCH, SILENT_RETRAIN, SILENT_WATCH, Monitoring, top_movers
from .report import _TREND_STYLE, _svg

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mqa monitoring: model {{ m.model_version }}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2733;max-width:1100px;margin:24px auto;padding:0 20px}
h1{font-size:24px;margin-bottom:4px}h2{font-size:19px;margin-top:32px;border-bottom:1px solid #dde3ea;padding-bottom:4px}
.muted{color:#5b6b7c}table{border-collapse:collapse;margin:8px 0;font-size:14px}
th,td{padding:4px 10px;border-bottom:1px solid #e6ebf0;text-align:right}th:first-child,td:first-child{text-align:left}
.verdict{font-size:20px;padding:10px 14px;border-radius:8px;display:inline-block}
.ok{background:#e6f4ea}.watch{background:#fff8e6}.retrain{background:#fdecea}.note{background:#f3f6f9;padding:8px 12px}
.plot svg{width:100%;max-width:720px;height:auto}
</style></head><body>
<h1>Monitoring model {{ m.model_version }}</h1>
<p class="muted">Latest run{{ "s" if m.runs|length > 1 }}: {{ run_dates }}; horizon {{ horizon }} days; cutoff {{ cutoff }}.</p>
<p class="verdict {{ m.verdict }}">Verdict: <b>{{ m.verdict }}</b></p>
{% if m.reasons %}<ul>{% for r in m.reasons %}<li>{{ r }}</li>{% endfor %}</ul>{% else %}<p>No drift beyond the thresholds.</p>{% endif %}
{% for n in m.notes %}<p class="note">{{ n }}.</p>{% endfor %}

<h2>Drift: the latest run against the training rows</h2>
<p>Score: PSI <b>{{ f2(m.score_psi) }}</b> (below {{ psi_watch }} stable, {{ psi_watch }} to {{ psi_retrain }} watch, above {{ psi_retrain }} retrain).</p>
{% if m.families|length %}
<table><tr><th>family</th><th>features</th><th>beyond PSI {{ psi_retrain }}</th><th>largest PSI</th><th>all zero or missing: training</th><th>latest run</th></tr>
{% for f in families %}<tr><td>{{ f.family }}</td><td>{{ f.features }}</td><td>{{ f.moved }}</td><td>{{ f2(f.max_psi) }}</td><td>{{ pct(f.silent_train) }}</td><td>{{ pct(f.silent_now) }}</td></tr>{% endfor %}</table>
<p class="muted">A family whose features are all zero or missing for {{ silent_watch_pct }} more of the accounts than in training is watched, {{ silent_retrain_pct }} more: a source stopped feeding. A family with half of its features (at least two) beyond PSI {{ psi_retrain }} moved together.</p>
<h3>Top movers</h3><ul>{% for t in movers %}<li>{{ t }}</li>{% endfor %}</ul>
<table><tr><th>feature</th><th>PSI</th><th>missing: training</th><th>now</th><th>zero: training</th><th>now</th></tr>
{% for d in drift %}<tr><td>{{ d.description }} <span class="muted">({{ d.feature }})</span></td><td>{{ f2(d.psi) }}</td><td>{{ pct(d.missing_train) }}</td><td>{{ pct(d.missing_now) }}</td><td>{{ pct(d.zero_train) }}</td><td>{{ pct(d.zero_now) }}</td></tr>{% endfor %}</table>
{% endif %}

<h2>Expected performance of the latest run</h2>
{% set e = m.expected %}
<table><tr><th>figure</th><th>expected</th><th>{{ level }} interval</th></tr>
<tr><td>opportunities among the {{ num(e.mqas) }} MQAs</td><td>{{ f1(e.expected_opportunities) }}</td><td>{{ f1(e.opportunities_low) }} to {{ f1(e.opportunities_high) }}</td></tr>
<tr><td>precision at the cutoff</td><td>{{ pct(e.expected_precision) }}</td><td>{{ pct(e.precision_low) }} to {{ pct(e.precision_high) }}</td></tr>
<tr><td>recall at the cutoff</td><td>{{ pct(e.expected_recall) }}</td><td>{{ pct(e.recall_low) }} to {{ pct(e.recall_high) }}</td></tr></table>
<p class="muted">From the calibrated probabilities of {{ num(e.accounts) }} scored accounts, each opening an opportunity independently with its probability: intervals from {{ num(e.draws) }} simulated outcomes (seed {{ e.seed }}).</p>

{% if m.dispositions %}{% set d = m.dispositions %}
<h2>Dispositions: what sales made of the MQAs</h2>
<p>{{ d.verdict }}</p>
<table><tr><th>tier</th><th>MQAs</th><th>verdicts</th><th>accepted</th><th>rejected</th><th>recycled</th></tr>
{% for r in d.by_tier %}<tr><td>{{ r.tier }}</td><td>{{ num(r.mqas) }}</td><td>{{ num(r.dispositioned) }}</td><td>{{ pct(r.acceptance_rate) }}</td><td>{{ num(r.rejected) }}</td><td>{{ num(r.recycled) }}</td></tr>{% endfor %}</table>
<p>Against the {{ f1(d.sla_hours) }}-hour SLA: median {{ f1(d.median_hours_to_disposition) }} hours to the first verdict and {{ f1(d.median_hours_to_touch) }} to the first sales touch; {{ num(d.late) }} late or missing, {{ num(d.untouched|length) }} untouched.{% if d.reasons %} Top reason for refusals: {{ d.reasons[0].reason }} ({{ num(d.reasons[0].count) }}).{% endif %}</p>
<p class="muted">Every figure, by band and owner too: <code>mqa dispositions --store ... --data ...</code> (docs/monitoring.md).</p>
{% endif %}

<h2>Matured cohorts</h2>
{% if cohorts %}
<div class="plot">{{ chart|safe }}</div>
<table><tr><th>as-of</th><th>model</th><th>scored</th><th>MQAs</th><th>precision</th><th>expected</th><th>recall</th><th>ROC-AUC</th><th>opportunities: expected</th><th>realised</th><th>among MQAs: expected</th><th>realised</th></tr>
{% for c in cohorts %}<tr><td>{{ c.as_of.strftime("%Y-%m-%d") }}</td><td>{{ c.model_version }}</td><td>{{ num(c.scored) }}</td><td>{{ num(c.mqas) }}</td><td>{{ pct(c.precision) }}</td><td>{{ pct(c.expected_precision) }}</td><td>{{ pct(c.recall) }}</td><td>{{ f3(c.roc_auc) }}</td><td>{{ f1(c.expected) }}</td><td>{{ num(c.realised) }}</td><td>{{ f1(c.expected_mqa) }}</td><td>{{ num(c.realised_mqa) }}</td></tr>{% endfor %}</table>
<h3>Per month of as-of</h3>
<table><tr><th>month</th><th>scored</th><th>MQAs</th><th>precision</th><th>recall</th><th>ROC-AUC</th><th>expected</th><th>realised</th></tr>
{% for c in months %}<tr><td>{{ c.month }}</td><td>{{ num(c.scored) }}</td><td>{{ num(c.mqas) }}</td><td>{{ pct(c.precision) }}</td><td>{{ pct(c.recall) }}</td><td>{{ f3(c.roc_auc) }}</td><td>{{ f1(c.expected) }}</td><td>{{ num(c.realised) }}</td></tr>{% endfor %}</table>
<h3>Do MQAs do better?</h3>
<table><tr><th>group</th><th>rows</th><th>opportunity rate</th><th>win rate</th><th>mean amount</th><th>median days to opportunity</th></tr>
{% for r in retro %}<tr><td>{{ r.group }}</td><td>{{ num(r.rows) }}</td><td>{{ pct(r.opportunity_rate) }}</td><td>{{ pct(r.win_rate) }}</td><td>{{ num(r.mean_amount) }}</td><td>{{ f1(r.median_days_to_opportunity) }}</td></tr>{% endfor %}</table>
{% else %}<p>No stored run has matured yet, or no history was given.</p>{% endif %}
<p class="muted">What each figure means and when to retrain: docs/monitoring.md.</p>
</body></html>
"""


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def trend_svg(m: Monitoring) -> str:
    """Precision (realised and expected) and ROC-AUC of each matured run."""
    c = m.cohorts
    if len(c) < 2:
        return ""
    chart = pygal.Line(width=720, height=260, style=_TREND_STYLE, js=[], disable_xml_declaration=True, explicit_size=True,
                       range=(0, 1), legend_at_bottom=True, x_label_rotation=0, dots_size=3, truncate_label=-1)
    chart.x_labels = [f"{d:%Y-%m-%d}" for d in c["as_of"]]

    def values(col):
        return [None if _missing(v) else round(float(v), 3) for v in c[col]]

    chart.add("precision", values("precision"))
    chart.add("expected precision", values("expected_precision"))
    chart.add("recall", values("recall"))
    chart.add("ROC-AUC", values("roc_auc"))
    return _svg(chart, "monitor-trend", "Precision, expected precision, recall and ROC-AUC of each matured run")


def render_monitor(m: Monitoring, horizon_days: int, cutoff: float) -> str:
    """The monitoring page as one HTML string."""
    env = Environment(autoescape=True)
    env.globals.update(
        pct=lambda v: "-" if _missing(v) else f"{100 * v:.1f}%",
        f1=lambda v: "-" if _missing(v) else f"{v:,.1f}",
        f2=lambda v: "-" if _missing(v) else f"{v:.2f}",
        f3=lambda v: "-" if _missing(v) else f"{v:.3f}",
        num=lambda v: "-" if _missing(v) else f"{round(float(v)):,}",
    )
    return env.from_string(TEMPLATE).render(
        m=m, horizon=horizon_days, cutoff=f"{cutoff:g}", run_dates=", ".join(f"{d:%Y-%m-%d}" for d in m.runs["as_of"]),
        psi_watch=f"{PSI_WATCH:.2f}", psi_retrain=f"{PSI_RETRAIN:.2f}", silent_watch_pct=f"{SILENT_WATCH:.0%}",
        silent_retrain_pct=f"{SILENT_RETRAIN:.0%}", families=m.families.to_dict(orient="records"),
        drift=m.drift.head(30).to_dict(orient="records"), movers=top_movers(m.drift),
        level=f"{m.expected.get('level', 0.95):.0%}", cohorts=m.cohorts.to_dict(orient="records"),
        months=m.months.to_dict(orient="records"), retro=m.retrospective.to_dict(orient="records"), chart=trend_svg(m))


def write_monitor(m: Monitoring, out: str | Path, horizon_days: int, cutoff: float) -> Path:
    """Write ``monitor.html`` and ``monitor.json`` into the folder ``out`` (each atomically); return the folder.

    Raises
    ------
    OutputError
        ``out`` is a file, or the operating system refused a write.
    """
    out = check_output(out, "--out", folder=True)
    write_text(out / "monitor.json", json.dumps(m.to_dict(), indent=1, ensure_ascii=False) + "\n")
    write_text(out / "monitor.html", render_monitor(m, horizon_days, cutoff))
    return out
