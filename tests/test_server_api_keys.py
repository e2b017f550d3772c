"""The API keys file: read and checked line by line, clients added whole or not at all."""

from __future__ import annotations

import hashlib
import multiprocessing
import stat
from pathlib import Path

import pytest

from packager.errors import ArtefactError, KeysFileError
from server import api_keys
from server.api_keys import add_client, key_sha256, read_api_keys

# A key pasted where its hash belongs: no error message may repeat it.
PASTED_KEY = "Zq7cXN-pasted-key-0vY3mTg2Lk9aR5sWbE1uH8dF4jP6"
HASH_A = hashlib.sha256(b"key-a").hexdigest()
HASH_B = hashlib.sha256(b"key-b").hexdigest()


def keys_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keys"
    path.write_text(text)
    return path


def test_a_keys_file_is_read_with_its_comments_and_blank_lines(tmp_path: Path) -> None:
    path = keys_file(tmp_path, f"# clients\n\nward-3 {HASH_A}\n  lab.pc_2\t{HASH_B.upper()}  \n")
    keys = read_api_keys(path)
    assert keys.names == ["ward-3", "lab.pc_2"]
    assert [client.line for client in keys.clients] == [3, 4]
    assert keys.client_for("key-a") == "ward-3"
    assert keys.client_for("key-b") == "lab.pc_2"
    assert keys.client_for("key-c") is None
    assert keys.client_for(HASH_A) is None  # the hash is not the key


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (f"ward-3 {HASH_A}\n{PASTED_KEY}\n", 2, "expected a name and the SHA-256 of its key"),
        (f"ward-3 {PASTED_KEY}\n", 1, "the second field is not a SHA-256"),
        (f"ward-3 {HASH_A} extra\n", 1, "got 3 fields"),
        (f"# c\nward 3 {HASH_A}\n", 2, "got 3 fields"),
        (f"-ward {HASH_A}\n", 1, "the name must be 1 to 64 letters"),
        (f"{'w' * 65} {HASH_A}\n", 1, "the name must be 1 to 64 letters"),
        (f"ward-3 {HASH_A[:-1]}\n", 1, "the second field is not a SHA-256"),
        (f"ward-3 {HASH_A}\n\nward-3 {HASH_B}\n", 3, "repeats the name on line 1"),
        (f"ward-3 {HASH_A}\nlab {HASH_A.upper()}\n", 2, "repeats the key hash on line 1"),
    ],
)
def test_a_bad_line_is_refused_by_its_number_without_its_text(
    tmp_path: Path, text: str, line: int, problem: str
) -> None:
    path = keys_file(tmp_path, text)
    with pytest.raises(KeysFileError) as caught:
        read_api_keys(path)
    assert caught.value.line == line
    assert caught.value.message.startswith(f"{path} line {line}: ")
    assert problem in caught.value.message
    assert PASTED_KEY not in caught.value.message and HASH_A not in caught.value.message


@pytest.mark.parametrize("text", ["", "\n\n", "# nobody yet\n"])
def test_a_file_without_keys_is_refused_since_it_would_lock_everyone_out(
    tmp_path: Path, text: str
) -> None:
    path = keys_file(tmp_path, text)
    with pytest.raises(KeysFileError, match="holds no keys, so every request would be refused"):
        read_api_keys(path)
    assert read_api_keys(path, allow_empty=True).clients == ()


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read it: No such file"), (b"\xff\xfe w", "is not UTF-8 text")],
)
def test_an_unreadable_file_is_refused_naming_it(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    path = tmp_path / "keys"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KeysFileError, match=f"^{path}: {problem}"):
        read_api_keys(path)


def test_every_entry_is_compared_even_after_a_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"client-{i}" for i in range(5)]
    text = "".join(f"{name} {hashlib.sha256(name.encode()).hexdigest()}\n" for name in names)
    keys = read_api_keys(keys_file(tmp_path, text))
    compared = []
    real = api_keys.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append(b)
        return real(a, b)

    monkeypatch.setattr(api_keys.hmac, "compare_digest", counting)
    assert keys.client_for("client-0") == "client-0"
    assert keys.client_for("nobody") is None
    assert len(compared) == 2 * len(names)


def test_adding_a_client_creates_a_private_file_holding_only_the_hash(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    key = add_client(path, "ward-3")
    assert len(key) >= 43  # 32 random bytes
    assert path.read_text() == f"ward-3 {key_sha256(key)}\n"
    assert key not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_api_keys(path).client_for(key) == "ward-3"


def test_adding_a_client_keeps_the_file_its_comments_and_its_mode(tmp_path: Path) -> None:
    path = keys_file(tmp_path, f"# ward clients\nward-3 {HASH_A}")  # no final newline
    path.chmod(0o640)
    key = add_client(path, "lab")
    assert path.read_text() == f"# ward clients\nward-3 {HASH_A}\nlab {key_sha256(key)}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert read_api_keys(path).names == ["ward-3", "lab"]
    assert add_client(path, "lab-2") != key


def test_adding_writes_through_a_symbolic_link_to_its_target(tmp_path: Path) -> None:
    target = keys_file(tmp_path, f"ward-3 {HASH_A}\n")
    link = tmp_path / "link"
    link.symlink_to(target)
    add_client(link, "lab")
    assert link.is_symlink() and read_api_keys(target).names == ["ward-3", "lab"]


@pytest.mark.parametrize(
    ("text", "name", "problem"),
    [
        (f"ward-3 {HASH_A}\n", "ward-3", "already has a client named ward-3"),
        (f"ward-3 {HASH_A}\n", "ward 3", "a client's name must be 1 to 64 letters"),
        (f"ward-3 {PASTED_KEY}\n", "lab", "line 1: the second field is not a SHA-256"),
    ],
)
def test_adding_refuses_and_leaves_the_file_as_it_was(
    tmp_path: Path, text: str, name: str, problem: str
) -> None:
    path = keys_file(tmp_path, text)
    with pytest.raises(KeysFileError, match=problem):
        add_client(path, name)
    assert path.read_text() == text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]


def test_adding_on_a_full_disk_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = keys_file(tmp_path, f"ward-3 {HASH_A}\n")

    def full_disk(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full_disk)
    with pytest.raises(ArtefactError, match=f"cannot write {path}: No space left on device"):
        add_client(path, "lab")
    assert path.read_bytes() == f"ward-3 {HASH_A}\n".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys"]


def _add_in_a_process(path: Path, name: str) -> None:
    add_client(path, name)


# Forking a test process that another test left with threads warns on Python 3.12+.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_adds_at_the_same_time_take_turns_and_lose_no_client(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    names = [f"ward-{i}" for i in range(24)]
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_add_in_a_process, args=(path, n)) for n in names]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
    assert [process.exitcode for process in processes] == [0] * len(names)
    assert sorted(read_api_keys(path).names) == sorted(names)
