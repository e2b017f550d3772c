"""A Python client for a running deployml server: a DataFrame in, its answers as a DataFrame.

    from packager.client import Client

    with Client("http://localhost:8000", api_key=key) as server:
        answers = server.predict(frame)        # on frame's index
        answers["probability_yes"], answers["warnings"]

``session`` holds ``Client`` (chunking a frame to the server's limits), ``tables`` the
columnar body and the answers' frame, ``transport`` the one keep-alive connection
(``http.client``, no other dependency) and the errors: ``ClientError`` for a refusal (the
server's status, code, message and details), ``ServerUnreachableError`` for no answer.
"""

from packager.client.session import DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_ROWS, Client
from packager.client.transport import DEFAULT_TIMEOUT, ClientError, ServerUnreachableError

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_TIMEOUT",
    "Client",
    "ClientError",
    "ServerUnreachableError",
]
