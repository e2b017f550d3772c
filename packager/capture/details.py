"""Who made a model and for what: the details its author gives, and the manifest's model record.

:class:`ModelDetails` travels as one value from the command line or a training script to the
manifest. Every field is optional; what is not given is said in the manifest's ``missing``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

from packager.artefact import Manifest, ModelInfo

__all__ = ["DEFAULT_VERSION", "ModelDetails", "model_info", "utc_now", "with_details"]

DEFAULT_VERSION = "1.0.0"


@dataclass(frozen=True)
class ModelDetails:
    """The model's name and version, what it predicts, who made it, and what it is for."""

    name: str | None = None
    version: str | None = None
    description: str | None = None
    author: str | None = None
    organisation: str | None = None
    contact: str | None = None
    intended_use: str | None = None
    limitations: str | None = None

    def given(self) -> dict[str, str]:
        """The fields that were given (not None or empty), by name."""
        return {key: value for key, value in asdict(self).items() if value}


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
