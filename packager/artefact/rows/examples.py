"""The stored rows (self-test and real examples) with a model's outputs for them: reading them
from an artefact, and comparing fresh outputs with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from packager.artefact.files import read_listed_json
from packager.artefact.manifest import EXAMPLES_FILE, MANIFEST_FILE, SELF_TEST_FILE, Manifest
from packager.artefact.manifest_schema import check_examples
from packager.artefact.schema import model_input, records_to_columns
from packager.artefact.values import json_value
from packager.errors import ManifestError

__all__ = [
    "ATOL",
    "RTOL",
    "Examples",
    "Outputs",
    "compare_outputs",
    "has_predict_proba",
    "model_outputs",
    "read_examples",
    "read_self_test",
    "rescore",
    "same_output",
    "stored_rows",
]

# Re-scoring the same model on the same machine is exact; these allow for a different BLAS.
RTOL = 1e-6
ATOL = 1e-9


@dataclass(frozen=True)
class Outputs:
    """A model's outputs: JSON-safe predictions and, for classifiers, class probabilities."""

    predictions: list[Any]
    probabilities: list[list[float]] | None = None


@dataclass(frozen=True)
class Examples:
    """Example input records with the outputs the model gave for them when packaged."""

    inputs: list[dict[str, Any]] = field(default_factory=list)
    predictions: list[Any] = field(default_factory=list)
    probabilities: list[list[float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The form stored in ``examples.json``."""
        return {
            "inputs": self.inputs,
            "predictions": self.predictions,
            "probabilities": self.probabilities,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = EXAMPLES_FILE) -> Examples:
        """Read the ``examples.json`` form, naming the first malformed field."""
        checked = check_examples(data, source)
        return cls(
            inputs=checked["inputs"],
            predictions=checked["predictions"],
            probabilities=checked["probabilities"],
        )


def model_outputs(model: Any, X: Any, task: str) -> Outputs:
    """Predict (and, for classifiers with ``predict_proba``, the probabilities) for ``X``."""
    predictions = json_value(np.asarray(model.predict(X)))
    if task == "regression":
        predictions = [None if p is None else float(p) for p in predictions]
    probabilities = None
    if task != "regression" and has_predict_proba(model):
        probabilities = json_value(np.asarray(model.predict_proba(X), dtype=np.float64))
    return Outputs(predictions=predictions, probabilities=probabilities)


def rescore(model: Any, manifest: Manifest, rows: Examples) -> list[str]:
    """What differs when ``model`` re-scores ``rows`` (rebuilt from the schema, as the server
    does) from their recorded outputs; empty when they agree."""
    spec, task = manifest.input, manifest.target.task if manifest.target else "regression"
    try:
        X = model_input(records_to_columns(rows.inputs, spec.names), spec)
        return compare_outputs(rows, model_outputs(model, X, task))
    except Exception as error:  # any failure to re-score is itself the finding
        return [f"re-scoring raised {type(error).__name__}"]


def has_predict_proba(model: Any) -> bool:
    """Whether ``model`` gives probabilities (``predict_proba`` exists and is usable)."""
    # hasattr runs available_if checks, e.g. SVC(probability=False) has no predict_proba.
    try:
        return hasattr(model, "predict_proba")
    except Exception:  # a broken property means no usable probabilities
        return False


def compare_outputs(expected: Examples, got: Outputs) -> list[str]:
    """Problems found comparing recorded example outputs with fresh ones; empty when equal.

    Labels must be equal; probabilities and regression outputs equal within RTOL/ATOL.
    Messages name the example's position, never its values.
    """
    problems: list[str] = []
    if len(got.predictions) != len(expected.predictions):
        return [f"expected {len(expected.predictions)} predictions, got {len(got.predictions)}"]
    for i, (want, have) in enumerate(zip(expected.predictions, got.predictions, strict=False)):
        if not same_output(want, have):
            problems.append(f"example {i}: the prediction differs from the recorded one")
    if expected.probabilities is not None:
        if got.probabilities is None:
            problems.append("the model no longer gives probabilities")
        else:
            pairs = zip(expected.probabilities, got.probabilities, strict=False)
            for i, (want, have) in enumerate(pairs):
                if not _close(want, have):
                    problems.append(f"example {i}: the probabilities differ from the recorded ones")
    return problems


def same_output(want: Any, have: Any) -> bool:
    """Whether two outputs (labels, or numbers within RTOL/ATOL; null is null) are the same."""
    if isinstance(want, float) or isinstance(have, float):
        return _close([want], [have])
    return bool(want == have)


def _close(want: Any, have: Any) -> bool:
    try:
        a = np.asarray(want, dtype=np.float64)
        b = np.asarray(have, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))


def stored_rows(manifest: Manifest, self_test: Examples, examples: Examples) -> dict[str, Examples]:
    """The files of rows ``manifest`` lists, by name (a format 1.x artefact lists only
    examples.json, which is then its self-test too)."""
    found = {SELF_TEST_FILE: self_test, EXAMPLES_FILE: examples}
    return {name: rows for name, rows in found.items() if name in manifest.files}


def read_self_test(root: Path, manifest: Manifest) -> Examples:
    """The self-test rows: self_test.json, or a format 1.x artefact's example rows."""
    if SELF_TEST_FILE in manifest.files:
        return _read_rows(root, SELF_TEST_FILE)
    if int(manifest.format_version.split(".", 1)[0]) >= 2:
        raise ManifestError(str(root / MANIFEST_FILE), f"files lacks {SELF_TEST_FILE}")
    return read_examples(root, manifest)


def read_examples(root: Path, manifest: Manifest) -> Examples:
    """The stored real example rows, or none when the artefact has no examples file."""
    if EXAMPLES_FILE not in manifest.files:
        if manifest.example_rows == "real":
            raise ManifestError(
                str(root / MANIFEST_FILE), f"example_rows is real, but files lacks {EXAMPLES_FILE}"
            )
        return Examples()
    return _read_rows(root, EXAMPLES_FILE)


def _read_rows(root: Path, name: str) -> Examples:
    return Examples.from_dict(read_listed_json(root, name), source=str(root / name))
