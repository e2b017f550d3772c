"""The artefact format: the manifest and every file beside it, written and read back whole.

This package owns the format (``FORMAT_VERSION``, every file name, the manifest's types), the
one place a model file is serialized and read, which types a skops model file may hold, the
feature schema, the stored examples, and the model card made from a manifest (Markdown, and
the HTML page). It imports no
other part of deployml but its errors.
"""

from packager.artefact.captured import CapturedModel, is_capture_file
from packager.artefact.card import card_files, card_page, model_card
from packager.artefact.derived import derive
from packager.artefact.directory import (
    Artefact,
    load_artefact,
    package,
    read_manifest,
)
from packager.artefact.examples import (
    Examples,
    Outputs,
    compare_outputs,
    has_predict_proba,
    model_outputs,
    read_examples,
    read_self_test,
    stored_rows,
)
from packager.artefact.files import file_problems, file_sha256, staged
from packager.artefact.manifest import (
    EXAMPLES_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    MODEL_FILE,
    PICKLE_MODEL_FILE,
    PLOTS_DIR,
    SELF_TEST_FILE,
    SERIALIZER,
    DataRecord,
    EstimatorInfo,
    ExampleRows,
    FeatureSpec,
    InputFormat,
    InputSpec,
    Label,
    Manifest,
    ModelDetails,
    ModelFile,
    ModelInfo,
    ParentRecord,
    Provenance,
    RequirementResult,
    TargetSpec,
    Task,
    ThresholdProfile,
)
from packager.artefact.model_file import (
    MODEL_FORMATS,
    ModelFormat,
    check_estimator,
    read_model_file,
    read_pickle,
)
from packager.artefact.schema import (
    MAX_CATEGORIES,
    infer_input_spec,
    model_input,
    records_to_columns,
)
from packager.artefact.trust import KNOWN_TYPES
from packager.artefact.values import dotted_name, for_people, json_label, json_value, sorted_labels

__all__ = [
    "EXAMPLES_FILE",
    "FORMAT_VERSION",
    "KNOWN_TYPES",
    "MANIFEST_FILE",
    "MAX_CATEGORIES",
    "MODEL_FILE",
    "MODEL_FORMATS",
    "PICKLE_MODEL_FILE",
    "PLOTS_DIR",
    "SELF_TEST_FILE",
    "SERIALIZER",
    "Artefact",
    "CapturedModel",
    "DataRecord",
    "EstimatorInfo",
    "ExampleRows",
    "Examples",
    "FeatureSpec",
    "InputFormat",
    "InputSpec",
    "Label",
    "Manifest",
    "ModelDetails",
    "ModelFile",
    "ModelFormat",
    "ModelInfo",
    "Outputs",
    "ParentRecord",
    "Provenance",
    "RequirementResult",
    "TargetSpec",
    "Task",
    "ThresholdProfile",
    "card_files",
    "card_page",
    "check_estimator",
    "compare_outputs",
    "derive",
    "dotted_name",
    "file_problems",
    "file_sha256",
    "for_people",
    "has_predict_proba",
    "infer_input_spec",
    "is_capture_file",
    "json_label",
    "json_value",
    "load_artefact",
    "model_card",
    "model_input",
    "model_outputs",
    "package",
    "read_examples",
    "read_manifest",
    "read_model_file",
    "read_pickle",
    "read_self_test",
    "records_to_columns",
    "sorted_labels",
    "staged",
    "stored_rows",
]
