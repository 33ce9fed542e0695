"""The ``mqa`` command line.

Every subcommand turns a user error (bad data, a bad configuration, a refused
output path) into a plain message on stderr and exit status 2, with no
traceback and nothing written. A traceback means a bug in mqa.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mqa import __version__
from mqa.errors import MqaError

EXIT_USER_ERROR = 2
EXIT_NOT_DELIVERED = 3  # mqa alert: some messages still failed after the retries (the next run retries them)
EXIT_VERDICT = 4  # mqa monitor --fail-on: the verdict reached the level asked for


class UserError(Exception):
    """A problem the user can fix; its message is printed as it is."""


DATA_HELP = "CRM history folder, or a database URL (sqlite:///crm.db, postgresql://user@host/db; see docs/data.md)"


def _add_config(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML configuration (column-name mapping, ...); see docs/configuration.md")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mqa",
        description="Predict Marketing Qualified Accounts from CRM history: open, explained, fast.",
        epilog="Run 'mqa SUBCOMMAND --help' for each subcommand's options.",
    )
    parser.add_argument("--version", action="version", version=f"mqa {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser(
        "synth",
        help="write a synthetic CRM history (for demos and tests)",
        description="Write a realistic synthetic CRM history in the data contract's shape: accounts, contacts, "
        "activities, intent, signals and opportunities over two years, from a latent buying-cycle process. "
        "The same seed gives the same files.",
    )
    p.add_argument("--out", required=True, metavar="DIR_OR_URL",
                   help="folder to write (created; must not already hold a history unless --overwrite), or a database URL "
                   "such as sqlite:///demo.db (one table per contract table)")
    p.add_argument("--accounts", type=_positive_int, default=2000, metavar="N", help="number of accounts (default: 2000)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument("--format", choices=("parquet", "csv", "csv.gz"), help="file format (default: parquet; not for a database)")
    p.add_argument("--start", metavar="DATE", help="first day of the history (default: 2024-07-01)")
    p.add_argument("--end", metavar="DATE", help="last day of the history (default: 2026-06-30)")
    p.add_argument("--overwrite", action="store_true", help="replace the table files already in DIR (in a database: the contract's tables, nothing else)")
    p.add_argument("--buying-groups", action="store_true",
                   help="large accounts run several buying groups at once, each on its own product line: activities get a "
                   "topic column and the history an opportunity_contacts table (off: the default history, unchanged)")
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser(
        "validate",
        help="load and check a CRM history (a folder or a database) and print a summary",
        description="Load a CRM history folder or database, check it against the data contract and print a short summary: "
        "rows per table, date range, lead-to-account match rate, and what was reported. "
        "Bad data gives one message listing every problem and exit status 2.",
    )
    p.add_argument("data", metavar="DIR_OR_URL", help="folder with one file per table (accounts, contacts, activities, ...), or a "
                   "database URL such as sqlite:///crm.db or postgresql://user@host/db with one table or view per table")
    p.add_argument("--for", dest="purpose", choices=("train", "predict"), default="train",
                   help="which tables are required: train needs accounts and opportunities, predict only accounts (default: train)")
    _add_config(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "features",
        help="build point-in-time training rows (features and labels) from a history",
        description="Build the feature matrix: one row per account and as-of date, with features computed only from "
        "rows stamped at or before as-of, and label = an opportunity created in (as-of, as-of + horizon]. "
        "Accounts not created yet or already in pipeline at as-of are left out (see --all-rows). Written as "
        "Parquet or CSV by the output file's extension.",
    )
    p.add_argument("--data", required=True, metavar="DIR_OR_URL", help=DATA_HELP)
    p.add_argument("--as-of", dest="as_of", metavar="DATE[,DATE...]",
                   help="ISO 8601 as-of dates, comma-separated (a date alone is midnight UTC); "
                   "default: every [grid] step_days (14) days over the history")
    p.add_argument("--out", required=True, metavar="FILE", help="output file: .parquet, .csv or .csv.gz")
    p.add_argument("--horizon-days", type=_positive_int, metavar="N", help="label horizon in days (default: 90, or [labels] horizon_days)")
    p.add_argument("--all-rows", action="store_true",
                   help="keep every account at every date, with a status column (scored, in_pipeline, not_created)")
    p.add_argument("--engine", choices=("pandas", "spark"), default="pandas",
                   help="pandas: one machine (default); spark: partitioned by account on the active Spark session or a "
                   "local one (needs the spark extra; see docs/spark.md). Both write the same rows")
    p.add_argument("--partitions", type=_positive_int, metavar="N",
                   help="with --engine spark: buckets of accounts (default: 5,000 accounts per bucket, at least one per core)")
    _add_config(p)
    p.set_defaults(func=cmd_features)

    p = sub.add_parser(
        "train",
        help="train, calibrate and validate a readiness model; track and register it in MLflow",
        description="Build the training rows, judge the procedure with a rolling-origin backtest (folds at the end "
        "of the history, each test block one horizon after its training rows), refit the model on every labeled row, "
        "calibrate it on the out-of-fold predictions, map it to a 0-100 score, show it beside transparent baselines "
        "with bootstrap intervals, write the model bundle and its HTML report, and log the run to MLflow (registering "
        "the model; it becomes 'champion' only if it beats the current champion on rows neither was fitted on and "
        "beats the best baseline).",
    )
    p.add_argument("--data", required=True, metavar="DIR_OR_URL", help=DATA_HELP + " (with opportunities)")
    p.add_argument("--out", metavar="MODEL_DIR", help="bundle folder (default: models/<model version>)")
    p.add_argument("--horizon-days", type=_positive_int, metavar="N", help="label horizon in days (default: 90)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default: 0)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow (bundle and report only)")
    p.add_argument("--promote-anyway", action="store_true",
                   help="make the model 'champion' if it beats the current one, even when it does not beat the best "
                   "transparent baseline beyond noise (by default such a model stays 'challenger')")
    _add_config(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "predict",
        help="score and explain every account at a date (batch job)",
        description="Score every account of a history at an as-of date with a trained model: status (scored, "
        "in_pipeline, not_created), calibrated probability, 0-100 score, tier, MQA flag, whether it newly became "
        "an MQA since --previous, and its reasons (exact SHAP contributions in plain sentences). The data is "
        "validated first; the output is written atomically as Parquet or CSV by its extension.",
    )
    p.add_argument("--data", required=True, metavar="DIR_OR_URL", help=DATA_HELP)
    p.add_argument("--model", required=True, metavar="MODEL",
                   help="a bundle folder written by 'mqa train', or an MLflow model URI such as models:/mqa-readiness@champion")
    p.add_argument("--as-of", dest="as_of", required=True, metavar="DATE", help="ISO 8601 as-of date (a date alone is midnight UTC)")
    p.add_argument("--out", metavar="FILE", help="output file: .parquet, .csv or .csv.gz (optional with --store)")
    p.add_argument("--previous", metavar="FILE", help="an earlier output of 'mqa predict', to flag accounts that newly became MQAs "
                   "(default with --store: the store's latest earlier run)")
    p.add_argument("--store", nargs="?", const="", metavar="URL_OR_FOLDER",
                   help="also keep the run in a score store: a database URL (sqlite:///scores.db, postgresql://...), a "
                   ".sqlite file or a folder; alone, mqa-scores.sqlite next to --out. The same as-of and model replace "
                   "their earlier rows (see docs/pipeline.md)")
    p.add_argument("--top", type=int, default=0, metavar="N", help="also print the N highest-scored MQAs with their top reasons")
    p.add_argument("--strict", action="store_true",
                   help="refuse (exit 2) when --as-of lies more than one step past the last engagement event, instead of warning")
    p.add_argument("--engine", choices=("pandas", "spark"), default="pandas",
                   help="pandas: one machine (default); spark: partitioned by account on the active Spark session or a "
                   "local one (needs the spark extra; see docs/spark.md). Both write the same rows")
    p.add_argument("--partitions", type=_positive_int, metavar="N",
                   help="with --engine spark: buckets of accounts (default: 5,000 accounts per bucket, at least one per core)")
    _add_config(p)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "explain",
        help="explain one account's score",
        description="Print one account's score, tier and drivers at an as-of date; below the cutoff, also what moved "
        "its score most since the previous as-of date (one grid step earlier).",
    )
    p.add_argument("--data", required=True, metavar="DIR_OR_URL", help=DATA_HELP)
    p.add_argument("--model", required=True, metavar="MODEL", help="bundle folder or MLflow model URI")
    p.add_argument("--as-of", dest="as_of", required=True, metavar="DATE", help="ISO 8601 as-of date")
    p.add_argument("--account", required=True, metavar="ID", help="the account's id")
    p.add_argument("--strict", action="store_true",
                   help="refuse (exit 2) when --as-of lies more than one step past the last engagement event, instead of warning")
    _add_config(p)
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser(
        "report",
        help="write HTML reports for sales reps: a digest and one page per account",
        description="Turn the output of 'mqa predict' into reports a rep reads in a minute: a digest (new MQAs, all "
        "MQAs, the accounts closest below the cutoff, each with its top reason) and one self-contained HTML page per "
        "account (score and what it means, its trend, the drivers, the people to call and the buying roles missing, "
        "what they read, intent, timing signals, opportunities, a suggested first step), plus summary.csv and "
        "summary.md. Pages open from a file or an email attachment: nothing is fetched from the network.",
    )
    p.add_argument("--scores", metavar="FILE", help="output of 'mqa predict' (.parquet or .csv); or use --store")
    p.add_argument("--store", metavar="URL_OR_FOLDER", help="a score store written by 'mqa predict --store': its latest run "
                   "(or --as-of) is reported, and every earlier run makes the trend")
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help="with --store: the run to report (default: the latest)")
    p.add_argument("--data", required=True, metavar="DIR_OR_URL", help="the CRM history (folder or database URL) the scores were made from")
    p.add_argument("--out", required=True, metavar="DIR", help="report folder (created; a report written here before is replaced)")
    p.add_argument("--account", nargs="+", metavar="ID", help="pages for these accounts only (default: every MQA and the accounts closest below the cutoff)")
    p.add_argument("--only-mqa", action="store_true", help="MQAs only (leave out the accounts below the cutoff)")
    p.add_argument("--owner", metavar="NAME", help="only the accounts this owner holds (accounts.owner)")
    p.add_argument("--earlier", nargs="+", metavar="FILE", help="earlier outputs of 'mqa predict', for each account's score trend")
    p.add_argument("--near", type=int, default=20, metavar="N", help="how many accounts below the cutoff the digest lists (default: 20)")
    p.add_argument("--model", metavar="MODEL", help="the model that made the scores (bundle folder or MLflow URI), for its cutoff "
                   "and horizon; default: the configuration's [score] and [labels] settings")
    _add_config(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "history",
        help="print an account's scores over time from a score store",
        description="Print one account's score, tier, MQA flag and top reason at every run kept in a score store "
        "(written by 'mqa predict --store'), oldest first.",
    )
    p.add_argument("--store", required=True, metavar="URL_OR_FOLDER", help="the score store (database URL, .sqlite file or folder)")
    p.add_argument("--account", required=True, metavar="ID", help="the account's id")
    p.add_argument("--model-version", metavar="VERSION", help="only the runs of this model (default: every run)")
    p.add_argument("--csv", action="store_true", help="print CSV (for a spreadsheet or another program) instead of a table")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser(
        "export",
        help="write a CRM import file (Salesforce, HubSpot or plain CSV) from a score store's run",
        description="Write one run of a score store as a file a CRM's import tool takes, keyed by the CRM's account "
        "id: score, tier, MQA flag, MQA since, the top three reasons, model version and as-of. Every account of the "
        "run is written, so the CRM's flag is cleared when an account stops being an MQA. UTF-8 CSV, formula-safe "
        "cells; see docs/pipeline.md for the fields to create in the CRM.",
    )
    p.add_argument("--store", required=True, metavar="URL_OR_FOLDER", help="the score store (database URL, .sqlite file or folder)")
    p.add_argument("--format", required=True, choices=("salesforce", "hubspot", "csv"),
                   help="salesforce: Data Loader update of Account by Id; hubspot: companies import by Record ID; csv: plain")
    p.add_argument("--out", required=True, metavar="FILE", help="the .csv file to write")
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help="the run to export (default: the latest)")
    p.add_argument("--only-mqa", action="store_true", help="only the accounts that are MQAs at the run")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "alert",
        help="post a chat message per new MQA to a webhook (Slack-compatible)",
        description="Announce the accounts that became MQAs in a run of a score store (written by 'mqa predict "
        "--store'): one Slack-compatible message each (or one per owner), with the score, the probability in words, "
        "the top reason, the person to call, the owner and a link to the account's page. The store logs every "
        "alert sent, so a re-run sends nothing twice, and an account announced within the cooldown is not announced "
        "again. The webhook URL comes from --webhook, else $MQA_WEBHOOK_URL, else [alert] webhook_url, and is never "
        "printed. Exit status: 0 sent (or nothing due), 2 a user error, 3 some messages not delivered after the "
        "retries (the next run retries them).",
    )
    p.add_argument("--store", required=True, metavar="URL_OR_FOLDER", help="the score store (database URL, .sqlite file or folder)")
    p.add_argument("--as-of", dest="as_of", metavar="DATE", help="the run to announce (default: the store's latest)")
    p.add_argument("--data", metavar="DIR_OR_URL", help="the CRM history the scores were made from: account names, owners, "
                   "the person to call, and sales' dispositions, which hold back accounts rejected or recycled within the "
                   "cooldown (without it: account ids only, no owner or person, dispositions not checked)")
    p.add_argument("--model", metavar="MODEL", help="the model that made the scores (bundle folder or MLflow URI), for its "
                   "horizon; default: [labels] horizon_days")
    p.add_argument("--webhook", metavar="URL", help="incoming-webhook URL (default: $MQA_WEBHOOK_URL, else [alert] webhook_url; "
                   "prefer the environment: a command line is visible to other users of the machine)")
    p.add_argument("--cooldown-days", type=int, metavar="N", help="do not announce an account announced within N days "
                   "(default: 14, or [alert] cooldown_days)")
    p.add_argument("--group-by-owner", action=argparse.BooleanOptionalAction, default=None,
                   help="one message per owner listing their new MQAs (needs --data; default: [alert] group_by_owner)")
    p.add_argument("--report-url", metavar="URL", help="where 'mqa report' output is served, for a link to each account's page "
                   "(default: [alert] report_url)")
    p.add_argument("--dry-run", action="store_true", help="print each payload as JSON, one per line; send and log nothing "
                   "(no webhook needed)")
    _add_config(p)
    p.set_defaults(func=cmd_alert)

    p = sub.add_parser(
        "dispositions",
        help="what sales made of the MQAs handed over: acceptance, reasons, speed, untouched MQAs",
        description="Judge the handoff from sales' dispositions (the history's dispositions table): for every account "
        "that became an MQA in a run of the score store, its first verdict (accepted, rejected, recycled) and first "
        "sales touch (activities of type call, email or meeting) after that run's as-of; acceptance rates by "
        "tier, score band and owner; the reasons for refusals; hours to the first verdict and touch against the SLA "
        "([dispositions] sla_hours, default 72); the MQAs nobody touched. An acceptance rate under 40%% reads as a "
        "threshold set wrong. See docs/monitoring.md.",
    )
    p.add_argument("--store", required=True, metavar="URL_OR_FOLDER", help="the score store (database URL, .sqlite file or folder)")
    p.add_argument("--data", required=True, metavar="DIR_OR_URL", help=DATA_HELP + " (with dispositions)")
    p.add_argument("--out", metavar="FILE.json", help="also write the summary, every MQA's row included, as JSON")
    _add_config(p)
    p.set_defaults(func=cmd_dispositions)

    p = sub.add_parser(
        "monitor",
        help="judge a live model from its stored runs: drift, expected performance, matured cohorts",
        description="Compare the latest run(s) of a model in a score store with its training rows (population "
        "stability index of every feature and of the score, features whose missing or zero share jumped, families "
        "that went silent), estimate the latest run's precision and recall from its calibrated probabilities, and judge "
        "every run whose horizon has passed against the opportunities created. Writes monitor.html and monitor.json "
        "into --out and prints a verdict: ok, watch or retrain (thresholds in docs/monitoring.md). Exit status: 0, "
        "or 4 when the verdict reaches --fail-on; 2 a user error.",
    )
    p.add_argument("--model", required=True, metavar="MODEL", help="the model whose runs are judged (bundle folder or MLflow URI)")
    p.add_argument("--store", required=True, metavar="URL_OR_FOLDER", help="the score store written by 'mqa predict --store'")
    p.add_argument("--data", metavar="DIR_OR_URL", help="the CRM history the scores were made from: the features' drift and "
                   "the matured cohorts need it (without it: the score's drift and the expected performance only)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for monitor.html and monitor.json (created)")
    p.add_argument("--runs", type=_positive_int, default=1, metavar="N", help="pool the latest N runs for the drift (default: 1)")
    p.add_argument("--fail-on", choices=("watch", "retrain"), help="exit 4 when the verdict is this or worse (for a scheduler)")
    _add_config(p)
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser(
        "init",
        help="write a commented configuration file to start from",
        description="Write a TOML configuration with every section and its defaults shown commented, the ideal "
        "customer profile to fill in marked, and with --preset the file and column names of a CRM's standard "
        "export. An existing file is never replaced.",
    )
    p.add_argument("--preset", choices=("salesforce", "hubspot"), help="fill in the file and column names of this CRM's export")
    p.add_argument("--out", default="mqa.toml", metavar="FILE", help="file to write (default: mqa.toml; must not exist)")
    p.set_defaults(func=cmd_init)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_synth(args: argparse.Namespace) -> int:
    from mqa.features import synth
    from mqa.features.files import write_history
    from mqa.features.sql import is_url

    kwargs: dict = {}
    if args.start:
        kwargs["start"] = args.start
    if args.end:
        kwargs["end"] = args.end
    if args.buying_groups:
        kwargs["params"] = synth.SynthParams(buying_groups=synth.BuyingGroupParams(enabled=True))
    t0 = time.perf_counter()
    try:
        tables = synth.generate_history(n_accounts=args.accounts, seed=args.seed, **kwargs)
    except ValueError as exc:
        raise UserError(f"mqa synth: {exc}") from None
    if is_url(args.out):
        from mqa.features.sql import display_url, write_sql_history

        if args.format:
            raise UserError(f"mqa synth: --format is for a folder; {display_url(args.out)} is a database, which gets one "
                            "table per contract table. Leave --format out")
        try:
            written = write_sql_history(tables, args.out, overwrite=args.overwrite)
        except FileExistsError as exc:
            raise UserError(f"mqa synth: {exc}") from None
        where, rows = display_url(args.out), [(f"table {name}", len(tables[name])) for name in written]
    else:
        try:
            paths = write_history(tables, args.out, fmt=args.format or "parquet", overwrite=args.overwrite)
        except FileExistsError as exc:
            raise UserError(f"mqa synth: {exc}") from None
        where, rows = args.out, [(path.name, len(tables[path.name.split(".")[0]])) for path in paths]
    seconds = time.perf_counter() - t0
    print(f"Wrote a synthetic CRM history of {args.accounts:,} accounts (seed {args.seed}) to {where} in {seconds:.1f} s:")
    width = max([24] + [len(name) + 2 for name, _ in rows])
    for name, count in rows:
        print(f"  {name:<{width}}{count:>12,} rows")
    if args.buying_groups:
        print(f"Each product line's pages lie under its own url path; to read them as topics, put this line under "
              f"[topics] in your configuration: {_url_prefixes_line()}")
    return 0


def _url_prefixes_line() -> str:
    """``url_prefixes = {...}``: the synthetic product lines' url path prefixes and their topics, as one TOML line."""
    import json

    from mqa.features.synth import PRODUCT_LINE_PREFIXES

    # A JSON string is a TOML basic string for these plain ASCII values.
    pairs = ", ".join(f"{json.dumps(prefix)} = {json.dumps(topic)}" for prefix, topic in PRODUCT_LINE_PREFIXES.items())
    return f"url_prefixes = {{ {pairs} }}"


