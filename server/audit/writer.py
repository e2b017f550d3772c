"""Appending audit lines safely from every gunicorn worker and thread, each chained to the last.

Each line is appended under an exclusive ``flock``: on the log file itself, or in daily mode on
the log's directory (so that the day changes under the lock too, and no line is written to
yesterday's file after today's has begun). Under the lock the writer reads the previous line
from the end of the file (never the whole file), adds its ``seq`` and the SHA-256 of that line
as ``prev_hash``, and appends the line with one ``os.write`` on a file opened ``O_APPEND``. A
short write (disk full) is cut back off, so no half line stays behind. The file is opened per
line, so a deleted or replaced file is picked up at once and nothing is shared across fork.

Durability: a written line is in the kernel when the request is answered, so it survives the
process; with ``DEPLOYML_AUDIT_FSYNC=true`` it is also on disk (it survives power loss) at the
cost of one fsync per request, taken under the lock.

When a line cannot be written the request is refused (:class:`~server.errors.
AuditUnavailableError`, a 503), unless ``DEPLOYML_AUDIT_FAIL_OPEN`` is set, in which case
every such answer logs an ERROR line.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

import orjson

from server.audit.record import GENESIS, AuditRequest, audit_record, default_key_id, line_hash
from server.errors import AuditUnavailableError
from server.logs import SERVER_LOGGER
from server.settings import Settings

__all__ = ["DAILY_PATTERN", "MIN_FREE_BYTES", "AuditLog", "daily_file_name", "open_audit_log"]

log = logging.getLogger(SERVER_LOGGER)

DAILY_PATTERN = "audit-*.jsonl"
# /readyz reports not ready below this much free space where the log is written.
MIN_FREE_BYTES = 2**20
_TAIL_CHUNK = 64 * 1024
# Every line ends with its seq and prev_hash, in this form (see AuditLog._append).
_TAIL = re.compile(rb',"seq":(\d{1,19}),"prev_hash":"[0-9a-f]{64}"\}$')
_TAIL_BYTES = 128
_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_MODE = 0o640


def daily_file_name(moment: datetime) -> str:
    """The daily file for a moment: ``audit-YYYY-MM-DD.jsonl``, by the UTC date."""
    return f"audit-{moment.astimezone(UTC).date().isoformat()}.jsonl"


class AuditLog:
    """One server's audit log: a file, or a directory of daily files chained one to the next."""

    def __init__(
        self,
        path: Path,
        key: bytes,
        *,
        key_id: str | None = None,
        fail_open: bool = False,
        fsync: bool = False,
    ) -> None:
        self.path = path
        self.daily = path.is_dir()
        self.key = key
        self.key_id = key_id or default_key_id(key)
        self.fail_open = fail_open
        self.fsync = fsync

    def __repr__(self) -> str:  # the key stays out of reprs, tracebacks and debuggers' views
        return f"AuditLog({str(self.path)!r}, key_id={self.key_id!r})"

    def current_file(self) -> Path:
        """The file the next line goes to."""
        return self.path / daily_file_name(datetime.now(UTC)) if self.daily else self.path

    def write(self, request: AuditRequest, model: Mapping[str, str]) -> None:
        """Append the request's line; raise AuditUnavailableError if it cannot be (fail closed)."""
        body = orjson.dumps(audit_record(request, model, self.key, self.key_id))
        try:
            self._append(body)
        except OSError as error:
            reason = _reason(error, self.current_file())
            if not self.fail_open:
                raise AuditUnavailableError(reason) from None
            log.error(
                "AUDIT LOG NOT WRITTEN: %s; request %s was answered anyway because "
                "DEPLOYML_AUDIT_FAIL_OPEN is true",
                reason,
                request.request_id,
            )

    def problem(self) -> str | None:
        """Why lines cannot be written now (for /readyz), or None: opens the file, checks space."""
        try:
            os.close(os.open(self.current_file(), _FLAGS, _MODE))
            stats = os.statvfs(self.path if self.daily else self.path.parent)
        except OSError as error:
            return _reason(error, self.current_file())
        free = stats.f_bavail * stats.f_frsize
        if free < MIN_FREE_BYTES:
            return f"the audit log's disk has {free} bytes free, less than {MIN_FREE_BYTES}"
        return None

    def _append(self, body: bytes) -> None:
        with self._locked() as file:
            fd = os.open(file, _FLAGS, _MODE)
            try:
                if not self.daily:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                size = os.fstat(fd).st_size
                prefix, seq, prev = self._previous(fd, size, file)
                line = b'%s%s,"seq":%d,"prev_hash":"%s"}\n' % (
                    prefix,
                    body[:-1],
                    seq,
                    prev.encode(),
                )
                _write_whole(fd, line, size)
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)  # closing also releases the file's lock

    @contextmanager
    def _locked(self) -> Iterator[Path]:
        """Hold the lock that orders lines; yield the file to write, chosen under it."""
        if not self.daily:
            yield self.path
            return
        directory = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(directory, fcntl.LOCK_EX)
            yield self.current_file()
        finally:
            os.close(directory)

    def _previous(self, fd: int, size: int, file: Path) -> tuple[bytes, int, str]:
        """A newline if the file ends without one, the next seq, and the previous line's hash."""
        if size > 0:
            last, complete = _last_line(fd, size)
            return (b"" if complete else b"\n"), _seq(last) + 1, line_hash(last)
        earlier = self._earlier_file(file)
        if earlier is None:
            return b"", 1, GENESIS
        fd = os.open(earlier, os.O_RDONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            if size == 0:
                return b"", 1, GENESIS
            last, _ = _last_line(fd, size)
            return b"", _seq(last) + 1, line_hash(last)
        finally:
            os.close(fd)

    def _earlier_file(self, file: Path) -> Path | None:
        """In daily mode, the latest daily file before ``file``: a new day chains from it."""
        if not self.daily:
            return None
        earlier = sorted(p for p in self.path.glob(DAILY_PATTERN) if p.name < file.name)
        return earlier[-1] if earlier else None


def open_audit_log(settings: Settings) -> AuditLog | None:
    """The audit log the settings ask for, or None when ``DEPLOYML_AUDIT_LOG`` is not set."""
    if settings.audit_log is None or settings.audit_key is None:
        return None
    return AuditLog(
        settings.audit_log,
        settings.audit_key.encode(),
        key_id=settings.audit_key_id,
        fail_open=settings.audit_fail_open,
        fsync=settings.audit_fsync,
    )


def _last_line(fd: int, size: int) -> tuple[bytes, bool]:
    """The last line's bytes (read backwards from the end), and whether a newline ends it."""
    complete = os.pread(fd, 1, size - 1) == b"\n"
    end = size - 1 if complete else size
    chunks: list[bytes] = []
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        chunk = os.pread(fd, end - start, start)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            chunks.append(chunk[cut + 1 :])
            break
        chunks.append(chunk)
        end = start
    return b"".join(reversed(chunks)), complete


def _seq(line: bytes) -> int:
    """A line's seq, read from its end (parsing a 10,000-row line would cost milliseconds);
    0 for a damaged line (verify reports it; the log goes on from it)."""
    found = _TAIL.search(line[-_TAIL_BYTES:])
    return int(found.group(1)) if found else 0


def _write_whole(fd: int, line: bytes, size: int) -> None:
    """One write of the whole line; on a short write cut it off again and fail."""
    written = os.write(fd, line)
    if written != len(line):
        with suppress(OSError):
            os.ftruncate(fd, size)
        raise OSError(errno.ENOSPC, "the line could not be written whole")


def _reason(error: OSError, file: Path) -> str:
    """Why, and where: the file the error names, else the file being written."""
    what = error.strerror or type(error).__name__
    return f"the audit log cannot be written: {what} ({error.filename or file})"
