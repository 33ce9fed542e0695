"""A yardstick for the model: a plain LightGBM on windowed counts, on the same history and the same backtest folds.

The plain model is what a data scientist would build in an afternoon:
activity counts by type over 7, 30 and 90 days, distinct people engaged over
30 and 90 days, and the intent maxima, into LightGBM with its default
parameters (100 trees of 31 leaves), trained on **every** training row of
each fold (no early stopping, no calibration, no search). mqa's figures are
its own backtest's out-of-fold predictions; the yardstick is fitted and judged
on exactly the same fold rows. ROC-AUC within each fold, averaged by the
folds' positives, with 95% intervals from the same bootstrap by account, and
the paired margin.

    python benchmarks/yardstick.py --accounts 2000 --seed 7     # the README demo's history
    python benchmarks/yardstick.py --data DIR                   # any history folder

Prints one table; writes nothing but the generated history under --workdir.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from mqa.features.engagement import TYPES
from mqa.features.files import write_history
from mqa.features.history import read_history
from mqa.features.synth import generate_history
from mqa.train import baselines as bl
from mqa.train.pipeline import train_model

PLAIN = ([f"engagement__{t}_{d}d" for t in TYPES for d in (7, 30, 90)]
         + ["engagement__contacts_engaged_30d", "engagement__contacts_engaged_90d",
            "intent__max_score_28d", "intent__relevant_max_score_28d"])


def plain_oof(labeled: pd.DataFrame, backtest, seed: int) -> np.ndarray:
    """The plain model's out-of-fold raw scores, in the order of ``TrainingRun.test_rows``."""
    y = labeled["label"].to_numpy(dtype=float)
    X = labeled[PLAIN].to_numpy(dtype=float)
    out = []
    for f in backtest.folds:
        train = labeled["as_of"].isin(f.train).to_numpy()
        test = labeled["as_of"].isin(f.test).to_numpy()
        model = lgb.LGBMClassifier(random_state=seed, verbosity=-1, n_jobs=2).fit(X[train], y[train])
        out.append(model.predict(X[test], raw_score=True))
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a history folder (default: generate a synthetic one)")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7: the README demo)")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument("--workdir", default=tempfile.gettempdir())
    args = parser.parse_args()

    if args.data:
        folder = Path(args.data)
    else:
        folder = Path(args.workdir) / f"mqa-yardstick-{args.accounts}-{args.seed}"
        if not folder.exists():
            write_history(generate_history(n_accounts=args.accounts, seed=args.seed), folder)
    history = read_history(folder)
    t0 = time.perf_counter()
    run = train_model(history, seed=args.train_seed)
    t_mqa = time.perf_counter() - t0
    t0 = time.perf_counter()
    plain = plain_oof(run.labeled, run.backtest, args.train_seed)
    t_plain = time.perf_counter() - t0

    rows = run.test_rows
    y = rows["label"].to_numpy(dtype=float)
    fold = rows["fold"].to_numpy()
    w = np.vstack([np.ones((1, len(rows))), bl.account_weights(rows["account_id"], bl.BOOTSTRAP, args.train_seed)])
    ours = bl.fold_auc(y, rows["raw"].to_numpy(), w, fold)
    theirs = bl.fold_auc(y, plain, w, fold)

    def ci(a):
        lo, hi = np.nanquantile(a[1:], [0.025, 0.975])
        return f"{a[0]:.4f} [{lo:.4f} to {hi:.4f}]"

    print(f"history {folder}: {len(history['accounts']):,} accounts; backtest {len(run.backtest.folds)} folds, "
          f"{len(rows):,} out-of-fold rows, {int(y.sum()):,} positives from "
          f"{rows.loc[rows['label'] == 1, 'account_id'].nunique():,} accounts")
    print(f"  mqa (backtest, refit per fold)          ROC-AUC {ci(ours)}   ({t_mqa:.1f} s incl. final refit and evaluation)")
    print(f"  plain LightGBM on windowed counts       ROC-AUC {ci(theirs)}   ({t_plain:.1f} s)")
    print(f"  margin mqa - plain                      {ci(ours - theirs)}")
    for f in sorted(np.unique(fold)):
        at = fold == f
        a = bl.weighted_auc(y[at], rows["raw"].to_numpy()[at], np.ones((1, at.sum())))[0]
        b = bl.weighted_auc(y[at], plain[at], np.ones((1, at.sum())))[0]
        print(f"  fold {f}: mqa {a:.4f}, plain {b:.4f}")


if __name__ == "__main__":
    main()
