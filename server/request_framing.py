"""Where an HTTP/1 request ends in the bytes received so far, for :mod:`server.gunicorn_worker`.

The worker reads a request whole before a thread parses it, so it only needs to know when it
has all of it: the head (up to the blank line) and the body its ``Content-Length`` or chunked
framing announces. Anything odd (a duplicate or non-numeric length, a transfer coding other
than chunked, bad chunk framing, a body over the limit) counts as complete here: gunicorn's
parser or the app then refuses it from the bytes already read, without waiting for more.

:class:`Incoming` is one connection's request while it arrives: its bytes so far, and what
its head says. It also holds the two answers the worker writes itself, before any thread:
``100 Continue`` and the ``408`` for a request that did not arrive in time, in the JSON error
shape; and :func:`feed_parser`, which hands a request read whole to gunicorn's parser (and its
body straight to the request).
"""

from __future__ import annotations

import contextlib
import enum
import io
import socket
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

__all__ = [
    "CONTINUE",
    "TIMEOUT_ANSWER",
    "Head",
    "Incoming",
    "Limits",
    "Step",
    "chunked_end",
    "feed_parser",
    "find_head",
    "parse_head",
    "send_quietly",
    "settle",
]

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")
# gunicorn's longest request line and header field, when its limits are switched off (0).
_LINE_CAP = 8190
_FIELDS_CAP = 32768


@dataclass(frozen=True)
class Head:
    """What the worker needs from a request's head."""

    end: int  # where the body starts
    content_length: int | None = None
    chunked: bool = False
    expects_continue: bool = False
    odd: bool = False  # framing gunicorn will refuse: hand the request over as it is


class Limits(NamedTuple):
    """How much of a request gunicorn takes: past these, it refuses without reading more."""

    line: int  # the request line, with its line end
    head: int  # the whole head
    body: int  # DEPLOYML_MAX_REQUEST_BYTES

    @classmethod
    def of(cls, cfg: Any, max_body_bytes: int) -> Limits:
        """The limits of gunicorn's config ``cfg`` (its 0 meaning its own longest)."""
        line = cfg.limit_request_line or _LINE_CAP
        fields = cfg.limit_request_fields or _FIELDS_CAP
        field_size = cfg.limit_request_field_size or _LINE_CAP
        return cls(line + 2, line + fields * (field_size + 2) + 4, max_body_bytes)


class Step(enum.Enum):
    """What the worker does with a request after reading more of it."""

    WAIT = enum.auto()  # read more
    CONTINUE = enum.auto()  # send 100 Continue, then read more
    WHOLE = enum.auto()  # hand it over: it is whole, or will be refused from what is here


@dataclass
class Incoming:
    """A connection whose request is still arriving."""

    conn: Any  # gunicorn's TConn
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    head: Head | None = None
    chunk_resume: int = 0
    scanned: int = 0  # how much of an unfinished head has been searched for its end
    continued: bool = False

    def step(self, limits: Limits) -> Step:
        """What to do now that ``buffer`` holds what has arrived."""
        if self.head is None:
            self.head, self.scanned = find_head(self.buffer, self.scanned)
            if self.head is None:
                return Step.WHOLE if self._head_too_long(limits) else Step.WAIT  # 414 or 431
            self.chunk_resume = self.head.end
        if self._body_whole(self.head, limits.body):
            return Step.WHOLE
        if self.head.expects_continue and not self.continued:
            self.continued = True
            return Step.CONTINUE
        return Step.WAIT

    def _head_too_long(self, limits: Limits) -> bool:
        """Whether gunicorn would refuse this unfinished head already."""
        buffer = self.buffer
        return len(buffer) > limits.head or (len(buffer) > limits.line and b"\n" not in buffer)

    def _body_whole(self, head: Head, max_body_bytes: int) -> bool:
        """Whether the body is in, or will be refused without reading more of it."""
        buffer = self.buffer
        if head.odd or len(buffer) - head.end > max_body_bytes:
            return True
        if head.chunked:
            end, self.chunk_resume = chunked_end(buffer, self.chunk_resume)
            return end is not None
        length = head.content_length or 0
        return length > max_body_bytes or len(buffer) >= head.end + length


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
    not all here) is its source, ahead of the socket, in pieces of at least ``least`` bytes;
    :func:`settle` puts what the parser did not take of it back in the buffer.
    """
    head_end = head.end if head is not None else len(whole)
    view = memoryview(whole)
    # A kept-alive connection keeps its parser: wrap the socket's reader, never an earlier
    # request's wrapper, which would keep that request's bytes alive.
    unreader.chunk = unreader.__dict__.setdefault("socket_chunk", unreader.chunk)
    length = None  # unknown until the parser reads it
    if head is not None and not head.odd and not head.chunked:
        length = head.content_length or 0  # no framing: no body
    if length is not None and len(whole) >= head_end + length:
        unreader.unread(view[:head_end].tobytes() + view[head_end + length :].tobytes())
        return view[head_end : head_end + length].tobytes() if length else None
    unreader.unread(view[:head_end].tobytes())
    if len(view) > head_end:
        unreader.chunk = _Pieces(unreader, view[head_end:], least)
    return None


class _Pieces:
    """What follows a request's head, read whole, as its parser's source ahead of the socket."""

    def __init__(self, unreader: Any, rest: memoryview, least: int) -> None:
        self.unreader = unreader
        self.rest = rest
        self.least = least

    def __call__(self, size_hint: int | None = None) -> bytes:
        size = max(size_hint or 0, self.least)
        piece, self.rest = self.rest[:size].tobytes(), self.rest[size:]
        if not self.rest:
            self.unreader.chunk = self.unreader.socket_chunk  # this, and the request's bytes, go
        return piece


def settle(unreader: Any) -> None:
    """Once a request is answered: the bytes read with it that its parser did not take (a
    client's next request, pipelined) go to the parser's buffer, and the socket is again its
    source."""
    pieces = unreader.chunk
    if isinstance(pieces, _Pieces):
        unreader.chunk = unreader.socket_chunk
        unreader.buf.seek(0, io.SEEK_END)
        unreader.buf.write(pieces.rest)
