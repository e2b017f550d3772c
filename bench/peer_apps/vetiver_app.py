"""The vetiver peer: the joblib model as a VetiverModel behind vetiver's own FastAPI app.

Served by ``uvicorn vetiver_app:app --workers 2 --app-dir bench/peer_apps`` in vetiver's
environment. ``BENCH_MODEL`` names the joblib file and ``BENCH_PROTOTYPE`` a CSV of training
rows whose first row is the prototype (vetiver checks each request against it, by default).
The body is a list of records, ``[{"feature": value, ...}, ...]``; the answer
``{"predict": [...]}``.
"""

from __future__ import annotations

import os

import joblib
import pandas as pd
from vetiver import VetiverAPI, VetiverModel

_model = joblib.load(os.environ["BENCH_MODEL"])
_prototype = pd.read_csv(os.environ["BENCH_PROTOTYPE"]).head(1)
app = VetiverAPI(
    VetiverModel(_model, model_name="bench", prototype_data=_prototype), check_prototype=True
).app
