"""Reading a model file: a capture file, or a plain pickled or joblib'd estimator.

Loading either runs code from the file (pickle), so only trusted files may be given.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from packager.artefact.examples import Examples
from packager.artefact.manifest import (
    FeatureSpec,
    InputFormat,
    InputSpec,
    Manifest,
    ModelFile,
    ModelInfo,
    TargetSpec,
    check_format_version,
)
from packager.artefact.values import json_label, sorted_labels
from packager.capture.estimator import (
    allows_nan,
    check_estimator,
    column_hints,
    estimator_info,
    task_of,
)
from packager.capture.provenance import collect_provenance
from packager.capture.recording import CAPTURE_KEY, MODEL_FILE, CapturedModel, capture
from packager.errors import CaptureError, ManifestError, ModelFileError

__all__ = ["load_model_file", "read_model_file"]

# Magic numbers of what joblib.load reads: pickle protocol >= 2, zlib, gzip, bz2, xz, lzma, lz4.
_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00", b"\x04\x22\x4d\x18")


def read_model_file(path: str | os.PathLike[str]) -> Any:
    """Unpickle ``path`` with joblib, turning every failure into a ModelFileError."""
    source = str(path)
    file = Path(path)
    if not file.is_file():
        raise ModelFileError(source, "does not exist" if not file.exists() else "is not a file")
    try:
        with file.open("rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise ModelFileError(source, f"cannot be read: {error.strerror}") from None
    if not head.startswith(_MAGIC):
        raise ModelFileError(source, "is not a pickle or joblib file")
    try:
        return joblib.load(file)
    except ModuleNotFoundError as error:
        raise ModelFileError(
            source, f"needs the module {error.name!r}, which is not installed here"
        ) from error
    except AttributeError as error:
        raise ModelFileError(
            source,
            "refers to a class or function the installed packages do not have; "
            "was it saved with other package versions?",
        ) from error
    except Exception as error:
        # A damaged pickle can raise almost anything (struct.error, UnpicklingError, ...).
        raise ModelFileError(
            source, f"is corrupt or truncated ({type(error).__name__}); it cannot be unpickled"
        ) from error


def load_model_file(
    path: str | os.PathLike[str],
    *,
    train: pd.DataFrame | None = None,
    test: pd.DataFrame | None = None,
    target: str | None = None,
    **model_info: Any,
) -> CapturedModel:
    """A CapturedModel from a capture file, or from a plain estimator plus optional data.

    ``train``/``test`` (DataFrames holding the ``target`` column) apply only to a plain
    estimator; ``model_info`` (name, version, description, ...) overrides what was captured.
    """
    source = str(path)
    obj = read_model_file(path)
    given = {k: v for k, v in model_info.items() if v is not None}
    if isinstance(obj, dict) and CAPTURE_KEY in obj:
        if train is not None or test is not None:
            raise CaptureError(
                f"{source} is a capture file and already holds its data; "
                "training and test data apply only to a plain pickled estimator"
            )
        captured = _from_capture(obj, source)
        if given:
            captured.manifest = _override(captured.manifest, given)
        return captured
    check_estimator(obj, source)
    if test is not None and train is None:
        raise CaptureError("test data needs training data too")
    if train is None:
        return _from_estimator(obj, given)
    if target is None:
        raise CaptureError("the name of the target column is needed with training data")
    X, y = _split(train, target, "the training data")
    if test is None:
        return capture(obj, X, y, target_name=target, **given)
    X_test, y_test = _split(test, target, "the test data")
    return capture(obj, X, y, X_test=X_test, y_test=y_test, target_name=target, **given)


def _split(data: pd.DataFrame, target: str, what: str) -> tuple[pd.DataFrame, pd.Series]:
    if target not in data.columns:
        raise CaptureError(f"{what} has no column {target!r}")
    return data.drop(columns=[target]), data[target]


def _from_capture(data: dict[str, Any], source: str) -> CapturedModel:
    version = data[CAPTURE_KEY]
    if not isinstance(version, str):
        raise ModelFileError(source, "has a malformed capture version")
    check_format_version(version)
    estimator = data.get("estimator")
    check_estimator(estimator, source)
    try:
        manifest = Manifest.from_dict(data.get("manifest"), source=source)
        examples = Examples.from_dict(data.get("examples", {}), source=source)
    except ManifestError as error:
        raise ModelFileError(source, f"capture file is malformed: {error.problem}") from None
    attachments = data.get("attachments") or {}
    if not isinstance(attachments, dict) or not all(
        isinstance(k, str) and isinstance(v, bytes) for k, v in attachments.items()
    ):
        raise ModelFileError(source, "capture file attachments must map names to bytes")
    return CapturedModel(estimator, manifest, examples, dict(attachments))


def _override(manifest: Manifest, given: dict[str, Any]) -> Manifest:
    known = set(ModelInfo.__dataclass_fields__) - {"created_at"}
    unknown = sorted(set(given) - known)
    if unknown:
        raise TypeError(f"unknown model_info fields: {', '.join(unknown)}")
    missing = [m for m in manifest.missing if not any(m.startswith(f"model.{k}:") for k in given)]
    return replace(manifest, model=replace(manifest.model, **given), missing=missing)


def _bare_features(model: Any, names: list[str]) -> tuple[FeatureSpec, ...]:
    """Features as far as a fitted model shows them: encoder categories, imputed columns."""
    hints = column_hints(model)
    accepts_nan = allows_nan(model)
    features = []
    for name in names:
        categories, imputed = hints.get(name, (None, False))
        nullable = accepts_nan or imputed
        if categories and all(isinstance(c, bool) for c in categories):
            features.append(FeatureSpec(name, "boolean", nullable, "bool"))
        elif categories is not None:
            labels = sorted_labels(categories)
            features.append(FeatureSpec(name, "category", nullable, "object", categories=labels))
        else:
            features.append(FeatureSpec(name, "number", nullable, "float64"))
    return tuple(features)


def _from_estimator(model: Any, given: dict[str, Any]) -> CapturedModel:
    """What a bare estimator knows about itself, and plain statements of what it does not."""
    task = task_of(model)
    missing = [
        "input: no training data was given, so feature ranges and missing rates are unknown; "
        "categories come from the model's encoders and every other feature is recorded as a "
        "number",
        "target: no training data was given, so the target's name and class balance are unknown",
        "metrics: no test data was given",
        "examples: no data was given, so no example rows are stored and verify cannot re-score",
        "provenance: package versions are those of the packaging environment, not recorded "
        "at training",
    ]
    names = getattr(model, "feature_names_in_", None)
    fmt: InputFormat
    if names is not None:
        fmt, generated, names = "dataframe", False, [str(n) for n in names]
    else:
        count = getattr(model, "n_features_in_", None)
        if count is None:
            raise CaptureError(
                f"the {type(model).__name__} records neither feature names nor a feature count; "
                "give training data to package it"
            )
        fmt, generated, names = "array", True, [f"x{i}" for i in range(int(count))]
        missing.append("input: feature names are unknown; they are generated as x0, x1, ...")
    spec = InputSpec(format=fmt, names_generated=generated, features=_bare_features(model, names))
    classes = getattr(model, "classes_", None)
    target = TargetSpec(
        task=task,
        classes=None
        if classes is None or task == "regression"
        else [json_label(c) for c in classes],
    )
    provenance, unknown = collect_provenance(model, workdir=None)
    # The packaging directory's git state says nothing about the training code.
    provenance = replace(provenance, git_commit=None, git_dirty=None)
    missing.extend(m for m in unknown if "git checkout" not in m)
    missing.append("provenance: the git commit of the training code is unknown")
    name = given.pop("name", None)
    if not name:
        name = type(model).__name__
        missing.append("model.name: not given; the estimator's class name is used")
    for key in ("description", "author", "organisation", "contact", "intended_use", "limitations"):
        if not given.get(key):
            missing.append(f"model.{key}: not given")
    created = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    missing.append("model.created_at: the packaging time; the training time is unknown")
    info = ModelInfo(name=name, version=given.pop("version", "1.0.0"), created_at=created, **given)
    manifest = Manifest(
        model=info,
        model_file=ModelFile(path=MODEL_FILE, serializer="joblib"),
        estimator=estimator_info(model, None),
        input=spec,
        provenance=provenance,
        target=target,
        metrics=None,
        missing=missing,
    )
    return CapturedModel(estimator=model, manifest=manifest, examples=Examples())
