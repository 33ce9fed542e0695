"""mqa alert: one message per new MQA to a real local HTTP server, logged in a real SQLite store.

The store is written by hand (a few accounts with the output's columns) rather
than by a trained model; the webhook is an http.server on 127.0.0.1 that
records every POST and answers as each test scripts it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

from mqa.cli import EXIT_NOT_DELIVERED, main
from mqa.predict.alert import AlertSettings, alert_rows, build_messages, shown_url
from mqa.predict.store import SCORE_DTYPES, channel_key, open_store

from .conftest import BASE, write_tables

SECRET = "T0SECRET/B0SECRET/xoxSECRETtoken"
D0, D = pd.Timestamp("2024-02-20", tz="UTC"), pd.Timestamp("2024-03-05", tz="UTC")
REASON = '[{"text": "1 demo request in the last 30 days", "contribution": 0.8, "kind": "why_now"}]'
ACCOUNTS = """
    account_id,name,domain,industry,employees,annual_revenue,country,technologies,created_at,owner
    A1,Acme,https://www.Acme.com/,software,120,1000000,US,salesforce;hubspot,2024-01-01,Dana Whitfield
    A2,Beta,beta.io,retail,5000,,DE,,2024-02-01T10:00:00+02:00,
    A3,Gamma,gamma.co.uk,finance,40,2500000.5,GB,snowflake,,Dana Whitfield
