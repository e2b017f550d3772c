"""A hostile client: slow connections hang on a deployml server while a normal client predicts.

    python bench/slow_clients.py http://127.0.0.1:8000 --slow-headers 50 --slow-bodies 20 \
        --seconds 60

Opens ``--slow-headers`` connections that send a request line and then one header byte every
``--interval`` seconds, never finishing the head, and ``--slow-bodies`` connections that send
a whole head announcing a 1,000-byte JSON body and then trickle the body a byte at a time,
and ``--slow-closers`` connections that ask for ``GET /livez`` with ``Connection: close`` and
never close their end once answered.
Meanwhile one normal client sends ``POST /predict`` (the server's own example from
``/metadata``, a new connection each time, a 10 s timeout) and records each latency.

With ``--reconnect`` each slow client opens a new connection as soon as the server closes
its last one, so the server faces that many slow connections for the whole run.

After ``--seconds`` it prints the normal client's p50, p99 and errors, and for each kind of
slow connection how many the server closed, after how long (median), how many were still open
at the end, and the longest any stayed open. ``--json`` prints the same as one JSON object.
Standard library only, so it runs against any server, in a container or not.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

NORMAL_TIMEOUT = 10.0
SLOW_BODY_BYTES = 1000
# Between two normal requests, so the normal client measures latency rather than saturating.
NORMAL_PAUSE = 0.05


@dataclass
class SlowResult:
    """One slow connection: how long it stayed open and whether the server closed it."""

    kind: str
    opened: float = 0.0
    seconds_open: float = 0.0
    closed_by_server: bool = False
    refused: bool = False


@dataclass
class NormalResults:
    """The normal client's latencies (seconds) and its failures by kind."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)

    def fail(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def slow_connection(
    host: str, port: int, kind: str, stop_at: float, interval: float, result: SlowResult
) -> None:
    """Hang one connection until ``stop_at`` or until the server closes it."""
    result.opened = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=5)
    except OSError:
        result.refused = True
        return
    sock.settimeout(interval)
    if kind == "closer":
        request = b"GET /livez HTTP/1.1\r\nHost: slow\r\nConnection: close\r\n\r\n"
        hold_open(sock, request, stop_at, result)
        return
    if kind == "header":
        first, trickle = b"POST /predict HTTP/1.1\r\nHost: slow\r\nX-Slow: ", b"a"
    else:
        head = (
            f"POST /predict HTTP/1.1\r\nHost: slow\r\nContent-Type: application/json\r\n"
            f"Content-Length: {SLOW_BODY_BYTES}\r\n\r\n"
        )
        first, trickle = head.encode() + b"[", b" "
    try:
        sock.sendall(first)
        while time.monotonic() < stop_at:
            try:
                if sock.recv(65536) == b"":
                    result.closed_by_server = True
                    break
                # An answer (say a 408 or 400) before the close: keep reading until it closes.
                continue
            except TimeoutError:
                pass
            sock.sendall(trickle)
    except OSError:
        result.closed_by_server = True
    finally:
        result.seconds_open = time.monotonic() - result.opened
        sock.close()


# Sockets of slow closers, kept from the garbage collector so they stay open until the end.
_HELD: list[socket.socket] = []


def hold_open(sock: socket.socket, request: bytes, stop_at: float, result: SlowResult) -> None:
    """Send ``request``, read the answer to the server's end, and never close this end."""
    try:
        sock.sendall(request)
        while time.monotonic() < stop_at:
            try:
                if not sock.recv(65536):
                    result.closed_by_server = True
                    break
            except TimeoutError:
                continue
    except OSError:
        result.closed_by_server = True
    result.seconds_open = time.monotonic() - result.opened
    _HELD.append(sock)


def slow_client(
    host: str,
    port: int,
    kind: str,
    stop_at: float,
    interval: float,
    reconnect: bool,
    results: list[SlowResult],
) -> None:
    """One slow connection, or (with ``reconnect``) one after another until ``stop_at``."""
    while time.monotonic() < stop_at:
        result = SlowResult(kind)
        results.append(result)
        slow_connection(host, port, kind, stop_at, interval, result)
        if not reconnect:
            return
        if result.refused or kind == "closer":  # a closer comes back every interval
            time.sleep(interval)


