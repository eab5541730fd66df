"""Failure alerts reach a Slack-compatible webhook (a local HTTP server) and carry no values."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from conftest import write

from carestar.cli import main


@pytest.fixture
def webhook(monkeypatch):
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("CARESTAR_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    yield received
    server.shutdown()


def test_a_refused_file_sends_one_alert_without_values(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("CARESTAR_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    write(tmp_path / "land", "patients/ok.csv", "patient_id,first_name\nP1,Zebulon\n")
    write(tmp_path / "land", "patients/bad.csv", "first_name\nZebulon\n")  # required column missing
    assert main(["load", str(tmp_path / "land"), "--no-progress"]) == 3
    (alert,) = webhook
    assert "bad.csv (header_missing_required)" in alert["text"]
    assert "Zebulon" not in alert["text"]
    assert "raw.load_ledger" in alert["text"]


def test_a_clean_run_sends_nothing(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("CARESTAR_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    write(tmp_path / "land", "patients/ok.csv", "patient_id,first_name\nP1,Ann\n")
    assert main(["load", str(tmp_path / "land"), "--no-progress"]) == 0
    assert webhook == []


def test_an_unreachable_webhook_does_not_break_the_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CARESTAR_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("CARESTAR_ALERT_WEBHOOK", "http://127.0.0.1:9/nothing-listens")
    write(tmp_path / "land", "patients/bad.csv", "first_name\nAnn\n")
    assert main(["load", str(tmp_path / "land"), "--no-progress"]) == 3
