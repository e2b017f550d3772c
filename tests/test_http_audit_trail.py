"""The audit trail over HTTP: a line per /predict and /metadata, no values, and fail closed."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import g
from flask.testing import FlaskClient

from server import Settings, create_app
from server.api_keys import add_client
from server.audit import row_hmac, verify_chain

KEY = "ZQXJ-AUDIT-KEY-7731-0123456789"
PATIENT = "ZQXJ-PATIENT-NAME-4410"
Client = Callable[..., FlaskClient]


def example_rows(artefact: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((artefact / "self_test.json").read_text())["inputs"]
    return rows


def records(log: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in log.read_bytes().splitlines()]


def test_each_predict_and_metadata_request_gets_one_line_with_what_was_answered(
    pipeline_artefact: Path, tmp_path: Path, client: Client
) -> None:
    log = tmp_path / "audit.jsonl"
    http = client(pipeline_artefact, audit_log=log, audit_key=KEY, audit_key_id="2026-11")
    rows = example_rows(pipeline_artefact)[:2]
    answer = http.post("/predict", json={"instances": rows}, headers={"X-Request-ID": "a-1"}).json
    assert http.get("/metadata").status_code == 200
    assert http.post("/predict", json={"instances": []}).status_code == 422
    assert http.get("/livez").status_code == http.get("/readyz").status_code == 200
    first, metadata, refused = records(log)
    assert first["request_id"] == "a-1" and first["endpoint"] == "/predict"
    assert first["status"] == 200 and first["error"] is None and first["rows"] == 2
    assert first["model"] == answer["model"]
    assert first["key_id"] == "2026-11"
    assert first["input_hmacs"] == [row_hmac(KEY.encode(), row) for row in rows]
    assert [o["prediction"] for o in first["outputs"]] == answer["predictions"]
    assert [o["probabilities"] for o in first["outputs"]] == answer["probabilities"]
    assert first["caller"] is None and first["latency_ms"] > 0
    assert (metadata["endpoint"], metadata["method"], metadata["rows"]) == (
        "/metadata",
        "GET",
        None,
    )
    assert (refused["status"], refused["error"], refused["outputs"]) == (422, "empty_batch", None)
    assert verify_chain(log).lines == 3


def test_no_feature_value_and_no_key_reaches_the_audit_log_or_the_server_logs(
    pipeline_artefact: Path, tmp_path: Path, client: Client, logs: pytest.LogCaptureFixture
) -> None:
    log = tmp_path / "audit.jsonl"
    http = client(pipeline_artefact, audit_log=log, audit_key=KEY)
    row = example_rows(pipeline_artefact)[0]
    unusual = {**row, "sex": PATIENT, "bmi": 98765.4321}
    answered = http.post("/predict", json=unusual)
    assert answered.status_code == 200
    assert {w["feature"] for w in answered.json["warnings"]} == {"sex", "bmi"}
    assert http.post("/predict", json={**row, "patient": PATIENT}).status_code == 422
    text = log.read_text()
    (warned, _) = records(log)
    assert {w["feature"] for w in warned["warnings"]} == {"sex", "bmi"}
    assert warned["input_hmacs"] == [row_hmac(KEY.encode(), unusual)]
    for secret in (PATIENT, "98765.4321", KEY):
        assert secret not in text
        assert secret not in logs.text


def test_the_callers_name_is_written_when_authentication_gave_one(
    binary_artefact: Path, tmp_path: Path
) -> None:
    log = tmp_path / "audit.jsonl"
    app = create_app(Settings(artefact=binary_artefact, audit_log=log, audit_key=KEY))
    app.before_request(lambda: setattr(g, "client", "ward-7-frontend"))
    assert app.test_client().get("/metadata").status_code == 200
    assert records(log)[0]["caller"] == "ward-7-frontend"


def test_when_the_log_cannot_be_written_predict_is_refused_and_readyz_says_why(
    pipeline_artefact: Path, tmp_path: Path, client: Client
) -> None:
    log, moved = tmp_path / "audit.jsonl", tmp_path / "moved.jsonl"
    http = client(pipeline_artefact, audit_log=log, audit_key=KEY)
    row = example_rows(pipeline_artefact)[0]
    assert http.post("/predict", json=row).status_code == 200
    log.rename(moved)
    log.mkdir()  # the log cannot be opened for appending any more
    refused = http.post("/predict", json=row, headers={"X-Request-ID": "refused-1"})
    reason = f"the audit log cannot be written: Is a directory ({log})"
    assert refused.status_code == 503
    assert refused.headers["X-Request-ID"] == "refused-1"
    assert refused.json == {
        "error": {
            "code": "audit_unavailable",
            "message": f"{reason}; requests are refused until it can be written",
            "details": [],
        }
    }
    assert http.get("/metadata").status_code == 503
    ready = http.get("/readyz")
    assert (ready.status_code, ready.json) == (503, {"status": "not ready", "reason": reason})
    assert http.get("/livez").status_code == 200
    log.rmdir()
    moved.rename(log)
    assert http.get("/readyz").status_code == 200
    assert http.post("/predict", json=row).status_code == 200
    assert verify_chain(log).lines == 2


def test_a_full_disk_refuses_predictions(pipeline_artefact: Path, client: Client) -> None:
    http = client(pipeline_artefact, audit_log=Path("/dev/full"), audit_key=KEY)
    refused = http.post("/predict", json=example_rows(pipeline_artefact)[0])
    assert refused.status_code == 503 and refused.json["error"]["code"] == "audit_unavailable"
    assert "No space left on device" in refused.json["error"]["message"]


def test_fail_open_answers_and_logs_an_error_for_each_unaudited_answer(
    pipeline_artefact: Path, client: Client, logs: pytest.LogCaptureFixture
) -> None:
    http = client(
        pipeline_artefact, audit_log=Path("/dev/full"), audit_key=KEY, audit_fail_open=True
    )
    row = example_rows(pipeline_artefact)[0]
    for i in range(3):
        answered = http.post("/predict", json=row, headers={"X-Request-ID": f"open-{i}"})
        assert answered.status_code == 200
    unaudited = [
        r.getMessage()
        for r in logs.records
        if r.levelno == logging.ERROR and r.getMessage().startswith("AUDIT LOG NOT WRITTEN")
    ]
    assert [m.split("; request ")[1].split()[0] for m in unaudited] == [
        "open-0",
        "open-1",
        "open-2",
    ]


def test_fail_open_stays_ready_when_the_log_cannot_be_written(
    binary_artefact: Path, tmp_path: Path, client: Client
) -> None:
    unwritable = tmp_path / "missing" / "audit.jsonl"
    assert client(binary_artefact, audit_log=unwritable, audit_key=KEY).get("/readyz").json == {
        "status": "not ready",
        "reason": f"the audit log cannot be written: No such file or directory ({unwritable})",
    }
    http = client(binary_artefact, audit_log=unwritable, audit_key=KEY, audit_fail_open=True)
    assert http.get("/readyz").status_code == 200


def test_the_audit_line_names_the_client_whose_key_was_accepted_and_records_refusals(
    pipeline_artefact: Path, tmp_path: Path, client: Client
) -> None:
    log, keys = tmp_path / "audit.jsonl", tmp_path / "keys"
    key = add_client(keys, "ward-3")
    http = client(pipeline_artefact, audit_log=log, audit_key=KEY, api_keys_file=keys)
    rows = example_rows(pipeline_artefact)[:1]
    bearer = {"Authorization": f"Bearer {key}"}
    assert http.post("/predict", json={"instances": rows}, headers=bearer).status_code == 200
    assert http.post("/predict", json={"instances": rows}).status_code == 401
    accepted, refused = records(log)
    assert (accepted["caller"], accepted["status"]) == ("ward-3", 200)
    assert (refused["caller"], refused["status"], refused["error"]) == (None, 401, "unauthorized")
    assert key not in log.read_text()
