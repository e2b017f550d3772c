"""The ``deployml`` console script: the packager's commands plus ``serve``."""

from __future__ import annotations

from typing import Any

from packager.cli import cli


def main(argv: list[str] | None = None) -> Any:
    """Run the ``deployml`` command line."""
    return cli.main(args=argv, prog_name="deployml")
