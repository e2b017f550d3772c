"""Derived artefacts: a copy of an artefact with a new manifest, its model file untouched.

``deployml threshold`` adds a profile to an artefact without retraining. The result is a new
artefact directory: every file of the original copied byte for byte (the model file is copied,
never re-serialized, so its SHA-256 is the original's), a new manifest whose ``parent`` names
the original's hash and what changed, the files' hashes recorded anew, and MODEL_CARD.md
rendered from the new manifest. It is written whole or not at all; the original is only read.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from packager.artefact.card import model_card
from packager.artefact.directory import Artefact
from packager.artefact.files import check_output, file_record, staged, write_json
from packager.artefact.manifest import (
    EXAMPLES_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    REQUIREMENTS_FILE,
    SELF_TEST_FILE,
    Manifest,
    ParentRecord,
)
from packager.errors import ArtefactError, IntegrityError

__all__ = ["check_derivable", "derive"]

# Files whose content the format writes itself; the rest are the author's attachments (plots).
_WRITTEN = {MANIFEST_FILE, EXAMPLES_FILE, SELF_TEST_FILE, REQUIREMENTS_FILE, MODEL_CARD_FILE}


def derive(
    original: Artefact,
    manifest: Manifest,
    output_dir: str | os.PathLike[str],
    *,
    change: str,
    force: bool = False,
) -> Path:
    """Write ``original`` with ``manifest`` (its ``parent`` set from ``change``) at ``output_dir``.

    ``manifest`` is the original's with some fields changed; its files are re-hashed here.
    The output must not be the original, nor inside it; an existing output is replaced only
    with ``force``, as ``package`` does.
    """
    output = Path(output_dir)
    check_derivable(original.path, original.manifest, output, force=force)
    parent = ParentRecord(
        sha256=original.sha256,
        name=original.manifest.model.name,
        version=original.manifest.model.version,
        change=change,
    )
    manifest = replace(manifest, parent=parent, format_version=FORMAT_VERSION)
    # A manifest readers would refuse is refused now, before anything is written.
    Manifest.from_dict(manifest.to_dict(), source=str(output / MANIFEST_FILE))
    names = [name for name in original.manifest.files if name != MODEL_CARD_FILE]
    with staged(output, directory=True) as build:
        for name in names:
            _copy(original, name, build)
        # By content, as package() gives them, so the card lists what the files hold.
        attachments = {
            n: (build / n).read_bytes()
            for n in sorted(names)
            if n not in _WRITTEN and n != manifest.model_file.path
        }
        (build / MODEL_CARD_FILE).write_text(model_card(manifest, attachments), encoding="utf-8")
        files = {name: file_record(build / name) for name in sorted([*names, MODEL_CARD_FILE])}
        write_json(build / MANIFEST_FILE, replace(manifest, files=files).to_dict())
    return output


def check_derivable(
    source: str | os.PathLike[str],
    manifest: Manifest,
    output_dir: str | os.PathLike[str],
    *,
    force: bool = False,
) -> None:
    """Refuse what :func:`derive` would refuse of the artefact at ``source`` (whose manifest
    is ``manifest``) and ``output_dir``, so that a command can say so before any slow work:
    an output at or inside the original, an original of format 1.x, an output already there
    (without ``force``, or not an earlier artefact), an output folder that does not exist."""
    output = Path(output_dir)
    _check_apart(Path(source), output)
    if manifest.format_version.split(".", 1)[0] == "1":  # a pickle, and no self-test rows
        raise ArtefactError(
            f"{source} is a format {manifest.format_version} artefact; "
            "re-package it with this deployml before deriving one from it"
        )
    check_output(output, force)


def _copy(original: Artefact, name: str, build: Path) -> None:
    """Copy one listed file, refusing it if it changed since the artefact was loaded."""
    target = build / name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(original.path / name, target)
    if file_record(target) != original.manifest.files[name]:
        raise IntegrityError(name, "changed while it was being copied")


def _check_apart(source: Path, output: Path) -> None:
    source, target = source.resolve(), output.resolve()
    if target == source or source in target.parents:
        raise ArtefactError(
            f"{output} is the original artefact or inside it; a derived artefact is written "
            "elsewhere, and the original is never modified"
        )
