"""The card's facts, computed once from the manifest: every section in the order it is read.

Both renderings (Markdown for MODEL_CARD.md, the HTML page) draw this one :class:`Card`, so
they cannot disagree. Fields an older artefact lacks (subgroups, profiles, edge cases,
requirements) make no section rather than an empty one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from packager.artefact.card.blocks import Block, Card, Figure, Items, Section, Table, Text, code
from packager.artefact.card.checks import alerts, checks_sections, edge_cases_of
from packager.artefact.card.inputs import identifier_alerts, inputs_section
from packager.artefact.card.performance import performance
from packager.artefact.card.subgroups import evaluation_sections
from packager.artefact.card.training import training_section
from packager.artefact.manifest import PLOTS_DIR, Manifest
from packager.artefact.values import for_people

__all__ = ["NOT_STATED", "build_card", "plot_names"]

NOT_STATED = "Not stated by the model's author."
IMAGE_SUFFIXES = (".png", ".svg")


def build_card(
    manifest: Manifest, files: Iterable[str] | Mapping[str, bytes] = (), sha256: str | None = None
) -> Card:
    """The card of ``manifest``. ``files`` are the artefact's other files: their names, or
    their contents by name (then the edge cases are shown case by case)."""
    contents = files if isinstance(files, Mapping) else {}
    cases = edge_cases_of(manifest, contents)
    m = manifest.model
    sections = [
        _details(manifest),
        Section("Intended use", (_stated(m.intended_use),), "intended-use"),
        Section("Limitations", (_stated(m.limitations),), "limitations"),
        *_data(manifest),
        *performance(manifest),
        *evaluation_sections(manifest),
        *checks_sections(manifest, cases),
        *_plots(plot_names(files)),
        inputs_section(manifest),
        *_target(manifest),
        *training_section(manifest.training),
        _not_recorded(manifest),
        _software(manifest),
        _integrity(sha256),
    ]
    return Card(
        title=f"{m.name} {m.version}",
        summary=m.description or NOT_STATED,
        alerts=(*alerts(manifest, cases), *identifier_alerts(manifest)),
        sections=tuple(s for s in sections if s.blocks),
        sha256=sha256,
    )


def _stated(text: str | None) -> Text:
    return Text(text) if text else Text(NOT_STATED, "note")


def _rows(n: int | None) -> str:
    return "not recorded" if n is None else f"{n} rows"


def _details(manifest: Manifest) -> Section:
    m, target = manifest.model, manifest.target
    rows = [
        ("Task", target.task if target else "unknown"),
        ("Predicts", target.name if target and target.name else "not recorded"),
    ]
    if target is not None and target.positive_class is not None:
        rows.append(("Positive class", str(target.positive_class)))
    rows += [
        ("Estimator", code(manifest.estimator.class_name)),
        ("Trained on", _rows(manifest.estimator.n_training_rows)),
        ("Created (UTC)", m.created_at),
        ("Author", m.author or "not stated"),
        ("Organisation", m.organisation or "not stated"),
        ("Contact", m.contact or "not stated"),
        ("Artefact format", manifest.format_version),
    ]
    return Section("Model details", (Table((), tuple(rows)),), "details")


def _data(manifest: Manifest) -> list[Section]:
    """Where the training data came from, when ``deployml train`` recorded it."""
    data = (manifest.training or {}).get("data")
    if not isinstance(data, dict):
        return []
    source = code(data["source"]) if data.get("source") else "a DataFrame"
    text = f"Trained from {source}: {data.get('rows')} rows, {data.get('columns')} columns."
    if data.get("sha256"):
        text += f" SHA-256 of the file: {code(data['sha256'])}."
    return [Section("Data", (Text(text),), "data")]


def _target(manifest: Manifest) -> list[Section]:
    target = manifest.target
    if target is None:
        return []
    blocks: list[Block] = []
    if target.class_balance:
        rows = tuple((str(k), f"{v:.1%}") for k, v in target.class_balance.items())
        blocks.append(Table(("Class", "Share of training rows"), rows))
    elif target.classes:
        blocks.append(Text("Classes: " + ", ".join(str(c) for c in target.classes)))
    if target.summary:
        rows = tuple((k, for_people(v)) for k, v in target.summary.items())
        blocks.append(Table(("Statistic", "Value"), rows))
    return [Section("Target", tuple(blocks), "target")]


def plot_names(files: Iterable[str]) -> list[str]:
    """The images under plots/ among ``files``, in name order."""
    return sorted(
        name
        for name in files
        if PurePosixPath(name).parts[:1] == (PLOTS_DIR,) and name.lower().endswith(IMAGE_SUFFIXES)
    )


def _plots(names: list[str]) -> list[Section]:
    figures = []
    for name in names:
        words = PurePosixPath(name).stem.replace("_", " ").replace("-", " ")
        # Only the first letter is raised, so that ROC_curve.png reads "ROC curve".
        figures.append(Figure(name, words[:1].upper() + words[1:]))
    return [Section("Plots", tuple(figures), "plots")] if figures else []


def _not_recorded(manifest: Manifest) -> Section:
    if not manifest.missing:
        return Section(
            "What is not recorded", (Text("Nothing: every field was captured."),), "missing"
        )
    return Section("What is not recorded", (Items(tuple(manifest.missing)),), "missing")


def _software(manifest: Manifest) -> Section:
    p = manifest.provenance
    blocks: list[Block] = [
        Text(f"Python {p.python} on {p.platform}."),
        Table(("Package", "Version"), tuple(p.packages.items())),
    ]
    if p.git_commit:
        dirty = " (with uncommitted changes)" if p.git_dirty else ""
        blocks.append(Text(f"Training code: git commit {code(p.git_commit)}{dirty}."))
    blocks.append(Text(f"Packaged with deployml {p.deployml_version}."))
    return Section("Software", tuple(blocks), "software")


def _integrity(sha256: str | None) -> Section:
    blocks: list[Block] = []
    if sha256 is not None:
        blocks.append(Text(f"Artefact SHA-256 (of manifest.json): {code(sha256)}."))
    blocks.append(
        Text(
            "manifest.json lists the SHA-256 of every other file. Run `deployml verify` on this "
            "directory to check them, the package versions, and that the model still gives the "
            "recorded outputs for the rows stored with it (its self-test, examples and edge "
            "cases, whichever it holds)."
        )
    )
    return Section("Integrity", tuple(blocks), "integrity")
