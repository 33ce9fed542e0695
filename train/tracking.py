"""MLflow tracking and registry: the only module of mqa that imports mlflow.

Every training run logs its parameters, metrics, the report and plots, and
the model as an MLflow pyfunc model that scores raw feature rows; the model is
registered under a name. Promotion: the new version takes the ``champion``
alias only when it beats the current champion on rows neither was fitted on
(the backtest's out-of-fold rows newer than the champion's training data; or,
where there are too few, the champion's settings refitted on the same folds)
and beats the best transparent baseline beyond noise (unless forced);
otherwise it takes the ``challenger`` alias and the comparison is printed.

Where runs go: ``MLFLOW_TRACKING_URI`` from the environment, else
``[mlflow] tracking_uri`` from the configuration, else a SQLite store
``mlflow.db`` in the current working folder (no server needed). Nothing about
people (contact names, emails) is ever logged: the bundle and the report hold
only aggregates.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from filelock import FileLock, Timeout
from mlflow import MlflowClient

from mqa.errors import MqaError
from mqa.features.build import build_features

from .baselines import fold_auc
from .bundle import ModelBundle
from .pipeline import TrainingRun, refit_on_folds
from .settings import TrainSettings

# Batch jobs and CI logs do not want MLflow's download progress bars.
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# A tracking server that does not answer must fail in seconds, not after
# MLflow's default 120 s timeout times 7 retries with backoff (about 4 minutes).
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")

CHAMPION = "champion"
CHALLENGER = "challenger"
DEFAULT_URI = "sqlite:///mlflow.db"
LOCK_SECONDS = 900  # how long a run waits for another one logging to the same local store


class TrackingError(MqaError):
    """MLflow cannot be reached or refused a step; the message names the store and the fix."""


class ReadinessModel(mlflow.pyfunc.PythonModel):
    """An mqa bundle as an MLflow model: raw feature rows in, probability/score/tier/is_mqa out."""

    def load_context(self, context):
        self.bundle = ModelBundle.load(context.artifacts["bundle"])

    def predict(self, context, model_input, params=None):
        return self.bundle.predict(model_input).reset_index(drop=True)


MODEL_CODE = """\
# The mqa readiness model, logged by mqa.train.tracking ("models from code").
import mlflow
from mqa.train.tracking import ReadinessModel

mlflow.models.set_model(ReadinessModel())
"""


@dataclass
class Promotion:
    """What happened to the alias, and why."""

    model_name: str
    version: str
    promoted: bool
    new_auc: float
    champion_version: str | None = None
    champion_auc: float | None = None
    compared_on: str = ""
    held_back: str = ""

    def __str__(self) -> str:
        if self.held_back:
            return f"{self.model_name} version {self.version} stays '{CHALLENGER}': {self.held_back}."
        if self.champion_version is None:
            return f"{self.model_name} version {self.version} is the first: it is now '{CHAMPION}' (backtest ROC-AUC {self.new_auc:.4f})."
        verdict = (f"it beats version {self.champion_version} and is now '{CHAMPION}'" if self.promoted else
                   f"it does not beat '{CHAMPION}' version {self.champion_version}, which stays; the new one is '{CHALLENGER}'")
        return (f"{self.model_name} version {self.version}: ROC-AUC {self.new_auc:.4f} against the champion's "
                f"{self.champion_auc:.4f} {self.compared_on}; {verdict}.")


def load_registered_bundle(uri: str, settings: TrainSettings | None = None) -> ModelBundle:
    """The bundle behind an MLflow model URI such as ``models:/mqa-readiness@champion``.

    A local store that does not exist is refused rather than created: an
    MLflow URI read in the wrong folder must not leave an empty ``mlflow.db``.

    Raises
    ------
    ValueError
        The URI does not resolve to an mqa model, or the store is missing or unreachable.
    """
    store = tracking_uri(settings or TrainSettings())
    path = local_store(store)
    if path is not None and not path.exists():
        raise TrackingError(f"--model {uri}: there is no MLflow store at {path} (tracking URI {store}); run the command "
                            f"in the folder that holds mlflow.db, set MLFLOW_TRACKING_URI to the store, or pass a bundle folder")
    check_reachable(store, f"--model {uri}")
    mlflow.set_tracking_uri(store)
    try:
        with store_lock(store):
            model = mlflow.pyfunc.load_model(uri)
    except TrackingError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow raises many types for a bad URI
        raise ValueError(f"--model {uri}: MLflow could not load it ({_first_line(exc)}); "
                         f"check the name and alias, and MLFLOW_TRACKING_URI") from None
    inner = model.unwrap_python_model()
    if not isinstance(inner, ReadinessModel):
        raise ValueError(f"--model {uri}: not an mqa readiness model")
    return inner.bundle


def tracking_uri(settings: TrainSettings) -> str:
    """The environment's URI, else the configuration's, else a SQLite file in the working folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or settings.tracking_uri or DEFAULT_URI


