"""Release gates (``--require``): parsed before any work, measured on the finished manifest,
recorded, and a model that fails one is never written."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pytest
from click.testing import Result
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from packager import CapturedModel, capture, package, read_manifest, train
from packager.artefact import DataRecord, Manifest, ThresholdProfile
from packager.errors import CaptureError, RequirementsNotMetError
from packager.evaluation import EvaluationPlan, check_requirements, parse_requirements

Runner = Callable[..., Result]


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]


@pytest.fixture(scope="module")
def cancer_model(cancer: Any) -> Any:
    X, y, _, _ = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)


@pytest.fixture(scope="module")
def captured(cancer: Any, cancer_model: Any) -> CapturedModel:
    X, y, X_test, y_test = cancer
    return capture(cancer_model, X, y, X_test=X_test, y_test=y_test)


@pytest.fixture(scope="module")
def manifest(captured: CapturedModel) -> Manifest:
    """A real capture's manifest, with a profile and subgroups shaped as the format says."""
    m = captured.manifest
    test = {**m.metrics["test"], "intervals": {"roc_auc": [0.9, 0.99], "accuracy": None}}
    profile = ThresholdProfile(
        name="screening",
        threshold=0.3,
        rule="sensitivity>=0.9",
        chosen_on=DataRecord(source="test data", rows=169, prevalence=0.6),
        metrics={
            "sensitivity": 0.92,
            "specificity": 0.7,
            "ppv": 0.8,
            "npv": 0.85,
            "alerts_per_100": 63.0,
            "intervals": {"sensitivity": [0.88, 0.96]},
        },
    )
    subgroups = {
        "min_rows": 30,
        "columns": [
            _column("sex", {"roc_auc": {"value": 0.04, "best": "M", "worst": "F"}}),
            _column("age", {"roc_auc": {"value": 0.07, "best": "0-40", "worst": "65-120"}}),
        ],
    }
    return replace(
        m,
        metrics={**m.metrics, "test": test},
        profiles=[profile],
        default_profile="screening",
        subgroups=subgroups,
    )


def _column(name: str, gaps: dict[str, Any]) -> dict[str, Any]:
    return {
        "column": name,
        "spec": name,
        "edges": None,
        "in_model": False,
        "groups": [],
        "gaps": gaps,
    }


@pytest.mark.parametrize(
    ("text", "kind", "metric", "op", "bound", "profile"),
    [
        ("roc_auc>=0.80", "metric", "roc_auc", ">=", 0.8, None),
        (" log_loss <= 0.2 ", "metric", "log_loss", "<=", 0.2, None),
        ("accuracy>0.5", "metric", "accuracy", ">", 0.5, None),
        ("r2<1", "metric", "r2", "<", 1.0, None),
        ("subgroup_gap(roc_auc)<=0.05", "gap", "roc_auc", "<=", 0.05, None),
        ("sensitivity@default>=0.9", "profile", "sensitivity", ">=", 0.9, "default"),
        ("alerts_per_100@site-b<=20", "profile", "alerts_per_100", "<=", 20.0, "site-b"),
    ],
)
def test_each_form_of_requirement_is_parsed(
    text: str, kind: str, metric: str, op: str, bound: float, profile: str | None
) -> None:
    (requirement,) = parse_requirements([text])
    assert (requirement.kind, requirement.metric, requirement.op) == (kind, metric, op)
    assert (requirement.bound, requirement.profile) == (bound, profile)
    assert " " not in requirement.text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("roc_auc=0.8", "is not one of METRIC>=X"),
        ("roc_auc", "is not one of"),
        ("auc>=0.8", "unknown metric 'auc'; the test metrics are roc_auc, accuracy"),
        ("f1@default>=0.5", "unknown metric 'f1'; a profile's metrics are sensitivity"),
        ("roc_auc>=high", "the bound must be a number, not 'high'"),
        ("roc_auc>=nan", "the bound must be a number"),
        ("subgroup_gap(roc_auc)>=0.05", "a subgroup gap can only be bounded above"),
        ("subgroup_gap(auc)<=0.05", "unknown metric 'auc'"),
        ("subgroup_gap(prevalence)<=0.1", "unknown metric 'prevalence'; the metrics with subgroup"),
        ("sensitivity@>=0.9", "names no profile after @"),
    ],
)
def test_a_malformed_requirement_is_refused_naming_it(text: str, says: str) -> None:
    with pytest.raises(CaptureError, match="requirement") as raised:
        parse_requirements(["roc_auc>=0.5", text])
    assert says in raised.value.message
    assert repr(text) in raised.value.message


