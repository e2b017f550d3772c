"""The artefact's files on disk: their hashes, and writing them whole or not at all.

Every writer of deployml (an artefact directory, a capture file) stages its output beside the
target and renames it into place, so a failure at any step leaves the target as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from packager.artefact.manifest import FileRecord, Manifest
from packager.errors import ArtefactError, IntegrityError

__all__ = ["check_files", "file_problems", "file_record", "file_sha256", "staged"]

_BLOCK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_record(path: Path) -> FileRecord:
    """The manifest's record of a file: its SHA-256 and size."""
    return FileRecord(sha256=file_sha256(path), bytes=path.stat().st_size)


def file_problems(root: Path, manifest: Manifest) -> list[tuple[str, str]]:
    """``(file, problem)`` for every listed file that is missing or changed, in manifest order.

    The model file must be listed: an artefact whose model is not hashed proves nothing.
    """
    problems = []
    if manifest.model_file.path not in manifest.files:
        problems.append((manifest.model_file.path, "is not listed in the manifest's files"))
    for name, record in manifest.files.items():
        path = root / name
        if not path.is_file():
            problems.append((name, "is missing"))
        elif path.stat().st_size != record.bytes or file_sha256(path) != record.sha256:
            problems.append((name, "differs from its SHA-256"))
    return problems


def check_files(root: Path, manifest: Manifest) -> None:
    """Raise IntegrityError for the first listed file that is missing or changed."""
    problems = file_problems(root, manifest)
    if problems:
        raise IntegrityError(*problems[0])


@contextmanager
def staged(target: Path, *, directory: bool) -> Iterator[Path]:
    """A new file or directory beside ``target``, moved into place if the block succeeds.

    On any failure the staged copy is removed and ``target`` is left as it was; an OSError
    becomes an ArtefactError naming ``target``. A directory that already exists is replaced
    only once the new one is complete.
    """
    parent = target.parent if str(target.parent) else Path(".")
    try:
        if directory:
            stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=parent))
            # mkdtemp makes it private; an artefact is read by other users (the server).
            stage.chmod(0o755)
        else:
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=parent)
            os.close(fd)
            stage = Path(name)
    except OSError as error:
        raise ArtefactError(f"cannot write to {parent}: {error.strerror}") from None
    try:
        yield stage
        if directory:
            _replace_directory(stage, target)
        else:
            os.replace(stage, target)
    except BaseException as error:
        if directory:
            shutil.rmtree(stage, ignore_errors=True)
        else:
            stage.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ArtefactError(f"cannot write {target}: {error.strerror or error}") from None
        raise


def _replace_directory(stage: Path, target: Path) -> None:
    if not target.exists():
        os.rename(stage, target)
        return
    # Keep the old directory until the new one is in place, then remove only it.
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=stage.parent))
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(stage, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
