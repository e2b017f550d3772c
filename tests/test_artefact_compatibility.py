"""Artefacts written by earlier deployml releases keep loading, verifying and serving.

``tests/data/artefact-format-1.1`` was packaged by deployml 0.1 (format 1.1) before the
packages were reorganised; 2.0, 3.0 and 4.0 are the formats before profiles, before the input
contract (4.0) and before drift bins (4.1). tests/data/README.md says how each was made. The
1.1 model is a pickle, so it loads only where pickles are allowed (``--allow-pickle``,
``DEPLOYML_ALLOW_PICKLE``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from packager import load_artefact, model_input, read_manifest, verify
from packager.errors import PickleRefusedError

FORMAT_1_1 = Path(__file__).parent / "data" / "artefact-format-1.1"

# A later scikit-learn warns that the pickle is older; verify and the server report it.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.InconsistentVersionWarning")


def _installed_differences(recorded: dict[str, str]) -> list[str]:
    return sorted(name for name, version in recorded.items() if metadata.version(name) != version)


def test_format_1_1_artefact_verifies() -> None:
    report = verify(FORMAT_1_1, allow_pickle=True)
    status = {check.name: check.status for check in report.checks}
    manifest, sha256 = read_manifest(FORMAT_1_1)
    assert manifest.format_version == "1.1"
    assert report.sha256 == sha256
    assert status["manifest"] == status["files"] == status["examples"] == "ok"
    assert status["model"] in ("ok", "warn")
    differing = _installed_differences(manifest.provenance.packages)
    # Only a version installed here that differs from the recorded one may fail the check.
    assert (status["versions"] == "ok") == (not differing)


def test_format_1_1_artefact_is_served_and_answers_as_recorded(
    client: Callable[..., FlaskClient],
) -> None:
    api = client(FORMAT_1_1, allow_pickle=True)
    assert api.get("/readyz").status_code == 200
    examples = json.loads((FORMAT_1_1 / "examples.json").read_text())
    response = api.post("/predict", json={"instances": examples["inputs"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["predictions"] == examples["predictions"]
    labels = read_manifest(FORMAT_1_1)[0].target.classes  # type: ignore[union-attr]
    got = [row[str(label)] for row in body["probabilities"] for label in labels]
    recorded = [p for row in examples["probabilities"] for p in row]
    assert got == pytest.approx(recorded, rel=1e-6, abs=1e-9)
    metadata_doc = api.get("/metadata").get_json()
    assert metadata_doc["artefact"]["format_version"] == "1.1"
    assert metadata_doc["model"]["name"] == "readmission-0.1"
    # Its examples.json held real rows, published as such, and is its self-test.
    assert metadata_doc["example"]["rows"] == "real"
    assert metadata_doc["example"]["request"]["instances"] == examples["inputs"][:1]
    _assert_implicit_default(body, metadata_doc, positive="yes", other="no")
    artefact = load_artefact(FORMAT_1_1, allow_pickle=True)
    assert artefact.self_test == artefact.examples
    assert list(artefact.stored_rows()) == ["examples.json"]


def test_format_1_1_pickle_is_refused_unless_pickles_are_allowed() -> None:
    model_file = read_manifest(FORMAT_1_1)[0].model_file
    assert (model_file.serializer, model_file.trusted_types) == ("joblib", [])
    with pytest.raises(PickleRefusedError, match=r"holds a pickle \(model.joblib\)"):
        load_artefact(FORMAT_1_1)
    model = next(check for check in verify(FORMAT_1_1).checks if check.name == "model")
    assert model.status == "fail" and "--allow-pickle" in model.detail


FORMAT_2_0 = Path(__file__).parent / "data" / "artefact-format-2.0"


def test_format_2_0_artefact_verifies_and_reads_its_second_class_as_positive() -> None:
    report = verify(FORMAT_2_0)
    status = {check.name: check.status for check in report.checks}
    manifest, _ = read_manifest(FORMAT_2_0)
    assert manifest.format_version == "2.0"
    assert status["manifest"] == status["files"] == status["self-test"] == "ok"
    recorded = json.loads((FORMAT_2_0 / "manifest.json").read_text())
    assert "positive_class" not in recorded["target"]
    assert manifest.target is not None and manifest.target.classes == ["benign", "malignant"]
    assert manifest.target.positive_class == "malignant"


def test_format_2_0_artefact_is_inspected_and_served(
    runner: Callable[..., Any], client: Callable[..., FlaskClient]
) -> None:
    shown = runner("inspect", FORMAT_2_0)
    assert shown.exit_code == 0, shown.output
    assert "format 2.0" in shown.output
    assert "positive class 'malignant'" in shown.output
    api = client(FORMAT_2_0)
    assert api.get("/readyz").status_code == 200
    metadata_doc = api.get("/metadata").get_json()
    assert metadata_doc["artefact"]["format_version"] == "2.0"
    assert metadata_doc["target"]["positive_class"] == "malignant"
    instances = json.loads((FORMAT_2_0 / "self_test.json").read_text())["inputs"]
    response = api.post("/predict", json={"instances": instances})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body["predictions"]) <= {"benign", "malignant"}
    _assert_implicit_default(body, metadata_doc, positive="malignant", other="benign")


def _assert_implicit_default(
    body: dict[str, Any], metadata_doc: dict[str, Any], positive: str, other: str
) -> None:
    """An artefact from before profiles decides with the implicit default: 0.5 on its second
    class, as /metadata says."""
    assert body["profile"] == {
        "name": "default",
        "threshold": 0.5,
        "rule": "fixed:0.5",
        "positive_class": positive,
    }
    expected = [positive if p[positive] >= 0.5 else other for p in body["probabilities"]]
    assert body["decisions"] == expected
    profiles = metadata_doc["profiles"]
    assert (profiles["default"], profiles["default_from"], profiles["implicit"]) == (
        "default",
        "implicit",
        True,
    )


FORMAT_3_0 = Path(__file__).parent / "data" / "artefact-format-3.0"


def test_format_3_0_artefact_verifies_and_keeps_its_integer_features() -> None:
    report = verify(FORMAT_3_0)
    status = {check.name: check.status for check in report.checks}
    manifest, _ = read_manifest(FORMAT_3_0)
    assert manifest.format_version == "3.0"
    assert status["manifest"] == status["files"] == status["self-test"] == "ok"
    features = {f.name: f for f in manifest.input.features}
    # 3.0 inferred "integer" from whole training values; 4.0 reads it as it was written.
    assert [n for n, f in features.items() if f.kind == "integer"] == ["Pclass", "SibSp"]
    assert features["Pclass"].dtype == "int64" and not features["Fare"].nullable
    # Fields 3.0 did not have take their defaults: nothing declared, imputed or limited.
    assert not any(f.imputed or f.identifier or f.declared for f in features.values())
    assert all(f.plausible_min is None and f.plausible_max is None for f in features.values())


def test_format_3_0_artefact_is_inspected_and_answers_as_recorded(
    runner: Callable[..., Any], client: Callable[..., FlaskClient]
) -> None:
    shown = runner("inspect", FORMAT_3_0)
    assert shown.exit_code == 0, shown.output
    assert "format 3.0" in shown.output
    api = client(FORMAT_3_0)
    assert api.get("/readyz").status_code == 200
    assert api.get("/metadata").get_json()["artefact"]["format_version"] == "3.0"
    stored = json.loads((FORMAT_3_0 / "self_test.json").read_text())
    response = api.post("/predict", json={"instances": stored["inputs"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["predictions"] == stored["predictions"]
    got = [p for row in body["probabilities"] for p in (row["0"], row["1"])]
    recorded = [p for row in stored["probabilities"] for p in row]
    assert got == pytest.approx(recorded, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(
    ("change", "feature", "problem"),
    [
        ({"Pclass": 2.5}, "Pclass", "expected an integer, got a number with a fractional part"),
        ({"SibSp": 0.5}, "SibSp", "expected an integer, got a number with a fractional part"),
        # Its pipeline imputes Fare, but 3.0 recorded that Fare may not be missing.
        ({"Fare": None}, "Fare", "null is not allowed"),
    ],
)
def test_format_3_0_artefact_still_refuses_fractions_for_integers_and_null_for_fare(
    client: Callable[..., FlaskClient], change: dict[str, Any], feature: str, problem: str
) -> None:
    row = json.loads((FORMAT_3_0 / "self_test.json").read_text())["inputs"][0]
    response = client(FORMAT_3_0).post("/predict", json={**row, **change})
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["error"]["details"]
    assert [d["feature"] for d in details] == [feature]
    assert details[0]["problem"].startswith(problem)


def test_format_3_0_integer_features_are_built_as_integers_for_the_model() -> None:
    artefact = load_artefact(FORMAT_3_0)
    spec = artefact.manifest.input
    row = json.loads((FORMAT_3_0 / "self_test.json").read_text())["inputs"][0]
    frame = model_input({name: [row[name]] for name in spec.names}, spec)
    assert frame["Pclass"].dtype == frame["SibSp"].dtype == np.int64


FORMAT_4_0 = Path(__file__).parent / "data" / "artefact-format-4.0"


def test_format_4_0_artefact_verifies_and_records_no_drift_bins() -> None:
    report = verify(FORMAT_4_0)
    status = {check.name: check.status for check in report.checks}
    manifest, sha256 = read_manifest(FORMAT_4_0)
    assert manifest.format_version == "4.0"
    assert report.sha256 == sha256
    assert status["manifest"] == status["files"] == status["self-test"] == "ok"
    assert "drift" not in json.loads((FORMAT_4_0 / "manifest.json").read_text())
    assert manifest.drift == {}
    # Its input contract reads as 4.0 wrote it.
    features = {f.name: f for f in manifest.input.features}
    assert features["sex"].categories == ["f", "m"]
    assert features["bili"].missing_rate > 0 and features["stage"].dtype == "int64"


def test_format_4_0_artefact_is_inspected_without_claiming_drift_bins(
    runner: Callable[..., Any],
) -> None:
    shown = runner("inspect", FORMAT_4_0)
    assert shown.exit_code == 0, shown.output
    assert "format 4.0" in shown.output
    assert "Drift bins: none recorded (format 4.0 predates them)" in shown.output
    assert "Drift bins: recorded" not in shown.output


def test_format_4_0_artefact_answers_as_recorded(client: Callable[..., FlaskClient]) -> None:
    api = client(FORMAT_4_0)
    assert api.get("/readyz").status_code == 200
    assert api.get("/metadata").get_json()["artefact"]["format_version"] == "4.0"
    stored = json.loads((FORMAT_4_0 / "self_test.json").read_text())
    response = api.post("/predict", json={"instances": stored["inputs"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["predictions"] == stored["predictions"]
    got = [p for row in body["probabilities"] for p in (row["alive"], row["died"])]
    recorded = [p for row in stored["probabilities"] for p in row]
    assert got == pytest.approx(recorded, rel=1e-6, abs=1e-9)
    # A row with the number left missing is still accepted, as 4.0 recorded it nullable.
    missing = api.post("/predict", json={**stored["inputs"][0], "bili": None})
    assert missing.status_code == 200, missing.get_json()


FORMAT_4_1 = Path(__file__).parent / "data" / "artefact-format-4.1"


def test_format_4_1_artefact_verifies_and_records_no_compiled_model() -> None:
    report = verify(FORMAT_4_1)
    status = {check.name: check.status for check in report.checks}
    manifest, _ = read_manifest(FORMAT_4_1)
    assert manifest.format_version == "4.1"
    assert status["manifest"] == status["files"] == status["self-test"] == "ok"
    assert "compiled" not in json.loads((FORMAT_4_1 / "manifest.json").read_text())
    assert manifest.compiled is None and load_artefact(FORMAT_4_1).compiled is None
    assert manifest.drift  # 4.1's own addition still reads


def test_format_4_1_artefact_is_scored_by_scikit_learn_as_recorded(
    client: Callable[..., FlaskClient],
) -> None:
    api = client(FORMAT_4_1)
    metadata = api.get("/metadata").get_json()
    assert metadata["artefact"]["format_version"] == "4.1"
    inference = metadata["inference"]
    assert (inference["engine"], inference["compiled"], inference["reason"]) == (
        "scikit-learn",
        None,
        None,
    )
    stored = json.loads((FORMAT_4_1 / "self_test.json").read_text())
    response = api.post("/predict", json={"instances": stored["inputs"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["predictions"] == stored["predictions"]