def local_store(uri: str) -> Path | None:
    """The file of a local SQLite store (``sqlite:///mlflow.db``), or None for a server or another kind of store."""
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///"):]).absolute()
    return None


def store_lock(uri: str):
    """A lock shared by every mqa process using the local store ``uri``: creating the store and the champion's
    compare-and-set run under it. A server store serialises on its own side, so it gets a lock that does nothing."""
    path = local_store(uri)
    if path is None:
        from contextlib import nullcontext

        return nullcontext()
    lock = FileLock(str(path) + ".lock", timeout=LOCK_SECONDS)

    class _Held:
        def __enter__(self):
            try:
                lock.acquire()
            except Timeout:
                raise TrackingError(f"{path}: another mqa run has held the MLflow store's lock ({path}.lock) for "
                                    f"{LOCK_SECONDS // 60} minutes; wait for it to finish, or remove the lock file if "
                                    "no mqa run is going") from None
            except OSError as exc:
                raise TrackingError(f"{path}.lock: cannot create the MLflow store's lock ({exc.strerror}); run in a "
                                    "folder you can write to, or set MLFLOW_TRACKING_URI") from None
            return self

        def __exit__(self, *exc):
            lock.release()
            return False

    return _Held()


def check_reachable(uri: str, what: str = "MLflow") -> None:
    """Fail in seconds with a message when the tracking URI is malformed or its server does not answer.

    Raises
    ------
    TrackingError
    """
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme in ("http", "https"):
        import urllib.error
        import urllib.request

        timeout = float(os.environ.get("MLFLOW_HTTP_REQUEST_TIMEOUT", "10"))
        try:
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).close()
        except urllib.error.HTTPError:
            pass  # it answered: MLflow's own calls will say more
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(f"{what}: the MLflow tracking server {uri} does not answer ({reason}); start it, fix "
                                f"MLFLOW_TRACKING_URI, or pass --no-mlflow to train without tracking") from None
    elif scheme not in ("sqlite", "file", "databricks", "postgresql", "mysql", "mssql", "uc", "databricks-uc") and \
            not (scheme == "" and uri.startswith("/")):
        raise TrackingError(f"{what}: MLFLOW_TRACKING_URI {uri!r} is not a tracking URI MLflow knows (such as "
                            f"sqlite:///mlflow.db or http://host:5000); fix it or unset it")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line if len(line) <= 200 else line[:199] + "…"


def requirements() -> list[str]:
    """Pinned requirements of the pyfunc model (given, so MLflow does not spend seconds inferring them)."""
    from importlib import metadata

    names = ["lightgbm", "numpy", "pandas", "pyarrow", "scikit-learn", "mlflow"]
    return [f"{n}=={metadata.version(n)}" for n in names] + ["mqa"]


def log_run(run: TrainingRun, bundle_dir: Path, report_html: str, settings: TrainSettings,
            history=None, force: bool = False) -> Promotion:
    """Log a training run, register its model, and decide the champion alias.

    Parameters
    ----------
    run : TrainingRun
    bundle_dir : Path
        The saved bundle (logged as the pyfunc model's artifact).
    report_html : str
        The validation report.
    settings : TrainSettings
    history : History, optional
        Needed only when the champion was trained with other feature settings,
        to rebuild the backtest rows its way.
    force : bool
        Promote even a model that does not beat the best baseline beyond noise.
    """
    uri = tracking_uri(settings)
    check_reachable(uri)
    mlflow.set_tracking_uri(uri)
    # Two first runs at once would both migrate a new SQLite store, and two
    # promotions at once would both read the old champion: one at a time.
    with store_lock(uri):
        try:
            return _log_run(run, bundle_dir, report_html, settings, history, force)
        except (TrackingError, ValueError, OSError):
            raise
        except Exception as exc:  # noqa: BLE001 - MLflow's and SQLAlchemy's errors have no common base
            raise TrackingError(f"MLflow ({uri}) refused to log the run ({_first_line(exc)}); check the store, or "
                                "set MLFLOW_TRACKING_URI to another one") from None


