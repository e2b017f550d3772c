"""``deployml keys add`` and ``keys list``: a key shown once, only its hash kept."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from server.api_keys import read_api_keys


def test_keys_add_prints_the_key_once_and_stores_only_its_hash(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    path = tmp_path / "keys"
    result = runner("keys", "add", "ward-3", "--file", path)
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert result.stdout == f"{key}\n" and len(key) >= 43
    assert "not stored" in result.stderr and key not in result.stderr
    assert path.read_text() == f"ward-3 {hashlib.sha256(key.encode()).hexdigest()}\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_api_keys(path).client_for(key) == "ward-3"


def test_keys_add_refuses_a_name_already_in_the_file(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    path = tmp_path / "keys"
    runner("keys", "add", "ward-3", "--file", path)
    before = path.read_text()
    result = runner("keys", "add", "ward-3", "--file", path)
    assert result.exit_code == 1 and result.stdout == ""
    expected = f"Error: {path}: already has a client named ward-3; choose another name\n"
    assert result.stderr == expected
    assert path.read_text() == before


def test_keys_add_refuses_a_malformed_name_as_a_usage_error(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    result = runner("keys", "add", "ward 3", "--file", tmp_path / "keys")
    assert result.exit_code == 2 and "must be 1 to 64 letters" in result.stderr
    assert not (tmp_path / "keys").exists()


def test_keys_add_and_list_refuse_a_malformed_file_by_its_line(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    path = tmp_path / "keys"
    path.write_text("# clients\nward-3 a-key-where-the-hash-belongs\n")
    for args in (["add", "lab"], ["list"]):
        result = runner("keys", *args, "--file", path)
        assert result.exit_code == 1
        assert result.stderr.startswith(f"Error: {path} line 2: the second field is not")
        assert "a-key-where" not in result.stderr
    assert path.read_text() == "# clients\nward-3 a-key-where-the-hash-belongs\n"


def test_keys_list_prints_the_names_only(tmp_path: Path, runner: Callable[..., Result]) -> None:
    path = tmp_path / "keys"
    runner("keys", "add", "ward-3", "--file", path)
    runner("keys", "add", "lab", "--file", path)
    result = runner("keys", "list", "--file", path)
    assert result.exit_code == 0 and result.stdout == "ward-3\nlab\n"