def test_a_metric_requirement_records_the_value_and_interval_measured(manifest: Manifest) -> None:
    checked = check_requirements(manifest, ["roc_auc>=0.8", "accuracy>=0.5"])
    roc_auc, accuracy = checked.requirements
    assert roc_auc.measured == manifest.metrics["test"]["roc_auc"]
    assert (roc_auc.interval, roc_auc.passed) == ([0.9, 0.99], True)
    assert (accuracy.interval, accuracy.passed) == (None, True)


def test_a_requirement_met_exactly_at_its_bound_passes_and_a_strict_one_fails(
    manifest: Manifest,
) -> None:
    value = manifest.metrics["test"]["log_loss"]
    assert check_requirements(manifest, [f"log_loss<={value!r}"]).requirements[0].passed
    with pytest.raises(RequirementsNotMetError, match=r"log_loss<"):
        check_requirements(manifest, [f"log_loss<{value!r}"])


def test_the_largest_subgroup_gap_across_columns_is_the_one_measured(manifest: Manifest) -> None:
    (result,) = check_requirements(manifest, ["subgroup_gap(roc_auc)<=0.08"]).requirements
    assert (result.measured, result.interval, result.passed) == (0.07, None, True)
    with pytest.raises(RequirementsNotMetError, match=r"age: best 0-40, worst 65-120"):
        check_requirements(manifest, ["subgroup_gap(roc_auc)<=0.05"])


def test_a_profile_requirement_reads_that_profiles_metrics(manifest: Manifest) -> None:
    (result,) = check_requirements(manifest, ["sensitivity@screening>=0.9"]).requirements
    assert (result.measured, result.interval) == (0.92, [0.88, 0.96])
    with pytest.raises(RequirementsNotMetError, match=r"specificity@screening>=0.8 measured 0.7"):
        check_requirements(manifest, ["specificity@screening>=0.8"])


def test_default_names_the_default_profile_when_no_profile_is_called_so(
    manifest: Manifest,
) -> None:
    (result,) = check_requirements(manifest, ["sensitivity@default>=0.9"]).requirements
    assert result.measured == 0.92


@pytest.mark.parametrize(
    ("requirement", "reason"),
    [
        ("sensitivity@site-b>=0.9", "no profile named site-b (profiles: screening)"),
        ("subgroup_gap(brier)<=0.1", "no subgroup column has a gap in brier"),
        ("mae<=3", "the model's test metrics have no mae"),
        ("npv@screening>=0.5", None),  # measured: the control
    ],
)
def test_a_requirement_nothing_measured_fails(
    manifest: Manifest, requirement: str, reason: str | None
) -> None:
    if reason is None:
        assert check_requirements(manifest, [requirement]).requirements[0].passed
        return
    with pytest.raises(RequirementsNotMetError) as raised:
        check_requirements(manifest, ["roc_auc>=0.5", requirement])
    assert raised.value.failed == [f"{requirement} not measured, {reason}"]
    assert raised.value.report[0].startswith("PASS  roc_auc>=0.5: ")
    assert raised.value.report[1] == f"FAIL  {requirement}: not measured, {reason}"


def test_without_test_data_or_subgroups_every_gate_fails_as_not_measured(
    cancer: Any, cancer_model: Any
) -> None:
    X, y, _, _ = cancer
    gates = ["roc_auc>=0.5", "subgroup_gap(roc_auc)<=0.5", "sensitivity@default>=0.1"]
    with pytest.raises(RequirementsNotMetError) as raised:
        capture(cancer_model, X, y, requirements=gates)
    assert raised.value.message.startswith("3 of 3 release requirement(s) not met: ")
    assert "roc_auc>=0.5 not measured, no test data was given" in raised.value.message
    assert "no subgroups were evaluated" in raised.value.message
    assert raised.value.message.endswith("nothing was written")


def test_a_regressor_is_held_to_its_own_metrics() -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = Ridge().fit(X.iloc[:300], y.iloc[:300])
    captured = capture(
        model,
        X.iloc[:300],
        y.iloc[:300],
        X_test=X.iloc[300:],
        y_test=y.iloc[300:],
        requirements=["r2>=0.2", "mae<=60"],
    )
    assert [r.passed for r in captured.manifest.requirements] == [True, True]
    with pytest.raises(RequirementsNotMetError, match=r"roc_auc>=0\.5 not measured"):
        capture(model, X, y, X_test=X, y_test=y, requirements=["roc_auc>=0.5"])


