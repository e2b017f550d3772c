"""``verify``: check an artefact's files, versions and model, and re-score its stored rows.

The stored rows are the synthetic self-test (self_test.json, check "self-test") and, when
chosen at packaging, real example rows (examples.json, check "examples"); a format 1.x
artefact has only examples.json, which is its self-test. Edge cases (edge_cases.json, check
"edge cases") are re-run too: each must give the outcome recorded at packaging, and each
still failing is shown (allowed at packaging, else a failure).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from packager.artefact import (
    EXAMPLES_FILE,
    SELF_TEST_FILE,
    Examples,
    Manifest,
    check_estimator,
    compare_outputs,
    dotted_name,
    file_problems,
    model_input,
    model_outputs,
    read_edge_cases,
    read_examples,
    read_manifest,
    read_model_file,
    read_self_test,
    records_to_columns,
    stored_rows,
)
from packager.errors import ArtefactError, DeploymlError, IntegrityError
from packager.evaluation import describe_case, rerun_edge_cases

__all__ = [
    "STRICT_PACKAGES",
    "Check",
    "Verification",
    "VersionDifference",
    "verify",
    "version_differences",
]

Status = Literal["ok", "warn", "fail"]
# A scikit-learn version other than the training one may unpickle into a different model.
STRICT_PACKAGES = ("scikit-learn",)


@dataclass(frozen=True)
class VersionDifference:
    """A package whose installed version differs from the one recorded at training."""

    package: str
    recorded: str
    installed: str | None

    @property
    def fatal(self) -> bool:
        """Missing, or a package whose other versions may load a different model."""
        return self.installed is None or self.package in STRICT_PACKAGES

    def __str__(self) -> str:
        if self.installed is None:
            return f"{self.package} {self.recorded} is not installed"
        return f"{self.package} {self.installed} is installed, {self.recorded} was recorded"


def version_differences(recorded: dict[str, str]) -> list[VersionDifference]:
    """Every recorded package whose installed version differs, by package name."""
    differences = []
    for package, version in sorted(recorded.items()):
        try:
            installed: str | None = metadata.version(package)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            differences.append(VersionDifference(package, version, installed))
    return differences


@dataclass(frozen=True)
class Check:
    """One verification step: its name, outcome and a one-line explanation."""

    name: str
    status: Status
    detail: str


@dataclass
class Verification:
    """The outcome of every check run on one artefact."""

    path: Path
    checks: list[Check] = field(default_factory=list)
    sha256: str | None = None

    @property
    def ok(self) -> bool:
        """True when no check failed (warnings allowed)."""
        return all(c.status != "fail" for c in self.checks)

    def add(self, name: str, status: Status, detail: str) -> None:
        """Record a check."""
        self.checks.append(Check(name, status, detail))


def verify(path: str | os.PathLike[str], *, allow_pickle: bool = False) -> Verification:
    """Run every check on the artefact at ``path``; loads the model only if its hash holds.

    A skops model is loaded trusting exactly the types its manifest records; a pickled one
    is unpickled (which runs its code) only if ``allow_pickle``, and is otherwise a failure.
    """
    report = Verification(Path(path))
    try:
        manifest, report.sha256 = read_manifest(path)
    except IntegrityError as error:  # a symbolic link in the artefact
        report.add("files", "fail", error.message)
        return report
    except DeploymlError as error:
        report.add("manifest", "fail", error.message)
        return report
    report.add("manifest", "ok", f"format {manifest.format_version}, {len(manifest.files)} files")
    files_ok = _check_files(report, manifest)
    _check_versions(report, manifest)
    if not files_ok:
        report.add("model", "fail", "not loaded, because the artefact's files failed their check")
        return report
    model = _check_model(report, manifest, allow_pickle)
    if model is not None:
        _check_stored_rows(report, manifest, model)
        _check_edge_cases(report, manifest, model)
    return report


def _check_files(report: Verification, manifest: Manifest) -> bool:
    problems = file_problems(report.path, manifest)
    if problems:
        report.add("files", "fail", "; ".join(f"{name} {problem}" for name, problem in problems))
        return False
    report.add("files", "ok", f"{len(manifest.files)} files match their SHA-256")
    return True


def _check_versions(report: Verification, manifest: Manifest) -> None:
    differences = version_differences(manifest.provenance.packages)
    # Fatal differences first, so the reason for a failure leads the line.
    detail = "; ".join(str(d) for d in sorted(differences, key=lambda d: not d.fatal))
    if any(d.fatal for d in differences):
        report.add("versions", "fail", detail)
    elif differences:
        report.add("versions", "warn", detail)
    else:
        report.add("versions", "ok", f"{len(manifest.provenance.packages)} packages as recorded")


def _check_model(report: Verification, manifest: Manifest, allow_pickle: bool) -> Any:
    source = str(report.path / manifest.model_file.path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = read_model_file(report.path, manifest.model_file, allow_pickle=allow_pickle)
            check_estimator(model, source)
        except DeploymlError as error:
            report.add("model", "fail", error.message)
            return None
    name = dotted_name(model)
    if name != manifest.estimator.class_name:
        report.add(
            "model",
            "fail",
            f"holds a {name}, the manifest records a {manifest.estimator.class_name}",
        )
        return None
    if caught:
        kinds = sorted({type(w.message).__name__ for w in caught})
        report.add("model", "warn", f"loaded a {name} with warnings: {', '.join(kinds)}")
    else:
        report.add("model", "ok", f"loaded a fitted {name}")
    return model


_CHECK_NAMES = {SELF_TEST_FILE: "self-test", EXAMPLES_FILE: "examples"}


def _check_stored_rows(report: Verification, manifest: Manifest, model: Any) -> None:
    try:
        stored = stored_rows(
            manifest,
            read_self_test(report.path, manifest),
            read_examples(report.path, manifest),
        )
    except ArtefactError as error:
        report.add("self-test", "fail", error.message)
        return
    if not any(rows.inputs for rows in stored.values()):
        report.add("self-test", "fail", "no rows to re-score; the server would never be ready")
        return
    for name, rows in stored.items():
        _check_rows(report, _CHECK_NAMES[name], manifest, model, rows)


def _check_rows(
    report: Verification, check: str, manifest: Manifest, model: Any, rows: Examples
) -> None:
    if manifest.target is None:
        report.add(check, "fail", "the manifest records no task, so outputs cannot be compared")
        return
    spec = manifest.input
    try:
        X = model_input(records_to_columns(rows.inputs, spec.names), spec)
        got = model_outputs(model, X, manifest.target.task)
    except Exception as error:  # any failure to re-score is itself the finding
        report.add(check, "fail", f"re-scoring raised {type(error).__name__}")
        return
    problems = compare_outputs(rows, got)
    if problems:
        report.add(check, "fail", "; ".join(problems))
    else:
        report.add(check, "ok", f"{len(rows.inputs)} stored rows re-scored identically")


def _check_edge_cases(report: Verification, manifest: Manifest, model: Any) -> None:
    summary = manifest.edge_cases
    if summary is None:
        return
    try:
        cases = read_edge_cases(report.path, manifest)
    except ArtefactError as error:
        report.add("edge cases", "fail", error.message)
        return
    if cases is None or manifest.target is None:
        report.add("edge cases", "fail", "the manifest records no task to re-run them for")
        return
    if cases.summary(summary.allowed_failing) != summary:
        report.add("edge cases", "fail", f"the manifest's summary disagrees with {summary.file}")
    changed = rerun_edge_cases(model, manifest.input, manifest.target, cases)
    for problem in changed:
        report.add("edge cases", "fail", problem)
    for case in cases.cases:
        if case.outcome is not None and not case.outcome.passed:
            allowed = summary.allowed_failing
            status: Status = "warn" if allowed else "fail"
            why = "failing (allowed at packaging)" if allowed else "failing, and not allowed"
            report.add(f"edge case {case.id}", status, f"{why}: {describe_case(case)}")
    if not changed:
        passed = f"{summary.passed} of {summary.total} pass"
        report.add("edge cases", "ok", f"{summary.total} cases re-run as recorded; {passed}")
