"""The artefact directory: writing it whole or not at all, and reading it back with checks."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from packager.artefact.captured import CapturedModel
from packager.artefact.card import model_card
from packager.artefact.examples import Examples
from packager.artefact.files import check_files, check_no_links, file_record, read_capped, staged
from packager.artefact.manifest import (
    EXAMPLES_FILE,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    REQUIREMENTS_FILE,
    Manifest,
)
from packager.artefact.model_file import read_model_file, write_model_file
from packager.errors import (
    ArtefactError,
    ArtefactHashError,
    IntegrityError,
    ManifestError,
    OutputExistsError,
)

__all__ = ["Artefact", "load_artefact", "package", "read_examples", "read_manifest", "requirements"]

RESERVED = {MANIFEST_FILE, EXAMPLES_FILE, REQUIREMENTS_FILE, MODEL_CARD_FILE}


@dataclass(frozen=True)
class Artefact:
    """A loaded artefact; ``sha256`` is the SHA-256 of manifest.json, covering every file."""

    path: Path
    manifest: Manifest
    model: Any
    examples: Examples
    sha256: str


def package(
    captured: CapturedModel, output_dir: str | os.PathLike[str], *, force: bool = False
) -> Path:
    """Write ``captured`` as an artefact directory at ``output_dir``; returns its path.

    The directory is built next to the target and renamed into place, so a failure leaves
    nothing behind. An existing output is refused unless ``force``, and even then only an
    earlier artefact (or an empty directory) is replaced, after the new one is complete.
    """
    output = Path(output_dir)
    _check_output(output, force)
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise ArtefactError(f"cannot write {output}: {parent} {problem}")
    with staged(output, directory=True) as build:
        manifest = _write_contents(captured, build)
        _write_json(build / MANIFEST_FILE, manifest.to_dict())
        try:  # refused now, rather than by every reader later
            read_manifest(build)
        except ManifestError as error:
            raise ManifestError(str(output / MANIFEST_FILE), error.problem) from None
    return output


def _check_output(output: Path, force: bool) -> None:
    if not output.exists() and not output.is_symlink():
        return
    if not force:
        raise OutputExistsError(str(output))
    if output.is_symlink() or not output.is_dir():
        raise ArtefactError(f"{output} exists and is not a directory; refusing to replace it")
    if any(output.iterdir()) and not (output / MANIFEST_FILE).is_file():
        raise ArtefactError(
            f"{output} is not an earlier artefact (it has no {MANIFEST_FILE}); "
            "refusing to replace it even with --force"
        )


def _write_contents(captured: CapturedModel, build: Path) -> Manifest:
    manifest = captured.manifest
    model_path = manifest.model_file.path
    write_model_file(captured.estimator, build / model_path)
    (build / REQUIREMENTS_FILE).write_text(requirements(manifest), encoding="utf-8")
    _write_json(build / EXAMPLES_FILE, captured.examples.to_dict())
    for name, data in sorted(captured.attachments.items()):
        target = build / _safe_relative(name, reserved=RESERVED | {model_path})
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    names = [model_path, REQUIREMENTS_FILE, EXAMPLES_FILE, *sorted(captured.attachments)]
    (build / MODEL_CARD_FILE).write_text(
        model_card(manifest, sorted(captured.attachments)), encoding="utf-8"
    )
    names.append(MODEL_CARD_FILE)
    files = {name: file_record(build / name) for name in sorted(names)}
    return replace(manifest, files=files)


def requirements(manifest: Manifest) -> str:
    """The pinned ``requirements.txt``: every package version recorded at training."""
    lines = [f"{name}=={version}" for name, version in manifest.provenance.packages.items()]
    return "\n".join(sorted(lines, key=str.lower)) + "\n"


def _safe_relative(name: str, reserved: set[str]) -> str:
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or ".." in path.parts
        or "\\" in name
        or str(path) in reserved
        or str(path) != name
    ):
        raise ArtefactError(f"attachment name {name!r} must be a plain relative path")
    return name


def _write_json(path: Path, data: Any) -> None:
    # allow_nan=False: the writers turn NaN into null, so a NaN here is a bug to surface.
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )


def read_manifest(path: str | os.PathLike[str]) -> tuple[Manifest, str]:
    """The manifest of the artefact at ``path`` and its SHA-256, without loading the model.

    The artefact is refused if it holds a symbolic link anywhere, or a manifest over the
    size cap or of the wrong structure.
    """
    root = Path(path)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        raise ArtefactError(f"{root} {what}; expected an artefact directory")
    check_no_links(root)
    manifest_path = root / MANIFEST_FILE
    try:
        raw = read_capped(manifest_path)
    except FileNotFoundError:
        raise ManifestError(str(manifest_path), "not found; is this a deployml artefact?") from None
    except OSError as error:
        raise ManifestError(str(manifest_path), f"cannot be read: {error.strerror}") from None
    manifest = Manifest.from_dict(_parse_json(raw, manifest_path), source=str(manifest_path))
    for name in manifest.files:
        _safe_manifest_name(name, manifest_path)
    return manifest, hashlib.sha256(raw).hexdigest()


def _parse_json(raw: bytes, path: Path) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ManifestError(str(path), "is not valid JSON") from None
    except RecursionError:
        raise ManifestError(str(path), "is nested too deeply") from None


def _safe_manifest_name(name: str, manifest_path: Path) -> None:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise ManifestError(
            str(manifest_path), f"files lists {name!r}, which is outside the artefact"
        )


def load_artefact(path: str | os.PathLike[str], *, expected_sha256: str | None = None) -> Artefact:
    """Read the artefact at ``path``, check every file's hash, then load its model.

    Loading unpickles the model, so it happens only once the hashes hold: trust the artefact.
    With ``expected_sha256``, any other artefact is refused before its files are read.
    """
    root = Path(path)
    manifest, sha256 = read_manifest(root)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ArtefactHashError(found=sha256, expected=expected_sha256)
    check_files(root, manifest)
    return Artefact(
        path=root,
        manifest=manifest,
        model=read_model_file(root / manifest.model_file.path),
        examples=read_examples(root, manifest),
        sha256=sha256,
    )


def read_examples(root: Path, manifest: Manifest) -> Examples:
    """The stored example rows, or none when the artefact has no examples file."""
    path = root / EXAMPLES_FILE
    if EXAMPLES_FILE not in manifest.files and not path.exists():
        return Examples()
    try:
        raw = read_capped(path)
    except FileNotFoundError:
        raise IntegrityError(EXAMPLES_FILE, "is missing") from None
    except OSError as error:
        raise ManifestError(str(path), f"cannot be read: {error.strerror}") from None
    return Examples.from_dict(_parse_json(raw, path), source=str(path))
