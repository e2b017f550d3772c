"""Artefacts written by earlier deployml releases keep loading, verifying and serving.

``tests/data/artefact-format-1.1`` was packaged by deployml 0.1 (format 1.1) before the
packages were reorganised; tests/data/README.md says how it was made. Its model is a pickle,
so it loads only where pickles are allowed (``--allow-pickle``, ``DEPLOYML_ALLOW_PICKLE``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from packager import load_artefact, read_manifest, verify
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
