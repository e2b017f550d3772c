"""The model file: the one place that serializes an estimator, reads one back, and checks it.

An artefact's model is a skops file, read with exactly the types its manifest approved (see
:mod:`packager.artefact.trust`), or, when asked for, a joblib pickle, read only when pickles
are allowed. Unpickling runs code from the file: :func:`read_pickle` (a user's own capture
file or pickled estimator) and pickled artefacts must come from someone trusted. Every way a
file can fail becomes a :class:`~packager.errors.ModelFileError` naming it; the estimator's
own messages are not quoted, as they may hold data values.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import joblib
import skops.io
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from packager.artefact.manifest import (
    MODEL_FILE,
    PICKLE_MODEL_FILE,
    Manifest,
    ModelFile,
    Serializer,
)
from packager.artefact.trust import check_recorded
from packager.artefact.values import dotted_name
from packager.errors import (
    ModelFileError,
    NotAnEstimatorError,
    NotFittedError,
    PickleRefusedError,
)

__all__ = [
    "MODEL_FORMATS",
    "ModelFormat",
    "check_estimator",
    "read_model_file",
    "read_pickle",
    "recorded_with",
    "skops_types",
    "write_model_file",
    "write_pickle",
]

ModelFormat = Literal["skops", "pickle"]
MODEL_FORMATS: dict[ModelFormat, tuple[str, Serializer]] = {
    "skops": (MODEL_FILE, "skops"),
    "pickle": (PICKLE_MODEL_FILE, "joblib"),
}
"""What ``--format`` may name, with the model file and serializer each writes."""

# Magic numbers of what joblib.load reads: pickle protocol >= 2, zlib, gzip, bz2, xz, lzma, lz4.
_PICKLE_MAGIC = (
    b"\x80",
    b"\x78",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"\x5d\x00",
    b"\x04\x22\x4d\x18",
)
# A skops file is a zip archive.
_SKOPS_MAGIC = (b"PK\x03\x04",)


def write_model_file(estimator: Any, path: str | os.PathLike[str], serializer: Serializer) -> None:
    """Serialize ``estimator`` to ``path`` with skops, or with joblib (a pickle)."""
    if serializer == "joblib":
        write_pickle(estimator, path)
        return
    try:
        # Deflated: a third to a fifth of the stored size, for a little more load time (bench/).
        skops.io.dump(estimator, Path(path), compression=zipfile.ZIP_DEFLATED)
    except OSError:
        raise  # a full disk or a permission: the writer names the target
    except Exception as error:  # skops refuses what it cannot rebuild (a lambda, a closure...)
        raise ModelFileError(
            dotted_name(estimator),
            f"cannot be saved as skops ({type(error).__name__}); "
            "package it as a pickle with --format pickle, if whoever loads it trusts you",
        ) from error


def write_pickle(obj: Any, path: str | os.PathLike[str]) -> None:
    """Pickle ``obj`` (an estimator, or a capture file's dict) to ``path`` with joblib."""
    joblib.dump(obj, path)


def skops_types(path: str | os.PathLike[str]) -> list[str]:
    """The types in the skops file at ``path`` that skops does not trust by default.

    Reads only the file's schema; nothing is loaded or run.
    """
    source = str(path)
    _check_magic(Path(path), _SKOPS_MAGIC, "is not a skops file")
    try:
        return sorted(skops.io.get_untrusted_types(file=Path(path)))
    except Exception as error:  # a damaged zip or schema can raise almost anything
        raise ModelFileError(
            source, f"is corrupt or truncated ({type(error).__name__}); it cannot be read"
        ) from error


def read_model_file(
    root: Path, model_file: ModelFile, *, allow_pickle: bool = False, allow_with: str = ""
) -> Any:
    """The estimator of the artefact at ``root``, read as its manifest's ``model_file`` says.

    A skops file is refused if it holds a type the manifest does not record, and otherwise
    loaded trusting exactly the recorded types. A pickle raises PickleRefusedError (saying
    to allow it ``allow_with``) unless ``allow_pickle``.
    """
    path = root / model_file.path
    if model_file.serializer == "joblib":
        if not allow_pickle:
            raise PickleRefusedError(str(root), model_file.path, allow_with or "--allow-pickle")
        return read_pickle(path)
    check_recorded(skops_types(path), model_file.trusted_types, str(path))
    try:
        return skops.io.load(path, trusted=list(model_file.trusted_types))
    except Exception as error:
        raise _load_failure(str(path), error, "read") from error


def read_pickle(path: str | os.PathLike[str]) -> Any:
    """Unpickle ``path`` with joblib, turning every failure into a ModelFileError."""
    file = Path(path)
    _check_magic(file, _PICKLE_MAGIC, "is not a pickle or joblib file")
    try:
        return joblib.load(file)
    except Exception as error:
        raise _load_failure(str(path), error, "unpickled") from error


def _check_magic(file: Path, magic: tuple[bytes, ...], problem: str) -> None:
    source = str(file)
    if not file.is_file():
        raise ModelFileError(source, "does not exist" if not file.exists() else "is not a file")
    try:
        with file.open("rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise ModelFileError(source, f"cannot be read: {error.strerror}") from None
    if not head.startswith(magic):
        raise ModelFileError(source, problem)


def _load_failure(source: str, error: Exception, verb: str) -> ModelFileError:
    if isinstance(error, ModuleNotFoundError):
        return ModelFileError(
            source, f"needs the module {error.name!r}, which is not installed here"
        )
    if isinstance(error, AttributeError):
        return ModelFileError(
            source,
            "refers to a class or function the installed packages do not have; "
            "was it saved with other package versions?",
        )
    # A damaged file can raise almost anything (struct.error, UnpicklingError, BadZipFile...).
    return ModelFileError(
        source, f"is corrupt or truncated ({type(error).__name__}); it cannot be {verb}"
    )


def check_estimator(obj: Any, source: str) -> None:
    """Raise unless ``obj`` is a fitted scikit-learn-style estimator (``source`` names it)."""
    if isinstance(obj, type) or not all(
        callable(getattr(obj, name, None)) for name in ("fit", "predict", "get_params")
    ):
        raise NotAnEstimatorError(source, dotted_name(obj))
    try:
        check_is_fitted(obj)
    except SklearnNotFittedError:
        raise NotFittedError(source, type(obj).__name__) from None
    except TypeError:
        # check_is_fitted refuses objects that are not estimators in its sense.
        raise NotAnEstimatorError(source, dotted_name(obj)) from None


def recorded_with(manifest: Manifest, model_file: ModelFile) -> Manifest:
    """``manifest`` naming ``model_file``; a skops file's reader joins the pinned packages, as
    what wrote the file is part of what is needed to read it."""
    packages = dict(manifest.provenance.packages)
    if model_file.serializer == "skops":
        packages["skops"] = metadata.version("skops")
    provenance = replace(manifest.provenance, packages=packages)
    return replace(manifest, model_file=model_file, provenance=provenance)
