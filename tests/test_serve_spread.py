"""A real gunicorn with two workers: a client's kept-alive connections spread over both, a
stopped worker does not hold up new connections, and a client gone halfway is a dropped
connection in the log. Which worker holds a connection is read from the outside, in /proc."""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from test_serve_end_to_end import DEPLOYML, clean_env, example_rows, free_port, running

from server.gunicorn_balance import STALE_SECONDS
from server.gunicorn_worker import DROPPED_MESSAGE

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc")

CONNECTIONS = 8
WAIT_SECONDS = 10.0


def logged(log: Path, text: str, count: int) -> list[str]:
    """The log's lines holding ``text``, once there are ``count`` of them (a bounded wait)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        lines = [line for line in log.read_text().splitlines() if text in line]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def worker_pids(log: Path) -> list[int]:
    """The two workers the log says were booted."""
    booted = logged(log, "Booting worker with pid", 2)
    assert len(booted) == 2
    return [int(line.rsplit(" ", 1)[-1]) for line in booted]


def socket_inodes(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def server_inode(server_port: int, client_port: int) -> str:
    """The inode of the server's end of the connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(end.rsplit(":", 1)[1], 16) for end in fields[1:3])
        if (local, remote) == (server_port, client_port):
            return fields[9]
    raise AssertionError(f"no server socket for client port {client_port}")


def owners(port: int, clients: list[socket.socket], pids: list[int]) -> list[int]:
    """The worker holding each client's connection."""
    held = {pid: socket_inodes(pid) for pid in pids}
    found = []
    for client in clients:
        inode = server_inode(port, client.getsockname()[1])
        found.extend(pid for pid, inodes in held.items() if inode in inodes)
    assert len(found) == len(clients)
    return found


def predict_request(body: bytes) -> bytes:
    head = b"POST /predict HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def answer(sock: socket.socket) -> bytes:
    """One whole response on a kept-alive connection (the body ends with the JSON's brace)."""
    received = b""
    while not (b"\r\n\r\n" in received and received.rstrip().endswith(b"}")):
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        received += chunk
    return received


def closing(response: bytes) -> bool:
    """Whether the server said it closes the connection after ``response``."""
    return b"\r\nConnection: close\r\n" in response.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def use(port: int, clients: list[socket.socket], request: bytes, timeout: float) -> None:
    """One request on each connection, as a pooling client sends them: a connection the
    server closes after its answer is replaced by a new one (whose request is answered too)."""
    for i, client in enumerate(clients):
        client.sendall(request)
        while True:
            response = answer(client)
            assert response.startswith(b"HTTP/1.1 200 OK\r\n")
            if not closing(response):
                break
            client.close()
            client = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            clients[i] = client
            client.sendall(request)


@contextmanager
def kept_alive(port: int, request: bytes, timeout: float) -> Iterator[list[socket.socket]]:
    """``CONNECTIONS`` connections opened at once, each with one request answered 200 (and
    kept alive: see ``use``)."""
    clients = []
    try:
        for _ in range(CONNECTIONS):  # each sends at once, as wrk and connection pools do
            client = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            clients.append(client)
            client.sendall(request)
        for i, client in enumerate(clients):
            response = answer(client)
            assert response.startswith(b"HTTP/1.1 200 OK\r\n")
            if closing(response):  # a crowded worker: the pool reconnects (see use)
                client.close()
                fresh = [socket.create_connection(("127.0.0.1", port), timeout=timeout)]
                use(port, fresh, request, timeout)
                clients[i] = fresh[0]
        yield clients
    finally:
        for client in clients:
            client.close()


@pytest.fixture
def two_workers(binary_artefact: Path, tmp_path: Path) -> Iterator[tuple[int, Path, bytes]]:
    """A server of two one-thread workers: its port, its log and a /predict request."""
    port, log = free_port(), tmp_path / "serve.log"
    command = [*DEPLOYML, "serve", str(binary_artefact), "--port", str(port), "--workers", "2"]
    body = json.dumps({"instances": example_rows(binary_artefact)[:1]}).encode()
    with running(command, port, log, clean_env(DEPLOYML_WORKER_THREADS="1")):
        yield port, log, predict_request(body)


