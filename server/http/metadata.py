"""The model's documentation served by ``GET /metadata``, built once at start-up."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from packager.artefact import FeatureSpec
from server.runtime import Runtime
from server.settings import Settings

__all__ = ["metadata_document"]

_PAYLOADS = {
    "one": {"<feature>": "<value>", "...": "..."},
    "batch": {"instances": [{"<feature>": "<value>"}]},
    "columnar": {"columns": ["<feature>", "..."], "data": [["<value>", "..."]]},
}


def metadata_document(runtime: Runtime, settings: Settings) -> dict[str, Any]:
    """Schema, target, metrics, training, provenance, versions and an example request, as JSON."""
    artefact = runtime.artefact
    manifest = artefact.manifest
    examples = artefact.examples
    return {
        "model": asdict(manifest.model),
        "artefact": {
            "sha256": artefact.sha256,
            "format_version": manifest.format_version,
            "missing": manifest.missing,
        },
        "task": runtime.task,
        "target": None if manifest.target is None else asdict(manifest.target),
        "probability_keys": runtime.labels,
        "input": {
            "format": manifest.input.format,
            "features": [_feature(f) for f in manifest.input.features],
            "payloads": _PAYLOADS,
            "max_rows": settings.max_rows,
            "max_request_bytes": settings.max_request_bytes,
            "unseen_categories": {
                "refused": settings.strict_categories,
                "refused_for": sorted(runtime.validator.unscorable),
            },
        },
        "estimator": asdict(manifest.estimator),
        "metrics": manifest.metrics,
        "training": manifest.training,
        "provenance": asdict(manifest.provenance),
        "version_differences": [asdict(d) for d in runtime.version_differences],
        "example": {
            "request": {"instances": examples.inputs[:1]},
            "predictions": examples.predictions[:1],
        },
        "ready": runtime.not_ready is None,
    }


def _feature(feature: FeatureSpec) -> dict[str, Any]:
    """A feature as the client needs it: kind, nullability and the training range."""
    described = asdict(feature)
    described["json_type"] = {
        "number": "number",
        "integer": "integer",
        "boolean": "boolean",
        "string": "string",
        "category": "one of categories",
    }[feature.kind]
    return described
