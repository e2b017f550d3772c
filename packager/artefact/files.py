"""The artefact's files on disk: their hashes, reading them safely, and writing them whole.

Every writer of deployml (an artefact directory, a capture file) stages its output beside the
target and renames it into place, so a failure at any step leaves the target as it was.
Readers refuse an artefact holding a symbolic link (it could point outside the artefact), and
read its JSON files only up to a size cap, never following a link.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from packager.artefact.manifest import MANIFEST_FILE, FileRecord, Manifest
from packager.errors import ArtefactError, IntegrityError, ManifestError, OutputExistsError

__all__ = [
    "MAX_JSON_BYTES",
    "check_file_names",
    "check_files",
    "check_no_links",
    "check_output",
    "file_problems",
    "file_record",
    "file_sha256",
    "parse_json",
    "read_capped",
    "read_listed_json",
    "staged",
    "write_json",
]

_BLOCK = 1 << 20
# manifest.json and examples.json are read whole, so larger ones are refused unread. A
# 10,000-feature manifest is about 4 MiB (docs/artefact-format.md says how that was measured).
MAX_JSON_BYTES = 32 * 2**20
LINK = "is a symbolic link; an artefact may hold no links, as they can point outside it"
# Never follow a link at the last step, nor wait on a FIFO, where the system allows.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_capped(path: Path, limit: int = MAX_JSON_BYTES) -> bytes:
    """The bytes of the regular file ``path``, refusing a link or more than ``limit`` bytes.

    A file over the cap is refused from its size, before anything is read. A missing file
    raises FileNotFoundError, other failures to open it OSError.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ManifestError(str(path), LINK) from None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ManifestError(str(path), "is not a regular file")
        if info.st_size > limit:
            raise ManifestError(str(path), _too_large(info.st_size, limit))
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise ManifestError(str(path), _too_large(len(data), limit))
    return data


def _too_large(size: int, limit: int) -> str:
    return f"is {size:,} bytes, more than the {limit // 2**20} MiB deployml reads"


def check_no_links(root: Path) -> None:
    """Raise IntegrityError naming the first symbolic link found under ``root``.

    ``root`` itself may be a link (an operator's ``current -> v3``); nothing inside may be.
    """
    # followlinks=False: a linked folder is listed, never entered.
    for parent, folders, files in os.walk(root):
        for name in sorted(folders + files):
            path = Path(parent, name)
            if path.is_symlink():
                raise IntegrityError(path.relative_to(root).as_posix(), LINK)
        folders.sort()


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


def check_output(output: Path, force: bool) -> None:
    """Refuse to write at ``output`` if something is there, unless ``force`` and it is an
    earlier artefact (or an empty directory), nor where its folder does not exist."""
    parent = output.parent if str(output.parent) else Path(".")
    if not parent.is_dir():
        problem = "is not a directory" if parent.exists() else "does not exist"
        raise ArtefactError(f"cannot write {output}: {parent} {problem}")
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


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented UTF-8 JSON; a NaN is a bug and raises."""
    # allow_nan=False: the writers turn NaN into null, so a NaN here is a bug to surface.
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )


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


def parse_json(raw: bytes, path: Path) -> Any:
    """``raw`` (read from ``path``) parsed as JSON; a ManifestError naming the file if it is not."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ManifestError(str(path), "is not valid JSON") from None
    except RecursionError:
        raise ManifestError(str(path), "is nested too deeply") from None


def read_listed_json(root: Path, name: str) -> Any:
    """The parsed JSON of the artefact's file ``name`` (listed in its manifest): an
    IntegrityError when it is missing, a ManifestError naming it when unreadable or not JSON."""
    path = root / name
    try:
        raw = read_capped(path)
    except FileNotFoundError:
        raise IntegrityError(name, "is missing") from None
    except OSError as error:
        raise ManifestError(str(path), f"cannot be read: {error.strerror}") from None
    return parse_json(raw, path)


def check_file_names(manifest: Manifest, manifest_path: Path) -> None:
    """Refuse a manifest listing a file outside the artefact (absolute, ``..``, backslashes)."""
    for name in manifest.files:
        path = PurePosixPath(name)
        if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
            raise ManifestError(
                str(manifest_path), f"files lists {name!r}, which is outside the artefact"
            )