"""
# Each run: account -> (score, is_mqa, became_mqa); the first run has no previous one (became_mqa missing).
RUNS = {
    D0: {"A1": (70, False, None), "A2": (60, False, None), "A3": (50, False, None)},
    D: {"A1": (97, True, True), "A2": (90, True, True), "A3": (88, True, True)},
    D + pd.Timedelta(days=7): {"A1": (70, False, False), "A2": (91, True, False), "A3": (89, True, False)},
    D + pd.Timedelta(days=14): {"A1": (95, True, True), "A2": (92, True, False), "A3": (90, True, False)},
}


def run_frame(as_of: pd.Timestamp, rows: dict) -> pd.DataFrame:
    """One run's output rows, with the columns and dtypes of mqa predict's output."""
    ids = list(rows)
    score = [rows[a][0] for a in ids]
    frame = pd.DataFrame({
        "account_id": ids, "as_of": as_of, "model_version": "m1", "status": "scored", "is_customer": False,
        "probability": [s / 400 for s in score], "lift": [s / 30 for s in score], "score": [float(s) for s in score],
        "tier": ["mqa" if rows[a][1] else "targeted" for a in ids],
        "is_mqa": [rows[a][1] for a in ids], "became_mqa": pd.array([rows[a][2] for a in ids], dtype="boolean"),
        "reasons": REASON, "family_contributions": "{}", "buying_groups": None, "data_through": as_of,
    })
    return frame.astype(SCORE_DTYPES)


@pytest.fixture
def store_dir(tmp_path):
    """A folder with a score store of the four runs, and the history they were made from."""
    store = open_store(tmp_path / "store")
    previous = None
    for as_of, rows in RUNS.items():
        store.write_run(run_frame(as_of, rows), previous_as_of=previous)
        previous = as_of
    write_tables(tmp_path / "history", dict(BASE, accounts=ACCOUNTS))
    (tmp_path / "mqa.toml").write_text("[alert]\nbackoff_seconds = 0.01\nretries = 2\n[labels]\nhorizon_days = 60\n")
    return tmp_path


class Webhook:
    """A local HTTP server that records every POST and answers from a script (then 200 "ok"), or always one status."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict]] = []
        self.always: int | None = None
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hook.requests.append({"time": time.monotonic(), "path": self.path, "json": json.loads(body)})
                status, headers = hook.script.pop(0) if hook.script else (hook.always or 200, {})
                reply = b"ok" if status == 200 else b"error"
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/{SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def posted(self) -> list[dict]:
        return [r["json"] for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(monkeypatch):
    monkeypatch.delenv("MQA_WEBHOOK_URL", raising=False)
    hook = Webhook()
    yield hook
    hook.close()


def alert(folder, *args: str) -> int:
    return main(["alert", "--store", str(folder / "store"), "--config", str(folder / "mqa.toml"), *args])


def logged(folder) -> pd.DataFrame:
    return open_store(folder / "store").alerts()


# --- what is sent, and never twice ---------------------------------------------------------------------------

def test_one_post_per_new_mqa_and_none_on_a_rerun(store_dir, webhook, capsys):
    args = ("--as-of", "2024-03-05", "--webhook", webhook.url, "--data", str(store_dir / "history"),
            "--report-url", "https://reports.example.com/mqa/")
    assert alert(store_dir, *args) == 0
    posts = webhook.posted()
    assert len(posts) == 3  # A1, A2, A3 became MQAs at D; highest score first
    first = posts[0]
    assert first["text"].startswith("New MQA: Acme, score 97 (top 3%), MQA. Why now: 1 demo request in the last 30 days.")
    assert "Call Ann Archer, VP of Engineering. Owner: Dana Whitfield." in first["text"]
    blocks = json.dumps(first["blocks"])
    assert "<https://reports.example.com/mqa/accounts/A1.html|Acme>" in blocks
    assert "About 24 in 100 accounts like this open an opportunity within 60 days, 3.2x the average" in blocks
    assert "*Owner*\\nDana Whitfield" in blocks and "*Call*\\nAnn Archer, VP of Engineering" in blocks
    assert "Owner: unassigned" in posts[1]["text"] and "Beta" in posts[1]["text"]  # A2 has no owner
    log = logged(store_dir)
    assert sorted(log["account_id"]) == ["A1", "A2", "A3"]
    assert set(log["channel"]) == {channel_key(webhook.url)} and set(log["as_of"]) == {D}
    out = capsys.readouterr().out
    assert "  sent: A1 (owner Dana Whitfield)" in out and "Ann Archer" not in out
    assert f"Sent 3 alerts for 3 new MQAs at 2024-03-05 to {shown_url(webhook.url)} (from --webhook)." in out

    assert alert(store_dir, *args) == 0
    assert len(webhook.requests) == 3 and len(logged(store_dir)) == 3
    assert "Nothing to send: 3 new MQAs at 2024-03-05; 3 already announced for this run." in capsys.readouterr().out


def test_the_first_run_announces_nothing(store_dir, webhook, capsys):
    assert alert(store_dir, "--as-of", "2024-02-20", "--webhook", webhook.url) == 0
    assert webhook.requests == []
    assert "no earlier run in the store to compare with" in capsys.readouterr().out


@pytest.mark.parametrize("cooldown, announced", [(14, False), (7, True)])
def test_an_account_that_drops_and_comes_back_waits_out_the_cooldown(store_dir, webhook, capsys, cooldown, announced):
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url) == 0
    assert len(webhook.requests) == 3
    # A1 is below the cutoff at D+7 and an MQA again at D+14.
    assert alert(store_dir, "--as-of", "2024-03-19", "--webhook", webhook.url, "--cooldown-days", str(cooldown)) == 0
    assert len(webhook.requests) == 3 + announced
    out = capsys.readouterr().out
    if announced:
        assert webhook.posted()[-1]["text"].startswith("New MQA: A1, score 95") and (logged(store_dir)["as_of"] > D).sum() == 1
    else:
        assert (f"Nothing to send: 1 new MQA at 2024-03-19; 1 skipped (announced within the {cooldown}-day cooldown); "
                "dispositions not checked (pass --data to hold back accounts sales rejected or recycled).") in out


def test_the_cooldown_is_kept_per_channel(store_dir, webhook, monkeypatch):
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url) == 0
    monkeypatch.setenv("MQA_WEBHOOK_URL", webhook.url.replace("SECRET", "OTHER"))
    assert alert(store_dir, "--as-of", "2024-03-05") == 0  # another channel hears of them too
    assert len(webhook.requests) == 6 and logged(store_dir)["channel"].nunique() == 2


# --- delivery: retries, failures ------------------------------------------------------------------------------

def test_a_500_is_retried_and_the_message_logged_once(store_dir, webhook, capsys):
    webhook.script = [(500, {})]
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url) == 0
    assert len(webhook.requests) == 4  # the first message twice, then the other two
    assert webhook.requests[0]["json"] == webhook.requests[1]["json"]
    assert len(logged(store_dir)) == 3 and not logged(store_dir)["account_id"].duplicated().any()


def test_a_429_waits_as_retry_after_says(store_dir, webhook):
    webhook.script = [(429, {"Retry-After": "1"})]
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url) == 0
    first, second = webhook.requests[:2]
    assert first["json"] == second["json"]
    assert second["time"] - first["time"] >= 0.9  # the backoff factor alone (0.01 s) would not wait
    assert len(logged(store_dir)) == 3


