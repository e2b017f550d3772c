"""The audit log: one chained JSON line per answered request, and reading it back.

``record`` owns what a line holds and the keyed hash (HMAC-SHA256 of the canonical JSON)
that stands in for each input row; ``writer`` appends lines safely from every worker, each
carrying the SHA-256 of the line before it, and refuses to let a request be answered when
its line cannot be written; ``chain`` checks a log's chain and finds records. No line holds
a feature value or the key. docs/audit-log.md lists every field.
"""

from server.audit.chain import ChainReport, find_records, log_files, verify_chain
from server.audit.record import (
    GENESIS,
    AuditRequest,
    canonical_row,
    default_key_id,
    row_hmac,
    rows_of,
)
from server.audit.writer import AuditLog, daily_file_name, open_audit_log

__all__ = [
    "GENESIS",
    "AuditLog",
    "AuditRequest",
    "ChainReport",
    "canonical_row",
    "daily_file_name",
    "default_key_id",
    "find_records",
    "log_files",
    "open_audit_log",
    "row_hmac",
    "rows_of",
    "verify_chain",
]
