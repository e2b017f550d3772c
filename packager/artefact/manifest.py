"""The artefact format: the manifest's fields, their types, and the format version.

This module is the one owner of the format. ``docs/artefact-format.md`` documents every field
defined here; change both together.

Versioning. ``FORMAT_VERSION`` is ``"MAJOR.MINOR"`` and is written into every manifest.

- Bump MINOR for a change old readers can ignore: a new optional field, a new file that
  readers need not open, a new value of an open-ended field (a metric). Readers of the
  same major accept any minor, newer or older, and ignore fields they do not know.
- Bump MAJOR (and reset MINOR to 0) for anything else: a field removed, renamed, or whose
  meaning or type changed; a new file readers must use; a new serializer. Readers refuse
  a newer major with :class:`~packager.errors.FormatVersionError` naming both versions.
  Keep reading older majors for as long as artefacts written by them may be in service.
- Every bump updates ``docs/artefact-format.md`` and adds a test that reads a manifest of the
  previous version.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field
from typing import Any, Literal, cast, get_args

from packager.errors import FormatVersionError, ManifestError

__all__ = [
    "EXAMPLES_FILE",
    "FORMAT_VERSION",
    "MANIFEST_FILE",
    "MODEL_CARD_FILE",
    "MODEL_FILE",
    "PICKLE_MODEL_FILE",
    "PLOTS_DIR",
    "REQUIREMENTS_FILE",
    "SELF_TEST_FILE",
    "SERIALIZER",
    "EstimatorInfo",
    "ExampleRows",
    "FeatureSpec",
    "FileRecord",
    "InputSpec",
    "Manifest",
    "ModelDetails",
    "ModelFile",
    "ModelInfo",
    "Provenance",
    "TargetSpec",
    "check_format_version",
]

FORMAT_VERSION = "2.0"

MANIFEST_FILE = "manifest.json"
EXAMPLES_FILE = "examples.json"
SELF_TEST_FILE = "self_test.json"
REQUIREMENTS_FILE = "requirements.txt"
MODEL_CARD_FILE = "MODEL_CARD.md"
MODEL_FILE = "model.skops"
PICKLE_MODEL_FILE = "model.joblib"
PLOTS_DIR = "plots"

Kind = Literal["number", "integer", "boolean", "category", "string"]
Task = Literal["binary", "multiclass", "regression"]
InputFormat = Literal["dataframe", "array"]
Serializer = Literal["skops", "joblib"]
SERIALIZER: Serializer = "skops"
Label = str | int | float | bool
ExampleRows = Literal["synthetic", "real", "none"]


@dataclass(frozen=True)
class FeatureSpec:
    """One input feature as seen in training: its range (numbers) or most frequent value."""

    name: str
    kind: Kind
    nullable: bool
    dtype: str
    missing_rate: float = 0.0
    min: float | None = None
    max: float | None = None
    quantiles: dict[str, float] | None = None
    categories: list[Label] | None = None
    most_frequent: Label | None = None


@dataclass(frozen=True)
class InputSpec:
    """The features in training order, and the container the estimator was fitted on."""

    format: InputFormat
    names_generated: bool
    features: tuple[FeatureSpec, ...]

    @property
    def names(self) -> list[str]:
        """Feature names in training order."""
        return [f.name for f in self.features]


@dataclass(frozen=True)
class TargetSpec:
    """What the model predicts."""

    task: Task
    name: str | None = None
    classes: list[Label] | None = None
    class_balance: dict[str, float] | None = None
    summary: dict[str, float] | None = None


@dataclass(frozen=True, kw_only=True)
class ModelDetails:
    """What the model's author says of it: name, version, what it predicts, who made it, and
    what it is for. Every field is optional; the manifest says which were not given."""

    name: str | None = None
    version: str | None = None
    description: str | None = None
    author: str | None = None
    organisation: str | None = None
    contact: str | None = None
    intended_use: str | None = None
    limitations: str | None = None

    def given(self) -> dict[str, str]:
        """The fields that were given (not None or empty), by name."""
        return {key: value for key, value in asdict(self).items() if value}


@dataclass(frozen=True, kw_only=True)
class ModelInfo(ModelDetails):
    """The manifest's ``model``: the details, with a name and version always, and when it was
    captured."""

    name: str
    version: str
    created_at: str


@dataclass(frozen=True)
class ModelFile:
    """Where the estimator is, how to read it, and (skops) the types approved at packaging."""

    path: str
    serializer: Serializer
    trusted_types: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EstimatorInfo:
    """The estimator's class, JSON-safe hyperparameters and training set size."""

    class_name: str
    params: dict[str, Any]
    n_training_rows: int | None = None


@dataclass(frozen=True)
class Provenance:
    """Where and with what the model was trained and packaged."""

    python: str
    platform: str
    packages: dict[str, str]
    deployml_version: str
    git_commit: str | None = None
    git_dirty: bool | None = None


