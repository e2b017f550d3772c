"""gunicorn's threaded worker, reading each request whole before a thread takes it.

gunicorn's ``gthread`` worker hands a connection to one of its threads as soon as a byte
arrives, and the thread then blocks until the rest of the request comes: two clients that send
a request line and wait hold both threads of the default two workers for ever. This worker
reads in its event loop instead, without blocking, until it holds the request's head and the
body its framing announces (see :mod:`server.request_framing`); only then does a thread parse
and answer it, from memory. A slow client therefore costs a socket and its bytes so far,
never a thread.

A client has ``client_timeout`` seconds from connecting (on a kept-alive connection, from the
first byte of its next request) to send the whole request, else a 408 in the JSON error shape
and the connection is closed; one that sends nothing is closed without an answer. The event
loop answers ``Expect: 100-continue``. Requests whose framing gunicorn refuses, and bodies
over ``max_body_bytes``, go to a thread as soon as that is clear, and are refused from there.
A client gone halfway is logged as dropped.

Past four bodies of ``max_body_bytes`` held for unfinished requests, a connection that has
sent more than 64 KiB is not read until others finish (its deadline still runs); small
requests are still read and answered. Connections are closed in the event loop too, without
gunicorn's wait of up to two seconds, on the loop's thread, for the client to close its end.
"""

from __future__ import annotations

import contextlib
import io
import selectors
import socket
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from server.gunicorn_balance import BalancedWorker
from server.request_framing import (
    CONTINUE,
    TIMEOUT_ANSWER,
    Head,
    chunked_end,
    feed_parser,
    find_head,
    send_quietly,
)

__all__ = ["DROPPED_MESSAGE", "ReadingWorker", "reading_worker"]

DROPPED_MESSAGE = "dropped connection: the client closed it before sending its whole request"
_RECEIVE_BYTES = 64 * 1024
# Once the head is in, larger reads: each recv() gives up the GIL, and getting it back from a
# busy thread can take a switch interval (5 ms), as gunicorn's own body reader notes.
_BODY_RECEIVE_BYTES = 1024 * 1024
# Whole request bodies' worth of bytes a worker holds for requests still arriving. Beyond it,
# connections holding more than _SMALL_BYTES are paused (not read) until others finish, so
# clients that send large bodies and stall cannot exhaust memory; small requests still pass.
_BUDGET_BODIES = 4
_SMALL_BYTES = 64 * 1024
# How long a closed connection is drained for the client's last bytes (gunicorn's own figure).
_LINGER_SECONDS = 2.0
# gunicorn's longest request line and header field, when its limits are switched off (0).
_LINE_CAP = 8190
_FIELDS_CAP = 32768


@dataclass
class _Incoming:
    """A connection whose request is still arriving."""

    conn: Any  # gunicorn's TConn
    deadline: float
    buffer: bytearray = field(default_factory=bytearray)
    head: Head | None = None
    chunk_resume: int = 0
    scanned: int = 0  # how much of an unfinished head has been searched for its end
    continued: bool = False


