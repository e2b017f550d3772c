"""``deployml threshold``: a profile for a new site, in a new artefact; the original is kept."""

from __future__ import annotations

import errno
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import Result
from conftest import make_patients

from packager import capture, package, read_manifest
from packager.artefact import ModelDetails
from packager.evaluation import Bootstrap

Runner = Callable[..., Result]


@pytest.fixture(scope="module")
def original(
    tmp_path_factory: pytest.TempPathFactory, pipeline_model: Any, patient_data: Any
) -> Path:
    """The pipeline model packaged with a "default:sensitivity>=0.9" profile."""
    X, y, X_test, y_test = patient_data
    captured = capture(
        pipeline_model,
        X,
        y,
        X_test=X_test,
        y_test=y_test,
        details=ModelDetails(name="readmission", version="1.2.0"),
        thresholds=["default:sensitivity>=0.9"],
        bootstrap=Bootstrap(resamples=200),
    )
    return package(captured, tmp_path_factory.mktemp("original") / "readmission")


def _site(path: Path, seed: int, keep_negatives: int = 1) -> Path:
    """A site's labelled rows as CSV; ``keep_negatives`` > 1 keeps one "no" row in so many."""
    X, y = make_patients(400, seed=seed)
    rows = X.assign(readmitted=y)
    negatives = np.flatnonzero(y.to_numpy() == "no")
    rows = rows.drop(index=rows.index[np.setdiff1d(negatives, negatives[::keep_negatives])])
    rows.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def site_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _site(tmp_path_factory.mktemp("site") / "site_b.csv", seed=21)


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(root).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _threshold(runner: Runner, original: Path, site: Path, out: Path, *args: Any) -> Result:
    return runner(
        "threshold", original, "--name", "site-b", "--data", site, "--target", "readmitted",
        "-o", out, *args,
    )  # fmt: skip


def test_threshold_writes_a_new_artefact_that_verifies_with_the_same_model_file_and_its_parent(
    tmp_path: Path, runner: Runner, original: Path, site_b: Path
) -> None:
    before = _snapshot(original)
    out = tmp_path / "readmission-site-b"
    result = _threshold(runner, original, site_b, out, "--rule", "sensitivity>=0.9")
    assert result.exit_code == 0, result.output
    assert _snapshot(original) == before  # not a byte nor a modification time changed
    model_file = "model.skops"
    assert (out / model_file).read_bytes() == (original / model_file).read_bytes()
    manifest, sha256 = read_manifest(out)
    _, original_sha256 = read_manifest(original)
    assert manifest.parent is not None
    assert manifest.parent.sha256 == original_sha256
    assert (manifest.parent.name, manifest.parent.version) == ("readmission", "1.2.0")
    assert manifest.parent.change == "threshold profile site-b chosen on site_b.csv"
    assert [p.name for p in manifest.profiles] == ["default", "site-b"]
    assert manifest.default_profile == "default"
    site = manifest.profiles[1]
    assert site.rule == "sensitivity>=0.9" and site.metrics["sensitivity"] >= 0.9
    data = pd.read_csv(site_b)
    assert site.chosen_on.source == "site_b.csv" and site.chosen_on.rows == len(data)
    assert site.chosen_on.prevalence == pytest.approx(np.mean(data["readmitted"] == "yes"))
    verified = runner("verify", out)
    assert verified.exit_code == 0, verified.output
    assert f"artefact sha256 {sha256}" in verified.output
    assert f"Profile site-b (sensitivity>=0.9) on site_b.csv: {len(data)} rows" in result.output
    assert f"  threshold     {site.threshold:.4g} (positive when" in result.output
    assert "How site_b.csv differs from the test data:" in result.output
    assert "  at profile 'default', threshold " in result.output
    inspected = runner("inspect", out)
    assert "Profile:    default (default): sensitivity>=0.9 -> threshold" in inspected.output
    assert "Profile:    site-b: sensitivity>=0.9 -> threshold" in inspected.output
    assert f"Parent:     readmission 1.2.0, sha256 {original_sha256}" in inspected.output


def test_a_site_with_higher_prevalence_gets_a_different_threshold(
    tmp_path: Path, runner: Runner, original: Path, site_b: Path
) -> None:
    high = _site(tmp_path / "site_c.csv", seed=21, keep_negatives=4)
    thresholds = []
    for site, out in ((site_b, tmp_path / "b"), (high, tmp_path / "c")):
        result = _threshold(runner, original, site, out, "--rule", "alerts<=30")
        assert result.exit_code == 0, result.output
        manifest, _ = read_manifest(out)
        thresholds.append(manifest.profiles[-1].threshold)
        assert manifest.profiles[-1].metrics["alerts_per_100"] <= 30
    assert thresholds[1] > thresholds[0]


