"""A captured model in memory, and the capture file that carries it from training to packaging.

A capture file is a joblib'd plain dict (no deployml classes, so any deployml version reads
it) marked by :data:`CAPTURE_KEY`, whose value is the format version that wrote it. One
written before format 2.0 has no self-test rows: it is read with none (``package`` makes them
from the schema) and its example rows, if any, stay published as real ones, as then.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packager.artefact.files import staged
from packager.artefact.manifest import FORMAT_VERSION, Manifest, check_format_version
from packager.artefact.model_file import check_estimator, write_pickle
from packager.artefact.rows import EdgeCases, Examples
from packager.errors import ManifestError, ModelFileError

__all__ = ["CAPTURE_KEY", "CapturedModel", "is_capture_file"]

CAPTURE_KEY = "deployml_capture"


@dataclass(frozen=True)
class CapturedModel:
    """A fitted estimator with its manifest, self-test rows, real example rows (only when
    chosen), extra files and edge cases (when given), ready to package."""

    estimator: Any
    manifest: Manifest
    self_test: Examples
    examples: Examples = field(default_factory=Examples)
    attachments: Mapping[str, bytes] = field(default_factory=dict)
    edge_cases: EdgeCases | None = None

    def to_dict(self) -> dict[str, Any]:
        """The plain dict a capture file holds."""
        return {
            CAPTURE_KEY: FORMAT_VERSION,
            "estimator": self.estimator,
            # Through JSON, so the dict is exactly what manifest.json would hold.
            "manifest": json.loads(json.dumps(self.manifest.to_dict(), allow_nan=False)),
            "self_test": self.self_test.to_dict(),
            "examples": self.examples.to_dict(),
            "attachments": dict(self.attachments),
            "edge_cases": None if self.edge_cases is None else self.edge_cases.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> CapturedModel:
        """Read a capture file's dict, refusing newer formats and naming what is malformed."""
        version = data[CAPTURE_KEY]
        if not isinstance(version, str):
            raise ModelFileError(source, "has a malformed capture version")
        check_format_version(version)
        estimator = data.get("estimator")
        check_estimator(estimator, source)
        try:
            manifest = Manifest.from_dict(data.get("manifest"), source=source)
            examples = Examples.from_dict(data.get("examples", {}), source=source)
            self_test = (
                Examples.from_dict(data["self_test"], source=source)
                if "self_test" in data
                else Examples()
            )
            cases = data.get("edge_cases")
            edge_cases = None if cases is None else EdgeCases.from_dict(cases, source=source)
        except ManifestError as error:
            raise ModelFileError(source, f"capture file is malformed: {error.problem}") from None
        attachments = data.get("attachments") or {}
        if not isinstance(attachments, dict) or not all(
            isinstance(k, str) and isinstance(v, bytes) for k, v in attachments.items()
        ):
            raise ModelFileError(source, "capture file attachments must map names to bytes")
        if "self_test" not in data and examples.inputs:
            # Format 1.x: its example rows were real, and published as such.
            manifest = replace(manifest, example_rows="real")
        return cls(estimator, manifest, self_test, examples, dict(attachments), edge_cases)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the capture file (joblib) to ``path`` whole or not at all; returns the path."""
        target = Path(path)
        with staged(target, directory=False) as stage:
            write_pickle(self.to_dict(), stage)
        return target


def is_capture_file(obj: Any) -> bool:
    """Whether an unpickled object is a capture file's dict rather than a plain estimator."""
    return isinstance(obj, dict) and CAPTURE_KEY in obj
