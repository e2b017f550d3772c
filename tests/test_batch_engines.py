"""The Dask and Spark engines, run for real: a LocalCluster and PySpark in local mode.

Every run scores 5,000 patients in two input files with 1,000 rows a partition, so each
engine splits the work; what it writes is read back and compared, row for row, with the
Scorer's answer on the whole table. Spark does not keep the input order across files, so
its rows are matched by the id column.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from packager.errors import ArtefactHashError
from server import Settings
from server.audit import verify_chain
from server.batch import (
    RUN_RECORD,
    BatchError,
    Job,
    MissingColumnsError,
    Scorer,
    dask_engine,
    plan_job,
    run_job,
    spark_engine,
)
from server.batch.cluster import failed
from server.batch.errors import ExtraMissingError
from tests.conftest import make_patients

ROWS, CHUNK_ROWS, FILES = 5_000, 1_000, 2
ID = "patient_id"
AUDIT_KEY = "k" * 32
Tables = dict[str, list[Path]]


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    """5,000 patients: missing values, and an infinite bmi now and then (a refused row)."""
    frame, _ = make_patients(ROWS, 21)
    frame.loc[frame.index % 613 == 7, "bmi"] = np.inf
    frame.insert(0, ID, [f"p{i:05d}" for i in range(ROWS)])
    return frame


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory, patients: pd.DataFrame) -> Tables:
    """The patients in two CSV files (with text in a number column too) and two Parquet files."""
    folder = tmp_path_factory.mktemp("inputs")
    text = patients.astype({"age": object})
    text.loc[text.index % 997 == 11, "age"] = "old"
    found: Tables = {"csv": [], "parquet": []}
    for number, rows in enumerate(np.array_split(np.arange(ROWS), FILES)):
        csv, parquet = folder / f"patients-{number}.csv", folder / f"patients-{number}.parquet"
        text.iloc[rows].to_csv(csv, index=False)
        patients.iloc[rows].to_parquet(parquet, index=False)
        found["csv"].append(csv)
        found["parquet"].append(parquet)
    return found


def _plan(
    artefact: Path,
    inputs: list[Path],
    output: Path,
    output_format: str = "parquet",
    engine: str = "local",
    address: str | None = None,
    **settings: Any,
) -> tuple[Job, Scorer]:
    """The job ``deployml score`` would run: every check made, the inputs counted."""
    return plan_job(
        Settings(artefact=artefact, **settings),
        [str(path) for path in inputs],
        output,
        id_columns=[ID],
        output_format=output_format,
        chunk_rows=CHUNK_ROWS,
        engine=engine,
        address=address,
    )


def _whole(inputs: list[Path]) -> pd.DataFrame:
    """The input files read whole, as the local engine reads them (CSV cells as text)."""
    if inputs[0].suffix == ".csv":
        frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in inputs]
    else:
        frames = [pd.read_parquet(path) for path in inputs]
    return pd.concat(frames, ignore_index=True)


def _read_parts(staging: Path, output_format: str) -> pd.DataFrame:
    parts = sorted(p for p in staging.iterdir() if p.name != RUN_RECORD)
    assert [p.name for p in parts] == [f"part-{i:05d}.{output_format}" for i in range(len(parts))]
    if output_format == "csv":
        frames = [pd.read_csv(p, dtype={ID: str}) for p in parts]
    else:
        frames = [pd.read_parquet(p) for p in parts]
    return pd.concat(frames, ignore_index=True)


def _assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The same columns and cells, every kind of missing alike. A probability may differ in
    its last bit: the model's matrix product rounds differently in a batch of a few rows."""
    assert list(got.columns) == list(expected.columns)
    for name in expected.columns:
        cells = [None if pd.isna(v) else v for v in got[name].astype(object)]
        wanted = [None if pd.isna(v) else v for v in expected[name].astype(object)]
        if pd.api.types.is_float_dtype(expected[name].dtype):
            assert np.allclose(
                np.array(cells, dtype=float),
                np.array(wanted, dtype=float),
                rtol=1e-15,
                atol=0,
                equal_nan=True,
            ), name
        else:
            assert cells == wanted, name


def _assert_refused_rows_kept(scored: pd.DataFrame) -> None:
    refused = scored[scored["status"] == "refused"]
    assert len(refused) >= 8
    assert refused["prediction"].isna().all()
    problems = [json.loads(text) for text in refused["errors"]]
    assert all(p and {"feature", "problem"} <= set(p[0]) for p in problems)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A two-worker Dask LocalCluster, passed to the engine as a scheduler address."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local Spark session for the module (the JVM is slow to start), stopped after."""
    from pyspark.sql import SparkSession

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.level", "ERROR")
        .getOrCreate()
    )
    yield session
    session.stop()
    monkeypatch.undo()


