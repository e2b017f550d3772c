"""The input features as ``deployml inspect`` prints them: one line each, and a warning when
the model uses what looks like a record identifier.

From format 4.0 on a line holds the input contract too: the unit, the plausible limits (a
request outside them is refused) before the range seen in training, whether a request may
leave the feature missing and whether the model then fills it in, whether it looks like an
identifier, which facts the author's data dictionary declared, and the description. A
manifest older than 4.0 recorded none of these: its lines are the ones it always had.
"""

from __future__ import annotations

from collections.abc import Iterable

from packager.artefact import FeatureSpec, for_people, limits_for_people

__all__ = ["feature_line", "identifier_lines"]

# The line is one line of a terminal: a long description is cut (the card shows it whole).
MAX_DESCRIPTION = 80
SHOWN_CATEGORIES = 8


def feature_line(feature: FeatureSpec, contract: bool) -> str:
    """What ``inspect`` says of ``feature`` after its name and kind; ``contract``: the
    manifest records the input contract (format 4.0 on)."""
    if not contract:
        return "; ".join([*_missing(feature, contract), *_values(feature, contract)])
    parts = [f"unit {_plain(feature.unit)}"] if feature.unit else []
    limits = limits_for_people(feature.plausible_min, feature.plausible_max)
    if limits:
        parts.append(f"plausible {limits}")
    parts += _values(feature, contract)
    parts += _missing(feature, contract)
    if feature.identifier:
        declared = "identifier" in feature.declared
        parts.append("an identifier (declared)" if declared else "looks like an identifier")
    if feature.declared:
        parts.append("declared: " + ", ".join(feature.declared_for_people()))
    if feature.description:
        parts.append(f'"{_plain(feature.description, MAX_DESCRIPTION)}"')
    return "; ".join(parts)


def identifier_lines(features: Iterable[FeatureSpec]) -> list[str]:
    """A warning naming the features that look like record identifiers, when there are any."""
    names = [repr(f.name) for f in features if f.identifier]
    if not names:
        return []
    which = "looks like a record identifier" if len(names) == 1 else "look like record identifiers"
    uses = "it" if len(names) == 1 else "them"
    return [f"WARNING:    {', '.join(names)} {which}, yet the model uses {uses}"]


def _missing(feature: FeatureSpec, contract: bool) -> list[str]:
    """Whether a request may leave it missing (and whether the model then fills it in), and
    how much of the training data was missing."""
    parts = []
    if contract and feature.imputed:
        parts.append(
            "nullable, filled in by the model"
            if feature.nullable
            else "required, though the model could fill it in"
        )
    elif feature.nullable:
        parts.append("nullable")
    if feature.missing_rate:
        parts.append(f"{feature.missing_rate:.0%} missing")
    return parts


def _values(feature: FeatureSpec, contract: bool) -> list[str]:
    """The range seen in training, or the categories (the first few)."""
    parts = []
    if feature.min is not None:
        seen = " in training" if contract else ""
        parts.append(f"{for_people(feature.min)} to {for_people(feature.max)}{seen}")
    if feature.categories is not None:
        shown = ", ".join(str(c) for c in feature.categories[:SHOWN_CATEGORIES])
        more = len(feature.categories) > SHOWN_CATEGORIES
        parts.append(shown + (f", ... ({len(feature.categories)} values)" if more else ""))
    return parts


def _plain(text: str, limit: int | None = None) -> str:
    """``text`` on one line: whitespace runs and unprintable characters become one space, and
    past ``limit`` characters it is cut with ``...``."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    if limit is not None and len(flat) > limit:
        return flat[: limit - 3].rstrip() + "..."
    return flat
