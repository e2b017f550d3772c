"""Where a request ends in the bytes received so far (server/request_framing.py)."""

from __future__ import annotations

import io

import pytest
from gunicorn.config import Config
from gunicorn.http.parser import RequestParser
from gunicorn.http.unreader import Unreader

from server.request_framing import Head, chunked_end, feed_parser, parse_head, settle

HEAD = b"POST /predict HTTP/1.1\r\nHost: a\r\n"


def test_a_head_is_incomplete_until_its_blank_line() -> None:
    assert parse_head(HEAD) is None
    assert parse_head(b"POST /predict HTTP/1.1") is None


def test_a_head_gives_where_the_body_starts_and_its_length() -> None:
    data = HEAD + b"content-length: 12\r\nExpect: 100-Continue\r\n\r\n{}"
    assert parse_head(data) == Head(len(data) - 2, content_length=12, expects_continue=True)
    assert parse_head(b"GET /livez HTTP/1.1\n\n") == Head(21)


def test_continue_is_expected_only_of_http_1_1() -> None:
    data = b"POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"
    head = parse_head(data)
    assert head is not None and not head.expects_continue


def test_a_chunked_head_says_so() -> None:
    head = parse_head(HEAD + b"Transfer-Encoding: gzip, Chunked\r\n\r\n")
    assert head is not None and head.chunked and not head.odd


@pytest.mark.parametrize(
    "fields",
    [
        b"Content-Length: 5\r\nContent-Length: 6\r\n",
        b"Content-Length: -5\r\n",
        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: chunked, gzip\r\n",
        b"no colon here\r\n",
    ],
)
def test_framing_gunicorn_refuses_is_odd(fields: bytes) -> None:
    head = parse_head(HEAD + fields + b"\r\n")
    assert head is not None and head.odd


def test_a_chunked_body_ends_after_its_last_chunk_and_trailers() -> None:
    body = b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: t\r\n\r\n"
    assert chunked_end(b"HEAD" + body, 4) == (4 + len(body), 4 + body.index(b"0\r\n"))


def test_an_unfinished_chunked_body_resumes_at_its_first_incomplete_chunk() -> None:
    assert chunked_end(b"3\r\nabc\r\n2\r\nd", 0) == (None, 8)
    assert chunked_end(b"3\r\nabc\r\n0\r\n", 0) == (None, 8)
    assert chunked_end(b"3\r\nab", 0) == (None, 0)


@pytest.mark.parametrize("body", [b"zz\r\nabc\r\n", b"3\r\nabcX\r\n"])
def test_bad_chunk_framing_counts_as_complete(body: bytes) -> None:
    assert chunked_end(body, 0) == (len(body), 0)


class _Socketless(Unreader):
    """gunicorn's reader with nothing behind it: what the worker feeds is all there is."""

    def chunk(self, size_hint: int | None = None) -> bytes:
        return b""


def _fed(whole: bytes) -> tuple[bytes | None, RequestParser]:
    parser = RequestParser(Config(), io.BytesIO(), ("127.0.0.1", 1))
    parser.unreader = _Socketless()
    body = feed_parser(parser.unreader, bytearray(whole), parse_head(whole), least=16)
    return body, parser


def test_a_body_framed_by_its_length_is_handed_over_whole_and_the_next_request_stays_queued() -> (
    None
):
    body = b'{"instances": []}' * 1000
    first = HEAD + b"Content-Length: %d\r\n\r\n" % len(body) + body
    second = HEAD + b"Content-Length: 2\r\n\r\n{}"
    handed, parser = _fed(first + second)
    assert handed == body
    request = next(parser)
    assert request.path == "/predict"
    request.body = io.BytesIO(handed)  # as the worker does: the parser never reads it
    following = next(parser)
    assert following.body.read() == b"{}"


@pytest.mark.parametrize(
    "whole",
    [
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        HEAD + b"Content-Length: 9\r\n\r\n{}",  # the rest never came: the parser reads on
        HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}",  # odd: refused there
    ],
)
def test_any_other_body_is_left_to_gunicorn_s_own_reader(whole: bytes) -> None:
    handed, parser = _fed(whole)
    assert handed is None
    if b"Content-Length: 3" not in whole:
        assert next(parser).body.read().startswith(b"{}")


@pytest.mark.parametrize(
    "first",
    [
        b"GET /livez HTTP/1.1\r\nHost: a\r\n\r\n",  # no body
        HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",  # read by the parser
    ],
)
def test_requests_pipelined_behind_an_answered_one_are_all_in_the_parser_s_buffer(
    first: bytes,
) -> None:
    following = b"GET /livez HTTP/1.1\r\nHost: a\r\n\r\n" * 50  # more than one piece
    handed, parser = _fed(first + following)
    request = next(parser)
    request.body.read()
    assert handed is None
    settle(parser.unreader)  # the request is answered
    assert parser.unreader.take_buffered() == following
    assert parser.unreader.chunk() == b""  # the socket is its source again