def _run(engine: Any, job: Job, scorer: Scorer, staging: Path) -> tuple[Any, list[int]]:
    """The engine's ``run`` called as ``run_job`` calls it, into a fresh staging directory."""
    staging.mkdir()
    done: list[int] = []
    return engine.run(job, scorer, staging, done.append), done


@pytest.mark.parametrize(("kind", "output_format"), [("csv", "parquet"), ("parquet", "csv")])
def test_dask_writes_the_scorers_answer_in_input_order_one_part_per_partition(
    pipeline_artefact: Path,
    tables: Tables,
    cluster: str,
    tmp_path: Path,
    kind: str,
    output_format: str,
) -> None:
    job, scorer = _plan(
        pipeline_artefact, tables[kind], tmp_path / "out", output_format, "dask", cluster
    )
    run, done = _run(dask_engine, job, scorer, tmp_path / "staging")
    written = _read_parts(tmp_path / "staging", output_format)
    assert run.parts == run.partitions >= ROWS // CHUNK_ROWS
    assert run.address == cluster
    assert set(run.versions) == {"dask", "distributed"}
    assert sum(done) == ROWS
    _assert_same(written, scorer.score(_whole(tables[kind])))
    _assert_refused_rows_kept(written)


@pytest.mark.parametrize(("kind", "output_format"), [("csv", "parquet"), ("parquet", "csv")])
def test_spark_writes_the_scorers_answer_for_every_row_in_parts(
    pipeline_artefact: Path,
    tables: Tables,
    spark: Any,
    tmp_path: Path,
    kind: str,
    output_format: str,
) -> None:
    job, scorer = _plan(pipeline_artefact, tables[kind], tmp_path / "out", output_format, "spark")
    split = "spark.sql.files.maxPartitionBytes"
    before = spark.conf.get(split)
    run, done = _run(spark_engine, job, scorer, tmp_path / "staging")
    # The caller's session is left running, with its own settings back.
    assert spark.conf.get(split) == before
    assert spark.range(3).count() == 3
    written = _read_parts(tmp_path / "staging", output_format)
    assert run.parts >= 2
    assert run.address == "local[2]"
    assert run.versions == {"pyspark": spark.version}
    assert sum(done) == ROWS
    expected = scorer.score(_whole(tables[kind]))
    _assert_same(written.set_index(ID).loc[expected[ID]].reset_index(), expected)
    _assert_refused_rows_kept(written)


def test_deployml_score_on_dask_and_spark_writes_what_the_local_engine_writes(
    pipeline_artefact: Path, tables: Tables, cluster: str, spark: Any, tmp_path: Path
) -> None:
    outputs, records = {}, {}
    for engine, address in (("local", None), ("dask", cluster), ("spark", None)):
        output = tmp_path / engine
        job, scorer = _plan(pipeline_artefact, tables["csv"], output, "parquet", engine, address)
        run_job(job, scorer)
        outputs[engine] = pd.read_parquet(output)
        records[engine] = json.loads((output / RUN_RECORD).read_text())
    local = outputs["local"]
    _assert_same(outputs["dask"], local)
    _assert_same(outputs["spark"].set_index(ID).loc[local[ID]].reset_index(), local)
    assert {engine: r["rows"] for engine, r in records.items()} == dict.fromkeys(
        outputs, records["local"]["rows"]
    )
    assert records["dask"]["engine"]["address"] == cluster
    assert records["spark"]["engine"]["address"] == "local[2]"
    assert "distributed" in records["dask"]["versions"]
    assert records["spark"]["versions"]["pyspark"] == spark.version


def test_dask_workers_load_the_shipped_copy_once_per_process_and_remove_it_after(
    pipeline_artefact: Path, tables: Tables, cluster: str, tmp_path: Path
) -> None:
    from distributed import Client

    # strict_categories: settings no other run of this module's cluster has loaded.
    artefact = shutil.copytree(pipeline_artefact, tmp_path / "artefact")
    job, scorer = _plan(
        artefact,
        tables["parquet"],
        tmp_path / "o",
        "parquet",
        "dask",
        cluster,
        strict_categories=True,
    )
    run, _ = _run(dask_engine, job, scorer, tmp_path / "staging")

    def loaded() -> list[str]:
        from server.batch import scorer

        return [str(s.artefact) for s in scorer._LOADED if s.strict_categories]

    def copies(dask_worker: Any) -> list[str]:
        return [p.name for p in Path(dask_worker.local_directory).glob("deployml-artefact-*")]

    with Client(cluster) as client:
        per_worker = client.run(loaded)
        left = client.run(copies)
    paths = [path for paths in per_worker.values() for path in paths]
    # Each worker process loaded the model at most once for all the partitions it scored.
    assert 1 <= len(paths) <= len(per_worker) < run.partitions
    assert {Path(p).name for p in paths} == {f"deployml-artefact-{scorer.sha256[:16]}"}
    assert str(artefact) not in paths
    assert len(left) == 2 and not any(left.values())  # each copy removed when the run ended


