"""``Client``: a DataFrame to a running deployml server, its answers back as a DataFrame."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

import pandas as pd

from packager.client.tables import Answers, columnar_body
from packager.client.transport import DEFAULT_TIMEOUT, Transport

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "DEFAULT_MAX_ROWS", "Client"]

# A server's limits when its /metadata does not state them (the server's own defaults).
DEFAULT_MAX_ROWS = 10_000
DEFAULT_MAX_REQUEST_BYTES = 10 * 2**20


@dataclass(frozen=True)
class Limits:
    """The most rows, and bytes, the server takes in one request."""

    rows: int
    body_bytes: int


class Client:
    """A deployml server at ``url``, asked over one keep-alive connection.

    ``api_key`` is sent as ``Authorization: Bearer``; ``timeout`` (seconds) bounds connecting
    and each wait for an answer. A refusal raises ClientError (its ``status``, ``code``,
    ``message`` and ``details``), no answer ServerUnreachableError.
    """

    def __init__(
        self, url: str, api_key: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._transport = Transport(url, api_key, timeout)
        self._metadata: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return self._transport.url

    def metadata(self) -> dict[str, Any]:
        """``GET /metadata``: the model's schema, limits and documentation (asked once)."""
        if self._metadata is None:
            self._metadata = self._transport.request("GET", "/metadata")
        return self._metadata

    def predict(
        self,
        frame: pd.DataFrame,
        *,
        profile: str | None = None,
        on_error: str | None = None,
        chunk_rows: int | None = None,
    ) -> pd.DataFrame:
        """Score every row of ``frame``, in requests of at most the server's ``max_rows``
        (or ``chunk_rows``, when fewer); the answers on ``frame``'s index.

        Columns: ``prediction``; ``probability_<label>`` for each label of a classifier;
        ``decision`` when a threshold profile decides; ``imputed`` (the features sent as
        missing) and ``warnings`` (``feature``, ``problem``) per row; and with
        ``on_error="skip"``, ``errors`` per row (a refused row's prediction is None).
        ``attrs`` holds the answering ``model`` and the ``profile`` used.
        """
        if chunk_rows is not None and chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")
        limits = self._limits()
        step = min(chunk_rows or limits.rows, limits.rows)
        answers = Answers()
        keys = {"profile": profile, "on_error": on_error}
        for start in range(0, len(frame), step):
            self._send(frame.iloc[start : start + step], keys, limits, answers)
        stated = self.metadata()
        return answers.frame(frame.index, stated.get("probability_keys"), stated.get("task"))

    def close(self) -> None:
        """Close the connection to the server."""
        self._transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _send(
        self, chunk: pd.DataFrame, keys: dict[str, Any], limits: Limits, answers: Answers
    ) -> None:
        """POST one chunk; one beyond the server's byte limit goes as two halves instead."""
        body = columnar_body(chunk, **keys)
        if len(body) > limits.body_bytes and len(chunk) > 1:
            half = len(chunk) // 2
            self._send(chunk.iloc[:half], keys, limits, answers)
            self._send(chunk.iloc[half:], keys, limits, answers)
            return
        answers.add(self._transport.request("POST", "/predict", body), len(chunk))

    def _limits(self) -> Limits:
        stated = self.metadata().get("input") or {}
        return Limits(
            rows=int(stated.get("max_rows") or DEFAULT_MAX_ROWS),
            body_bytes=int(stated.get("max_request_bytes") or DEFAULT_MAX_REQUEST_BYTES),
        )
