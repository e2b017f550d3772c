"""``capture``: record a fitted model with everything about its training, in one call."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from packager.artefact.examples import Examples, compare_scores, score
from packager.artefact.manifest import (
    FORMAT_VERSION,
    Manifest,
    ModelFile,
    ModelInfo,
    TargetSpec,
    Task,
)
from packager.artefact.schema import infer_input_spec, model_input, records_to_columns
from packager.artefact.values import json_label, json_value
from packager.capture.data import Dataset, features_of, target_of
from packager.capture.estimator import allows_nan, check_estimator, estimator_info, task_of
from packager.capture.metrics import classification_metrics, cross_validation, regression_metrics
from packager.capture.provenance import collect_provenance
from packager.errors import ArtefactError, CaptureError

__all__ = ["CAPTURE_KEY", "MODEL_FILE", "CapturedModel", "capture"]

# Marks a capture file: a joblib'd plain dict whose value under this key is FORMAT_VERSION.
CAPTURE_KEY = "deployml_capture"
MODEL_FILE = "model.joblib"


@dataclass
class CapturedModel:
    """A fitted estimator with its manifest, example rows and extra files, ready to package."""

    estimator: Any
    manifest: Manifest
    examples: Examples
    attachments: dict[str, bytes] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The plain dict a capture file holds (no deployml classes, so any version reads it)."""
        return {
            CAPTURE_KEY: FORMAT_VERSION,
            "estimator": self.estimator,
            # Through JSON, so the dict is exactly what manifest.json would hold.
            "manifest": json.loads(json.dumps(self.manifest.to_dict(), allow_nan=False)),
            "examples": self.examples.to_dict(),
            "attachments": dict(self.attachments),
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the capture file (joblib) to ``path`` atomically; returns the path."""
        target = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
        except OSError as error:
            raise ArtefactError(f"cannot write {target}: {error.strerror}") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                joblib.dump(self.to_dict(), handle)
            os.replace(tmp, target)
        except BaseException as error:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise ArtefactError(f"cannot write {target}: {error.strerror}") from None
            raise
        return target


def capture(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    X_test: Any = None,
    y_test: Any = None,
    name: str | None = None,
    version: str = "1.0.0",
    description: str | None = None,
    author: str | None = None,
    organisation: str | None = None,
    contact: str | None = None,
    intended_use: str | None = None,
    limitations: str | None = None,
    feature_names: Sequence[str] | None = None,
    target_name: str | None = None,
    cv: int | None = None,
    n_examples: int = 5,
) -> CapturedModel:
    """Record ``model`` (fitted on ``X``, ``y``) with its schema, metrics and provenance."""
    check_estimator(model, "model")
    task = task_of(model)
    train = features_of(model, X, "X", feature_names)
    missing: list[str] = []
    y_array, y_name = (None, None) if y is None else target_of(y, len(train.frame), "y", "X")
    if y_array is None:
        missing.append("target: no training labels were given")
    else:
        _check_labels(model, y_array, task, "y")
    spec = infer_input_spec(
        train.frame,
        format=train.format,
        names_generated=train.names_generated,
        allow_nan=allows_nan(model),
    )
    if train.names_generated:
        missing.append("input: feature names were not given; they are generated as x0, x1, ...")
    metrics: dict[str, Any] = {}
    examples_from = train
    if (X_test is None) != (y_test is None):
        raise CaptureError("give X_test and y_test together")
    if X_test is not None:
        test = features_of(model, X_test, "X_test", train.names if feature_names else None)
        if test.names != train.names:
            raise CaptureError("the columns of X_test differ from those of X")
        y_test_array, _ = target_of(y_test, len(test.frame), "y_test", "X_test")
        _check_labels(model, y_test_array, task, "y_test")
        metrics["test"] = _evaluate(model, test, y_test_array, task, missing)
        examples_from = test
    else:
        missing.append("metrics: no test data was given")
    if cv is not None:
        if isinstance(cv, bool) or not isinstance(cv, int) or cv < 2:
            raise CaptureError(f"cv must be a whole number of folds of at least 2, not {cv!r}")
        if y_array is None:
            raise CaptureError("cross-validation needs the training labels y")
        metrics["cross_validation"] = cross_validation(model, train.model_X, y_array, cv, task)
    examples = _examples(model, examples_from, spec, task, n_examples)
    provenance, unknown = collect_provenance(model)
    missing.extend(unknown)
    info = _model_info(
        model,
        missing,
        name=name,
        version=version,
        description=description,
        author=author,
        organisation=organisation,
        contact=contact,
        intended_use=intended_use,
        limitations=limitations,
    )
    manifest = Manifest(
        model=info,
        model_file=ModelFile(path=MODEL_FILE, serializer="joblib"),
        estimator=estimator_info(model, len(train.frame)),
        input=spec,
        provenance=provenance,
        target=_target(model, task, y_array, target_name or y_name),
        metrics=metrics or None,
        missing=missing,
    )
    return CapturedModel(estimator=model, manifest=manifest, examples=examples)


def _check_labels(model: Any, y: np.ndarray, task: Task, what: str) -> None:
    if task == "regression":
        try:
            y.astype(np.float64)
        except (TypeError, ValueError):
            raise CaptureError(f"{what} must be numeric for a regressor") from None
        return
    seen = pd.unique(pd.Series(y))
    unknown = [v for v in seen if v not in set(model.classes_)]
    if unknown:
        raise CaptureError(f"{what} holds {len(unknown)} label(s) the model was not fitted on")
    if what == "y" and len(seen) < 2:
        raise CaptureError("the target y has one class; a classifier needs at least two")


def _evaluate(model: Any, test: Dataset, y: np.ndarray, task: Task, missing: list[str]) -> Any:
    scores = _score(model, test.model_X, task, "X_test")
    if task == "regression":
        return regression_metrics(y, np.asarray(scores.predictions, dtype=np.float64))
    predictions = np.asarray(model.predict(test.model_X))
    proba = None if scores.probabilities is None else np.asarray(scores.probabilities)
    return classification_metrics(y, predictions, proba, model.classes_, missing)


def _score(model: Any, X: Any, task: Task, what: str) -> Any:
    try:
        return score(model, X, task)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        # The estimator's own message may quote data values, so only its type is shown.
        raise CaptureError(
            f"the {type(model).__name__} could not score {what} ({type(error).__name__}); "
            "check it has the columns and kinds the model was trained on"
        ) from error


def _examples(model: Any, data: Dataset, spec: Any, task: Task, n: int) -> Examples:
    if n <= 0:
        return Examples()
    head = data.frame.head(n)
    records = [
        {name: json_value(v) for name, v in zip(spec.names, row, strict=False)}
        for row in head.itertuples(index=False, name=None)
    ]
    rebuilt = model_input(records_to_columns(records, spec.names), spec)
    scores = _score(model, rebuilt, task, "the example rows")
    original = data.model_X.iloc[:n] if hasattr(data.model_X, "iloc") else data.model_X[:n]
    direct = _score(model, original, task, "the example rows")
    expected = Examples(records, direct.predictions, direct.probabilities)
    if compare_scores(expected, scores):
        raise CaptureError(
            "the model scores the example rows differently once rebuilt from the recorded "
            "schema; the schema does not describe the training data faithfully"
        )
    return Examples(
        inputs=records, predictions=scores.predictions, probabilities=scores.probabilities
    )


def _target(model: Any, task: Task, y: np.ndarray | None, name: str | None) -> TargetSpec:
    if task == "regression":
        summary = None
        if y is not None:
            values = y.astype(np.float64)
            summary = {
                key: json_value(v)
                for key, v in (
                    ("mean", values.mean()),
                    ("std", values.std()),
                    ("min", values.min()),
                    ("median", np.median(values)),
                    ("max", values.max()),
                )
            }
        return TargetSpec(task=task, name=name, summary=summary)
    classes = [json_label(c) for c in model.classes_]
    balance = None
    if y is not None:
        counts = pd.Series(y).value_counts(normalize=True)
        balance = {str(json_label(c)): float(counts.get(c, 0.0)) for c in model.classes_}
    return TargetSpec(task=task, name=name, classes=classes, class_balance=balance)


def _model_info(model: Any, missing: list[str], **given: Any) -> ModelInfo:
    if not given["name"]:
        given["name"] = type(model).__name__
        missing.append("model.name: not given; the estimator's class name is used")
    for key in ("description", "author", "organisation", "contact", "intended_use", "limitations"):
        if not given[key]:
            missing.append(f"model.{key}: not given")
    created = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return ModelInfo(created_at=created, **given)
