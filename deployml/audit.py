"""``deployml audit``: check an audit log's chain, find records, hash a row as the server does.

Registered on the command line in :mod:`deployml.cli`; its errors reach the same boundary.
``hash`` reads the key from ``DEPLOYML_AUDIT_KEY`` (through ``server.settings``), so an
auditor can look a patient's row up without the row ever being written to the log.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from packager.errors import AuditLogError, ConfigError
from server.audit import default_key_id, find_records, row_hmac, verify_chain
from server.settings import PREFIX, Settings

__all__ = ["audit"]

_LOG_PATH = click.argument("path", type=click.Path(path_type=Path))


@click.group("audit")
def audit() -> None:
    """Check and search an audit log written under DEPLOYML_AUDIT_LOG."""


@audit.command("verify")
@_LOG_PATH
def verify_command(path: Path) -> None:
    """Check the chain of PATH (a log file, or a directory of daily files).

    Exits 1 naming the first broken line: cut short, not a record, edited, lines removed
    before it, or lines reordered or inserted.
    """
    report = verify_chain(path)
    click.echo(f"OK: {path}: {report.lines} line(s) in {len(report.files)} file(s), chain intact")
    if report.starts_after:
        click.echo(
            f"Note: the first file continues after seq {report.starts_after}, in a file not "
            "given; those lines were not checked"
        )
    click.echo(f"Last line's hash: {report.last_hash}")


@audit.command("find")
@_LOG_PATH
@click.option("--request-id", help="The request's id (its X-Request-ID).")
@click.option("--input-hash", help="A row's input hash, as `deployml audit hash` prints it.")
def find_command(path: Path, request_id: str | None, input_hash: str | None) -> None:
    """Print the records of PATH for a request or an input row, one JSON object a line.

    Each record says which model (name, version, artefact hash) answered, when, for which
    caller, and with which outputs. Exits 1 when none matches.
    """
    if (request_id is None) == (input_hash is None):
        raise click.UsageError("give one of --request-id and --input-hash")
    found = 0
    for record in find_records(path, request_id=request_id, input_hash=input_hash):
        click.echo(orjson.dumps(record).decode())
        found += 1
    if not found:
        wanted = f"request id {request_id}" if request_id is not None else "that input hash"
        raise AuditLogError(f"no record in {path} has {wanted}")


@audit.command("hash")
@click.option("--row", required=True, help="The row as a JSON object, or - to read it from stdin.")
def hash_command(row: str) -> None:
    """Print the input hash the server writes for ROW, under DEPLOYML_AUDIT_KEY.

    Keys may come in any order. Prefer --row - (stdin): a row on the command line stays in
    the shell's history.
    """
    settings = Settings.from_env()
    key = settings.audit_key
    if key is None:
        raise ConfigError(PREFIX + "AUDIT_KEY", "not set; the hash needs the audit log's key")
    text = sys.stdin.read() if row == "-" else row
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise click.BadParameter(
            f"not JSON (line {error.lineno} column {error.colno})", param_hint="--row"
        ) from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("expected one row as a JSON object", param_hint="--row")
    key_id = settings.audit_key_id or default_key_id(key.encode())
    click.echo(f"{row_hmac(key.encode(), parsed)}  (key id {key_id})")