def cmd_validate(args: argparse.Namespace) -> int:
    from mqa.features.config import load_config
    from mqa.features.history import read_history

    config = load_config(args.config)
    history = read_history(args.data, config=config, purpose=args.purpose)
    print(history.summary())
    print(f"OK: the history follows the data contract (checked for {args.purpose}).")
    return 0


def _configured(args: argparse.Namespace):
    """The configuration file's contents and its feature settings, with --horizon-days applied."""
    import dataclasses

    from mqa.features.config import load_config

    config = load_config(args.config)
    settings = config.features
    if getattr(args, "horizon_days", None):
        settings = dataclasses.replace(settings, horizon_days=args.horizon_days)
    return config, settings


def _with_model_topics(config, bundle):
    """The configuration with the model's ``[topics] url_prefixes`` when it gives none of its own.

    A model trained on topics read from URLs needs them read the same way to
    score; a configuration that maps URLs itself wins.
    """
    import dataclasses

    mine, trained = config.features.topic_url_prefixes, getattr(bundle.settings, "topic_url_prefixes", ())
    if mine or not trained:
        return config
    return dataclasses.replace(config, features=dataclasses.replace(config.features, topic_url_prefixes=trained))


def _spark_history(args: argparse.Namespace, config, purpose: str, command: str):
    """The Spark engine, its session and the history read, checked and matched on it (``--engine spark``)."""
    engine = _spark_engine(args, command)
    try:
        session = engine.local_session()
        return engine, session, engine.read_spark_history(session, args.data, config=config, purpose=purpose)
    except ValueError as exc:
        from mqa.features.problems import DataError

        if isinstance(exc, DataError):
            raise
        raise UserError(f"mqa {command}: {exc}") from None


