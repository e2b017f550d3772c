"""``deployml score``: files scored with the local engine, exactly as the Scorer scores them.

Bad inputs and outputs are refused with one ``Error:`` line before any work; a run that fails
half-way (a scorer failing on a chunk, a file changed after the checks, an interrupt, rows
lost) leaves neither output nor staging directory, and --force keeps the old output until
the new one is complete. The output equals the Scorer's answer for the whole table, however
the files are cut into chunks, and ``_run.json`` records the run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sklearn
from click.testing import Result
from conftest import make_patients
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from server.batch import RUN_RECORD, Scorer, plan_job, run_job
from server.batch.errors import InputFileError, RowCountError
from server.settings import Settings

Runner = Callable[..., Result]
SECRET = "Jane-Doe-1957"
ROWS = 45


def table(kind: str, rows: int = ROWS) -> pd.DataFrame:
    """Rows the artefact ``kind`` can score, after an ``mrn`` id column."""
    if kind == "pipeline":
        frame, _ = make_patients(rows, seed=11)
    else:
        load = {"binary": load_breast_cancer, "multiclass": load_iris}.get(kind, load_diabetes)
        frame = load(return_X_y=True, as_frame=True)[0].iloc[:rows].reset_index(drop=True)
    frame.insert(0, "mrn", [f"M{i:04d}" for i in range(len(frame))])
    return frame


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def expected(artefact: Path, paths: list[Path], ids: list[str]) -> pd.DataFrame:
    """The Scorer's answer for the files read whole, in order."""
    text = paths[0].suffix == ".csv"
    read = (lambda p: pd.read_csv(p, dtype=str, keep_default_na=False)) if text else pd.read_parquet
    whole = pd.concat([read(p) for p in paths], ignore_index=True)
    return Scorer(Settings(artefact=artefact), id_columns=ids, cells_are_text=text).score(whole)


def written(output: Path) -> pd.DataFrame:
    return pd.read_parquet(output, dtype_backend="numpy_nullable")


def assert_same(got: pd.DataFrame, want: pd.DataFrame, ids: list[str]) -> None:
    added = [c for c in want.columns if c not in ids]
    assert got.dtypes[added].to_dict() == want.dtypes[added].to_dict()
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


