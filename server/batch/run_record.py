"""The run manifest, ``_run.json``: what a batch run scored, with what, and what it found.

Written into the output directory last, just before the directory is renamed into place, so
an output with a ``_run.json`` is complete. Its name starts with ``_`` so that
``pd.read_parquet(output)``, Dask and Spark read the parts and skip it. It records counts,
hashes, paths and names; never a cell's value. ``RUN_RECORD_VERSION`` is the file's format:
bump its minor for a field added, its major for a field removed or changed in meaning.
"""

from __future__ import annotations

import platform
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "RUN_RECORD",
    "RUN_RECORD_VERSION",
    "ArtefactRef",
    "RunRecord",
    "new_run_id",
    "package_versions",
    "utc_now",
]

RUN_RECORD = "_run.json"
RUN_RECORD_VERSION = "1.0"
# The packages whose versions can change a run's outputs, always recorded (None: absent).
CORE_PACKAGES = ("deployml", "scikit-learn", "numpy", "pandas", "pyarrow")


def new_run_id() -> str:
    """A run's id: its UTC start to the second, and 6 random hex digits (sorts by time)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def utc_now() -> str:
    """Now, in UTC, as ISO 8601 to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def package_versions(extra: Sequence[str] = ()) -> dict[str, str | None]:
    """Python's version and the installed versions of the core packages and ``extra``."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in (*CORE_PACKAGES, *extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass(frozen=True)
class ArtefactRef:
    """The artefact a run scored with: where it is, its manifest's hash, the model's name."""

    path: Path
    sha256: str
    model_name: str
    model_version: str
    # The profile binary decisions use (recorded under the run's settings); None: no profiles.
    profile: str | None = None

    def to_record(self) -> dict[str, str]:
        """As ``_run.json`` lists it."""
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "model_name": self.model_name,
            "model_version": self.model_version,
        }


@dataclass(frozen=True)
class RunRecord:
    """Everything ``_run.json`` holds, gathered once the parts are written and counted."""

    run_id: str
    artefact: ArtefactRef
    inputs: list[dict[str, Any]]
    output: dict[str, Any]
    rows: dict[str, int]
    errors: dict[str, dict[str, int]]
    warnings: dict[str, dict[str, int]]
    imputed: dict[str, int]
    engine: dict[str, Any]
    versions: Mapping[str, str | None]
    settings: dict[str, Any]
    started_at: str
    ended_at: str
    audit_log: str | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record, its format version first."""
        return {
            "run_record_version": RUN_RECORD_VERSION,
            "run_id": self.run_id,
            "artefact": self.artefact.to_record(),
            "inputs": self.inputs,
            "output": self.output,
            "rows": self.rows,
            "errors": self.errors,
            "warnings": self.warnings,
            "imputed": self.imputed,
            "engine": self.engine,
            "versions": dict(self.versions),
            "settings": self.settings,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "audit_log": self.audit_log,
        }

    def write(self, directory: Path) -> Path:
        """Write ``_run.json`` into ``directory``; returns its path."""
        path = directory / RUN_RECORD
        path.write_bytes(orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n")
        return path