def _spark_engine(args: argparse.Namespace, command: str):
    """The Spark engine module, or the message that says why it cannot run (a database URL, no PySpark)."""
    from mqa.features.sql import is_url

    if is_url(args.data):
        raise UserError(f"mqa {command}: --engine spark reads a history folder or Spark tables, not a database URL; use "
                        "--engine pandas, or read the tables into Spark yourself (spark.read.jdbc) and pass them to "
                        "mqa.spark.read_spark_history (docs/spark.md)")
    try:
        from mqa import spark as engine
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith(("pyspark", "py4j")):
            raise
        raise UserError(f"mqa {command}: --engine spark needs PySpark; install the spark extra: pip install -e '.[spark]'") from None
    return engine


def cmd_features(args: argparse.Namespace) -> int:
    from mqa.features.build import build_features
    from mqa.features.files import output_suffix, write_frame
    from mqa.features.history import read_history
    from mqa.features.outputs import check_output
    from mqa.features.snapshots import parse_as_of

    out = Path(args.out)
    try:
        output_suffix(out)
        check_output(out, "--out", data=args.data, inputs=[args.config])
        as_of = parse_as_of(args.as_of) if args.as_of else None
    except ValueError as exc:
        raise UserError(f"mqa features: {exc}") from None
    config, settings = _configured(args)
    t0 = time.perf_counter()
    if args.engine == "spark":
        engine, session, history = _spark_history(args, config, "train", "features")
        try:
            rows = engine.to_pandas(engine.spark_features(session, history, as_of=as_of, settings=settings,
                                                          all_rows=args.all_rows, partitions=args.partitions), history)
        except ValueError as exc:
            raise UserError(f"mqa features: {exc}") from None
        finally:
            history.unpersist()
    else:
        history = read_history(args.data, config=config, purpose="train")
        try:
            rows = build_features(history, as_of=as_of, settings=settings, all_rows=args.all_rows)
        except ValueError as exc:
            raise UserError(f"mqa features: {exc}") from None
    _write(write_frame, rows, out, "features")
    seconds = time.perf_counter() - t0
    labeled = rows["label"].notna()
    dates = rows["as_of"].nunique()
    print(f"Wrote {len(rows):,} rows ({rows['account_id'].nunique():,} accounts x {dates} as-of dates, "
          f"{len(rows.columns) - 3 - int(args.all_rows)} features) to {out} in {seconds:.1f} s.")
    print(f"  labeled rows {int(labeled.sum()):,} (horizon {settings.horizon_days} days), "
          f"positives {int(rows.loc[labeled, 'label'].sum()):,} ({rows.loc[labeled, 'label'].mean():.2%})"
          if labeled.any() else f"  no row is labeled: every horizon of {settings.horizon_days} days runs past the end of the data")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from mqa.features.outputs import check_output, write_text
    from mqa.features.presets import init_config

    out = check_output(args.out, "--out")
    write_text(out, init_config(args.preset), replace=False)
    print(f"Wrote {out}{' for a ' + args.preset + ' export' if args.preset else ''}: fill in [icp], then check it "
          f"with 'mqa validate DIR --config {out}'.")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from mqa.features.config import icp_notice
    from mqa.features.history import read_history
    from mqa.features.outputs import check_output
    from mqa.features.sql import is_url
    from mqa.train.bundle import check_destination
    from mqa.train.pipeline import train_model
    from mqa.train.report import render
    from mqa.train.settings import train_settings
    from mqa.train.summary import train_summary

    config, settings = _configured(args)
    tsettings = train_settings(config)
    # Everything that can be refused is refused before hours of training.
    try:
        for folder in ([Path(args.out)] if args.out else [Path("models")]):
            check_output(folder, "--out", data=args.data, inputs=[args.config], folder=True)
        if args.out:
            check_destination(args.out)
    except ValueError as exc:
        raise UserError(f"mqa train: {exc}") from None
    if not args.no_mlflow:
        from mqa.train.tracking import check_reachable, tracking_uri

        try:
            check_reachable(tracking_uri(tsettings))
        except ValueError as exc:
            raise UserError(f"mqa train: {exc}") from None
    t0 = time.perf_counter()
    history = read_history(args.data, config=config, purpose="train")
    try:
        run = train_model(history, settings=settings, train=tsettings, seed=args.seed)
    except ValueError as exc:
        raise UserError(f"mqa train: {exc}") from None
    bundle = run.bundle
    html = render(run, tsettings)
    out = Path(args.out) if args.out else Path("models") / bundle.version
    try:
        bundle.save(out, report_html=html)
    except ValueError as exc:
        raise UserError(f"mqa train: {exc}") from None
    for line in train_summary(run, history.folder if is_url(args.data) else args.data, history):
        print(line)
    if notice := icp_notice(config):  # after the summary: thin evidence stays the first line
        print(notice)
    print(f"Model {bundle.version} written to {out} in {time.perf_counter() - t0:.0f} s (report: {out / 'report.html'}).")
    if not args.no_mlflow:
        from mqa.train.tracking import log_run

        try:
            promotion = log_run(run, out, html, tsettings, history, force=args.promote_anyway)
        except ValueError as exc:
            raise UserError(f"mqa train: the model bundle was written to {out}, but it was not logged to MLflow: {exc}. "
                            f"The bundle works as it is (mqa predict --model {out}); fix MLflow and train again to "
                            "register it") from None
        print(f"MLflow ({tracking_uri(tsettings)}): {promotion}")
    return 0


