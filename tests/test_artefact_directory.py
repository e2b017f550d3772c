"""package and load_artefact: the directory's contents, hashes, and refusal of bad artefacts."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from packager import (
    Examples,
    capture,
    compare_outputs,
    load_artefact,
    model_input,
    model_outputs,
    package,
)
from packager.artefact.manifest import FORMAT_VERSION, MANIFEST_FILE
from packager.artefact.schema import records_to_columns
from packager.errors import ArtefactError, FormatVersionError, IntegrityError, ManifestError

ARTEFACTS = [
    "binary_artefact",
    "pipeline_artefact",
    "multiclass_artefact",
    "regressor_artefact",
    "array_artefact",
]


@pytest.mark.parametrize("fixture", ARTEFACTS)
def test_artefact_rescores_its_self_test_rows_identically(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    artefact = load_artefact(request.getfixturevalue(fixture))
    spec = artefact.manifest.input
    X = model_input(records_to_columns(artefact.self_test.inputs, spec.names), spec)
    assert artefact.manifest.target is not None
    got = model_outputs(artefact.model, X, artefact.manifest.target.task)
    # typical, minimum, maximum, and a row of nulls for a schema with nullable features
    nullable = any(f.nullable for f in spec.features)
    assert len(artefact.self_test.inputs) == (4 if nullable else 3)
    assert compare_outputs(artefact.self_test, got) == []


@pytest.mark.parametrize("fixture", ARTEFACTS)
def test_artefact_lists_every_file_but_the_manifest(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    path: Path = request.getfixturevalue(fixture)
    on_disk = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    manifest = json.loads((path / MANIFEST_FILE).read_text())
    assert set(manifest["files"]) == on_disk - {MANIFEST_FILE}
    assert {"model.skops", "requirements.txt", "self_test.json", "MODEL_CARD.md"} <= on_disk
    assert "examples.json" not in on_disk  # real rows only when chosen


def test_load_artefact_names_a_changed_file(binary_artefact: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(binary_artefact, tmp_path / "copy"))
    with (copy / "self_test.json").open("a") as handle:
        handle.write(" ")
    with pytest.raises(IntegrityError, match=r"^self_test.json: differs from its SHA-256"):
        load_artefact(copy)


def test_load_artefact_names_a_missing_file(binary_artefact: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(binary_artefact, tmp_path / "copy"))
    (copy / "MODEL_CARD.md").unlink()
    with pytest.raises(IntegrityError, match=r"^MODEL_CARD.md: is missing"):
        load_artefact(copy)


def test_load_artefact_refuses_a_newer_major_format(binary_artefact: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(binary_artefact, tmp_path / "copy"))
    data = json.loads((copy / MANIFEST_FILE).read_text())
    newer = f"{int(FORMAT_VERSION.split('.')[0]) + 1}.0"
    data["format_version"] = newer
    (copy / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(
        FormatVersionError, match=rf"format {newer} is newer than the {FORMAT_VERSION}"
    ):
        load_artefact(copy)


def test_load_artefact_refuses_a_manifest_that_is_not_json(
    binary_artefact: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(binary_artefact, tmp_path / "copy"))
    (copy / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ManifestError, match="is not valid JSON"):
        load_artefact(copy)


def test_requirements_pin_the_recorded_versions(binary_artefact: Path) -> None:
    manifest = json.loads((binary_artefact / MANIFEST_FILE).read_text())
    lines = (binary_artefact / "requirements.txt").read_text().splitlines()
    assert lines == sorted(
        (f"{k}=={v}" for k, v in manifest["provenance"]["packages"].items()), key=str.lower
    )
    assert any(line.startswith("scikit-learn==") for line in lines)


@pytest.mark.parametrize("name", ["../escape.png", "/abs.png", "manifest.json", "model.skops", ""])
def test_package_refuses_unsafe_attachment_names(
    name: str, pipeline_model: Any, patient_data: Any, tmp_path: Path
) -> None:
    captured = replace(capture(pipeline_model, *patient_data[:2]), attachments={name: b"x"})
    with pytest.raises(ArtefactError, match="must be a plain relative path"):
        package(captured, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_load_artefact_refuses_files_outside_the_artefact(
    binary_artefact: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(binary_artefact, tmp_path / "copy"))
    data = json.loads((copy / MANIFEST_FILE).read_text())
    data["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "bytes": 1}
    (copy / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="outside the artefact"):
        load_artefact(copy)


def test_load_artefact_reports_the_artefact_hash(binary_artefact: Path) -> None:
    expected = hashlib.sha256((binary_artefact / MANIFEST_FILE).read_bytes()).hexdigest()
    assert load_artefact(binary_artefact).sha256 == expected


def test_package_keeps_the_old_artefact_when_the_new_one_fails(
    binary_artefact: Path,
    pipeline_model: Any,
    patient_data: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = Path(shutil.copytree(binary_artefact, tmp_path / "out"))
    before = (out / MANIFEST_FILE).read_bytes()
    captured = capture(pipeline_model, *patient_data[:2])

    def broken_card(*_: Any) -> str:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("packager.artefact.directory.model_card", broken_card)
    with pytest.raises(ArtefactError, match="Input/output error"):
        package(captured, out, force=True)
    assert (out / MANIFEST_FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_load_artefact_reads_a_format_1_0_manifest_without_training(
    binary_artefact: Path, tmp_path: Path
) -> None:
    # 1.1 added the optional "training" object (deployml train); 1.0 manifests lack it.
    copy = Path(shutil.copytree(binary_artefact, tmp_path / "copy"))
    data = json.loads((copy / MANIFEST_FILE).read_text())
    data["format_version"] = "1.0"
    del data["training"]
    (copy / MANIFEST_FILE).write_text(json.dumps(data))
    artefact = load_artefact(copy)
    assert artefact.manifest.format_version == "1.0"
    assert artefact.manifest.training is None


def test_load_artefact_refuses_a_training_record_that_is_not_an_object(
    binary_artefact: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(binary_artefact, tmp_path / "copy"))
    data = json.loads((copy / MANIFEST_FILE).read_text())
    data["training"] = ["not", "an", "object"]
    (copy / MANIFEST_FILE).write_text(json.dumps(data))
    with pytest.raises(ManifestError, match="training must be an object"):
        load_artefact(copy)


def test_load_artefact_reads_a_newer_minor_and_ignores_unknown_fields(
    binary_artefact: Path, tmp_path: Path
) -> None:
    copy = Path(shutil.copytree(binary_artefact, tmp_path / "copy"))
    data = json.loads((copy / MANIFEST_FILE).read_text())
    data["format_version"] = "1.9"
    data["signature"] = {"added": "in a later minor"}
    data["model"]["reviewer"] = "someone"
    (copy / MANIFEST_FILE).write_text(json.dumps(data))
    artefact = load_artefact(copy)
    assert artefact.manifest.format_version == "1.9"
    assert artefact.manifest.model.name == "breast-cancer"


def test_package_refuses_a_capture_without_self_test_rows_leaving_nothing(
    pipeline_model: Any, patient_data: Any, tmp_path: Path
) -> None:
    captured = replace(capture(pipeline_model, *patient_data[:2]), self_test=Examples())
    with pytest.raises(ArtefactError, match="no self-test rows; the server could never be ready"):
        package(captured, tmp_path / "out")


def test_package_refuses_a_manifest_that_readers_would_refuse(
    pipeline_model: Any, patient_data: Any, tmp_path: Path
) -> None:
    captured = capture(pipeline_model, *patient_data[:2])
    features = captured.manifest.input.features
    # capture() refuses repeated columns; a capture file made by hand may not.
    spec = replace(captured.manifest.input, features=(*features, features[0]))
    broken = replace(captured, manifest=replace(captured.manifest, input=spec))
    with pytest.raises(ManifestError) as raised:
        package(broken, tmp_path / "out")
    assert raised.value.message == (
        f"{tmp_path / 'out' / MANIFEST_FILE}: input.features repeat a feature's name "
        f"(at position {len(features)})"
    )
    assert list(tmp_path.iterdir()) == []