def test_keep_alive_connections_opened_at_once_are_held_by_both_workers(
    two_workers: tuple[int, Path, bytes],
) -> None:
    port, log, request = two_workers
    pids = worker_pids(log)
    for _ in range(10):  # new connections each time, as a client opening its pool again
        with kept_alive(port, request, timeout=10) as clients:
            held = owners(port, clients, pids)
            # Left to race, one worker often took 6, 7 or all 8.
            assert min(held.count(pid) for pid in pids) >= 2, held
            if max(held.count(pid) for pid in pids) - min(held.count(pid) for pid in pids) < 2:
                for client in clients:  # even: they stay where they are while kept alive
                    client.sendall(request)
                    assert not closing(answer(client))
                assert owners(port, clients, pids) == held


def test_a_worker_takes_every_new_connection_while_its_sibling_is_stopped(
    two_workers: tuple[int, Path, bytes],
) -> None:
    port, log, request = two_workers
    stopped, working = worker_pids(log)
    os.kill(stopped, signal.SIGSTOP)
    try:
        # Within 1.5 s each, although the stopped worker holds fewer connections and looked
        # at its table slot just now: the other defers to it for milliseconds only.
        with kept_alive(port, request, timeout=1.5) as clients:
            assert owners(port, clients, [stopped, working]) == [working] * CONNECTIONS
    finally:
        os.kill(stopped, signal.SIGCONT)


def test_new_connections_go_to_the_worker_holding_fewer(
    two_workers: tuple[int, Path, bytes],
) -> None:
    port, log, request = two_workers
    idle, busy = worker_pids(log)
    with ExitStack() as stack:
        os.kill(idle, signal.SIGSTOP)  # for a moment: all of a first pool goes to the other
        try:
            first = stack.enter_context(kept_alive(port, request, timeout=10))
        finally:
            os.kill(idle, signal.SIGCONT)
        assert owners(port, first, [idle, busy]) == [busy] * CONNECTIONS
        second = stack.enter_context(kept_alive(port, request, timeout=10))
        # Left to race, the worker that had just accepted eight took about half of these.
        assert owners(port, second, [idle, busy]).count(idle) >= CONNECTIONS - 2


def test_a_pool_that_landed_on_one_worker_spreads_out_as_it_is_used(
    two_workers: tuple[int, Path, bytes],
) -> None:
    port, log, request = two_workers
    idle, busy = worker_pids(log)
    os.kill(idle, signal.SIGSTOP)
    try:
        time.sleep(STALE_SECONDS + 0.5)  # long enough to be left out: the pool all goes to busy
        with kept_alive(port, request, timeout=10) as clients:
            assert owners(port, clients, [idle, busy]) == [busy] * CONNECTIONS
            os.kill(idle, signal.SIGCONT)
            time.sleep(1.5)  # its event loop looks at its table slot again
            for _ in range(3):
                use(port, clients, request, timeout=10)
            # The crowded worker closed connections after answering; reopened, they went to
            # the sibling. Before, all 8 stayed on one worker for as long as they were kept.
            held = owners(port, clients, [idle, busy])
            assert held.count(idle) >= CONNECTIONS // 2 - 1, held
    finally:
        os.kill(idle, signal.SIGCONT)


def test_a_client_gone_halfway_through_a_body_is_logged_as_a_dropped_connection(
    two_workers: tuple[int, Path, bytes],
) -> None:
    port, log, request = two_workers
    for reset in (False, True):  # closed, or reset
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(request[: len(request) - 10])
            time.sleep(0.2)  # the worker reads what came, and waits for the rest
            if reset:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(request)
            assert answer(sock).startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(logged(log, DROPPED_MESSAGE, 2)) == 2
    access = [json.loads(line) for line in logged(log, '"route":"/predict"', 2)]
    assert [line["status"] for line in access] == [200, 200]
