"""Buying groups on a synthetic history with several simultaneous groups: detection against the truth, and the backtest.

    python benchmarks/groups_benchmark.py [--accounts 2000] [--seed 7] [--workdir /tmp/mqa-groups]

1. **Detection.** The generator (``mqa synth --buying-groups``) knows which
   buying cycle every committee member belongs to. At every default as-of
   date, the accounts with two or more true groups engaged in the window
   (90 days) are the multi-group cells; over their engaged committee members
   the detected groups are compared with the true ones by the adjusted Rand
   index (ARI): per cell, then averaged over cells (weighted by people), and
   pooled over all cells. Printed as well: the ARI with the engaged people
   who belong to no cycle (noise) counted as one "no group" class of their own.
2. **Backtest.** Two models on the same history and folds: with the
   ``buying_group`` family forced in (not on trial) and without it. Printed:
   out-of-fold ROC-AUC with its 95% interval, and the model's precision at
   the volume each seed rule flags, beside the rule's own precision.

Everything it writes goes to ``--workdir``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score


def _person_keys(ctx) -> np.ndarray:
    """Each person code's key as the truth names people: the contact id, else the email address."""
    contacts = ctx.history["contacts"]
    a = ctx.history["activities"]
    codes = ctx.activity_codes.person
    ev = ctx.activity_events
    email = ev.take(a["email"]).astype(object)
    n = int(codes.max()) + 1 if len(codes) else 0
    keys = np.empty(max(n, len(contacts)), dtype=object)
    keys[:len(contacts)] = contacts["contact_id"].to_numpy(dtype=object)
    extra = codes >= len(contacts)
    keys[codes[extra]] = email[extra]
    return keys