def test_default_makes_the_new_profile_the_default_and_replace_replaces_its_namesake(
    tmp_path: Path, runner: Runner, original: Path, site_b: Path
) -> None:
    first = tmp_path / "first"
    assert (
        _threshold(runner, original, site_b, first, "--rule", "youden", "--default").exit_code == 0
    )
    manifest, _ = read_manifest(first)
    assert manifest.default_profile == "site-b"
    again = _threshold(runner, first, site_b, tmp_path / "again", "--rule", "fpr<=0.2")
    assert again.exit_code == 1
    assert (
        "already has a profile 'site-b'; choose another --name, or pass --replace" in again.stderr
    )
    replaced = _threshold(
        runner, first, site_b, tmp_path / "again", "--rule", "fpr<=0.2", "--replace"
    )
    assert replaced.exit_code == 0, replaced.output
    manifest, _ = read_manifest(tmp_path / "again")
    assert [(p.name, p.rule) for p in manifest.profiles] == [
        ("default", "sensitivity>=0.9"),
        ("site-b", "fpr<=0.2"),
    ]
    assert manifest.default_profile == "site-b"


@pytest.mark.parametrize(
    ("change", "args", "message"),
    [
        (None, ("--rule", "sens>=0.9"), "threshold rule 'sens>=0.9' is not one of: sensitivity>=X"),
        (None, ("--rule", "fixed:3"), "X must be a number from 0 to 1"),
        ("drop-bmi", ("--rule", "youden"), "the site data lacks 1 feature column(s): bmi"),
        ("drop-target", ("--rule", "youden"), "the site data has no target column 'readmitted'"),
        (
            "unknown-label",
            ("--rule", "youden"),
            "the target column 'readmitted' holds 1 label(s) the model does not know; "
            "its classes are no, yes",
        ),
        ("one-class", ("--rule", "youden"), "'site-b': threshold rule 'youden' needs rows of both"),
        (
            "one-class",
            ("--rule", "ppv>=0.5"),
            "'site-b': threshold rule 'ppv>=0.5' needs rows of both classes; these rows hold none "
            "of the other class (no)",
        ),
        (
            "one-class",
            ("--rule", "specificity>=0.9"),
            "'site-b': threshold rule 'specificity>=0.9' needs rows of the other class (no); "
            "these rows hold none",
        ),
    ],
)
def test_bad_rules_and_data_are_one_line_errors_naming_the_rule_or_column(
    tmp_path: Path,
    runner: Runner,
    original: Path,
    site_b: Path,
    change: str | None,
    args: Any,
    message: str,
) -> None:
    data = pd.read_csv(site_b)
    if change == "drop-bmi":
        data = data.drop(columns=["bmi"])
    elif change == "drop-target":
        data = data.drop(columns=["readmitted"])
    elif change == "unknown-label":
        data.loc[3, "readmitted"] = "secret-value"
    elif change == "one-class":
        data = data[data["readmitted"] == "yes"]
    data.to_csv(tmp_path / "site.csv", index=False)
    result = _threshold(runner, original, tmp_path / "site.csv", tmp_path / "out", *args)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "secret-value" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_an_existing_output_is_refused_without_force_and_replaced_with_it(
    tmp_path: Path, runner: Runner, original: Path, site_b: Path
) -> None:
    out = tmp_path / "out"
    assert _threshold(runner, original, site_b, out, "--rule", "youden").exit_code == 0
    refused = _threshold(runner, original, site_b, out, "--rule", "fpr<=0.1")
    assert refused.exit_code == 1
    assert refused.stderr == f"Error: {out} already exists; pass --force to replace it\n"
    forced = _threshold(runner, original, site_b, out, "--rule", "fpr<=0.1", "--force")
    assert forced.exit_code == 0, forced.output
    assert read_manifest(out)[0].profiles[-1].rule == "fpr<=0.1"


def test_the_original_cannot_be_the_output_even_with_force(
    runner: Runner, original: Path, site_b: Path
) -> None:
    before = _snapshot(original)
    result = _threshold(runner, original, site_b, original, "--rule", "youden", "--force")
    assert result.exit_code == 1
    assert "is the original artefact or inside it" in result.stderr
    assert _snapshot(original) == before


