"""The bundled example: ``build_example`` and ``deployml example``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from packager import load_artefact, read_manifest, verify
from packager.errors import OutputExistsError
from packager.example import EXAMPLE_NAME, TARGET_NAME, build_example, load_example_data


@pytest.fixture(scope="module")
def example_artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_example(tmp_path_factory.mktemp("example") / "example-artefact")


def test_example_data_is_the_bundled_breast_cancer_frame_with_named_labels() -> None:
    X, y = load_example_data()
    assert X.shape == (569, 30)
    assert "mean radius" in X.columns
    assert y.name == TARGET_NAME
    assert set(y) == {"benign", "malignant"}


def test_build_example_writes_an_artefact_that_verifies(example_artefact: Path) -> None:
    report = verify(example_artefact)
    assert report.ok, [(c.name, c.detail) for c in report.checks if c.status == "fail"]


def test_build_example_records_schema_target_metrics_and_provenance(
    example_artefact: Path,
) -> None:
    manifest, _ = read_manifest(example_artefact)
    assert manifest.model.name == EXAMPLE_NAME
    assert manifest.model.intended_use and "not for clinical use" in manifest.model.intended_use
    assert manifest.estimator.class_name.endswith("Pipeline")
    assert manifest.estimator.n_training_rows == 426
    assert len(manifest.input.features) == 30
    assert {f.kind for f in manifest.input.features} == {"number"}
    assert manifest.target is not None
    assert manifest.target.name == TARGET_NAME
    assert sorted(manifest.target.classes or []) == ["benign", "malignant"]
    assert manifest.metrics is not None
    assert manifest.metrics["test"]["n_rows"] == 143
    assert manifest.metrics["test"]["accuracy"] > 0.9
    assert {"scikit-learn", "numpy", "pandas"} <= manifest.provenance.packages.keys()


def test_example_model_reproduces_its_stored_predictions(example_artefact: Path) -> None:
    artefact = load_artefact(example_artefact)
    stored = json.loads((example_artefact / "self_test.json").read_text())
    assert artefact.self_test.inputs == stored["inputs"]
    assert artefact.self_test.predictions == stored["predictions"]
    assert set(artefact.self_test.predictions) <= {"benign", "malignant"}


def test_build_example_refuses_an_existing_output_without_force(tmp_path: Path) -> None:
    output = tmp_path / "taken"
    output.mkdir()
    (output / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError, match="--force"):
        build_example(output)
    assert (output / "notes.txt").read_text() == "keep me"


def test_build_example_with_force_replaces_an_earlier_example(
    example_artefact: Path, tmp_path: Path
) -> None:
    output = tmp_path / "again"
    build_example(output)
    first = (output / "model.skops").stat().st_mtime_ns
    build_example(output, force=True)
    assert (output / "model.skops").stat().st_mtime_ns != first
    assert verify(output).ok
    # A fixed split and seed: the rebuilt model is the one already packaged.
    rebuilt, _ = read_manifest(output)
    original, _ = read_manifest(example_artefact)
    assert rebuilt.estimator == original.estimator
    assert rebuilt.metrics == original.metrics


def test_example_command_packages_and_prints_how_to_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runner: Callable[..., Result]
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner("example")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "example-artefact" / "manifest.json").is_file()
    assert f"Packaged {EXAMPLE_NAME} 1.0.0 into example-artefact" in result.output
    assert "deployml serve example-artefact" in result.output


def test_example_command_reports_an_existing_output_in_one_line(
    tmp_path: Path, runner: Callable[..., Result]
) -> None:
    output = tmp_path / "exists"
    output.mkdir()
    result = runner("example", "-o", output)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: {output} already exists; pass --force to replace it"
    ]
