"""Start a server as its own process group, time it to the first good prediction, stop it.

Servers bind 127.0.0.1 on a free port chosen at run time. Their output goes to a log file,
not a pipe, so a chatty access log can never block them. ``stop`` ends the whole process
group (gunicorn master and workers) and escalates to SIGKILL after a bounded wait.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STARTUP_DEADLINE_S = 90.0
POLL_INTERVAL_S = 0.02
STOP_DEADLINE_S = 15.0


class ServerError(RuntimeError):
    """A server did not become ready in time, or exited; the message carries its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running server process group."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    startup_s: float = 0.0

    @property
    def pid(self) -> int:
        """PID of the process started (the gunicorn master, or the CLI that runs it)."""
        return self.process.pid


def post(
    port: int, body: bytes, timeout: float = 30.0, path: str = "/predict"
) -> tuple[int, bytes]:
    """POST a JSON body to ``path`` (/predict by default); return the status and the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("POST", path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def start(
    name: str,
    argv: list[str],
    port: int,
    probe: bytes,
    log: Path,
    env: dict[str, str],
    path: str = "/predict",
    cwd: Path | None = None,
) -> Server:
    """Spawn ``argv`` and wait until POST ``path`` with ``probe`` answers 200."""
    handle = log.open("ab")
    began = time.perf_counter()
    process = subprocess.Popen(
        argv, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
    )
    handle.close()
    server = Server(name=name, port=port, process=process, log=log)
    try:
        server.startup_s = _wait_ready(server, probe, began, path)
    except BaseException:
        stop(server)
        raise
    return server


def _wait_ready(server: Server, probe: bytes, began: float, path: str) -> float:
    deadline = began + STARTUP_DEADLINE_S
    last = "no answer"
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise ServerError(f"{server.name} exited ({server.process.returncode}){_tail(server)}")
        try:
            status, body = post(server.port, probe, timeout=5.0, path=path)
        except OSError as error:
            last = type(error).__name__
        else:
            if status == 200:
                return time.perf_counter() - began
            last = f"HTTP {status}: {body[:300]!r}"
        time.sleep(POLL_INTERVAL_S)
    raise ServerError(
        f"{server.name} not ready after {STARTUP_DEADLINE_S:.0f}s ({last}){_tail(server)}"
    )


def _tail(server: Server) -> str:
    lines = server.log.read_text(errors="replace").splitlines()[-15:]
    return "\n  log: " + "\n  log: ".join(lines) if lines else ""


def stop(server: Server) -> None:
    """Terminate the server's process group: SIGTERM, then SIGKILL after a bounded wait."""
    if server.process.poll() is None:
        _signal_group(server, signal.SIGTERM)
        try:
            server.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            _signal_group(server, signal.SIGKILL)
            server.process.wait(timeout=STOP_DEADLINE_S)
    # Workers can outlive a master that died first; the group still names them.
    _signal_group(server, signal.SIGKILL)


def _signal_group(server: Server, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, sig)
