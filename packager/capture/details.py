"""The manifest's model record made from the details a model's author gives.

:class:`~packager.artefact.ModelDetails` travels as one value from the command line or a
training script to here; what is not given is said in the manifest's ``missing``, and the
name and version get their defaults.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from typing import Any

from packager.artefact import Manifest, ModelDetails, ModelInfo

__all__ = ["DEFAULT_VERSION", "model_info", "utc_now", "with_details"]

DEFAULT_VERSION = "1.0.0"


# Said in `missing` when not given; the name and version have defaults instead.
_STATED = tuple(f.name for f in fields(ModelDetails) if f.name not in ("name", "version"))


def utc_now() -> str:
    """The current time as the manifest records it: ISO 8601, UTC, whole seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def model_info(details: ModelDetails, estimator: Any) -> tuple[ModelInfo, list[str]]:
    """The manifest's ``model`` record, created now, and what it lacks."""
    missing = []
    name = details.name
    if not name:
        name = type(estimator).__name__
        missing.append("model.name: not given; the estimator's class name is used")
    missing += [f"model.{key}: not given" for key in _STATED if not getattr(details, key)]
    info = ModelInfo(
        **{**asdict(details), "name": name, "version": details.version or DEFAULT_VERSION},
        created_at=utc_now(),
    )
    return info, missing


def with_details(manifest: Manifest, details: ModelDetails) -> Manifest:
    """``manifest`` with the given details in place of the recorded ones."""
    given = details.given()
    missing = [m for m in manifest.missing if not any(m.startswith(f"model.{k}:") for k in given)]
    return replace(manifest, model=replace(manifest.model, **given), missing=missing)
