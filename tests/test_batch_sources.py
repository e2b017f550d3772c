"""A batch run's inputs: patterns to files, formats, columns, rows and hashes, refused clearly.

Each refusal is a BatchError naming the pattern, file or columns, never a cell's text; a CSV is
read as text in chunks by the same parser that counted its rows.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from packager.errors import DeploymlError
from server.batch.errors import (
    ExtraMissingError,
    InputFileError,
    InputFormatError,
    MissingColumnsError,
    NoInputMatchError,
)
from server.batch.sources import find_inputs, id_types, input_format, read_chunks, read_inputs

FEATURES = ["age", "bmi"]
# A value that must never reach a message: patients' values stay out of errors.
SECRET = "Jane-Doe-1957"


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_glob_matching_nothing_is_refused_naming_the_pattern(tmp_path: Path) -> None:
    with pytest.raises(NoInputMatchError, match=r"no input file matches .*nightly-\*\.csv"):
        find_inputs([str(tmp_path / "nightly-*.csv")])


def test_a_missing_path_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(NoInputMatchError, match=r"absent\.csv"):
        find_inputs([str(tmp_path / "absent.csv")])


def test_globs_expand_sorted_and_each_file_is_read_once(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "c.csv"):
        write_csv(tmp_path / name, "age,bmi\n1,2\n")
    again = tmp_path / "sub" / ".." / "a.csv"
    (tmp_path / "sub").mkdir()
    found = find_inputs([str(tmp_path / "c.csv"), str(tmp_path / "*.csv"), str(again)])
    assert [p.name for p in found] == ["c.csv", "a.csv", "b.csv"]


def test_a_directory_given_as_an_input_is_refused(tmp_path: Path) -> None:
    (tmp_path / "parts.csv").mkdir()
    with pytest.raises(InputFileError, match="is a directory"):
        find_inputs([str(tmp_path / "parts.csv")])


@pytest.mark.parametrize("name", ["table.tsv", "table.json", "table"])
def test_a_file_neither_csv_nor_parquet_is_refused_naming_the_suffixes(name: str) -> None:
    with pytest.raises(InputFormatError, match=r"must end in \.csv or \.parquet"):
        input_format([Path(name)])


def test_inputs_mixing_csv_and_parquet_are_refused() -> None:
    with pytest.raises(InputFormatError) as raised:
        input_format([Path("a.csv"), Path("b.PARQUET"), Path("c.csv")])
    assert raised.value.message == (
        "the inputs mix formats, csv (a.csv) and parquet (b.PARQUET): give files of one format"
    )


def test_missing_feature_columns_are_named_with_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", f"age,name\n50,{SECRET}\n")
    with pytest.raises(MissingColumnsError) as raised:
        read_inputs([path], ["age", "bmi", "ward"])
    assert raised.value.message == f"{path} lacks 2 feature columns: bmi, ward"
    assert raised.value.missing == ["bmi", "ward"]


def test_a_missing_id_column_is_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", "age,bmi\n50,20\n")
    with pytest.raises(MissingColumnsError, match=r"t\.csv lacks 1 id column: encounter$"):
        read_inputs([path], FEATURES, ["encounter"])


def test_a_parquet_file_lacking_a_feature_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"age": [1.0]}).to_parquet(path)
    with pytest.raises(MissingColumnsError, match=r"t\.parquet lacks 1 feature column: bmi$"):
        read_inputs([path], FEATURES)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty: no header line"),
        (b"age,bmi\n" + SECRET.encode("utf-16") + b"\xff\xfe,1\n", "not UTF-8 text"),
    ],
    ids=["empty", "not-utf8"],
)
def test_an_unreadable_csv_is_refused_without_its_text(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(InputFileError) as raised:
        read_inputs([path], FEATURES)
    assert raised.value.message == f"cannot read input {path}: {problem}"
    assert SECRET not in raised.value.message and "Jane" not in raised.value.message


def test_a_row_with_more_cells_than_the_header_is_refused_when_read(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", f"age,bmi\n1,2\n3,4,{SECRET}\n5,6\n")
    (found,) = read_inputs([path], FEATURES)
    assert found.rows == 3
    with pytest.raises(InputFileError) as raised:
        list(read_chunks(found, FEATURES, 10))
    assert raised.value.message == (
        f"cannot read input {path}: not well-formed CSV (a row with more cells than the "
        "header, or an open quote)"
    )
    assert SECRET not in raised.value.message


def test_a_parquet_suffix_on_another_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    path.write_text(f"age,bmi\n{SECRET},1\n")
    with pytest.raises(InputFileError, match="not a readable Parquet file") as raised:
        read_inputs([path], FEATURES)
    assert SECRET not in raised.value.message


def test_rows_are_counted_as_pandas_reads_them_and_bytes_hashed(tmp_path: Path) -> None:
    # A quoted line break is one row, not two.
    path = write_csv(tmp_path / "t.csv", 'age,bmi,note\n1,2,"two\nlines"\n3,,x\n')
    (found,) = read_inputs([path], FEATURES)
    assert (found.rows, found.format) == (2, "csv")
    assert found.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert found.to_record() == {
        "path": str(path),
        "format": "csv",
        "rows": 2,
        "sha256": found.sha256,
    }


def test_a_csv_is_read_in_chunks_as_text_with_empty_cells_empty(tmp_path: Path) -> None:
    lines = "".join(f"{i},{'' if i % 3 else i * 1.5}\n" for i in range(10))
    path = write_csv(tmp_path / "t.csv", "age,bmi,other\n" + lines)
    (found,) = read_inputs([path], FEATURES)
    chunks = list(read_chunks(found, FEATURES, 4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    whole = pd.concat(chunks, ignore_index=True)
    assert list(whole.columns) == FEATURES
    assert whole["age"].tolist() == [str(i) for i in range(10)]
    assert whole["bmi"].tolist()[:4] == ["0.0", "", "", "4.5"]


def test_a_csv_saved_by_excel_with_a_byte_order_mark_and_crlf_reads_alike(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfage,bmi\r\n1,2\r\n3,\r\n")
    (found,) = read_inputs([path], FEATURES)
    assert (found.columns, found.rows) == (("age", "bmi"), 2)
    (chunk,) = read_chunks(found, FEATURES, 10)
    assert chunk.to_dict("list") == {"age": ["1", "3"], "bmi": ["2", ""]}


def test_a_parquet_file_is_read_in_chunks_with_its_types(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame({"age": range(7), "bmi": [1.5] * 7, "x": ["a"] * 7}).to_parquet(path)
    (found,) = read_inputs([path], FEATURES)
    assert found.rows == 7
    chunks = list(read_chunks(found, FEATURES, 3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert chunks[0]["age"].dtype == "int64" and list(chunks[0].columns) == FEATURES


def test_id_types_are_text_from_csv_and_the_files_own_from_parquet(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "t.csv", "age,bmi,mrn\n1,2,3\n")
    assert id_types(read_inputs([csv], FEATURES, ["mrn"]), ["mrn"]) == {"mrn": pa.string()}
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pd.DataFrame({"age": [1], "bmi": [2.0], "mrn": [3]}).to_parquet(first)
    pd.DataFrame({"age": [1], "bmi": [2.0], "mrn": ["3"]}).to_parquet(second)
    assert id_types(read_inputs([first], FEATURES, ["mrn"]), ["mrn"]) == {"mrn": pa.int64()}
    with pytest.raises(
        InputFormatError, match=r"id column mrn is int64 in .*a\.parquet but .*string in"
    ):
        id_types(read_inputs([first, second], FEATURES, ["mrn"]), ["mrn"])


def test_parquet_without_pyarrow_asks_for_the_parquet_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"age": [1], "bmi": [2.0]}), path)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a)
    )
    with pytest.raises(ExtraMissingError) as raised:
        read_inputs([path], FEATURES)
    assert raised.value.message == (
        "reading Parquet needs pyarrow, which is not installed: pip install 'deployml[parquet]'"
    )
    assert isinstance(raised.value, DeploymlError)
