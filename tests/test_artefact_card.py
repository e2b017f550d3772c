"""MODEL_CARD.md: what a reviewer reads about a packaged model, plots included."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from packager import ModelDetails, capture, load_artefact, package, read_manifest

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


def test_model_card_covers_purpose_data_metrics_limits_and_versions(binary_artefact: Path) -> None:
    card = (binary_artefact / "MODEL_CARD.md").read_text()
    manifest, _ = read_manifest(binary_artefact)
    assert card.startswith("# breast-cancer 1.0.0\n")
    for text in (
        "Malignant or benign from a tumour's cell measurements.",
        "| Author | Test Author |",
        "## Intended use\n\nTests of deployml.",
        "## Limitations\n\nA toy model.",
        "| mean radius | number, required | 0.0% |",
        "| accuracy |",
        "| Threshold | Sensitivity | Specificity | PPV | NPV |",
        f"| scikit-learn | {manifest.provenance.packages['scikit-learn']} |",
        "deployml verify",
    ):
        assert text in card


def test_model_card_says_what_was_not_stated(array_artefact: Path) -> None:
    card = (array_artefact / "MODEL_CARD.md").read_text()
    assert "## Intended use\n\n_Not stated by the model's author._" in card
    assert "- model.author: not given" in card
    assert "generated (x0, x1, ...)" in card


def test_model_card_embeds_plots_with_a_caption(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    captured = capture(pipeline_model, *patient_data[:2], details=ModelDetails(name="with-plots"))
    attachments = {"plots/roc_curve.png": b"\x89PNG\r\n\x1a\n", "data/notes.txt": b"not an image"}
    captured = replace(captured, attachments=attachments)
    out = package(captured, tmp_path / "out")
    card = (out / "MODEL_CARD.md").read_text()
    assert "![Roc curve](plots/roc_curve.png)\n\n*Roc curve*" in card
    assert "notes.txt" not in card
    artefact = load_artefact(out)
    assert {"plots/roc_curve.png", "data/notes.txt"} <= set(artefact.manifest.files)
    assert (out / "plots" / "roc_curve.png").read_bytes() == b"\x89PNG\r\n\x1a\n"
