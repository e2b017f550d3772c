"""The forest path against scikit-learn's own forest predict, in-process (no HTTP).

    python bench/forest.py [--rounds 7]

The reference random forest (100 trees, 20 numbers, binary) is packaged and loaded as the
server loads it. In alternating rounds (which goes first swaps each round), median µs of:

- ``predict_proba``: the model's own on the one-row array the server hands it, against the
  forest path (``server.runtime.forest``) on the same array;
- ``Runtime.predict``: a validated one-row batch scored as a request is (input building,
  probabilities, labels), with the path on and off;
- the same two for the 10,000-row batch, as rows/s.

It also says whether the two answers are equal bit for bit on the 10,000 rows.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import sklearn
from artefacts import package
from inprocess import median_us
from models import random_forest

from server.runtime import load_runtime
from server.settings import Settings
from server.validation import Payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    ref = random_forest()
    with tempfile.TemporaryDirectory() as work:
        runtime = load_runtime(Settings(artefact=package(ref, Path(work) / "rf")))
    if runtime.exact is None:
        raise SystemExit("the forest path was not enabled for the reference forest")
    plain = replace(runtime, exact=None)
    model, path = runtime.artefact.model, runtime.exact
    one, batch = ref.one_row(), ref.batch()
    arrays = {"1 row": one.to_numpy(np.float64), "10,000 rows": batch.to_numpy(np.float64)}
    batches = {
        size: runtime.validator.validate(Payload(rows=len(f), records=f.to_dict("records")))
        for size, f in (("1 row", one), ("10,000 rows", batch))
    }
    with sklearn.config_context(assume_finite=True):
        equal = np.array_equal(
            model.predict_proba(arrays["10,000 rows"]), path.predict_proba(arrays["10,000 rows"])
        )
        calls = {
            (size, "predict_proba", "scikit-learn"): lambda a=a: model.predict_proba(a)
            for size, a in arrays.items()
        }
        calls.update(
            {
                (size, "predict_proba", "forest path"): lambda a=a: path.predict_proba(a)
                for size, a in arrays.items()
            }
        )
        calls.update(
            {
                (size, "Runtime.predict", "scikit-learn"): lambda b=b: plain.predict(b)
                for size, b in batches.items()
            }
        )
        calls.update(
            {
                (size, "Runtime.predict", "forest path"): lambda b=b: runtime.predict(b)
                for size, b in batches.items()
            }
        )
        found: dict[tuple[str, str, str], list[float]] = {key: [] for key in calls}
        for round_ in range(rounds):
            keys = list(calls) if round_ % 2 == 0 else list(reversed(calls))
            for key in keys:
                found[key].append(median_us(calls[key], min_seconds=0.5, min_calls=5))
    print(f"bit-identical on 10,000 rows: {equal}")
    print(f"{'rows':<12} {'what':<16} {'scikit-learn':>14} {'forest path':>14} {'ratio':>7}")
    for size in arrays:
        for what in ("predict_proba", "Runtime.predict"):
            own = statistics.median(found[(size, what, "scikit-learn")])
            fast = statistics.median(found[(size, what, "forest path")])
            print(f"{size:<12} {what:<16} {own:>11.0f} µs {fast:>11.0f} µs {own / fast:>6.1f}x")


if __name__ == "__main__":
    main()
