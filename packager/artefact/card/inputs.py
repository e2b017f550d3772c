"""The card's Inputs: a table of the features, and the warning about identifiers the model uses.

Each feature's kind, training range and share missing; from format 4.0 on also what its
author's data dictionary says (unit, description, plausible limits), what was found in the
model's pipeline (it fills in the feature when missing; it looks like a record identifier),
and which of these facts the author declared rather than left to inference. A column no
feature has a value for is left out, so an older manifest's table is the one it always had.

The fields are typed and checked when a manifest is read, but a manifest made in code may
hold anything: then the section says it cannot be read, as :mod:`shapes` does for the
free-form fields, and the rest of the card stands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from packager.artefact.card.blocks import Block, Section, Table, Text, code
from packager.artefact.card.shapes import Unread, number, read
from packager.artefact.manifest import FeatureSpec, Manifest
from packager.artefact.values import limits_for_people

__all__ = ["identifier_alerts", "inputs_section"]

IMPUTED = "filled in by the model when missing"
IMPUTED_REFUSED = "refused when missing, though the model could fill it in"
INFERRED = (
    "No data dictionary was given: every fact below was inferred from the training data and "
    "the model's pipeline."
)
DECLARED = (
    "Units, descriptions and plausible limits are the author's, from the data dictionary; the "
    "last column lists what the author declared of each feature. Everything else was inferred "
    "from the training data and the model's pipeline."
)
LIMITS = (
    "A request with a value outside a feature's plausible limits is refused; a value outside "
    "the range seen in training is answered with a warning."
)
SHOWN_CATEGORIES = 12

Cell = Callable[[FeatureSpec], str]


def inputs_section(manifest: Manifest) -> Section:
    """The Inputs section; one sentence in place of its table when it cannot be read."""
    return Section("Inputs", tuple(read("The inputs", lambda: _blocks(manifest))), "inputs")


def identifier_alerts(manifest: Manifest) -> tuple[str, ...]:
    """The warning that the model uses features that are (or look like) record identifiers."""
    if not manifest.records_input_contract:
        return ()
    names = [f.name for f in manifest.input.features if f.identifier is True]
    if not names:
        return ()
    shown = ", ".join(code(name) for name in names)
    if len(names) == 1:
        said = f"Feature {shown} looks like a record identifier, yet the model uses it"
    else:
        said = f"Features {shown} look like record identifiers, yet the model uses them"
    return (
        f"{said}: its predictions may follow how records were numbered rather than the "
        "patient. Check that this is intended (see Inputs).",
    )


def _blocks(manifest: Manifest) -> list[Block]:
    spec = manifest.input
    blocks: list[Block] = []
    if spec.names_generated:
        blocks.append(
            Text("Feature names were not given at training; they are generated (x0, x1, ...).")
        )
    columns: tuple[_Column, ...] = _OLD
    if manifest.records_input_contract:
        features = [_checked(f) for f in spec.features]
        columns = tuple(
            c for c in _CONTRACT if c.shown is None or any(c.shown(f) for f in features)
        )
        declared = any(f.declared for f in features)
        said = DECLARED if declared else INFERRED
        if any(_limits(f) for f in features):
            said += " " + LIMITS
        blocks.append(Text(said))
    head = tuple(c.title for c in columns)
    rows = tuple(tuple(c.cell(f) for c in columns) for f in spec.features)
    blocks.append(Table(head, rows))
    return blocks


def _checked(feature: FeatureSpec) -> FeatureSpec:
    """``feature``, when its contract fields hold what their types say; else Unread."""
    texts_ok = all(t is None or isinstance(t, str) for t in (feature.unit, feature.description))
    flags_ok = isinstance(feature.imputed, bool) and isinstance(feature.identifier, bool)
    keys = feature.declared
    keys_ok = isinstance(keys, Sequence) and not isinstance(keys, str)
    if not (texts_ok and flags_ok and keys_ok and all(isinstance(k, str) for k in keys)):
        raise Unread
    number(feature.plausible_min), number(feature.plausible_max)
    return feature


def _kind(feature: FeatureSpec) -> str:
    return f"{feature.kind}{'' if feature.nullable else ', required'}"


def _values(feature: FeatureSpec) -> str:
    """The categories seen in training (the first few), or the range of the numbers."""
    if feature.categories is not None:
        shown = ", ".join(str(c) for c in feature.categories[:SHOWN_CATEGORIES])
        more = len(feature.categories) - SHOWN_CATEGORIES
        return shown + (f", ... ({more} more)" if more > 0 else "")
    if feature.min is not None:
        return f"{number(feature.min)} to {number(feature.max)}"
    return ""


def _limits(feature: FeatureSpec) -> str:
    return limits_for_people(feature.plausible_min, feature.plausible_max)


def _notes(feature: FeatureSpec) -> str:
    """What the model does when the feature is missing, and whether it is an identifier."""
    notes = []
    if feature.imputed:
        notes.append(IMPUTED if feature.nullable else IMPUTED_REFUSED)
    if feature.identifier:
        declared = "identifier" in feature.declared
        notes.append(
            "a record identifier, as its author declared"
            if declared
            else "looks like a record identifier"
        )
    return "; ".join(notes)


def _declared(feature: FeatureSpec) -> str:
    return ", ".join(feature.declared_for_people()) or "none"


class _Column(NamedTuple):
    """A column of the table: its title, its cell, and whether a feature gives it a value
    (None: always shown)."""

    title: str
    cell: Cell
    shown: Callable[[FeatureSpec], object] | None = None


_FEATURE = _Column("Feature", lambda f: f.name)
_KIND = _Column("Kind", _kind)
_MISSING = _Column("Missing in training", lambda f: f"{f.missing_rate:.1%}")
_RANGE = _Column("Range or values", _values)
# An older manifest's table: the four columns of its time.
_OLD = (_FEATURE, _KIND, _MISSING, _RANGE)
_CONTRACT = (
    _FEATURE,
    _KIND,
    _Column("Unit", lambda f: f.unit or "", lambda f: f.unit),
    _Column("Plausible limits", _limits, _limits),
    _MISSING,
    _RANGE,
    _Column("Description", lambda f: f.description or "", lambda f: f.description),
    _Column("Notes", _notes, _notes),
    _Column("Declared by the author", _declared, lambda f: f.declared),
)
