"""The model file as skops against joblib: its size and load time, for every model train offers.

    python bench/model_file.py                     # 20,000 rows (svm 5,000), 7 loads each
    python bench/model_file.py --rows 2000 --loads 3 --models random-forest

Each model is trained once with `packager.train` on the passenger-like table of `train.py`
(no plots), then packaged twice from the same capture: as skops (the default) and with
`--format pickle`. A load is what the server does at start-up: `read_model_file`, which for
skops first lists the file's untrusted types and checks them against the manifest, then
loads trusting exactly those; for joblib it unpickles. Each load is timed in this process
after one untimed warm-up load, and the median is printed with the ratio skops ÷ joblib.
There are no targets: the figures show what the safe default costs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from machine import describe, loadavg
from train import MODELS, table

from packager import package, read_manifest, train
from packager.artefact import read_model_file

# The SVM's fit grows with the square of the rows (see README.md), so it gets fewer.
SVM_ROWS = 5_000


def load_seconds(artefact: Path, loads: int) -> list[float]:
    """Wall seconds of each of ``loads`` reads of the artefact's model file, after a warm-up."""
    manifest, _ = read_manifest(artefact)
    times = []
    for i in range(loads + 1):
        start = time.perf_counter()
        read_model_file(artefact, manifest.model_file, allow_pickle=True)
        if i:
            times.append(time.perf_counter() - start)
    return times


def measure(model: str, rows: int, loads: int, tmp: Path) -> dict[str, Any]:
    """File size (bytes) and median load seconds of one model, as skops and as joblib."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # columns left out, convergence: not measured here
        captured = train(table(rows), "survived", model=model, drop=["id"], plots=False)
    figures: dict[str, Any] = {"model": model, "rows": rows}
    for model_format in ("skops", "pickle"):
        out = package(captured, tmp / f"{model}-{model_format}", model_format=model_format)
        manifest, _ = read_manifest(out)
        figures[model_format] = {
            "bytes": (out / manifest.model_file.path).stat().st_size,
            "load_s": statistics.median(load_seconds(out, loads)),
            "trusted_types": manifest.model_file.trusted_types,
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    args = parser.parse_args()
    info = describe(Path(__file__).resolve().parent.parent)
    print(
        f"commit {info['git_commit']}, Python {info['python']}, {info['cpus']} CPUs, "
        f"scikit-learn {info['packages']['scikit-learn']}, skops {info['packages']['skops']}, "
        f"load {loadavg()}"
    )
    print(
        "\n| model | rows | skops KiB | joblib KiB | size ratio | skops load ms "
        "| joblib load ms | load ratio |\n|---|---|---|---|---|---|---|---|"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            rows = min(args.rows, SVM_ROWS) if model == "svm" else args.rows
            f = measure(model, rows, args.loads, Path(tmp))
            skops, joblib = f["skops"], f["pickle"]
            print(
                f"| {model} | {rows} | {skops['bytes'] / 1024:.0f} | {joblib['bytes'] / 1024:.0f} "
                f"| {skops['bytes'] / joblib['bytes']:.2f}x | {skops['load_s'] * 1000:.1f} "
                f"| {joblib['load_s'] * 1000:.1f} | {skops['load_s'] / joblib['load_s']:.1f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
