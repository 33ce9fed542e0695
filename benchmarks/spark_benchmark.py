"""Benchmark of the Spark engine (local mode) against the single-machine path, on the same data.

    python benchmarks/spark_benchmark.py [--accounts 100000] [--train-accounts 5000] [--features-accounts 20000]
        [--seed 0] [--as-of 2026-06-16] [--workdir /tmp/mqa_spark_bench] [--master local[2]]
        [--driver-memory 6g] [--partitions N] [--part all|predict|features] [--skip-single]

1. Generates (or reuses, while the arguments and ``features/synth/`` are
   unchanged) synthetic histories with ``synth.generate_history``: the scored
   one (``--accounts``), a smaller one with the same seed to train on
   (``--train-accounts``: training is not what is measured here) and one for
   the feature comparison (``--features-accounts``). A model is trained once
   on the small history with ``train_model`` (the default search).
2. Scoring (``--part predict``): in two child processes, on the same history
   and as-of date,
   - single machine: ``read_history`` then ``predict_history``;
   - Spark local mode: ``read_spark_history`` (read, check, match, settle
     duplicates) then ``spark_predict`` collected with ``to_pandas``.
   Both outputs are written to the work folder and compared row for row.
3. Features (``--part features``): the same two ways with ``build_features`` /
   ``spark_features`` at the default as-of grid, on ``--features-accounts``.

Memory: the single-machine child reports its own peak (``VmHWM``). The Spark
child samples, every 0.2 s, the resident memory of itself (the Python driver),
the JVM it starts (driver and executor in local mode) and every Python worker
the JVM forks; printed are each one's peak, the largest single worker, and the
peak of the sum (an upper bound: forked workers share pages). Everything is
written under ``--workdir`` only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def log(msg: str = "") -> None:
    print(msg, flush=True)


def load_text() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


def peak_rss_gb() -> float:
    """This process's peak resident set (VmHWM), in GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


# --------------------------------------------------------------------------- data and model (cached)
def history_dir(work: Path, accounts: int, seed: int) -> Path:
    return work / f"history-{accounts}-seed{seed}"


def ensure_history(work: Path, accounts: int, seed: int) -> Path:
    """The synthetic history, generated in a child process unless an identical one is already there."""
    import mqa.features.synth as synth

    folder = history_dir(work, accounts, seed)
    # Every module of the generator's package, so that a change to any of them is a new history.
    source = b"".join(f.read_bytes() for f in sorted(Path(synth.__file__).parent.glob("*.py")))
    key = {"accounts": accounts, "seed": seed, "synth_sha256": hashlib.sha256(source).hexdigest()[:16]}
    marker = folder / ".complete.json"
    if marker.exists() and json.loads(marker.read_text()) == key:
        log(f"reusing the {accounts:,}-account history in {folder}")
        return folder
    result = run_child("generate", {"accounts": accounts, "seed": seed, "folder": str(folder)})
    marker.write_text(json.dumps(key))
    log(f"generated a {accounts:,}-account history in {result['seconds']:.0f} s (peak {result['peak_gb']:.1f} GB): "
        + ", ".join(f"{k} {v:,}" for k, v in result["rows"].items()))
    return folder


def ensure_model(work: Path, history: Path, accounts: int, seed: int) -> Path:
    folder = work / f"model-{accounts}-seed{seed}"
    marker = work / f"model-{accounts}-seed{seed}.json"
    key = json.loads((history / ".complete.json").read_text())
    if marker.exists() and json.loads(marker.read_text()).get("history") == key and (folder / "manifest.json").exists():
        log(f"reusing the model in {folder}")
        return folder
    result = run_child("train", {"history": str(history), "out": str(folder), "seed": seed})
    marker.write_text(json.dumps({"history": key, **result}))
    log(f"trained a model on {accounts:,} accounts in {result['seconds']:.0f} s -> {folder}")
    return folder


