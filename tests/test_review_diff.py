"""``deployml diff``: what differs between two artefacts, from their manifests alone."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import Result
from sklearn.datasets import load_breast_cancer

from packager import Manifest, package, read_manifest, train
from packager.artefact import (
    MANIFEST_FILE,
    DataRecord,
    ParentRecord,
    RequirementResult,
    ThresholdProfile,
)
from packager.evaluation import EvaluationPlan
from packager.review import SECTIONS, diff_artefacts, diff_manifests, render_diff

Runner = Callable[..., Result]
FORMAT_3 = Path(__file__).parent / "data" / "artefact-format-3.0"


def _profile(threshold: float, source: str, sensitivity: float, interval: list[float]) -> Any:
    return ThresholdProfile(
        name="default",
        threshold=threshold,
        rule="sensitivity>=0.9",
        chosen_on=DataRecord(source=source, rows=143, prevalence=0.63),
        metrics={"sensitivity": sensitivity, "intervals": {"sensitivity": interval}},
    )


@pytest.fixture(scope="module")
def cancer() -> pd.DataFrame:
    return load_breast_cancer(as_frame=True).frame


def _trained(cancer: pd.DataFrame, out: Path, seed: int, **manifest: Any) -> Path:
    plan = EvaluationPlan(requirements=("roc_auc>=0.8",))
    captured = train(
        cancer, "target", model="logistic-regression", plots=False, seed=seed, evaluation=plan
    )
    captured = replace(captured, manifest=replace(captured.manifest, **manifest))
    return package(captured, out)


@pytest.fixture(scope="module")
def seed_0(tmp_path_factory: pytest.TempPathFactory, cancer: pd.DataFrame) -> Path:
    profile = _profile(0.3, "test data", 0.92, [0.88, 0.96])
    out = tmp_path_factory.mktemp("diff") / "seed-0"
    return _trained(cancer, out, 0, profiles=[profile], default_profile="default")


@pytest.fixture(scope="module")
def seed_1(tmp_path_factory: pytest.TempPathFactory, cancer: pd.DataFrame) -> Path:
    return _trained(cancer, tmp_path_factory.mktemp("diff") / "seed-1", 1)


@pytest.fixture(scope="module")
def site_b(tmp_path_factory: pytest.TempPathFactory, seed_0: Path) -> Path:
    """seed_0 with its profile replaced by one chosen on another site: the same model file."""
    out = tmp_path_factory.mktemp("diff") / "site-b"
    shutil.copytree(seed_0, out)
    manifest, sha256 = read_manifest(seed_0)
    derived = replace(
        manifest,
        profiles=[_profile(0.2, "site_b.csv", 0.95, [0.93, 0.99])],
        parent=ParentRecord(sha256, manifest.model.name, manifest.model.version, "profile"),
    )
    (out / MANIFEST_FILE).write_text(json.dumps(derived.to_dict(), indent=2))
    return out


def _by_what(diff: dict[str, Any], section: str) -> dict[str, dict[str, Any]]:
    return {change["what"]: change for change in diff["sections"][section]}


def test_an_artefact_compared_with_itself_has_no_differences(seed_0: Path, runner: Runner) -> None:
    diff = diff_artefacts(seed_0, seed_0)
    assert diff["differences"] == 0
    assert all(changes == [] for changes in diff["sections"].values())
    assert diff["same_model_file"] is True
    result = runner("diff", seed_0, seed_0)
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "No differences."


def test_models_trained_with_other_seeds_differ_in_model_file_metrics_and_ranges(
    seed_0: Path, seed_1: Path
) -> None:
    diff = diff_artefacts(seed_0, seed_1)
    assert diff["same_model_file"] is False
    assert diff["b_derived_from_a"] is False
    model = _by_what(diff, "model")
    assert model["training.options.seed"]["a"] == 0
    assert model["training.options.seed"]["b"] == 1
    assert "model file sha256" in model
    a, _ = read_manifest(seed_0)
    b, _ = read_manifest(seed_1)
    roc_auc = _by_what(diff, "metrics")["test.roc_auc"]
    assert (roc_auc["a"], roc_auc["b"]) == (
        a.metrics["test"]["roc_auc"],
        b.metrics["test"]["roc_auc"],
    )
    assert roc_auc["difference"] == b.metrics["test"]["roc_auc"] - a.metrics["test"]["roc_auc"]
    assert any(what.startswith("feature ") for what in _by_what(diff, "schema"))
    profile = _by_what(diff, "profiles")["profile default"]
    assert (profile["a"], profile["b"]) == ({"threshold": 0.3, "rule": "sensitivity>=0.9"}, None)


def test_a_profile_replaced_on_the_same_model_is_shown_as_derived(
    seed_0: Path, site_b: Path, runner: Runner
) -> None:
    diff = diff_artefacts(seed_0, site_b)
    assert diff["same_model_file"] is True
    assert diff["b_derived_from_a"] is True
    assert diff["a_derived_from_b"] is False
    profiles = _by_what(diff, "profiles")
    assert (
        profiles["profile default threshold"]["a"],
        profiles["profile default threshold"]["b"],
    ) == (0.3, 0.2)
    assert profiles["profile default chosen_on.source"]["b"] == "site_b.csv"
    sensitivity = profiles["profile default sensitivity"]
    assert sensitivity["a_interval"] == [0.88, 0.96]
    assert sensitivity["intervals_overlap"] is True
    assert set(diff["sections"]) == set(SECTIONS)
    assert [s for s in SECTIONS if diff["sections"][s]] == ["model", "profiles", "parent"]
    text = runner("diff", seed_0, site_b).output
    assert "Same model file: A and B hold the same fitted model." in text
    assert "B was derived from A (its parent is A's hash)." in text
    assert "  profile default threshold: 0.3 -> 0.2" in text
    assert "  profile default sensitivity: 0.92 (0.88 to 0.96) -> 0.95 (0.93 to 0.99)" in text


@pytest.fixture(scope="module")
def manifest(seed_1: Path) -> Manifest:
    return read_manifest(seed_1)[0]


@pytest.mark.parametrize(
    ("b_interval", "overlap"), [([0.94, 0.99], True), ([0.96, 0.99], False), (None, None)]
)
def test_a_metric_change_says_whether_the_intervals_overlap(
    manifest: Manifest, b_interval: list[float] | None, overlap: bool | None
) -> None:
    a = _with_test(manifest, roc_auc=0.92, intervals={"roc_auc": [0.9, 0.95]})
    b = _with_test(manifest, roc_auc=0.97, intervals={"roc_auc": b_interval})
    change = _by_what(diff_manifests(a, "a", b, "b"), "metrics")["test.roc_auc"]
    assert change["intervals_overlap"] is overlap
    assert change["difference"] == pytest.approx(0.05)
    text = render_diff(diff_manifests(a, "a", b, "b"))
    assert "test.roc_auc: 0.92 (0.9 to 0.95) -> 0.97" in text


def _with_test(manifest: Manifest, **test: Any) -> Manifest:
    metrics = manifest.metrics or {}
    return replace(manifest, metrics={**metrics, "test": {**metrics["test"], **test}})


def test_features_added_removed_and_changed_are_listed(manifest: Manifest) -> None:
    first, second, *rest = manifest.input.features
    changed = replace(second, kind="category", categories=[1, 2], nullable=not second.nullable)
    b = replace(manifest, input=replace(manifest.input, features=(changed, *rest[:-1])))
    schema = _by_what(diff_manifests(manifest, "a", b, "b"), "schema")
    assert schema[f"feature {first.name}"] == {
        "what": f"feature {first.name}",
        "a": "number",
        "b": None,
    }
    assert schema[f"feature {rest[-1].name}"]["b"] is None
    assert schema[f"feature {second.name} kind"]["b"] == "category"
    assert schema[f"feature {second.name} nullable"]["b"] is (not second.nullable)
    assert schema[f"feature {second.name} categories"] == {
        "what": f"feature {second.name} categories",
        "a": None,
        "b": [1, 2],
    }


def test_a_changed_input_contract_is_listed(manifest: Manifest) -> None:
    # New plausible limits refuse requests that were scored before: a reviewer must see them.
    first, *rest = manifest.input.features
    stricter = replace(
        first, unit="mm", plausible_min=0.0, plausible_max=50.0, declared=["unit", "min", "max"]
    )
    b = replace(manifest, input=replace(manifest.input, features=(stricter, *rest)))
    schema = _by_what(diff_manifests(manifest, "a", b, "b"), "schema")
    assert schema[f"feature {first.name} plausible_max"] == {
        "what": f"feature {first.name} plausible_max",
        "a": None,
        "b": 50.0,
    }
    assert schema[f"feature {first.name} unit"]["b"] == "mm"
    assert schema[f"feature {first.name} declared"]["b"] == ["unit", "min", "max"]
    assert f"feature {first.name} plausible_max: added, 50" in render_diff(
        diff_manifests(manifest, "a", b, "b")
    )


def test_a_format_3_manifest_against_a_4_0_one_lists_no_unrecorded_contract_fields() -> None:
    # 3.0 recorded no units, limits or imputation: their defaults are not changes.
    old, _ = read_manifest(FORMAT_3)
    contract = [
        replace(f, imputed=True, identifier=False, description="said", declared=["description"])
        for f in old.input.features
    ]
    new = replace(old, format_version="4.0", input=replace(old.input, features=tuple(contract)))
    schema = _by_what(diff_manifests(old, "a", new, "b"), "schema")
    assert schema == {}


def test_subgroups_are_compared_group_by_group_with_their_gaps(manifest: Manifest) -> None:
    def column(n_female: int, gap: float) -> dict[str, Any]:
        groups = [
            {
                "group": "F",
                "n": n_female,
                "prevalence": 0.6,
                "too_small": False,
                "metrics": {"roc_auc": 0.9},
                "intervals": {"roc_auc": [0.85, 0.95]},
            },
            {
                "group": "M",
                "n": 60,
                "prevalence": 0.5,
                "too_small": False,
                "metrics": {"roc_auc": 0.93},
                "intervals": {"roc_auc": [0.88, 0.97]},
            },
        ]
        gaps = {"roc_auc": {"value": gap, "best": "M", "worst": "F"}}
        return {
            "column": "sex",
            "spec": "sex",
            "edges": None,
            "in_model": False,
            "groups": groups,
            "gaps": gaps,
        }

    a = replace(manifest, subgroups={"min_rows": 30, "columns": [column(50, 0.03)]})
    age = {**column(50, 0.03), "column": "age", "spec": "age:0,40,120"}
    b = replace(manifest, subgroups={"min_rows": 30, "columns": [column(40, 0.05), age]})
    subgroups = _by_what(diff_manifests(a, "a", b, "b"), "subgroups")
    assert (subgroups["sex=F n"]["a"], subgroups["sex=F n"]["b"]) == (50, 40)
    assert subgroups["sex gap in roc_auc value"]["b"] == 0.05
    assert subgroups["subgroup age:0,40,120"] == {
        "what": "subgroup age:0,40,120",
        "a": None,
        "b": ["F", "M"],
    }
    assert "sex=M n" not in subgroups


def test_versions_and_requirements_that_differ_are_listed(manifest: Manifest) -> None:
    packages = {**manifest.provenance.packages, "scikit-learn": "0.1"}
    b = replace(
        manifest,
        provenance=replace(manifest.provenance, packages=packages, python="2.7"),
        requirements=[RequirementResult("accuracy>=0.9", 0.95, [0.93, 0.97], True)],
    )
    diff = diff_manifests(manifest, "a", b, "b")
    versions = _by_what(diff, "versions")
    assert versions["packages.scikit-learn"]["b"] == "0.1"
    assert versions["python"]["b"] == "2.7"
    requirements = _by_what(diff, "requirements")
    assert requirements["requirement roc_auc>=0.8"]["b"] is None
    assert requirements["requirement accuracy>=0.9"]["b_interval"] == [0.93, 0.97]
    text = render_diff(diff)
    assert "  requirement accuracy>=0.9: added, 0.95 (0.93 to 0.97)" in text
    assert "  requirement roc_auc>=0.8: removed (was 0.9" in text


def test_json_output_has_the_documented_shape(seed_0: Path, site_b: Path, runner: Runner) -> None:
    result = runner("diff", seed_0, site_b, "--json")
    assert result.exit_code == 0
    diff = json.loads(result.output)
    assert list(diff) == [
        "a",
        "b",
        "same_model_file",
        "b_derived_from_a",
        "a_derived_from_b",
        "differences",
        "sections",
    ]
    assert diff["a"] == {
        "artefact": str(seed_0),
        "sha256": read_manifest(seed_0)[1],
        "name": "logistic-regression",
        "version": diff["a"]["version"],
    }
    assert list(diff["sections"]) == list(SECTIONS)
    for changes in diff["sections"].values():
        assert all({"what", "a", "b"} <= set(change) for change in changes)
    assert diff["differences"] == sum(len(c) for c in diff["sections"].values())


def test_a_path_that_is_not_an_artefact_is_a_clear_error(
    tmp_path: Path, seed_0: Path, runner: Runner
) -> None:
    result = runner("diff", seed_0, tmp_path / "missing")
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == f"Error: {tmp_path / 'missing'} does not exist; expected an artefact directory"
    )


@pytest.mark.parametrize(
    "junk",
    [
        {"columns": "junk"},
        {"columns": [1, None, {"no": "spec"}]},
        {"columns": [{"spec": "sex", "groups": 3, "gaps": []}]},
    ],
)
def test_a_malformed_free_form_subgroups_object_is_compared_without_failing(
    manifest: Manifest, junk: dict[str, Any]
) -> None:
    good = {"columns": [{"column": "sex", "spec": "sex", "groups": [{"group": "F", "n": 5}]}]}
    a, b = replace(manifest, subgroups=junk), replace(manifest, subgroups=good)
    subgroups = _by_what(diff_manifests(a, "a", b, "b"), "subgroups")
    assert subgroups.get("subgroup sex", subgroups.get("sex=F n"))["b"] in (["F"], 5)


@pytest.mark.parametrize("junk", ["x", 5, {}, [0.9], [0.9, "high"]])
def test_a_malformed_free_form_interval_is_printed_without_it(
    manifest: Manifest, junk: Any
) -> None:
    a = _with_test(manifest, roc_auc=0.92, intervals={"roc_auc": junk})
    b = _with_test(manifest, roc_auc=0.97, intervals={"roc_auc": [0.9, 0.99]})
    text = render_diff(diff_manifests(a, "a", b, "b"))
    assert "test.roc_auc: 0.92 -> 0.97 (0.9 to 0.99); difference +0.05" in text
