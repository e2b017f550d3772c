"""Before and after a change: one 10,000-row request's cost in-process, two checkouts alternated.

    python bench/batch_path.py --before ../deployml-main          # this checkout is "after"
    python bench/batch_path.py --before OLD --after NEW --models lr rf --rounds 9

No HTTP server and no load generator: each round starts one process per checkout (the order
alternates between rounds), which loads the reference model packaged by that checkout's own
packager, freezes its heap as a gunicorn worker does (``gc.freeze()``), and posts the
10,000-row ``instances`` and columnar bodies through the Flask test client: the whole
``/predict`` (body read, parse, validation, model, response), on one thread. Each figure is
the median of ``--requests`` timed requests after two untimed ones, as wall time and as the
process's CPU time (steadier on a shared machine); the medians over rounds and the
after/before ratios are printed, and every round is written to
``bench/results/batch-path-<UTC time>.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import compare
import machine
import models
from artefacts import MAX_REQUEST_BYTES

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

# Run with the checkout first on the path: argv is checkout, artefact, bodies (JSON), requests.
_TIME = """
import gc, json, logging, statistics, sys, time
sys.path.insert(0, sys.argv[1])
from server import Settings, create_app
app = create_app(Settings(artefact=sys.argv[2], max_rows={rows}, max_request_bytes={size}))
logging.disable(logging.CRITICAL)
client = app.test_client()
bodies = {{label: open(path, "rb").read() for label, path in json.loads(sys.argv[3]).items()}}
gc.freeze()

def seconds(body):
    began, cpu = time.perf_counter(), time.process_time()
    response = client.post("/predict", data=body, content_type="application/json")
    took = time.perf_counter() - began, time.process_time() - cpu
    if response.status_code != 200:
        raise SystemExit(f"answered {{response.status_code}}: {{response.get_data()[:300]!r}}")
    return took

figures = {{}}
for label, body in bodies.items():
    seconds(body), seconds(body)
    timed = [seconds(body) for _ in range(int(sys.argv[4]))]
    figures[label + "_ms"] = 1000 * statistics.median(wall for wall, _ in timed)
    figures[label + "_cpu_ms"] = 1000 * statistics.median(cpu for _, cpu in timed)
print(json.dumps(figures))
"""


def _time(checkout: Path, artefact: Path, bodies: models.Bodies, requests: int) -> Any:
    """One round's median ms per request of each body, in a fresh process of ``checkout``."""
    paths = {"instances": str(bodies.batch), "columnar": str(bodies.batch_columnar)}
    code = _TIME.format(rows=models.BATCH_ROWS, size=MAX_REQUEST_BYTES)
    argv = [sys.executable, "-c", code, str(checkout), str(artefact), json.dumps(paths)]
    done = subprocess.run(
        [*argv, str(requests)], capture_output=True, text=True, env=compare._env(checkout)
    )
    if done.returncode != 0:
        raise SystemExit(f"timing {checkout} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every round of every model, and the medians."""
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    out: dict[str, Any] = {"machine": machine.describe(HERE.parent), "models": {}}
    with tempfile.TemporaryDirectory(prefix="deployml-batch-path-") as tmp:
        scratch = Path(tmp)
        for key in args.models:
            ref = models.BUILDERS[key]()
            bodies = models.write_bodies(ref, scratch / key)
            arts = {
                name: compare._package(ref, checkout, scratch / f"{key}-{name}", scratch)
                for name, checkout in checkouts.items()
            }
            rounds: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
            for i in range(args.rounds):
                for name in ("before", "after") if i % 2 == 0 else ("after", "before"):
                    figures = _time(checkouts[name], arts[name], bodies, args.requests)
                    rounds[name].append(figures)
                    print(f"{key} round {i + 1} {name}: {_short(figures)}", flush=True)
            medians = {
                name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                for name, runs in rounds.items()
            }
            medians["after / before"] = {
                k: medians["after"][k] / medians["before"][k] for k in medians["before"]
            }
            out["models"][key] = {"rounds": rounds, "medians": medians}
    return out


def _short(figures: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in figures.items())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout before the change")
    parser.add_argument("--after", type=Path, default=HERE.parent, help="checkout after it")
    parser.add_argument("--models", nargs="+", choices=sorted(models.BUILDERS), default=["lr"])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=15, help="timed requests per body")
    args = parser.parse_args()
    result = run(args)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"batch-path-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    path.write_text(json.dumps(result, indent=2))
    for key, found in result["models"].items():
        print(f"\n{key}: medians over {args.rounds} rounds (ms per 10,000-row request)")
        for name, figures in found["medians"].items():
            print(f"  {name}: {_short(figures)}")
    print(f"\nwritten: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
