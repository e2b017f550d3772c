"""Start-up: hash, format and version refusals, and the self-test gating readiness."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from packager.artefact import FeatureSpec, file_sha256
from packager.errors import (
    ArtefactHashError,
    ConfigError,
    FormatVersionError,
    IntegrityError,
    ManifestError,
)
from server import Settings, create_app
from server.errors import VersionMismatchError
from server.runtime import load_runtime
from server.runtime.loaded import _self_test
from server.validation import Validator


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


def test_startup_refuses_a_feature_range_that_is_not_a_number(
    binary_artefact: Path, tmp_path: Path
) -> None:
    # It used to start, then answer every /predict with a 500.
    artefact = copy_of(binary_artefact, tmp_path)
    edit_manifest(artefact, lambda m: m["input"]["features"][2].update(min="abc"))
    with pytest.raises(ManifestError, match=r"input\.features\[2\]\.min must be a number$"):
        create_app(Settings(artefact=artefact))


def test_the_self_test_checks_the_examples_as_requests_are_checked(
    pipeline_artefact: Path, tmp_path: Path, client: Callable[..., FlaskClient]
) -> None:
    artefact = copy_of(pipeline_artefact, tmp_path)
    inputs = json.loads((artefact / "self_test.json").read_text())["inputs"]
    row, name = next((r, k) for r, x in enumerate(inputs) for k, v in x.items() if v is None)
    # The model scores a missing value, but a request may not send one for this feature now.
    edit_manifest(
        artefact,
        lambda m: next(f for f in m["input"]["features"] if f["name"] == name).update(
            nullable=False
        ),
    )
    ready = client(artefact).get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["reason"] == (
        "self-test failed: self_test.json fails the request checks: "
        f"row {row}, feature {name}: null is not allowed; "
        "this feature had no missing values in training"
    )


def test_a_schema_the_validator_cannot_use_stops_start_up(binary_artefact: Path) -> None:
    # The reader refuses such a schema; were one to get past it, start-up would still stop.
    runtime = load_runtime(Settings(artefact=binary_artefact))
    manifest = runtime.artefact.manifest
    broken: Any = "abc"
    features = (
        FeatureSpec(**{**dataclasses.asdict(manifest.input.features[0]), "min": broken}),
        *manifest.input.features[1:],
    )
    spec = dataclasses.replace(manifest.input, features=features)
    artefact = dataclasses.replace(
        runtime.artefact, manifest=dataclasses.replace(manifest, input=spec)
    )
    broken_runtime = dataclasses.replace(runtime, artefact=artefact, validator=Validator(spec))
    with pytest.raises(
        ManifestError, match=r"the input schema cannot validate requests \(\w+Error\)$"
    ):
        _self_test(broken_runtime)


def test_startup_serves_only_the_expected_artefact(binary_artefact: Path, tmp_path: Path) -> None:
    expected = file_sha256(binary_artefact / "manifest.json")
    create_app(Settings(artefact=binary_artefact, expected_sha256=expected))
    artefact = copy_of(binary_artefact, tmp_path)
    edit_manifest(artefact, lambda m: m["model"].update(name="another"))
    # Nothing else is read: the changed model file would be an IntegrityError otherwise.
    (artefact / "model.skops").write_bytes(b"not a model")
    found = file_sha256(artefact / "manifest.json")
    with pytest.raises(ArtefactHashError) as caught:
        create_app(Settings(artefact=artefact, expected_sha256=expected))
    assert caught.value.message == (
        f"the artefact's sha256 is {found}, not the expected {expected}; refusing to load it"
    )
