"""Capturing a fitted model: its schema, metrics and provenance, from a script or a file.

``capture`` records a model at the end of a training script; ``load_model_file`` reads what
``deployml package`` is given (a capture file, or a pickled estimator with optional data);
``read_dictionary`` reads a data dictionary (what each feature means and may hold);
``synthetic_rows`` makes the self-test rows from a schema, holding no training row.
"""

from packager.capture.details import DEFAULT_VERSION
from packager.capture.dictionary import (
    FeatureDictionary,
    FeatureEntry,
    as_dictionary,
    read_dictionary,
)
from packager.capture.estimator import task_of
from packager.capture.identifiers import identifier_reason
from packager.capture.metrics import cross_validation, folds_of, scoring_for
from packager.capture.recording import TrainingRecord, capture
from packager.capture.sources import load_model_file
from packager.capture.synthetic import TYPICAL, synthetic_rows

__all__ = [
    "DEFAULT_VERSION",
    "TYPICAL",
    "FeatureDictionary",
    "FeatureEntry",
    "TrainingRecord",
    "as_dictionary",
    "capture",
    "cross_validation",
    "folds_of",
    "identifier_reason",
    "load_model_file",
    "read_dictionary",
    "scoring_for",
    "synthetic_rows",
    "task_of",
]
