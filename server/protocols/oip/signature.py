"""The model as the Open Inference Protocol describes it: its input and output tensors.

One input tensor per feature, shape ``[-1]``, its datatype from the recorded schema (number
FP64, integer INT64, boolean BOOL, string BYTES; a category BYTES when its categories are
text, else by its dtype). The outputs: ``predict`` (the labels' own type, FP64 for a
regressor), a classifier's ``predict_proba`` (``[-1, k]``, columns in the order of
``parameters.labels``), a binary classifier's ``decision`` under the profile in force (or the
one a request names), and per row ``warnings`` and ``imputed`` as JSON text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from packager.artefact import FeatureSpec, has_predict_proba
from server.protocols.oip.tensors import BOOL, BYTES, FP64, INT64
from server.runtime import Runtime

__all__ = ["DECISION", "IMPUTED", "PREDICT", "PROBABILITIES", "WARNINGS", "Signature"]

PREDICT, PROBABILITIES, DECISION = "predict", "predict_proba", "decision"
WARNINGS, IMPUTED = "warnings", "imputed"
PLATFORM = "scikit-learn"
_BY_KIND = {"number": FP64, "integer": INT64, "boolean": BOOL, "string": BYTES}
# numpy's kind of a label or category array, as the protocol's datatype.
_BY_NUMPY_KIND = {"b": BOOL, "i": INT64, "u": INT64, "f": FP64}


def feature_datatype(feature: FeatureSpec) -> str:
    """The datatype a client sends this feature as."""
    if feature.kind in _BY_KIND:
        return _BY_KIND[feature.kind]
    if feature.categories:
        return _values_datatype(feature.categories)
    kind = np.dtype(feature.dtype).kind if _is_numpy(feature.dtype) else "O"
    return _BY_NUMPY_KIND.get(kind, BYTES)


def _values_datatype(values: list[Any]) -> str:
    """BYTES if any value is text, else the datatype of the values' numbers."""
    kinds = set(map(type, values))
    if str in kinds or not kinds <= {bool, int, float}:
        return BYTES
    if kinds == {bool}:
        return BOOL
    return FP64 if float in kinds else INT64


def _is_numpy(dtype: str) -> bool:
    try:
        np.dtype(dtype)
    except TypeError:
        return False
    return True


@dataclass(frozen=True)
class Signature:
    """The model's tensors, worked out once at start-up."""

    name: str
    version: str
    inputs: dict[str, str]  # feature name -> datatype, in training order
    outputs: dict[str, tuple[str, list[int]]]  # output name -> datatype and shape
    labels: list[Any] | None

    @classmethod
    def of(cls, runtime: Runtime) -> Signature:
        """The signature of the model ``runtime`` serves."""
        manifest = runtime.artefact.manifest
        inputs = {f.name: feature_datatype(f) for f in manifest.input.features}
        classes = getattr(runtime.artefact.model, "classes_", None)
        labels = None
        if runtime.labels is not None and classes is not None:
            labels = np.asarray(classes).tolist()
            label_type = _BY_NUMPY_KIND.get(np.asarray(classes).dtype.kind, BYTES)
        else:
            label_type = FP64
        outputs: dict[str, tuple[str, list[int]]] = {PREDICT: (label_type, [-1])}
        if labels is not None and has_predict_proba(runtime.artefact.model):
            outputs[PROBABILITIES] = (FP64, [-1, len(labels)])
        if runtime.profiles.default is not None:
            outputs[DECISION] = (label_type, [-1])
        outputs[WARNINGS] = (BYTES, [-1])
        outputs[IMPUTED] = (BYTES, [-1])
        return cls(manifest.model.name, manifest.model.version, inputs, outputs, labels)

    def serves(self, name: str, version: str | None) -> bool:
        """Whether a URL's model name and version (None: any) are this model's."""
        return name == self.name and version in (None, self.version)

    def metadata(self) -> dict[str, Any]:
        """The model metadata response."""
        outputs = []
        for name, (datatype, shape) in self.outputs.items():
            tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": shape}
            if name == PROBABILITIES:
                tensor["parameters"] = {"labels": self.labels}
            outputs.append(tensor)
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": PLATFORM,
            "inputs": [
                {"name": name, "datatype": datatype, "shape": [-1]}
                for name, datatype in self.inputs.items()
            ],
            "outputs": outputs,
        }
