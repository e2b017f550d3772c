"""One keep-alive HTTP connection to a deployml server, and its errors as exceptions.

Built on the standard library's ``http.client``: no dependency to install. A connection the
server closed while idle (its keep-alive timeout) is met when the next request is sent; that
request is sent once more on a new connection, as HTTP clients do for a stale pooled one,
and only then (never after an answer began, never on a fresh connection).
"""

from __future__ import annotations

import http.client
import socket
from typing import Any
from urllib.parse import urlsplit

import orjson

from packager.errors import DeploymlError

__all__ = ["DEFAULT_TIMEOUT", "ClientError", "ServerUnreachableError", "Transport"]

# Seconds to wait for the server to connect, and then for each read of its answer.
DEFAULT_TIMEOUT = 60.0
# How a kept-alive connection the server closed while idle shows when it is used again.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class ClientError(DeploymlError):
    """The server refused a request: its HTTP ``status`` and its JSON error's ``code``,
    ``message`` and ``details`` (by row and feature, never a value)."""

    def __init__(
        self,
        url: str,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(text or f"{url} answered {status} {code}: {message}")
        self.url, self.status, self.code = url, status, code
        self.message, self.details = message, details or []


class ServerUnreachableError(ClientError):
    """No answer: the connection was refused, timed out, or dropped; ``status`` is 0."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(url, 0, "unreachable", reason, text=f"cannot reach {url}: {reason}")


class Transport:
    """Sends requests to one server over one connection, kept open between them."""

    def __init__(self, url: str, api_key: str | None, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a server URL is http:// or https:// and a host, not {url!r}")
        self.url = url.rstrip("/")
        self._secure = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._headers = {"Accept": "application/json"}
        if api_key is not None:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._connection: http.client.HTTPConnection | None = None
        self._used = False

    def request(self, method: str, path: str, body: bytes | None = None) -> Any:
        """The JSON answer to ``method path``; raise ClientError for any other answer."""
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        while True:
            reused = self._used
            connection = self._open()
            try:
                connection.request(method, self._prefix + path, body=body, headers=headers)
                response = connection.getresponse()
            except _STALE as error:
                self.close()
                if reused:
                    continue  # the server had closed the idle connection: once more, anew
                raise self._unreachable(error) from None
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise self._unreachable(error) from None
            try:
                data = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.close()  # the answer began: never sent again
                raise self._unreachable(error) from None
            self._used = True
            if response.will_close:
                self.close()
            return self._answer(response, data)

    def close(self) -> None:
        """Close the connection (the next request opens another)."""
        if self._connection is not None:
            self._connection.close()
        self._connection, self._used = None, False

    def _open(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._secure else http.client.HTTPConnection
            self._connection = kind(self._host, self._port, timeout=self._timeout)
        return self._connection

    def _unreachable(self, error: BaseException) -> ServerUnreachableError:
        return ServerUnreachableError(self.url, _reason(error, self._timeout))

    def _answer(self, response: http.client.HTTPResponse, data: bytes) -> Any:
        try:
            answer = orjson.loads(data)
        except orjson.JSONDecodeError:
            answer = None
        if 200 <= response.status < 300 and answer is not None:
            return answer
        error = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(error, dict):
            kind = response.getheader("Content-Type") or "no content type"
            raise ClientError(
                self.url, response.status, "unexpected_answer", f"not deployml's JSON ({kind})"
            )
        raise ClientError(
            self.url,
            response.status,
            str(error.get("code")),
            str(error.get("message")),
            list(error.get("details") or []),
        )


def _reason(error: BaseException, timeout: float) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused (is the server running there?)"
    if isinstance(error, http.client.RemoteDisconnected | ConnectionResetError):
        return "the server closed the connection without answering"
    if isinstance(error, socket.gaierror):
        return "the host name cannot be resolved"
    return f"{type(error).__name__}: {error}"
