"""The deployml side: package a reference model and build the ``deployml serve`` command."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from models import BATCH_ROWS, Reference

# The instances body of 10,000 breast-cancer rows is about 9 MiB, near the 10 MiB default.
MAX_REQUEST_BYTES = 64 * 2**20
INSTALL = "run `pip install -e .` in the repository"


class PackagingError(RuntimeError):
    """deployml could not package a reference model, or is not installed."""


def deployml_command() -> str:
    """The ``deployml`` console script beside this Python, else the one on PATH."""
    beside = Path(sys.executable).with_name("deployml")
    found = str(beside) if beside.exists() else shutil.which("deployml")
    if found is None:
        raise PackagingError(f"the deployml command is not installed; {INSTALL}")
    return found


def package(ref: Reference, out: Path, compile_onnx: bool = False) -> Path:
    """Capture ``ref``'s estimator with its data, as a training script would, and package it
    (with ``compile_onnx``, also compiled and proven, as ``--compile onnx`` does)."""
    try:
        import packager
        from packager.errors import DeploymlError
    except ImportError as error:
        raise PackagingError(f"deployml is not importable ({error}); {INSTALL}") from None
    try:
        captured = packager.capture(
            ref.estimator,
            ref.x_train,
            ref.y_train,
            X_test=ref.x_test,
            y_test=ref.y_test,
            details=packager.ModelDetails(name=f"bench-{ref.key}"),
        )
        if not compile_onnx:
            return Path(packager.package(captured, out))
        from packager.compile import compile_model

        compiled = compile_model(captured, test=ref.x_test)
        return Path(packager.package(captured, out, compiled=compiled))
    except DeploymlError as error:
        raise PackagingError(f"packaging {ref.title} failed: {error.message}") from error


def serve_argv(artefact: Path, port: int) -> list[str]:
    """``deployml serve`` with 2 workers on 127.0.0.1:``port``."""
    return [deployml_command(), "serve", str(artefact), "--workers", "2", "--port", str(port)]


def env() -> dict[str, str]:
    """This environment, with limits that admit the 10,000-row bodies and bind to loopback."""
    return {
        **os.environ,
        "DEPLOYML_HOST": "127.0.0.1",
        "DEPLOYML_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        "DEPLOYML_MAX_ROWS": str(BATCH_ROWS),
    }