def example_body(host: str, port: int) -> bytes:
    """The server's own example request, from /metadata."""
    connection = http.client.HTTPConnection(host, port, timeout=NORMAL_TIMEOUT)
    connection.request("GET", "/metadata")
    metadata = json.loads(connection.getresponse().read())
    connection.close()
    return json.dumps(metadata["example"]["request"]).encode()


def normal_client(
    host: str, port: int, body: bytes, stop_at: float, results: NormalResults
) -> None:
    """POST /predict on a new connection, again and again, until ``stop_at``."""
    headers = {"Content-Type": "application/json"}
    while time.monotonic() < stop_at:
        started = time.monotonic()
        connection = http.client.HTTPConnection(host, port, timeout=NORMAL_TIMEOUT)
        try:
            connection.request("POST", "/predict", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                results.latencies.append(time.monotonic() - started)
            else:
                results.fail(f"status {response.status}")
        except TimeoutError:
            results.fail("timeout")
        except OSError as error:
            results.fail(type(error).__name__)
        finally:
            connection.close()
        time.sleep(NORMAL_PAUSE)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile of ``values`` (0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def summary(slow: list[SlowResult], normal: NormalResults, seconds: float) -> dict[str, Any]:
    """The figures the run prints."""
    report: dict[str, Any] = {
        "normal": {
            "answered": len(normal.latencies),
            "errors": normal.errors,
            "p50_ms": round(1000 * percentile(normal.latencies, 0.50), 1),
            "p99_ms": round(1000 * percentile(normal.latencies, 0.99), 1),
            "max_ms": round(1000 * max(normal.latencies, default=0.0), 1),
        }
    }
    for kind in ("header", "body", "closer"):
        mine = [result for result in slow if result.kind == kind]
        if not mine:
            continue
        closed = [result.seconds_open for result in mine if result.closed_by_server]
        report[f"slow_{kind}"] = {
            "connections": len(mine),
            "refused": sum(result.refused for result in mine),
            "closed_by_server": len(closed),
            "still_open_at_end": len(mine) - len(closed) - sum(r.refused for r in mine),
            "median_s_open_when_closed": round(statistics.median(closed), 1) if closed else None,
            "max_s_open": round(max(r.seconds_open for r in mine if not r.refused), 1)
            if len(mine) > sum(r.refused for r in mine)
            else None,
            "run_s": seconds,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--slow-headers", type=int, default=10)
    parser.add_argument("--slow-bodies", type=int, default=0)
    parser.add_argument("--slow-closers", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between bytes")
    parser.add_argument("--reconnect", action="store_true", help="reopen closed slow ones")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    body = example_body(host, port)

    stop_at = time.monotonic() + args.seconds
    kinds = (
        ["header"] * args.slow_headers
        + ["body"] * args.slow_bodies
        + ["closer"] * args.slow_closers
    )
    slow: list[SlowResult] = []
    threads = [
        threading.Thread(
            target=slow_client,
            args=(host, port, kind, stop_at, args.interval, args.reconnect, slow),
            daemon=True,
        )
        for kind in kinds
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # let every slow connection reach the server before measuring
    normal = NormalResults()
    normal_client(host, port, body, stop_at, normal)
    for thread in threads:
        thread.join(timeout=args.interval + 5)
    report = summary(slow, normal, args.seconds)
    if args.json:
        print(json.dumps(report))
        return
    n = report["normal"]
    print(
        f"normal /predict: {n['answered']} answered, p50 {n['p50_ms']} ms, "
        f"p99 {n['p99_ms']} ms, max {n['max_ms']} ms, errors {n['errors'] or 'none'}"
    )
    for kind in ("header", "body", "closer"):
        if f"slow_{kind}" in report:
            s = report[f"slow_{kind}"]
            print(
                f"slow {kind}: {s['connections']} opened, {s['refused']} refused, "
                f"{s['closed_by_server']} closed by the server after a median "
                f"{s['median_s_open_when_closed']} s, {s['still_open_at_end']} still open at "
                f"the end; the longest was open {s['max_s_open']} s of {args.seconds:.0f} s"
            )


if __name__ == "__main__":
    main()
