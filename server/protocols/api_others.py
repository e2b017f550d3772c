"""The OpenAPI description of the other protocols' routes: the Open Inference Protocol (V2),
MLflow's scoring protocol and the Prometheus metrics with /drift.

Their bodies are those protocols' own (their specifications are the reference, so only what
a client relies on is required here, beside the features); their errors, a 401 included, are
in each protocol's shape, or deployml's for what the core app answers itself (405, 413, 500).
The document lists a route only if the app has it (:mod:`server.protocols.openapi`).
"""

from __future__ import annotations

from typing import Any

from server.http import State
from server.protocols.api_core import batch_options, error_response, json_content, ref
from server.protocols.oip import DATATYPES, HEADER_LENGTH, feature_datatype

__all__ = ["other_paths"]

_STATUS = {
    "400": "The body cannot be read as this protocol's request, or its rows are invalid",
    "404": "No such model (the name sent is not repeated)",
    "405": "The route does not answer this method",
    "413": "The body or the batch is larger than this server accepts",
    "415": "The body's Content-Type is not one this route reads",
    "422": "Rows that do not match the schema",
    "500": "The server failed; the body says only that",
    "503": "The model is not ready, or the audit log cannot be written",
}


def _errors(shape: dict[str, Any], *statuses: str) -> dict[str, Any]:
    """Error responses in ``shape`` or deployml's (what the core app answers itself)."""
    either = {"anyOf": [shape, ref("Error")]}
    return {
        status: error_response(_STATUS[status], either)
        for status in sorted({*statuses, "405", "500"})
    }


def _tensor(names: list[str] | None = None) -> dict[str, Any]:
    """An OIP tensor: its name, shape, datatype and data (flat or nested, in row order)."""
    name: dict[str, Any] = {"type": "string"}
    if names is not None:
        name["enum"] = names
    return {
        "type": "object",
        "properties": {
            "name": name,
            "shape": {"type": "array", "items": {"type": "integer"}},
            "datatype": {"type": "string", "enum": sorted(DATATYPES)},
            "parameters": {"type": "object"},
            "data": {"type": "array"},
        },
        "required": ["name", "shape", "datatype"],
    }


def _oip(state: State, example: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The Open Inference Protocol's routes (each model route also under /versions/{v})."""
    # Each feature's datatype as the model's metadata (GET /v2/models/{name}) gives it.
    datatypes = {f.name: feature_datatype(f) for f in state.runtime.validator.features}
    names = list(datatypes)
    kinds = ", ".join(f"{name}: {datatype}" for name, datatype in datatypes.items())
    error = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    version = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}
    infer_example = {
        "inputs": [
            {"name": n, "shape": [1], "datatype": datatype, "data": [example[n]]}
            for n, datatype in datatypes.items()
        ]
    }
    request = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "inputs": {
                "type": "array",
                "items": _tensor(names),
                "minItems": len(names),
                "maxItems": len(names),
            },
            "outputs": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["inputs"],
        "description": f"One input tensor per feature, shape [-1] ({kinds})",
    }
    answer = {
        "type": "object",
        "properties": {
            "model_name": {"type": "string"},
            "model_version": {"type": "string"},
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "outputs": {"type": "array", "items": _tensor()},
        },
        "required": ["model_name", "outputs"],
    }
    metadata = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "versions": {"type": "array", "items": {"type": "string"}},
            "platform": {"type": "string"},
            "inputs": {"type": "array", "items": {"type": "object"}},
            "outputs": {"type": "array", "items": {"type": "object"}},
        },
        "required": ["name", "inputs", "outputs"],
    }

    def get(summary: str, body: dict[str, Any] | None, *params: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"description": summary}
        if body is not None:
            ok["content"] = json_content(body)
        statuses = ("404", "503") if params else ("503",)
        operation = {"summary": summary, "responses": {"200": ok, **_errors(error, *statuses)}}
        return {"get": {**operation, "parameters": list(params)} if params else operation}

    # The binary tensor data extension: a JSON header, then raw tensor bytes; the header's
    # length in bytes is sent in HEADER_LENGTH (and answered so, when outputs are binary).
    binary = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    length = {"type": "integer", "minimum": 1}
    header_length = {
        "name": HEADER_LENGTH,
        "in": "header",
        "required": False,
        "schema": length,
        "description": "Binary tensor data: the JSON header's length in bytes; the inputs' "
        "raw bytes follow it, in input order",
    }
    infer = {
        "summary": "Open Inference Protocol: score the input tensors",
        "requestBody": {
            "required": True,
            "content": {**json_content(request, example=infer_example), **binary},
        },
        "responses": {
            "200": {
                "description": "The output tensors (binary ones after the JSON header)",
                "headers": {HEADER_LENGTH: {"schema": length}},
                "content": {**json_content(answer), **binary},
            },
            **_errors(error, "400", "404", "413", "415", "422", "503"),
        },
    }
    paths: dict[str, dict[str, Any]] = {
        "/v2": get("Open Inference Protocol: server metadata", {"type": "object"}),
        "/v2/health/live": get("Open Inference Protocol: liveness", None),
        "/v2/health/ready": get("Open Inference Protocol: readiness", None),
    }
    for base, params in (
        ("/v2/models/{name}", [name]),
        ("/v2/models/{name}/versions/{version}", [name, version]),
    ):
        paths[base] = get("Open Inference Protocol: model metadata", metadata, *params)
        paths[f"{base}/ready"] = get("Open Inference Protocol: model readiness", None, *params)
        paths[f"{base}/infer"] = {"post": {**infer, "parameters": [*params, header_length]}}
    return paths