def _log_run(run: TrainingRun, bundle_dir: Path, report_html: str, settings: TrainSettings,
             history, force: bool) -> Promotion:
    mlflow.set_experiment(settings.experiment)
    b = run.bundle
    metrics = {k: float(v) for k, v in run.evaluation["test"].items() if isinstance(v, (int, float, np.floating))}
    with mlflow.start_run(run_name=f"mqa-{b.version}") as active:
        bt = b.training["backtest"]
        mlflow.log_params({
            "seed": b.training["seed"], "horizon_days": b.settings.horizon_days, "cutoff": b.cutoff,
            "calibration": b.calibration.method, "chosen_candidate": b.training["chosen_candidate"],
            "rounds": b.training["rounds"], "features": len(b.features), "model_version": b.version,
            "step_days": b.settings.step_days, "folds": len(bt["folds"]), "labels": run.evaluation["labels"]["counts"],
            "labeled_first": bt["labeled"]["first"], "labeled_last": bt["labeled"]["last"],
            **{f"fold{f['fold']}_test_{edge}": f["test"][edge] for f in bt["folds"] for edge in ("first", "last")},
        })
        mlflow.log_metrics({f"backtest_{k}": v for k, v in metrics.items() if v == v})
        mlflow.log_metric("validation_roc_auc", run.evaluation["validation_roc_auc"])
        for f in run.evaluation["folds"].itertuples():
            if f.roc_auc == f.roc_auc:
                mlflow.log_metric(f"fold{f.fold}_roc_auc", float(f.roc_auc))
        verdict, evidence = run.evaluation["verdict"], run.evaluation["evidence"]
        if verdict["margin"] == verdict["margin"]:
            mlflow.log_metric("margin_over_best_baseline", float(verdict["margin"]))
        mlflow.set_tags({
            "beats_baseline": str(verdict["beats_baseline"]).lower(),
            "best_baseline": str(verdict["best_baseline"]),
            "thin_evidence": str(evidence["thin"]).lower(),
            **({"thin_evidence_why": "; ".join(evidence["reasons"])[:4000]} if evidence["thin"] else {}),
        })
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "report.html").write_text(report_html, encoding="utf-8")
            for name in ("cutoffs", "lift", "calibration", "rules", "retrospective", "folds", "baselines"):
                run.evaluation[name].to_csv(tmp / f"{name}.csv", index=False)
            run.importance.rename("mean_abs_shap").to_csv(tmp / "importance.csv")
            (tmp / "fingerprint.json").write_text(json.dumps(b.training["fingerprint"], indent=1))
            mlflow.log_artifacts(str(tmp), artifact_path="evaluation")
        from .report import plots

        for name, svg in plots(run).items():
            mlflow.log_text(svg, f"plots/{name}.svg")
        sample = run.test_rows.head(50)
        signature = mlflow.models.infer_signature(sample[b.features], b.predict(sample).reset_index(drop=True))
        code = Path(tempfile.mkdtemp()) / "mqa_readiness_model.py"
        code.write_text(MODEL_CODE)
        # "Models from code": MLflow stores this small file, not a pickled
        # object, so loading the model unpickles nothing; the bundle it loads
        # is checked against its manifest.
        info = mlflow.pyfunc.log_model(
            name="model", python_model=str(code), artifacts={"bundle": str(bundle_dir)},
            pip_requirements=requirements(), registered_model_name=settings.model_name,
            signature=signature,
        )
        version = str(info.registered_model_version)
        return decide_alias(run, settings.model_name, version, active.info.run_id, history, force=force)


