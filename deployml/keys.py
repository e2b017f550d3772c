"""``deployml keys``: the API keys file the server reads from ``DEPLOYML_API_KEYS_FILE``.

The file's format has one owner, ``server.api_keys``; these commands only call it. A new key
is printed once, on standard output alone (so ``KEY=$(deployml keys add ...)`` captures just
the key), and never written anywhere; the note that says so goes to standard error.
"""

from __future__ import annotations

from pathlib import Path

import click

from server.api_keys import NAME_RULE, add_client, read_api_keys, valid_name

__all__ = ["keys_group"]


@click.group("keys")
def keys_group() -> None:
    """Manage the API keys file the server reads from DEPLOYML_API_KEYS_FILE."""


def _client_name(ctx: click.Context, param: click.Parameter, name: str) -> str:
    if not valid_name(name):
        raise click.BadParameter(f"must be {NAME_RULE}")
    return name


_keys_file = click.option(
    "--file",
    "keys_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The API keys file: one line a client, its name and its key's SHA-256.",
)


@keys_group.command("add", short_help="Make a key for NAME, print it once, store its hash.")
@click.argument("name", callback=_client_name)
@_keys_file
def keys_add_command(name: str, keys_file: Path) -> None:
    """Make a key for client NAME, print it once, and add NAME and the key's hash to --file.

    The file is created (readable by its owner only) if it does not exist.
    """
    key = add_client(keys_file, name)
    click.echo(key)
    click.echo(
        f"Added {name} to {keys_file}. The key above is not stored anywhere (the file holds "
        "only its SHA-256): give it to the client now, to send as 'Authorization: Bearer "
        "KEY'; it cannot be shown again.",
        err=True,
    )


@keys_group.command("list", short_help="Print the clients' names in the keys file.")
@_keys_file
def keys_list_command(keys_file: Path) -> None:
    """Print the names of the clients in --file, one a line (never a key or a hash)."""
    for name in read_api_keys(keys_file, allow_empty=True).names:
        click.echo(name)
