"""The OpenAPI description of deployml's own routes: /predict with its three body shapes and
its answer, /metadata, the card, the probes, the document and /docs; and the one error shape.

Each shape refers to the ``Features`` component (the validator's own marshmallow schema) for
a row; what is added here is what the body around the rows holds, as
``server.validation.read_payload`` and ``server.http.answer`` make it.
"""

from __future__ import annotations

from typing import Any

from server.http import State

__all__ = [
    "batch_options",
    "core_paths",
    "core_schemas",
    "error_response",
    "json_content",
]


_ANY_JSON: dict[str, Any] = {"type": ["string", "number", "integer", "boolean", "null"]}
_STATUSES = {
    "400": "The body is not JSON, or not one of the accepted shapes",
    "404": "No such route or model",
    "405": "The route does not answer this method",
    "413": "The body or the batch is larger than this server accepts",
    "415": "The body is not declared as application/json",
    "422": "Rows that do not match the schema (each problem by row and feature, never a "
    "value), an unseen category that is refused, or an unknown profile",
    "500": "The server failed; the body says only that",
    "503": "The model is not ready (its self-test failed), or the audit log cannot be written",
}


def ref(name: str) -> dict[str, str]:
    """A reference to a component schema."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A JSON body of ``schema``."""
    return {"application/json": {"schema": schema, **extra}}


def error_response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error response in deployml's shape (or ``schema``)."""
    return {"description": description, "content": json_content(schema or ref("Error"))}


def errors(*statuses: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The error responses of ``statuses`` (405 and 500 are possible on every route)."""
    return {
        status: error_response(_STATUSES[status], schema)
        for status in sorted({*statuses, "405", "500"})
    }


def batch_options(state: State) -> dict[str, Any]:
    """The properties a batch may add to its rows: ``on_error`` and, for a model with
    threshold profiles, ``profile`` (MLflow's ``params`` take the same)."""
    options: dict[str, Any] = {
        "on_error": {
            "type": "string",
            "enum": ["fail", "skip"],
            "description": "fail: refuse the batch if any row is invalid (default: "
            f"{state.settings.on_error}); skip: score the valid rows, list the others",
        }
    }
    profiles = state.runtime.profiles
    if profiles.default is not None:
        options["profile"] = {
            "type": "string",
            "enum": list(profiles.by_name),
            "description": "The threshold profile to decide with "
            f"(when not sent: {profiles.default.name})",
        }
    return options


def core_schemas(state: State) -> dict[str, dict[str, Any]]:
    """The component schemas of deployml's own bodies, for the model ``state`` serves."""
    settings = state.settings
    names = state.runtime.validator.names
    options = batch_options(state)
    rows = {"minItems": 1, "maxItems": settings.max_rows}
    # Every feature is required: the columns are all of them, each row a value of each.
    width = {"minItems": len(names), "maxItems": len(names)}
    return {
        "Detail": {
            "type": "object",
            "properties": {
                "row": {"type": "integer", "minimum": 0},
                "feature": {"type": "string"},
                "problem": {"type": "string"},
            },
            "required": ["row", "problem"],
        },
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {"type": "array", "items": ref("Detail")},
                    },
                    "required": ["code", "message", "details"],
                }
            },
            "required": ["error"],
        },
        "Batch": {
            "type": "object",
            "properties": {
                "instances": {"type": "array", "items": ref("Features"), **rows},
                **options,
            },
            "required": ["instances"],
            "additionalProperties": False,
        },
        "ColumnarBatch": {
            "type": "object",
            "properties": {
                "columns": {
                    "type": "array",
                    "items": {"type": "string", "enum": names},
                    "uniqueItems": True,
                    "description": "The feature names, in any order, each once",
                    **width,
                },
                "data": {
                    "type": "array",
                    "items": {"type": "array", "items": _ANY_JSON, **width},
                    "description": "The rows: each an array of one value per column",
                    **rows,
                },
                **options,
            },
            "required": ["columns", "data"],
            "additionalProperties": False,
        },
        "PredictRequest": {
            "oneOf": [ref("Features"), ref("Batch"), ref("ColumnarBatch")],
            "description": "One instance (an object of features), a batch of instances, or "
            "a columnar batch",
        },
        "PredictAnswer": _answer(state),
    }


