"""Access lines: written straight to the configured stream exactly as logging would write them,
and through logging whenever the logger has other handlers or filters, or the stream fails."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from server.logs import ACCESS_LOGGER, AccessLog

LINE = '{"route":"/predict","status":200}'


class _Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError("the disk is gone")


@pytest.fixture
def configured() -> Iterator[tuple[logging.Logger, logging.StreamHandler[io.StringIO]]]:
    """The access logger as configure_logging leaves it, its stream in memory."""
    logger = logging.getLogger(ACCESS_LOGGER)
    saved = (logger.handlers[:], logger.level, logger.propagate, AccessLog.handler)
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    AccessLog.handler = handler
    yield logger, handler
    logger.handlers[:], level, logger.propagate, AccessLog.handler = saved
    logger.setLevel(level)


def test_a_line_reaches_the_stream_as_logging_writes_it(
    configured: tuple[logging.Logger, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, handler = configured
    AccessLog().write(LINE)
    logger.info(LINE)
    assert handler.stream.getvalue() == f"{LINE}\n{LINE}\n"


def test_another_handler_or_a_filter_gets_a_record_for_every_line(
    configured: tuple[logging.Logger, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, handler = configured
    records: list[logging.LogRecord] = []
    collector = logging.Handler()
    collector.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(collector)
    AccessLog().write(LINE)
    logger.removeHandler(collector)
    seen: list[str] = []
    logger.addFilter(lambda record: seen.append(record.getMessage()) or True)
    AccessLog().write(LINE)
    assert [r.getMessage() for r in records] == [LINE]
    assert seen == [LINE]
    assert handler.stream.getvalue() == f"{LINE}\n{LINE}\n"


def test_a_failed_write_is_reported_as_logging_reports_one(
    configured: tuple[logging.Logger, logging.StreamHandler[io.StringIO]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, handler = configured
    handler.setStream(_Broken())
    AccessLog().write(LINE)
    assert "--- Logging error ---" in capsys.readouterr().err


def test_no_line_is_written_above_info(
    configured: tuple[logging.Logger, logging.StreamHandler[io.StringIO]],
) -> None:
    logger, handler = configured
    logger.setLevel(logging.WARNING)
    assert not AccessLog().enabled()
    logger.setLevel(logging.INFO)
    assert AccessLog().enabled()
    assert handler.stream.getvalue() == ""
