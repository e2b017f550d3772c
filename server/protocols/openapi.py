"""``GET /openapi.json``: the OpenAPI 3.1 document of this model's server, made once at start-up.

apispec builds it. The features come from the marshmallow schema the validator words problems
with (``Validator.row_schema``), through apispec's MarshmallowPlugin: names, types, nullability,
hard limits, refused categories as ``enum``, the data dictionary's unit and description, the
training range (``x-training-range``) and the typical synthetic value as an example. The
request and answer shapes around them (:mod:`server.protocols.api_core`) and the other
protocols' routes (:mod:`server.protocols.api_others`) are component schemas referring to it,
so the document cannot drift from what the server checks. A route appears only if the app
has it, so the document is built after every other protocol has registered its routes.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app

from packager.capture import TYPICAL, synthetic_rows
from server.errors import JSON_MIMETYPE
from server.http import EXTENSION, OPEN_PATHS, State
from server.protocols.api_core import core_paths, core_schemas, error_response
from server.protocols.api_others import other_paths
from server.protocols.docs_page import docs_paths, install_docs_page, publish_for_docs

__all__ = ["OPENAPI_PATH", "install_openapi", "openapi_document"]

OPENAPI_PATH = "/openapi.json"
OPENAPI_VERSION = "3.1.0"
_DOCUMENT = "openapi_document"

blueprint = Blueprint("openapi", __name__)


@blueprint.get(OPENAPI_PATH)
def document() -> Response:
    """The OpenAPI 3.1 document of this server, as made at start-up."""
    body: bytes = current_app.extensions[_DOCUMENT]
    return Response(body, mimetype=JSON_MIMETYPE)


def install_openapi(app: Flask) -> None:
    """Add /openapi.json and /docs, documenting every route the app has: install it after
    every other protocol."""
    app.register_blueprint(blueprint)
    state: State = app.extensions[EXTENSION]
    install_docs_page(app, f"{state.runtime.artefact.manifest.model.name}: API")
    made = openapi_document(app)
    app.extensions[_DOCUMENT] = orjson.dumps(made)
    publish_for_docs(app, made)


def openapi_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s routes for the model it serves."""
    state: State = app.extensions[EXTENSION]
    runtime = state.runtime
    manifest = runtime.artefact.manifest
    model = manifest.model
    info: dict[str, Any] = {
        "description": _description(model.description, state),
        "x-artefact-sha256": runtime.artefact.sha256,
        "x-model-name": model.name,
    }
    spec = APISpec(
        title=f"{model.name} (deployml)",
        version=model.version,
        openapi_version=OPENAPI_VERSION,
        plugins=[MarshmallowPlugin()],
        info=info,
    )
    # Unknown keys are refused (RowChecks counts them): the document says so too.
    spec.components.schema(
        "Features",
        {"additionalProperties": False, "description": "One row: every feature, no other key."},
        schema=runtime.validator.row_schema,
    )
    keys = state.settings.api_keys_file is not None
    if keys:
        spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
        spec.components.security_scheme(
            "apiKey", {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        )
    for name, schema in core_schemas(state).items():
        spec.components.schema(name, schema)
    rules = {_shape(rule.rule) for rule in app.url_map.iter_rules()}
    example = _example_row(state)
    paths = {**core_paths(state, example), **docs_paths(), **other_paths(state, example)}
    for path, operations in paths.items():
        if _shape(path) in rules:
            spec.path(path=path, operations=_secured(operations, path, keys))
    made = spec.to_dict()
    if keys:
        made["security"] = [{"bearer": []}, {"apiKey": []}]
    return made


def _description(text: str | None, state: State) -> str:
    """The model's own description, and what the document is made from."""
    said = [text] if text else []
    said.append(
        "Generated at start-up from the artefact this server loaded: the features, their "
        "types, limits and categories are those the server checks every request against."
    )
    if state.settings.api_keys_file is not None:
        said.append(
            "Every route but the probes needs an API key (this document and /docs too): "
            "`Authorization: Bearer KEY` or `X-API-Key: KEY`."
        )
    return "\n\n".join(said)


def _example_row(state: State) -> dict[str, Any]:
    """A row to show: a stored one only where its author chose real examples, else the
    typical synthetic row (as the serve banner shows)."""
    artefact = state.runtime.artefact
    if artefact.manifest.example_rows == "real":
        stored = artefact.published_example()
        if stored is not None and stored.inputs:
            row: dict[str, Any] = stored.inputs[0]
            return row
    return synthetic_rows(artefact.manifest.input)[TYPICAL]


def _shape(path: str) -> str:
    """A path with its parameters unnamed: ``/v2/models/{name}`` and Flask's
    ``/v2/models/<model_name>`` are both ``/v2/models/{}``."""
    return re.sub(r"<[^>]*>|\{[^}]*\}", "{}", path)


def _secured(operations: dict[str, Any], path: str, keys: bool) -> dict[str, Any]:
    """The operations of ``path``; with API keys, the open probes say so, the others add 401."""
    if not keys:
        return operations
    secured: dict[str, Any] = {}
    for method, operation in operations.items():
        if path in OPEN_PATHS:
            secured[method] = {**operation, "security": []}
        else:
            # The 401 comes in the route's own error shape (MLflow's, the OIP's or deployml's),
            # that of its 500, which every operation has.
            shape = operation["responses"]["500"]["content"][JSON_MIMETYPE]["schema"]
            refused = error_response("No or wrong API key", shape)
            responses = {**operation["responses"], "401": refused}
            secured[method] = {**operation, "responses": responses}
    return secured
