"""gunicorn's threaded worker, reading each request whole in its event loop before answering.

gunicorn's ``gthread`` worker hands a connection to one of its threads as soon as a byte
arrives, and the thread then blocks until the rest of the request comes: two clients that send
a request line and wait hold both threads of the default two workers for ever. This worker
reads in its event loop instead, without blocking, until it holds the request's head and the
body its framing announces (see :mod:`server.request_framing`); only then is it parsed and
answered, from memory: in the event loop itself when the worker has one thread (the default;
handing each request to a thread and back cost a fifth of a small request's CPU), else by a
thread. A slow client therefore costs a socket and its bytes so far, never a thread.

A client has ``client_timeout`` seconds from connecting (on a kept-alive connection, from the
first byte of its next request) to send the whole request, else a 408 in the JSON error shape
and the connection is closed; one that sends nothing is closed without an answer, one gone
halfway is logged as dropped. Each write of an answer has ``client_timeout`` seconds as well,
else the client is dropped. The event loop answers ``Expect: 100-continue``. Requests whose
framing gunicorn refuses, and bodies over ``max_body_bytes``, are handed on as soon as that is
clear, and refused from there.

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
import threading
import time
from collections import deque
from concurrent.futures import Future
from functools import partial
from typing import Any

from server.gunicorn_balance import BalancedWorker
from server.request_framing import (
    CONTINUE,
    TIMEOUT_ANSWER,
    Incoming,
    Limits,
    Step,
    feed_parser,
    send_quietly,
    settle,
)

__all__ = ["DROPPED_MESSAGE", "STALLED_MESSAGE", "ReadingWorker"]

DROPPED_MESSAGE = "dropped connection: the client closed it before sending its whole request"
STALLED_MESSAGE = "dropped connection: the client did not read its answer in time"
_RECEIVE_BYTES = 64 * 1024
# Once the head is in, larger reads: each recv() gives up the GIL, and getting it back from a
# busy thread can take a switch interval (5 ms), as gunicorn's own body reader notes.
_BODY_RECEIVE_BYTES = 1024 * 1024
# Whole request bodies' worth of bytes a worker holds for requests still arriving. Beyond it,
# connections holding more than _SMALL_BYTES are paused (not read) until others finish, so
# clients that send large bodies and stall cannot exhaust memory; small requests still pass.
_BUDGET_BODIES = 4
_SMALL_BYTES = 64 * 1024
# How often a worker answering a request in its event loop beats (gunicorn's loop: 1 s at most).
_BEAT_SECONDS = 1.0
# How long a closed connection is drained for the client's last bytes (gunicorn's own figure).
_LINGER_SECONDS = 2.0


class ReadingWorker(BalancedWorker):
    """A ``gthread`` worker whose event loop reads requests whole; see the module docstring.
    gunicorn takes a class: :func:`server.gunicorn_app.worker_class` sets the two limits."""

    client_timeout: float = 15.0
    max_body_bytes: int = 10 * 2**20

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # In arrival order, which is deadline order: every deadline is arrival + client_timeout.
        self.incoming: dict[Any, Incoming] = {}
        self.paused: dict[Any, Incoming] = {}
        self.buffered = 0
        self.answering = 0  # requests handed on and not yet finished
        # Sockets closing: written out, waiting (at most _LINGER_SECONDS) for the client's end.
        self.lingering: dict[socket.socket, float] = {}
        self.budget = _BUDGET_BODIES * self.max_body_bytes
        self.limits = Limits.of(self.cfg, self.max_body_bytes)
        self.inline = self.cfg.threads == 1  # requests are then answered in the event loop
        self.ready: deque[Any] = deque()
        self.answering_inline = False

    def enqueue_req(self, conn: Any) -> None:
        """Answer ``conn``'s request once it is whole (see :meth:`_answer_ready`, or a thread);
        until then, read it here."""
        if getattr(conn, "request_whole", False):
            conn.request_whole = False
            self.answering += 1
            if self.inline:
                self.ready.append(conn)  # answered once this turn's events are dispatched
            else:
                super().enqueue_req(conn)
            return
        # A new or kept-alive connection, or one whose client pipelined its next request.
        leftover = conn.parser.unreader.take_buffered() if conn.parser is not None else b""
        incoming = Incoming(conn, time.monotonic() + self.client_timeout, bytearray(leftover))
        self.buffered += len(leftover)
        conn.sock.setblocking(False)
        self.incoming[conn] = incoming
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, incoming))
        if leftover:
            self._advance(incoming)

    def handle(self, conn: Any) -> Any:
        """Put the bytes read by the event loop in front of gunicorn's parser, and answer."""
        whole = conn.__dict__.pop("whole_request", None)
        if whole is not None:
            conn.init()
            head = conn.__dict__.pop("request_head")
            conn.request_body = feed_parser(conn.parser.unreader, whole, head, _RECEIVE_BYTES)
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        """Answer ``req``, each write within ``client_timeout``; a body already in memory is its
        ``wsgi.input``, as it is (the very bytes read), and what the app leaves of it is drained."""
        conn.sock.settimeout(self.client_timeout)
        body, conn.request_body = getattr(conn, "request_body", None), None
        if body is not None and req.body is not None:
            req.body = io.BytesIO(body)
        else:
            body = None  # gunicorn's own reader has the body, if any
        try:
            return super().handle_request(req, conn)
        except TimeoutError:
            self.log.info(STALLED_MESSAGE)
            return False  # closed: the answer may be cut short
        finally:
            if body is not None:
                req.body.seek(0, io.SEEK_END)

    def finish_request(self, conn: Any, fs: Any) -> None:
        """Close a finished connection in the event loop, without waiting for the client.

        gunicorn's own close waits up to two seconds for the client to close its end, on the
        event loop's thread: a client that never does stalls the whole worker that long.
        """
        self.answering -= 1
        if conn.parser is not None:
            settle(conn.parser.unreader)
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
        self._answer_ready()

    def run(self) -> None:
        """gunicorn's event loop; with one thread, a heartbeat for requests answered in it."""
        if self.inline:
            threading.Thread(target=self._beat, name="heartbeat", daemon=True).start()
        super().run()

    def _answer_ready(self) -> None:
        """Answer the requests read whole, here: with one thread, handing each to the pool and
        back cost a fifth of a small request's CPU (two thread switches and a pipe write)."""
        while self.ready:
            conn = self.ready.popleft()
            self.answering_inline = True
            try:
                result = self.handle(conn)
            finally:
                self.answering_inline = False
            answered: Future[Any] = Future()
            answered.set_result(result)
            self.finish_request(conn, answered)  # which may queue a pipelined request

    def _beat(self) -> None:
        """While a request is answered in the event loop, beat as the loop does between them: a
        long request is not cut short, as a stuck loop is (DEPLOYML_TIMEOUT)."""
        while True:
            time.sleep(_BEAT_SECONDS)
            if self.answering_inline:
                self.notify()

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

    def _on_readable(self, incoming: Incoming, sock: socket.socket) -> None:
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

    def _advance(self, incoming: Incoming) -> None:
        """Hand the request over if it is whole, or if waiting would not help."""
        step = incoming.step(self.limits)
        if step is Step.WHOLE:
            self._hand_over(incoming)
        elif step is Step.CONTINUE:
            send_quietly(incoming.conn.sock, CONTINUE)

    def _hand_over(self, incoming: Incoming) -> None:
        conn = incoming.conn
        self._forget(incoming)
        conn.whole_request = incoming.buffer
        conn.request_head = incoming.head
        conn.request_whole = True
        conn.data_ready = True  # gunicorn must not wait for more bytes before parsing
        self.enqueue_req(conn)

    def _drop(self, incoming: Incoming, answer: bool) -> None:
        self._forget(incoming)
        self.nr_conns -= 1
        if answer:
            send_quietly(incoming.conn.sock, TIMEOUT_ANSWER)
            self._linger(incoming.conn.sock)
        else:
            incoming.conn.close()

    def _forget(self, incoming: Incoming) -> None:
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
