"""The model's documentation served by ``GET /metadata``, built once at start-up."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from packager.artefact import INPUT_CONTRACT_FIELDS, Artefact, FeatureSpec
from server.runtime import Runtime
from server.settings import Settings

__all__ = ["metadata_document"]

_PAYLOADS = {
    "one": {"<feature>": "<value>", "...": "..."},
    "batch": {"instances": [{"<feature>": "<value>"}]},
    "columnar": {"columns": ["<feature>", "..."], "data": [["<value>", "..."]]},
}
SCIKIT_LEARN_PATH = "the model's own predict and predict_proba"
COMPILED_PATH = "the compiled model, within its recorded tolerance (checked at start-up)"
# Only for a model with profiles: any other refuses a "profile" (profile_not_applicable).
_PROFILE_PAYLOAD = {"profile": "<profile>", "instances": [{"<feature>": "<value>"}]}


def metadata_document(runtime: Runtime, settings: Settings) -> dict[str, Any]:
    """Schema, target, metrics, subgroups, profiles, training, provenance, versions and an
    example request, as JSON."""
    artefact = runtime.artefact
    manifest = artefact.manifest
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
            "features": [
                _feature(f, manifest.records_input_contract) for f in manifest.input.features
            ],
            "payloads": _payloads(runtime),
            "max_rows": settings.max_rows,
            "max_request_bytes": settings.max_request_bytes,
            "unseen_categories": {
                "refused": settings.strict_categories,
                "refused_for": sorted(runtime.validator.unscorable),
            },
        },
        "estimator": asdict(manifest.estimator),
        "inference": _inference(runtime),
        "metrics": manifest.metrics,
        # A binary classifier's threshold profiles and the one in force; null for other models.
        "profiles": runtime.profiles.document(),
        "subgroups": manifest.subgroups,
        "training": manifest.training,
        "provenance": asdict(manifest.provenance),
        "version_differences": [asdict(d) for d in runtime.version_differences],
        "example": _example(artefact),
        "edge_cases": _edge_cases(artefact),
        "ready": runtime.not_ready is None,
    }


def _inference(runtime: Runtime) -> dict[str, Any]:
    """How the model is run: the compiled model, its own arithmetic (an exact path), or its
    own predict; and the compile record with why it is not used, when there is one."""
    if runtime.inference.model is not None:
        path = COMPILED_PATH
    elif runtime.exact is not None:
        path = runtime.exact.description
    else:
        path = SCIKIT_LEARN_PATH
    return {**runtime.inference.document(runtime.artefact), "path": path}


def _payloads(runtime: Runtime) -> dict[str, Any]:
    """The request shapes this model accepts: naming a profile only when it has profiles."""
    if runtime.profiles.default is None:
        return _PAYLOADS
    return {**_PAYLOADS, "batch_with_profile": _PROFILE_PAYLOAD}


def _example(artefact: Artefact) -> dict[str, Any] | None:
    """One stored row and its prediction, of the kind chosen at packaging; None if none."""
    rows = artefact.published_example()
    if rows is None:
        return None
    return {
        "rows": artefact.manifest.example_rows,
        "request": {"instances": rows.inputs[:1]},
        "predictions": rows.predictions[:1],
    }


def _edge_cases(artefact: Artefact) -> dict[str, Any] | None:
    """The manifest's summary with each case's id, note, expectation and recorded outcome
    (its inputs stay in edge_cases.json); None if the model has no edge cases."""
    summary, cases = artefact.manifest.edge_cases, artefact.edge_cases
    if summary is None or cases is None:
        return None
    shown = [{k: v for k, v in asdict(c).items() if k != "inputs"} for c in cases.cases]
    return {**asdict(summary), "cases": shown}


def _feature(feature: FeatureSpec, contract: bool) -> dict[str, Any]:
    """A feature as the client needs it: kind, nullability and the training range; and from
    format 4.0 on its input contract (unit, description, plausible limits, whether the model
    fills it in when missing, whether it looks like an identifier, what the author declared).
    An older manifest never recorded the contract, so its features do not claim one."""
    described = asdict(feature)
    if not contract:
        for key in INPUT_CONTRACT_FIELDS:
            del described[key]
    described["json_type"] = {
        "number": "number",
        "integer": "integer",
        "boolean": "boolean",
        "string": "string",
        "category": "one of categories",
    }[feature.kind]
    return described
