"""The model card: MODEL_CARD.md and the HTML page, drawn from one set of facts.

The clinical fields of format 3.0 are shaped by hand here (as the contract gives them) on a
real capture, so that the card is tested apart from the code that computes them; an older
artefact has none of them and must show none of their sections.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import fields, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from packager import (
    ModelDetails,
    capture,
    load_artefact,
    package,
    read_manifest,
)
from packager.artefact import (
    DataRecord,
    EdgeCaseSummary,
    Manifest,
    ParentRecord,
    RequirementResult,
    ThresholdProfile,
    card_files,
    card_page,
    model_card,
)
from packager.errors import IntegrityError, ManifestError

PatientData = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]
HOSTILE = '<script>alert("x")</script>'
# The smallest valid PNG: one transparent pixel.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
BOOT = {"resamples": 1000, "seed": 0, "level": 0.95, "method": "percentile"}


@pytest.fixture(scope="module")
def real() -> Manifest:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(X[:400], y[:400])
    details = ModelDetails(name="breast-cancer", description="Malignant or benign.")
    return capture(
        model, X[:400], y[:400], X_test=X[400:], y_test=y[400:], details=details
    ).manifest


def clinical(manifest: Manifest, name: str = "sex", positive: Any = 1) -> Manifest:
    """``manifest`` with every clinical field of the contract, subgroup column ``name``."""
    test = {
        **manifest.metrics["test"],  # type: ignore[index]
        "positive_class": positive,
        "prevalence": 0.6213,
        "roc_auc": 0.97,
        "sensitivity": 0.93,
        "specificity": 0.88,
        "ppv": 0.91,
        "npv": 0.9,
        "brier": 0.061,
        "calibration": {
            "strategy": "quantile",
            "bins": [
                {"mean_predicted": 0.05, "observed": 0.04, "n": 34},
                {"mean_predicted": 0.95, "observed": 0.97, "n": 135},
            ],
        },
        "intervals": {"roc_auc": [0.94, 0.99], "sensitivity": [0.9, 0.96], "ppv": None},
        "bootstrap": BOOT,
        "baseline": {"strategy": "majority class", "roc_auc": 0.5, "sensitivity": 1.0},
        "worse_than_baseline": ["Specificity 0.88 is below the baseline's 0.9."],
    }
    group = {"too_small": False, "reason": None, "prevalence": 0.6}
    groups = [
        {
            **group,
            "group": "F",
            "n": 90,
            "metrics": {"roc_auc": 0.97, "accuracy": 0.9},
            "intervals": {},
        },
        {
            **group,
            "group": "M",
            "n": 70,
            "metrics": {"roc_auc": 0.89, "accuracy": 0.88, "brier": None},
            "intervals": {"roc_auc": [0.82, 0.95]},
        },
        {**group, "group": "X", "n": 9, "too_small": True, "reason": "fewer than 30 rows"},
    ]
    column = {"column": name, "spec": name, "edges": None, "in_model": False, "groups": groups}
    column["gaps"] = {"roc_auc": {"value": 0.08, "best": "F", "worst": "M"}}
    chosen = DataRecord("site_b.csv", 412, "ab" * 32, 0.12, "2026-11-30")
    values = {"sensitivity": 0.9, "specificity": 0.8, "ppv": 0.4, "npv": 0.98}
    metrics = {
        **values,
        "alerts_per_100": 27.0,
        "intervals": {"sensitivity": [0.85, 0.95]},
        "bootstrap": BOOT,
    }
    base = {f.name: getattr(manifest, f.name) for f in fields(manifest)}
    base.update(
        metrics={**(manifest.metrics or {}), "test": test},
        subgroups={"min_rows": 30, "bootstrap": BOOT, "columns": [column]},
        profiles=[ThresholdProfile("site-b", 0.31, "sensitivity>=0.9", chosen, metrics)],
        default_profile="site-b",
        parent=ParentRecord("cd" * 32, "breast-cancer", "1.0.0", "profile site-b added"),
    )
    edge_cases = EdgeCaseSummary(
        file="edge_cases.json", total=2, passed=1, failing=["huge tumour"], allowed_failing=True
    )
    requirements = [
        RequirementResult("roc_auc>=0.80", 0.97, [0.94, 0.99], True),
        RequirementResult("brier<=0.05", 0.061, None, False),
    ]
    return Manifest(**{**base, "edge_cases": edge_cases, "requirements": requirements})


def cases(note: str = "small & benign") -> dict[str, bytes]:
    found = [
        {
            "id": "tiny tumour",
            "note": note,
            "inputs": {},
            "expected": {"label": 1},
            "outcome": {"prediction": 1, "score": 0.93, "passed": True},
        },
        {
            "id": "huge tumour",
            "note": "should be flagged",
            "inputs": {},
            "expected": {"min": 0.0, "max": 0.2},
            "outcome": {"prediction": 1, "score": 0.7, "passed": False},
        },
    ]
    return {"edge_cases.json": json.dumps({"cases": found}).encode()}


def test_model_card_covers_purpose_data_metrics_limits_and_versions(binary_artefact: Path) -> None:
    card = (binary_artefact / "MODEL_CARD.md").read_text()
    manifest, _ = read_manifest(binary_artefact)
    assert card.startswith("# breast-cancer 1.0.0\n")
    for text in (
        "Malignant or benign from a tumour's cell measurements.",
        "| Author | Test Author |",
        "| Positive class | 1 |",
        "## Intended use\n\nTests of deployml.",
        "## Limitations\n\nA toy model.",
        "| mean radius | number, required | 0.0% |",
        "| Accuracy |",
        "| Threshold | Sensitivity (positive: 1) | Specificity (positive: 1) | PPV (positive: 1) "
        "| NPV (positive: 1) |",
        f"| scikit-learn | {manifest.provenance.packages['scikit-learn']} |",
        "deployml verify",
    ):
        assert text in card


def test_an_artefact_without_clinical_fields_shows_none_of_their_sections(
    binary_artefact: Path,
) -> None:
    manifest, sha256 = read_manifest(binary_artefact)
    bare = replace(manifest, subgroups=None, profiles=[], default_profile=None, parent=None)
    card = model_card(bare)
    page = card_page(bare, {}, sha256)
    for title, key in [
        ("Warnings", "warnings"),
        ("Subgroups", "subgroups"),
        ("Threshold profiles", "profiles"),
        ("Parent artefact", "parent"),
        ("Edge cases", "edge-cases"),
        ("Requirements", "requirements"),
        ("Plots", "plots"),
    ]:
        assert f"## {title}\n" not in card
        assert f'id="{key}"' not in page
    assert f"<code>{sha256}</code>" in page


def test_the_card_says_first_and_loudly_what_is_wrong(real: Manifest) -> None:
    manifest = clinical(real)
    card = model_card(manifest, cases())
    top = card[: card.index("## Model details")]
    assert "> **Warning:** Specificity 0.88 is below the baseline's 0.9." in top
    assert "> **Warning:** 1 of 2 edge cases fail: huge tumour (packaged anyway" in top
    assert "> **Warning:** Requirement brier<=0.05 fails: measured 0.061." in top
    page = card_page(manifest, cases())
    assert page.index('class="alerts"') < page.index('id="details"')
    assert "Requirement brier&lt;=0.05 fails: measured 0.061." in page


def test_every_sensitivity_specificity_ppv_and_npv_names_the_positive_class(real: Manifest) -> None:
    card = model_card(clinical(real), cases())
    card = card[card.index("## Model details") :]  # the warnings quote the metrics' own words
    for name in ("Sensitivity", "Specificity", "PPV", "NPV"):
        found = re.findall(rf"{name}\b.{{0,14}}", card)
        assert found, name
        assert all(f.startswith(f"{name} (positive: 1)") for f in found), found


def test_headline_metrics_show_intervals_the_method_prevalence_baseline_and_calibration(
    real: Manifest,
) -> None:
    card = model_card(clinical(real))
    for text in (
        "prevalence of 1: 0.6213",
        "| Metric | Value (interval) | Trivial baseline (majority class) |",
        "| ROC AUC | 0.97 (0.94 to 0.99) | 0.5 |",
        "| Sensitivity (positive: 1) | 0.93 (0.9 to 0.96) | 1 |",
        "| PPV (positive: 1) | 0.91 | n/a |",
        "Intervals: 95% percentile bootstrap, 1000 resamples, seed 0.",
        "(Brier score 0.061; lower is better), in quantile bins.",
        "| Bin | Mean predicted | Observed | Rows |",
        "| 2 | 0.95 | 0.97 | 135 |",
    ):
        assert text in card


def test_subgroups_are_one_table_with_the_worst_group_marked_and_small_groups_kept(
    real: Manifest,
) -> None:
    manifest = clinical(real)
    card = model_card(manifest)
    section = card[card.index("## Subgroups") : card.index("## Threshold profiles")]
    # Brier score is None in every group (as for a model without probabilities): no column.
    assert section.count("| Column | Group | n | Prevalence | ROC AUC | Accuracy |\n") == 1
    assert "| sex | F | 90 | 0.6 | 0.97 | 0.9 |" in section
    assert "| sex | M | 70 | 0.6 | **0.89 (0.82 to 0.95) (worst)** | 0.88 |" in section
    assert "| sex | X | 9 | 0.6 | too small: fewer than 30 rows |  |" in section
    assert "- ROC AUC: 0.08 by sex, between F (best) and M (worst)" in section
    assert "Groups under 30 rows count as too small." in section
    page = card_page(manifest)
    assert '<td class="marked">0.89 (0.82 to 0.95) (worst)</td>' in page
    # On the page a too-small group's reason spans its metric columns.
    assert '<td colspan="2">too small: fewer than 30 rows</td></tr>' in page


def test_a_regressor_s_groups_have_no_prevalence_and_a_multiclass_group_each_class_s_share(
    real: Manifest,
) -> None:
    subgroups = clinical(real).subgroups
    assert subgroups is not None
    column = subgroups["columns"][0]

    def with_prevalence(value: Any) -> Manifest:
        groups = [{**g, "prevalence": value} for g in column["groups"]]
        found = {**subgroups, "columns": [{**column, "groups": groups}]}
        return replace(clinical(real), subgroups=found)

    card = model_card(with_prevalence(None))
    assert "| Column | Group | n | ROC AUC | Accuracy |" in card
    assert "| sex | M | 70 | **0.89 (0.82 to 0.95) (worst)** | 0.88 |" in card
    card = model_card(with_prevalence({"a": 0.25, "b": 0.75}))
    assert "| Column | Group | n | Class shares | ROC AUC | Accuracy |" in card
    assert "| sex | M | 70 | a 0.25, b 0.75 | **0.89 (0.82 to 0.95) (worst)** | 0.88 |" in card


def test_profiles_say_how_and_on_what_data_their_threshold_was_chosen(real: Manifest) -> None:
    card = model_card(clinical(real))
    row = (
        "| site-b | `sensitivity>=0.9` | 0.31 | yes | site_b.csv: 412 rows, prevalence 0.12, "
        "2026-11-30, SHA-256 abababababab | 0.9 (0.85 to 0.95) | 0.8 | 0.4 | 0.98 | 27 |"
    )
    assert row in card
    assert "The server uses `site-b` unless a request names another." in card
    assert (
        f"Derived without retraining from breast-cancer 1.0.0, artefact SHA-256 `{'cd' * 32}`"
        in card
    )
    assert "profile site-b added" in card


def test_edge_cases_are_listed_case_by_case_and_requirements_with_their_verdict(
    real: Manifest,
) -> None:
    manifest = clinical(real)
    card = model_card(manifest, cases())
    assert "| tiny tumour | small & benign | label 1 | label 1, score 0.93 | PASS |" in card
    assert (
        "| huge tumour | should be flagged | score from 0 to 0.2 | label 1, score 0.7 | FAIL |"
        in card
    )
    assert "| `roc_auc>=0.80` | 0.97 | 0.94 to 0.99 | PASS |" in card
    assert "| `brier<=0.05` | 0.061 | n/a | FAIL |" in card
    # Without the file's contents (names only), the card still gives the count.
    assert "1 of 2 edge cases pass." in model_card(manifest, ["edge_cases.json"])
    assert "| tiny tumour |" not in model_card(manifest, ["edge_cases.json"])
    page = card_page(manifest, cases())
    assert '<td class="fail">FAIL</td>' in page and '<td class="pass">PASS</td>' in page


def test_a_regressor_s_edge_cases_show_a_range_of_its_prediction(real: Manifest) -> None:
    assert real.target is not None
    target = replace(real.target, task="regression", classes=None, positive_class=None)
    manifest = replace(clinical(real), target=target)
    found = [
        {
            "id": f"case-{i}",
            "note": "a note",
            "inputs": {},
            "expected": expected,
            "outcome": {"prediction": 5.821799770256, "score": None, "passed": True},
        }
        for i, expected in enumerate(
            [{"min": 3.0, "max": None}, {"min": None, "max": 6.0}, {"min": -2.0, "max": 6.5}]
        )
    ]
    card = model_card(manifest, {"edge_cases.json": json.dumps({"cases": found}).encode()})
    assert "| case-0 | a note | prediction at least 3 | prediction 5.822 | PASS |" in card
    assert "| case-1 | a note | prediction at most 6 | prediction 5.822 | PASS |" in card
    assert "| case-2 | a note | prediction from -2 to 6.5 | prediction 5.822 | PASS |" in card


def test_hostile_names_and_notes_are_escaped_in_the_page(real: Manifest) -> None:
    model = replace(real.model, name=HOSTILE, description="<img src=x onerror=alert(1)>")
    manifest = replace(clinical(real, name=HOSTILE), model=model)
    page = card_page(manifest, cases(note=HOSTILE), "ef" * 32)
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # MODEL_CARD.md passes no HTML either: a viewer that renders it shows the text.
    card = model_card(manifest, cases(note=HOSTILE))
    assert re.search(r"(?<!\\)<[a-z/]", card) is None
    assert '# \\<script>alert("x")\\</script> ' in card
    assert '| tiny tumour | \\<script>alert("x")\\</script> |' in card
    # A pipe in a name cannot break the Markdown table either.
    card = model_card(replace(manifest, subgroups=clinical(real, name="a|b").subgroups))
    assert "| a\\|b | F |" in card


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.links: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links += [(k, v or "") for k, v in attrs if k in ("src", "href", "action", "srcset")]


def test_the_page_loads_nothing_from_elsewhere_and_embeds_plots_as_data(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    captured = capture(pipeline_model, *patient_data[:2], details=ModelDetails(name="with-plots"))
    attachments = {"plots/roc_curve.png": PIXEL, "data/notes.txt": b"not an image"}
    out = package(replace(captured, attachments=attachments), tmp_path / "out")
    manifest = load_artefact(out).manifest
    files = card_files(out, manifest)
    assert files == {"plots/roc_curve.png": PIXEL}
    page = card_page(manifest, files)
    found = _Links()
    found.feed(page)
    assert not found.tags & {"script", "link", "iframe", "object", "embed", "base", "form"}
    assert ("src", "data:image/png;base64," + base64.b64encode(PIXEL).decode()) in found.links
    for name, value in found.links:
        assert value.startswith("#" if name == "href" else "data:image/"), (name, value)
    assert "http://" not in page and "https://" not in page and "url(" not in page


def test_card_files_refuse_a_plot_that_differs_from_its_hash(
    pipeline_model: Any, patient_data: PatientData, tmp_path: Path
) -> None:
    captured = capture(pipeline_model, *patient_data[:2], details=ModelDetails(name="with-plots"))
    out = package(replace(captured, attachments={"plots/roc.png": PIXEL}), tmp_path / "out")
    manifest, _ = read_manifest(out)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "plots" / "roc.png").write_bytes(PIXEL + b"x")
    with pytest.raises(IntegrityError, match=r"^plots/roc.png: differs from its SHA-256"):
        card_files(copy, manifest)
    (copy / "plots" / "roc.png").unlink()
    with pytest.raises(IntegrityError, match=r"^plots/roc.png: is missing"):
        card_files(copy, manifest)


# What a hand-edited manifest may hold where the card expects something else. The string and
# the list have two items, and the object two keys, so that reading one as [low, high] shows.
WRONG_TYPES: tuple[Any, ...] = ("ab", 5, None, ["a", "b"], {"a": 1, "b": 2})
FREE_FORM_EXAMPLES: list[tuple[tuple[Any, ...], Any]] = [
    (("metrics", "test", "per_class"), "x"),
    (("metrics", "test", "operating_points"), 5),
    (("subgroups", "bootstrap", "level"), None),
    (("profiles", 0, "metrics", "intervals"), "x"),
    (("metrics", "test", "worse_than_baseline"), 5),
]


def _free_form_paths(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    """Every leaf and sub-object under ``value`` (only the first item of a list)."""
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list) and value:
        children = [(0, value[0])]
    for key, child in children:
        yield (*path, key)
        yield from _free_form_paths(child, (*path, key))


def _replaced(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(data))
    *parents, last = path
    target = copy
    for key in parents:
        target = target[key]
    target[last] = value
    return copy


def _fuzzed_manifest(real: Manifest) -> dict[str, Any]:
    return json.loads(json.dumps(clinical(real).to_dict()))


def test_a_malformed_free_form_field_degrades_its_part_of_the_card_and_never_crashes(
    real: Manifest,
) -> None:
    data = _fuzzed_manifest(real)
    paths = [
        *_free_form_paths(data["metrics"], ("metrics",)),
        *_free_form_paths(data["subgroups"], ("subgroups",)),
        *(
            path
            for i, profile in enumerate(data["profiles"])
            for path in _free_form_paths(profile["metrics"], ("profiles", i, "metrics"))
        ),
    ]
    assert len(paths) > 80
    tried = 0
    for path in paths:
        for value in WRONG_TYPES:
            try:
                manifest = Manifest.from_dict(_replaced(data, path, value))
            except ManifestError:
                continue  # a typed field: the schema refuses it before the card reads it
            tried += 1
            card, page = model_card(manifest, cases()), card_page(manifest, cases())
            assert isinstance(card, str) and isinstance(page, str), path
            # Never guessed: two characters, two items or two keys are not an interval.
            assert "a to b" not in card, (path, value)
            assert card.count("## ") >= 10, (path, value)  # the rest of the card is there
    assert tried > 300


@pytest.mark.parametrize(("path", "value"), FREE_FORM_EXAMPLES)
def test_a_part_the_card_cannot_read_says_so_in_one_sentence(
    real: Manifest, path: tuple[Any, ...], value: Any
) -> None:
    manifest = Manifest.from_dict(_replaced(_fuzzed_manifest(real), path, value))
    card = model_card(manifest, cases())
    assert "recorded in a shape this deployml does not read; see manifest.json" in card
    assert "## Model details" in card and "## Inputs" in card
    assert "does not read; see manifest.json" in card_page(manifest, cases())


def test_the_server_serves_a_manifest_with_malformed_free_form_fields_its_card_degraded(
    real: Manifest, binary_artefact: Path, tmp_path: Path, client: Any
) -> None:
    """The card is built at start-up: a field it cannot read must not stop the server with a
    traceback (nor, being free-form, stop it at all)."""
    shaped = _fuzzed_manifest(real)
    for path, value in FREE_FORM_EXAMPLES:
        shaped = _replaced(shaped, path, value)
    copy = tmp_path / "artefact"
    shutil.copytree(binary_artefact, copy)
    data = json.loads((copy / "manifest.json").read_text())
    for key in ("metrics", "subgroups", "profiles", "default_profile"):
        data[key] = shaped[key]
    (copy / "manifest.json").write_text(json.dumps(data))
    served = client(copy)
    page = served.get("/")
    assert page.status_code == 200
    assert page.get_data(as_text=True).count("does not read; see manifest.json") >= 4
    assert served.get("/metadata").status_code == 200
    row = load_breast_cancer(as_frame=True).data.iloc[450].to_dict()
    answer = served.post("/predict", json={"instances": [row]})
    assert answer.status_code == 200, answer.get_json()