def _as_of_text(text: str, command: str) -> str:
    """The one ``--as-of`` date's text, checked with the standard library (before pandas is imported)."""
    from mqa.features.dates import check_iso_text

    try:
        parts = check_iso_text(text)
    except ValueError as exc:
        raise UserError(f"mqa {command}: {exc}") from None
    if len(parts) != 1:
        raise UserError(f"mqa {command}: --as-of takes one date, got {len(parts)}")
    return parts[0]


def _one_date(text: str, command: str):
    """The ``--as-of`` instant (UTC) of checked text."""
    from mqa.features.dates import utc_instant

    try:
        return utc_instant(text, "--as-of")
    except ValueError as exc:
        raise UserError(f"mqa {command}: {exc}") from None


def _check_model_path(args: argparse.Namespace, command: str) -> None:
    """Refuse a ``--model`` folder that does not exist before anything heavy is imported or read."""
    ref = getattr(args, "model", None)
    if ref is None or "://" in ref or ref.startswith(("models:/", "runs:/")):
        return
    if not Path(ref).exists():
        raise UserError(f"mqa {command}: --model {ref}: no such folder; pass the folder written by 'mqa train', or an "
                        "MLflow model URI such as models:/mqa-readiness@champion")


def _model_for(args: argparse.Namespace, command: str):
    from mqa.api import load_model

    try:
        return load_model(args.model, _configured(args)[0])
    except ValueError as exc:
        raise UserError(f"mqa {command}: {exc}") from None


