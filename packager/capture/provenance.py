"""Provenance: Python, platform, exact package versions and the git commit of the training code."""

from __future__ import annotations

import pickle
import platform
import subprocess
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

from packager.artefact import Provenance

__all__ = [
    "CORE_DISTRIBUTIONS",
    "collect_provenance",
    "git_state",
    "packaging_provenance",
    "referenced_modules",
]

# Always recorded: what every deployml model needs to load and run.
CORE_DISTRIBUTIONS = ("scikit-learn", "numpy", "scipy", "joblib", "pandas")
GIT_TIMEOUT_SECONDS = 5

NOT_IN_GIT = "provenance: the training code was not in a git checkout"
# What a model captured when it is packaged, not when it was trained, cannot know.
UNKNOWN_AT_PACKAGING = (
    "provenance: the git commit of the training code is unknown",
    "provenance: python, platform and package versions are those of the packaging "
    "environment, not recorded at training",
)


def collect_provenance(estimator: Any, workdir: Path | None = None) -> tuple[Provenance, list[str]]:
    """The current environment's provenance for ``estimator``, and statements of what is missing."""
    missing: list[str] = []
    packages = {name: v for name in CORE_DISTRIBUTIONS if (v := _version(name)) is not None}
    mapping = metadata.packages_distributions()
    modules = referenced_modules(estimator)
    if "__main__" in modules:
        modules.discard("__main__")
        missing.append(
            "provenance: the model uses classes or functions defined in the training script "
            "itself (__main__); move them into an importable module or the model cannot load"
        )
    for module in sorted(modules):
        dists = mapping.get(module)
        if not dists:
            missing.append(
                f"provenance: the model uses module {module!r}, which is not an installed "
                "distribution; it must be importable wherever the model is loaded"
            )
            continue
        for dist in dists:
            version = _version(dist)
            if version is not None and dist != "deployml":
                packages[dist] = version
    commit, dirty = git_state(workdir or Path.cwd())
    if commit is None:
        missing.append(NOT_IN_GIT)
    provenance = Provenance(
        python=platform.python_version(),
        platform=platform.platform(),
        packages=dict(sorted(packages.items(), key=lambda kv: kv[0].lower())),
        deployml_version=_version("deployml") or "unknown",
        git_commit=commit,
        git_dirty=dirty,
    )
    return provenance, missing


def packaging_provenance(
    provenance: Provenance, missing: list[str]
) -> tuple[Provenance, list[str]]:
    """Provenance collected at packaging rather than training: no git state (the packaging
    directory's says nothing of the training code), and ``missing`` saying what is unknown."""
    kept = [m for m in missing if m != NOT_IN_GIT and m not in UNKNOWN_AT_PACKAGING]
    return (
        replace(provenance, git_commit=None, git_dirty=None),
        [*kept, *UNKNOWN_AT_PACKAGING],
    )


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


class _ModuleCollector(pickle.Pickler):
    """A pickler that records the top-level module of every class and function it meets."""

    def __init__(self) -> None:
        super().__init__(_Discard(), protocol=pickle.HIGHEST_PROTOCOL)
        self.modules: set[str] = set()

    def persistent_id(self, obj: Any) -> None:
        target = obj if isinstance(obj, type) or callable(obj) else type(obj)
        module = getattr(target, "__module__", None)
        if isinstance(module, str):
            self.modules.add(module.split(".", 1)[0])
        return None


class _Discard:
    def write(self, data: Any) -> int:
        # Protocol 5 hands large arrays over as PickleBuffer, which has no len().
        return memoryview(data).nbytes


def referenced_modules(estimator: Any) -> set[str]:
    """Top-level modules, outside the standard library, of the objects pickled with the model."""
    collector = _ModuleCollector()
    collector.dump(estimator)
    stdlib = set(sys.stdlib_module_names) | {"builtins"}
    return {
        m
        for m in collector.modules
        if m == "__main__" or (m not in stdlib and not m.startswith("_"))
    }


def git_state(workdir: Path) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the git checkout holding ``workdir``; ``(None, None)`` if none."""
    try:
        head = _git(workdir, "rev-parse", "HEAD")
        status = _git(workdir, "status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return None, None
    return head.strip() or None, bool(status.strip())


def _git(workdir: Path, *args: str) -> str:
    """What ``git ARGS`` prints in ``workdir``, bounded in time; raises if git fails."""
    done = subprocess.run(
        ["git", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=GIT_TIMEOUT_SECONDS,
        check=True,
    )
    return done.stdout
