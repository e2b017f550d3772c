"""What Prometheus counting adds to a request, measured in-process (no HTTP).

    python bench/metrics_cost.py [--models lr,rf,hgb]

For each reference model, with prometheus-client in multiprocess mode as under gunicorn:

- ``observe``: the counting ``server.http.answer`` does per scored batch (rows, predictions,
  warnings, the score histogram, the live drift bins), median µs for 1 row and 10,000 rows;
  a small batch only waits there, and "later" is its share of counting 100 of them together
  (in the worker's flushing thread, off the request path);
- ``request hook``: the per-request counter and latency histogram;
- ``/predict``: a whole request through the Flask test client with metrics on and off, in
  alternating rounds, median µs (what a client would see, less HTTP).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

import orjson
from artefacts import package
from inprocess import median_us
from models import gradient_boosting, logistic_regression, random_forest

from packager.artefact import training_bins
from server.metrics import Metrics, use_directory
from server.metrics.observer import SMALL_BATCH
from server.settings import Settings

MODELS = {"lr": logistic_regression, "rf": random_forest, "hgb": gradient_boosting}


def measure(key: str, work: Path) -> None:
    from server import create_app
    from server.http import EXTENSION
    from server.validation import read_payload

    ref = MODELS[key]()
    artefact = package(ref, work / key)
    bodies = {
        "1 row": {"instances": orjson.loads(ref.one_row().to_json(orient="records"))},
        "10,000 rows": {"instances": orjson.loads(ref.batch().to_json(orient="records"))},
    }
    apps = {
        on: create_app(Settings(artefact=artefact, metrics=on, max_request_bytes=2**26))
        for on in (True, False)
    }
    state = apps[True].extensions[EXTENSION]
    manifest = state.runtime.artefact.manifest
    if not getattr(manifest, "drift", None):
        # An artefact packaged before drift bins: count into bins made here from the
        # training rows, as the manifest would record them.
        facts = state.metrics.facts
        facts.drift = training_bins(ref.x_train, manifest.input)
        state = replace(state, metrics=Metrics(facts))
        apps[True].extensions[EXTENSION] = state
    metrics = state.metrics
    for size, body in bodies.items():
        payload = read_payload(body, 10_000, features=state.runtime.validator.known)
        batch = state.runtime.validator.validate(payload)
        outputs = state.runtime.predict(batch)
        observe = median_us(lambda b=batch, o=outputs: metrics.observe(b, o))
        # What is counted later, off the request path, for each request that waited.
        later = 0.0
        if batch.rows <= SMALL_BATCH:
            later = median_us(lambda b=batch, o=outputs: metrics._count([(b, o)] * 100)) / 100
        hook = median_us(lambda: metrics.count_request("/predict", "POST", 200, 0.001, 0))
        clients = {on: app.test_client() for on, app in apps.items()}
        data = orjson.dumps(body)
        rounds: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(5):
            for on, client in clients.items():
                rounds[on].append(
                    median_us(
                        lambda c=client, d=data: c.post(
                            "/predict", data=d, content_type="application/json"
                        ),
                        min_seconds=0.5,
                        min_calls=5,
                    )
                )
        on_us, off_us = statistics.median(rounds[True]), statistics.median(rounds[False])
        print(
            f"{key:4} {size:12} observe {observe:7.1f} µs (+{later:6.1f} µs later)   "
            f"request hook {hook:4.1f} µs   "
            f"/predict on {on_us:10.1f} µs, off {off_us:10.1f} µs ({on_us / off_us - 1:+.1%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="lr")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        use_directory(Settings(metrics_dir=Path(work)))
        for key in args.models.split(","):
            measure(key, Path(work))


if __name__ == "__main__":
    main()
