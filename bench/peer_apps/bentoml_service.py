"""The BentoML peer: a service that loads the joblib model and predicts, with 2 workers.

Served by ``bentoml serve bentoml_service:BenchModel --working-dir bench/peer_apps`` in
BentoML's own environment; ``BENCH_MODEL`` names the joblib file. The request body is
BentoML's for a NumPy argument, ``{"input_data": [[...], ...]}``; the answer is the list of
predictions, as BentoML's scikit-learn examples serve a model.
"""

from __future__ import annotations

import os

import bentoml
import joblib
import numpy as np


@bentoml.service(workers=2)
class BenchModel:
    """One fitted scikit-learn estimator."""

    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL"])

    @bentoml.api
    def predict(self, input_data: np.ndarray) -> np.ndarray:
        """The model's predict on the rows."""
        return np.asarray(self.model.predict(input_data))
