"""The files the HTML card embeds (plots, the edge cases), read from an artefact and checked
against the SHA-256 its manifest records, so the page shows only what the artefact holds."""

from __future__ import annotations

import hashlib
from pathlib import Path

from packager.artefact.card.sections import plot_names
from packager.artefact.files import read_capped
from packager.artefact.manifest import Manifest
from packager.errors import IntegrityError

__all__ = ["card_files"]

# A plot is a few hundred KiB; the cap only stops an absurd file from being read whole.
MAX_EMBEDDED_BYTES = 32 * 2**20


def card_files(root: Path, manifest: Manifest) -> dict[str, bytes]:
    """The plots and the edge cases file listed in ``manifest``, read from ``root`` and each
    checked against its recorded SHA-256 (an IntegrityError names the first that differs)."""
    names = plot_names(manifest.files)
    record = manifest.edge_cases
    if record is not None and record.file in manifest.files:
        names.append(record.file)
    contents = {}
    for name in names:
        expected = manifest.files[name]
        try:
            data = read_capped(root / name, MAX_EMBEDDED_BYTES)
        except FileNotFoundError:
            raise IntegrityError(name, "is missing") from None
        if len(data) != expected.bytes or hashlib.sha256(data).hexdigest() != expected.sha256:
            raise IntegrityError(name, "differs from its SHA-256")
        contents[name] = data
    return contents