def decide_alias(run: TrainingRun, model_name: str, version: str, run_id: str, history=None,
                 force: bool = False) -> Promotion:
    """Give the new version the champion alias if it beats the champion on rows neither was fitted on.

    A model that does not beat the best transparent baseline beyond noise
    stays ``challenger`` unless ``force``.
    """
    client = MlflowClient()
    new_auc = float(run.evaluation["test"]["roc_auc"])
    verdict = run.evaluation["verdict"]
    if not verdict["beats_baseline"] and not force:
        client.set_registered_model_alias(model_name, CHALLENGER, version)
        why = (f"it does not beat the best baseline ({verdict['best_baseline']}, ROC-AUC {verdict['best_baseline_auc']:.3f}) "
               f"beyond noise (margin {verdict['margin']:+.3f}, interval {verdict['margin_low']:+.3f} to {verdict['margin_high']:+.3f}); "
               f"pass --promote-anyway to make it champion all the same")
        client.set_model_version_tag(model_name, version, "held_back", why)
        return Promotion(model_name, version, False, new_auc, held_back=why)
    try:
        champion = client.get_model_version_by_alias(model_name, CHAMPION)
    except mlflow.exceptions.MlflowException:
        champion = None
    if champion is None or str(champion.version) == version:
        client.set_registered_model_alias(model_name, CHAMPION, version)
        return Promotion(model_name, version, True, new_auc)
    champ_model = mlflow.pyfunc.load_model(f"models:/{model_name}@{CHAMPION}")
    champ_bundle = champ_model.unwrap_python_model().bundle
    new_auc, champ_auc, how = compare_with_champion(run, champ_bundle, history)
    promoted = new_auc > champ_auc
    client.set_registered_model_alias(model_name, CHAMPION if promoted else CHALLENGER, version)
    client.set_model_version_tag(model_name, version, "compared_with_champion",
                                 f"v{champion.version}: {champ_auc:.4f} vs {new_auc:.4f} {how}")
    mlflow.log_metric("champion_roc_auc", champ_auc, run_id=run_id)
    return Promotion(model_name, version, promoted, new_auc, str(champion.version), champ_auc, how)


MIN_NEWER_POSITIVES = 20  # newer rows needed to judge the champion as it is


def compare_with_champion(run: TrainingRun, champion: ModelBundle, history=None) -> tuple[float, float, str]:
    """The new model's and the champion's ROC-AUC on rows neither was fitted on, and which rows those were.

    The new model is refitted on every labeled row, so only its backtest's
    out-of-fold predictions are unseen by it. Where enough of those rows are
    newer than everything the champion was trained on, both are judged there
    (the champion as it is). Otherwise the champion's settings (its features,
    feature settings and candidate) are refitted on the same folds and the
    two procedures are compared out of fold.
    """
    rows = run.test_rows
    last = champion.training.get("last_labeled") or champion.training.get("split", {}).get("test", {}).get("last")
    newer = np.asarray(rows["as_of"] > pd.Timestamp(last, tz="UTC"), dtype=bool) if last else np.zeros(len(rows), dtype=bool)
    labeled = run.labeled
    if champion.settings != run.bundle.settings or not set(champion.features) <= set(labeled.columns):
        if history is None:
            raise ValueError("the champion uses other feature settings; pass the history to rebuild its rows")
        built = build_features(history, as_of=labeled["as_of"].unique(), settings=champion.settings)
        labeled = labeled[["account_id", "as_of", "label"]].merge(built.drop(columns="label"), on=["account_id", "as_of"],
                                                                   how="left")
    y = rows["label"].to_numpy(dtype=float)
    fold = rows["fold"].to_numpy()
    ones = np.ones((1, len(rows)))
    if newer.any() and y[newer].sum() >= MIN_NEWER_POSITIVES and (1 - y[newer]).sum() > 0:
        theirs = rows[["account_id", "as_of"]].merge(labeled.drop(columns="label"), on=["account_id", "as_of"], how="left")
        n = ones[:, newer]
        new_auc = float(fold_auc(y[newer], rows["raw"].to_numpy()[newer], n, fold[newer])[0])
        champ_auc = float(fold_auc(y[newer], champion.raw(theirs[newer]), n, fold[newer])[0])
        return new_auc, champ_auc, (f"on {int(newer.sum()):,} out-of-fold rows newer than the champion's training data "
                                    f"(as-of after {str(last)[:10]})")
    params = champion.training.get("chosen_params") or {
        k: v for k, v in champion.training["search"][champion.training["chosen_candidate"]].items()
        if k in ("balance", "num_leaves", "max_depth")}
    seed = int(champion.training.get("seed", 0))
    champ_raw = refit_on_folds(labeled, run.backtest, champion.features, {**params, "num_threads": 1}, seed,
                               champion.settings)
    new_auc = float(run.evaluation["test"]["roc_auc"])
    champ_auc = float(fold_auc(y, champ_raw, ones, fold)[0])
    return new_auc, champ_auc, "with the champion's settings refitted on the same backtest folds"
