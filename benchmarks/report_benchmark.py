"""How long `mqa report` takes for thousands of MQAs (issue target: 2,000 MQA pages in under a minute).

Steps (everything under --workdir, reused when present):

1. a synthetic history of --accounts accounts (seed --seed) to report on;
2. a model trained on the README demo history (2,000 accounts, seed 7);
3. `mqa predict` at two as-of dates two weeks apart (so `became_mqa` is known);
4. `mqa report --only-mqa` timed end to end as a command (start-up, reading the
   history and the scores, rendering, writing), then the same in-process
   split into read / render / write.

Usage::

    python benchmarks/report_benchmark.py --accounts 10000
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path


def run(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--workdir", default="/tmp/mqa_report_bench")
    args = parser.parse_args()
    mqa = [sys.executable, "-m", "mqa"]
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    data, demo, model = work / f"history-{args.accounts}-{args.seed}", work / "demo", work / "model"
    if not data.exists():
        run(mqa + ["synth", "--out", str(data), "--accounts", str(args.accounts), "--seed", str(args.seed)])
    if not model.exists():
        if not demo.exists():
            run(mqa + ["synth", "--out", str(demo), "--accounts", "2000", "--seed", "7"])
        run(mqa + ["train", "--data", str(demo), "--out", str(model), "--no-mlflow"])
    before, scores = work / "before.parquet", work / "scores.parquet"
    run(mqa + ["predict", "--data", str(data), "--model", str(model), "--as-of", "2026-06-16", "--out", str(before)])
    t_predict = run(mqa + ["predict", "--data", str(data), "--model", str(model), "--as-of", "2026-06-30", "--out", str(scores),
                           "--previous", str(before)])

    import pandas as pd

    s = pd.read_parquet(scores)
    n_mqa = int(s["is_mqa"].fillna(False).sum())
    out = work / "report"
    shutil.rmtree(out, ignore_errors=True)
    t_cmd = run(mqa + ["report", "--scores", str(scores), "--earlier", str(before), "--data", str(data), "--out", str(out),
                       "--only-mqa"])
    pages = len(list((out / "accounts").iterdir()))

    from mqa.features.history import read_history
    from mqa.predict.report import ReportSettings, read_scores, render_report, write_report

    t0 = time.perf_counter()
    history = read_history(data, purpose="predict")
    frame = read_scores([scores, before])
    t1 = time.perf_counter()
    report = render_report(frame, history, ReportSettings(), only_mqa=True)
    t2 = time.perf_counter()
    shutil.rmtree(out)
    write_report(report, out)
    t3 = time.perf_counter()
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())

    print(f"history: {args.accounts:,} accounts (seed {args.seed}); scores at 2026-06-30: {len(s):,} rows, {n_mqa:,} MQAs "
          f"(predict took {t_predict:.1f} s)")
    print(f"mqa report --only-mqa, as a command: {pages:,} account pages + digest in {t_cmd:.1f} s "
          f"({pages / t_cmd:,.0f} pages/s end to end)")
    print(f"  in process: read history + scores {t1 - t0:.1f} s, render {t2 - t1:.1f} s ({report.pages / (t2 - t1):,.0f} pages/s), "
          f"write {t3 - t2:.1f} s; {size / 1e6:.1f} MB on disk ({size / max(pages, 1) / 1e3:.0f} kB per page)")


if __name__ == "__main__":
    main()
