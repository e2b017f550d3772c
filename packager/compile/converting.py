"""A fitted pipeline converted to ONNX by skl2onnx, or a refusal naming the step it cannot.

The model's input layout follows how it reads its features. A pipeline that starts with a
ColumnTransformer picks columns by name, so it gets one tensor per feature (text categories
as strings, everything else as float32: onnxruntime's imputer has no float64), named in
training order. Any other model reads one matrix of numbers: it gets one float64 tensor (one
float32 tensor where onnxruntime lacks the float64 operator, as for histogram gradient
boosting). A bare decision tree or forest splits on its input rounded to float32 against
float64 thresholds: it gets a float32 tensor, and each threshold is set to the largest float32
at or below scikit-learn's, which makes every split the same as scikit-learn's.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np

from packager.artefact import CompiledInputs, InputSpec
from packager.compile.errors import CompileError, UnconvertibleStepError

__all__ = ["EXTRA", "converted", "converter_version", "input_layout"]

EXTRA = "pip install 'deployml[onnx]'"
_CONTAINERS = ("Pipeline", "ColumnTransformer", "FeatureUnion")


def converter_version() -> str:
    """skl2onnx's version; CompileError naming the extra when it is not installed."""
    try:
        import onnxruntime  # noqa: F401  (the proof needs it too: refuse before converting)
        import skl2onnx
    except ImportError as error:
        raise CompileError(
            f"--compile onnx needs {error.name}, which is not installed: {EXTRA}"
        ) from None
    return str(skl2onnx.__version__)


def input_layout(estimator: Any, spec: InputSpec) -> CompiledInputs:
    """One tensor per feature for a pipeline starting with a ColumnTransformer, else one."""
    first = estimator.steps[0][1] if hasattr(estimator, "steps") else estimator
    if spec.format == "dataframe" and type(first).__name__ == "ColumnTransformer":
        return "columns"
    text = [f.name for f in spec.features if _is_text(f.dtype)]
    if text:
        raise CompileError(
            f"cannot compile the model: without a ColumnTransformer first, it takes one tensor "
            f"of numbers, and the feature {text[0]!r} holds text"
        )
    return "matrix"


def converted(estimator: Any, spec: InputSpec, layout: CompiledInputs) -> tuple[bytes, dict]:
    """The ONNX bytes of ``estimator`` and their operator sets (domain to version)."""
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    _check_steps(estimator)
    if layout == "columns":
        return _converted(estimator, _column_types(spec))
    width = len(spec.features)
    trees = _trees(estimator)
    if trees:  # scikit-learn splits on float32 input: so does the compiled model
        data, opset = _converted(estimator, [("input", FloatTensorType([None, width]))])
        return _sklearn_thresholds(data, trees), opset
    try:
        data, opset = _converted(estimator, [("input", DoubleTensorType([None, width]))])
        _session(data)
    except Exception:  # no float64 converter or operator: float32, as the proof will show
        return _converted(estimator, [("input", FloatTensorType([None, width]))])
    return data, opset


def _column_types(spec: InputSpec) -> list[tuple[str, Any]]:
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    return [
        # Named as the features: the ColumnTransformer picks its columns by these names.
        (f.name, (StringTensorType if _is_text(f.dtype) else FloatTensorType)([None, 1]))
        for f in spec.features
    ]


def _converted(estimator: Any, types: list[tuple[str, Any]]) -> tuple[bytes, dict]:
    from skl2onnx import convert_sklearn

    # Probabilities as one tensor (not a list of maps): the server reads them as an array.
    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    try:
        with warnings.catch_warnings():
            # skl2onnx 1.20 writes booleans where ONNX wants integers; protobuf 6 warns (7
            # refuses, hence the extra's pin). The converted model is the same.
            warnings.filterwarnings("ignore", "Field onnx.AttributeProto", DeprecationWarning)
            model = convert_sklearn(estimator, initial_types=types, options=options)
    except Exception as error:  # its message may quote the model's fitted values: not shown
        step = _failing_step(error) or type(estimator).__name__
        raise UnconvertibleStepError(
            step, f"cannot be converted by skl2onnx ({type(error).__name__})"
        ) from None
    opset = {entry.domain: int(entry.version) for entry in model.opset_import}
    return model.SerializeToString(), opset