def leftovers(folder: Path) -> list[str]:
    """Everything a run may have left: the output and any staging directory."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".out", "out")))


@pytest.fixture
def artefacts(
    binary_artefact: Path,
    multiclass_artefact: Path,
    regressor_artefact: Path,
    pipeline_artefact: Path,
) -> dict[str, Path]:
    return {
        "binary": binary_artefact,
        "multiclass": multiclass_artefact,
        "regressor": regressor_artefact,
        "pipeline": pipeline_artefact,
    }


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regressor", "pipeline"])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_scores_as_the_scorer_scores_the_whole_table(
    runner: Runner, artefacts: dict[str, Path], tmp_path: Path, kind: str, suffix: str
) -> None:
    source = write(table(kind), tmp_path / f"in{suffix}")
    out = tmp_path / "out"
    result = runner("score", artefacts[kind], "--input", source, "--output", out, "--id-col", "mrn")
    assert result.exit_code == 0, result.output
    assert_same(written(out), expected(artefacts[kind], [source], ["mrn"]), ["mrn"])
    assert f"Scored {ROWS} row(s) from 1 file(s)" in result.stdout
    # Not a terminal: progress is a line at the start and one at the end.
    assert result.stderr.startswith(f"scoring: {ROWS} rows\nscoring: done in ")
    assert leftovers(tmp_path) == ["out"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunks_and_files_give_the_output_of_one_chunk(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path, suffix: str
) -> None:
    frame = table("pipeline", 100)
    paths = [
        write(frame.iloc[:62], tmp_path / f"a{suffix}"),
        write(frame.iloc[62:], tmp_path / f"b{suffix}"),
    ]
    out = tmp_path / "out"
    result = runner(
        "score",
        pipeline_artefact,
        "-i",
        tmp_path / f"*{suffix}",
        "-o",
        out,
        "--id-col",
        "mrn",
        "--id-col",
        "age",
        "--chunk-rows",
        7,
    )
    assert result.exit_code == 0, result.output
    assert_same(written(out), expected(pipeline_artefact, paths, ["mrn", "age"]), ["mrn", "age"])
    record = json.loads((out / RUN_RECORD).read_text())
    assert record["output"]["parts"] == ["part-00000.parquet", "part-00001.parquet"]
    assert [f["rows"] for f in record["inputs"]] == [62, 38]
    assert record["engine"]["partitions"] == 9 + 6


def uninstalled(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Make ``package`` look not installed to the checks that look it up before work."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == package else real(name, *a)
    )


def test_refused_rows_are_kept_with_their_errors_and_null_outputs(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path
) -> None:
    frame = table("pipeline", 20).astype({"age": object})
    frame.loc[[3, 8], "age"] = SECRET
    source = write(frame, tmp_path / "in.csv")
    out = tmp_path / "out"
    result = runner("score", pipeline_artefact, "-i", source, "-o", out, "--id-col", "mrn")
    assert result.exit_code == 0, result.output
    got = written(out)
    refused = got[got["status"] == "refused"]
    assert refused["mrn"].tolist() == ["M0003", "M0008"]
    assert refused[["prediction", "probability_yes", "decision"]].isna().all().all()
    assert [json.loads(e)[0]["feature"] for e in refused["errors"]] == ["age", "age"]
    assert got.loc[got["status"] == "scored", "errors"].isna().all()
    assert SECRET not in (out / RUN_RECORD).read_text()
    assert json.loads((out / RUN_RECORD).read_text())["rows"] == {
        "in": 20,
        "scored": 18,
        "refused": 2,
    }
    assert "18 scored, 2 refused" in result.stdout
    assert "Refused: age expected a number, got a string (2)" in result.stdout


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_csv_output_holds_the_same_answers(
    runner: Runner, binary_artefact: Path, tmp_path: Path, suffix: str
) -> None:
    source = write(table("binary"), tmp_path / f"in{suffix}")
    out = tmp_path / "out"
    # One chunk: a linear model's last bit can depend on how many rows BLAS scores at once.
    result = runner("score", binary_artefact, "-i", source, "-o", out, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [RUN_RECORD, "part-00000.csv"]
    # Read as text: Python's float() reads each number back exactly, pandas' parser may not.
    got = pd.read_csv(out / "part-00000.csv", dtype=str, keep_default_na=False)
    want = expected(binary_artefact, [source], [])
    assert list(got.columns) == list(want.columns)
    assert got["prediction"].tolist() == [str(p) for p in want["prediction"]]
    assert [float(p) for p in got["probability_1"]] == want["probability_1"].tolist()
    assert got["status"].eq("scored").all() and got["errors"].eq("").all()


def test_the_run_record_says_what_was_scored_with_what(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("pipeline", 30), tmp_path / "in.csv")
    out = tmp_path / "out"
    result = runner(
        "score", pipeline_artefact, "-i", source, "-o", out, "--id-col", "mrn", "--json"
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / RUN_RECORD).read_text())
    assert json.loads(result.stdout) == record
    want = expected(pipeline_artefact, [source], ["mrn"])
    warnings: dict[str, Counter[str]] = {}
    for text in want["warnings"]:
        for item in json.loads(text):
            warnings.setdefault(item["feature"], Counter())[item["problem"]] += 1
    imputed = Counter(name for text in want["imputed"] for name in json.loads(text))
    manifest_sha = Scorer(Settings(artefact=pipeline_artefact)).sha256
    versions = record.pop("versions")
    started, ended = record.pop("started_at"), record.pop("ended_at")
    assert record == {
        "run_record_version": "1.0",
        "run_id": record["run_id"],
        "artefact": {
            "path": str(pipeline_artefact),
            "sha256": manifest_sha,
            "model_name": "readmission",
            "model_version": "1.0.0",
        },
        "inputs": [
            {
                "path": str(source),
                "format": "csv",
                "rows": 30,
                "sha256": record["inputs"][0]["sha256"],
            }
        ],
        "output": {"path": str(out), "format": "parquet", "parts": ["part-00000.parquet"]},
        "rows": {"in": 30, "scored": 30, "refused": 0},
        "errors": {},
        "warnings": {f: dict(c) for f, c in sorted(warnings.items())},
        "imputed": dict(sorted(imputed.items())),
        "engine": {"name": "local", "address": None, "partitions": 1},
        "settings": {
            "profile": "default",
            "strict_categories": False,
            "chunk_rows": 50_000,
            "id_columns": ["mrn"],
        },
        "audit_log": None,
    }
    assert record["inputs"][0]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert imputed and started <= ended and started.endswith("+00:00")
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", record["run_id"])
    assert versions["python"] == platform.python_version()
    assert (versions["pandas"], versions["scikit-learn"]) == (pd.__version__, sklearn.__version__)
    assert set(versions) == {"python", "deployml", "scikit-learn", "numpy", "pandas", "pyarrow"}


def test_an_audit_log_gets_the_runs_lines_and_is_named_in_the_record(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("binary"), tmp_path / "in.csv")
    log = tmp_path / "audit.jsonl"
    env = {"DEPLOYML_AUDIT_LOG": str(log), "DEPLOYML_AUDIT_KEY": "k" * 32, "DEPLOYML_ARTEFACT": ""}
    result = runner(
        "score", binary_artefact, "-i", source, "-o", tmp_path / "out", "--chunk-rows", 20, env=env
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / RUN_RECORD).read_text())["audit_log"] == str(log)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 3 and {line["endpoint"] for line in lines} == {"deployml score"}


def test_files_with_a_header_and_no_rows_give_parts_with_no_rows(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "a.csv"
    empty.write_text("mrn,age,bmi,sex,ward,smoker\n")
    full = write(table("pipeline", 5), tmp_path / "b.csv")
    out = tmp_path / "out"
    result = runner(
        "score", pipeline_artefact, "-i", empty, "-i", full, "-o", out, "--id-col", "mrn"
    )
    assert result.exit_code == 0, result.output
    assert pq_rows(out / "part-00000.parquet") == 0 and pq_rows(out / "part-00001.parquet") == 5
    assert_same(written(out), expected(pipeline_artefact, [full], ["mrn"]), ["mrn"])


def pq_rows(path: Path) -> int:
    return len(pd.read_parquet(path))


def test_an_id_column_given_twice_is_refused(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("pipeline"), tmp_path / "in.csv")
    result = runner(
        "score",
        pipeline_artefact,
        "-i",
        source,
        "-o",
        tmp_path / "out",
        "--id-col",
        "mrn",
        "--id-col",
        "mrn",
    )
    assert refusal(result, tmp_path) == "Error: --id-col mrn: given twice"


# --- refused before any work ---


def refusal(result: Result, tmp_path: Path) -> str:
    assert result.exit_code == 1, result.output
    assert leftovers(tmp_path) == []
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: ") and SECRET not in line
    return line


def test_a_glob_matching_nothing_is_refused(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    pattern = tmp_path / "nightly-*.csv"
    result = runner("score", binary_artefact, "-i", pattern, "-o", tmp_path / "out")
    assert refusal(result, tmp_path) == f"Error: no input file matches {pattern}"


def test_an_unreadable_file_is_refused(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"\xff\xfe" + SECRET.encode("utf-16"))
    result = runner("score", binary_artefact, "-i", source, "-o", tmp_path / "out")
    assert refusal(result, tmp_path) == f"Error: cannot read input {source}: not UTF-8 text"


def test_mixed_formats_are_refused(runner: Runner, binary_artefact: Path, tmp_path: Path) -> None:
    a = write(table("binary"), tmp_path / "a.csv")
    b = write(table("binary"), tmp_path / "b.parquet")
    result = runner("score", binary_artefact, "-i", a, "-i", b, "-o", tmp_path / "out")
    assert "mix formats" in refusal(result, tmp_path)


def test_a_file_of_another_format_is_refused_naming_the_suffixes(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    source = tmp_path / "in.xlsx"
    source.write_text("x")
    result = runner("score", binary_artefact, "-i", source, "-o", tmp_path / "out")
    assert refusal(result, tmp_path).endswith("input files must end in .csv or .parquet")


def test_missing_feature_columns_are_named_with_their_file(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path
) -> None:
    frame = table("pipeline").drop(columns=["bmi", "ward"])
    frame["name"] = SECRET
    source = write(frame, tmp_path / "in.parquet")
    result = runner("score", pipeline_artefact, "-i", source, "-o", tmp_path / "out")
    assert refusal(result, tmp_path) == f"Error: {source} lacks 2 feature columns: bmi, ward"


def test_a_missing_id_column_is_refused(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("pipeline"), tmp_path / "in.csv")
    result = runner(
        "score", pipeline_artefact, "-i", source, "-o", tmp_path / "out", "--id-col", "encounter"
    )
    assert refusal(result, tmp_path) == f"Error: {source} lacks 1 id column: encounter"


@pytest.mark.parametrize("column", ["prediction", "probability_yes", "status"])
def test_an_id_column_named_like_an_output_column_is_refused(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path, column: str
) -> None:
    source = write(table("pipeline").assign(**{column: 1}), tmp_path / "in.csv")
    result = runner(
        "score", pipeline_artefact, "-i", source, "-o", tmp_path / "out", "--id-col", column
    )
    assert refusal(result, tmp_path) == (
        f"Error: --id-col {column}: the scored output has a column of that name already"
    )


def test_an_existing_output_is_refused_without_force(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("binary"), tmp_path / "in.csv")
    (tmp_path / "out").mkdir()
    result = runner("score", binary_artefact, "-i", source, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert (
        result.stderr == f"Error: {tmp_path / 'out'} already exists; pass --force to replace it\n"
    )
    assert list((tmp_path / "out").iterdir()) == []


def test_an_output_whose_parent_is_missing_is_refused(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("binary"), tmp_path / "in.csv")
    result = runner("score", binary_artefact, "-i", source, "-o", tmp_path / "no" / "out")
    assert "its parent directory" in refusal(result, tmp_path)


def test_an_engine_without_its_package_says_which_extra_to_install(
    runner: Runner, binary_artefact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(table("binary"), tmp_path / "in.csv")
    uninstalled(monkeypatch, "pyspark")
    result = runner(
        "score", binary_artefact, "-i", source, "-o", tmp_path / "out", "--engine", "spark"
    )
    assert refusal(result, tmp_path) == (
        "Error: the spark engine needs pyspark, which is not installed: "
        "pip install 'deployml[spark]'"
    )


def test_a_scheduler_for_the_local_engine_is_a_usage_error(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("binary"), tmp_path / "in.csv")
    result = runner(
        "score",
        binary_artefact,
        "-i",
        source,
        "-o",
        tmp_path / "out",
        "--scheduler",
        "tcp://x:8786",
    )
    assert result.exit_code == 2 and "only the dask engine has a scheduler" in result.stderr


def test_an_output_holding_an_input_is_refused_even_with_force(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    source = write(table("binary"), tmp_path / "out" / "in.csv")
    result = runner("score", binary_artefact, "-i", source, "-o", tmp_path / "out", "--force")
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: output {tmp_path / 'out'}: holds the input {source}; write elsewhere\n"
    )
    assert source.exists()


def test_chunk_rows_below_one_is_refused(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("binary"), tmp_path / "in.csv")
    result = runner(
        "score", binary_artefact, "-i", source, "-o", tmp_path / "out", "--chunk-rows", 0
    )
    assert result.exit_code == 2 and "Invalid value for '--chunk-rows'" in result.stderr
    assert leftovers(tmp_path) == []


def test_parquet_without_pyarrow_says_which_extra_to_install(
    runner: Runner, binary_artefact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(table("binary"), tmp_path / "in.csv")
    uninstalled(monkeypatch, "pyarrow")
    result = runner("score", binary_artefact, "-i", source, "-o", tmp_path / "out")
    assert refusal(result, tmp_path) == (
        "Error: writing Parquet needs pyarrow, which is not installed: "
        "pip install 'deployml[parquet]'"
    )


def test_an_unknown_profile_is_refused_naming_the_option(
    runner: Runner, binary_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("binary"), tmp_path / "in.csv")
    result = runner(
        "score", binary_artefact, "-i", source, "-o", tmp_path / "out", "--profile", "nope"
    )
    assert refusal(result, tmp_path).startswith("Error: --profile: ")


# --- failing half-way leaves nothing ---


def failing_on(monkeypatch: pytest.MonkeyPatch, call: int, error: BaseException) -> None:
    """Make Scorer.score raise ``error`` on its ``call``-th call."""
    real = Scorer.score
    calls = Counter[str]()

    def score(self: Scorer, frame: pd.DataFrame) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise error
        return real(self, frame)

    monkeypatch.setattr(Scorer, "score", score)


@pytest.mark.parametrize("error", [RuntimeError("chunk 3"), KeyboardInterrupt()])
def test_a_run_failing_on_a_chunk_leaves_no_output_and_no_staging(
    pipeline_artefact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    source = write(table("pipeline", 40), tmp_path / "in.csv")
    job, scorer = plan_job(
        Settings(artefact=pipeline_artefact), [str(source)], tmp_path / "out", chunk_rows=10
    )
    failing_on(monkeypatch, 3, error)
    with pytest.raises(type(error)):
        run_job(job, scorer)
    assert leftovers(tmp_path) == []


def test_force_keeps_the_old_output_until_the_new_one_is_complete(
    runner: Runner, pipeline_artefact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write(table("pipeline", 40), tmp_path / "in.csv")
    out = tmp_path / "out"
    out.mkdir()
    (out / "yesterday.txt").write_text("kept")
    args = ("score", pipeline_artefact, "-i", source, "-o", out, "--force", "--chunk-rows", 10)
    with monkeypatch.context() as patched:
        failing_on(patched, 3, RuntimeError("chunk 3"))
        assert runner(*args).exit_code == 1
    assert leftovers(tmp_path) == ["out"] and (out / "yesterday.txt").read_text() == "kept"
    assert runner(*args).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == [RUN_RECORD, "part-00000.parquet"]
    assert leftovers(tmp_path) == ["out"]


def test_a_file_changed_after_the_checks_fails_the_run_and_leaves_nothing(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    a = write(table("pipeline"), tmp_path / "a.csv")
    b = write(table("pipeline"), tmp_path / "b.csv")
    job, scorer = plan_job(Settings(artefact=pipeline_artefact), [str(a), str(b)], tmp_path / "out")
    b.write_bytes(b"\xff\xfe" + SECRET.encode("utf-16"))
    with pytest.raises(InputFileError, match="not UTF-8 text"):
        run_job(job, scorer)
    assert leftovers(tmp_path) == []


def test_rows_written_unlike_rows_read_fail_the_run(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    source = write(table("pipeline"), tmp_path / "in.csv")
    job, scorer = plan_job(Settings(artefact=pipeline_artefact), [str(source)], tmp_path / "out")
    grown = replace(job, inputs=[replace(job.inputs[0], rows=ROWS + 1)])
    with pytest.raises(
        RowCountError, match=f"the inputs hold {ROWS + 1} rows but {ROWS} were written"
    ):
        run_job(grown, scorer)
    assert leftovers(tmp_path) == []


def test_a_run_stopped_by_sigterm_removes_its_staging_directory(
    pipeline_artefact: Path, tmp_path: Path
) -> None:
    frame, _ = make_patients(50_000, seed=5)
    source = write(frame, tmp_path / "in.csv")
    command = [sys.executable, "-m", "deployml", "score", str(pipeline_artefact), "-i", str(source)]
    command += ["-o", str(tmp_path / "out"), "--chunk-rows", "100"]
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    quiet = subprocess.DEVNULL
    with subprocess.Popen(command, env=env, stdout=quiet, stderr=quiet) as run:
        # Stopped once its first part is being written: a scheduler ending the job half-way.
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".out.partial-*/part-00000.parquet")):
            assert run.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 128 + signal.SIGTERM
    assert leftovers(tmp_path) == []