def _mlflow(state: State, example: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """MLflow's scoring protocol: /invocations and /ping."""
    error = {
        "type": "object",
        "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
        "required": ["error_code", "message"],
    }
    names = state.runtime.validator.names
    rows = {"minItems": 1, "maxItems": state.settings.max_rows}
    records = {"type": "array", "items": ref("Features"), **rows}
    width = {"minItems": len(names), "maxItems": len(names)}
    split = {
        "type": "object",
        "description": 'pandas\' split orient, as DataFrame.to_dict(orient="split") gives',
        "properties": {
            "columns": {
                "type": "array",
                "items": {"type": "string", "enum": names},
                "uniqueItems": True,
                **width,
            },
            "data": {"type": "array", "items": {"type": "array", **width}, **rows},
            "index": {"type": "array", "description": "One entry per row (not read)"},
        },
        "required": ["columns", "data"],
        "additionalProperties": False,
    }
    columns = {
        "type": "object",
        "description": "An object of columns: each feature's values, one per row",
        "properties": {n: {"type": "array", **rows} for n in names},
        "required": names,
        "additionalProperties": False,
    }
    tensors = {"anyOf": [records, columns, ref("Features")]}
    params = {
        "type": ["object", "null"],
        "properties": batch_options(state),
        "additionalProperties": False,
    }
    body = {
        "description": "Exactly one of dataframe_split, dataframe_records, instances or inputs "
        "(instances and inputs: records, an object of columns, or one row), and optionally "
        "params",
        "oneOf": [
            {
                "type": "object",
                "properties": {key: schema, "params": params},
                "required": [key],
                "additionalProperties": False,
            }
            for key, schema in (
                ("dataframe_split", split),
                ("dataframe_records", records),
                ("instances", tensors),
                ("inputs", tensors),
            )
        ],
    }
    example_split = {"columns": names, "data": [[example[n] for n in names]]}
    return {
        "/invocations": {
            "post": {
                "summary": "MLflow scoring protocol: score a DataFrame (JSON or CSV)",
                "requestBody": {
                    "required": True,
                    "content": {
                        **json_content(body, example={"dataframe_split": example_split}),
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "responses": {
                    "200": {
                        "description": "The predictions, with /predict's other keys beside them",
                        "content": json_content(ref("PredictAnswer")),
                    },
                    **_errors(error, "400", "413", "415", "422", "503"),
                },
            }
        },
        "/ping": {
            "get": {
                "summary": "MLflow scoring protocol: health",
                "responses": {"200": {"description": "Up"}, **_errors(error, "503")},
            }
        },
    }


def _metrics() -> dict[str, dict[str, Any]]:
    """Prometheus /metrics and the population stability index per feature."""
    error = ref("Error")
    return {
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text exposition format 0.0.4)",
                "responses": {
                    "200": {
                        "description": "The metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(error),
                },
            }
        },
        "/drift": {
            "get": {
                "summary": "Drift: the population stability index per feature against training",
                "responses": {
                    "200": {
                        "description": "PSI per feature",
                        "content": json_content({"type": "object"}),
                    },
                    **_errors(error, "503"),
                },
            }
        },
    }


def other_paths(state: State, example: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The other protocols' operations, by path (listed by the document if the app has them)."""
    return {**_oip(state, example), **_mlflow(state, example), **_metrics()}
