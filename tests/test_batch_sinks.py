"""Where a batch run writes: staged beside the output, parts of one schema, renamed at the end.

An existing output is refused without --force and, with it, replaced only by a finished run;
the parts are counted back from their status, errors, warnings and imputed columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from packager.errors import OutputExistsError
from server.batch.errors import OutputPathError
from server.batch.sinks import (
    PartWriter,
    check_output,
    discard,
    finish,
    make_staging,
    output_schema,
    part_path,
    part_paths,
    read_totals,
)

OUTPUTS = {
    "prediction": "string",
    "probability_yes": "Float64",
    "status": "string",
    "errors": "string",
    "warnings": "string",
    "imputed": "string",
}
REFUSED = json.dumps([{"feature": "age", "problem": "missing"}])
WARNED = json.dumps([{"feature": "bmi", "problem": "above training range"}])


def answers(ids: list[object], refused: int = 0) -> pd.DataFrame:
    """A scorer's answer for ``ids``: the first ``refused`` rows refused, then scored ones."""
    rows = len(ids)
    status = ["refused"] * refused + ["scored"] * (rows - refused)
    return pd.DataFrame(
        {
            "mrn": ids,
            "prediction": pd.array([None] * refused + ["yes"] * (rows - refused), "string"),
            "probability_yes": pd.array([None] * refused + [0.75] * (rows - refused), "Float64"),
            "status": pd.array(status, "string"),
            "errors": pd.array([REFUSED] * refused + [None] * (rows - refused), "string"),
            "warnings": pd.array(["[]"] * refused + [WARNED] * (rows - refused), "string"),
            "imputed": pd.array(["[]"] * (rows - 1) + ['["ward"]'], "string"),
        }
    )


def test_an_existing_output_is_refused_without_force(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(OutputExistsError, match="already exists; pass --force to replace it"):
        check_output(tmp_path / "out", force=False)
    check_output(tmp_path / "out", force=True)


def test_an_output_whose_parent_is_missing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError) as raised:
        check_output(tmp_path / "nowhere" / "out", force=False)
    assert raised.value.message == (
        f"output {tmp_path / 'nowhere' / 'out'}: its parent directory {tmp_path / 'nowhere'} "
        "does not exist"
    )


def test_staging_sits_beside_the_output_named_unfinished_and_renames_into_place(
    tmp_path: Path,
) -> None:
    staging = make_staging(tmp_path / "scores", "run1")
    assert staging == tmp_path / ".scores.partial-run1" and staging.is_dir()
    (staging / "part-00000.csv").write_text("x\n")
    finish(staging, tmp_path / "scores", force=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]
    assert (tmp_path / "scores" / "part-00000.csv").read_text() == "x\n"


def test_force_replaces_the_old_output_only_at_the_end(tmp_path: Path) -> None:
    output = tmp_path / "scores"
    output.mkdir()
    (output / "old.txt").write_text("old")
    staging = make_staging(output, "run2")
    (staging / "new.txt").write_text("new")
    assert (output / "old.txt").exists()
    finish(staging, output, force=True)
    assert sorted(p.name for p in output.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]


def test_discard_removes_the_staging_directory_and_its_parts(tmp_path: Path) -> None:
    staging = make_staging(tmp_path / "scores", "run3")
    (staging / "part-00000.parquet").write_bytes(b"half")
    discard(staging)
    assert list(tmp_path.iterdir()) == []


def test_parquet_parts_keep_one_schema_whatever_a_chunk_holds(tmp_path: Path) -> None:
    # Integer ids read as float64 in a chunk with a null are written back as int64.
    schema = output_schema({"mrn": pa.int64()}, OUTPUTS)
    path = part_path(tmp_path, 0, "parquet")
    with PartWriter(path, "parquet", ["mrn", *OUTPUTS], schema) as writer:
        writer.write(answers([1, 2, 3], refused=1))
        writer.write(answers([4.0, float("nan")]))
    table = pq.read_table(path)
    assert table.schema == schema
    assert table.column("mrn").to_pylist() == [1, 2, 3, 4, None]
    assert table.column("probability_yes").to_pylist() == [None, 0.75, 0.75, 0.75, 0.75]
    assert pq.ParquetFile(path).num_row_groups == 2


def test_a_part_without_rows_still_has_its_columns(tmp_path: Path) -> None:
    columns = ["mrn", *OUTPUTS]
    with PartWriter(part_path(tmp_path, 0, "csv"), "csv", columns):
        pass
    schema = output_schema({"mrn": pa.string()}, OUTPUTS)
    with PartWriter(part_path(tmp_path, 1, "parquet"), "parquet", columns, schema):
        pass
    assert list(pd.read_csv(tmp_path / "part-00000.csv").columns) == columns
    assert pq.read_table(tmp_path / "part-00001.parquet").schema == schema


def test_a_chunk_with_other_columns_is_a_programming_error(tmp_path: Path) -> None:
    with (
        PartWriter(part_path(tmp_path, 0, "csv"), "csv", ["mrn"]) as writer,
        pytest.raises(ValueError, match="columns differ"),
    ):
        writer.write(answers([1]))


@pytest.mark.parametrize("output_format", ["csv", "parquet"])
def test_totals_count_statuses_problems_and_imputed_features(
    tmp_path: Path, output_format: str
) -> None:
    schema = output_schema({"mrn": pa.string()}, OUTPUTS)
    for index, ids in enumerate([["a", "b", "c"], ["d", "e"]]):
        path = part_path(tmp_path, index, output_format)
        with PartWriter(path, output_format, ["mrn", *OUTPUTS], schema) as writer:
            writer.write(answers(ids, refused=1))
    assert [p.name for p in part_paths(tmp_path, output_format)] == [
        f"part-00000.{output_format}",
        f"part-00001.{output_format}",
    ]
    totals = read_totals(tmp_path, output_format)
    assert (totals.rows, totals.scored, totals.refused) == (5, 3, 2)
    assert totals.problems("errors") == {"age": {"missing": 2}}
    assert totals.problems("warnings") == {"bmi": {"above training range": 3}}
    assert dict(totals.imputed) == {"ward": 2}
