"""How keep-alive load spreads over the workers: many short one-thread wrk runs at 8 connections.

    python bench/spread.py                       # this checkout, 12 tries of 4 s
    python bench/spread.py --checkout ../before --tries 20 --seconds 3

Serves the reference logistic regression (``lr``) with ``deployml serve --workers 2`` from
``--checkout`` (this one by default), then runs ``wrk -t1 -c8`` ``--tries`` times, each with
new connections, as a client that pools connections does. Per try it prints requests/s, the
server's CPU cores used (user + system time of the master and workers from ``/proc``, over the
try's wall time) and how wrk's 8 connections were split over the workers (read from ``/proc``
a second into the try: each worker's socket inodes against ``/proc/net/tcp``), then the
median, minimum and maximum. Linux only (it reads ``/proc``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import load
import machine
import memory
import models
import servers
from artefacts import MAX_REQUEST_BYTES, package

HERE = Path(__file__).resolve().parent
# The checkout first on the path, whatever the working directory holds.
_SERVE = "import sys; sys.path.insert(0, {!r}); from deployml.cli import main; sys.exit(main())"
SAMPLE_AFTER_S = 1.0


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers: the master's live descendants, without the master."""
    return [pid for pid in memory.descendants(master) if pid != master]


def socket_inodes(pid: int) -> set[str]:
    """The inodes of the sockets process ``pid`` holds open."""
    found = set()
    fds = Path(f"/proc/{pid}/fd")
    for fd in fds.iterdir() if fds.exists() else ():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(target[8:-1])
    return found


def established_inodes(port: int) -> set[str]:
    """Inodes of the server's ends of established TCP connections to ``port`` (IPv4)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
            found.add(fields[9])
    return found


def split(master: int, port: int) -> list[int]:
    """How many established connections each worker holds, largest first."""
    connections = established_inodes(port)
    return sorted((len(socket_inodes(w) & connections) for w in worker_pids(master)), reverse=True)


@dataclass
class Try:
    """What one wrk run measured."""

    req_s: float
    cores: float
    split: list[int]
    errors: int

    @property
    def both(self) -> bool:
        """Whether every worker held some of the connections."""
        return len(self.split) > 1 and min(self.split) > 0


def one_try(master: int, port: int, body: Path, seconds: int) -> Try:
    """One wrk run with new connections: req/s, server cores used and the connections' split."""
    sampled: list[list[int]] = []
    timer = threading.Timer(SAMPLE_AFTER_S, lambda: sampled.append(split(master, port)))
    cpu, began = memory.cpu_seconds(master), time.perf_counter()
    timer.start()
    result = load.run_wrk(port, body, 1, threads=1, connections=8, seconds=seconds)
    cores = (memory.cpu_seconds(master) - cpu) / (time.perf_counter() - began)
    timer.join()
    return Try(result.requests_per_s, cores, sampled[0] if sampled else [], result.errors)


def summary(name: str, values: list[float]) -> str:
    """Median, minimum and maximum of ``values``."""
    median = statistics.median(values)
    return f"{name}: median {median:,.2f}  min {min(values):,.2f}  max {max(values):,.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=HERE.parent, help="deployml to serve")
    parser.add_argument("--tries", type=int, default=12)
    parser.add_argument("--seconds", type=int, default=4)
    args = parser.parse_args()
    load.require_wrk()
    checkout = args.checkout.resolve()
    ref = models.BUILDERS["lr"]()
    with tempfile.TemporaryDirectory(prefix="deployml-spread-") as tmp:
        scratch = Path(tmp)
        bodies = models.write_bodies(ref, scratch / "bodies")
        artefact = package(ref, scratch / "lr")
        port = servers.free_port()
        argv = [sys.executable, "-c", _SERVE.format(str(checkout)), "serve", str(artefact)]
        argv += ["--workers", "2", "--port", str(port)]
        env = {
            **os.environ,
            "PYTHONPATH": str(checkout),
            "DEPLOYML_HOST": "127.0.0.1",
            "DEPLOYML_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        }
        probe = bodies.one_row.read_bytes()
        server = servers.start("deployml", argv, port, probe, scratch / "serve.log", env)
        try:
            load.run_wrk(port, bodies.one_row, 1, threads=1, connections=8, seconds=1)
            tries = []
            for i in range(args.tries):
                found = one_try(server.pid, port, bodies.one_row, args.seconds)
                tries.append(found)
                print(
                    f"try {i + 1:2d}: {found.req_s:8,.0f} req/s  {found.cores:.2f} cores"
                    f"  connections per worker {found.split}  errors {found.errors}",
                    flush=True,
                )
        finally:
            servers.stop(server)
    print(f"\n{args.tries} tries of wrk -t1 -c8 -d{args.seconds}s, 2 workers, {checkout}")
    print(summary("req/s", [t.req_s for t in tries]))
    print(summary("server cores", [t.cores for t in tries]))
    both = sum(t.both for t in tries)
    print(f"tries with connections on both workers: {both} of {args.tries}")
    print(f"machine load average: {machine.loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
