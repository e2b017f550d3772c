"""Compiling a fitted model (``--compile onnx``): converted, then proven, or refused.

``compile_model`` converts the pipeline with skl2onnx and scores the test rows (when given),
the stored self-test and example rows, the edge cases and rows at the training range's edges
with both scikit-learn and onnxruntime; it returns the model only if every label is the same
and every probability or regression output within ``TOLERANCE``, else it raises
``CompiledDiffersError`` naming the row set, the output and the size of the worst difference.
``OnnxModel`` scores a compiled model as the estimator would answer (the server uses it). The
converter and runtime are an extra (``pip install 'deployml[onnx]'``), imported only here and
only when used.
"""

from __future__ import annotations

from typing import Any

from packager.artefact import (
    COMPILED_FILE,
    CapturedModel,
    CompiledModel,
    CompiledRecord,
    ToolVersion,
)
from packager.capture import task_of
from packager.compile.converting import EXTRA, converted, converter_version, input_layout
from packager.compile.errors import CompiledDiffersError, CompileError, UnconvertibleStepError
from packager.compile.proof import (
    ROW_SETS,
    TOLERANCE,
    beyond,
    built,
    differences,
    range_edge_rows,
    scored,
)
from packager.compile.running import OnnxModel, onnxruntime_version

__all__ = [
    "COMPILERS",
    "EXTRA",
    "TOLERANCE",
    "CompileError",
    "CompiledDiffersError",
    "OnnxModel",
    "UnconvertibleStepError",
    "beyond",
    "compile_model",
    "differences",
    "onnxruntime_version",
]

COMPILERS = ("onnx",)


def compile_model(
    captured: CapturedModel, *, test: Any = None, tolerance: float = TOLERANCE
) -> CompiledModel:
    """``captured``'s estimator as ONNX, proven on every row set, with its record.

    ``test`` is the test rows' frame (the features' columns; others are ignored), if any.
    Raises CompileError (the extra missing, text features without a ColumnTransformer),
    UnconvertibleStepError naming a step, or CompiledDiffersError.
    """
    version = converter_version()
    estimator, manifest = captured.estimator, captured.manifest
    spec = manifest.input
    task = manifest.target.task if manifest.target is not None else task_of(estimator)
    layout = input_layout(estimator, spec)
    data, opset = converted(estimator, spec, layout)
    classes = None if task == "regression" else list(getattr(estimator, "classes_", []))
    model = OnnxModel(data, layout, spec.names, classes)
    checked: dict[str, int] = {}
    worst: dict[str, float] = {}
    for key, X in _row_sets(captured, test).items():
        expected = scored(estimator, X, task)
        found = differences(expected, model.outputs(X), task)
        problem = beyond(found, tolerance, len(expected.predictions))
        if problem is not None:
            raise CompiledDiffersError(ROW_SETS[key], *problem, tolerance)
        checked[key] = len(expected.predictions)
        for output, size in found.items():
            if output != "labels":
                worst[output] = max(worst.get(output, 0.0), size)
    record = CompiledRecord(
        format="onnx",
        path=COMPILED_FILE,
        converter=ToolVersion("skl2onnx", version),
        runtime=ToolVersion("onnxruntime", onnxruntime_version() or "not installed"),
        opset=opset,
        inputs=layout,
        tolerance=tolerance,
        rows_checked=checked,
        worst_difference=worst,
    )
    return CompiledModel(data=data, record=record)


def _row_sets(captured: CapturedModel, test: Any) -> dict[str, Any]:
    """The model inputs of every row set there is, by its key in ``rows_checked``."""
    spec = captured.manifest.input
    sets: dict[str, Any] = {}
    if test is not None and len(test):
        frame = test[spec.names]
        sets["test"] = frame if spec.format == "dataframe" else frame.to_numpy()
    for key, rows in (("self_test", captured.self_test), ("examples", captured.examples)):
        if rows.inputs:
            sets[key] = built(rows.inputs, spec)
    if captured.edge_cases is not None and captured.edge_cases.cases:
        sets["edge_cases"] = built([case.inputs for case in captured.edge_cases.cases], spec)
    sets["range_edges"] = built(range_edge_rows(spec), spec)
    return sets