def _check_fresh(history, as_of, bundle, args, command: str) -> None:
    """Warn (or with --strict refuse) when as-of lies past the end of the engagement data."""
    from mqa.predict.batch import freshness

    _, warning = freshness(history, as_of, bundle.settings.step_days)
    _fresh_message(warning, args, command)


def _check_fresh_result(result, as_of, bundle, args, command: str) -> None:
    from mqa.predict.batch import stale_message

    _fresh_message(stale_message(result["data_through"].max(), as_of, bundle.settings.step_days), args, command)


def _fresh_message(warning, args, command: str) -> None:
    if warning is None:
        return
    if getattr(args, "strict", False):
        raise UserError(f"mqa {command}: {warning} (refused: --strict)")
    print(f"mqa {command}: warning: {warning}.", file=sys.stderr)


def cmd_predict(args: argparse.Namespace) -> int:
    as_of_text = _as_of_text(args.as_of, "predict")
    _check_model_path(args, "predict")
    as_of = _one_date(as_of_text, "predict")
    from mqa.features.files import output_suffix, write_frame
    from mqa.features.history import read_history
    from mqa.features.outputs import check_output
    from mqa.predict.account import predict_summary
    from mqa.predict.batch import predict_history, read_previous

    if args.out is None and args.store is None:
        raise UserError("mqa predict: pass --out FILE, --store URL_OR_FOLDER, or both; the scores must go somewhere")
    if args.out is None and args.store == "":
        raise UserError("mqa predict: --store without a location needs --out (the store goes next to it); "
                        "or pass a database URL, a .sqlite file or a folder")
    out = Path(args.out) if args.out else None
    data_folder = None if _is_url(args.data) else args.data
    try:
        if out is not None:
            output_suffix(out)
            check_output(out, "--out", data=data_folder, inputs=[args.previous, args.config])
            if Path(args.model).exists():
                check_output(out, "--out", data=args.model, data_label="the model bundle")
        previous = read_previous(args.previous) if args.previous else None
    except ValueError as exc:
        raise UserError(f"mqa predict: {exc}") from None
    store = _store_for(args, "predict", out) if args.store is not None else None
    config, _ = _configured(args)
    t0 = time.perf_counter()
    previous_as_of = None
    if store is not None and previous is None:
        run = store.latest_run(before=as_of)
        if run is not None:
            previous, previous_as_of = store.run_scores(run), run["as_of"]
    if args.engine == "spark":
        _spark_engine(args, "predict")  # an engine that cannot run is said first
    bundle = _model_for(args, "predict")  # a bad --model is refused before the history is read
    config = _with_model_topics(config, bundle)
    if args.engine == "spark":
        engine, session, history = _spark_history(args, config, "predict", "predict")
    else:
        history = read_history(args.data, config=config, purpose="predict")
    if args.engine != "spark":
        _check_fresh(history, as_of, bundle, args, "predict")
    try:
        if args.engine == "spark":
            try:
                result = engine.to_pandas(engine.spark_predict(session, history, bundle, as_of, partitions=args.partitions,
                                                               previous=previous), history)
                _check_fresh_result(result, as_of, bundle, args, "predict")
            finally:
                history.unpersist()
        else:
            result = predict_history(history, bundle, as_of, previous=previous)
    except ValueError as exc:
        raise UserError(f"mqa predict: {exc}") from None
    if out is not None:
        _write(write_frame, result, out, "predict")
    stored = None
    if store is not None:
        try:
            stored = store.write_run(result, source=_shown_data(args.data), previous_as_of=previous_as_of)
        except MqaError as exc:
            written = f"the scores were written to {out}, but " if out is not None else ""
            raise UserError(f"mqa predict: {written}{exc}") from None
    for line in predict_summary(result, history, bundle, as_of, previous is not None, top=args.top,
                                seconds=time.perf_counter() - t0, out=out if out is not None else store.where):
        print(line)
    if stored is not None:
        against = (f", new MQAs against the run of {previous_as_of:%Y-%m-%d}" if previous_as_of is not None else
                   ", new MQAs against --previous" if previous is not None else
                   "; no earlier run in the store, so no new MQAs flagged")
        print(f"  stored in {store.where} ({'replaced the earlier write of this as-of and model' if stored.replaced else 'a new run'}"
              f"{against}).")
    return 0