@dataclass(frozen=True)
class FileRecord:
    """A file of the artefact, with its SHA-256 and size."""

    sha256: str
    bytes: int


@dataclass(frozen=True)
class Manifest:
    """Everything recorded about a packaged model; serialized to ``manifest.json``."""

    model: ModelInfo
    model_file: ModelFile
    estimator: EstimatorInfo
    input: InputSpec
    provenance: Provenance
    target: TargetSpec | None = None
    metrics: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    missing: list[str] = field(default_factory=list)
    files: dict[str, FileRecord] = field(default_factory=dict)
    example_rows: ExampleRows = "synthetic"  # what /metadata shows; 1.x: "real" if any
    format_version: str = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, ``format_version`` first."""
        data = asdict(self)
        return {"format_version": data.pop("format_version"), **data}

    @classmethod
    def from_dict(cls, data: Any, source: str = MANIFEST_FILE) -> Manifest:
        """Build from parsed JSON, refusing newer majors and naming any bad field."""
        reader = _Reader(source)
        root = reader.mapping(data, "manifest")
        check_format_version(reader.text(root, "format_version"))
        inp = reader.mapping(root.get("input"), "input")
        features = tuple(
            reader.build(FeatureSpec, item, f"input.features[{i}]", kind=Kind)
            for i, item in enumerate(reader.sequence(inp.get("features"), "input.features"))
        )
        target = root.get("target")
        training = root.get("training")
        if training is not None:
            reader.mapping(training, "training")
        files = reader.mapping(root.get("files", {}), "files")
        rows = {"example_rows": "real" if EXAMPLES_FILE in files else "none", **root}
        return cls(
            format_version=root["format_version"],
            model=reader.build(ModelInfo, root.get("model"), "model"),
            model_file=reader.model_file(root.get("model_file")),
            estimator=reader.build(EstimatorInfo, root.get("estimator"), "estimator"),
            input=InputSpec(
                format=reader.choice(inp, "format", InputFormat, "input"),
                names_generated=bool(inp.get("names_generated", False)),
                features=features,
            ),
            provenance=reader.build(Provenance, root.get("provenance"), "provenance"),
            target=None
            if target is None
            else reader.build(TargetSpec, target, "target", task=Task),
            metrics=root.get("metrics"),
            training=training,
            missing=list(reader.sequence(root.get("missing", []), "missing")),
            example_rows=reader.choice(rows, "example_rows", ExampleRows, "manifest"),
            files={
                name: reader.build(FileRecord, rec, f"files.{name}") for name, rec in files.items()
            },
        )


def check_format_version(found: str) -> None:
    """Refuse a manifest whose major format version is newer than this reader's."""
    try:
        major = int(found.split(".", 1)[0])
    except ValueError:
        raise ManifestError(MANIFEST_FILE, f"format_version {found!r} is not MAJOR.MINOR") from None
    if major > int(FORMAT_VERSION.split(".", 1)[0]):
        raise FormatVersionError(found=found, supported=FORMAT_VERSION)


class _Reader:
    """Small checks that turn a malformed manifest into a ManifestError naming the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, problem: str) -> ManifestError:
        return ManifestError(self.source, problem)

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(f"{where} must be an object")
        return value

    def sequence(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(f"{where} must be a list")
        return value

    def text(self, data: dict[str, Any], key: str) -> str:
        value = data.get(key)
        if not isinstance(value, str):
            raise self.fail(f"{key} must be a string")
        return value

    def choice(self, data: dict[str, Any], key: str, allowed: Any, where: str) -> Any:
        options = get_args(allowed)
        if data.get(key) not in options:
            raise self.fail(f"{where}.{key} must be one of {', '.join(options)}")
        return data[key]

    def model_file(self, value: Any) -> ModelFile:
        found: ModelFile = self.build(ModelFile, value, "model_file", serializer=Serializer)
        types = found.trusted_types
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise self.fail("model_file.trusted_types must be a list of type names")
        return found

    def build(self, cls: type[Any], value: Any, where: str, **choices: Any) -> Any:
        """Construct a dataclass from a mapping; unknown keys are ignored (newer minors).

        ``choices`` maps a field to the Literal type whose values it must take.
        """
        data = self.mapping(value, where)
        names = {f for f in cls.__dataclass_fields__}
        required = {
            name
            for name, f in cls.__dataclass_fields__.items()
            if f.default is MISSING and f.default_factory is MISSING
        }
        absent = sorted(required - data.keys())
        if absent:
            raise self.fail(f"{where} lacks {', '.join(absent)}")
        for key, allowed in choices.items():
            self.choice(data, key, allowed, where)
        return cast(Any, cls)(**{k: v for k, v in data.items() if k in names})
