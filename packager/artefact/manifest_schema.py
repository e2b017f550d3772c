"""The structure of ``manifest.json`` and ``examples.json``, checked on read with marshmallow.

A file that breaks it becomes a one-line :class:`~packager.errors.ManifestError` naming the
field (``input.features[3].min must be a number``), never a traceback later. The manifest's
schemas are made from the classes' type hints in ``manifest.py``, so a field added there is
checked with no line here; ``_OVERRIDES`` says more where a type says too little. Keys no
schema knows are left out (a newer minor's fields), except in the free-form ``metrics``,
``training`` and ``subgroups``, which keep them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import MISSING
from functools import partial
from types import NoneType, UnionType
from typing import Any, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, post_load
from marshmallow.validate import OneOf, Range, Regexp

from packager.artefact.manifest import (
    EXAMPLES_FILE,
    MANIFEST_FILE,
    FeatureSpec,
    FileRecord,
    InputSpec,
    Manifest,
    check_format_version,
)
from packager.artefact.schema.drift import FeatureBins, drift_problem
from packager.artefact.values import INT64, json_path, unusable_value
from packager.errors import ManifestError

__all__ = ["MAX_DEPTH", "ManifestSchema", "check_examples", "manifest_from_dict", "schema_for"]

# Deepest nesting of objects and lists accepted in either file. A real manifest's deepest
# point (nested pipelines' params) is about 15 levels; past this is hostile, and would
# overflow the recursion of the readers that follow (copying, printing, serving).
MAX_DEPTH = 64

_COMMON = {"required": "is required", "null": "must not be null"}


def _field(base: type[fields.Field[Any]], **messages: str) -> Any:
    """``base`` with messages that read after a field's path (``model must be an object``)."""
    return type(base.__name__, (base,), {"default_error_messages": {**_COMMON, **messages}})


_Text = _field(fields.String, invalid="must be a string")
_List = _field(fields.List, invalid="must be a list")
_Object = _field(fields.Dict, invalid="must be an object")
_Nested = _field(fields.Nested, type="must be an object")