def test_a_failure_half_way_leaves_no_output(
    tmp_path: Path, runner: Runner, original: Path, site_b: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(*args: Any, **kwargs: Any) -> str:
        raise OSError(errno.ENOSPC, "No space left on device")

    # The copies are made; writing the card then fails as a full disk would.
    monkeypatch.setattr("packager.artefact.derived.model_card", disk_full)
    out = tmp_path / "out"
    result = _threshold(runner, original, site_b, out, "--rule", "youden")
    assert result.exit_code == 1
    assert result.stderr == f"Error: cannot write {out}: No space left on device\n"
    assert list(tmp_path.iterdir()) == []


def test_a_multiclass_artefact_has_no_profiles(
    tmp_path: Path, runner: Runner, multiclass_artefact: Path, site_b: Path
) -> None:
    result = _threshold(runner, multiclass_artefact, site_b, tmp_path / "out", "--rule", "youden")
    assert result.exit_code == 1
    assert (
        "threshold profiles need a binary classifier; this model is a multiclass" in result.stderr
    )


def test_a_pickled_artefact_is_refused_without_allow_pickle(
    tmp_path: Path, runner: Runner, pipeline_model: Any, patient_data: Any, site_b: Path
) -> None:
    X, y, X_test, y_test = patient_data
    captured = capture(pipeline_model, X, y, X_test=X_test, y_test=y_test)
    pickled = package(captured, tmp_path / "pickled", model_format="pickle")
    refused = _threshold(runner, pickled, site_b, tmp_path / "out", "--rule", "youden")
    assert refused.exit_code == 1 and "holds a pickle" in refused.stderr
    allowed = _threshold(
        runner, pickled, site_b, tmp_path / "out", "--rule", "youden", "--allow-pickle"
    )
    assert allowed.exit_code == 0, allowed.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["default_profile"] == "site-b"  # the only profile is the default
    assert "  at no profile, threshold 0.5: here | recorded on test data" in allowed.output


@pytest.mark.parametrize(
    ("where", "args", "message"),
    [
        ("original", (), "is the original artefact or inside it"),
        ("inside", ("--force",), "is the original artefact or inside it"),
        ("existing", (), "already exists; pass --force to replace it"),
        ("fresh", ("--name", "default"), "already has a profile 'default'"),
        ("format-1", ("--allow-pickle",), "is a format 1.1 artefact; re-package it"),
    ],
)
def test_what_would_be_refused_is_refused_before_the_model_is_loaded(
    tmp_path: Path,
    runner: Runner,
    original: Path,
    site_b: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    args: Any,
    message: str,
) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("loaded the model before refusing the command")

    monkeypatch.setattr("deployml.threshold.load_artefact", never)
    source = (
        Path(__file__).parent / "data" / "artefact-format-1.1" if where == "format-1" else original
    )
    out = {"original": original, "inside": original / "site-b"}.get(where, tmp_path / "out")
    if where == "existing":
        out.mkdir()
    result = _threshold(runner, source, site_b, out, "--rule", "youden", *args)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_recorded_metrics_in_a_shape_it_cannot_read_are_said_so_never_a_traceback(
    tmp_path: Path, runner: Runner, original: Path, site_b: Path
) -> None:
    """The profile's recorded metrics are free-form in the manifest (hand-edited, here);
    the printout's "recorded" column reads them, and labels intervals at their own level."""
    unread = "recorded in a shape this deployml does not read; see manifest.json"
    for n, intervals in enumerate(("x", {"sensitivity": "ab", "specificity": 5})):
        copy = tmp_path / f"edited-{n}"
        shutil.copytree(original, copy)
        data = json.loads((copy / "manifest.json").read_text())
        metrics = data["profiles"][0]["metrics"]
        if isinstance(intervals, dict):
            intervals = {**metrics["intervals"], **intervals}
        metrics.update(
            intervals=intervals, npv="x", bootstrap={**metrics["bootstrap"], "level": 0.8}
        )
        (copy / "manifest.json").write_text(json.dumps(data))
        result = _threshold(runner, copy, site_b, tmp_path / f"out-{n}", "--rule", "youden")
        assert result.exit_code == 0, result.output
        recorded = {
            line.split()[0]: line.split(" | ")[1]
            for line in result.stdout.splitlines()
            if line.startswith("    ") and " | " in line
        }
        assert recorded["sensitivity"] == recorded["specificity"] == recorded["NPV"] == unread
        if isinstance(intervals, dict):
            assert "(80% CI " in recorded["PPV"]
        else:
            assert recorded["PPV"] == unread
