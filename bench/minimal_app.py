"""The baseline: a pickled model behind one Flask route, as people write it by hand.

No validation, no metadata, no logging: unpickle, build a DataFrame from the JSON, predict
(and predict_proba for a classifier), jsonify. The benchmark serves it exactly as a
hand-written deployment would be served::

    gunicorn --workers 2 --bind 127.0.0.1:8000 "minimal_app:create_app('model.pkl')"

It accepts the same ``{"instances": [{...}, ...]}`` body as ``deployml serve``, so both
servers get identical requests. It trusts its pickle; never point it at one you did not make.
"""

from __future__ import annotations

import pickle

import pandas as pd
from flask import Flask, Response, jsonify, request


def create_app(model_path: str) -> Flask:
    """A Flask app that predicts with the pickled estimator at ``model_path``."""
    with open(model_path, "rb") as handle:
        model = pickle.load(handle)
    app = Flask(__name__)

    @app.post("/predict")
    def predict() -> Response:
        frame = pd.DataFrame(request.get_json()["instances"])
        body = {"predictions": model.predict(frame).tolist()}
        if hasattr(model, "predict_proba"):
            body["probabilities"] = model.predict_proba(frame).tolist()
        return jsonify(body)

    return app
