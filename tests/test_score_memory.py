"""``deployml score`` keeps memory bounded: a million rows cost about what a thousand do.

A subprocess scores a generated 1,000,000-row CSV of the 30 breast-cancer features (about
250 MB of text; read whole as text by pandas it would take gigabytes) with 10,000-row chunks,
and its peak resident memory is compared with a run over 1,000 rows of the same file. Measured
when written: 328 MB against 255 MB (imports, the model and one chunk's work), on Linux.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from sklearn.datasets import load_breast_cancer

ROOT = Path(__file__).resolve().parent.parent
ROWS = 1_000_000
CHUNK_ROWS = 10_000
# The bounds stated in docs/batch-scoring.md.
PEAK_MB = 450
GROWTH_MB = 150
# Runs the command in a child and prints the child's peak resident memory in MB (Linux: KiB).
MEASURE = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
    "sys.exit(code)"
)


def write_table(path: Path, rows: int) -> None:
    """Breast-cancer rows resampled with a little noise, written 100,000 rows at a time."""
    features = load_breast_cancer(return_X_y=True, as_frame=True)[0]
    values = features.to_numpy()
    rng = np.random.default_rng(0)
    schema = pa.schema([(name, pa.float64()) for name in features.columns])
    with pa_csv.CSVWriter(path, schema) as writer:
        for start in range(0, rows, 100_000):
            picked = values[rng.integers(0, len(values), min(100_000, rows - start))]
            noisy = np.round(picked * rng.uniform(0.98, 1.02, picked.shape), 5)
            writer.write_table(pa.table(dict(zip(features.columns, noisy.T, strict=True))))


def peak_mb(artefact: Path, source: Path, output: Path) -> float:
    command = [sys.executable, "-m", "deployml", "score", str(artefact), "-i", str(source)]
    command += ["-o", str(output), "--chunk-rows", str(CHUNK_ROWS)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *command],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_a_million_rows_score_in_bounded_memory(binary_artefact: Path, tmp_path: Path) -> None:
    big, small = tmp_path / "big.csv", tmp_path / "small.csv"
    write_table(big, ROWS)
    with big.open() as lines:
        small.write_text("".join(next(lines) for _ in range(1_001)))
    baseline = peak_mb(binary_artefact, small, tmp_path / "small-out")
    peak = peak_mb(binary_artefact, big, tmp_path / "out")
    record = json.loads((tmp_path / "out" / "_run.json").read_text())
    assert record["rows"]["in"] == ROWS and record["engine"]["partitions"] == ROWS // CHUNK_ROWS
    assert peak < PEAK_MB, f"peak {peak:.0f} MB"
    assert peak - baseline < GROWTH_MB, f"peak {peak:.0f} MB against {baseline:.0f} MB"
