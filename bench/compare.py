"""Before and after a change: two checkouts of deployml served alternately, in one run.

    python bench/compare.py --before ../deployml-main          # this checkout is "after"
    python bench/compare.py --before OLD --after NEW --models lr rf --rounds 7 --seconds 5

A per-request cost is only comparable within one run on one machine, so each round starts
the "before" server, measures it, stops it, then does the same for "after" (the order
alternates between rounds), on the same reference model packaged by each checkout's own
packager. Measured each time: single-row requests/s at 8 connections with a one-thread
client (``wrk -t1 -c8``), its p99 and the server's CPU time per request; single-row p50 at
one connection; rows/s and CPU time per request for the 10,000-row ``instances`` and columnar
bodies (``wrk -t2 -c2``).
With ``--protocols`` the "after" server is also driven through the Open Inference Protocol's
``infer`` (JSON tensors) and MLflow's ``/invocations`` (``dataframe_split``) with the same
rows, and each is given as a ratio to ``/predict`` on the same server in the same round.

Prints medians and after/before ratios; writes every round to
``bench/results/compare-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import joblib
import load
import machine
import memory
import models
import servers
from artefacts import MAX_REQUEST_BYTES

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WARMUP_S = 1
_PACKAGE = """
import sys, joblib
sys.path.insert(0, sys.argv[1])
import packager
ref = joblib.load(sys.argv[2])
captured = packager.capture(ref["estimator"], ref["x_train"], ref["y_train"],
    X_test=ref["x_test"], y_test=ref["y_test"], details=packager.ModelDetails(name=ref["name"]))
print(packager.package(captured, sys.argv[3]))
"""


# The checkout first on the path, whatever the working directory holds.
_SERVE = "import sys; sys.path.insert(0, {!r}); from deployml.cli import main; sys.exit(main())"


def _env(checkout: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(checkout),
        "DEPLOYML_HOST": "127.0.0.1",
        "DEPLOYML_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        "DEPLOYML_MAX_ROWS": str(models.BATCH_ROWS),
    }


def _package(ref: models.Reference, checkout: Path, out: Path, scratch: Path) -> Path:
    """The reference model packaged by ``checkout``'s own packager."""
    data = scratch / f"{ref.key}.joblib"
    if not data.exists():
        joblib.dump(
            {
                "estimator": ref.estimator,
                "x_train": ref.x_train,
                "y_train": ref.y_train,
                "x_test": ref.x_test,
                "y_test": ref.y_test,
                "name": f"bench-{ref.key}",
            },
            data,
        )
    argv = [sys.executable, "-c", _PACKAGE, str(checkout), str(data), str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, env=_env(checkout), check=False)
    if done.returncode != 0:
        raise SystemExit(f"packaging with {checkout} failed:\n{done.stderr[-2000:]}")
    return out


def _protocol_bodies(ref: models.Reference, directory: Path) -> dict[str, tuple[str, Path]]:
    """The same single row and 10,000 rows as Open Inference Protocol and MLflow bodies."""
    infer = f"/v2/models/bench-{ref.key}/infer"
    found = {}
    for label, frame in (("one", ref.one_row()), ("batch", ref.batch())):
        for protocol, path, shape in (
            ("oip", infer, "named_tensors"),
            ("mlflow", "/invocations", "dataframe_split"),
        ):
            file = models.write_body(shape, frame, directory / f"{protocol}-{label}.json")
            found[f"{protocol}_{label}"] = (path, file)
    return found


