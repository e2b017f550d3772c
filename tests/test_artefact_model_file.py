"""The model file: nothing unpickles a pickled artefact (``--format pickle``) unless pickles
are allowed, and a damaged skops file is a one-line error.

The crafted pickle's ``__reduce__`` creates a marker file when unpickled, so the marker's
absence proves the code never ran, and its presence under ``--allow-pickle`` proves the
crafted file works.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pytest
from click.testing import Result
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from packager import capture, load_artefact, package, read_manifest
from packager.artefact import file_sha256
from packager.errors import ModelFileError, PickleRefusedError
from server import Settings, create_app

DEPLOYML = [sys.executable, "-m", "deployml"]


class WritesAFile:
    """Unpickling this creates the file ``marker``: code run from the file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def pickled_artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scaled logistic regression packaged as a pickle (read-only: copy before changing)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    captured = capture(model, X, y)
    return package(captured, tmp_path_factory.mktemp("pickled") / "art", model_format="pickle")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def hostile(pickled_artefact: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A pickled artefact whose model.joblib writes ``marker`` when unpickled; hash updated."""
    artefact = Path(shutil.copytree(pickled_artefact, tmp_path / "hostile"))
    marker = tmp_path / "marker"
    joblib.dump(WritesAFile(marker), artefact / "model.joblib")
    manifest = json.loads((artefact / "manifest.json").read_text())
    path = artefact / "model.joblib"
    manifest["files"]["model.joblib"] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    (artefact / "manifest.json").write_text(json.dumps(manifest))
    return artefact, marker


def test_format_pickle_writes_a_joblib_file_with_no_trusted_types(pickled_artefact: Path) -> None:
    manifest = json.loads((pickled_artefact / "manifest.json").read_text())
    assert manifest["model_file"] == {
        "path": "model.joblib",
        "serializer": "joblib",
        "trusted_types": [],
    }
    assert not (pickled_artefact / "model.skops").exists()


def test_inspect_never_unpickles(hostile: tuple[Path, Path], runner: Callable[..., Result]) -> None:
    artefact, marker = hostile
    for args in (["inspect", artefact], ["inspect", artefact, "--json"]):
        result = runner(*args)
        assert result.exit_code == 0, result.output
    assert (
        "Model file: model.joblib (a pickle: loading it runs code)"
        in runner("inspect", artefact).stdout.splitlines()
    )
    read_manifest(artefact)
    assert not marker.exists()


def test_verify_refuses_a_pickle_without_allow_pickle(
    hostile: tuple[Path, Path], runner: Callable[..., Result]
) -> None:
    artefact, marker = hostile
    result = runner("verify", artefact)
    assert result.exit_code == 1
    assert (
        f"FAIL  model: artefact {artefact} holds a pickle (model.joblib), which runs code when "
        "loaded; load it only if you trust whoever wrote it, with --allow-pickle"
    ) in result.stdout
    assert not marker.exists()
    # The control: allowed, the crafted file does run, so the checks above could fail.
    runner("verify", artefact, "--allow-pickle")
    assert marker.exists()


def test_the_server_refuses_a_pickle_in_one_line_without_the_setting(
    hostile: tuple[Path, Path],
) -> None:
    artefact, marker = hostile
    result = subprocess.run(
        [*DEPLOYML, "serve", str(artefact), "--port", str(_free_port())],
        env={k: v for k, v in os.environ.items() if not k.startswith("DEPLOYML_")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: artefact {artefact} holds a pickle (model.joblib), which runs code when loaded; "
        "load it only if you trust whoever wrote it, with DEPLOYML_ALLOW_PICKLE=true"
    ]
    assert not marker.exists()


def test_the_setting_lets_the_server_unpickle(hostile: tuple[Path, Path]) -> None:
    artefact, marker = hostile
    with pytest.raises(PickleRefusedError):
        create_app(Settings(artefact=artefact))
    assert not marker.exists()
    # Unpickled, it is no estimator; what matters is that the setting let it run.
    with pytest.raises(ModelFileError):
        create_app(Settings(artefact=artefact, allow_pickle=True))
    assert marker.exists()


def test_a_packaged_pickle_serves_with_the_setting(pickled_artefact: Path) -> None:
    api = create_app(Settings(artefact=pickled_artefact, allow_pickle=True)).test_client()
    assert api.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda good: b"not a zip at all", "is not a skops file"),
        (lambda good: good[: len(good) // 2], "is corrupt or truncated (BadZipFile)"),
    ],
    ids=["garbage", "truncated"],
)
def test_a_damaged_skops_file_is_a_one_line_model_file_error(
    damage: Callable[[bytes], bytes], problem: str, binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = Path(shutil.copytree(binary_artefact, tmp_path / "damaged"))
    path = artefact / "model.skops"
    path.write_bytes(damage(path.read_bytes()))
    manifest = json.loads((artefact / "manifest.json").read_text())
    manifest["files"]["model.skops"] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    (artefact / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError) as caught:
        load_artefact(artefact)
    assert caught.value.message.startswith(f"{path}: {problem}")
    assert "\n" not in caught.value.message
