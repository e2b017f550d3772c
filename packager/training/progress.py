"""Progress of long steps on stderr: training's search, cross-validation and learning curve
(counted in fits), and ``deployml score``'s rows.

On a terminal, one line per step redrawn in place as work finishes; elsewhere (a log, CI), a
line when a step starts and one when it ends, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["TerminalProgress"]

BAR_WIDTH = 30


class TerminalProgress:
    """A ``packager.training.Progress`` callback that draws on ``stream`` (default stderr)."""

    def __init__(self, stream: TextIO | None = None, unit: str = "fits") -> None:
        self.stream = stream or sys.stderr
        self.unit = unit
        self.interactive = self.stream.isatty()
        self.started = 0.0

    def __call__(self, step: str, done: int, total: int) -> None:
        if done == 0:
            self.started = time.monotonic()
        if self.interactive:
            filled = BAR_WIDTH * done // max(total, 1)
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            end = "\n" if done >= total else ""
            self._write(f"\r{step:<17} [{bar}] {done:,}/{total:,} {self.unit}{end}")
        elif done == 0:
            self._write(f"{step}: {total:,} {self.unit}\n")
        elif done >= total:
            self._write(f"{step}: done in {time.monotonic() - self.started:.1f} s\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
