"""Rows stored with a model and re-scored wherever it is loaded: the self-test rows and real
examples (``examples``), and the edge cases its author expects it to get right
(``edge_cases``), each with the outputs recorded at packaging.
"""

from packager.artefact.rows.edge_cases import (
    EdgeCase,
    EdgeCases,
    Outcome,
    describe_expected,
    read_edge_cases,
    write_edge_cases,
)
from packager.artefact.rows.examples import (
    ATOL,
    RTOL,
    Examples,
    Outputs,
    compare_outputs,
    has_predict_proba,
    model_outputs,
    read_examples,
    read_self_test,
    rescore,
    same_output,
    stored_rows,
)

__all__ = [
    "ATOL",
    "RTOL",
    "EdgeCase",
    "EdgeCases",
    "Examples",
    "Outcome",
    "Outputs",
    "compare_outputs",
    "describe_expected",
    "has_predict_proba",
    "model_outputs",
    "read_edge_cases",
    "read_examples",
    "read_self_test",
    "rescore",
    "same_output",
    "stored_rows",
    "write_edge_cases",
]
