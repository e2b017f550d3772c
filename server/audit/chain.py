"""Reading an audit log back: checking its chain of line hashes, and finding records.

A log is a file, or a directory of daily files (``audit-YYYY-MM-DD.jsonl``) read in date
order as one chain. Every line holds ``seq`` (its place in the chain, from 1) and
``prev_hash``, the SHA-256 of the line before it; the first line's is the genesis value. A
log file must start the chain; a daily file may continue from an earlier one that is not
given or was archived (its first ``seq`` says how many lines came before; they are not
checked).

:func:`verify_chain` stops at the first broken line and says what is wrong with it:
cut short, not a record, edited, lines removed before it, or lines reordered or inserted.
A hash chain cannot tell that the newest lines were edited or removed (no later line records
their hash); send the report's ``last_hash`` elsewhere to close that gap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import orjson

from packager.errors import AuditLogError
from server.audit.record import GENESIS, line_hash
from server.audit.writer import DAILY_PATTERN

__all__ = ["ChainReport", "find_records", "log_files", "verify_chain"]


@dataclass(frozen=True)
class ChainReport:
    """An intact chain: its files, how many lines, the seq it starts after, its newest hash."""

    files: list[Path]
    lines: int
    starts_after: int
    last_hash: str


@dataclass(frozen=True)
class _Line:
    file: Path
    number: int
    raw: bytes
    complete: bool

    @property
    def where(self) -> str:
        return f"{self.file.name} line {self.number}"


def log_files(path: Path) -> list[Path]:
    """The files of a log: the file itself, or a directory's daily files in date order."""
    if path.is_dir():
        files = sorted(path.glob(DAILY_PATTERN))
        if not files:
            raise AuditLogError(f"{path} holds no audit files ({DAILY_PATTERN})")
        return files
    if not path.is_file():
        raise AuditLogError(f"{path} is not an audit log file or directory")
    return [path]


def verify_chain(path: Path) -> ChainReport:
    """Check every line of the log at ``path``; raise AuditLogError naming the first broken one."""
    files = log_files(path)
    expected, seq, starts_after, count = GENESIS, 0, 0, 0
    for index, line in enumerate(_lines(files)):
        record = _record(line)
        if index == 0 and fnmatch(files[0].name, DAILY_PATTERN) and record["prev_hash"] != GENESIS:
            # A daily file continues the one before it, which may have been archived.
            expected, seq = record["prev_hash"], record["seq"] - 1
            starts_after = seq
        if record["prev_hash"] != expected or record["seq"] != seq + 1:
            raise AuditLogError(f"{line.where}: {_diagnose(files, index, record, seq)}")
        expected, seq, count = line_hash(line.raw), record["seq"], count + 1
    return ChainReport(files=files, lines=count, starts_after=starts_after, last_hash=expected)


def find_records(
    path: Path, request_id: str | None = None, input_hash: str | None = None
) -> Iterator[dict[str, Any]]:
    """Records whose request id is ``request_id`` or whose input hashes hold ``input_hash``."""
    wanted = None if input_hash is None else input_hash.lower()
    for line in _lines(log_files(path)):
        try:
            record = orjson.loads(line.raw)
        except orjson.JSONDecodeError:
            continue  # damaged lines are verify's to report
        if not isinstance(record, dict):
            continue
        by_id = request_id is not None and record.get("request_id") == request_id
        if by_id or (wanted is not None and wanted in (record.get("input_hmacs") or ())):
            yield record


def _lines(files: list[Path]) -> Iterator[_Line]:
    for file in files:
        try:
            with file.open("rb") as stream:
                for number, raw in enumerate(stream, 1):
                    yield _Line(file, number, raw.rstrip(b"\n"), raw.endswith(b"\n"))
        except OSError as error:
            raise AuditLogError(f"cannot read {file}: {error.strerror}") from None


def _record(line: _Line) -> dict[str, Any]:
    """The line's record, or AuditLogError if it is cut short or not a chained record."""
    if not line.complete:
        raise AuditLogError(f"{line.where}: cut short (no newline at its end)")
    try:
        record = orjson.loads(line.raw)
    except orjson.JSONDecodeError:
        raise AuditLogError(f"{line.where}: not JSON; the line was edited or damaged") from None
    if (
        not isinstance(record, dict)
        or not isinstance(record.get("prev_hash"), str)
        or not isinstance(record.get("seq"), int)
    ):
        raise AuditLogError(f"{line.where}: not an audit record (no seq and prev_hash)")
    return record


def _diagnose(files: list[Path], index: int, record: dict[str, Any], seq: int) -> str:
    """What most likely broke the chain before the line at ``index`` (0-based, whole log)."""
    found = next(
        (
            (i, line)
            for i, line in enumerate(_lines(files))
            if line.complete and line_hash(line.raw) == record["prev_hash"]
        ),
        None,
    )
    if found is not None and found[0] > index:
        return f"lines are out of order: it follows {found[1].where}, which comes after it"
    if found is not None and found[0] < index - 1:
        return f"it follows {found[1].where}: the lines between were inserted or moved here"
    if record["seq"] > seq + 1:
        return f"{record['seq'] - seq - 1} line(s) removed before it (seq jumps from {seq})"
    if record["seq"] <= seq:
        return f"lines reordered or inserted (seq {record['seq']} comes after seq {seq})"
    if index == 0:
        return "the first line does not start the chain (its prev_hash is not the genesis value)"
    return "the line before it was edited (its hash is not the prev_hash this line recorded)"
