"""What ``--compile onnx`` saves per request: one reference model packaged twice, plain and
compiled, and a one-row ``/predict`` timed on each in one process, alternating.

    python bench/compiled.py                 # the random forest, 7 rounds
    python bench/compiled.py --models lr rf hgb --rounds 9

Each round times, for both artefacts in turn (which goes first alternates): the scoring call
alone (``Runtime.predict`` on an already validated one-row batch) and a whole ``/predict``
through Flask's test client (JSON in, validation, scoring, JSON out; no sockets). It prints
the median milliseconds of each and their ratio; figures from a busy machine are for
comparing the two, not for quoting.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from models import BUILDERS


def _median_ms(call: Callable[[], Any], seconds: float) -> float:
    call()
    times = []
    began = time.perf_counter()
    while time.perf_counter() - began < seconds or len(times) < 20:
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _served(artefact: Path) -> tuple[Any, Any]:
    import logging

    from server import Settings, create_app

    logging.disable(logging.INFO)  # the access log would dominate
    app = create_app(Settings(artefact=artefact, metrics=False))
    return app, app.test_client()


def measure(key: str, rounds: int, seconds: float) -> dict[str, Any]:
    """Median ms of scoring and of /predict, plain and compiled, over alternating rounds."""
    from packager import capture, package
    from packager.compile import compile_model
    from server.validation import Payload

    ref = BUILDERS[key]()
    captured = capture(ref.estimator, ref.x_train, ref.y_train)
    row = json.loads(ref.one_row().to_json(orient="records"))[0]
    work = Path(tempfile.mkdtemp(prefix="bench-compiled-"))
    built = {
        "scikit-learn": package(captured, work / "plain"),
        "onnxruntime": package(
            captured, work / "compiled", compiled=compile_model(captured, test=ref.x_test)
        ),
    }
    served = {name: _served(path) for name, path in built.items()}
    found: dict[str, dict[str, list[float]]] = {n: {"score": [], "predict": []} for n in built}
    for round_ in range(rounds):
        order = list(built) if round_ % 2 == 0 else list(reversed(built))
        for name in order:
            app, client = served[name]
            runtime = app.extensions["deployml"].runtime  # the State create_app stored
            batch = runtime.validator.validate(Payload(rows=1, records=[row]))
            score = functools.partial(runtime.predict, batch)
            answer = functools.partial(client.post, "/predict", json=row)
            found[name]["score"].append(_median_ms(score, seconds))
            found[name]["predict"].append(_median_ms(answer, seconds))
    return {
        name: {what: statistics.median(v) for what, v in times.items() if v}
        for name, times in found.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["rf"], choices=sorted(BUILDERS))
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    args = parser.parse_args()
    for key in args.models:
        result = measure(key, args.rounds, args.seconds)
        plain, compiled = result["scikit-learn"], result["onnxruntime"]
        for what in plain:
            ratio = plain[what] / compiled[what]
            print(
                f"{key} {what:8} scikit-learn {plain[what]:7.3f} ms   "
                f"onnxruntime {compiled[what]:7.3f} ms   {ratio:5.1f}x"
            )


if __name__ == "__main__":
    main()
