"""The deployml side: package a reference model and build the ``deployml serve`` command."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from models import Reference


class PackagingError(RuntimeError):
    """deployml could not package a reference model, or is not installed."""


def deployml_command() -> str:
    """The ``deployml`` console script beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("deployml")
    found = str(beside) if beside.exists() else shutil.which("deployml")
    if found is None:
        raise PackagingError("the deployml command is not installed; run `pip install -e .`")
    return found


def package(ref: Reference, out: Path) -> Path:
    """Capture ``ref``'s estimator and training data and write an artefact to ``out``."""
    raise PackagingError("deployml packaging is not wired in yet")


def serve_argv(artefact: Path, port: int) -> list[str]:
    """``deployml serve`` with 2 workers on 127.0.0.1:``port``."""
    return [deployml_command(), "serve", str(artefact), "--workers", "2", "--port", str(port)]


def env() -> dict[str, str]:
    """The environment for deployml: this one, with limits that admit 10,000-row requests."""
    return dict(os.environ)