def _is_url(text) -> bool:
    """Whether ``--data`` (or another location) is a database URL rather than a folder or file."""
    from mqa.features.sql import is_url

    return text is not None and is_url(str(text))


def _shown_data(data: str) -> str:
    """The history's location as messages and the store show it (a URL's password hidden)."""
    if _is_url(data):
        from mqa.features.sql import display_url

        return display_url(data)
    return str(Path(data).absolute())


def _store_for(args: argparse.Namespace, command: str, out: Path | None = None, must_exist: bool = False):
    """The score store ``--store`` names, checked (reachable, not a file mqa did not write) before anything heavy."""
    from mqa.features.outputs import check_output
    from mqa.predict.store import open_store, store_location

    try:
        url = store_location(args.store, out)
        if url.startswith("sqlite:///"):
            data = getattr(args, "data", None)
            check_output(url[len("sqlite:///"):], "--store", data=None if _is_url(data) else data,
                         inputs=[getattr(args, "config", None)])
            if must_exist and not Path(url[len("sqlite:///"):]).is_file():
                raise UserError(f"mqa {command}: --store {args.store}: no score store there; write one with "
                                "'mqa predict ... --store'")
        store = open_store(url)
        exists = store.exists()
    except (MqaError, ValueError) as exc:
        raise UserError(f"mqa {command}: {exc}") from None
    if must_exist and not exists:
        raise UserError(f"mqa {command}: --store {store.where}: holds no run yet; write one with 'mqa predict ... --store'")
    return store


def cmd_explain(args: argparse.Namespace) -> int:
    as_of_text = _as_of_text(args.as_of, "explain")
    _check_model_path(args, "explain")
    as_of = _one_date(as_of_text, "explain")
    from mqa.features.history import read_history
    from mqa.predict.account import explain_account

    config, _ = _configured(args)
    bundle = _model_for(args, "explain")
    config = _with_model_topics(config, bundle)
    history = read_history(args.data, config=config, purpose="predict")
    _check_fresh(history, as_of, bundle, args, "explain")
    try:
        explanation = explain_account(history, bundle, args.account, as_of)
    except ValueError as exc:
        raise UserError(f"mqa explain: {exc}") from None
    print(explanation)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if args.near < 0:
        raise UserError(f"mqa report: --near must be 0 or more, got {args.near}")
    if (args.scores is None) == (args.store is None):
        raise UserError("mqa report: pass --scores FILE (an output of 'mqa predict') or --store URL_OR_FOLDER, not both")
    if args.store is None and args.as_of is not None:
        raise UserError("mqa report: --as-of picks a run of --store; with --scores the file's latest date is reported")
    if args.store is not None and args.earlier:
        raise UserError("mqa report: --earlier is for --scores files; with --store every earlier run makes the trend")
    as_of = _one_date(_as_of_text(args.as_of, "report"), "report") if args.as_of else None
    _check_model_path(args, "report")
    from mqa.api import render_report
    from mqa.features.history import read_history
    from mqa.features.outputs import check_output
    from mqa.predict.report import check_report_folder, read_scores, write_report

    inputs = ([args.scores] if args.scores else []) + list(args.earlier or [])
    try:
        check_output(args.out, "--out", data=None if _is_url(args.data) else args.data, inputs=inputs + [args.config],
                     folder=True)
        check_report_folder(args.out)
    except (ValueError, FileExistsError) as exc:
        raise UserError(f"mqa report: {exc}") from None
    config, _ = _configured(args)
    t0 = time.perf_counter()
    if args.store is not None:
        store = _store_for(args, "report", must_exist=True)
        scores, name = _stored_scores(store, as_of, "report")
    else:
        try:
            scores = read_scores(inputs)
        except ValueError as exc:
            raise UserError(f"mqa report: --scores/--earlier {exc}") from None
        name = Path(args.scores).name
    bundle = _model_for(args, "report") if args.model else None
    history = read_history(args.data, config=config, purpose="predict")
    try:
        report = render_report(scores, history, model=bundle, config=config, accounts=args.account,
                               only_mqa=args.only_mqa, owner=args.owner, near=args.near, scores_name=name)
        out = write_report(report, args.out)
    except (ValueError, FileExistsError) as exc:
        raise UserError(f"mqa report: {exc}") from None
    print(f"Wrote {report.pages:,} account page{'s' * (report.pages != 1)} and a digest of {report.listed:,} "
          f"account{'s' * (report.listed != 1)} at {report.as_of:%Y-%m-%d} "
          f"to {out} in {time.perf_counter() - t0:.1f} s.")
    print(f"  open {out / 'index.html'}; summaries for a CRM or a message: {out / 'summary.csv'}, {out / 'summary.md'}")
    return 0


def _stored_scores(store, as_of, command: str):
    """A store's run at ``as_of`` (default: the latest) as ``source`` 0, and every earlier run after it, as read_scores gives."""
    import pandas as pd

    run = store.latest_run(as_of=as_of)
    if run is None:
        dates = ", ".join(f"{d:%Y-%m-%d}" for d in store.runs()["as_of"].drop_duplicates().tail(5))
        raise UserError(f"mqa {command}: --store {store.where} holds no run at {as_of:%Y-%m-%d}; its latest: {dates}")
    current = store.run_scores(run).assign(source=0)
    earlier = store.scores()
    earlier = earlier[(earlier["as_of"] < run["as_of"])].assign(source=1)
    scores = pd.concat([current, earlier], ignore_index=True)
    return scores, f"{store.where}, run of {run['as_of']:%Y-%m-%d} (model {run['model_version']})"


