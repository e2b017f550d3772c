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

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from packager.artefact.compiled import CompiledRecord
from packager.artefact.evaluation_record import (
    EdgeCaseSummary,
    ParentRecord,
    RequirementResult,
    ThresholdProfile,
)
from packager.errors import FormatVersionError, ManifestError

if TYPE_CHECKING:  # the schema package imports this module; manifest_schema resolves the name
    from packager.artefact.schema.drift import FeatureBins

__all__ = [
    "EDGE_CASES_FILE",
    "EXAMPLES_FILE",
    "FORMAT_VERSION",
    "INPUT_CONTRACT_FIELDS",
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

FORMAT_VERSION = "4.2"  # 4.1: drift bins (``drift``); 4.2: a compiled model (``compiled``)
# The first major whose features record the input contract (unit, description, plausible
# limits, imputed, identifier, declared); an older manifest reads them as their defaults.
_INPUT_CONTRACT_MAJOR = 4

MANIFEST_FILE = "manifest.json"
EXAMPLES_FILE = "examples.json"
SELF_TEST_FILE = "self_test.json"
EDGE_CASES_FILE = "edge_cases.json"
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
    # 4.0, the input contract. What the author's data dictionary says (``declared`` lists
    # which of its keys were given), and what was found in the model's own pipeline.
    unit: str | None = None
    description: str | None = None
    plausible_min: float | None = None  # hard limits: a request outside them is refused
    plausible_max: float | None = None
    imputed: bool = False  # the model's pipeline fills in this feature's missing values
    identifier: bool = False  # looks like a record identifier (kept by the model's author)
    declared: list[str] = field(default_factory=list)

    def declared_for_people(self) -> list[str]:
        """``declared`` for the card and ``inspect``: ``nullable`` or ``identifier`` declared
        false reads ``not nullable``, ``not identifier`` (a bare key reads as a yes; the
        dictionary decides both, so the field holds what was declared)."""
        said = {"nullable": self.nullable, "identifier": self.identifier}
        return [key if said.get(key, True) else f"not {key}" for key in self.declared]


# FeatureSpec's fields of the input contract: a manifest older than 4.0 never stated them.
INPUT_CONTRACT_FIELDS = (
    "unit",
    "description",
    "plausible_min",
    "plausible_max",
    "imputed",
    "identifier",
    "declared",
)


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
    positive_class: Label | None = None  # binary; before 3.0 implicitly the second class

    def __post_init__(self) -> None:
        # Format 2.0 and older never named it and meant the second class: read them so.
        if self.task == "binary" and self.positive_class is None and self.classes:
            object.__setattr__(self, "positive_class", self.classes[-1])


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
    subgroups: dict[str, Any] | None = None
    profiles: list[ThresholdProfile] = field(default_factory=list)
    default_profile: str | None = None
    parent: ParentRecord | None = None
    requirements: list[RequirementResult] = field(default_factory=list)
    edge_cases: EdgeCaseSummary | None = None
    # 4.1: each feature's training distribution as bins, by feature name (see
    # packager/artefact/schema/drift.py); empty when no training data was given, and before 4.1.
    drift: dict[str, FeatureBins] = field(default_factory=dict)
    # 4.2: the model compiled (model.onnx) and proven against scikit-learn; None when not.
    compiled: CompiledRecord | None = None
    format_version: str = FORMAT_VERSION

    @property
    def records_input_contract(self) -> bool:
        """Whether its features record the input contract (format 4.0 on). Before, their
        contract fields hold defaults that no one stated: readers show them as not recorded."""
        head = self.format_version.split(".", 1)[0]
        return not head.isdecimal() or int(head) >= _INPUT_CONTRACT_MAJOR

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, ``format_version`` first."""
        data = asdict(self)
        return {"format_version": data.pop("format_version"), **data}

    @classmethod
    def from_dict(cls, data: Any, source: str = MANIFEST_FILE) -> Manifest:
        """Build from parsed JSON, refusing newer majors and naming any malformed field."""
        # The schemas build these classes, so they are imported when first needed.
        from packager.artefact.manifest_schema import manifest_from_dict

        return manifest_from_dict(data, source)


def check_format_version(found: str) -> None:
    """Refuse a manifest whose major format version is newer than this reader's."""
    head = found.split(".", 1)[0]
    # Length first: the value is quoted back, and int() of a huge string is slow.
    if len(found) > 20 or not head.isdecimal():
        raise ManifestError(MANIFEST_FILE, "format_version is not MAJOR.MINOR")
    major = int(head)
    if major > int(FORMAT_VERSION.split(".", 1)[0]):
        raise FormatVersionError(found=found, supported=FORMAT_VERSION)