def _trees(estimator: Any) -> list[Any]:
    """The fitted trees of a bare decision tree or forest, in the converter's order; else []."""
    trees = getattr(estimator, "estimators_", [estimator])
    if not isinstance(trees, list) or not all(hasattr(tree, "tree_") for tree in trees):
        return []
    return [tree.tree_ for tree in trees]


def _sklearn_thresholds(data: bytes, trees: list[Any]) -> bytes:
    """The graph with each split's float32 threshold the largest float32 at or below
    scikit-learn's float64 one: then ``x <= w`` in float32 holds exactly when scikit-learn's
    ``float32(x) <= threshold`` does (the converter's nearest float32 may sit above it). A
    missing value goes where scikit-learn sends it (the converter sends it right)."""
    import onnx

    model = onnx.load_from_string(data)
    for node in model.graph.node:
        if not node.op_type.startswith("TreeEnsemble"):
            continue
        attributes = {attribute.name: attribute for attribute in node.attribute}
        places = zip(
            attributes["nodes_treeids"].ints,
            attributes["nodes_nodeids"].ints,
            attributes["nodes_modes"].strings,
            strict=True,
        )
        values = list(attributes["nodes_values"].floats)
        missing = list(attributes["nodes_missing_value_tracks_true"].ints)
        for k, (tree, split, mode) in enumerate(places):
            if mode == b"BRANCH_LEQ":
                values[k] = _at_or_below(float(trees[tree].threshold[split]))
                missing[k] = int(trees[tree].missing_go_to_left[split])
        attributes["nodes_values"].floats[:] = values
        attributes["nodes_missing_value_tracks_true"].ints[:] = missing
    return bytes(model.SerializeToString())


def _at_or_below(threshold: float) -> float:
    nearest = np.float32(threshold)
    if float(nearest) > threshold:
        nearest = np.nextafter(nearest, np.float32(-np.inf))
    return float(nearest)


def _session(data: bytes) -> Any:
    import onnxruntime

    return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])


def _check_steps(estimator: Any) -> None:
    """Refuse, by class name, the first step skl2onnx has no converter for."""
    from skl2onnx._supported_operators import sklearn_operator_name_map

    for step in _steps(estimator):
        if type(step) not in sklearn_operator_name_map:
            raise UnconvertibleStepError(
                type(step).__name__, "has no converter in skl2onnx (no ONNX operator for it)"
            )
        indicator = getattr(step, "indicator_", None)
        if indicator is not None and len(indicator.features_):
            # skl2onnx leaves the indicator columns out; the error would surface at a later
            # step, named wrongly.
            raise UnconvertibleStepError(
                f"{type(step).__name__}(add_indicator=True)",
                "adds missing-value indicator columns, which skl2onnx does not convert",
            )


def _steps(estimator: Any) -> list[Any]:
    """Every estimator in the tree, containers (Pipeline, ColumnTransformer) opened."""
    name = type(estimator).__name__
    if name not in _CONTAINERS:
        return [] if isinstance(estimator, str) else [estimator]
    if name == "Pipeline":
        children = [step for _, step in estimator.steps]
    elif name == "ColumnTransformer":
        children = [step for _, step, _ in getattr(estimator, "transformers_", [])]
    else:
        children = [step for _, step in estimator.transformer_list]
    return [leaf for child in children if child is not None for leaf in _steps(child)]


def _failing_step(error: Exception) -> str | None:
    """The class of the step skl2onnx was converting when it failed, from its frames."""
    found = None
    trace = sys.exc_info()[2] if error.__traceback__ is None else error.__traceback__
    while trace is not None:
        raw = getattr(trace.tb_frame.f_locals.get("operator"), "raw_operator", None)
        if raw is not None and type(raw).__name__ not in _CONTAINERS:
            found = type(raw).__name__
        trace = trace.tb_next
    return found


def _is_text(dtype: str) -> bool:
    """Whether a training dtype holds text (a category of strings), not numbers."""
    try:
        return np.dtype(dtype).kind in "OUS"
    except TypeError:
        return True  # pandas' own: "category", "string", "str"
