"""mqa: an open, transparent predictor of Marketing Qualified Accounts.

The public API, for notebooks and scripts (``docs/api.md``; the ``mqa``
command line is a thin layer over it)::

    import mqa

    history = mqa.read_history("data/demo")            # a folder, or {table: DataFrame}
    rows = mqa.build_features(history, as_of=["2025-06-30"])
    run = mqa.train_model(history)                     # backtest, refit, calibrate, evaluate
    mqa.save_model(run, "models/mine")
    model = mqa.load_model("models/mine")              # or "models:/mqa-readiness@champion"
    scores = mqa.predict_history(history, model, as_of="2026-06-30")
    print(mqa.explain_account(history, model, "A000123", as_of="2026-06-30"))
    mqa.write_report(mqa.render_report(scores, history, model), "reports/")

Reading and configuring
    load_config, init_config, read_history, generate_history
Training rows and models
    build_features, train_model, train_summary, save_model, load_model
Scoring and explaining
    predict_history, explain_account, explain_rows
Reports for sales reps
    render_report, write_report
Every run's scores, kept
    open_store (a ScoreStore: runs, scores, write_run; see docs/pipeline.md)
    monitor, write_monitor (drift, expected performance, matured cohorts; docs/monitoring.md)
Types and errors
    History, Config, ModelBundle, TrainingRun, AccountExplanation, Report,
    MqaError (the base of DataError, ConfigError, OutputError, BundleError, StoreError, DatabaseError)

Dates are strings, Timestamps, datetimes or dates; naive means UTC.
Names are loaded on first use, so ``import mqa`` (and the command line) starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from mqa.errors import MqaError

__version__ = "0.1.0"

# Public name -> the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "load_config": "mqa.api",
    "init_config": "mqa.features.presets",
    "read_history": "mqa.api",
    "generate_history": "mqa.api",
    "build_features": "mqa.api",
    "train_model": "mqa.api",
    "train_summary": "mqa.api",
    "save_model": "mqa.api",
    "load_model": "mqa.api",
    "predict_history": "mqa.api",
    "explain_account": "mqa.api",
    "explain_rows": "mqa.api",
    "render_report": "mqa.api",
    "write_report": "mqa.api",
    "open_store": "mqa.predict.store",
    "monitor": "mqa.predict.monitor",
    "write_monitor": "mqa.predict.monitor_page",
    "ScoreStore": "mqa.predict.store",
    "StoreError": "mqa.predict.store",
    "History": "mqa.features.history",
    "Config": "mqa.features.config",
    "ModelBundle": "mqa.train.bundle",
    "TrainingRun": "mqa.train.pipeline",
    "AccountExplanation": "mqa.predict.account",
    "Report": "mqa.predict.report",
    "DataError": "mqa.features.problems",
    "ConfigError": "mqa.features.config",
    "OutputError": "mqa.features.outputs",
    "BundleError": "mqa.train.bundle",
    "DatabaseError": "mqa.features.sql",
}

__all__ = [
    "load_config",
    "init_config",
    "read_history",
    "generate_history",
    "build_features",
    "train_model",
    "train_summary",
    "save_model",
    "load_model",
    "predict_history",
    "explain_account",
    "explain_rows",
    "render_report",
    "write_report",
    "open_store",
    "monitor",
    "write_monitor",
    "ScoreStore",
    "History",
    "Config",
    "ModelBundle",
    "TrainingRun",
    "AccountExplanation",
    "Report",
    "MqaError",
    "DataError",
    "ConfigError",
    "OutputError",
    "BundleError",
    "StoreError",
    "DatabaseError",
    "__version__",
]

if TYPE_CHECKING:
    from mqa.api import (
        build_features,
        explain_account,
        explain_rows,
        generate_history,
        load_config,
        load_model,
        predict_history,
        read_history,
        render_report,
        save_model,
        train_model,
        train_summary,
        write_report,
    )
    from mqa.features.config import Config, ConfigError
    from mqa.features.history import History
    from mqa.features.outputs import OutputError
    from mqa.features.presets import init_config
    from mqa.features.problems import DataError
    from mqa.features.sql import DatabaseError
    from mqa.predict.account import AccountExplanation
    from mqa.predict.monitor import monitor
    from mqa.predict.monitor_page import write_monitor
    from mqa.predict.report import Report
    from mqa.predict.store import ScoreStore, StoreError, open_store
    from mqa.train.bundle import BundleError, ModelBundle
    from mqa.train.pipeline import TrainingRun


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mqa' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
