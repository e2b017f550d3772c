"""Where an HTTP/1 request ends in the bytes received so far, for :mod:`server.gunicorn_worker`.

The worker reads a request whole before a thread parses it, so it only needs to know when it
has all of it: the head (up to the blank line) and the body its ``Content-Length`` or chunked
framing announces. Anything odd (a duplicate or non-numeric length, a transfer coding other
than chunked, bad chunk framing, a body over the limit) counts as complete here: gunicorn's
parser or the app then refuses it from the bytes already read, without waiting for more.

It also holds the two answers the worker writes itself, before any thread: ``100 Continue``
and the ``408`` for a request that did not arrive in time, in the JSON error shape; and
:func:`feed_parser`, which hands a request read whole to gunicorn's parser (and its body
straight to the request).
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "CONTINUE",
    "TIMEOUT_ANSWER",
    "Head",
    "chunked_end",
    "feed_parser",
    "find_head",
    "parse_head",
    "send_quietly",
]

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")


@dataclass(frozen=True)
class Head:
    """What the worker needs from a request's head."""

    end: int  # where the body starts
    content_length: int | None = None
    chunked: bool = False
    expects_continue: bool = False
    odd: bool = False  # framing gunicorn will refuse: hand the request over as it is


def find_head(buffer: bytes | bytearray, scanned: int) -> tuple[Head | None, int]:
    """The head once a blank line has arrived (else None), and how far ``buffer`` has been
    searched: only bytes after ``scanned`` (less a line end's length) are searched."""
    start = max(0, scanned - 3)
    if buffer.find(b"\n\n", start) == -1 and buffer.find(b"\r\n\r\n", start) == -1:
        return None, len(buffer)
    return parse_head(buffer), len(buffer)


def parse_head(buffer: bytes | bytearray) -> Head | None:
    """The head of the request at the start of ``buffer``, or None while it is incomplete."""
    ends = [(found, len(mark)) for mark in _HEAD_ENDS if (found := buffer.find(mark)) != -1]
    if not ends:
        return None
    found, length = min(ends)
    end = found + length
    lines = bytes(buffer[:found]).decode("latin-1").splitlines()
    request_line, fields = (lines[0], lines[1:]) if lines else ("", [])
    lengths: list[str] = []
    codings: list[str] = []
    expects_continue = False
    for line in fields:
        name, colon, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        if not colon:
            return Head(end, odd=True)
        if name == "content-length":
            lengths.append(value)
        elif name == "transfer-encoding":
            codings.extend(part.strip().lower() for part in value.split(","))
        elif name == "expect":
            expects_continue = value.lower() == "100-continue"
    http11 = request_line.rstrip().endswith("HTTP/1.1")
    continues = expects_continue and http11
    if codings:
        if lengths or codings[-1] != "chunked":
            return Head(end, odd=True)
        return Head(end, chunked=True, expects_continue=continues)
    if not lengths:
        return Head(end)
    if len(set(lengths)) != 1 or not lengths[0].isdigit():
        return Head(end, odd=True)
    return Head(end, content_length=int(lengths[0]), expects_continue=continues)


def chunked_end(buffer: bytes | bytearray, start: int) -> tuple[int | None, int]:
    """Where a chunked body that starts at ``start`` ends, and where to resume looking.

    Returns ``(end, start)`` once the last chunk and its trailers are in, ``(None, resume)``
    while they are not (``resume`` is the first chunk not yet complete, so each call scans
    only new bytes), and ``(len(buffer), start)`` for framing that is not chunked encoding.
    """
    position = start
    while True:
        line_end = buffer.find(b"\n", position)
        if line_end == -1:
            return None, position
        size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return len(buffer), start
        if size < 0:
            return len(buffer), start
        if size == 0:
            return _trailers_end(buffer, line_end + 1), position
        data_end = line_end + 1 + size
        if len(buffer) < data_end + 2:
            return None, position
        if buffer[data_end : data_end + 2] != b"\r\n" and buffer[data_end : data_end + 1] != b"\n":
            return len(buffer), start
        position = data_end + (2 if buffer[data_end : data_end + 1] == b"\r" else 1)


def _trailers_end(buffer: bytes | bytearray, position: int) -> int | None:
    """The end of the trailer section (an empty line) that starts at ``position``."""
    while True:
        line_end = buffer.find(b"\n", position)
        if line_end == -1:
            return None
        if not buffer[position:line_end].strip():
            return line_end + 1
        position = line_end + 1


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send without blocking the worker's event loop; a client not reading loses the bytes."""
    with contextlib.suppress(OSError):
        sock.send(data)


def _timeout_answer() -> bytes:
    body = orjson.dumps(
        {
            "error": {
                "code": "request_timeout",
                "message": "the whole request did not arrive in time",
                "details": [],
            }
        }
    )
    head = (
        "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


TIMEOUT_ANSWER = _timeout_answer()


def feed_parser(unreader: Any, whole: bytearray, head: Head | None, least: int) -> bytes | None:
    """Give gunicorn's parser the request read whole, and return its body when it is framed
    by a length and all here (None otherwise: the parser then reads the body itself).

    A body returned is one copy of its bytes, for the request's ``wsgi.input``: gunicorn's
    own reader copies what is left of a body again on every step of 1 MiB, some 100 MB of
    copying and page faults for an 8 MB body. The head, and anything after the body (a
    client's next request), go in the parser's buffer. A body left to the parser (chunked, or
    not all here) is its source, ahead of the socket, in pieces of at least ``least`` bytes.
    """
    head_end = head.end if head is not None else len(whole)
    view = memoryview(whole)
    # A kept-alive connection keeps its parser: wrap the socket's reader, never an earlier
    # request's wrapper, which would keep that request's bytes alive.
    from_socket = unreader.chunk = unreader.__dict__.setdefault("socket_chunk", unreader.chunk)
    length = head.content_length if head is not None and not head.odd else None
    if length and len(whole) >= head_end + length:
        unreader.unread(view[:head_end].tobytes() + view[head_end + length :].tobytes())
        return view[head_end : head_end + length].tobytes()
    unreader.unread(view[:head_end].tobytes())
    rest = view[head_end:]

    def chunk(size_hint: int | None = None) -> bytes:
        nonlocal rest
        size = max(size_hint or 0, least)
        piece, rest = rest[:size].tobytes(), rest[size:]
        if not rest:
            unreader.chunk = from_socket  # this function, and the request's bytes, go
        return piece

    if rest:
        unreader.chunk = chunk
    return None
