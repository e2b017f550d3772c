"""verify() and `deployml verify`: each check passes on a good artefact and fails on a bad one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io
from click.testing import Result
from sklearn.linear_model import LogisticRegression

from packager import FORMAT_VERSION, load_artefact, verify
from packager.artefact import file_sha256


def _edit_manifest(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads((path / "manifest.json").read_text())
    change(data)
    (path / "manifest.json").write_text(json.dumps(data))


def _rehash(path: Path, name: str) -> None:
    def update(data: dict[str, Any]) -> None:
        data["files"][name] = {
            "sha256": file_sha256(path / name),
            "bytes": (path / name).stat().st_size,
        }

    _edit_manifest(path, update)


@pytest.fixture
def artefact(binary_artefact: Path, tmp_path: Path) -> Path:
    """A copy of binary_artefact that a test may change."""
    return Path(shutil.copytree(binary_artefact, tmp_path / "artefact"))


@pytest.mark.parametrize(
    "fixture",
    [
        "binary_artefact",
        "pipeline_artefact",
        "multiclass_artefact",
        "regressor_artefact",
        "array_artefact",
    ],
)
def test_verify_passes_a_fresh_artefact(fixture: str, request: pytest.FixtureRequest) -> None:
    report = verify(request.getfixturevalue(fixture))
    assert report.ok
    assert [(c.name, c.status) for c in report.checks] == [
        ("manifest", "ok"),
        ("files", "ok"),
        ("versions", "ok"),
        ("model", "ok"),
        ("self-test", "ok"),
    ]
    assert report.sha256 is not None and len(report.sha256) == 64


def _append_to_card(path: Path) -> None:
    with (path / "MODEL_CARD.md").open("a") as handle:
        handle.write("edited\n")


def _delete_self_test(path: Path) -> None:
    (path / "self_test.json").unlink()


def _swap_model(path: Path) -> None:
    # A different model with a correct hash: only re-scoring the stored rows can tell.
    model = load_artefact(path).model
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 30)), columns=model.feature_names_in_)
    model.fit(X, (X.iloc[:, 0] > 0).astype(int))
    skops.io.dump(model, path / "model.skops")
    _rehash(path, "model.skops")


def _replace_with_other_class(path: Path) -> None:
    X = np.zeros((4, 30))
    skops.io.dump(LogisticRegression().fit(X, [0, 1, 0, 1]), path / "model.skops")
    _rehash(path, "model.skops")


def _old_sklearn(path: Path) -> None:
    _edit_manifest(path, lambda d: d["provenance"]["packages"].update({"scikit-learn": "0.1"}))


def _unknown_package(path: Path) -> None:
    _edit_manifest(path, lambda d: d["provenance"]["packages"].update({"no-such-dist": "1.0"}))


def _edit_self_test_probabilities(path: Path) -> None:
    data = json.loads((path / "self_test.json").read_text())
    data["probabilities"][2] = [0.5, 0.5]
    (path / "self_test.json").write_text(json.dumps(data))
    _rehash(path, "self_test.json")


def _edit_self_test_prediction(path: Path) -> None:
    # A tampered output whose file hash is updated too: only the re-score can tell.
    data = json.loads((path / "self_test.json").read_text())
    data["predictions"][0] = 1 - data["predictions"][0]
    (path / "self_test.json").write_text(json.dumps(data))
    _rehash(path, "self_test.json")


def _unlist_self_test(path: Path) -> None:
    (path / "self_test.json").unlink()
    _edit_manifest(path, lambda d: d["files"].pop("self_test.json"))


def _claim_real_examples(path: Path) -> None:
    _edit_manifest(path, lambda d: d.update(example_rows="real"))


def _unlist_model(path: Path) -> None:
    _edit_manifest(path, lambda d: d["files"].pop("model.skops"))


FAILURES = [
    (_unlist_model, "files", "model.skops is not listed in the manifest's files"),
    (_append_to_card, "files", "MODEL_CARD.md differs from its SHA-256"),
    (_delete_self_test, "files", "self_test.json is missing"),
    (_unlist_self_test, "self-test", "files lacks self_test.json"),
    (_claim_real_examples, "self-test", "example_rows is real, but files lacks examples.json"),
    (_swap_model, "self-test", "example 0: the probabilities differ from the recorded ones"),
    (_replace_with_other_class, "model", "holds a sklearn.linear_model._logistic"),
    (_old_sklearn, "versions", "scikit-learn"),
    (_unknown_package, "versions", "no-such-dist 1.0 is not installed"),
    (_edit_self_test_probabilities, "self-test", "example 2: the probabilities differ"),
    (_edit_self_test_prediction, "self-test", "example 0: the prediction differs"),
]


@pytest.mark.parametrize(
    ("damage", "check", "detail"), FAILURES, ids=lambda v: getattr(v, "__name__", "")
)
def test_verify_fails_a_damaged_artefact(
    artefact: Path, damage: Callable[[Path], None], check: str, detail: str
) -> None:
    damage(artefact)
    report = verify(artefact)
    assert not report.ok
    failed = {c.name: c.detail for c in report.checks if c.status == "fail"}
    assert check in failed and detail in failed[check]


def test_verify_does_not_load_a_model_whose_hash_fails(artefact: Path) -> None:
    (artefact / "model.skops").write_bytes(b"PK\x03\x04 this is not what was packaged")
    report = verify(artefact)
    model = next(c for c in report.checks if c.name == "model")
    assert (model.status, model.detail) == (
        "fail",
        "not loaded, because the artefact's files failed their check",
    )
    assert all(c.name != "self-test" for c in report.checks)


def test_verify_warns_on_other_versions_of_other_packages(artefact: Path) -> None:
    _edit_manifest(artefact, lambda d: d["provenance"]["packages"].update({"numpy": "1.0.0"}))
    report = verify(artefact)
    assert report.ok
    versions = next(c for c in report.checks if c.name == "versions")
    assert versions.status == "warn" and "numpy" in versions.detail


def test_verify_reports_a_newer_format(artefact: Path) -> None:
    newer = f"{int(FORMAT_VERSION.split('.')[0]) + 1}.1"
    _edit_manifest(artefact, lambda d: d.update(format_version=newer))
    report = verify(artefact)
    assert [(c.name, c.status) for c in report.checks] == [("manifest", "fail")]
    assert f"artefact format {newer} is newer than the {FORMAT_VERSION}" in report.checks[0].detail


def test_verify_command_exits_1_and_names_the_failed_checks(
    artefact: Path, runner: Callable[..., Result]
) -> None:
    _append_to_card(artefact)
    result = runner("verify", artefact)
    assert result.exit_code == 1
    assert "FAIL  files: MODEL_CARD.md differs from its SHA-256" in result.stdout
    assert result.stderr == f"Error: {artefact} failed verification (files, model)\n"


def test_verify_command_prints_every_check_on_success(
    binary_artefact: Path, runner: Callable[..., Result]
) -> None:
    result = runner("verify", binary_artefact)
    assert result.exit_code == 0
    assert [line.split(":")[0] for line in result.stdout.splitlines()[:5]] == [
        "OK    manifest",
        "OK    files",
        "OK    versions",
        "OK    model",
        "OK    self-test",
    ]
