"""Save the joblib model as an MLflow model, with a signature, for ``mlflow models serve``.

    python mlflow_save.py MODEL.joblib ROWS.csv OUT_DIR     # in MLflow's environment

As a user logs a scikit-learn model: ``mlflow.sklearn.save_model`` with the signature
inferred from training rows and their predictions (so the server enforces the columns), in
MLflow's default skops format. skops refuses tree types it cannot vouch for; the types this
model needs are named as trusted, as a user who made the model would.
"""

from __future__ import annotations

import sys

import joblib
import mlflow.sklearn
import pandas as pd
import skops.io
from mlflow.models import infer_signature

model = joblib.load(sys.argv[1])
rows = pd.read_csv(sys.argv[2])
signature = infer_signature(rows, model.predict(rows))
trusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
mlflow.sklearn.save_model(model, sys.argv[3], signature=signature, skops_trusted_types=trusted)