def cmd_export(args: argparse.Namespace) -> int:
    as_of = _one_date(_as_of_text(args.as_of, "export"), "export") if args.as_of else None
    from mqa.features.outputs import check_output
    from mqa.predict.export import export_frame, write_export

    out = Path(args.out)
    if out.suffix.lower() != ".csv":
        raise UserError(f"mqa export: --out {out}: CRM import tools take .csv files; name the file something.csv")
    try:
        check_output(out, "--out")
    except ValueError as exc:
        raise UserError(f"mqa export: {exc}") from None
    store = _store_for(args, "export", must_exist=True)
    if store.url.startswith("sqlite:///") and Path(store.url[len("sqlite:///"):]).resolve() == out.resolve():
        raise UserError(f"mqa export: --out {out}: is the score store itself; choose another file name")
    run = store.latest_run(as_of=as_of)
    if run is None:
        dates = ", ".join(f"{d:%Y-%m-%d}" for d in store.runs()["as_of"].drop_duplicates().tail(5))
        raise UserError(f"mqa export: --store {store.where} holds no run at {as_of:%Y-%m-%d}; its latest: {dates}")
    frame = export_frame(store, run, args.format, only_mqa=args.only_mqa)
    _write(write_export, frame, out, "export")
    flag = {"salesforce": "MQA__c", "hubspot": "mqa", "csv": "is_mqa"}[args.format]
    mqas = int(frame[flag].eq("true").sum())
    print(f"Wrote {len(frame):,} accounts ({mqas:,} MQAs) of the run of {run['as_of']:%Y-%m-%d} (model "
          f"{run['model_version']}) to {out} for a {args.format} import.")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from mqa.predict.store import account_history

    store = _store_for(args, "history", must_exist=True)
    try:
        table = account_history(store, args.account, model_version=args.model_version)
    except ValueError as exc:
        raise UserError(f"mqa history: {exc}") from None
    if args.csv:
        from mqa.features.outputs import csv_safe

        sys.stdout.write(csv_safe(table).to_csv(index=False, lineterminator="\n"))
        return 0
    from mqa.features.plain import printable

    print(printable(f"Account {args.account} in {store.where}: {len(table)} run{'s' * (len(table) != 1)}, oldest first"))
    print(printable(table.to_string(index=False, na_rep=""), newlines=True))
    return 0


def cmd_alert(args: argparse.Namespace) -> int:
    as_of = _one_date(_as_of_text(args.as_of, "alert"), "alert") if args.as_of else None
    _check_model_path(args, "alert")
    if args.cooldown_days is not None and args.cooldown_days < 0:
        raise UserError(f"mqa alert: --cooldown-days must be 0 or more, got {args.cooldown_days}")
    import dataclasses
    import json

    from mqa.features.config import ConfigError, config_from
    from mqa.features.plain import printable
    from mqa.predict.alert import AlertSettings, alert_rows, build_messages, deliver, plan_alerts, shown_url, webhook_url
    from mqa.predict.store import channel_key

    config, _ = _configured(args)
    section = config.file.alert
    if args.report_url is not None:
        try:  # the schema's check, so the flag and the file say the same
            config_from({"alert": {"report_url": args.report_url}}, "--report-url")
        except ConfigError as exc:
            raise UserError(f"mqa alert: --report-url: {str(exc).split(': ', 2)[-1]}") from None
    settings = AlertSettings(
        cooldown_days=section.cooldown_days if args.cooldown_days is None else args.cooldown_days,
        group_by_owner=section.group_by_owner if args.group_by_owner is None else args.group_by_owner,
        report_url=args.report_url or section.report_url, retries=section.retries, backoff_seconds=section.backoff_seconds,
        timeout_seconds=section.timeout_seconds, max_retry_after_seconds=section.max_retry_after_seconds,
        horizon_days=config.features.horizon_days, rescore_margin=section.rescore_margin)
    if settings.group_by_owner and args.data is None:
        raise UserError("mqa alert: grouping by owner needs the owners: pass --data (the history the scores were made from)")
    found = webhook_url(args.webhook, section.webhook_url)
    if found is None and not args.dry_run:
        raise UserError("mqa alert: no webhook to post to; pass --webhook URL, set the environment variable "
                        "MQA_WEBHOOK_URL (best: the URL is a secret), or set [alert] webhook_url in the configuration "
                        "(--config FILE); or try --dry-run to see the messages")
    url, source = found if found is not None else (None, None)
    store = _store_for(args, "alert", must_exist=True)
    run = store.latest_run(as_of=as_of)
    if run is None:
        dates = ", ".join(f"{d:%Y-%m-%d}" for d in store.runs()["as_of"].drop_duplicates().tail(5))
        raise UserError(f"mqa alert: --store {store.where} holds no run at {as_of:%Y-%m-%d}; pass one of its runs' "
                        f"dates (the latest: {dates})")
    if args.model:
        settings = dataclasses.replace(settings, horizon_days=_model_for(args, "alert").settings.horizon_days)
    channel = channel_key(url) if url is not None else None
    history = None
    if args.data is not None:
        from mqa.features.history import read_history

        # Read before planning: sales' dispositions decide who is held back.
        history = read_history(args.data, config=config, purpose="predict")
    plan = plan_alerts(store, run, channel, settings.cooldown_days,
                       dispositions=history["dispositions"] if history is not None else None,
                       rescore_margin=settings.rescore_margin)
    at = f"{plan.as_of:%Y-%m-%d}"
    if not plan.compared:
        print(f"Nothing to send: the run of {at} had no earlier run in the store to compare with, so no account is "
              "flagged as a new MQA (the next run will be).", file=sys.stderr if args.dry_run else sys.stdout)
        return 0
    rows = alert_rows(plan.due, history, plan.as_of, config.features.committee, config.features.relevant_topics)
    messages = build_messages(rows, settings)
    skipped = _skipped_text(plan, settings.cooldown_days, settings.rescore_margin,
                            None if history is None else "dispositions" in history.present)
    if args.dry_run:
        for message in messages:
            print(json.dumps(message.payload, ensure_ascii=False))
        where = f" to {shown_url(url)}" if url is not None else " (no webhook set: the log of every channel was checked)"
        print(f"Dry run: {len(messages)} message{'s' * (len(messages) != 1)} for {len(plan.due)} new MQA"
              f"{'s' * (len(plan.due) != 1)} at {at}{where} printed, none sent or logged{skipped}.", file=sys.stderr)
        return 0
    shown = shown_url(url)
    if not messages:
        print(f"Nothing to send: {plan.new} new MQA{'s' * (plan.new != 1)} at {at}{skipped or ''}.")
        return 0

    def sent(message) -> None:
        who = (f"owner {message.owner}: " if message.owner else "unassigned: ") if settings.group_by_owner else ""
        owner = f" (owner {message.owner})" if message.owner and not settings.group_by_owner else ""
        print(printable(f"  sent: {who}{', '.join(message.accounts)}{owner}"))

    done = deliver(messages, url, store, plan, settings, on_sent=sent)
    accounts = sum(len(m.accounts) for m in done.sent)
    print(f"Sent {len(done.sent)} alert{'s' * (len(done.sent) != 1)} for {accounts} new MQA{'s' * (accounts != 1)} at {at} "
          f"to {shown} (from {source}){skipped}.")
    if done.failed:
        lost = sum(len(m.accounts) for m, _ in done.failed)
        whys = sorted({why for _, why in done.failed})
        ids = [a for m, _ in done.failed for a in m.accounts]
        listed = ", ".join(ids[:10]) + (f", ... ({len(ids) - 10} more)" if len(ids) > 10 else "")
        print(printable(f"mqa alert: {len(done.failed)} of {len(messages)} message{'s' * (len(messages) != 1)} "
                        f"({lost} account{'s' * (lost != 1)}: {listed}) "
                        f"not delivered to {shown}: {'; '.join(whys)}. They are not logged, so the next run of "
                        "'mqa alert' retries them; check the webhook and the chat service's status."), file=sys.stderr)
        return EXIT_NOT_DELIVERED
    return 0