def test_spark_executors_load_the_shipped_copy_once_per_python_worker(
    pipeline_artefact: Path, tables: Tables, spark: Any, tmp_path: Path
) -> None:
    artefact = shutil.copytree(pipeline_artefact, tmp_path / "artefact")
    job, scorer = _plan(
        artefact, tables["parquet"], tmp_path / "o", "parquet", "spark", strict_categories=True
    )
    _run(spark_engine, job, scorer, tmp_path / "staging")

    def loaded(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import os

        from server.batch import scorer

        for _ in batches:
            paths = [str(s.artefact) for s in scorer._LOADED if s.strict_categories]
            yield pd.DataFrame({"worker": [os.getpid()] * len(paths), "path": paths})

    # Spark reuses its Python workers: the ones that scored answer this job too.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
        probe = spark.range(4, numPartitions=2).mapInPandas(loaded, "worker long, path string")
        found = {(row.worker, row.path) for row in probe.collect()}
    workers = [worker for worker, _ in found]
    assert workers and len(workers) == len(set(workers))  # one load per Python worker
    assert {Path(path).name for _, path in found} == {f"deployml-artefact-{scorer.sha256[:16]}"}
    assert str(artefact) not in {path for _, path in found}


def test_an_artefact_changed_after_the_scorer_pinned_it_is_refused_before_any_work(
    pipeline_artefact: Path, tables: Tables, tmp_path: Path
) -> None:
    artefact = shutil.copytree(pipeline_artefact, tmp_path / "artefact")
    job, scorer = _plan(artefact, tables["csv"], tmp_path / "out", "parquet", "dask")
    manifest = artefact / "manifest.json"
    manifest.write_text(manifest.read_text().replace("Readmission", "Readmissions"))
    for number, engine in enumerate((dask_engine, spark_engine)):
        with pytest.raises(ArtefactHashError, match=scorer.sha256):
            _run(engine, job, scorer, tmp_path / f"staging-{number}")
        assert list((tmp_path / f"staging-{number}").iterdir()) == []


def test_dask_reports_a_failed_task_by_its_type_and_closes_the_cluster_it_started(
    pipeline_artefact: Path, tables: Tables, tmp_path: Path
) -> None:
    job, scorer = _plan(pipeline_artefact, tables["csv"][:1], tmp_path / "out", "parquet", "dask")
    broken = tmp_path / "broken.csv"
    text = tables["csv"][0].read_bytes()
    middle = text.index(b"\n", len(text) // 2) + 1
    broken.write_bytes(text[:middle] + b"secret \xff\xfe" + text[middle:])
    job = replace(job, inputs=[replace(job.inputs[0], path=broken)])
    before = set(multiprocessing.active_children())
    with pytest.raises(BatchError, match=r"the dask run failed: a task raised \w+") as raised:
        _run(dask_engine, job, scorer, tmp_path / "staging")
    assert "secret" not in str(raised.value)
    assert set(multiprocessing.active_children()) <= before


def test_spark_reports_deploymls_own_error_from_a_worker_by_its_message(
    pipeline_artefact: Path, tables: Tables, spark: Any, tmp_path: Path
) -> None:
    job, scorer = _plan(pipeline_artefact, tables["csv"][:1], tmp_path / "out", "parquet", "spark")
    without = tmp_path / "without-smoker.csv"
    pd.read_csv(tables["csv"][0], dtype=str).drop(columns="smoker").to_csv(without, index=False)
    job = replace(job, inputs=[replace(job.inputs[0], path=without)])
    with pytest.raises(
        BatchError, match="spark run failed: the table lacks 1 feature column: smoker"
    ):
        _run(spark_engine, job, scorer, tmp_path / "staging")


def test_a_task_failure_that_is_not_deploymls_is_named_by_its_type_alone() -> None:
    spark_text = (
        "An exception was thrown from the Python worker:\nTraceback (most recent call last):\n"
        '  File "x.py", line 1, in f\npyarrow.lib.ArrowInvalid: could not convert "p00042"\n'
    )
    for error, kind in (
        (ValueError("could not convert 'p00042'"), "ValueError"),
        (RuntimeError(spark_text), "ArrowInvalid"),
    ):
        reported = failed("spark", error)
        assert isinstance(reported, BatchError)
        assert kind in str(reported) and "p00042" not in str(reported)
    own = MissingColumnsError("the table", ["age"])
    assert failed("dask", own) is own


@pytest.mark.parametrize(
    ("engine", "package", "extra"),
    [(dask_engine, "distributed", "dask"), (spark_engine, "pyspark", "spark")],
)
def test_a_missing_engine_package_is_refused_with_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, engine: Any, package: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, package, None)
    with pytest.raises(
        ExtraMissingError,
        match=rf"needs {package}, which is not installed: pip install 'deployml\[{extra}\]'",
    ):
        engine.versions()


def test_dask_workers_write_the_servers_audit_lines_into_one_chain(
    pipeline_artefact: Path, tables: Tables, cluster: str, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"
    job, scorer = _plan(
        pipeline_artefact,
        tables["parquet"],
        tmp_path / "out",
        "parquet",
        "dask",
        cluster,
        audit_log=log,
        audit_key=AUDIT_KEY,
    )
    run, _ = _run(dask_engine, job, scorer, tmp_path / "staging")
    assert verify_chain(log).lines == run.parts
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert sum(line["rows"] for line in lines) == ROWS
    assert all(line["request_id"].startswith(f"{scorer.run_id}/") for line in lines)
    assert "p00042" not in log.read_text()


@pytest.mark.slow
def test_spark_stops_the_session_it_started_and_sets_its_workers_python(
    pipeline_artefact: Path, tables: Tables, tmp_path: Path
) -> None:
    script = f"""
import os, sys
from pathlib import Path
from pyspark.sql import SparkSession
from server import Settings
from server.batch import plan_job, spark_engine

os.environ.pop("PYSPARK_PYTHON", None)
job, scorer = plan_job(
    Settings(artefact=Path({str(pipeline_artefact)!r})), {[str(p) for p in tables["csv"]]!r},
    Path({str(tmp_path / "out")!r}), id_columns=["{ID}"], chunk_rows={CHUNK_ROWS},
    engine="spark", address="local[1]",
)
staging = Path({str(tmp_path / "staging")!r})
staging.mkdir()
done = []
run = spark_engine.run(job, scorer, staging, done.append)
print(sum(done))
print("session", SparkSession.getActiveSession())
print("python", os.environ["PYSPARK_PYTHON"] == sys.executable, run.address, run.parts)
"""
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    parts = len(list((tmp_path / "staging").iterdir()))
    assert result.stdout.splitlines()[-3:] == [
        str(ROWS),
        "session None",
        f"python True local[1] {parts}",
    ]


def test_a_csv_from_excel_with_its_byte_order_mark_and_crlf_lines_reads_alike_everywhere(
    pipeline_artefact: Path, tables: Tables, cluster: str, spark: Any, tmp_path: Path
) -> None:
    excel = tmp_path / "excel.csv"
    text = tables["csv"][0].read_text()
    excel.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    outputs = {}
    for engine, address in (("local", None), ("dask", cluster), ("spark", None)):
        job, scorer = _plan(
            pipeline_artefact, [excel], tmp_path / engine, "parquet", engine, address
        )
        run_job(job, scorer)
        outputs[engine] = pd.read_parquet(tmp_path / engine).set_index(ID).sort_index()
    expected = scorer.score(_whole(tables["csv"][:1])).set_index(ID).sort_index()
    for engine, written in outputs.items():
        assert len(written) == ROWS // FILES, engine
        _assert_same(written.reset_index(), expected.reset_index())


@pytest.mark.parametrize("output_format", ["parquet", "csv"])
def test_a_file_with_a_header_and_no_rows_scores_to_no_rows_on_dask_and_spark(
    pipeline_artefact: Path,
    tables: Tables,
    cluster: str,
    spark: Any,
    tmp_path: Path,
    output_format: str,
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text(tables["csv"][0].read_text().splitlines()[0] + "\n")
    for engine, address in (("dask", cluster), ("spark", None)):
        output = tmp_path / engine
        job, scorer = _plan(pipeline_artefact, [empty], output, output_format, engine, address)
        record = run_job(job, scorer)
        assert record.rows == {"in": 0, "scored": 0, "refused": 0}, engine
