"""A compiled model scored with onnxruntime: inputs built per its signature, outputs as
scikit-learn's.

One ``InferenceSession`` per process, made on first use in that process: a server loads the
artefact in the gunicorn master and forks workers, and a session (with its thread pool) made
before a fork is not used after it. Its threads are capped (``threads`` for the operators, one
between them, no spinning), as the server caps OpenMP and BLAS for scikit-learn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from packager.artefact import CompiledInputs, Label, Outputs

__all__ = ["STRING_INPUT", "OnnxModel", "onnxruntime_version"]

STRING_INPUT = "tensor(string)"  # a category column of text
DOUBLE_INPUT = "tensor(double)"  # a matrix of float64; every other input is float32


def onnxruntime_version() -> str | None:
    """The installed onnxruntime's version, or None when it is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    return str(onnxruntime.__version__)


class OnnxModel:
    """The bytes of model.onnx, scored like the estimator they were converted from."""

    def __init__(
        self,
        data: bytes,
        inputs: CompiledInputs,
        names: Sequence[str],
        classes: Sequence[Label] | None,
        threads: int = 1,
    ) -> None:
        self.data = data
        self.inputs = inputs
        self.names = list(names)
        self.classes = None if classes is None else np.asarray(classes)
        self.threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._pid: int | None = None

    def session(self) -> Any:
        """This process's InferenceSession, made on first use here (never one from before a
        fork)."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._session = self._new_session()
                    self._pid = os.getpid()
        return self._session

    def _new_session(self) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle threads that spin would take the cores other workers score on.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(
            self.data, sess_options=options, providers=["CPUExecutionProvider"]
        )

    def feed(self, X: Any) -> dict[str, np.ndarray]:
        """The model's inputs from ``X`` (the DataFrame or array scikit-learn is given)."""
        signature = self.session().get_inputs()
        if self.inputs == "matrix":
            dtype = np.float64 if signature[0].type == DOUBLE_INPUT else np.float32
            return {signature[0].name: np.asarray(X, dtype=dtype)}
        fed = {}
        for position, (tensor, name) in enumerate(zip(signature, self.names, strict=True)):
            column = X[name] if isinstance(X, pd.DataFrame) else X[:, position]
            if tensor.type == STRING_INPUT:
                values = np.array(column, dtype=object)  # a copy: nulls are replaced
                # A tensor of text has no null: a missing category reads as an unknown one.
                values[pd.isna(values)] = ""
            else:
                values = np.asarray(column, dtype=np.float32)
            fed[tensor.name] = values.reshape(-1, 1)
        return fed

    def outputs(self, X: Any) -> Outputs:
        """Predictions (and a classifier's probabilities) for ``X``, as model_outputs gives."""
        results = self.session().run(None, self.feed(X))
        if self.classes is None:
            return Outputs(predictions=np.asarray(results[0], dtype=np.float64).ravel().tolist())
        labels = np.asarray(results[0]).ravel()
        positions = np.searchsorted(self.classes, labels).clip(0, len(self.classes) - 1)
        predicted = self.classes[positions]
        if not np.array_equal(predicted.astype(str), labels.astype(str)):
            raise ValueError("the compiled model answered a label that is not a class")
        if len(results) < 2:  # a classifier without predict_proba
            return Outputs(predictions=predicted.tolist())
        probabilities = np.asarray(results[1], dtype=np.float64)
        return Outputs(predictions=predicted.tolist(), probabilities=probabilities.tolist())
