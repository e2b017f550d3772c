"""deployml card: the model card page written offline, whole or not at all, without the model."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from click.testing import Result
from flask.testing import FlaskClient

from packager import ModelDetails, capture, package, read_manifest

Run = Callable[..., Result]


def test_card_writes_the_page_the_server_serves(
    binary_artefact: Path, runner: Run, client: Callable[..., FlaskClient], tmp_path: Path
) -> None:
    out = tmp_path / "card.html"
    result = runner("card", binary_artefact, "-o", out)
    assert result.exit_code == 0, result.output
    _, sha256 = read_manifest(binary_artefact)
    assert f"(artefact sha256 {sha256}) to {out}" in result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and f"<code>{sha256}</code>" in page
    assert client(binary_artefact).get("/").get_data(as_text=True) == page


def test_card_never_loads_the_model(binary_artefact: Path, runner: Run, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(binary_artefact, copy)
    (copy / "model.skops").write_bytes(b"not a model at all")
    result = runner("card", copy, "-o", tmp_path / "card.html")
    assert result.exit_code == 0, result.output


def test_card_refuses_an_existing_file_unless_forced(
    binary_artefact: Path, runner: Run, tmp_path: Path
) -> None:
    out = tmp_path / "card.html"
    out.write_text("keep me")
    result = runner("card", binary_artefact, "-o", out)
    assert result.exit_code == 1
    assert result.output == f"Error: {out} already exists; pass --force to replace it\n"
    assert out.read_text() == "keep me"
    assert runner("card", binary_artefact, "-o", out, "--force").exit_code == 0
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_card_of_a_changed_plot_fails_and_writes_nothing(
    pipeline_model: Any, patient_data: Any, runner: Run, tmp_path: Path
) -> None:
    captured = capture(pipeline_model, *patient_data[:2], details=ModelDetails(name="plots"))
    out = package(replace(captured, attachments={"plots/roc.png": b"\x89PNG one"}), tmp_path / "a")
    (out / "plots" / "roc.png").write_bytes(b"\x89PNG another")
    result = runner("card", out, "-o", tmp_path / "card.html")
    assert result.exit_code == 1
    assert result.output.startswith("Error: plots/roc.png: differs from its SHA-256")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]
    result = runner("card", tmp_path / "missing", "-o", tmp_path / "card.html")
    assert result.output.startswith("Error: ") and "expected an artefact directory" in result.output


def test_card_refuses_a_directory_as_its_output(
    binary_artefact: Path, runner: Run, tmp_path: Path
) -> None:
    result = runner("card", binary_artefact, "-o", tmp_path, "--force")
    assert result.exit_code == 1
    assert f"{tmp_path} is a directory; give the HTML file to write" in result.output
