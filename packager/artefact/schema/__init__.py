"""The feature schema: inferred at capture, read back as a request's values, rebuilt as model input.

``inference`` makes the schema from the training frame, the model's own pipeline (which
columns it encodes or imputes) and the author's data dictionary; ``declared`` reads the
dictionary and owns the plausible limits; ``building`` turns validated request values into
what the estimator was fitted on; ``text`` reads a CSV cell as a request would send it;
``drift`` records each feature's training distribution as bins a server counts live rows into.
"""

from packager.artefact.schema.building import model_input, records_to_columns
from packager.artefact.schema.declared import (
    ACCEPTING,
    DECLARABLE,
    Dictionary,
    Entry,
    check_limits,
    documented,
    limits_problem,
    limits_text,
)
from packager.artefact.schema.drift import (
    FeatureBins,
    drift_problem,
    population_stability,
    training_bins,
)
from packager.artefact.schema.inference import (
    MAX_CATEGORIES,
    MIN_SHARED_TEXT,
    QUANTILES,
    ColumnHint,
    feature_spec,
    feature_without_data,
    infer_input_spec,
)
from packager.artefact.schema.text import label_from_text, value_from_text

__all__ = [
    "ACCEPTING",
    "DECLARABLE",
    "MAX_CATEGORIES",
    "MIN_SHARED_TEXT",
    "QUANTILES",
    "ColumnHint",
    "Dictionary",
    "Entry",
    "FeatureBins",
    "check_limits",
    "documented",
    "drift_problem",
    "feature_spec",
    "feature_without_data",
    "infer_input_spec",
    "label_from_text",
    "limits_problem",
    "limits_text",
    "model_input",
    "population_stability",
    "records_to_columns",
    "training_bins",
    "value_from_text",
]
