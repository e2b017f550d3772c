"""The artefact directory: writing it whole or not at all, and reading it back with checks."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from packager.artefact.captured import CapturedModel
from packager.artefact.card import model_card
from packager.artefact.compiled import COMPILED_FILE, CompiledModel
from packager.artefact.files import (
    check_file_names,
    check_files,
    check_no_links,
    check_output,
    file_record,
    parse_json,
    read_capped,
    staged,
    write_json,
)
from packager.artefact.manifest import (
    EDGE_CASES_FILE,
    EXAMPLES_FILE,
    MANIFEST_FILE,
    MODEL_CARD_FILE,
    REQUIREMENTS_FILE,
    SELF_TEST_FILE,
    Manifest,
    ModelFile,
)
from packager.artefact.model_file import (
    MODEL_FORMATS,
    ModelFormat,
    check_estimator,
    read_model_file,
    recorded_with,
    skops_types,
    write_model_file,
)
from packager.artefact.rows import (
    EdgeCases,
    Examples,
    read_edge_cases,
    read_examples,
    read_self_test,
    rescore,
    stored_rows,
    write_edge_cases,
)
from packager.artefact.trust import approve
from packager.artefact.values import dotted_name
from packager.errors import (
    ArtefactError,
    ArtefactHashError,
    IntegrityError,
    ManifestError,
    ModelFileError,
    RoundTripError,
)

__all__ = [
    "Artefact",
    "load_artefact",
    "package",
    "read_manifest",
    "requirements",
]

RESERVED = {MANIFEST_FILE, EXAMPLES_FILE, SELF_TEST_FILE, EDGE_CASES_FILE}
RESERVED |= {REQUIREMENTS_FILE, MODEL_CARD_FILE, COMPILED_FILE}


@dataclass(frozen=True)
class Artefact:
    """A loaded artefact; ``sha256`` is the SHA-256 of manifest.json, covering every file.

    ``self_test`` holds the rows the model must re-score identically (self_test.json; for a
    format 1.x artefact, its examples.json); ``examples`` the real rows of examples.json;
    ``edge_cases`` the cases of edge_cases.json, when packaged with some; ``compiled`` the
    bytes of the compiled model (model.onnx), when packaged with one.
    """

    path: Path
    manifest: Manifest
    model: Any
    self_test: Examples
    examples: Examples
    sha256: str
    edge_cases: EdgeCases | None = None
    compiled: bytes | None = None

    def stored_rows(self) -> dict[str, Examples]:
        """Every stored file of rows with outputs, by file name: each must re-score alike."""
        return stored_rows(self.manifest, self.self_test, self.examples)

    def published_example(self) -> Examples | None:
        """The rows /metadata may show: synthetic or real as chosen at packaging, or none."""
        chosen = self.manifest.example_rows
        if chosen == "none":
            return None
        rows = self.examples if chosen == "real" else self.self_test
        return rows if rows.inputs else None


def package(
    captured: CapturedModel,
    output_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    model_format: ModelFormat = "skops",
    trust: Iterable[str] = (),
    compiled: CompiledModel | None = None,
) -> Path:
    """Write ``captured`` as an artefact directory at ``output_dir``; returns its path.

    The model is written as ``model_format`` (with ``compiled``, proven by
    ``packager.compile``, beside it): a skops file (holding only types skops trusts,
    the built-in allow-list's and ``trust``'s), or a pickle. It is then read back as the
    server reads it and must reproduce the stored example outputs. The directory is built
    next to the target and renamed into place, so a failure leaves nothing behind. An
    existing output is refused unless ``force``, and even then only an earlier artefact (or
    an empty directory) is replaced, after the new one is complete.
    """
    output = Path(output_dir)
    check_output(output, force)
    # A manifest readers would refuse is refused now, before anything is written.
    Manifest.from_dict(captured.manifest.to_dict(), source=str(output / MANIFEST_FILE))
    with staged(output, directory=True) as build:
        model_file = _write_model(captured, build, output, model_format, trust)
        manifest = recorded_with(captured.manifest, model_file)
        if compiled is not None:
            (build / compiled.record.path).write_bytes(compiled.data)
            manifest = replace(manifest, compiled=compiled.record)
        manifest = _write_contents(replace(captured, manifest=manifest), build)
        write_json(build / MANIFEST_FILE, manifest.to_dict())
    return output


def _write_model(
    captured: CapturedModel,
    build: Path,
    output: Path,
    model_format: ModelFormat,
    trust: Iterable[str],
) -> ModelFile:
    """Write the model file into ``build``, approve its types, and check it reads back the same.

    Errors name the file where it would be once the artefact is in place, under ``output``.
    """
    path, serializer = MODEL_FORMATS[model_format]
    target = output / path
    write_model_file(captured.estimator, build / path, serializer)
    trusted = []
    if serializer == "skops":
        trusted = approve(skops_types(build / path), trust, str(target))
    model_file = ModelFile(path=path, serializer=serializer, trusted_types=trusted)
    model = read_model_file(build, model_file, allow_pickle=True)
    _check_round_trip(captured, model, str(target))
    return model_file


def _check_round_trip(captured: CapturedModel, model: Any, source: str) -> None:
    """Raise RoundTripError unless ``model`` (read back) answers the stored rows as recorded."""
    check_estimator(model, source)
    expected = captured.manifest.estimator.class_name
    if dotted_name(model) != expected:
        raise ModelFileError(source, f"reads back as a {dotted_name(model)}, not a {expected}")
    manifest, stored = captured.manifest, (captured.self_test, captured.examples)
    problems = [p for rows in stored if rows.inputs for p in rescore(model, manifest, rows)]
    if problems and manifest.target is not None:
        raise RoundTripError(source, problems)


def _write_contents(captured: CapturedModel, build: Path) -> Manifest:
    manifest = captured.manifest
    model_path = manifest.model_file.path
    (build / REQUIREMENTS_FILE).write_text(requirements(manifest), encoding="utf-8")
    names = [model_path, REQUIREMENTS_FILE, *_write_rows(captured, build)]
    names += [manifest.compiled.path] if manifest.compiled is not None else []
    cases = write_edge_cases(captured.edge_cases, build)
    names += cases
    for name, data in sorted(captured.attachments.items()):
        target = build / _safe_relative(name, reserved=RESERVED | {model_path})
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    names.extend(sorted(captured.attachments))
    # The card lists the edge cases one by one from the file as written.
    shown = {**captured.attachments, **{n: (build / n).read_bytes() for n in cases}}
    (build / MODEL_CARD_FILE).write_text(model_card(manifest, shown), encoding="utf-8")
    names.append(MODEL_CARD_FILE)
    files = {name: file_record(build / name) for name in sorted(names)}
    return replace(manifest, files=files)


def _write_rows(captured: CapturedModel, build: Path) -> list[str]:
    """Write self_test.json, and examples.json only when real rows were chosen; their names.

    Refuses what the server could not serve: no self-test rows means it would never be ready.
    """
    if not captured.self_test.inputs:
        raise ArtefactError("the capture holds no self-test rows; the server could never be ready")
    write_json(build / SELF_TEST_FILE, captured.self_test.to_dict())
    if captured.manifest.example_rows != "real":
        return [SELF_TEST_FILE]
    if not captured.examples.inputs:
        raise ArtefactError("real example rows were chosen, but the capture holds none")
    write_json(build / EXAMPLES_FILE, captured.examples.to_dict())
    return [SELF_TEST_FILE, EXAMPLES_FILE]


def requirements(manifest: Manifest) -> str:
    """The pinned ``requirements.txt``: every package version recorded at training."""
    lines = [f"{name}=={version}" for name, version in manifest.provenance.packages.items()]
    return "\n".join(sorted(lines, key=str.lower)) + "\n"


def _safe_relative(name: str, reserved: set[str]) -> str:
    path = PurePosixPath(name)
    if (
        not name
        or path.is_absolute()
        or ".." in path.parts
        or "\\" in name
        or str(path) in reserved
        or str(path) != name
    ):
        raise ArtefactError(f"attachment name {name!r} must be a plain relative path")
    return name


def read_manifest(path: str | os.PathLike[str]) -> tuple[Manifest, str]:
    """The manifest of the artefact at ``path`` and its SHA-256, without loading the model.

    The artefact is refused if it holds a symbolic link anywhere, or a manifest over the
    size cap or of the wrong structure.
    """
    root = Path(path)
    if not root.is_dir():
        what = "does not exist" if not root.exists() else "is not a directory"
        raise ArtefactError(f"{root} {what}; expected an artefact directory")
    check_no_links(root)
    manifest_path = root / MANIFEST_FILE
    try:
        raw = read_capped(manifest_path)
    except FileNotFoundError:
        raise ManifestError(str(manifest_path), "not found; is this a deployml artefact?") from None
    except OSError as error:
        raise ManifestError(str(manifest_path), f"cannot be read: {error.strerror}") from None
    manifest = Manifest.from_dict(parse_json(raw, manifest_path), source=str(manifest_path))
    check_file_names(manifest, manifest_path)
    return manifest, hashlib.sha256(raw).hexdigest()


def load_artefact(
    path: str | os.PathLike[str],
    *,
    allow_pickle: bool = False,
    allow_with: str = "",
    expected_sha256: str | None = None,
) -> Artefact:
    """Read the artefact at ``path``, check every file's hash, then load its model.

    With ``expected_sha256``, any other artefact is refused before its files are read. The
    model is loaded only once the hashes hold: a skops file trusting exactly the types its
    manifest records, a pickle (which runs code) only if ``allow_pickle``; the refusal says
    to allow it ``allow_with`` (default: ``--allow-pickle``).
    """
    root = Path(path)
    manifest, sha256 = read_manifest(root)
    if expected_sha256 is not None and sha256 != expected_sha256:
        raise ArtefactHashError(found=sha256, expected=expected_sha256)
    check_files(root, manifest)
    model = read_model_file(
        root, manifest.model_file, allow_pickle=allow_pickle, allow_with=allow_with
    )
    check_estimator(model, str(root / manifest.model_file.path))
    return Artefact(
        path=root,
        manifest=manifest,
        model=model,
        self_test=read_self_test(root, manifest),
        examples=read_examples(root, manifest),
        sha256=sha256,
        edge_cases=read_edge_cases(root, manifest),
        compiled=_read_compiled(root, manifest),
    )


def _read_compiled(root: Path, manifest: Manifest) -> bytes | None:
    """The compiled model's bytes; only a file the manifest hashes (check_files held them)."""
    if manifest.compiled is None:
        return None
    if manifest.compiled.path not in manifest.files:
        raise IntegrityError(manifest.compiled.path, "is named by compiled but not listed in files")
    return (root / manifest.compiled.path).read_bytes()