class ReadingWorker(BalancedWorker):
    """A ``gthread`` worker whose event loop reads requests whole; see the module docstring."""

    client_timeout: float = 15.0
    max_body_bytes: int = 10 * 2**20

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # In arrival order, which is deadline order: every deadline is arrival + client_timeout.
        self.incoming: dict[Any, _Incoming] = {}
        self.paused: dict[Any, _Incoming] = {}
        self.buffered = 0
        self.answering = 0  # requests given to threads and not yet finished
        # Sockets closing: written out, waiting (at most _LINGER_SECONDS) for the client's end.
        self.lingering: dict[socket.socket, float] = {}
        self.budget = _BUDGET_BODIES * self.max_body_bytes
        line = self.cfg.limit_request_line or _LINE_CAP
        fields = self.cfg.limit_request_fields or _FIELDS_CAP
        field_size = self.cfg.limit_request_field_size or _LINE_CAP
        self.line_cap = line + 2
        self.head_cap = line + fields * (field_size + 2) + 4

    def enqueue_req(self, conn: Any) -> None:
        """Give ``conn`` to a thread once its request is whole; until then, read it here."""
        if getattr(conn, "request_whole", False):
            conn.request_whole = False
            self.answering += 1
            super().enqueue_req(conn)
            return
        # A new or kept-alive connection, or one whose client pipelined its next request.
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        incoming = _Incoming(conn, time.monotonic() + self.client_timeout, bytearray(leftover))
        self.buffered += len(leftover)
        conn.sock.setblocking(False)
        self.incoming[conn] = incoming
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, incoming))
        if leftover:
            self._advance(incoming)

    def handle(self, conn: Any) -> Any:
        """In a thread: put the bytes read by the event loop in front of gunicorn's parser."""
        whole = conn.__dict__.pop("whole_request", None)
        if whole is not None:
            conn.init()
            head = conn.__dict__.pop("request_head")
            conn.request_body = feed_parser(conn.parser.unreader, whole, head, _RECEIVE_BYTES)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        """Answer ``req``; a body already in memory is its ``wsgi.input``, as it is (read
        whole, it is that very bytes object), and what the app leaves of it is drained."""
        body, conn.request_body = getattr(conn, "request_body", None), None
        if body is None or req.body is None:
            return super().handle_request(req, conn)
        req.body = io.BytesIO(body)
        try:
            return super().handle_request(req, conn)
        finally:
            req.body.seek(0, io.SEEK_END)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """Close a finished connection in the event loop, without waiting for the client.

        gunicorn's own close waits up to two seconds for the client to close its end, on the
        event loop's thread: a client that never does stalls the whole worker that long.
        """
        self.answering -= 1
        try:
            finished = fs.cancelled() or not fs.result()
        except Exception:
            finished = False  # gunicorn closes it at once
        if not finished:
            super().finish_request(conn, fs)
            return
        self.nr_conns -= 1
        self._linger(conn.sock)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """Accept while a thread is free or no sibling holds fewer connections: a busy worker
        reading in its event loop took every connection while the others idled."""
        free = self.answering < self.cfg.threads
        super().wait_for_and_dispatch_events(self.accepting(free, timeout))

    def murder_pending(self) -> None:
        """Also close connections whose request is late, and all of them when stopping."""
        super().murder_pending()
        now = time.monotonic()
        for sock, deadline in list(self.lingering.items()):
            if self.alive and deadline > now:
                break
            self._close_lingering(sock)
        for incoming in list(self.incoming.values()):
            if self.alive and incoming.deadline > now:
                break
            self._drop(incoming, answer=self.alive and bool(incoming.buffer))

    def _on_readable(self, incoming: _Incoming, sock: socket.socket) -> None:
        # Read what has arrived, not one piece per wake-up: a 10 MB body would otherwise take
        # 150 trips round the event loop.
        while incoming.conn in self.incoming and incoming.conn not in self.paused:
            size = _RECEIVE_BYTES if incoming.head is None else _BODY_RECEIVE_BYTES
            try:
                data = sock.recv(size)
            except BlockingIOError:
                return
            except OSError:
                data = b""  # reset by the client
            if not data:  # the client closed, or reset, before sending a whole request
                if incoming.buffer:  # a client gone, not a bad request: no answer, no 400
                    self.log.info(DROPPED_MESSAGE)
                self._drop(incoming, answer=False)
                return
            incoming.buffer += data
            self.buffered += len(data)
            self._advance(incoming)
            over_budget = self.buffered > self.budget and len(incoming.buffer) > _SMALL_BYTES
            if over_budget and incoming.conn in self.incoming:
                self.poller.unregister(sock)
                self.paused[incoming.conn] = incoming
            if len(data) < size:
                return

    def _advance(self, incoming: _Incoming) -> None:
        """Hand the request to a thread if it is whole, or if waiting would not help."""
        if incoming.head is None:
            incoming.head, incoming.scanned = find_head(incoming.buffer, incoming.scanned)
            if incoming.head is None:
                if self._head_too_long(incoming.buffer):
                    self._hand_over(incoming)  # gunicorn answers 414 or 431
                return
            incoming.chunk_resume = incoming.head.end
        head = incoming.head
        if self._body_whole(incoming, head):
            self._hand_over(incoming)
        elif head.expects_continue and not incoming.continued:
            incoming.continued = True
            send_quietly(incoming.conn.sock, CONTINUE)

    def _head_too_long(self, buffer: bytearray) -> bool:
        """Whether gunicorn would refuse this unfinished head already."""
        return len(buffer) > self.head_cap or (len(buffer) > self.line_cap and b"\n" not in buffer)

    def _body_whole(self, incoming: _Incoming, head: Head) -> bool:
        """Whether the body is in, or will be refused without reading more of it."""
        buffer = incoming.buffer
        if head.odd or len(buffer) - head.end > self.max_body_bytes:
            return True
        if head.chunked:
            end, incoming.chunk_resume = chunked_end(buffer, incoming.chunk_resume)
            return end is not None
        length = head.content_length or 0
        return length > self.max_body_bytes or len(buffer) >= head.end + length

    def _hand_over(self, incoming: _Incoming) -> None:
        conn = incoming.conn
        self._forget(incoming)
        conn.whole_request = incoming.buffer
        conn.request_head = incoming.head
        conn.request_whole = True
        conn.data_ready = True  # gunicorn must not wait for more bytes before parsing
        self.enqueue_req(conn)

    def _drop(self, incoming: _Incoming, answer: bool) -> None:
        self._forget(incoming)
        self.nr_conns -= 1
        if answer:
            send_quietly(incoming.conn.sock, TIMEOUT_ANSWER)
            self._linger(incoming.conn.sock)
        else:
            incoming.conn.close()

    def _forget(self, incoming: _Incoming) -> None:
        del self.incoming[incoming.conn]
        self.buffered -= len(incoming.buffer)
        if self.paused.pop(incoming.conn, None) is None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(incoming.conn.sock)
        while self.paused and self.buffered <= self.budget:
            paused = self.paused.pop(next(iter(self.paused)))  # the longest paused first
            on_readable = partial(self._on_readable, paused)
            self.poller.register(paused.conn.sock, selectors.EVENT_READ, on_readable)

    def _linger(self, sock: socket.socket) -> None:
        """Send the client our end of the connection, then drain its last bytes until it closes.

        Closing with unread bytes would reset the connection, which can cut off the answer.
        """
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, self._on_lingering_readable)
        except (OSError, ValueError):
            sock.close()
            return
        self.lingering[sock] = time.monotonic() + _LINGER_SECONDS

    def _on_lingering_readable(self, sock: socket.socket) -> None:
        try:
            if sock.recv(_RECEIVE_BYTES):
                return
        except BlockingIOError:
            return
        except OSError:
            pass
        self._close_lingering(sock)

    def _close_lingering(self, sock: socket.socket) -> None:
        del self.lingering[sock]
        with contextlib.suppress(KeyError, ValueError, OSError):
            self.poller.unregister(sock)
        sock.close()


def reading_worker(client_timeout: int, max_body_bytes: int) -> type[ReadingWorker]:
    """The worker class for these limits (gunicorn takes a class, not an instance)."""
    return type(
        "ReadingWorker",
        (ReadingWorker,),
        {"client_timeout": float(client_timeout), "max_body_bytes": max_body_bytes},
    )
