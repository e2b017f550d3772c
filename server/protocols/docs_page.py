"""``GET /docs``: Swagger UI, from the files of the ``swagger-ui-bundle`` package (no CDN).

The page, its start-up script and the assets it loads are read or made once at start-up and
served under /docs/..., with a Content-Security-Policy that lets the page load from this
server only: no inline script or style, no other origin (Swagger UI sets its styles through
the DOM, which the policy allows). The validator badge, which would send the document to
swagger.io, is off.

The bundle's Swagger UI (4.x) reads OpenAPI 3.0 only, so the page loads a rendition of
/openapi.json in 3.0 made mechanically from it at start-up (:func:`openapi_30`): a type list
with ``"null"`` becomes ``nullable``, other type lists ``anyOf``, ``examples`` ``example``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app
from swagger_ui_bundle import swagger_ui_path

from server.errors import JSON_MIMETYPE

__all__ = ["DOCS_POLICY", "docs_paths", "install_docs_page", "openapi_30", "publish_for_docs"]

DOCS_PATH = "/docs"
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
DOCUMENT_30 = "openapi-3.0.json"
_INIT = "init.js"
# The bundle's files the page loads, by the media type they are served with.
_ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
_FILES = "deployml_docs"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
"""
# Relative URLs: the page works behind a proxy that serves it under a path prefix.
_START = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "docs/OPENAPI_30",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null
  });
});
""".replace("OPENAPI_30", DOCUMENT_30)

blueprint = Blueprint("docs", __name__)


@blueprint.get(DOCS_PATH)
def page() -> Response:
    """Swagger UI for this server's OpenAPI document."""
    return _served("", "text/html")


@blueprint.get(f"{DOCS_PATH}/<asset>")
def asset(asset: str) -> Response:
    """A file of the page: Swagger UI's own, its start-up script, or the 3.0 document."""
    files: dict[str, tuple[bytes, str]] = current_app.extensions[_FILES]
    if asset not in files:
        from werkzeug.exceptions import NotFound

        raise NotFound()
    return _served(asset, files[asset][1])


def _served(name: str, mimetype: str) -> Response:
    files: dict[str, tuple[bytes, str]] = current_app.extensions[_FILES]
    response = Response(files[name][0], mimetype=mimetype)
    response.headers["Content-Security-Policy"] = DOCS_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def install_docs_page(app: Flask, title: str) -> None:
    """Add /docs and its assets, read from the swagger-ui-bundle package once."""
    files = {name: ((swagger_ui_path / name).read_bytes(), kind) for name, kind in _ASSETS.items()}
    files[""] = (_PAGE.format(title=_escaped(title)).encode(), "text/html")
    files[_INIT] = (_START.encode(), "text/javascript")
    app.extensions[_FILES] = files
    app.register_blueprint(blueprint)


def publish_for_docs(app: Flask, document: dict[str, Any]) -> None:
    """Give the page its 3.0 rendition of ``document``."""
    app.extensions[_FILES][DOCUMENT_30] = (orjson.dumps(openapi_30(document)), JSON_MIMETYPE)


def docs_paths() -> dict[str, dict[str, Any]]:
    """The OpenAPI operations of /docs and its files."""
    files = sorted([*_ASSETS, _INIT, DOCUMENT_30])
    return {
        DOCS_PATH: {"get": _get("Swagger UI for this document (HTML)", "text/html")},
        f"{DOCS_PATH}/{{asset}}": {
            "get": {
                **_get("A file of the /docs page", *sorted({*_ASSETS.values(), JSON_MIMETYPE})),
                "parameters": [
                    {
                        "name": "asset",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": files},
                    }
                ],
            }
        },
    }


def _get(summary: str, *media: str) -> dict[str, Any]:
    error = {"content": {JSON_MIMETYPE: {"schema": {"$ref": "#/components/schemas/Error"}}}}
    # A file's body is its own (a script, a style sheet, an image, the 3.0 document).
    content: dict[str, Any] = {kind: {"schema": {}} for kind in media}
    return {
        "summary": summary,
        "responses": {
            "200": {"description": summary, "content": content},
            "404": {"description": "No such file", **error},
            "405": {"description": "The route does not answer this method", **error},
            "500": {"description": "The server failed", **error},
        },
    }


def openapi_30(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (OpenAPI 3.1) as OpenAPI 3.0.3, for Swagger UI 4."""
    made: dict[str, Any] = _to_30(json.loads(json.dumps(document)))
    made["openapi"] = "3.0.3"
    return made


def _to_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_30(value) for key, value in node.items()}
    types = node.get("type")
    if isinstance(types, list):
        kept = [t for t in types if t != "null"]
        if len(kept) < len(types):
            node["nullable"] = True
        if len(kept) == 1:
            node["type"] = kept[0]
        else:
            del node["type"]
            node["anyOf"] = [{"type": t} for t in kept]
    if isinstance(node.get("examples"), list):
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    return node


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
