"""``deployml diff``: what differs between two artefacts, for a reviewer or as JSON.

Registered in :mod:`deployml.cli`. Reads both manifests and never loads a model; a diff is
not an error, so it exits 0 whether or not the artefacts differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from packager.review import diff_artefacts, render_diff

__all__ = ["diff_command"]


@click.command("diff")
@click.argument("artefact_a", type=click.Path(path_type=Path))
@click.argument("artefact_b", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON.")
def diff_command(artefact_a: Path, artefact_b: Path, as_json: bool) -> None:
    """Say what differs from ARTEFACT_A to ARTEFACT_B: model, schema, metrics, profiles..."""
    diff = diff_artefacts(artefact_a, artefact_b)
    if as_json:
        click.echo(json.dumps(diff, indent=2, ensure_ascii=False))
    else:
        click.echo(render_diff(diff))
