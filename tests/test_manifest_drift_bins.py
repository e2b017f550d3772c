"""Drift bins in the manifest (format 4.1): recorded by capture from the training rows, written
to manifest.json and read back whole, refused in one line when malformed, shown by inspect."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import pytest
from conftest import PatientData

from packager import FORMAT_VERSION, ModelDetails, capture, load_model_file, package
from packager.artefact import read_manifest, training_bins
from packager.errors import ManifestError
from packager.review import summarise


@pytest.fixture(scope="module")
def drift_artefact(
    pipeline_model: Any, patient_data: PatientData, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    X, y, X_test, y_test = patient_data
    captured = capture(
        pipeline_model,
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        details=ModelDetails(name="drift"),
        features={"age": {"identifier": True}},
    )
    return package(captured, tmp_path_factory.mktemp("drift") / "artefact")


def test_capture_records_bins_of_the_training_rows(
    drift_artefact: Path, patient_data: PatientData
) -> None:
    X, _, _, _ = patient_data
    manifest, _ = read_manifest(drift_artefact)
    assert FORMAT_VERSION == manifest.format_version == "4.2"
    # age is declared an identifier: never binned.
    assert set(manifest.drift) == {"bmi", "sex", "ward", "smoker"}
    assert all(sum(b.counts) == len(X) for b in manifest.drift.values())
    assert manifest.drift == training_bins(X, manifest.input)
    assert manifest.drift["smoker"].categories == [False, True]
    assert manifest.drift["ward"].counts[-1] == int(X["ward"].isna().sum()) > 0


def test_drift_bins_round_trip_through_manifest_json(drift_artefact: Path) -> None:
    written = json.loads((drift_artefact / "manifest.json").read_text())
    assert written["format_version"] == "4.2"
    bmi = written["drift"]["bmi"]
    assert set(bmi) == {"kind", "edges", "categories", "counts", "labels"}
    assert bmi["kind"] == "number" and bmi["labels"][-1] == "missing"
    manifest, _ = read_manifest(drift_artefact)
    assert manifest.to_dict()["drift"] == written["drift"]


def test_a_bare_estimator_records_no_bins_and_says_so(pipeline_model: Any, tmp_path: Path) -> None:
    joblib.dump(pipeline_model, tmp_path / "bare.pkl")
    manifest = load_model_file(tmp_path / "bare.pkl").manifest
    assert manifest.drift == {}
    assert any(line.startswith("drift: no training data") for line in manifest.missing)
    assert "Drift bins: none recorded\n" in summarise(manifest)


def test_inspect_says_how_many_features_have_bins(
    drift_artefact: Path, runner: Callable[..., Any]
) -> None:
    shown = runner("inspect", drift_artefact)
    assert shown.exit_code == 0, shown.output
    assert "Drift bins: recorded for 4 of 5 features, from 220 training rows" in shown.output


def _copy(artefact: Path, tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(artefact, copy)
    data = json.loads((copy / "manifest.json").read_text())
    change(data)
    (copy / "manifest.json").write_text(json.dumps(data))
    return copy


MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("drift as a list", lambda d: d.update(drift=[]), "drift must be an object"),
    ("no counts", lambda d: d["drift"]["bmi"].pop("counts"), "drift.bmi.counts is required"),
    (
        "a negative count",
        lambda d: d["drift"]["bmi"]["counts"].__setitem__(0, -1),
        "drift.bmi.counts[0] must not be negative",
    ),
    (
        "a count too few",
        lambda d: d["drift"]["bmi"]["counts"].pop(),
        "drift.bmi.counts must be as long as labels",
    ),
    (
        "edges not increasing",
        lambda d: d["drift"]["bmi"]["edges"].reverse(),
        "drift.bmi.edges must increase",
    ),
    (
        "an edge as text",
        lambda d: d["drift"]["bmi"]["edges"].__setitem__(0, "4"),
        "drift.bmi.edges[0] must be a number",
    ),
    (
        "a label too few",
        lambda d: d["drift"]["sex"]["labels"].pop(0),
        "drift.sex.labels must hold 4 labels",
    ),
    (
        "a label twice",
        lambda d: d["drift"]["sex"]["labels"].__setitem__(1, "F"),
        "drift.sex.labels must be distinct",
    ),
    ("an unknown kind", lambda d: d["drift"]["sex"].update(kind="text"), "drift.sex.kind must be"),
    (
        "edges for a category",
        lambda d: d["drift"]["sex"].update(edges=[1.0]),
        "drift.sex.edges must be empty for categories",
    ),
    (
        "bins of no feature",
        lambda d: d["drift"].update(weight=d["drift"]["bmi"]),
        "drift.weight is not one of the input features",
    ),
]


@pytest.mark.parametrize(
    ("change", "named"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED]
)
def test_malformed_drift_bins_are_refused_in_one_line_naming_the_field(
    drift_artefact: Path,
    tmp_path: Path,
    runner: Callable[..., Any],
    change: Callable[[dict[str, Any]], None],
    named: str,
) -> None:
    copy = _copy(drift_artefact, tmp_path, change)
    with pytest.raises(ManifestError, match=r"manifest\.json: ") as raised:
        read_manifest(copy)
    assert named in raised.value.message
    shown = runner("inspect", copy)
    assert shown.exit_code == 1 and named in shown.output


def test_a_manifest_without_the_drift_field_reads_as_none_recorded(
    drift_artefact: Path, tmp_path: Path
) -> None:
    # The field is optional in 4.1 (a 4.0 reader, whose schemas exclude unknown keys, reads a
    # 4.1 manifest as if it were absent; that reader is not in this tree to be run here).
    copy = _copy(drift_artefact, tmp_path, lambda d: d.pop("drift"))
    manifest, _ = read_manifest(copy)
    assert manifest.drift == {}
    assert "Drift bins: none recorded\n" in summarise(manifest)


def test_a_capture_file_keeps_its_drift_bins(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    X, y, _, _ = patient_data
    captured = capture(pipeline_model, X, y)
    captured.save(tmp_path / "model.pkl")
    assert load_model_file(tmp_path / "model.pkl").manifest.drift == captured.manifest.drift
    assert set(captured.manifest.drift) == {"age", "bmi", "sex", "ward", "smoker"}


def test_a_capture_file_loses_the_bins_of_a_feature_declared_an_identifier_when_packaged(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    X, y, _, _ = patient_data
    capture(pipeline_model, X, y).save(tmp_path / "model.pkl")
    loaded = load_model_file(tmp_path / "model.pkl", features={"bmi": {"identifier": True}})
    assert [f.name for f in loaded.manifest.input.features if f.identifier] == ["bmi"]
    assert set(loaded.manifest.drift) == {"age", "sex", "ward", "smoker"}


def test_train_records_bins_of_its_training_split_only(
    runner: Callable[..., Any], tmp_path: Path
) -> None:
    from conftest import make_pbc

    make_pbc(400, seed=11).to_csv(tmp_path / "pbc.csv", index=False)
    made = runner(
        "train", tmp_path / "pbc.csv", "--target", "status", "--no-plots", "-o", tmp_path / "a"
    )
    assert made.exit_code == 0, made.output
    manifest, _ = read_manifest(tmp_path / "a")
    rows = manifest.training["data"]["rows"] if manifest.training else None
    assert manifest.estimator.n_training_rows is not None and rows == 400
    assert {sum(b.counts) for b in manifest.drift.values()} == {manifest.estimator.n_training_rows}
    assert manifest.estimator.n_training_rows < 400  # the test rows are not counted
    assert "id" not in manifest.drift and "diagnosed" not in manifest.drift