def test_undelivered_messages_exit_3_unlogged_and_the_next_run_sends_them(store_dir, webhook, capsys):
    webhook.always = 500
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url) == EXIT_NOT_DELIVERED
    assert len(webhook.requests) == 3 * 3  # each message, then 2 retries
    assert logged(store_dir).empty
    err = capsys.readouterr().err
    assert (f"mqa alert: 3 of 3 messages (3 accounts: A1, A2, A3) not delivered to {shown_url(webhook.url)}: "
            "HTTP 500 after 2 retries. They are not logged, so the next run of 'mqa alert' retries them") in err
    webhook.always = None
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url) == 0
    assert len(webhook.requests) == 9 + 3 and len(logged(store_dir)) == 3


def test_one_failure_does_not_stop_the_others(store_dir, webhook, capsys):
    webhook.script = [(404, {})]  # not retried: a 404 will not mend
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url) == EXIT_NOT_DELIVERED
    assert len(webhook.requests) == 3 and sorted(logged(store_dir)["account_id"]) == ["A2", "A3"]
    assert "1 of 3 messages (1 account: A1) not delivered" in capsys.readouterr().err


def test_a_webhook_nobody_answers_exits_3(store_dir, monkeypatch, capsys):
    monkeypatch.delenv("MQA_WEBHOOK_URL", raising=False)
    dead = Webhook()
    url = dead.url
    dead.close()  # the port is closed: connection refused
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", url) == EXIT_NOT_DELIVERED
    err = capsys.readouterr().err
    assert "no answer (connection refused or host unreachable) after 2 retries" in err and SECRET not in err
    assert logged(store_dir).empty


# --- dry run, grouping, the secret ----------------------------------------------------------------------------

def test_dry_run_prints_payloads_and_sends_and_logs_nothing(store_dir, webhook, capsys):
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url, "--dry-run") == 0
    captured = capsys.readouterr()
    payloads = [json.loads(line) for line in captured.out.splitlines()]
    assert [p["text"].split(",")[0] for p in payloads] == ["New MQA: A1", "New MQA: A2", "New MQA: A3"]  # no --data: ids
    assert "Dry run: 3 messages for 3 new MQAs at 2024-03-05" in captured.err
    assert webhook.requests == [] and logged(store_dir).empty
    assert alert(store_dir, "--dry-run") == 0  # no webhook needed; the latest run: A1 is new again at D+14
    assert len(capsys.readouterr().out.splitlines()) == 1 and webhook.requests == []


def test_grouped_per_owner(store_dir, webhook, capsys):
    assert alert(store_dir, "--as-of", "2024-03-05", "--webhook", webhook.url, "--data", str(store_dir / "history"),
                 "--group-by-owner") == 0
    posts = webhook.posted()
    assert [p["text"] for p in posts] == ["2 new MQAs for Dana Whitfield at 2024-03-05: Acme, Gamma",
                                          "1 unassigned new MQA at 2024-03-05: Beta"]
    assert "Call Ann Archer, VP of Engineering" in json.dumps(posts[0]["blocks"])
    assert sorted(logged(store_dir)["account_id"]) == ["A1", "A2", "A3"]
    out = capsys.readouterr().out
    assert "  sent: owner Dana Whitfield: A1, A3\n  sent: unassigned: A2\n" in out and "Sent 2 alerts for 3 new MQAs" in out


