"""The model file: the one place that serializes an estimator, reads one back, and checks it.

Reading unpickles, which runs code from the file: only trusted files may be given. Every way
the file can fail becomes a :class:`~packager.errors.ModelFileError` naming it; the
estimator's own messages are not quoted, as they may hold data values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import joblib
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted

from packager.artefact.values import dotted_name
from packager.errors import ModelFileError, NotAnEstimatorError, NotFittedError

__all__ = ["check_estimator", "read_model_file", "write_model_file"]

# Magic numbers of what joblib.load reads: pickle protocol >= 2, zlib, gzip, bz2, xz, lzma, lz4.
_MAGIC = (b"\x80", b"\x78", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00", b"\x04\x22\x4d\x18")


def write_model_file(obj: Any, path: str | os.PathLike[str]) -> None:
    """Serialize ``obj`` (an estimator, or a capture file's dict) to ``path`` with joblib."""
    joblib.dump(obj, path)


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
