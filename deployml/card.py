"""``deployml card``: the model card as one self-contained HTML page, written offline.

The page is the one the server answers ``GET /`` with: made from the manifest and the plots
(each checked against its SHA-256), never from the model, which is not loaded. It is written
whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

import click

from deployml.options import output_option
from packager import read_manifest
from packager.artefact import card_files, card_page, staged
from packager.errors import ArtefactError, OutputExistsError

__all__ = ["card_command"]


@click.command("card")
@click.argument("artefact_dir", type=click.Path(path_type=Path))
@output_option("The HTML file to write; must not exist unless --force.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def card_command(artefact_dir: Path, output: Path, force: bool) -> None:
    """Write ARTEFACT_DIR's model card as one HTML page that needs nothing else to show.

    Reads the manifest and the plots (checking their hashes); never loads the model.
    """
    if output.is_dir():
        raise ArtefactError(f"{output} is a directory; give the HTML file to write")
    if (output.exists() or output.is_symlink()) and not force:
        raise OutputExistsError(str(output))
    manifest, sha256 = read_manifest(artefact_dir)
    page = card_page(manifest, card_files(artefact_dir, manifest), sha256)
    with staged(output, directory=False) as stage:
        stage.write_text(page, encoding="utf-8")
        # mkstemp makes the file private; a page is for people to read.
        stage.chmod(0o644)
    click.echo(f"Wrote the model card of {artefact_dir} (artefact sha256 {sha256}) to {output}")
