"""`summarise`: the text `deployml inspect` prints about an artefact or its manifest."""

from __future__ import annotations

from pathlib import Path

from packager import load_artefact, read_manifest, summarise


def test_summarise_summarises_an_artefact(pipeline_artefact: Path) -> None:
    artefact = load_artefact(pipeline_artefact)
    text = summarise(artefact)
    lines = text.splitlines()
    assert lines[0] == "readmission 1.0.0 (binary classifier)"
    assert "Target:     readmitted: no " in text
    assert "Inputs (5, as dataframe):" in text
    assert any(line.split()[:2] == ["ward", "category"] and "a, b, c" in line for line in lines)
    assert f"artefact sha256 {artefact.sha256}" in text
    # The imputer keeps a numpy.dtype, which skops trusts only because the manifest says so.
    assert "Model file: model.skops (skops; types trusted beyond skops's: numpy.dtype)" in lines
    assert "Examples:   synthetic, made from the schema; no real row is stored" in lines
    assert summarise(artefact.manifest, artefact.sha256) == text


def test_summarise_shows_regression_metrics(regressor_artefact: Path) -> None:
    text = summarise(read_manifest(regressor_artefact)[0])
    assert "(regression)" in text.splitlines()[0]
    assert "mae" in text and "r2" in text
