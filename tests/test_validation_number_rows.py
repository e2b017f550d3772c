"""A columnar body of numbers read by simdjson (server/validation/cells.py): its rows alone
(number_rows), or the whole body (columnar_numbers)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import msgspec
import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.validation.cells import columnar_numbers, number_rows

_AS_FLOATS = msgspec.json.Decoder(list[list[float]])

# How clients write a number: shortest repr (orjson, json), fixed digits, exponents, integers.
_WRITERS = [
    lambda x: orjson.dumps(x).decode(),
    repr,
    lambda x: f"{x:.17g}",
    lambda x: f"{x:.3e}",
    lambda x: f"{x:.6f}",
    lambda x: str(int(x)) if abs(x) < 2**63 else repr(x),
]
_finite = st.floats(allow_nan=False, allow_infinity=False)
_numbers = st.one_of(
    _finite,
    st.floats(-1e3, 1e3),
    st.sampled_from([-0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1]),
)


@settings(max_examples=400, deadline=None)
@given(
    width=st.integers(1, 6),
    data=st.data(),
)
def test_number_rows_reads_every_number_as_msgspec_does_to_the_bit_or_refuses_with_it(
    width: int, data: st.DataObject
) -> None:
    rows = data.draw(st.lists(st.lists(_numbers, min_size=width, max_size=width), max_size=8))
    write = data.draw(st.sampled_from(_WRITERS))
    text = "[" + ",".join("[" + ", ".join(map(write, row)) + "]" for row in rows) + "]"
    got = number_rows(text.encode(), width)
    try:
        read = _AS_FLOATS.decode(text)
    except msgspec.ValidationError:  # a number beyond a double, as "1.798e+308" is
        assert got is None
        return
    expected = np.array(read, dtype=np.float64).reshape(len(rows), width)
    assert got is not None and got.shape == expected.shape and got.flags.c_contiguous
    assert got.view(np.int64).tolist() == expected.view(np.int64).tolist()


@pytest.mark.parametrize(
    "raw",
    [
        b"[[1, 2], [3]]",  # a short row
        b"[[1, 2, 3]]",  # a long one
        b"[[1, [2]]]",  # an array in a row, of one number: as many values as the width
        b'[[1, 2], {"a": 1, "b": 2}]',
        b'[[1, 2], "ab"]',
        b'[["1", 2]]',
        b"[[1, null]]",
        b"[[true, 1]]",
        b"[1, 2]",
        b'{"a": [1, 2]}',
        b"3",
        b"[[1e400, 1]]",  # beyond a double
        b"[[18446744073709551616, 1]]",  # beyond 64-bit integers
        b"[[1, 2]] [[3, 4]]",
        b"[[1, 2],]",
        b"[[NaN, 1]]",
    ],
)
def test_number_rows_gives_none_for_anything_but_rows_of_numbers(raw: bytes) -> None:
    assert number_rows(raw, 2) is None


_OPTIONS = ("profile", "on_error")
_option_values = st.one_of(st.text(max_size=5), st.booleans(), st.none())


@settings(max_examples=300, deadline=None)
@given(width=st.integers(1, 5), data=st.data())
def test_columnar_numbers_reads_a_whole_body_as_msgspec_and_orjson_do(
    width: int, data: st.DataObject
) -> None:
    names = data.draw(st.permutations([f"x{i}" for i in range(width)]))
    rows = data.draw(st.lists(st.lists(_numbers, min_size=width, max_size=width), max_size=6))
    write = data.draw(st.sampled_from(_WRITERS))
    space = data.draw(st.sampled_from(["", " ", "\n  ", "\t", "\r\n"]))
    parts = {
        "columns": orjson.dumps(names).decode(),
        "data": "[" + ",".join("[" + ",".join(map(write, row)) + "]" for row in rows) + "]",
    }
    options = data.draw(st.dictionaries(st.sampled_from(_OPTIONS), _option_values))
    parts |= {key: json.dumps(value) for key, value in options.items()}  # \u escapes too
    order = data.draw(st.permutations(list(parts)))
    text = space + "{" + f",{space}".join(f'"{key}":{space}{parts[key]}' for key in order) + "}"
    got = columnar_numbers(text.encode(), width, _OPTIONS)
    try:
        read = _AS_FLOATS.decode(parts["data"])
    except msgspec.ValidationError:  # a number beyond a double
        assert got is None
        return
    if any(isinstance(v, str) and ("[" in v or "{" in v) for v in options.values()):
        assert got is None  # the counts of brackets and braces would be off: msgspec reads it
        return
    expected = np.array(read, dtype=np.float64).reshape(len(rows), width)
    assert got is not None
    assert got.columns == names
    assert got.options == {key: orjson.loads(parts[key]) for key in options}
    assert got.matrix.shape == expected.shape and got.matrix.flags.c_contiguous
    assert got.matrix.view(np.int64).tolist() == expected.view(np.int64).tolist()


@pytest.mark.parametrize(
    "body",
    [
        b'{"instances": [{"a": 1, "b": 2}]}',
        b'{"columns": ["a", "b"], "data": [[1, 2]], "instances": []}',
        b'{"columns": ["a", "b"], "data": [[1, 2]], "data": [[3, 4]]}',  # simdjson reads the first
        b'{"columns": ["a", "b"], "columns": ["b", "a"], "data": [[1, 2]]}',
        b'{"columns": ["a", "b"], "data": [[1, 2]], "other": "x"}',
        b'{"columns": ["a", "b"], "data": [[1, 2]], "profile": "a", "profile": "b"}',
        b'{"columns": ["a", "b"], "data": [[1, 2]], "profile": 3}',
        b'{"columns": ["a", "b"], "data": [[1, 2]], "profile": ["p"]}',
        b'{"columns": ["a", "b"], "data": [[1, 2]], "profile": {"p": 1}}',
        b'{"columns": ["a", "b"], "data": [[1, 2]], "profile": "\\ud800"}',
        b'{"columns": ["a", 2], "data": [[1, 2]]}',
        b'{"columns": "ab", "data": [[1, 2]]}',
        b'{"columns": ["a[", "b"], "data": [[1, 2]]}',  # the count of brackets would be off
        b'{"columns": ["a", "b"], "data": [[1, [2]]]}',
        b'{"columns": ["a", "b"], "data": [[1, 2], [3]]}',
        b'{"columns": ["a", "b"], "data": [[1, null]]}',
        b'{"columns": ["a", "b"]}',
        b'{"data": [[1, 2]]}',
        b'\xef\xbb\xbf{"columns": ["a", "b"], "data": [[1, 2]]}',  # orjson refuses the BOM
        b'{"columns": ["a", "b"], "data": [[1, 2]]} {}',
        b'[{"columns": ["a", "b"], "data": [[1, 2]]}]',
        b"[[1, 2]]",
    ],
)
def test_columnar_numbers_gives_none_for_any_other_body(body: bytes) -> None:
    assert columnar_numbers(body, 2, _OPTIONS) is None


def test_number_rows_keeps_its_matrix_when_the_thread_reads_the_next_body() -> None:
    first = number_rows(b"[[1.5, 2.5]]", 2)
    assert number_rows(b'[[1, "x"]]', 2) is None  # a refusal leaves the parser usable
    second = number_rows(b"[[7, 8], [9, 10]]", 2)
    assert first is not None and first.tolist() == [[1.5, 2.5]]
    assert second is not None and second.tolist() == [[7.0, 8.0], [9.0, 10.0]]
    first[0, 0] = 0.0  # the model's steps may write into what they are given


def test_both_readers_read_bodies_on_many_threads_at_once() -> None:
    rng = np.random.default_rng(3)
    matrices = [rng.normal(size=(200, 7)) for _ in range(16)]
    columns = [f"x{i}" for i in range(7)]

    def read(k: int) -> np.ndarray | None:
        rows = matrices[k].tolist()
        if k % 2:
            return number_rows(json.dumps(rows).encode(), 7)
        whole = columnar_numbers(orjson.dumps({"columns": columns, "data": rows}), 7, _OPTIONS)
        return None if whole is None else whole.matrix

    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            got = list(pool.map(read, range(len(matrices))))
            for matrix, found in zip(matrices, got, strict=True):
                assert found is not None and np.array_equal(found, matrix)