def _answer(state: State) -> dict[str, Any]:
    """/predict's answer: one entry per request row (null for a refused row, in skip mode)."""
    runtime = state.runtime
    labels = runtime.labels
    prediction = {"type": ["number", "null"]} if runtime.task == "regression" else _ANY_JSON
    properties: dict[str, Any] = {
        "predictions": {"type": "array", "items": prediction},
        "imputed": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "string"}},
            "description": "Per row, the features sent as null that the model fills in",
        },
        "warnings": {
            "type": "array",
            "items": ref("Detail"),
            "description": "Values unlike training, by row and feature",
        },
        "errors": {
            "type": "array",
            "items": ref("Detail"),
            "description": 'Only with "on_error": "skip": the refused rows\' problems',
        },
        "refused_rows": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "model": {
            "type": "object",
            "properties": {k: {"type": "string"} for k in ("name", "version", "sha256")},
            "required": ["name", "version", "sha256"],
        },
        "request_id": {"type": "string"},
    }
    required = ["predictions", "imputed", "warnings", "model", "request_id"]
    if labels is not None:
        keyed = {
            "type": ["object", "null"],
            "properties": {label: {"type": ["number", "null"]} for label in labels},
            "required": list(labels),
            "additionalProperties": False,
        }
        properties["probabilities"] = {"type": "array", "items": keyed}
    if runtime.profiles.default is not None:
        properties["decisions"] = {"type": "array", "items": _ANY_JSON}
        properties["profile"] = {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "threshold": {"type": "number"},
                "rule": {"type": "string"},
                "positive_class": _ANY_JSON,
            },
            "required": ["name", "threshold", "rule", "positive_class"],
        }
    return {"type": "object", "properties": properties, "required": required}


def core_paths(state: State, example: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The operations of deployml's own routes, by path."""
    names = state.runtime.validator.names
    examples = {
        "one": {"summary": "One instance", "value": example},
        "batch": {"summary": "A batch", "value": {"instances": [example]}},
        "columnar": {
            "summary": "A columnar batch",
            "value": {"columns": names, "data": [[example[n] for n in names]]},
        },
    }
    status: dict[str, Any] = {"type": "object", "properties": {"status": {"type": "string"}}}
    not_ready = {**status, "properties": {**status["properties"], "reason": {"type": "string"}}}
    html = {"text/html": {"schema": {"type": "string"}}}
    return {
        "/predict": {
            "post": {
                "summary": "Score rows: predictions, probabilities, decisions and warnings",
                "operationId": "predict",
                "requestBody": {
                    "required": True,
                    "content": json_content(ref("PredictRequest"), examples=examples),
                },
                "responses": {
                    "200": {
                        "description": "The answer, one entry per row",
                        "content": json_content(ref("PredictAnswer")),
                    },
                    **errors("400", "413", "415", "422", "503"),
                },
            }
        },
        "/metadata": _get(
            "The model's documentation: schema, target, metrics, profiles, provenance",
            json_content({"type": "object", "required": ["model", "input", "ready"]}),
        ),
        "/": _get("The model card (HTML)", html),
        "/livez": _get("Liveness: the process answers", json_content(status)),
        "/readyz": {
            "get": {
                "summary": "Readiness: the model passed its self-test",
                "responses": {
                    "200": {"description": "Ready", "content": json_content(status)},
                    "503": {
                        "description": "Not ready, and why",
                        "content": json_content(not_ready),
                    },
                    **errors(),
                },
            }
        },
        "/openapi.json": _get("This document (OpenAPI 3.1)", json_content({"type": "object"})),
    }


def _get(summary: str, content: dict[str, Any]) -> dict[str, Any]:
    """A GET that answers ``content`` (or the usual errors)."""
    return {
        "get": {
            "summary": summary,
            "responses": {"200": {"description": summary, "content": content}, **errors()},
        }
    }
