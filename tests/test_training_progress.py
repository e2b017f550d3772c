"""Progress of long training steps: redrawn in place on a terminal, two lines in a log."""

from __future__ import annotations

import io

from packager.training.progress import TerminalProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_in_a_log_writes_a_line_when_a_step_starts_and_ends() -> None:
    log = io.StringIO()
    progress = TerminalProgress(log)
    for done in range(4):
        progress("search", done, 3)
    lines = log.getvalue().splitlines()
    assert lines[0] == "search: 3 fits"
    assert lines[1].startswith("search: done in ") and len(lines) == 2


def test_progress_on_a_terminal_redraws_one_line_and_ends_it() -> None:
    terminal = Terminal()
    progress = TerminalProgress(terminal)
    for done in range(3):
        progress("cross-validation", done, 2)
    text = terminal.getvalue()
    assert text.count("\r") == 3 and text.endswith("] 2/2 fits\n")
    assert "[" + "#" * 15 + "-" * 15 + "] 1/2 fits" in text
