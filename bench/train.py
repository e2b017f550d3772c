"""Time `deployml train` end to end for each model on a generated table, as a user runs it.

    python bench/train.py                    # 20,000 rows, every model, 3 runs each
    python bench/train.py --rows 2000 --runs 1 --models random-forest svm

Each run is a fresh `deployml train` process (imports, CSV, fitting, the learning curve's
refits, plots, packaging), timed from outside; the median wall time and the peak resident
memory of the run are printed, with the artefact's size. The table has an identifier,
free text, numbers with gaps and categories, like the passenger data of the tests.
There are no targets: the figures are for spotting regressions between commits.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from machine import describe, loadavg

MODELS = (
    "logistic-regression",
    "svm",
    "neural-network",
    "decision-tree",
    "random-forest",
    "gradient-boosting",
)


def table(rows: int, seed: int = 0) -> pd.DataFrame:
    """A passenger-like table: survival depends on sex, class and age."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["male", "female"], rows)
    pclass = rng.choice([1, 2, 3], rows, p=[0.25, 0.2, 0.55])
    age = rng.normal(30, 14, rows).clip(0.5, 80).round(1)
    age[rng.random(rows) < 0.2] = np.nan
    logit = 2.0 * (sex == "female") - 0.9 * (pclass - 2) - 0.03 * (np.nan_to_num(age, nan=30) - 30)
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "survived": (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int),
            "pclass": pclass,
            "name": [f"Passenger {i}" for i in range(rows)],
            "sex": sex,
            "age": age,
            "fare": (rng.gamma(2.0, 15.0, rows) * (4 - pclass)).round(2),
            "embarked": rng.choice(["S", "C", "Q"], rows, p=[0.7, 0.2, 0.1]),
        }
    )


def run_once(csv: Path, model: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one `deployml train` process."""
    command = [
        str(Path(sys.executable).with_name("deployml")),
        "train",
        str(csv),
        "--target",
        "survived",
        "--drop",
        "id",
        "--model",
        model,
        "-o",
        str(out),
        "--force",
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait4 gives this child's own resource usage, its peak RSS among it.
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed; run it to see why")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    args = parser.parse_args()
    info = describe(Path(__file__).resolve().parent.parent)
    print(
        f"commit {info['git_commit']}, Python {info['python']}, {info['cpus']} CPUs, "
        f"scikit-learn {info['packages']['scikit-learn']}, load {loadavg()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "passengers.csv"
        table(args.rows).to_csv(csv, index=False)
        print(
            "\n| model | rows | median wall s | peak RSS MiB | artefact MiB |"
            "\n|---|---|---|---|---|"
        )
        for model in args.models:
            out = Path(tmp) / model
            runs = [run_once(csv, model, out) for _ in range(args.runs)]
            size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 2**20
            wall = statistics.median(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            print(f"| {model} | {args.rows} | {wall:.1f} | {peak:.0f} | {size:.1f} |", flush=True)


if __name__ == "__main__":
    main()
