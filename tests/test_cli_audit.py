"""``deployml audit``: verify the chain, find records, hash a row; and serve's key check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
from click.testing import CliRunner, Result

from deployml.cli import cli
from server.audit import AuditLog, AuditRequest, row_hmac

KEY = "audit-test-key-0123456789abcdef"
MODEL = {"name": "readmission", "version": "1.2.0", "sha256": "ab" * 32}
ROW = {"age": 52, "sex": "F", "bmi": 27.5}
Runner = Callable[..., Result]


def write_log(path: Path) -> None:
    audit = AuditLog(path, KEY.encode())
    for i, row in enumerate([{"age": 40}, ROW, {"age": 61}]):
        request = AuditRequest(
            request_id=f"req-{i}",
            endpoint="/predict",
            method="POST",
            status=200,
            latency_ms=1.0,
            caller="ward-7",
            rows=[row],
            predictions=["yes"],
            probabilities=[{"no": 0.25, "yes": 0.75}],
        )
        audit.write(request, MODEL)


def test_verify_reports_an_intact_chain_with_its_line_count(tmp_path: Path, runner: Runner) -> None:
    write_log(tmp_path)
    result = runner("audit", "verify", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"OK: {tmp_path}: 3 line(s) in 1 file(s), chain intact"


def test_verify_exits_non_zero_naming_the_first_broken_line(tmp_path: Path, runner: Runner) -> None:
    log = tmp_path / "audit.jsonl"
    write_log(log)
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[1].replace(b'"yes"', b'"no"', 1) + lines[2])
    result = runner("audit", "verify", log)
    assert result.exit_code == 1
    assert result.output == (
        "Error: audit.jsonl line 3: the line before it was edited "
        "(its hash is not the prev_hash this line recorded)\n"
    )


def test_find_prints_the_record_of_a_request(tmp_path: Path, runner: Runner) -> None:
    write_log(tmp_path)
    result = runner("audit", "find", tmp_path, "--request-id", "req-1")
    assert result.exit_code == 0, result.output
    (record,) = [orjson.loads(line) for line in result.output.splitlines()]
    assert record["request_id"] == "req-1" and record["model"] == MODEL
    assert record["caller"] == "ward-7" and record["time"]
    assert record["outputs"] == [{"prediction": "yes", "probabilities": {"no": 0.25, "yes": 0.75}}]


def test_a_row_hashed_with_the_key_finds_the_request_that_sent_it(
    tmp_path: Path, runner: Runner
) -> None:
    write_log(tmp_path)
    reordered = orjson.dumps({"bmi": 27.5, "sex": "F", "age": 52}).decode()
    hashed = runner("audit", "hash", "--row", reordered, env={"DEPLOYML_AUDIT_KEY": KEY})
    assert hashed.exit_code == 0, hashed.output
    digest = hashed.output.split()[0]
    assert digest == row_hmac(KEY.encode(), ROW)
    from_stdin = CliRunner().invoke(
        cli, ["audit", "hash", "--row", "-"], input=reordered, env={"DEPLOYML_AUDIT_KEY": KEY}
    )
    assert from_stdin.output == hashed.output
    found = runner("audit", "find", tmp_path, "--input-hash", digest)
    assert [orjson.loads(line)["request_id"] for line in found.output.splitlines()] == ["req-1"]


def test_find_without_a_match_exits_one(tmp_path: Path, runner: Runner) -> None:
    write_log(tmp_path)
    result = runner("audit", "find", tmp_path, "--request-id", "nobody")
    assert result.exit_code == 1
    assert result.output == f"Error: no record in {tmp_path} has request id nobody\n"


def test_find_needs_exactly_one_thing_to_look_for(tmp_path: Path, runner: Runner) -> None:
    write_log(tmp_path)
    assert runner("audit", "find", tmp_path).exit_code == 2
    both = runner("audit", "find", tmp_path, "--request-id", "a", "--input-hash", "b")
    assert both.exit_code == 2 and "give one of --request-id and --input-hash" in both.output


def test_hash_without_the_key_names_the_variable(runner: Runner) -> None:
    result = runner("audit", "hash", "--row", "{}", env={"DEPLOYML_AUDIT_KEY": ""})
    assert result.exit_code == 1
    assert result.output.startswith("Error: DEPLOYML_AUDIT_KEY: not set")


def test_hash_refuses_a_row_that_is_not_an_object_without_quoting_it(runner: Runner) -> None:
    result = runner("audit", "hash", "--row", '["ZQXJ-1"]', env={"DEPLOYML_AUDIT_KEY": KEY})
    assert result.exit_code == 2 and "expected one row as a JSON object" in result.output
    assert "ZQXJ-1" not in result.output


def test_serve_with_an_audit_log_but_no_key_stops_in_one_line(
    binary_artefact: Path, tmp_path: Path, runner: Runner
) -> None:
    env = {"DEPLOYML_ARTEFACT": "", "DEPLOYML_AUDIT_LOG": str(tmp_path), "DEPLOYML_AUDIT_KEY": ""}
    result = runner("serve", binary_artefact, env=env)
    assert result.exit_code == 1
    assert result.output == (
        "Error: DEPLOYML_AUDIT_KEY: not set; DEPLOYML_AUDIT_LOG needs a secret key for the "
        "input hashes (at least 16 characters)\n"
    )
