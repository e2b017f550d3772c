"""The stored example rows, a model's outputs for them, and comparing fresh outputs with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from packager.artefact.manifest import EXAMPLES_FILE
from packager.artefact.manifest_schema import check_examples
from packager.artefact.values import json_value

__all__ = ["ATOL", "RTOL", "Examples", "Outputs", "compare_outputs", "model_outputs"]

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
    if task != "regression" and _has_predict_proba(model):
        probabilities = json_value(np.asarray(model.predict_proba(X), dtype=np.float64))
    return Outputs(predictions=predictions, probabilities=probabilities)


def _has_predict_proba(model: Any) -> bool:
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
        if not _same(want, have):
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


def _same(want: Any, have: Any) -> bool:
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
