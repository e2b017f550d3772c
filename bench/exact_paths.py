"""The exact paths against the models' own predict, in-process (no HTTP).

    python bench/exact_paths.py [--models rf hgb lr] [--rounds 7]

Each reference model is packaged and loaded as the server loads it; its exact path
(``server.runtime.exact``: the forest tree by tree, boosting's trees walked together, the
linear model's own arithmetic) must have been enabled. In alternating rounds (which goes first
swaps each round), median µs of:

- the model's own ``predict_proba`` (``predict`` for a regressor) on the array the server
  hands it, against the path's on the same array;
- ``Runtime.predict``: a validated batch scored as a request is (input building, outputs,
  labels), with the path on and off;

for 1, 100 and 10,000 rows. It also says whether the two answers are equal bit for bit on
each batch.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import sklearn
from artefacts import package
from inprocess import median_us
from models import BUILDERS

from server.runtime import load_runtime
from server.settings import Settings
from server.validation import Payload

SIZES = {"1 row": 1, "100 rows": 100, "10,000 rows": 10_000}


def measure(key: str, rounds: int) -> None:
    """Print one model's figures."""
    ref = BUILDERS[key]()
    with tempfile.TemporaryDirectory() as work:
        runtime = load_runtime(
            Settings(artefact=package(ref, Path(work) / key), max_rows=max(SIZES.values()))
        )
    if runtime.exact is None:
        raise SystemExit(f"no exact path was enabled for the reference {ref.title}")
    plain = replace(runtime, exact=None)
    model, path = runtime.artefact.model, runtime.exact
    method = "predict_proba" if hasattr(path, "predict_proba") else "predict"
    frames = {size: ref.batch().iloc[:rows] for size, rows in SIZES.items()}
    arrays = {size: f.to_numpy(np.float64) for size, f in frames.items()}
    batches = {
        size: runtime.validator.validate(Payload(rows=len(f), records=f.to_dict("records")))
        for size, f in frames.items()
    }
    calls: dict[tuple[str, str, str], Callable[[], object]] = {}
    for size in SIZES:
        a, b = arrays[size], batches[size]
        calls[(size, method, "scikit-learn")] = lambda a=a: getattr(model, method)(a)
        calls[(size, method, path.name)] = lambda a=a: getattr(path, method)(a)
        calls[(size, "Runtime.predict", "scikit-learn")] = lambda b=b: plain.predict(b)
        calls[(size, "Runtime.predict", path.name)] = lambda b=b: runtime.predict(b)
    with sklearn.config_context(assume_finite=True):
        equal = {
            size: np.array_equal(getattr(model, method)(a), getattr(path, method)(a))
            for size, a in arrays.items()
        }
        found: dict[tuple[str, str, str], list[float]] = {k: [] for k in calls}
        for round_ in range(rounds):
            for k in list(calls) if round_ % 2 == 0 else list(reversed(calls)):
                found[k].append(median_us(calls[k], min_seconds=0.5, min_calls=5))
    print(f"\n{ref.title} ({key}), the {path.name} path; bit-identical: {equal}")
    print(f"{'rows':<12} {'what':<16} {'scikit-learn':>14} {'path':>14} {'ratio':>7}")
    for size in SIZES:
        for what in (method, "Runtime.predict"):
            own = statistics.median(found[(size, what, "scikit-learn")])
            fast = statistics.median(found[(size, what, path.name)])
            print(f"{size:<12} {what:<16} {own:>11.0f} µs {fast:>11.0f} µs {own / fast:>6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(BUILDERS), default=["rf", "hgb"])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    for key in args.models:
        measure(key, args.rounds)


if __name__ == "__main__":
    main()
