"""deployml score: the local engine's throughput and memory, and Dask's and Spark's wall time.

    python bench/batch.py                            # 1,000,000 rows, 3 rounds
    python bench/batch.py --rows 50000 --rounds 1    # a quick check of the harness
    python bench/batch.py --engines local dask --formats parquet --chunk-rows 100000

Made once per size under ``bench/results/batch-data-<rows>/`` (reused by later runs): the
example artefact (``deployml example``: the breast-cancer model, 30 numeric features) and a
table of ``--rows`` encounters drawn from the data it was trained on (a training row picked
at random plus Gaussian noise of 5% of each feature's spread, kept within the training range
and rounded to 4 decimals; one row in 1,000 has a missing value, which this model refuses),
with an ``encounter_id``, as one CSV file and one Parquet file (row groups of 100,000 rows).

Each round runs ``python -m deployml score`` once per engine and input format, each in a fresh
process, the engines' order reversed every other round, with Parquet output and
``--chunk-rows`` (the command's own default unless given). It records the
wall time and the peak resident set of that process (``ru_maxrss``, through a small launcher:
for the local engine, the whole run; for Dask and Spark, the driver alone, not their workers). The
medians over rounds are printed as rows/s, peak RSS and each engine's time as a ratio to the
local engine's on the same input, and every round is written to
``bench/results/batch-<UTC time>.json`` with the machine's description and load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import machine
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ID_COLUMN = "encounter_id"
ENGINES = ("local", "dask", "spark")
FORMATS = ("csv", "parquet")
NOISE = 0.05
MISSING_EVERY = 1_000
ROW_GROUP_ROWS = 100_000
WRITE_ROWS = 200_000
# Runs the command (argv[2:]) and writes its peak resident memory in MiB to argv[1] (Linux's
# ru_maxrss is in KiB; the launcher itself is far smaller than any deployml process).
MEASURE = (
    "import pathlib, resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[2:]).returncode; "
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
    "pathlib.Path(sys.argv[1]).write_text(str(peak)); "
    "sys.exit(code)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--chunk-rows", type=int, default=None, help="default: deployml score's own"
    )
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    options = parser.parse_args()

    data = make_data(options.rows)
    runs: list[dict[str, Any]] = []
    for number in range(options.rounds):
        order = options.engines if number % 2 == 0 else options.engines[::-1]
        for engine in order:
            for kind in options.formats:
                figures = score(data, engine, kind, options.chunk_rows)
                runs.append({"round": number, **figures, "loadavg": machine.loadavg()})
                print(
                    f"round {number + 1}/{options.rounds} {engine:5} {kind:7} "
                    f"{figures['seconds']:8.2f} s  {figures['peak_rss_mib']:7.0f} MiB",
                    flush=True,
                )
    summary = summarise(runs, options.rows)
    print()
    print(table(summary))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS / f"batch-{stamp}.json"
    record = {
        "options": vars(options),
        "machine": machine.describe(ROOT),
        "summary": summary,
        "runs": runs,
    }
    path.write_text(json.dumps(record, indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")


def make_data(rows: int) -> dict[str, Path]:
    """The artefact and the table in both formats, made once per size."""
    folder = RESULTS / f"batch-data-{rows}"
    done = folder / "made"
    paths = {
        "artefact": folder / "artefact",
        "csv": folder / "encounters.csv",
        "parquet": folder / "encounters.parquet",
    }
    if done.exists():
        return paths
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"making the artefact and {rows:,} rows in {folder.relative_to(ROOT)} ...", flush=True)
    sys.path.insert(0, str(ROOT))
    from packager.example import build_example, load_example_data

    build_example(paths["artefact"])
    table = encounters(load_example_data()[0], rows)
    table.to_parquet(paths["parquet"], index=False, row_group_size=ROW_GROUP_ROWS)
    for start in range(0, rows, WRITE_ROWS):
        table.iloc[start : start + WRITE_ROWS].to_csv(
            paths["csv"], mode="a", header=start == 0, index=False
        )
    done.touch()
    return paths


def encounters(training: pd.DataFrame, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` rows like ``training``'s: a row picked at random, plus noise, kept in range."""
    rng = np.random.default_rng(seed)
    values = training.to_numpy(dtype=float)
    picked = values[rng.integers(0, len(values), rows)]
    noisy = picked + rng.normal(0.0, NOISE * values.std(axis=0), picked.shape)
    noisy = np.clip(noisy, values.min(axis=0), values.max(axis=0)).round(4)
    missing = np.arange(0, rows, MISSING_EVERY)
    noisy[missing, rng.integers(0, values.shape[1], len(missing))] = np.nan
    table = pd.DataFrame(noisy, columns=training.columns)
    table.insert(0, ID_COLUMN, np.arange(rows, dtype=np.int64))
    return table


def score(data: dict[str, Path], engine: str, kind: str, chunk_rows: int | None) -> dict[str, Any]:
    """One ``deployml score`` run in a fresh process: its wall time and peak RSS."""
    with tempfile.TemporaryDirectory(prefix="deployml-bench-") as scratch:
        output = Path(scratch) / "scored"
        command = [
            sys.executable,
            "-m",
            "deployml",
            "score",
            str(data["artefact"]),
            "--input",
            str(data[kind]),
            "--output",
            str(output),
            "--engine",
            engine,
            "--id-col",
            ID_COLUMN,
        ]
        if chunk_rows is not None:
            command += ["--chunk-rows", str(chunk_rows)]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        log, peak = Path(scratch) / "log.txt", Path(scratch) / "peak.txt"
        with log.open("wb") as sink:
            started = time.perf_counter()
            # Through a small launcher: a child forked from this process (which holds the
            # table) would count this process's pages in its own peak until it execs.
            status = subprocess.run(
                [sys.executable, "-c", MEASURE, str(peak), *command],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                check=False,
            ).returncode
            seconds = time.perf_counter() - started
        if status != 0:
            sys.exit(f"{' '.join(command)} failed:\n{log.read_text()[-3000:]}")
        record = json.loads((output / "_run.json").read_text())
        peak_mib = float(peak.read_text())
    return {
        "engine": engine,
        "input": kind,
        "seconds": seconds,
        "peak_rss_mib": peak_mib,
        "record": {k: record.get(k) for k in ("rows", "engine", "versions", "settings")},
    }


def summarise(runs: list[dict[str, Any]], rows: int) -> list[dict[str, Any]]:
    """Medians per engine and input; each engine's time as a ratio to local on that input."""
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        found.setdefault((run["engine"], run["input"]), []).append(run)
    medians = {
        key: {
            "seconds": statistics.median(r["seconds"] for r in group),
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in group),
            "rounds": len(group),
        }
        for key, group in found.items()
    }
    summary = []
    for (engine, kind), figures in medians.items():
        local = medians.get(("local", kind))
        summary.append(
            {
                "engine": engine,
                "input": kind,
                **figures,
                "rows_per_s": rows / figures["seconds"],
                "time_vs_local": None if local is None else figures["seconds"] / local["seconds"],
            }
        )
    return summary


def table(summary: list[dict[str, Any]]) -> str:
    """The medians as a Markdown table."""
    lines = [
        "| engine | input | wall s | rows/s | peak RSS MiB | time vs local |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for s in summary:
        ratio = "" if s["time_vs_local"] is None else f"{s['time_vs_local']:.2f}x"
        lines.append(
            f"| {s['engine']} | {s['input']} | {s['seconds']:.1f} | {s['rows_per_s']:,.0f} | "
            f"{s['peak_rss_mib']:.0f} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