def _measure(
    pid: int, port: int, bodies: models.Bodies, seconds: int, extra: dict[str, tuple[str, Path]]
) -> dict[str, float]:
    """One server's figures for one round (warm-up first)."""
    load.run_wrk(port, bodies.one_row, 1, threads=1, connections=8, seconds=WARMUP_S)
    load.run_wrk(port, bodies.batch, models.BATCH_ROWS, threads=2, connections=2, seconds=WARMUP_S)
    cpu = memory.cpu_seconds(pid)
    one = load.run_wrk(port, bodies.one_row, 1, threads=1, connections=8, seconds=seconds)
    cpu = memory.cpu_seconds(pid) - cpu
    c1 = load.run_wrk(port, bodies.one_row, 1, threads=1, connections=1, seconds=seconds)
    cpu_batch = memory.cpu_seconds(pid)
    batch = load.run_wrk(
        port, bodies.batch, models.BATCH_ROWS, threads=2, connections=2, seconds=seconds
    )
    cpu_batch = memory.cpu_seconds(pid) - cpu_batch
    cpu_columnar = memory.cpu_seconds(pid)
    columnar = load.run_wrk(
        port, bodies.batch_columnar, models.BATCH_ROWS, threads=2, connections=2, seconds=seconds
    )
    cpu_columnar = memory.cpu_seconds(pid) - cpu_columnar
    figures = {
        "one_row_req_s": one.requests_per_s,
        "one_row_p99_ms": one.p99_ms,
        # The server's CPU (master and workers) per answer: unlike req/s, it does not depend
        # on how the client's connections happen to spread over the workers.
        "one_row_cpu_ms": 1000 * cpu / max(one.requests, 1),
        "one_row_c1_p50_ms": c1.p50_ms,
        "batch_rows_s": batch.rows_per_s,
        "batch_cpu_ms": 1000 * cpu_batch / max(batch.requests, 1),
        "columnar_rows_s": columnar.rows_per_s,
        "columnar_cpu_ms": 1000 * cpu_columnar / max(columnar.requests, 1),
    }
    for name, (path, body) in extra.items():
        big = name.endswith("_batch")
        result = load.run_wrk(
            port,
            body,
            models.BATCH_ROWS if big else 1,
            threads=2 if big else 1,
            connections=2 if big else 8,
            seconds=seconds,
            path=path,
        )
        if result.errors:
            raise SystemExit(f"{name} answered errors on {path}: is it served by this checkout?")
        figures[f"{name}_{'rows_s' if big else 'req_s'}"] = result.rows_per_s
    return figures


def compare(args: argparse.Namespace) -> dict[str, Any]:
    """Every round of every model, and the medians."""
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    out: dict[str, Any] = {"machine": machine.describe(HERE.parent), "models": {}}
    with tempfile.TemporaryDirectory(prefix="deployml-compare-") as tmp:
        scratch = Path(tmp)
        for key in args.models:
            ref = models.BUILDERS[key]()
            bodies = models.write_bodies(ref, scratch / key)
            extra = _protocol_bodies(ref, scratch / key) if args.protocols else {}
            arts = {
                n: _package(ref, c, scratch / f"{key}-{n}", scratch) for n, c in checkouts.items()
            }
            rounds: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for i in range(args.rounds):
                order = ("before", "after") if i % 2 == 0 else ("after", "before")
                for name in order:
                    port = servers.free_port()
                    argv = [sys.executable, "-c", _SERVE.format(str(checkouts[name])), "serve"]
                    argv += [str(arts[name]), "--workers", "2", "--port", str(port)]
                    log = scratch / f"{key}-{name}-{i}.log"
                    probe = bodies.one_row.read_bytes()
                    server = servers.start(name, argv, port, probe, log, _env(checkouts[name]))
                    try:
                        figures = _measure(
                            server.pid, port, bodies, args.seconds, extra if name == "after" else {}
                        )
                    finally:
                        servers.stop(server)
                    rounds[name].append(figures)
                    print(f"{key} round {i + 1} {name}: {_short(figures)}", flush=True)
            out["models"][key] = {"rounds": rounds, "medians": _medians(rounds)}
    return out


def _short(figures: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:,.3g}" if v < 100 else f"{k} {v:,.0f}" for k, v in figures.items())


def _medians(rounds: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    medians = {
        name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for name, runs in rounds.items()
    }
    ratios = {k: medians["after"][k] / medians["before"][k] for k in medians["before"]}
    after = medians["after"]
    for name in [k for k in after if k.startswith(("oip_", "mlflow_"))]:
        base = "one_row_req_s" if name.endswith("_req_s") else "batch_rows_s"
        ratios[f"{name} / predict"] = after[name] / after[base]
    return {**medians, "after / before": ratios}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout before the change")
    parser.add_argument("--after", type=Path, default=HERE.parent, help="checkout after it")
    parser.add_argument("--models", nargs="+", choices=sorted(models.BUILDERS), default=["lr"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument(
        "--protocols", action="store_true", help="also drive /v2 infer and /invocations"
    )
    args = parser.parse_args()
    load.require_wrk()
    result = compare(args)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"compare-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(result, indent=2))
    for key, found in result["models"].items():
        print(f"\n{key}: medians over {args.rounds} rounds")
        for name, figures in found["medians"].items():
            print(f"  {name}: {_short(figures)}")
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
