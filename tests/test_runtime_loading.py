"""Start-up: hash, format and version refusals, and the self-test gating readiness."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from packager.artefact import file_sha256
from packager.errors import ConfigError, FormatVersionError, IntegrityError, ManifestError
from server import Settings, create_app
from server.errors import VersionMismatchError


def copy_of(artefact: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(artefact, tmp_path / artefact.name))


def edit_manifest(artefact: Path, edit: Any) -> None:
    path = artefact / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def test_startup_refuses_a_changed_model_file_naming_it(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = copy_of(binary_artefact, tmp_path)
    model_file = json.loads((artefact / "manifest.json").read_text())["model_file"]["path"]
    with (artefact / model_file).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(IntegrityError) as caught:
        create_app(Settings(artefact=artefact))
    assert caught.value.file == model_file
    assert model_file in caught.value.message


def test_startup_refuses_changed_self_test_rows_naming_the_file(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = copy_of(binary_artefact, tmp_path)
    rows = artefact / "self_test.json"
    rows.write_text(rows.read_text().replace("[", "[ ", 1))
    with pytest.raises(IntegrityError, match=r"self_test\.json"):
        create_app(Settings(artefact=artefact))


def test_startup_refuses_a_newer_format(binary_artefact: Path, tmp_path: Path) -> None:
    artefact = copy_of(binary_artefact, tmp_path)
    edit_manifest(artefact, lambda m: m.update(format_version="99.0"))
    with pytest.raises(FormatVersionError, match=r"99\.0 is newer"):
        create_app(Settings(artefact=artefact))


def test_startup_requires_an_artefact() -> None:
    with pytest.raises(ConfigError, match="DEPLOYML_ARTEFACT"):
        create_app(Settings())


def test_startup_logs_and_shows_a_different_scikit_learn_version(
    binary_artefact: Path,
    tmp_path: Path,
    logs: pytest.LogCaptureFixture,
    client: Callable[..., FlaskClient],
) -> None:
    artefact = copy_of(binary_artefact, tmp_path)
    edit_manifest(artefact, lambda m: m["provenance"]["packages"].update({"scikit-learn": "0.1"}))
    api = client(artefact)
    assert any(
        r.levelno == logging.ERROR and "scikit-learn recorded 0.1" in r.getMessage()
        for r in logs.records
    )
    metadata = api.get("/metadata").get_json()
    assert {"package": "scikit-learn", "recorded": "0.1"}.items() <= metadata[
        "version_differences"
    ][0].items()
    assert api.get("/readyz").status_code == 200


def test_startup_strict_versions_refuses_a_different_scikit_learn(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = copy_of(binary_artefact, tmp_path)
    edit_manifest(artefact, lambda m: m["provenance"]["packages"].update({"scikit-learn": "0.1"}))
    with pytest.raises(VersionMismatchError, match=r"packaged with scikit-learn 0\.1"):
        create_app(Settings(artefact=artefact, strict_versions=True))


def test_startup_strict_versions_refuses_a_recorded_package_that_is_not_installed(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = copy_of(binary_artefact, tmp_path)
    edit_manifest(artefact, lambda m: m["provenance"]["packages"].update({"no-such-dist": "1.0"}))
    create_app(Settings(artefact=artefact))  # not strict: logged, served
    with pytest.raises(VersionMismatchError, match=r"packaged with no-such-dist 1\.0 but none"):
        create_app(Settings(artefact=artefact, strict_versions=True))


def test_startup_self_test_failure_keeps_the_server_live_but_not_ready(
    binary_artefact: Path, tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    artefact = copy_of(binary_artefact, tmp_path)
    examples_path = artefact / "self_test.json"
    examples = json.loads(examples_path.read_text())
    examples["predictions"][0] = 1 - examples["predictions"][0]
    examples_path.write_text(json.dumps(examples))
    # Re-record the hash so that only the self-test can notice the different outputs.
    edit_manifest(
        artefact,
        lambda m: m["files"]["self_test.json"].update(
            sha256=file_sha256(examples_path), bytes=examples_path.stat().st_size
        ),
    )
    api = client(artefact)
    assert api.get("/livez").status_code == 200
    ready = api.get("/readyz")
    assert ready.status_code == 503
    assert "self_test.json: example 0: the prediction differs" in ready.get_json()["reason"]
    predict = api.post("/predict", json=examples["inputs"][0])
    assert predict.status_code == 503
    assert predict.get_json()["error"]["code"] == "not_ready"


def test_startup_refuses_a_format_2_artefact_without_its_self_test_rows(
    binary_artefact: Path, tmp_path: Path
) -> None:
    artefact = copy_of(binary_artefact, tmp_path)
    (artefact / "self_test.json").unlink()
    edit_manifest(artefact, lambda m: m["files"].pop("self_test.json"))
    with pytest.raises(ManifestError, match=r"files lacks self_test\.json"):
        create_app(Settings(artefact=artefact))
