"""Drive a server with wrk, a compiled load generator, from a separate process.

Every run is bounded (``-d``) and aimed at 127.0.0.1 only; ``post.lua`` sends a JSON body
from a file and prints one summary line that is parsed here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import memory

SCRIPT = Path(__file__).with_name("post.lua")
MARKER = "BENCH-JSON "
INSTALL_HINT = (
    "wrk is not installed; install it with `sudo apt-get install wrk` "
    "(Debian/Ubuntu) or `brew install wrk` (macOS) and run again"
)


class LoadError(RuntimeError):
    """wrk is missing, failed, or saw errors that make the figure meaningless."""


def require_wrk() -> str:
    """The path of wrk, or a LoadError saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise LoadError(INSTALL_HINT)
    return path


@dataclass
class LoadResult:
    """What one wrk run measured; latencies in milliseconds."""

    requests: int
    seconds: float
    errors: int
    requests_per_s: float
    rows_per_request: int
    rows_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    command: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def run_wrk(
    port: int,
    body: Path,
    rows_per_request: int,
    *,
    threads: int,
    connections: int,
    seconds: int,
    timeout_s: int = 30,
    path: str = "/predict",
) -> LoadResult:
    """POST ``body`` to 127.0.0.1:``port`` for ``seconds`` and return the summary."""
    argv = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(SCRIPT),
        f"http://127.0.0.1:{port}{path}",
        "--",
        str(body),
    ]
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + timeout_s + 30, check=False
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise LoadError(f"wrk failed (exit {done.returncode}): {done.stderr.strip()[:400]}")
    raw = json.loads(lines[-1][len(MARKER) :])
    errors = sum(
        raw[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    seconds_run = raw["duration_us"] / 1e6
    good = raw["requests"] - raw["status_errors"]
    return LoadResult(
        requests=raw["requests"],
        seconds=round(seconds_run, 3),
        errors=errors,
        requests_per_s=good / seconds_run,
        rows_per_request=rows_per_request,
        rows_per_s=good * rows_per_request / seconds_run,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        command=" ".join(argv[1:]).replace(str(SCRIPT), "post.lua"),
    )


def run_wrk_with_cpu(
    pid: int,
    port: int,
    body: Path,
    rows_per_request: int,
    *,
    threads: int,
    connections: int,
    seconds: int,
    path: str = "/predict",
) -> dict[str, Any]:
    """``run_wrk``'s summary plus the CPU time the server ``pid`` (and its children) spent.

    CPU per request does not depend on how the client's connections spread over the workers,
    nor on how much of the machine other processes leave, so it is steadier than req/s.
    """
    before = memory.cpu_seconds(pid)
    result = run_wrk(
        port,
        body,
        rows_per_request,
        threads=threads,
        connections=connections,
        seconds=seconds,
        path=path,
    )
    cpu = memory.cpu_seconds(pid) - before
    return {
        **result.to_dict(),
        "server_cpu_s": cpu,
        "server_cpu_ms_per_request": 1000 * cpu / max(result.requests, 1),
    }


def summary(figures: dict[str, Any]) -> str:
    """One line for the console: rates, latencies, CPU per request and any errors."""
    flag = f"  ({figures['errors']} ERRORS: figure invalid)" if figures["errors"] else ""
    if not figures["requests"]:
        flag = "  (no request finished: figure invalid; try a longer --seconds)"
    return (
        f"{figures['requests_per_s']:9.1f} req/s {figures['rows_per_s']:10.0f} rows/s  "
        f"p50 {figures['p50_ms']:8.2f} ms  p99 {figures['p99_ms']:8.2f} ms  "
        f"server cpu {figures['server_cpu_ms_per_request']:7.2f} ms/req{flag}"
    )


def keep_median_rounds(figures: dict[str, Any]) -> None:
    """Report each measurement by its median round (by p50 for latency, else by rate)."""
    for key in [k for k in figures if k.endswith("_rounds")]:
        rounds = figures[key]
        by = "p50_ms" if key.startswith("latency") else "requests_per_s"
        ordered = sorted(rounds, key=lambda r: r[by])
        # Errors in any round make the figure invalid, whichever round is the median.
        median = dict(ordered[(len(ordered) - 1) // 2])
        median["errors"] = sum(r["errors"] for r in rounds)
        figures[key.removesuffix("_rounds")] = median
