"""What ``packager.client`` sends, and what the other bodies would cost, for 10,000 rows.

    python bench/client.py [--rounds 5] [--models lr]

For each reference model, deployml serves it (2 workers) and, in alternating rounds, median
ms of:

- encoding the 10,000-row frame: the client's columnar body (orjson, from the numpy array
  for a frame of float64 columns), the same body built column by column (what a frame of
  mixed columns gets), and an ``instances`` body with orjson and with the standard json;
- a whole ``Client.predict`` of the frame (encode, send over the kept-alive connection,
  score, and the answers back as a DataFrame), against POSTing the ``instances`` body
  (standard json, a new connection) and reading the JSON answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from artefacts import env, package, serve_argv
from models import BUILDERS
from servers import free_port, post, start, stop

from packager.client import Client


def median_ms(call: Callable[[], Any], calls: int = 5) -> float:
    call()
    times = []
    for _ in range(calls):
        start_ = time.perf_counter()
        call()
        times.append(time.perf_counter() - start_)
    return statistics.median(times) * 1e3


def by_column(frame: Any) -> bytes:
    rows = list(zip(*(frame[c].tolist() for c in frame.columns), strict=True))
    return orjson.dumps({"columns": list(frame.columns), "data": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["lr"], choices=sorted(BUILDERS))
    args = parser.parse_args()
    for key in args.models:
        ref = BUILDERS[key]()
        frame = ref.batch()
        with tempfile.TemporaryDirectory() as work:
            artefact = package(ref, Path(work) / key)
            port = free_port()
            probe = orjson.dumps({"instances": frame.iloc[:1].to_dict("records")})
            server = start(key, serve_argv(artefact, port), port, probe, Path(work) / "log", env())
            try:
                measure(key, frame, port, args.rounds)
            finally:
                stop(server)


def measure(key: str, frame: Any, port: int, rounds: int) -> None:
    from packager.client.tables import columnar_body

    client = Client(f"http://127.0.0.1:{port}")
    records = frame.to_dict("records")
    calls = {
        "encode: columnar, client (numpy)": lambda: columnar_body(frame),
        "encode: columnar, column by column": lambda: by_column(frame),
        "encode: instances, orjson": lambda: orjson.dumps({"instances": records}),
        "encode: instances, json": lambda: json.dumps({"instances": records}).encode(),
        "predict: Client.predict": lambda: client.predict(frame),
        "predict: POST instances (json)": lambda: json.loads(
            post(port, json.dumps({"instances": frame.to_dict("records")}).encode())[1]
        ),
    }
    found: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(rounds):
        names = list(calls) if round_ % 2 == 0 else list(reversed(calls))
        for name in names:
            found[name].append(median_ms(calls[name], calls=3))
    client.close()
    print(f"{key}, {len(frame)} rows, {frame.shape[1]} columns")
    for name, times in found.items():
        print(f"  {name:<38} {statistics.median(times):>8.1f} ms")


if __name__ == "__main__":
    main()