# --------------------------------------------------------------------------- child processes
def run_child(task: str, params: dict) -> dict:
    """Run ``task`` in a fresh interpreter; its last stdout line is a JSON result."""
    cmd = [sys.executable, str(HERE), "_child", task, json.dumps(params)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"child {task} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


class TreeSampler:
    """Peak resident memory of this process, the JVM it started and the JVM's Python workers."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self.me = psutil.Process()
        self.interval = interval
        self.peak = {"driver_python": 0, "jvm": 0, "worker_max": 0, "workers_sum": 0, "total": 0}
        self.workers_seen: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        import psutil

        while not self._stop.is_set():
            try:
                now = {"driver_python": self.me.memory_info().rss, "jvm": 0, "worker_max": 0, "workers_sum": 0}
                for child in self.me.children(recursive=True):
                    try:
                        rss = child.memory_info().rss
                        name = child.name()
                    except psutil.Error:
                        continue
                    if name == "java":
                        now["jvm"] += rss
                    elif name.startswith("python"):
                        self.workers_seen.add(child.pid)
                        now["workers_sum"] += rss
                        now["worker_max"] = max(now["worker_max"], rss)
                now["total"] = now["driver_python"] + now["jvm"] + now["workers_sum"]
                for key, value in now.items():
                    self.peak[key] = max(self.peak[key], value)
            except psutil.Error:
                pass
            self._stop.wait(self.interval)

    def result(self) -> dict:
        return {**{k: v / 1024**3 for k, v in self.peak.items()}, "workers": len(self.workers_seen)}


def child(task: str, p: dict) -> dict:
    import pandas as pd

    if task == "generate":
        from mqa.features.files import write_history
        from mqa.features.synth import generate_history

        t0 = time.perf_counter()
        tables = generate_history(p["accounts"], p["seed"])
        write_history(tables, p["folder"], fmt="parquet", overwrite=True)
        return {"seconds": time.perf_counter() - t0, "peak_gb": peak_rss_gb(), "rows": {k: len(v) for k, v in tables.items()}}

    if task == "train":
        from mqa.features.history import read_history
        from mqa.train.pipeline import train_model

        t0 = time.perf_counter()
        run = train_model(read_history(p["history"]), seed=p["seed"])
        run.bundle.save(p["out"])
        return {"seconds": time.perf_counter() - t0, "test_roc_auc": run.evaluation["test"]["roc_auc"]}

    if task in ("single-predict", "single-features"):
        from mqa.features.build import build_features
        from mqa.features.history import read_history
        from mqa.predict import load_model
        from mqa.predict.batch import predict_history

        t0 = time.perf_counter()
        history = read_history(p["history"], purpose="predict" if task == "single-predict" else "train")
        t1 = time.perf_counter()
        if task == "single-predict":
            out = predict_history(history, load_model(p["model"]), pd.Timestamp(p["as_of"]), progress=False)
        else:
            out = build_features(history)
        t2 = time.perf_counter()
        out.to_parquet(p["out"], index=False)
        return {"load_s": t1 - t0, "compute_s": t2 - t1, "total_s": t2 - t0, "rows": len(out),
                "activities": len(history["activities"]), "peak_gb": peak_rss_gb()}

    if task in ("spark-predict", "spark-features"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        with TreeSampler() as sampler:
            from mqa import spark as engine

            t0 = time.perf_counter()
            spark = engine.local_session(master=p["master"], driver_memory=p["driver_memory"])
            t1 = time.perf_counter()
            history = engine.read_spark_history(spark, p["history"], purpose="predict" if task == "spark-predict" else "train")
            t2 = time.perf_counter()
            if task == "spark-predict":
                result = engine.spark_predict(spark, history, p["model"], pd.Timestamp(p["as_of"]), partitions=p["partitions"])
            else:
                result = engine.spark_features(spark, history, partitions=p["partitions"])
            out = engine.to_pandas(result, history)
            t3 = time.perf_counter()
            partitions = p["partitions"] or engine.default_partitions(spark, len(history["accounts"]))
        out.to_parquet(p["out"], index=False)
        return {"session_s": t1 - t0, "load_s": t2 - t1, "compute_s": t3 - t2, "total_s": t3 - t1, "rows": len(out),
                "activities": len(history.head.tables["activities"]), "partitions": partitions,
                "driver_peak_gb": peak_rss_gb(), "memory": sampler.result()}

    if task == "compare":
        got, expected = pd.read_parquet(p["spark"]), pd.read_parquet(p["single"])
        numeric = [c for c in expected.columns if expected[c].dtype.kind == "f"]
        diff = max(((got[c] - expected[c]).abs().max() for c in numeric), default=0.0)
        try:
            pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-12)
            equal = True
        except AssertionError as exc:
            equal, diff = False, str(exc).splitlines()[0]
        return {"equal": equal, "max_abs_diff": diff if isinstance(diff, str) else float(0.0 if pd.isna(diff) else diff),
                "rows": len(expected)}
    raise SystemExit(f"unknown task {task}")


# --------------------------------------------------------------------------- the comparison
def compare_two_ways(kind: str, args, history: Path, model: Path | None, accounts: int) -> None:
    out = Path(args.workdir) / "out"
    out.mkdir(parents=True, exist_ok=True)
    base = {"history": str(history), "model": str(model) if model else None, "as_of": args.as_of}
    single_out, spark_out = out / f"{kind}-{accounts}-single.parquet", out / f"{kind}-{accounts}-spark.parquet"
    log(f"\n== {kind}: {accounts:,} accounts" + (f" at {args.as_of}" if kind == "predict" else " at the default grid")
        + f" (load average {load_text()}) ==")
    single = None
    if not args.skip_single:
        single = run_child(f"single-{kind}", {**base, "out": str(single_out)})
        log(f"single machine: load {single['load_s']:.1f} s, {kind} {single['compute_s']:.1f} s, total {single['total_s']:.1f} s "
            f"({accounts / single['total_s']:,.0f} accounts/s), {single['rows']:,} rows, "
            f"{single['activities']:,} activities; peak RSS {single['peak_gb']:.2f} GB")
    spark = run_child(f"spark-{kind}", {**base, "out": str(spark_out), "master": args.master,
                                        "driver_memory": args.driver_memory, "partitions": args.partitions})
    m = spark["memory"]
    log(f"Spark {args.master}, driver memory {args.driver_memory}, {spark['partitions']} buckets: session start "
        f"{spark['session_s']:.1f} s (not counted), read+check+match {spark['load_s']:.1f} s, {kind}+collect "
        f"{spark['compute_s']:.1f} s, total {spark['total_s']:.1f} s ({accounts / spark['total_s']:,.0f} accounts/s), "
        f"{spark['rows']:,} rows")
    log(f"  peak RSS: Python driver {m['driver_python']:.2f} GB, JVM {m['jvm']:.2f} GB, largest Python worker "
        f"{m['worker_max']:.2f} GB ({m['workers']} worker processes seen, together at most {m['workers_sum']:.2f} GB), "
        f"all together at most {m['total']:.2f} GB")
    if single is not None:
        same = run_child("compare", {"spark": str(spark_out), "single": str(single_out)})
        log(f"  same output as the single machine: {'yes' if same['equal'] else 'NO'} ({same['rows']:,} rows, "
            f"max |difference| over float columns {same['max_abs_diff']})")
        log(f"  ratio Spark / single machine (total wall time): {spark['total_s'] / single['total_s']:.2f}")
    log(f"load average after: {load_text()}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        print(json.dumps(child(sys.argv[2], json.loads(sys.argv[3]))), flush=True)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts in the scored history (default 100,000)")
    parser.add_argument("--train-accounts", type=int, default=5_000, help="accounts in the history the model is trained on")
    parser.add_argument("--features-accounts", type=int, default=20_000, help="accounts for the feature comparison")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--as-of", default="2026-06-16T00:00:00Z")
    parser.add_argument("--workdir", default="/tmp/mqa_spark_bench")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="6g")
    parser.add_argument("--partitions", type=int, default=None, help="buckets of accounts (default: mqa's)")
    parser.add_argument("--part", choices=("all", "predict", "features"), default="all")
    parser.add_argument("--skip-single", action="store_true", help="time only the Spark path")
    args = parser.parse_args()

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    log(f"load average at start {load_text()}; {os.cpu_count()} cores")
    if args.part in ("all", "predict"):
        train = ensure_history(work, args.train_accounts, args.seed)
        model = ensure_model(work, train, args.train_accounts, args.seed)
        scored = ensure_history(work, args.accounts, args.seed)
        compare_two_ways("predict", args, scored, model, args.accounts)
    if args.part in ("all", "features"):
        history = ensure_history(work, args.features_accounts, args.seed)
        compare_two_ways("features", args, history, None, args.features_accounts)
    log(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