def test_the_webhook_url_is_shown_nowhere(store_dir, webhook, capsys, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MQA_WEBHOOK_URL", webhook.url)
    webhook.script = [(500, {}), (429, {"Retry-After": "0"})]
    assert alert(store_dir, "--as-of", "2024-03-05") == 0
    webhook.always = 503
    assert alert(store_dir, "--as-of", "2024-03-19", "--cooldown-days", "0") == EXIT_NOT_DELIVERED
    assert alert(store_dir, "--as-of", "2024-03-19", "--cooldown-days", "0", "--dry-run") == 0
    captured = capsys.readouterr()
    assert "from MQA_WEBHOOK_URL" in captured.out and "http://127.0.0.1:" in captured.out
    assert "urllib3" in caplog.text  # the retries were logged at debug level, redacted
    for text in (captured.out, captured.err, caplog.text):
        assert "SECRET" not in text
    assert b"SECRET" not in (store_dir / "store" / "mqa-scores.sqlite").read_bytes()


# --- user errors: exit 2 with the fix -------------------------------------------------------------------------

def test_no_webhook_is_refused_with_the_three_ways(store_dir, webhook, capsys):
    assert alert(store_dir) == 2
    err = capsys.readouterr().err
    assert ("mqa alert: no webhook to post to; pass --webhook URL, set the environment variable MQA_WEBHOOK_URL "
            "(best: the URL is a secret), or set [alert] webhook_url in the configuration") in err


@pytest.mark.parametrize("args, expected", [
    (("--as-of", "2024-03-06"), "holds no run at 2024-03-06; pass one of its runs' dates (the latest: 2024-02-20, "
                                "2024-03-05, 2024-03-12, 2024-03-19)"),
    (("--group-by-owner",), "grouping by owner needs the owners: pass --data"),
    (("--cooldown-days", "-1"), "--cooldown-days must be 0 or more, got -1"),
    (("--report-url", "reports/"), "--report-url: must be an http(s) URL"),
])
def test_user_errors_exit_2(store_dir, webhook, capsys, args, expected):
    assert alert(store_dir, "--webhook", webhook.url, *args) == 2
    assert expected in capsys.readouterr().err
    assert webhook.requests == []


def test_a_missing_store_and_a_bad_url_are_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MQA_WEBHOOK_URL", "hooks.slack.com/services/" + SECRET)
    assert main(["alert", "--store", str(tmp_path / "none"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "MQA_WEBHOOK_URL: not an http(s) URL with a host (the value is not shown: it is a secret)" in err
    assert SECRET not in err
    monkeypatch.delenv("MQA_WEBHOOK_URL")
    assert main(["alert", "--store", str(tmp_path / "none"), "--dry-run"]) == 2
    assert "no score store there; write one with 'mqa predict ... --store'" in capsys.readouterr().err


# --- the messages themselves ----------------------------------------------------------------------------------

def test_names_from_the_data_cannot_ping_or_link():
    due = run_frame(D, {"A1": (97, True, True)})
    rows = alert_rows(due).assign(name="<!channel> & <https://evil.example|click>", owner="<@U123>")
    payload = build_messages(rows, AlertSettings())[0].payload
    text = json.dumps(payload)
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in payload["text"]


def test_large_groups_are_split():
    due = run_frame(D, {f"A{i:02d}": (90, True, True) for i in range(45)})
    messages = build_messages(alert_rows(due), AlertSettings(group_by_owner=True))
    assert [len(m.accounts) for m in messages] == [20, 20, 5]
    assert messages[0].payload["text"].startswith("45 unassigned new MQAs (part 1 of 3) at 2024-03-05")


# --- end to end: a real (tiny) model's scores ---------------------------------------------------------------

def test_a_trained_models_new_mqas_are_announced_with_its_horizon(tmp_path, webhook, capsys):
    from mqa.features.files import write_history
    from mqa.features.history import read_history
    from mqa.features.synth import generate_history
    from mqa.predict.batch import predict_history
    from mqa.train.pipeline import train_model

    write_history(generate_history(n_accounts=200, seed=3), tmp_path / "history")
    history = read_history(tmp_path / "history")
    bundle = train_model(history, seed=0).bundle
    bundle.save(tmp_path / "model")
    store = open_store(tmp_path / "store")
    before = predict_history(history, bundle, pd.Timestamp("2026-03-03", tz="UTC"))
    store.write_run(before)
    now = predict_history(history, bundle, pd.Timestamp("2026-03-17", tz="UTC"), previous=before)
    store.write_run(now, previous_as_of=before["as_of"].iloc[0])
    new = now.loc[now["became_mqa"].fillna(False).to_numpy(dtype=bool), "account_id"]
    assert len(new) > 0  # else the test proves nothing
    (tmp_path / "mqa.toml").write_text("[labels]\nhorizon_days = 30\n")  # the model's own horizon (90) wins
    assert main(["alert", "--store", str(tmp_path / "store"), "--webhook", webhook.url, "--data", str(tmp_path / "history"),
                 "--model", str(tmp_path / "model"), "--config", str(tmp_path / "mqa.toml")]) == 0
    posts = webhook.posted()
    assert len(posts) == len(new)
    assert all("open an opportunity within 90 days" in json.dumps(p["blocks"]) and "Owner:" in p["text"] for p in posts)
    assert sorted(store.alerts()["account_id"]) == sorted(new)
    assert f"Sent {len(new)} alert" in capsys.readouterr().out
