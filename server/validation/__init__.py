"""Request validation: the accepted body shapes, then every value against the recorded schema.

``read_payload`` recognises one of the three body shapes; a ``Validator``, compiled once per
model, checks each value's JSON kind and returns the rows with per-row warnings (values
unlike training), or raises an error naming the row and feature, never the value.
"""

from server.validation.payload import Payload, kind_of, parse_body, read_payload
from server.validation.validator import Batch, Validator

__all__ = ["Batch", "Payload", "Validator", "kind_of", "parse_body", "read_payload"]
