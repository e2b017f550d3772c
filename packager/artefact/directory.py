"""The artefact directory: writing it whole or not at all, and reading it back with checks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import joblib

from packager.artefact.card import model_card
from packager.artefact.examples import Examples
from packager.artefact.manifest import (
    EXAMPLES_FILE,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    REQUIREMENTS_FILE,
    FileRecord,
    Manifest,
)
from packager.capture.recording import CapturedModel
from packager.errors import ArtefactError, IntegrityError, ManifestError, OutputExistsError

__all__ = ["Artefact", "file_sha256", "load_artefact", "package", "read_manifest"]

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
    try:
        build = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=parent))
    except OSError as error:
        raise ArtefactError(f"cannot write to {parent}: {error.strerror}") from None
    try:
        # mkdtemp makes the directory private; an artefact is read by other users (the server).
        build.chmod(0o755)
        manifest = _write_contents(captured, build)
        _write_json(build / MANIFEST_FILE, manifest.to_dict())
        _move_into_place(build, output)
    except BaseException as error:
        shutil.rmtree(build, ignore_errors=True)
        if isinstance(error, OSError):
            raise ArtefactError(f"cannot write {output}: {error.strerror or error}") from None
        raise
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
    joblib.dump(captured.estimator, build / model_path)
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
    files = {name: _record(build / name) for name in sorted(names)}
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


def _move_into_place(build: Path, output: Path) -> None:
    if not output.exists():
        os.rename(build, output)
        return
    # Keep the old artefact until the new one is in place, then remove only it.
    old = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=build.parent))
    old.rmdir()
    os.rename(output, old)
    try:
        os.rename(build, output)
    except BaseException:
        os.rename(old, output)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_json(path: Path, data: Any) -> None:
    # allow_nan=False: the writers turn NaN into null, so a NaN here is a bug to surface.
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _record(path: Path) -> FileRecord:
    return FileRecord(sha256=file_sha256(path), bytes=path.stat().st_size)


def read_manifest(path: str | os.PathLike[str]) -> tuple[Manifest, str]:
    """The manifest of the artefact at ``path`` and its SHA-256, without loading the model."""
    root = Path(path)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        raise ArtefactError(f"{root} {what}; expected an artefact directory")
    manifest_path = root / MANIFEST_FILE
    try:
        raw = manifest_path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(str(manifest_path), "not found; is this a deployml artefact?") from None
    except OSError as error:
        raise ManifestError(str(manifest_path), f"cannot be read: {error.strerror}") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ManifestError(str(manifest_path), "is not valid JSON") from None
    manifest = Manifest.from_dict(data, source=str(manifest_path))
    for name in manifest.files:
        _safe_manifest_name(name, manifest_path)
    return manifest, hashlib.sha256(raw).hexdigest()


def _safe_manifest_name(name: str, manifest_path: Path) -> None:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise ManifestError(
            str(manifest_path), f"files lists {name!r}, which is outside the artefact"
        )


def check_files(root: Path, manifest: Manifest) -> None:
    """Raise IntegrityError for the first listed file that is missing or changed."""
    if manifest.model_file.path not in manifest.files:
        raise IntegrityError(manifest.model_file.path, "is not listed in the manifest's files")
    for name, record in manifest.files.items():
        path = root / name
        if not path.is_file():
            raise IntegrityError(name, "is missing")
        if path.stat().st_size != record.bytes or file_sha256(path) != record.sha256:
            raise IntegrityError(name)


def load_artefact(path: str | os.PathLike[str], *, check_hashes: bool = True) -> Artefact:
    """Read, check and load the artefact at ``path`` (this unpickles the model: trust it)."""
    root = Path(path)
    manifest, sha256 = read_manifest(root)
    if check_hashes:
        check_files(root, manifest)
    model_path = root / manifest.model_file.path
    try:
        model = joblib.load(model_path)
    except FileNotFoundError:
        raise IntegrityError(manifest.model_file.path, "is missing") from None
    except Exception as error:  # unpickling can fail in any way; all mean the same here
        raise ArtefactError(
            f"{model_path}: the model cannot be loaded ({type(error).__name__}: {error})"
        ) from error
    return Artefact(
        path=root,
        manifest=manifest,
        model=model,
        examples=read_examples(root, manifest),
        sha256=sha256,
    )


def read_examples(root: Path, manifest: Manifest) -> Examples:
    """The stored example rows, or none when the artefact has no examples file."""
    path = root / EXAMPLES_FILE
    if EXAMPLES_FILE not in manifest.files and not path.exists():
        return Examples()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntegrityError(EXAMPLES_FILE, "is missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ManifestError(str(path), "is not valid JSON") from None
    return Examples.from_dict(data, source=str(path))