def cmd_dispositions(args: argparse.Namespace) -> int:
    import json

    from mqa.features.history import read_history
    from mqa.features.outputs import write_text
    from mqa.predict.dispositions import disposition_summary

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix.lower() != ".json":
        raise UserError(f"mqa dispositions: --out {out}: must be a .json file")
    config, _ = _configured(args)
    store = _store_for(args, "dispositions", must_exist=True)
    history = read_history(args.data, config=config, purpose="predict")
    if "dispositions" not in history.present:
        raise UserError(f"mqa dispositions: {args.data} has no dispositions table, so there is no verdict of sales to "
                        "judge; export the MQAs' dispositions (account_id, date, disposition, reason, owner) beside the "
                        "other tables (docs/data.md#dispositions)")
    summary = disposition_summary(store.scores(), history, sla_hours=config.file.dispositions.sla_hours)
    from mqa.features.plain import printable

    print(printable(summary.text(), newlines=True))
    if out is not None:
        _write(lambda d, path: write_text(path, json.dumps(d, indent=2, ensure_ascii=False) + "\n"), summary.to_dict(), out,
               "dispositions")
        print(f"Wrote {out}")
    return 0


def cmd_monitor(args: argparse.Namespace) -> int:
    _check_model_path(args, "monitor")
    from mqa.features.outputs import OutputError, check_output

    try:
        check_output(args.out, "--out", data=None if _is_url(args.data) else args.data, inputs=[args.config], folder=True)
        if Path(args.model).exists():
            check_output(args.out, "--out", data=args.model, data_label="the model bundle", folder=True)
    except ValueError as exc:
        raise UserError(f"mqa monitor: {exc}") from None
    from mqa.features.history import read_history
    from mqa.features.plain import printable
    from mqa.predict.monitor import MonitorError, monitor
    from mqa.predict.monitor_page import write_monitor

    config, _ = _configured(args)
    store = _store_for(args, "monitor", must_exist=True)
    bundle = _model_for(args, "monitor")
    history = read_history(args.data, config=config, purpose="predict") if args.data else None
    try:
        found = monitor(bundle, store, history, runs=args.runs)
        if history is not None and "dispositions" in history.present:
            from mqa.predict.dispositions import disposition_summary

            said = disposition_summary(store.scores(), history, sla_hours=config.file.dispositions.sla_hours).to_dict()
            found.dispositions = {k: v for k, v in said.items() if k != "handovers"}
        out = write_monitor(found, args.out, bundle.settings.horizon_days, bundle.cutoff)
    except (MonitorError, OutputError, ValueError) as exc:
        raise UserError(f"mqa monitor: {exc}") from None
    dates = ", ".join(f"{d:%Y-%m-%d}" for d in found.runs["as_of"])
    print(f"Verdict: {found.verdict} (model {found.model_version}, run{'s' * (len(found.runs) != 1)} of {dates}; score PSI "
          f"{found.score_psi:.2f}).")
    for reason in found.reasons[:5]:
        print(printable(f"  - {reason}"))
    e = found.expected
    if e.get("mqas"):
        print(f"  expected precision of the latest run's {e['mqas']:,} MQAs: {e['expected_precision']:.1%} "
              f"({e['level']:.0%} interval {e['precision_low']:.1%} to {e['precision_high']:.1%}), "
              f"{e['expected_opportunities']:.1f} opportunities expected")
    if len(found.cohorts):
        print(f"  matured runs: {len(found.cohorts)}; precision {found.matured['precision']:.1%}, recall "
              f"{found.matured['recall']:.1%}, ROC-AUC {found.matured['roc_auc']:.3f}")
    if found.dispositions:
        print(printable(f"  dispositions: {found.dispositions['verdict']}"))
    for note in found.notes:
        print(printable(f"  note: {note}."))
    print(f"  wrote {out / 'monitor.html'} and {out / 'monitor.json'}")
    levels = {"ok": 0, "watch": 1, "retrain": 2}
    if args.fail_on and levels[found.verdict] >= levels[args.fail_on]:
        return EXIT_VERDICT
    return 0


def _skipped_text(plan, cooldown_days: int, margin: float = 10.0, has_dispositions: bool | None = None) -> str:
    parts = []
    if plan.cooled:
        parts.append(f"{len(plan.cooled)} skipped (announced within the {cooldown_days}-day cooldown)")
    if plan.already:
        parts.append(f"{len(plan.already)} already announced for this run")
    if plan.held:
        parts.append(f"{len(plan.held)} held back by dispositions (rejected or recycled by sales within the "
                     f"{cooldown_days}-day cooldown, score not up {margin:g} points since)")
    # A history without the table is "no such signal": nobody was turned down, nothing to say.
    if has_dispositions is None:
        parts.append("dispositions not checked (pass --data to hold back accounts sales rejected or recycled)")
    return "; " + "; ".join(parts) if parts else ""


def _write(write, frame, out: Path, command: str) -> None:
    """Write an output file; an operating-system refusal becomes the command's message."""
    from mqa.features.outputs import OutputError

    try:
        write(frame, out)
    except OutputError as exc:
        raise UserError(f"mqa {command}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the ``mqa`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (MqaError, UserError) as exc:
        from mqa.features.plain import printable

        # Messages quote the user's data: no control character reaches the terminal.
        print(printable(str(exc), newlines=True), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("mqa: interrupted; nothing was written.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mqa explain ... | head`): stop quietly, as
        # shell tools do, instead of a traceback when Python flushes stdout.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        from mqa.features.plain import printable

        where = f"{exc.filename}: " if exc.filename else ""
        print(printable(f"mqa {args.command}: {where}{exc.strerror or exc}; check the path and its permissions. "
                        "Nothing was written."), file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
