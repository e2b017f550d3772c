"""API keys: which client is asking, checked before every route but the two probes.

With ``DEPLOYML_API_KEYS_FILE`` set, a request must carry ``Authorization: Bearer KEY`` or
``X-API-Key: KEY`` (the Bearer form is read first); otherwise it gets a 401 with a
``WWW-Authenticate`` header, before its body is read. The key's SHA-256 is compared with
every entry of the file in constant time (:meth:`server.api_keys.ApiKeys.client_for`), and
the client's name is kept as ``flask.g.client`` for the access and audit logs. The key itself
is never logged nor repeated. The probes stay open (/livez and /readyz, and their twins in the
other protocols: /v2/health/live, /v2/health/ready and MLflow's /ping), so that an
orchestrator can probe without a key. Without the setting every route is open, and start-up
says so in one line.
"""

from __future__ import annotations

import logging

from flask import Flask, g, request
from werkzeug.datastructures import Headers

from server.api_keys import ApiKeys
from server.errors import UnauthorizedError
from server.logs import SERVER_LOGGER

__all__ = ["KEY_HEADER", "OPEN_PATHS", "install_auth", "presented_key"]

KEY_HEADER = "X-API-Key"
# The probes, in each protocol that has them: an orchestrator probes without a key.
OPEN_PATHS = frozenset({"/livez", "/readyz", "/v2/health/live", "/v2/health/ready", "/ping"})
_BEARER = "bearer"

log = logging.getLogger(SERVER_LOGGER)


def presented_key(headers: Headers) -> str | None:
    """The key a request presents: the Bearer credentials, else the X-API-Key header."""
    scheme, _, credentials = headers.get("Authorization", "").strip().partition(" ")
    # HTTP authentication schemes are case-insensitive.
    if scheme.lower() == _BEARER and credentials.strip():
        return credentials.strip()
    return headers.get(KEY_HEADER, "").strip() or None


def install_auth(app: Flask, keys: ApiKeys | None) -> None:
    """Require a key from ``keys`` on every route but OPEN_PATHS; say at start-up which it is."""
    if keys is None:
        log.warning(
            "no API keys file (DEPLOYML_API_KEYS_FILE): every route is open to anyone "
            "who can reach this address"
        )
        return
    log.info(
        "API keys required on every route but the probes (%s): %d client(s) in %s",
        ", ".join(sorted(OPEN_PATHS)),
        len(keys.clients),
        keys.path,
    )

    @app.before_request
    def authenticate() -> None:
        if request.path in OPEN_PATHS:
            return
        key = presented_key(request.headers)
        client = None if key is None else keys.client_for(key)
        if client is None:
            raise UnauthorizedError(presented=key is not None)
        g.client = client
