"""The machine and software a benchmark ran on, recorded beside its figures."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any


def loadavg() -> str:
    """The 1, 5 and 15-minute load averages: how busy the machine was around a measurement."""
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "unknown"


def describe(repository: Path) -> dict[str, Any]:
    """Python, platform, CPU count, the repository's commit and the versions that matter."""

    def version(name: str) -> str:
        try:
            return dist_version(name)
        except PackageNotFoundError:
            return "not installed"

    commit = _git(repository, "rev-parse", "--short", "HEAD")
    # Uncommitted changes to the server or packager change what was measured.
    dirty = _git(repository, "status", "--porcelain", "--", "server", "packager") != ""
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "git_commit": commit or "unknown",
        "uncommitted_server_or_packager_changes": dirty,
        "packages": {
            n: version(n)
            for n in ("deployml", "scikit-learn", "numpy", "pandas", "flask", "gunicorn", "skops")
        },
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _git(repository: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=repository, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip()
