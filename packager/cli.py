"""The ``deployml`` command group and its packaging commands.

Commands are thin: each parses its options and calls a plain function that tests call
directly. A :class:`~packager.errors.DeploymlError` becomes one ``Error: ...`` line and exit
code 1 at this boundary; ``--debug`` shows the traceback instead. Usage errors exit 2 (click).
``server.cli`` adds ``serve`` to this group, so this module never imports ``server``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import click

from packager.errors import DeploymlError

P = ParamSpec("P")
R = TypeVar("R")


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="deployml")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Package scikit-learn models with their training metadata, and serve them."""
    ctx.obj = {"debug": debug}


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a DeploymlError raised by ``command`` into ``Error: ...`` and exit code 1."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DeploymlError as error:
            ctx = click.get_current_context(silent=True)
            if ctx is not None and (ctx.find_root().obj or {}).get("debug"):
                raise
            click.echo(f"Error: {error.message}", err=True)
            sys.exit(error.exit_code)

    return wrapper


def main(argv: list[str] | None = None) -> Any:
    """Entry point for the packaging commands alone (``python -m packager``)."""
    return cli.main(args=argv, prog_name="deployml")