def detection(history, truth: pd.DataFrame, settings) -> dict:
    """ARI of the detected groups against the true ones, over the engaged people of multi-group cells."""
    from mqa.features.build import default_grid
    from mqa.features.context import Context
    from mqa.features.groups import WINDOW_DAYS, detect
    from mqa.features.snapshots import make_grid

    grid = make_grid(history, default_grid(history, settings))
    ctx = Context(history, grid, settings)
    found = detect(ctx)
    k = grid.shape[1]
    people = found.people.copy()
    people["person_key"] = _person_keys(ctx)[people["person"].to_numpy()]
    people["account_id"] = grid.accounts.to_numpy()[people["cell"].to_numpy() // k]
    people["as_of"] = grid.as_of[people["cell"].to_numpy() % k]
    # A true group is engaged at a cell when its tracked span meets the window.
    t = truth.dropna(subset=["person"]).drop_duplicates(["account_id", "person", "group"])
    m = people.merge(t[["account_id", "person", "group", "start", "end"]].rename(
        columns={"person": "person_key", "group": "true"}), on=["account_id", "person_key"], how="left")
    live = m["true"].notna() & (m["start"] <= m["as_of"]) & (m["end"] > m["as_of"] - pd.Timedelta(days=WINDOW_DAYS))
    m["true"] = m["true"].where(live)
    # A person in two true cycles at once keeps the one that started last (the one they joined last).
    m = m.sort_values(["cell", "person", "start"], na_position="first").drop_duplicates(["cell", "person"], keep="last")
    members = m[m["true"].notna()]
    multi = members.groupby("cell")["true"].nunique()
    cells = multi.index[multi >= 2]
    sel = members[members["cell"].isin(cells)]
    per_cell = sel.groupby("cell").apply(lambda c: (adjusted_rand_score(c["true"], c["group"]), len(c)),
                                         include_groups=False)
    scores = np.array([s for s, _ in per_cell]) if len(per_cell) else np.array([])
    weights = np.array([w for _, w in per_cell]) if len(per_cell) else np.array([])
    pooled = adjusted_rand_score(sel["cell"].astype(str) + ":" + sel["true"].astype(int).astype(str),
                                 sel["cell"].astype(str) + ":" + sel["group"].astype(str)) if len(sel) else float("nan")
    noisy = m[m["cell"].isin(cells)]
    noise = noisy.groupby("cell").apply(lambda c: adjusted_rand_score(c["true"].fillna(-1), c["group"]),
                                        include_groups=False)
    return {"cells": int(len(cells)), "accounts": int(sel["account_id"].nunique()), "people": int(len(sel)),
            "ari_mean": float(np.average(scores, weights=weights)) if len(scores) else float("nan"),
            "ari_cell_median": float(np.median(scores)) if len(scores) else float("nan"),
            "ari_pooled": float(pooled), "ari_with_noise": float(noise.mean()) if len(noise) else float("nan"),
            "exact_cells": float(np.mean(scores >= 0.999)) if len(scores) else float("nan")}


def backtest(history, settings, train) -> dict:
    """ROC-AUC and precision at the seed rules' volume: buying_group forced in, left out, and on trial (the default).

    Every other family is as the settings say (dispositions on trial in all three).
    """
    from mqa.train.pipeline import train_model

    others = tuple(f for f in train.trial_families if f != "buying_group")
    runs = (("with buying_group", train.families, others),
            ("without", tuple(f for f in train.families if f != "buying_group"), others),
            ("on trial (default)", train.families, tuple(dict.fromkeys(others + ("buying_group",)))))
    out = {}
    for name, families, trials in runs:
        t0 = time.perf_counter()
        run = train_model(history, settings=settings, train=dataclasses.replace(train, families=families,
                                                                                trial_families=trials), seed=0)
        m = run.evaluation["test"]
        rules = run.evaluation["rules"]
        tried = [t for t in run.bundle.training.get("family_trials", []) if t["family"] == "buying_group"]
        out[name] = {"roc_auc": m["roc_auc"], "low": m["roc_auc_low"], "high": m["roc_auc_high"],
                     "precision": m.get("mqa_precision"),
                     "rules": rules[["rule", "flagged", "rule_precision", "model_precision"]].to_dict(orient="records"),
                     "kept": [f for f in run.bundle.features if f.startswith("buying_group__")],
                     "trial": tried[0] if tried else None, "seconds": time.perf_counter() - t0}
    return out


def main(argv=None) -> int:
    from mqa.features.config import config_from
    from mqa.features.history import read_history
    from mqa.features.synth import PRODUCT_LINE_PREFIXES, BuyingGroupParams, SynthParams, generate_history
    from mqa.train.settings import train_settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workdir", default="/tmp/mqa-groups")
    ap.add_argument("--no-backtest", action="store_true")
    args = ap.parse_args(argv)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    params = SynthParams(buying_groups=BuyingGroupParams(enabled=True))
    tables, truth = generate_history(args.accounts, seed=args.seed, params=params, with_truth=True)
    config = config_from({"topics": {"url_prefixes": dict(PRODUCT_LINE_PREFIXES)}})
    history = read_history(tables, config=config)
    print(f"history: {args.accounts:,} accounts (seed {args.seed}, --buying-groups), "
          f"{len(history['activities']):,} activities, {history['activities']['topic'].notna().mean():.1%} with a topic, "
          f"{len(history['opportunity_contacts']):,} contact roles; {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    d = detection(history, truth, config.features)
    print(f"detection ({time.perf_counter() - t0:.1f} s): {d['cells']:,} account-dates with 2+ true groups engaged "
          f"({d['accounts']:,} accounts, {d['people']:,} person-dates)")
    print(f"  adjusted Rand index: {d['ari_mean']:.3f} (mean over account-dates, weighted by people; median "
          f"{d['ari_cell_median']:.3f}; pooled {d['ari_pooled']:.3f}); exact on {d['exact_cells']:.0%} of them; "
          f"with the engaged non-members as a class of their own {d['ari_with_noise']:.3f}")
    if args.no_backtest:
        return 0
    b = backtest(history, config.features, train_settings(config))
    for name, r in b.items():
        rules = "; ".join(f"{x['rule']}: {x['flagged']:,} flagged, rule {x['rule_precision']:.2%}, model "
                          f"{x['model_precision']:.2%}" for x in r["rules"])
        trial = r["trial"]
        said = (f"; trial: {trial['roc_auc_with']:.4f} with, {trial['roc_auc_without']:.4f} without ({trial['gain']:+.4f}),"
                f" {'kept' if trial['kept'] else 'left out'}") if trial else ""
        print(f"backtest {name}: ROC-AUC {r['roc_auc']:.3f} [{r['low']:.3f} to {r['high']:.3f}]; {rules} "
              f"({len(r['kept'])} buying_group features{said}; {r['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
