"""The structure of ``manifest.json`` and ``examples.json``, checked on read with marshmallow.

Every field documented in ``docs/artefact-format.md`` has its type here; a file that breaks
one becomes a one-line :class:`~packager.errors.ManifestError` naming the field (for
example ``input.features[3].min must be a number``), never a traceback later. Fields a
schema does not know are left out, so a newer minor version's additions are ignored (the
free-form ``metrics`` and ``training`` keep them). Adding a field to a manifest class means
adding one line to its schema here; ``tests/test_artefact_manifest_schema.py`` fails while a
field of the classes has no line.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, get_args

from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, post_load
from marshmallow.validate import OneOf, Range, Regexp

from packager.artefact.manifest import (
    EXAMPLES_FILE,
    MANIFEST_FILE,
    EstimatorInfo,
    FeatureSpec,
    FileRecord,
    InputFormat,
    InputSpec,
    Kind,
    Manifest,
    ModelFile,
    ModelInfo,
    Provenance,
    Serializer,
    TargetSpec,
    Task,
    check_format_version,
)
from packager.errors import ManifestError

__all__ = ["MAX_DEPTH", "check_examples", "manifest_from_dict"]

# Deepest nesting of objects and lists accepted in either file. A real manifest's deepest
# point (nested pipelines' params) is about 15 levels; past this is hostile, and would
# overflow the recursion of the readers that follow (copying, printing, serving).
MAX_DEPTH = 64
_PATH_PART = 60  # characters of a key shown in an error's field path
_INT64 = (-(2**63), 2**63 - 1)  # what numpy and the JSON writers hold

_COMMON = {"required": "is required", "null": "must not be null"}


class _Text(fields.String):
    default_error_messages = {**_COMMON, "invalid": "must be a string"}  # noqa: RUF012


class _Typed(fields.Field[Any]):
    """A JSON value of exactly the ``types`` (a bool is not a number), returned as it is."""

    default_error_messages = {**_COMMON}  # noqa: RUF012
    types: ClassVar[tuple[type, ...]] = ()
    expected: ClassVar[str] = ""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, self.types) or (
            isinstance(value, bool) and bool not in self.types
        ):
            raise ValidationError(f"must be {self.expected}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(f"must be {self.expected}, not NaN or infinite")
        if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
            raise ValidationError("is a number beyond 64 bits")
        return value


class _Number(_Typed):
    types = (int, float)
    expected = "a number"


class _Integer(_Typed):
    types = (int,)
    expected = "a whole number"


class _Boolean(_Typed):
    types = (bool,)
    expected = "true or false"


class _Label(_Typed):
    """A class label or category: a JSON string, number or boolean."""

    types = (str, int, float, bool)
    expected = "a string, number or boolean"


class _List(fields.List):
    default_error_messages = {**_COMMON, "invalid": "must be a list"}  # noqa: RUF012


class _Object(fields.Dict):
    default_error_messages = {**_COMMON, "invalid": "must be an object"}  # noqa: RUF012


class _Nested(fields.Nested):
    default_error_messages = {**_COMMON, "type": "must be an object"}  # noqa: RUF012


def _choice(literal: Any, **kwargs: Any) -> _Text:
    allowed = get_args(literal)
    return _Text(validate=OneOf(allowed, error=f"must be one of {', '.join(allowed)}"), **kwargs)


def _count(**kwargs: Any) -> _Integer:
    return _Integer(validate=Range(min=0, error="must not be negative"), **kwargs)


def _optional(field: fields.Field[Any]) -> fields.Field[Any]:
    """``field``, which may also be null (and absent, unless it is ``required``)."""
    field.allow_none = True
    return field


class _Schema(Schema):
    """Unknown keys are left out (a newer minor's fields); ``built`` is made from the rest.

    Keys absent from the file take the class's default, so only fields without one are
    ``required``.
    """

    built: ClassVar[type | None] = None
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


class FeatureSchema(_Schema):
    built = FeatureSpec
    name = _Text(required=True)
    kind = _choice(Kind, required=True)
    nullable = _Boolean(required=True)
    dtype = _Text(required=True)
    missing_rate = _Number(validate=Range(0, 1, error="must be from 0 to 1"))
    min = _optional(_Number())
    max = _optional(_Number())
    quantiles = _optional(_Object(keys=_Text(), values=_optional(_Number())))
    categories = _optional(_List(_Label()))


class InputSchema(_Schema):
    format = _choice(InputFormat, required=True)
    names_generated = _Boolean(load_default=False)
    features = _List(_Nested(FeatureSchema), required=True)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> InputSpec:
        # Here, not in a validator: post_load runs only once every feature is well formed.
        features = tuple(data["features"])
        if not features:
            raise ValidationError("must list at least one feature", "features")
        seen: set[str] = set()
        for i, feature in enumerate(features):
            if feature.name in seen:
                raise ValidationError(f"repeat a feature's name (at position {i})", "features")
            seen.add(feature.name)
        return InputSpec(**{**data, "features": features})


class TargetSchema(_Schema):
    built = TargetSpec
    task = _choice(Task, required=True)
    name = _optional(_Text())
    classes = _optional(_List(_Label()))
    class_balance = _optional(_Object(keys=_Text(), values=_Number()))
    summary = _optional(_Object(keys=_Text(), values=_optional(_Number())))


class ModelSchema(_Schema):
    built = ModelInfo
    name = _Text(required=True)
    version = _Text(required=True)
    created_at = _Text(required=True)
    description = _optional(_Text())
    author = _optional(_Text())
    organisation = _optional(_Text())
    contact = _optional(_Text())
    intended_use = _optional(_Text())
    limitations = _optional(_Text())


class ModelFileSchema(_Schema):
    built = ModelFile
    path = _Text(required=True)
    serializer = _choice(Serializer, required=True)


class EstimatorSchema(_Schema):
    built = EstimatorInfo
    class_name = _Text(required=True)
    params = _Object(keys=_Text(), required=True)
    n_training_rows = _optional(_count())


class ProvenanceSchema(_Schema):
    built = Provenance
    python = _Text(required=True)
    platform = _Text(required=True)
    packages = _Object(keys=_Text(), values=_Text(), required=True)
    deployml_version = _Text(required=True)
    git_commit = _optional(_Text())
    git_dirty = _optional(_Boolean())


class FileRecordSchema(_Schema):
    built = FileRecord
    sha256 = _Text(required=True, validate=Regexp("^[0-9a-f]{64}$", error="must be 64 hex digits"))
    bytes = _count(required=True)


class CrossValidationSchema(_FreeForm):
    folds = _count(required=True)
    scoring = _Text(required=True)
    scores = _List(_optional(_Number()))
    mean = _optional(_Number(required=True))
    std = _optional(_Number(required=True))


class MetricsSchema(_FreeForm):
    test = _optional(_Object(keys=_Text()))
    cross_validation = _optional(_Nested(CrossValidationSchema))
    learning_curve = _optional(_Object(keys=_Text()))


class TrainingDataSchema(_FreeForm):
    source = _optional(_Text())
    sha256 = _optional(_Text())
    rows = _count(required=True)
    columns = _count()
    rows_without_target = _count()


class SplitSchema(_FreeForm):
    train_rows = _count(required=True)
    test_rows = _count(required=True)
    stratified = _Boolean()


class FeatureListsSchema(_FreeForm):
    numeric = _List(_Text(), required=True)
    categorical = _List(_Text(), required=True)


class SearchSchema(_FreeForm):
    scoring = _Text(required=True)
    folds = _count(required=True)
    best_params = _Object(keys=_Text(), required=True)
    best_score = _optional(_Number())
    candidates = _List(_Object(keys=_Text()), required=True)


class TrainingSchema(_FreeForm):
    """``training``: what ``deployml train`` writes; the keys every reader shows are required."""

    data = _Nested(TrainingDataSchema, required=True)
    model = _Text(required=True)
    dropped_columns = _Object(keys=_Text(), values=_Text(), required=True)
    warnings = _List(_Text(), required=True)
    target = _Text()
    task = _Text()
    task_reason = _Text()
    features = _Nested(FeatureListsSchema)
    options = _Object(keys=_Text())
    split = _Nested(SplitSchema)
    search = _optional(_Nested(SearchSchema))


class ManifestSchema(_Schema):
    built = Manifest
    format_version = _Text(required=True)
    model = _Nested(ModelSchema, required=True)
    model_file = _Nested(ModelFileSchema, required=True)
    estimator = _Nested(EstimatorSchema, required=True)
    input = _Nested(InputSchema, required=True)
    provenance = _Nested(ProvenanceSchema, required=True)
    target = _optional(_Nested(TargetSchema))
    metrics = _optional(_Nested(MetricsSchema))
    training = _optional(_Nested(TrainingSchema))
    missing = _List(_Text())
    files = _Object(keys=_Text(), values=_Nested(FileRecordSchema))


class ExamplesSchema(_Schema):
    """``examples.json``: rows of JSON scalars keyed by feature, with outputs row for row."""

    inputs = _List(_Object(keys=_Text(), values=_optional(_Label())), required=True)
    predictions = _List(_optional(_Label()), required=True)
    probabilities = _optional(_List(_List(_optional(_Number()))))

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
    manifest: Manifest = _load(_MANIFEST, data, source)
    # The typed fields hold nothing deep or out of range; the free-form ones may.
    free_form = {
        "estimator.params": manifest.estimator.params,
        "metrics": manifest.metrics,
        "training": manifest.training,
    }
    for path, value in free_form.items():
        _check_values(value, source, path)
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
        path, problem = _first_problem(error.messages)
        raise ManifestError(source, f"{_short(path)} {problem}" if path else problem) from None


def _first_problem(messages: Any, path: str = "") -> tuple[str, str]:
    """The first error in marshmallow's nested messages, with its field path."""
    if isinstance(messages, list | tuple):
        first = messages[0]
        return _first_problem(first, path) if isinstance(first, dict) else (path, str(first))
    if not isinstance(messages, dict):
        return path, str(messages)
    key, inner = next(iter(messages.items()))
    if key in ("_schema", "value"):  # the object itself, or a mapping's value
        return _first_problem(inner, path)
    if key == "key":  # a mapping's key (the next level is the key itself)
        return _first_problem(inner, path)
    return _first_problem(inner, _join(path, key))


def _short(path: str) -> str:
    return path if len(path) <= 2 * _PATH_PART else path[: 2 * _PATH_PART] + "..."


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    text = str(key)
    if len(text) > _PATH_PART:
        text = text[:_PATH_PART] + "..."
    if text.isidentifier():
        return f"{path}.{text}" if path else text
    return f"{path}[{text!r}]"


def _check_values(data: Any, source: str, path: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, and numbers no reader can hold, in ``data``.

    Breadth first, without recursion, so that hostile nesting cannot exhaust the stack;
    each value keeps a link to its parent, to name its path only when it is refused.
    """
    level: list[_Node] = [(None, path, data)]
    for depth in range(MAX_DEPTH + 2):
        deeper: list[_Node] = []
        for node in level:
            item = node[2]
            if isinstance(item, dict):
                deeper += [(node, key, value) for key, value in item.items()]
            elif isinstance(item, list):
                deeper += [(node, index, value) for index, value in enumerate(item)]
            elif isinstance(item, float) and not math.isfinite(item):
                raise ManifestError(source, f"{_path_of(node)} holds NaN or an infinity")
            elif isinstance(item, int) and not _INT64[0] <= item <= _INT64[1]:
                raise ManifestError(source, f"{_path_of(node)} holds a number beyond 64 bits")
        if not deeper:
            return
        if depth == MAX_DEPTH:
            where = _path_of(deeper[0][0])
            raise ManifestError(source, f"{where} is nested more than {MAX_DEPTH} levels deep")
        level = deeper


_Node = tuple[Any, Any, Any]  # (parent node or None, key in the parent, value)


def _path_of(node: _Node) -> str:
    keys = []
    while node[0] is not None:
        keys.append(node[1])
        node = node[0]
    path = node[1]  # the root's path
    for key in reversed(keys):
        path = _join(path, key)
    return _short(path)
