"""The audit record: what one line holds, and the keyed hash that stands in for each input row.

A row's input is never written. Instead each row is written as ``HMAC-SHA256(key, canonical)``
where ``canonical`` is the row as parsed from the request, serialized as JSON with sorted keys
and no spaces (:func:`canonical_row`). The same row sent with its keys in another order hashes
the same; an auditor holding the key can hash a patient's row and search for it, and nobody
without the key can test guesses against the log. The key's id is written in every line so
that lines hashed under an old key stay recognisable after the key is rotated.

Fields the server knows before the line is chained (everything but ``seq`` and ``prev_hash``,
which :mod:`server.audit.writer` adds under its lock) are built by :func:`audit_record`.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = [
    "GENESIS",
    "RECORD_VERSION",
    "AuditRequest",
    "audit_record",
    "canonical_row",
    "default_key_id",
    "line_hash",
    "row_hmac",
    "rows_of",
]

# Bump when a field changes meaning or goes away; readers keep reading older lines.
# 2: "imputed" and "refused_rows"; an "outputs" entry is null for a refused row.
RECORD_VERSION = 2
# The prev_hash of the first line of a log: no line comes before it.
GENESIS = "0" * 64


def canonical_row(row: Any) -> bytes:
    """The row as parsed, as JSON with sorted keys and compact separators (UTF-8)."""
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)


def row_hmac(key: bytes, row: Any) -> str:
    """HMAC-SHA256 of the row's canonical JSON under ``key``, in hex."""
    return hmac.digest(key, canonical_row(row), "sha256").hex()


def default_key_id(key: bytes) -> str:
    """A key's id when none is set: the first 8 hex digits of its SHA-256 (not the key)."""
    return hashlib.sha256(key).hexdigest()[:8]


def line_hash(line: bytes) -> str:
    """The SHA-256 of a line's bytes, without its newline: the next line's ``prev_hash``."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


@dataclass
class AuditRequest:
    """What the HTTP layer learnt about one request, gathered for its audit line."""

    request_id: str
    endpoint: str
    method: str
    status: int
    latency_ms: float
    caller: str | None = None
    rows: list[Any] | None = None
    predictions: Sequence[Any] | None = None
    probabilities: Sequence[dict[str, float]] | None = None
    warnings: Sequence[Mapping[str, object]] = ()
    error_code: str | None = None
    # The threshold profile a binary classifier's answer decided with, by name, and its
    # decisions; None when no decision was made (other models, refused requests).
    profile: str | None = None
    threshold: float | None = None
    decisions: Sequence[Any] | None = None
    # Per request row, the features sent as null that the model filled in; and the rows
    # refused and skipped ("on_error": "skip"), whose predictions are null.
    imputed: Sequence[Sequence[str]] = ()
    refused_rows: Sequence[int] = ()


def audit_record(
    request: AuditRequest, model: Mapping[str, str], key: bytes, key_id: str
) -> dict[str, Any]:
    """The line's fields, in the order they are written; ``seq`` and ``prev_hash`` come later."""
    rows = request.rows
    return {
        "v": RECORD_VERSION,
        "event_id": uuid.uuid4().hex,
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": request.request_id,
        "endpoint": request.endpoint,
        "method": request.method,
        "status": request.status,
        "error": request.error_code,
        "latency_ms": request.latency_ms,
        "caller": request.caller,
        "model": {"name": model["name"], "version": model["version"], "sha256": model["sha256"]},
        "profile": request.profile,
        "threshold": request.threshold,
        "rows": None if rows is None else len(rows),
        "key_id": key_id,
        "input_hmacs": None if rows is None else [row_hmac(key, row) for row in rows],
        "warnings": [_warning(w) for w in request.warnings],
        "imputed": [{"row": row, "features": list(names)} for row, names in _imputed(request)],
        "refused_rows": list(request.refused_rows),
        "outputs": _outputs(request),
    }


def _imputed(request: AuditRequest) -> Iterable[tuple[int, Sequence[str]]]:
    # Feature names from the schema, for the rows that had any; never a value.
    if not any(request.imputed):
        return ()
    return ((row, names) for row, names in enumerate(request.imputed) if names)


def _warning(warning: Mapping[str, object]) -> dict[str, object]:
    # Warnings name the row, the feature and a fixed kind of problem; never a value.
    return {
        "row": warning.get("row"),
        "feature": warning.get("feature"),
        "kind": warning["problem"],
    }


def _outputs(request: AuditRequest) -> list[dict[str, Any] | None] | None:
    """One entry per row: the model's label (or value), and when it gives them, its scores
    and the decision under the profile; null for a row refused and skipped."""
    predictions, probabilities, decisions = (
        request.predictions,
        request.probabilities,
        request.decisions,
    )
    if predictions is None:
        return None
    outputs: list[dict[str, Any] | None]
    if probabilities is None:
        outputs = [{"prediction": p} for p in predictions]
    elif decisions is None:
        outputs = [
            {"prediction": p, "probabilities": s}
            for p, s in zip(predictions, probabilities, strict=True)
        ]
    else:
        outputs = [
            {"prediction": p, "probabilities": s, "decision": d}
            for p, s, d in zip(predictions, probabilities, decisions, strict=True)
        ]
    for row in request.refused_rows:
        outputs[row] = None
    return outputs


def rows_of(
    records: Sequence[Any] | None, columns: Sequence[str] | None, data: Iterable[Any] | None
) -> list[Any]:
    """The request's rows as objects: the records as sent, or each columnar row keyed by column.

    A row sent in a columnar batch hashes the same as the same row sent as an object. A
    columnar row that is not an array of one value per column (refused, or skipped) is kept
    as sent: it has no object to be, and two such rows must not hash alike.
    """
    if records is not None:
        return list(records)
    names = list(columns or ())
    return [
        dict(zip(names, row, strict=True)) if type(row) is list and len(row) == len(names) else row
        for row in data or ()
    ]