class _Typed(fields.Field[Any]):
    """A JSON value of exactly ``types`` (a bool is not a number), returned as it is."""

    default_error_messages = {**_COMMON}  # noqa: RUF012

    def __init__(self, types: tuple[type, ...], expected: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.types = types
        self.expected = expected

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, self.types) or (
            isinstance(value, bool) and bool not in self.types
        ):
            raise ValidationError(f"must be {self.expected}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"must be {self.expected}, not NaN or infinite")
        if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
            raise ValidationError("is a number beyond 64 bits")
        return value


_number = partial(_Typed, (int, float), "a number")
_boolean = partial(_Typed, (bool,), "true or false")
_label = partial(_Typed, (str, int, float, bool), "a string, number or boolean")
# Every whole number of the manifest counts something.
_count = partial(_Typed, (int,), "a whole number", validate=Range(0, error="must not be negative"))


class _Schema(Schema):
    """Unknown keys are left out (a newer minor's fields); ``built`` is made from the rest."""

    built: ClassVar[Callable[..., Any] | None] = None
    error_messages = {"type": "must be an object"}  # noqa: RUF012

    class Meta:
        unknown = EXCLUDE

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return data if self.built is None else self.built(**data)


class _FreeForm(_Schema):
    """An open-ended object: the keys readers use are typed, any others are kept as given."""

    class Meta:
        unknown = INCLUDE


def _free_form(**declared: Any) -> Any:
    return _FreeForm.from_dict(declared)


# The free-form objects: what inspect and /metadata read is typed, the rest kept as it is.
_METRICS = _free_form(
    test=_Object(keys=_Text(), allow_none=True),
    learning_curve=_Object(keys=_Text(), allow_none=True),
    cross_validation=_Nested(
        _free_form(
            folds=_count(required=True),
            scoring=_Text(required=True),
            scores=_List(_number(allow_none=True)),
            mean=_number(required=True, allow_none=True),
            std=_number(required=True, allow_none=True),
        ),
        allow_none=True,
    ),
)
_TRAINING_DATA = _free_form(
    source=_Text(allow_none=True),
    sha256=_Text(allow_none=True),
    rows=_count(required=True),
    columns=_count(),
    rows_without_target=_count(),
)
_TRAINING = _free_form(
    data=_Nested(_TRAINING_DATA, required=True),
    model=_Text(required=True),
    dropped_columns=_Object(keys=_Text(), values=_Text(), required=True),
    warnings=_List(_Text(), required=True),
    **{key: _Text() for key in ("target", "task", "task_reason")},
    **{key: _Object(keys=_Text()) for key in ("features", "options", "split")},
    search=_Object(keys=_Text(), allow_none=True),
)

# Fields whose type says less than the format does; every other field's schema comes from
# its type in packager/artefact/manifest.py. One line each.
_OVERRIDES: dict[tuple[type, str], fields.Field[Any]] = {
    (FeatureSpec, "missing_rate"): _number(validate=Range(0, 1, error="must be from 0 to 1")),
    (FileRecord, "sha256"): _Text(
        required=True, validate=Regexp("^[0-9a-f]{64}$", error="must be 64 hex digits")
    ),
    (Manifest, "metrics"): _Nested(_METRICS, allow_none=True),
    (Manifest, "training"): _Nested(_TRAINING, allow_none=True),
    (FeatureBins, "categories"): _List(_label(), required=True),
}


def _checked_input(**data: Any) -> InputSpec:
    """An InputSpec with at least one feature, and no name twice."""
    features = tuple(data["features"])
    if not features:
        raise ValidationError("must list at least one feature", "features")
    seen: set[str] = set()
    for i, feature in enumerate(features):
        if feature.name in seen:
            raise ValidationError(f"repeat a feature's name (at position {i})", "features")
        seen.add(feature.name)
    return InputSpec(**{**data, "features": features})


_BUILDERS: dict[type, Callable[..., Any]] = {InputSpec: _checked_input}


def schema_for(cls: type) -> type[Schema]:
    """The schema of a manifest class: one field per dataclass field, typed from its hints.

    A field without a default is required; one that may be None may be null; an absent one
    takes the class's default.
    """
    hints = get_type_hints(cls, localns={"FeatureBins": FeatureBins})
    declared = {
        f.name: _OVERRIDES.get((cls, f.name))
        or _typed(hints[f.name], required=f.default is MISSING and f.default_factory is MISSING)
        for f in dataclasses.fields(cls)
    }
    built = _BUILDERS.get(cls, cls)
    return type(f"{cls.__name__}Schema", (_Schema,), {"built": staticmethod(built), **declared})


def _typed(hint: Any, **kwargs: Any) -> fields.Field[Any]:
    """The field for a type hint of the manifest classes."""
    args = [a for a in get_args(hint) if a is not NoneType]
    if get_origin(hint) in (Union, UnionType) and len(args) < len(get_args(hint)):
        inner = args[0] if len(args) == 1 else Union[tuple(args)]  # noqa: UP007
        return _typed(inner, allow_none=True, **kwargs)
    if set(args) == {str, int, float, bool}:
        return _label(**kwargs)
    if get_origin(hint) is Literal:
        error = f"must be one of {', '.join(args)}"
        return _Text(validate=OneOf(args, error=error), **kwargs)
    if get_origin(hint) in (list, tuple):
        return _List(_typed(args[0]), **kwargs)
    if get_origin(hint) is dict:
        values = None if args[1] is Any else _typed(args[1])
        return _Object(keys=_Text(), values=values, **kwargs)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _Nested(schema_for(hint), **kwargs)
    simple = {str: _Text, bool: _boolean, int: _count, float: _number}
    return simple[hint](**kwargs)


ManifestSchema = schema_for(Manifest)


class ExamplesSchema(_Schema):
    """``examples.json``: rows of JSON scalars keyed by feature, with outputs row for row."""

    inputs = _List(_Object(keys=_Text(), values=_label(allow_none=True)), required=True)
    predictions = _List(_label(allow_none=True), required=True)
    probabilities = _List(_List(_number(allow_none=True)), allow_none=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        rows = len(data["inputs"])
        if len(data["predictions"]) != rows:
            raise ValidationError("must be a list as long as inputs", "predictions")
        if data.get("probabilities") is not None and len(data["probabilities"]) != rows:
            raise ValidationError("must be null or a list as long as inputs", "probabilities")
        return data


_MANIFEST = ManifestSchema()
_EXAMPLES = ExamplesSchema()


def manifest_from_dict(data: Any, source: str = MANIFEST_FILE) -> Manifest:
    """The manifest in ``data`` (parsed JSON), refusing a newer major or any malformed field."""
    if not isinstance(data, dict):
        raise ManifestError(source, "must hold a JSON object")
    version = data.get("format_version")
    if not isinstance(version, str):
        raise ManifestError(source, "format_version must be a string")
    # Before the structure: a newer major may have changed it, and must be named as such.
    check_format_version(version)
    if "example_rows" not in data:
        # Format 1.x: its examples.json held real rows, published as such.
        files = data.get("files")
        listed = isinstance(files, dict) and EXAMPLES_FILE in files
        data = {**data, "example_rows": "real" if listed else "none"}
    manifest: Manifest = _load(_MANIFEST, data, source)
    found = drift_problem(manifest.drift, manifest.input.names)
    if found is not None:
        raise ManifestError(source, f"{json_path(['drift', *found[0]])} {found[1]}")
    # The typed fields hold nothing deep or out of range; the free-form ones may.
    free_form = {
        "estimator.params": manifest.estimator.params,
        "metrics": manifest.metrics,
        "training": manifest.training,
        "subgroups": manifest.subgroups,
    }
    for path, value in free_form.items():
        found = unusable_value(value, MAX_DEPTH)
        if found is not None:
            raise ManifestError(source, f"{json_path([path, *found[0]])} {found[1]}")
    return manifest


def check_examples(data: Any, source: str = EXAMPLES_FILE) -> dict[str, Any]:
    """``examples.json``'s parsed content, checked: ``inputs``, ``predictions`` and
    ``probabilities`` (null when absent)."""
    if not isinstance(data, dict):
        raise ManifestError(source, "must hold a JSON object")
    checked: dict[str, Any] = _load(_EXAMPLES, data, source)
    return {"probabilities": None, **checked}


def _load(schema: Schema, data: dict[str, Any], source: str) -> Any:
    try:
        return schema.load(data)
    except ValidationError as error:
        keys, problem = _first_problem(error.messages)
        raise ManifestError(source, f"{json_path(keys)} {problem}" if keys else problem) from None


def _first_problem(messages: Any) -> tuple[list[Any], str]:
    """The first error in marshmallow's nested messages, and the keys leading to it."""
    keys: list[Any] = []
    while isinstance(messages, dict | list) and messages:
        if isinstance(messages, list):
            messages = messages[0]
            continue
        key, messages = next(iter(messages.items()))
        if key not in ("_schema", "key", "value"):  # the object itself, a mapping's key or value
            keys.append(key)
    return keys, str(messages)
