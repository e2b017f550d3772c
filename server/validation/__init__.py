"""Request validation: the accepted body shapes, then every value against the recorded schema.

``read_payload`` recognises one of the three body shapes; a ``Validator``, compiled once per
model, checks each value (JSON kind, null, type range, plausible limits, refused unseen
categories) and returns the rows with per-row warnings (values unlike training) and the
features each row sent as null, or raises an error listing every problem by row and feature,
never a value; or, asked to skip invalid rows, returns the valid ones and the others' problems.
``column_from_text`` reads a column of CSV text as the JSON values a request would send.
"""

from server.validation.cells import column_from_text
from server.validation.imputed import imputed_counts
from server.validation.novelty import WARNING_KINDS
from server.validation.payload import (
    SKIP,
    Payload,
    kind_of,
    parse_body,
    read_payload,
    with_options,
)
from server.validation.validator import Batch, Validator

__all__ = [
    "SKIP",
    "WARNING_KINDS",
    "Batch",
    "Payload",
    "Validator",
    "column_from_text",
    "imputed_counts",
    "kind_of",
    "parse_body",
    "read_payload",
    "with_options",
]
