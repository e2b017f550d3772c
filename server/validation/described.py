"""The marshmallow field of each feature: the value check that words a row's problems, and
what an OpenAPI generator (apispec) needs to describe the feature.

Each kind has its own subclass of a marshmallow field (``Float``, ``Integer``, ``String``,
``Boolean``, or ``Raw`` for categories), so apispec's MarshmallowPlugin maps its JSON type
from the class; the loading itself is only the feature's check
(:mod:`server.validation.checks`), never marshmallow's conversion. The field's ``metadata``
holds the rest, in the keys apispec copies into the property: the hard limits (plausible
limits, and the range of a narrow training type) as ``minimum``/``maximum``; the categories as
``enum`` only where an unseen one is refused (else listed in the description, since they are
only warned of); the data dictionary's unit and description; the training range as
``x-training-range`` (a warning, not a limit); and the typical synthetic value as its example.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields

from packager.artefact import FeatureSpec, for_people
from server.validation import checks

__all__ = ["feature_field"]

# The JSON Schema types of a category's training values (JSON does not keep 1 and 1.0 apart).
_CATEGORY_TYPES = {str: "string", bool: "boolean", int: "number", float: "number"}


class _Checked(fields.Field[Any]):
    """A field that accepts exactly what the feature's check accepts, and returns it as sent."""

    def __init__(self, check: checks.Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        problem = self.check(value)
        if problem is not None:
            raise ValidationError(problem)
        return value


# The base classes after _Checked only name the JSON type to apispec: _Checked's loading wins.
class NumberField(_Checked, fields.Float):
    """A ``number`` feature."""


class IntegerField(_Checked, fields.Integer):
    """An ``integer`` feature."""


class StringField(_Checked, fields.String):
    """A ``string`` feature."""


class BooleanField(_Checked, fields.Boolean):
    """A ``boolean`` feature."""


class CategoryField(_Checked, fields.Raw):
    """A ``category`` feature: its type (or types) come from its training categories."""


_FIELDS: dict[str, type[_Checked]] = {
    "number": NumberField,
    "integer": IntegerField,
    "string": StringField,
    "boolean": BooleanField,
    "category": CategoryField,
}


def feature_field(
    feature: FeatureSpec, check: checks.Check, *, refuse_unseen: bool, example: Any
) -> fields.Field[Any]:
    """The field of ``feature``, keyed by its name in a row."""
    return _FIELDS[feature.kind](
        check,
        data_key=feature.name,
        required=True,
        allow_none=feature.nullable,
        error_messages={"required": checks.MISSING, "null": checks.null_problem(feature)},
        metadata=_described(feature, refuse_unseen=refuse_unseen, example=example),
    )


def _described(feature: FeatureSpec, *, refuse_unseen: bool, example: Any) -> dict[str, Any]:
    """The facts of ``feature`` an OpenAPI property holds, in the keys apispec copies."""
    said: list[str] = []
    if feature.description:
        text = feature.description.strip()
        said.append(text if text.endswith(".") else f"{text}.")
    if feature.unit:
        said.append(f"Unit: {feature.unit}.")
    found: dict[str, Any] = {"title": feature.name}
    if feature.kind in ("number", "integer"):
        found.update(_limits(feature))
        if feature.min is not None and feature.max is not None:
            found["x-training-range"] = [feature.min, feature.max]
            said.append(
                f"Seen in training: {for_people(feature.min)} to {for_people(feature.max)}; "
                "a value outside is warned of, not refused."
            )
    categories = feature.categories or []
    if feature.kind == "category":
        types = sorted({_CATEGORY_TYPES[type(c)] for c in categories} or {"string"})
        found["type"] = types[0] if len(types) == 1 else types
        if categories and refuse_unseen:
            # An enum holds every accepted value: null too, where the feature takes it.
            found["enum"] = [*categories, None] if feature.nullable else list(categories)
        elif categories:
            listed = ", ".join(str(c) for c in categories)
            said.append(f"Categories seen in training: {listed}; unseen values are warned of.")
    if feature.nullable:
        said.append("May be null (sent as missing).")
    if feature.unit:
        found["x-unit"] = feature.unit
    if said:
        found["description"] = " ".join(said)
    if example is not None:
        found["examples"] = [example]
    return found


def _limits(feature: FeatureSpec) -> dict[str, Any]:
    """The hard limits of a number: its plausible limits, within its training type's range."""
    low: float | None = None
    high: float | None = None
    bounds = checks.type_bounds(feature)
    if bounds is not None:
        low, high = bounds.low, bounds.high
    limits = checks.plausible_limits(feature)
    if limits is not None:
        if feature.plausible_min is not None:
            low = limits.low if low is None else max(low, limits.low)
        if feature.plausible_max is not None:
            high = limits.high if high is None else min(high, limits.high)
    found: dict[str, Any] = {}
    if low is not None:
        found["minimum"] = low
    if high is not None:
        found["maximum"] = high
    return found
