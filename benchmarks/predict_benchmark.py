"""Benchmark of batch scoring and exact explanations, and of model size against explanation speed.

    python benchmarks/predict_benchmark.py [--accounts 20000] [--rows 200000] [--seed 0] [--workdir DIR] [--repeat 3]

1. Generates a synthetic history (``synth.generate_history``) as Parquet in
   ``--workdir`` (default ``/tmp/mqa-predict-bench``; reused while the
   arguments and ``features/synth/`` are unchanged), builds its feature rows
   at the default grid (accounts x as-of dates every 14 days) and trains the
   project's model on them with ``train_model`` (the default search). Building
   features for 200,000 distinct accounts in one history does not fit this
   machine, so ``--rows`` real feature rows are sampled (fixed seed) from that
   grid, each row standing for one account to score.
2. Times, on those rows, each mode in its own child process (best of
   ``--repeat``; peak RSS of the child from ``os.wait4``), in chunks of
   20,000 rows as ``predict/batch.py`` does, feature building excluded:
   (a) scoring only: ``encoding.matrix``, raw score, ``predict_raw``;
   (b) scoring and explanations as the batch job: contributions
       (LightGBM ``pred_contrib``), ``predict_raw`` of their sum, reasons JSON,
       family contributions;
   (c) the same contributions through ``shap.TreeExplainer(booster,
       model_output="raw")``, checked against (b)'s contributions.
3. Model-size study on the same history and time split: single-candidate
   ``train_model`` runs over a grid of leaves x depth (early stopping as the
   project does) plus a 300-tree depth-10 reference without early stopping;
   out-of-time ROC-AUC against explanation and scoring speed on 50,000 rows.
4. Prints a summary: accounts/s, peak RSS, the 5,000 accounts/s target and
   the recommended model size (fastest explanations within 0.005 AUC of the best).

See ``benchmarks/README.md`` for what each timing includes.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

CHUNK = 20_000
STUDY_ROWS = 50_000
TARGET_EXPLAINED_PER_S = 5_000
AUC_TOLERANCE = 0.005
THREADS = os.cpu_count() or 1

# The model-size grid (balance off, the project's other DEFAULT_PARAMS). Pruned
# from leaves {7, 15, 31, 63} x depth {3, 5, 8, none} to combinations where the
# depth does not already cap the leaves far below num_leaves.
GRID = (
    {"num_leaves": 7, "max_depth": 3},
    {"num_leaves": 7, "max_depth": 5},
    {"num_leaves": 15, "max_depth": 4},
    {"num_leaves": 15, "max_depth": 5},
    {"num_leaves": 15, "max_depth": 8},
    {"num_leaves": 31, "max_depth": 5},
    {"num_leaves": 31, "max_depth": 8},
    {"num_leaves": 63, "max_depth": 8},
    {"num_leaves": 63, "max_depth": -1},
)
# The reference of the issue: 300 trees of depth 10, no early stopping.
REFERENCE = {"num_leaves": 127, "max_depth": 10}
REFERENCE_TREES = 300


def log(msg: str = "") -> None:
    print(msg, flush=True)


def load_text() -> str:
    return "%.2f %.2f %.2f" % os.getloadavg()


# --------------------------------------------------------------------------- data and model (cached)
def data_key(n_accounts: int, seed: int) -> dict:
    import mqa.features.synth as synth

    # Every module of the generator's package, so that a change to any of them is a new history.
    source = b"".join(f.read_bytes() for f in sorted(Path(synth.__file__).parent.glob("*.py")))
    return {"accounts": n_accounts, "seed": seed, "synth_sha256": hashlib.sha256(source).hexdigest()[:16]}


def prepare(args) -> dict:
    """History, full feature rows, default model and the sampled rows; built once, reused from ``--workdir``."""
    from mqa.features.build import build_features
    from mqa.features.files import write_history
    from mqa.features.history import read_history
    from mqa.features.synth import generate_history
    from mqa.train.bundle import ModelBundle
    from mqa.train.pipeline import train_model

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    key = data_key(args.accounts, args.seed)
    tag = f"{args.accounts}-seed{args.seed}"
    hist = work / f"history-{tag}"
    marker = hist / ".complete.json"
    fresh = not (marker.exists() and json.loads(marker.read_text()) == key)
    if fresh:
        t0 = time.perf_counter()
        write_history(generate_history(args.accounts, args.seed), hist, fmt="parquet", overwrite=True)
        marker.write_text(json.dumps(key))
        log(f"generated a {args.accounts:,}-account history in {time.perf_counter() - t0:.1f} s -> {hist}")
    else:
        log(f"reusing the {args.accounts:,}-account history in {hist}")
    history = read_history(hist)

    rows_file = work / f"rows-{tag}.parquet"
    if fresh or not rows_file.exists():
        t0 = time.perf_counter()
        rows = build_features(history)
        rows.to_parquet(rows_file)
        log(f"built {len(rows):,} feature rows (default grid) in {time.perf_counter() - t0:.1f} s")
    rows = pd.read_parquet(rows_file)

    bundle_dir = work / f"bundle-{tag}"
    meta_file = work / f"bundle-{tag}.json"
    if fresh or not meta_file.exists():
        t0 = time.perf_counter()
        run = train_model(history, seed=args.seed, rows=rows)
        train_s = time.perf_counter() - t0
        run.bundle.save(bundle_dir)
        meta = {"test_roc_auc": run.evaluation["test"]["roc_auc"], "train_s": train_s,
                "search": run.search.to_dict(orient="records"),
                "chosen": int(run.bundle.training["chosen_candidate"])}
        meta_file.write_text(json.dumps(meta, default=str))
        log(f"trained the default model (search of {len(meta['search'])} candidates) in {train_s:.1f} s")
    meta = json.loads(meta_file.read_text())
    bundle = ModelBundle.load(bundle_dir)

    sample_file = work / f"sample-{tag}-{args.rows}.parquet"
    if fresh or not sample_file.exists() or sample_file.stat().st_mtime < meta_file.stat().st_mtime:
        if len(rows) < args.rows:
            raise SystemExit(f"only {len(rows):,} feature rows; lower --rows or raise --accounts")
        sample = rows.sample(args.rows, random_state=args.seed).reset_index(drop=True)
        sample[["account_id", "as_of", *bundle.features]].to_parquet(sample_file)
    return {"history": history, "rows": rows, "bundle": bundle, "bundle_dir": bundle_dir, "meta": meta,
            "sample_file": sample_file}


# --------------------------------------------------------------------------- child processes: the three modes
def chunks(rows: pd.DataFrame):
    for start in range(0, len(rows), CHUNK):
        yield rows.iloc[start:start + CHUNK].reset_index(drop=True)


def child(mode: str, args) -> None:
    """Time one mode on the sampled rows; print one JSON line. Runs in its own process."""
    from mqa.predict.explain import contributions, family_contributions, reasons
    from mqa.train.bundle import ModelBundle
    from mqa.train.model import raw_scores

    work = Path(args.workdir)
    tag = f"{args.accounts}-seed{args.seed}"
    bundle = ModelBundle.load(work / f"bundle-{tag}")
    rows = pd.read_parquet(work / f"sample-{tag}-{args.rows}.parquet")
    features = bundle.features
    out = {"mode": mode, "rows": len(rows)}
    if mode == "baseline":
        out["peak_rss_gb"] = peak_rss_gb()
        print(json.dumps(out))
        return

    def score():
        parts = dict.fromkeys(("matrix", "raw", "predict_raw"), 0.0)
        for chunk in chunks(rows):
            t0 = time.perf_counter()
            X = bundle.encoding.matrix(chunk)
            t1 = time.perf_counter()
            raw = raw_scores(bundle.booster, X)
            t2 = time.perf_counter()
            bundle.predict_raw(raw)
            t3 = time.perf_counter()
            parts["matrix"] += t1 - t0
            parts["raw"] += t2 - t1
            parts["predict_raw"] += t3 - t2
        return parts, None

    def explain():
        parts = dict.fromkeys(("matrix", "contributions", "predict_raw", "reasons", "families"), 0.0)
        kept = []
        for chunk in chunks(rows):
            t0 = time.perf_counter()
            X = bundle.encoding.matrix(chunk)
            t1 = time.perf_counter()
            contrib = contributions(bundle, X)
            t2 = time.perf_counter()
            bundle.predict_raw(contrib.sum(axis=1))
            t3 = time.perf_counter()
            reasons(chunk[features], contrib, features)
            t4 = time.perf_counter()
            family_contributions(contrib, features)
            t5 = time.perf_counter()
            for k, a, b in (("matrix", t0, t1), ("contributions", t1, t2), ("predict_raw", t2, t3),
                            ("reasons", t3, t4), ("families", t4, t5)):
                parts[k] += b - a
            kept.append(contrib)
        return parts, kept

    def shap_mode():
        import warnings

        import shap

        parts = dict.fromkeys(("explainer", "matrix", "shap_values"), 0.0)
        kept = []
        t0 = time.perf_counter()
        explainer = shap.TreeExplainer(bundle.booster, model_output="raw")
        parts["explainer"] += time.perf_counter() - t0
        for chunk in chunks(rows):
            t0 = time.perf_counter()
            X = bundle.encoding.matrix(chunk)
            t1 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values = explainer.shap_values(X)
            t2 = time.perf_counter()
            parts["matrix"] += t1 - t0
            parts["shap_values"] += t2 - t1
            kept.append(values)
        base = np.asarray(explainer.expected_value, dtype=float).ravel()
        out["shap_version"] = shap.__version__
        out["shap_expected_value"] = base.tolist()
        return parts, kept

    fn = {"score": score, "explain": explain, "shap": shap_mode}[mode]
    times, best_parts, kept = [], None, None
    for _ in range(args.repeat):
        kept = None
        gc.collect()
        t0 = time.perf_counter()
        parts, kept = fn()
        elapsed = time.perf_counter() - t0
        if not times or elapsed < min(times):
            best_parts = parts
        times.append(elapsed)
    out.update(seconds=min(times), all_seconds=times, parts=best_parts,
               trees=bundle.booster.num_trees(), threads=THREADS)
    out["peak_rss_gb"] = peak_rss_gb()
    if kept is not None:
        np.save(work / f"contrib-{mode}.npy", np.concatenate(kept))
    print(json.dumps(out))


def peak_rss_gb() -> float:
    """This process's peak resident set (VmHWM of /proc/self/status), in GB.

    Read in the child itself: ``wait4``'s ``ru_maxrss`` of a child also counts
    the parent's resident pages at fork time (Linux keeps the high-water mark
    across exec), so it would report the parent's size, not the child's.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / 1e9
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def run_child(mode: str, args) -> dict:
    """Run one mode in a child process; its JSON result, with the child's own peak RSS."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--accounts", str(args.accounts),
           "--rows", str(args.rows), "--seed", str(args.seed), "--workdir", args.workdir, "--repeat", str(args.repeat)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    text = proc.stdout.read()
    proc.stdout.close()
    if proc.wait() != 0:
        raise SystemExit(f"child {mode} failed:\n{text}")
    return json.loads(text.strip().splitlines()[-1])


# --------------------------------------------------------------------------- model-size study
def tree_stats(booster) -> dict:
    """Trees, mean and max leaves, max depth, and the TreeSHAP cost proxy sum over trees of leaves x depth^2."""
    def depth(node) -> int:
        if "leaf_index" in node or "split_index" not in node:
            return 0
        return 1 + max(depth(node["left_child"]), depth(node["right_child"]))

    info = booster.dump_model()["tree_info"]
    leaves = np.array([t["num_leaves"] for t in info])
    depths = np.array([depth(t["tree_structure"]) for t in info])
    return {"trees": len(info), "mean_leaves": float(leaves.mean()), "max_leaves": int(leaves.max()),
            "max_depth_seen": int(depths.max()), "cost_proxy": float((leaves * np.maximum(depths, 1) ** 2).sum())}


def speed(booster, X: pd.DataFrame, budget_s: float = 20.0) -> tuple[float, float, int]:
    """Accounts per second of raw scoring and of pred_contrib on ``X`` (best of 3, or 2 for slow models), all cores.

    A model whose explanations of all of ``X`` would take more than
    ``budget_s`` is explained on its first rows only (at least 5,000; the
    count is returned and printed).
    """
    def best(X, repeat, **kw):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            booster.predict(X, num_threads=THREADS, **kw)
            times.append(time.perf_counter() - t0)
        return len(X) / min(times)

    probe = best(X.iloc[:2000], 1, pred_contrib=True)
    n = int(min(len(X), max(5000, probe * budget_s)))
    repeat = 3 if len(X) / probe < 10 else 2
    return best(X, 3, raw_score=True), best(X.iloc[:n], repeat, pred_contrib=True), n


def train_reference(history, rows, seed):
    """train_model with one candidate, 300 rounds and no early stopping.

    ``fit_booster`` always adds ``lgb.early_stopping``, and LightGBM's params
    cannot switch that callback off (even at the last round it truncates the
    model to the best validation round). So, in this process only and for
    this one call, ``MAX_ROUNDS`` is set to 300 and ``lightgbm.early_stopping``
    is replaced by a callback that does nothing; both are restored after.
    """
    import lightgbm as lgb

    import mqa.train.model as model
    from mqa.train.pipeline import train_model

    saved = (model.MAX_ROUNDS, lgb.early_stopping)
    model.MAX_ROUNDS = REFERENCE_TREES
    lgb.early_stopping = lambda *a, **k: (lambda env: None)
    try:
        return train_model(history, seed=seed, rows=rows, search=({"balance": False, **REFERENCE},))
    finally:
        model.MAX_ROUNDS, lgb.early_stopping = saved


def study(prep: dict, args) -> pd.DataFrame:
    from joblib import Parallel, delayed

    from mqa.train.pipeline import train_model

    history, rows = prep["history"], prep["rows"]
    # Train first (two single-thread candidates side by side), time after, so no timing overlaps training.
    t0 = time.perf_counter()
    runs = Parallel(n_jobs=min(2, THREADS), prefer="threads")(
        delayed(train_model)(history, seed=args.seed, rows=rows, search=({"balance": False, **cand},)) for cand in GRID)
    ref = train_reference(history, rows, args.seed)
    log(f"trained {len(GRID)} grid models and the reference in {time.perf_counter() - t0:.0f} s (load {load_text()})")

    sample = pd.read_parquet(prep["sample_file"]).iloc[:STUDY_ROWS]
    table = []
    entries = [(f"{c['num_leaves']}/{c['max_depth']}", r, "early stop") for c, r in zip(GRID, runs)]
    entries.append((f"{REFERENCE['num_leaves']}/{REFERENCE['max_depth']}", ref, f"{REFERENCE_TREES} rounds"))
    default = prep["bundle"]
    chosen = prep["meta"]["search"][prep["meta"]["chosen"]]
    entries.append((f"{chosen['num_leaves']}/{chosen['max_depth']}", default, "DEFAULT SEARCH"))
    for name, run, how in entries:
        bundle = run if how == "DEFAULT SEARCH" else run.bundle
        auc = prep["meta"]["test_roc_auc"] if how == "DEFAULT SEARCH" else run.evaluation["test"]["roc_auc"]
        X = bundle.encoding.matrix(sample)
        score_s, explain_s, n = speed(bundle.booster, X)
        st = tree_stats(bundle.booster)
        table.append({"leaves/depth": name, "how": how, **st, "test_roc_auc": auc, "explained_rows": n,
                      "score_per_s": score_s, "explain_per_s": explain_s, "explain/score": score_s / explain_s})
    return pd.DataFrame(table)


# --------------------------------------------------------------------------- main
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=20_000)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", default="/tmp/mqa-predict-bench")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per mode (best is kept)")
    p.add_argument("--part", choices=("all", "modes", "study"), default="all",
                   help="the three modes, the model-size study, or both (default)")
    p.add_argument("--child", choices=("baseline", "score", "explain", "shap"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(args.child, args)

    import lightgbm
    import shap

    load_start = load_text()
    t_start = time.perf_counter()
    log(f"mqa predict benchmark: {args.accounts:,}-account synthetic history, {args.rows:,} rows, seed {args.seed}")
    log(f"machine: {os.cpu_count()} cores; LightGBM {lightgbm.__version__}, shap {shap.__version__}, "
        f"pandas {pd.__version__}, numpy {np.__version__}; load average at start {load_start}")
    prep = prepare(args)
    meta = prep["meta"]
    booster = prep["bundle"].booster
    n_rows = len(prep["rows"])
    log(f"rows to score: {args.rows:,} real feature rows sampled (seed {args.seed}) from the {n_rows:,} rows of "
        f"build_features over the default grid ({prep['rows']['account_id'].nunique():,} accounts x "
        f"{prep['rows']['as_of'].nunique()} as-of dates); each row stands for one account to score "
        f"(building features for {args.rows:,} distinct accounts in one history does not fit this machine)")
    chosen = meta["search"][meta["chosen"]]
    st = tree_stats(booster)
    log(f"default model (train_model, default search): candidate {meta['chosen']} {chosen}, {st['trees']} trees, "
        f"mean leaves {st['mean_leaves']:.1f}, max depth {st['max_depth_seen']}, {len(prep['bundle'].features)} features, "
        f"test ROC-AUC {meta['test_roc_auc']:.4f}")

    res, rate, same, diff = None, None, None, None
    if args.part in ("all", "modes"):
        res, rate, same, diff = modes(args, load_text)
    table = None
    if args.part in ("all", "study"):
        table = run_study(prep, args)
    summary(args, prep, st, chosen, res, rate, same, diff, table, load_start, t_start)


def modes(args, load_text):
    work = Path(args.workdir)
    # ---- the three modes, each in its own process
    log(f"\n== Scoring {args.rows:,} accounts in chunks of {CHUNK:,} (feature building excluded; best of {args.repeat};"
        f" {THREADS} threads) ==")
    res = {m: run_child(m, args) for m in ("baseline", "score", "explain", "shap")}
    lgb_c = np.load(work / "contrib-explain.npy", mmap_mode="r")
    shap_v = np.load(work / "contrib-shap.npy", mmap_mode="r")
    base = np.asarray(res["shap"]["shap_expected_value"])
    diff = max(float(np.max(np.abs(shap_v - lgb_c[:, :-1]))), float(np.max(np.abs(lgb_c[:, -1] - base))))
    same = diff <= 1e-6
    del lgb_c, shap_v
    for f in ("contrib-explain.npy", "contrib-shap.npy"):
        (work / f).unlink()
    rate = {m: args.rows / res[m]["seconds"] for m in ("score", "explain", "shap")}
    contrib_only = args.rows / res["explain"]["parts"]["contributions"]
    shap_only = args.rows / res["shap"]["parts"]["shap_values"]
    log(f"{'mode':<46}{'accounts/s':>12}{'best s':>9}{'peak RSS GB':>13}")
    labels = {"baseline": "baseline: imports + bundle + rows loaded", "score": "(a) scoring only",
              "explain": "(b) scoring + explanations (batch job)", "shap": "(c) shap.TreeExplainer contributions"}
    for m, r in res.items():
        a = f"{rate[m]:>12,.0f}{r['seconds']:>9.2f}" if m in rate else f"{'':>12}{'':>9}"
        log(f"{labels[m]:<46}{a}{r['peak_rss_gb']:>13.2f}")
    fmt = lambda parts: ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())  # noqa: E731
    log(f"  (a) parts: {fmt(res['score']['parts'])}")
    log(f"  (b) parts: {fmt(res['explain']['parts'])}")
    log(f"  (c) parts: {fmt(res['shap']['parts'])}  (matrix + shap_values only: no scores, reasons or families)")
    log(f"  contributions alone: LightGBM pred_contrib {contrib_only:,.0f}/s, shap.TreeExplainer {shap_only:,.0f}/s "
        f"({'shap' if shap_only > contrib_only else 'LightGBM'} faster by {max(shap_only, contrib_only) / min(shap_only, contrib_only):.2f}x);"
        f" explanation costs {res['explain']['parts']['contributions'] / res['score']['parts']['raw']:.0f}x the raw score")
    log(f"  shap {res['shap']['shap_version']} vs LightGBM pred_contrib: "
        + ("same numbers (max |difference| %.1e over all rows, base value included)" % diff if same
           else f"DIFFERENT: max |difference| {diff:.3e}")
        + "; for a LightGBM Booster, TreeExplainer(model_output='raw') calls Booster.predict(pred_contrib=True) itself")
    log(f"load average after the modes: {load_text()}")
    return res, rate, same, diff


def run_study(prep, args):
    work = Path(args.workdir)
    if True:
        log(f"\n== Model size: out-of-time ROC-AUC against speed ({STUDY_ROWS:,} rows, {THREADS} threads) ==")
        table = study(prep, args)
        best = table["test_roc_auc"].max()
        table["within"] = table["test_roc_auc"] >= best - AUC_TOLERANCE
        table = table.sort_values("explain_per_s", ascending=False).reset_index(drop=True)
        log(f"{'leaves/depth':<13}{'training':<15}{'trees':>6}{'leaves':>7}{'depth':>6}{'cost proxy':>11}{'test AUC':>10}"
            f"{'score/s':>11}{'explain/s':>11}{'ratio':>7}  mark")
        for _, r in table.iterrows():
            mark = ("BEST AUC " if r["test_roc_auc"] == best else "") + (f"within {AUC_TOLERANCE}" if r["within"] else "")
            log(f"{r['leaves/depth']:<13}{r['how']:<15}{r['trees']:>6}{r['mean_leaves']:>7.1f}{r['max_depth_seen']:>6}"
                f"{r['cost_proxy'] / 1e3:>10.0f}k{r['test_roc_auc']:>10.4f}{r['score_per_s']:>11,.0f}"
                f"{r['explain_per_s']:>11,.0f}{r['explain/score']:>7.0f}  {mark}")
        log("(leaves: mean per tree; depth: deepest tree; cost proxy: sum over trees of leaves x depth^2; "
            "ratio: explanation time / scoring time)")
        for _, r in table[table["explained_rows"] < STUDY_ROWS].iterrows():
            log(f"  {r['leaves/depth']} ({r['how']}): explanations timed on its first {r['explained_rows']:,} rows "
                f"(all {STUDY_ROWS:,} would take over 20 s per run)")
        table.to_csv(work / "model_size.csv", index=False)
        log(f"load average after the study: {load_text()}")
    return table


def summary(args, prep, st, chosen, res, rate, same, diff, table, load_start, t_start):
    work = Path(args.workdir)
    # ---- summary
    log("\n== Summary ==")
    if res is None:
        log("(modes not run in this invocation: --part study)")
    else:
        log(f"(a) scoring only             {rate['score']:>10,.0f} accounts/s   peak RSS {res['score']['peak_rss_gb']:.2f} GB")
        log(f"(b) scoring + explanations   {rate['explain']:>10,.0f} accounts/s   peak RSS {res['explain']['peak_rss_gb']:.2f} GB"
        f"   (baseline process {res['baseline']['peak_rss_gb']:.2f} GB)")
        log(f"(c) shap.TreeExplainer only  {rate['shap']:>10,.0f} accounts/s   ({'same numbers' if same else f'max diff {diff:.2e}'})")
        ok = rate["explain"] >= TARGET_EXPLAINED_PER_S
        log(f"target (b) >= {TARGET_EXPLAINED_PER_S:,} accounts/s with explanations for every account: "
        f"{'MET' if ok else 'MISSED'} ({rate['explain']:,.0f}/s, default model {st['trees']} trees, "
            f"{chosen['num_leaves']} leaves, depth {chosen['max_depth']})")
    if table is not None:
        rec = table[table["within"] & (table["how"] != "DEFAULT SEARCH")].iloc[0]
        log(f"recommended size (fastest explanations within {AUC_TOLERANCE} AUC of the best "
            f"{table['test_roc_auc'].max():.4f}): leaves/depth {rec['leaves/depth']} -> {rec['trees']} trees, "
            f"AUC {rec['test_roc_auc']:.4f}, {rec['explain_per_s']:,.0f} explanations/s")
    log(f"load average at start {load_start}, at end {load_text()}; total {time.perf_counter() - t_start:.0f} s")
    (work / f"results-{args.part}.json").write_text(json.dumps({
        "rates": rate, "res": res, "same": same, "max_diff": diff, "load_start": load_start, "load_end": load_text(),
        "table": None if table is None else table.to_dict(orient="records")}, default=str, indent=1))


if __name__ == "__main__":
    main()
