"""Writing the audit log: whole lines from many workers, and refusing to answer unaudited.

The concurrency test runs a real gunicorn (4 workers x 4 threads) and hammers it from 32
client threads; every answered request must have exactly one line, and the chain must hold.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from test_serve_end_to_end import DEPLOYML, clean_env, example_rows, free_port, post, running

from server.audit import AuditLog, AuditRequest, verify_chain
from server.errors import AuditUnavailableError

KEY = b"audit-test-key-0123456789abcdef"
MODEL = {"name": "readmission", "version": "1.2.0", "sha256": "ab" * 32}
REQUESTS = 400


def request(request_id: str = "r") -> AuditRequest:
    return AuditRequest(
        request_id=request_id, endpoint="/predict", method="POST", status=200, latency_ms=1.0
    )


def test_a_full_disk_refuses_the_answer(tmp_path: Path) -> None:
    audit = AuditLog(Path("/dev/full"), KEY)
    with pytest.raises(AuditUnavailableError) as raised:
        audit.write(request(), MODEL)
    assert raised.value.status == 503
    assert raised.value.message == (
        "the audit log cannot be written: No space left on device (/dev/full); "
        "requests are refused until it can be written"
    )


def test_fail_open_answers_anyway_and_logs_an_error_each_time(
    logs: pytest.LogCaptureFixture,
) -> None:
    audit = AuditLog(Path("/dev/full"), KEY, fail_open=True)
    audit.write(request("first"), MODEL)
    audit.write(request("second"), MODEL)
    # (the fixture may see each record twice: the logger propagates until the app configures it)
    errors = sorted({r.getMessage() for r in logs.records if r.levelno == logging.ERROR})
    assert [e.split("; request ")[1].split()[0] for e in errors] == ["first", "second"]
    assert errors[1].startswith("AUDIT LOG NOT WRITTEN: the audit log cannot be written")
    assert "request second was answered anyway because DEPLOYML_AUDIT_FAIL_OPEN" in errors[1]


def test_problem_says_why_the_log_cannot_be_written_until_it_can(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    audit = AuditLog(log, KEY)
    audit.write(request(), MODEL)
    assert audit.problem() is None
    log.rename(tmp_path / "moved.jsonl")
    log.mkdir()  # what was the log file is now a directory: opening it to append fails
    assert audit.problem() == f"the audit log cannot be written: Is a directory ({log})"
    log.rmdir()
    (tmp_path / "moved.jsonl").rename(log)
    assert audit.problem() is None


def test_the_key_stays_out_of_the_writers_repr(tmp_path: Path) -> None:
    assert KEY.decode() not in repr(AuditLog(tmp_path, KEY))


def test_concurrent_requests_to_real_gunicorn_each_get_one_whole_chained_line(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    port, log, audit_dir = free_port(), tmp_path / "serve.log", tmp_path / "audit"
    audit_dir.mkdir()
    command = [
        *DEPLOYML,
        "serve",
        str(pipeline_artefact),
        "--port",
        str(port),
        "--workers",
        "4",
    ]
    env = clean_env(
        DEPLOYML_WORKER_THREADS="4",
        DEPLOYML_AUDIT_LOG=str(audit_dir),
        DEPLOYML_AUDIT_KEY=KEY.decode(),
    )
    rows = example_rows(pipeline_artefact)
    with running(command, port, log, env) as base:
        # Batches of different sizes give lines of different lengths, as in service.
        def send(i: int) -> int:
            batch = {"instances": rows[: 1 + i % len(rows)] * (1 + i % 7)}
            status, _, _ = post(base, batch, {"X-Request-ID": f"load-{i}"})
            return status

        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(send, range(REQUESTS)))
        with urllib.request.urlopen(f"{base}/readyz", timeout=10) as response:
            assert json.loads(response.read()) == {"status": "ready"}
    assert statuses == [200] * REQUESTS
    report = verify_chain(audit_dir)
    assert report.lines == REQUESTS
    records = [orjson.loads(line) for f in report.files for line in f.read_bytes().splitlines()]
    assert sorted(r["request_id"] for r in records) == sorted(f"load-{i}" for i in range(REQUESTS))
    assert {r["status"] for r in records} == {200}
    assert "Using worker: ReadingWorker" in log.read_text()


def test_real_gunicorn_refuses_unaudited_answers_and_recovers(
    binary_artefact: Path, tmp_path: Path
) -> None:
    port, log, audit_file = free_port(), tmp_path / "serve.log", tmp_path / "audit.jsonl"
    command = [*DEPLOYML, "serve", str(binary_artefact), "--port", str(port), "--workers", "2"]
    env = clean_env(DEPLOYML_AUDIT_LOG=str(audit_file), DEPLOYML_AUDIT_KEY=KEY.decode())
    row = example_rows(binary_artefact)[0]
    with running(command, port, log, env) as base:
        assert post(base, row)[0] == 200
        audit_file.rename(tmp_path / "moved.jsonl")
        audit_file.mkdir()
        refused = [post(base, row) for _ in range(4)]  # both workers refuse
        assert {(status, body["error"]["code"]) for status, body, _ in refused} == {
            (503, "audit_unavailable")
        }
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(f"{base}/readyz", timeout=10)
        assert json.loads(not_ready.value.read())["reason"].startswith(
            "the audit log cannot be written: Is a directory"
        )
        audit_file.rmdir()
        (tmp_path / "moved.jsonl").rename(audit_file)
        assert [post(base, row)[0] for _ in range(4)] == [200] * 4
    assert verify_chain(audit_file).lines == 5
    assert KEY.decode() not in log.read_text()