def test_passing_gates_are_recorded_in_the_written_manifest(
    tmp_path: Path, cancer: Any, cancer_model: Any
) -> None:
    X, y, X_test, y_test = cancer
    captured = capture(
        cancer_model, X, y, X_test=X_test, y_test=y_test, requirements=["roc_auc>=0.8"]
    )
    written, _ = read_manifest(package(captured, tmp_path / "a"))
    (result,) = written.requirements
    assert (result.requirement, result.passed) == ("roc_auc>=0.8", True)
    assert result.measured == captured.manifest.metrics["test"]["roc_auc"]
    raw = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert set(raw["requirements"][0]) == {"requirement", "measured", "interval", "passed"}


def test_without_gates_the_manifest_records_an_empty_list(captured: CapturedModel) -> None:
    assert captured.manifest.requirements == []
    assert captured.manifest.to_dict()["requirements"] == []


def test_train_refuses_a_malformed_gate_before_looking_at_the_data() -> None:
    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    # The target column does not exist: the gate's error comes first, so it came before.
    with pytest.raises(CaptureError, match="unknown metric 'auc'"):
        plan = EvaluationPlan(requirements=("auc>=0.8",))
        train(X, "no such column", plots=False, evaluation=plan)


@pytest.fixture(scope="module")
def cancer_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gates") / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def _train(runner: Runner, data: Path, out: Path, *gates: str) -> Result:
    requires = [arg for gate in gates for arg in ("--require", gate)]
    return runner(
        "train",
        data,
        "--target",
        "target",
        "--model",
        "logistic-regression",
        "--no-plots",
        "-o",
        out,
        *requires,
    )


def test_train_with_a_failing_gate_writes_nothing_and_exits_one(
    tmp_path: Path, runner: Runner, cancer_csv: Path
) -> None:
    out = tmp_path / "model"
    result = _train(runner, cancer_csv, out, "roc_auc>=0.5", "accuracy>=0.999")
    assert result.exit_code == 1
    assert not out.exists()
    lines = result.stderr.splitlines()
    assert lines[-4] == "Release requirements:"
    assert lines[-3].startswith("  PASS  roc_auc>=0.5: 0.99")
    assert lines[-2].startswith("  FAIL  accuracy>=0.999: 0.9")
    assert lines[-1].startswith("Error: 1 of 2 release requirement(s) not met: accuracy>=0.999 ")
    assert "Packaged" not in result.stdout


def test_train_with_passing_gates_prints_and_records_them(
    tmp_path: Path, runner: Runner, cancer_csv: Path
) -> None:
    out = tmp_path / "model"
    result = _train(runner, cancer_csv, out, "roc_auc>=0.5")
    assert result.exit_code == 0, result.output
    assert "Release requirements:\n  PASS  roc_auc>=0.5: 0.99" in result.stdout
    manifest, _ = read_manifest(out)
    assert [r.requirement for r in manifest.requirements] == ["roc_auc>=0.5"]
    shown = runner("inspect", out)
    assert "  PASS  roc_auc>=0.5: 0.99" in shown.output


def test_a_malformed_gate_is_a_usage_error_naming_the_option(
    tmp_path: Path, runner: Runner, cancer_csv: Path
) -> None:
    result = _train(runner, cancer_csv, tmp_path / "model", "roc_auc=0.8")
    assert result.exit_code == 2
    assert "Invalid value for '--require': requirement 'roc_auc=0.8' is not one of" in result.output
    assert not (tmp_path / "model").exists()


def test_package_holds_a_capture_file_to_the_gates_given_on_its_recorded_manifest(
    tmp_path: Path, runner: Runner, captured: CapturedModel
) -> None:
    saved = captured.save(tmp_path / "model.pkl")
    failed = runner("package", saved, "-o", tmp_path / "no", "--require", "roc_auc>=0.9999")
    assert failed.exit_code == 1
    assert not (tmp_path / "no").exists()
    assert "FAIL  roc_auc>=0.9999: 0.99" in failed.stderr
    passed = runner("package", saved, "-o", tmp_path / "yes", "--require", "accuracy>=0.5")
    assert passed.exit_code == 0, passed.output
    assert "PASS  accuracy>=0.5: " in passed.stdout
    manifest, _ = read_manifest(tmp_path / "yes")
    assert [r.requirement for r in manifest.requirements] == ["accuracy>=0.5"]


def test_a_bare_pickle_packaged_without_data_fails_every_gate_as_not_measured(
    tmp_path: Path, runner: Runner, cancer_model: Any
) -> None:
    joblib.dump(cancer_model, tmp_path / "bare.pkl")
    result = runner(
        "package", tmp_path / "bare.pkl", "-o", tmp_path / "out", "--require", "roc_auc>=0.5"
    )
    assert result.exit_code == 1
    assert not (tmp_path / "out").exists()
    assert "FAIL  roc_auc>=0.5: not measured, no test data was given" in result.stderr
