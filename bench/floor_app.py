"""The HTTP floor: a hello-world WSGI app that reads the body and answers a fixed small JSON.

No Flask, no JSON parsing, no model: what gunicorn itself costs per request, served with
deployml's worker settings and with sync workers (see bench/contenders.py)::

    gunicorn --workers 2 --bind 127.0.0.1:8000 floor_app:app
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

ANSWER = b'{"predictions": [0]}'


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Read the request body whole, then answer ``ANSWER`` with 200."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    while length > 0:
        chunk = stream.read(min(length, 65536))
        if not chunk:
            break
        length -= len(chunk)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(ANSWER)))]
    start_response("200 OK", headers)
    return [ANSWER]
