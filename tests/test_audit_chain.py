"""Reading an audit log back: every edit, removal, insertion or reordering breaks the chain."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from packager.errors import AuditLogError
from server.audit import GENESIS, AuditLog, AuditRequest, find_records, verify_chain
from server.audit.record import line_hash

KEY = b"audit-test-key-0123456789abcdef"
MODEL = {"name": "readmission", "version": "1.2.0", "sha256": "ab" * 32}


def write_lines(path: Path, count: int, first: int = 0) -> None:
    audit = AuditLog(path, KEY)
    for i in range(first, first + count):
        request = AuditRequest(
            request_id=f"req-{i}",
            endpoint="/predict",
            method="POST",
            status=200,
            latency_ms=1.0,
            rows=[{"age": i}],
            predictions=["yes"],
        )
        audit.write(request, MODEL)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def test_an_untouched_log_verifies_and_each_line_chains_to_the_one_before(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_lines(log, 5)
    report = verify_chain(log)
    assert report.lines == 5 and report.starts_after == 0
    records = [orjson.loads(line) for line in lines_of(log)]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["prev_hash"] == GENESIS
    assert records[3]["prev_hash"] == line_hash(lines_of(log)[2])
    assert report.last_hash == line_hash(lines_of(log)[-1])


def _edit(lines: list[bytes]) -> list[bytes]:
    lines[2] = lines[2].replace(b'"status":200', b'"status":201')
    return lines


def _delete(lines: list[bytes]) -> list[bytes]:
    del lines[2]
    return lines


def _delete_first(lines: list[bytes]) -> list[bytes]:
    return lines[1:]


def _insert(lines: list[bytes]) -> list[bytes]:
    # A forger who knows the format: the new line chains correctly from the one before it.
    forged = orjson.loads(lines[1])
    forged.update(request_id="forged", seq=3, prev_hash=line_hash(lines[1]))
    return [*lines[:2], orjson.dumps(forged) + b"\n", *lines[2:]]


def _reorder(lines: list[bytes]) -> list[bytes]:
    lines[2], lines[3] = lines[3], lines[2]
    return lines


def _cut_last(lines: list[bytes]) -> list[bytes]:
    lines[-1] = lines[-1][:-20]
    return lines


def _garble(lines: list[bytes]) -> list[bytes]:
    lines[1] = b'{"seq": 2, "prev_hash": "not closed\n'
    return lines


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_edit, "line 4: the line before it was edited"),
        (_delete, r"line 3: 1 line\(s\) removed before it \(seq jumps from 2\)"),
        (_delete_first, r"line 1: 1 line\(s\) removed before it"),
        (_insert, "line 4: it follows audit.jsonl line 2: the lines between were inserted"),
        (_reorder, "line 3: lines are out of order: it follows audit.jsonl line 4"),
        (_cut_last, r"line 5: cut short \(no newline at its end\)"),
        (_garble, "line 2: not JSON; the line was edited or damaged"),
    ],
    ids=["edited", "deleted", "first-deleted", "inserted", "reordered", "truncated", "garbled"],
)
def test_verify_names_the_first_broken_line_and_what_is_wrong(
    tmp_path: Path, tamper: Callable[[list[bytes]], list[bytes]], message: str
) -> None:
    log = tmp_path / "audit.jsonl"
    write_lines(log, 5)
    log.write_bytes(b"".join(tamper(lines_of(log))))
    with pytest.raises(AuditLogError, match=f"audit.jsonl {message}"):
        verify_chain(log)


def test_a_new_day_chains_from_the_last_line_of_the_day_before(tmp_path: Path) -> None:
    write_lines(tmp_path, 2)
    (today,) = tmp_path.glob("audit-*.jsonl")
    today.rename(tmp_path / "audit-2000-01-01.jsonl")
    write_lines(tmp_path, 3, first=2)
    assert verify_chain(tmp_path).lines == 5
    first_of_today = orjson.loads(lines_of(today)[0])
    assert first_of_today["seq"] == 3
    assert first_of_today["prev_hash"] == line_hash(
        lines_of(tmp_path / "audit-2000-01-01.jsonl")[1]
    )
    # A day's file alone continues an earlier one: the lines before it are not checked.
    assert verify_chain(today).starts_after == 2


def test_a_removed_line_in_an_earlier_day_breaks_the_next_day_too(tmp_path: Path) -> None:
    write_lines(tmp_path, 3)
    (today,) = tmp_path.glob("audit-*.jsonl")
    earlier = tmp_path / "audit-2000-01-01.jsonl"
    today.rename(earlier)
    write_lines(tmp_path, 2, first=3)
    earlier.write_bytes(b"".join(lines_of(earlier)[:2]))
    with pytest.raises(
        AuditLogError, match=r"audit-\d{4}-\d\d-\d\d.jsonl line 1: 1 line\(s\) removed"
    ):
        verify_chain(tmp_path)


def test_a_line_left_half_written_is_reported_and_the_log_goes_on_after_it(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_lines(log, 2)
    with log.open("ab") as stream:
        stream.write(b'{"v":1,"event_id":"cut')
    write_lines(log, 1, first=2)
    assert len(lines_of(log)) == 4 and lines_of(log)[2] == b'{"v":1,"event_id":"cut\n'
    with pytest.raises(AuditLogError, match="line 3: not JSON"):
        verify_chain(log)


def test_find_answers_by_request_id_and_by_input_hash(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    write_lines(log, 4)
    (by_id,) = find_records(log, request_id="req-2")
    assert by_id["request_id"] == "req-2" and by_id["model"] == MODEL
    wanted = by_id["input_hmacs"][0]
    assert [r["request_id"] for r in find_records(log, input_hash=wanted.upper())] == ["req-2"]
    assert list(find_records(log, request_id="nobody")) == []


@pytest.mark.parametrize("make", ["missing", "empty-directory"])
def test_verify_refuses_a_path_that_holds_no_log(tmp_path: Path, make: str) -> None:
    path = tmp_path / "logs"
    if make == "empty-directory":
        path.mkdir()
    with pytest.raises(AuditLogError, match=r"logs (is not an audit log|holds no audit files)"):
        verify_chain(path)
