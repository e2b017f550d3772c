"""Provenance: package versions of what the model references, and the training code's commit."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import markupsafe
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from packager.capture.provenance import collect_provenance, git_state, referenced_modules


class LocalScaler(FunctionTransformer):
    """A transformer defined outside any installed distribution."""


def _fitted(step: object) -> object:
    X = np.arange(20.0).reshape(10, 2)
    return make_pipeline(step, LogisticRegression()).fit(X, [0, 1] * 5)


def test_provenance_pins_the_packages_the_model_references() -> None:
    # Never called: only pickled, as a transformer's function would be.
    model = make_pipeline(FunctionTransformer(func=markupsafe.escape), LogisticRegression())
    assert {"sklearn", "markupsafe"} <= referenced_modules(model)
    provenance, _ = collect_provenance(model)
    assert provenance.packages["MarkupSafe"] == metadata.version("MarkupSafe")
    assert provenance.packages["scikit-learn"] == metadata.version("scikit-learn")


def test_provenance_flags_a_module_that_is_not_a_distribution() -> None:
    _, missing = collect_provenance(_fitted(LocalScaler()))
    assert any("'tests'" in m or "'test_capture_provenance'" in m for m in missing), missing


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def test_git_state_records_the_commit_and_uncommitted_changes(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "train.py").write_text("print('train')\n")
    _git(tmp_path, "add", "train.py")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "x")
    commit, dirty = git_state(tmp_path)
    assert commit is not None and len(commit) == 40 and dirty is False
    (tmp_path / "train.py").write_text("print('changed')\n")
    assert git_state(tmp_path) == (commit, True)


def test_git_state_is_empty_outside_a_checkout(tmp_path: Path) -> None:
    assert git_state(tmp_path) == (None, None)


def test_git_state_is_empty_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_state(tmp_path) == (None, None)


def test_referenced_modules_reads_models_holding_large_arrays() -> None:
    # Pickle protocol 5 passes arrays of a few hundred kB to the file as PickleBuffer objects
    # (a random forest on some thousands of rows holds such arrays).
    model = LogisticRegression().fit(np.arange(20.0).reshape(10, 2), [0, 1] * 5)
    model.coef_ = np.zeros((1, 1_000_000))
    assert referenced_modules(model) >= {"numpy", "sklearn"}
