"""A columnar body's rows of numbers read by simdjson (server/validation/cells.py: number_rows)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import msgspec
import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.validation.cells import number_rows

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


def test_number_rows_keeps_its_matrix_when_the_thread_reads_the_next_body() -> None:
    first = number_rows(b"[[1.5, 2.5]]", 2)
    assert number_rows(b'[[1, "x"]]', 2) is None  # a refusal leaves the parser usable
    second = number_rows(b"[[7, 8], [9, 10]]", 2)
    assert first is not None and first.tolist() == [[1.5, 2.5]]
    assert second is not None and second.tolist() == [[7.0, 8.0], [9.0, 10.0]]
    first[0, 0] = 0.0  # the model's steps may write into what they are given


def test_number_rows_reads_bodies_on_many_threads_at_once() -> None:
    rng = np.random.default_rng(3)
    matrices = [rng.normal(size=(200, 7)) for _ in range(16)]
    bodies = [json.dumps(m.tolist()).encode() for m in matrices]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            got = list(pool.map(lambda body: number_rows(body, 7), bodies))
            for matrix, read in zip(matrices, got, strict=True):
                assert read is not None and np.array_equal(read, matrix)
