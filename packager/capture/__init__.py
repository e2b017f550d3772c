"""Capturing a fitted model: its schema, metrics and provenance, from a script or a file.

``capture`` records a model at the end of a training script; ``load_model_file`` reads what
``deployml package`` is given (a capture file, or a pickled estimator with optional data);
``synthetic_rows`` makes the self-test rows from a schema, holding no training row.
"""

from packager.capture.details import DEFAULT_VERSION
from packager.capture.estimator import task_of
from packager.capture.metrics import cross_validation, folds_of, scoring_for
from packager.capture.recording import TrainingRecord, capture
from packager.capture.sources import load_model_file
from packager.capture.synthetic import TYPICAL, synthetic_rows

__all__ = [
    "DEFAULT_VERSION",
    "TYPICAL",
    "TrainingRecord",
    "capture",
    "cross_validation",
    "folds_of",
    "load_model_file",
    "scoring_for",
    "synthetic_rows",
    "task_of",
]
