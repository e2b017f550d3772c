"""The API keys file: one client a line, its name and the SHA-256 of its key.

    # blank lines and comments are allowed
    ward-3-dashboard  9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

The key itself is never stored anywhere: :func:`add_client` (``deployml keys add``) makes a
key, appends the client's name and the key's hash, and returns the key to be shown once. The
server reads the file at start-up (:func:`read_api_keys`) and finds whose a presented key is
with :meth:`ApiKeys.client_for`, in constant time. Errors name the file and the line, never
the line's text: a line may hold a key pasted where its hash belongs.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from packager.artefact import staged
from packager.errors import KeysFileError

__all__ = [
    "KEY_BYTES",
    "NAME_RULE",
    "ApiKeys",
    "Client",
    "add_client",
    "key_sha256",
    "new_key",
    "read_api_keys",
    "valid_name",
]

# 256 random bits cannot be guessed, so one unsalted SHA-256 is a safe way to store them.
KEY_BYTES = 32
# Names go into the access and audit logs: short, plain tokens only.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
NAME_RULE = "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# A file of keys is a few kB; anything this large is a mistake, not worth reading whole.
_MAX_BYTES = 1 << 20


@dataclass(frozen=True)
class Client:
    """One line of the file: the client's name and its key's SHA-256 (the raw digest)."""

    name: str
    sha256: bytes
    line: int


@dataclass(frozen=True)
class ApiKeys:
    """The clients of a keys file, in file order."""

    path: Path
    clients: tuple[Client, ...]

    @property
    def names(self) -> list[str]:
        """The clients' names, in file order."""
        return [client.name for client in self.clients]

    def client_for(self, key: str) -> str | None:
        """The name of the client whose key ``key`` is, or None.

        Every entry is compared, in constant time and without stopping at a match, so the
        time taken says nothing of whether or where the key was found.
        """
        presented = hashlib.sha256(key.encode()).digest()
        found = None
        for client in self.clients:
            if hmac.compare_digest(presented, client.sha256):
                found = client.name
        return found


def new_key() -> str:
    """A new random key, URL-safe text."""
    return secrets.token_urlsafe(KEY_BYTES)


def key_sha256(key: str) -> str:
    """The hex SHA-256 of a key, as the file stores it."""
    return hashlib.sha256(key.encode()).hexdigest()


def valid_name(name: str) -> bool:
    """Whether ``name`` may name a client (see NAME_RULE)."""
    return _NAME.fullmatch(name) is not None


def read_api_keys(path: Path, *, allow_empty: bool = False) -> ApiKeys:
    """Read and check the keys file; a file without keys is refused unless ``allow_empty``.

    An empty file would lock every client out without saying why, so the server refuses it.
    """
    keys = _parse(path, _read_text(path))
    if not keys.clients and not allow_empty:
        raise KeysFileError(
            str(path),
            "holds no keys, so every request would be refused; "
            "add one with: deployml keys add NAME --file FILE",
        )
    return keys


def add_client(path: Path, name: str) -> str:
    """Append a new client ``name`` to the file (made, mode 0600, if absent); return its key.

    The file is rewritten whole or not at all, keeping its mode; a malformed file, a taken
    name or a name that breaks NAME_RULE is refused and the file left as it was. Two adds at
    once take turns, so neither loses the other's line.
    """
    if not valid_name(name):
        raise KeysFileError(str(path), f"a client's name must be {NAME_RULE}")
    # Write through a symbolic link to its target rather than replacing the link.
    target = path.resolve()
    with _locked(target.parent):
        return _add(path, target, name)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (the file itself is replaced, not edited)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as error:
        raise KeysFileError(str(directory), f"cannot open it: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _add(path: Path, target: Path, name: str) -> str:
    exists = target.exists()
    text = _read_text(path) if exists else ""
    if name in _parse(path, text).names:
        raise KeysFileError(str(path), f"already has a client named {name}; choose another name")
    key = new_key()
    if text and not text.endswith("\n"):
        text += "\n"
    with staged(target, directory=False) as stage:
        # The stage is made with mode 0600; an existing file keeps its own mode.
        if exists:
            stage.chmod(stat.S_IMODE(target.stat().st_mode))
        stage.write_text(f"{text}{name} {key_sha256(key)}\n", encoding="utf-8")
    return key


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_BYTES + 1)
    except OSError as error:
        raise KeysFileError(str(path), f"cannot read it: {error.strerror or error}") from None
    if len(data) > _MAX_BYTES:
        raise KeysFileError(str(path), f"is larger than {_MAX_BYTES} bytes; is it the right file?")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise KeysFileError(str(path), "is not UTF-8 text") from None


def _parse(path: Path, text: str) -> ApiKeys:
    clients: list[Client] = []
    lines_of_names: dict[str, int] = {}
    lines_of_hashes: dict[bytes, int] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        client = _client(path, number, line)
        if client.name in lines_of_names:
            problem = f"repeats the name on line {lines_of_names[client.name]}"
            raise KeysFileError(str(path), f"{problem}; give each client its own name", number)
        if client.sha256 in lines_of_hashes:
            problem = f"repeats the key hash on line {lines_of_hashes[client.sha256]}"
            raise KeysFileError(str(path), f"{problem}; give each client its own key", number)
        lines_of_names[client.name] = lines_of_hashes[client.sha256] = number
        clients.append(client)
    return ApiKeys(path=path, clients=tuple(clients))


def _client(path: Path, number: int, line: str) -> Client:
    fields = line.split()
    if len(fields) != 2:
        raise KeysFileError(
            str(path),
            f"expected a name and the SHA-256 of its key, got {len(fields)} fields",
            number,
        )
    name, digest = fields
    if not valid_name(name):
        raise KeysFileError(str(path), f"the name must be {NAME_RULE}", number)
    if not _SHA256.fullmatch(digest):
        raise KeysFileError(
            str(path),
            "the second field is not a SHA-256 (64 hex digits); "
            "the file holds the hash of each key, never the key",
            number,
        )
    return Client(name=name, sha256=bytes.fromhex(digest), line=number)
