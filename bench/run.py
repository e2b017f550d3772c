"""Benchmark ``deployml serve`` against a minimal Flask app and in-process predict.

    python bench/run.py                  # the full run: 3 models, 10 s per measurement
    python bench/run.py --seconds 3      # a quicker, noisier run
    python bench/run.py --models lr      # one model

For each reference model, in one run: in-process predict timings; start-up to the first
successful prediction (median of alternated starts); identical warm-up; then single-row
latency at concurrency 1, single-row throughput at concurrency 8 and rows/s for 10,000-row
requests, each measured on the minimal app and on deployml alternately; then PSS of each
whole server. Prints a table with the targets' PASS/FAIL and writes JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import artefacts
import inprocess
import load
import machine
import memory
import models
import numpy as np
import report
import servers
from contenders import minimal_argv

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WARMUP_S = 2


class Contender:
    """One server under test: how to start it, and the figures gathered for it."""

    def __init__(self, name: str, argv_for: Any, env: dict[str, str], logs: Path) -> None:
        self.name, self.argv_for, self.env, self.logs = name, argv_for, env, logs
        self.figures: dict[str, Any] = {"startups_s": []}
        self.server: servers.Server | None = None

    def start(self, probe: bytes) -> None:
        port = servers.free_port()
        log = self.logs / f"{self.name}.log"
        self.server = servers.start(self.name, self.argv_for(port), port, probe, log, self.env)
        self.figures["startups_s"].append(self.server.startup_s)
        _say(f"    {self.name}: ready in {self.server.startup_s:.2f} s")

    def stop(self) -> None:
        if self.server is not None:
            servers.stop(self.server)
            self.server = None

    @property
    def port(self) -> int:
        assert self.server is not None, "start the server first"
        return self.server.port


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _measure(
    contender: Contender, key: str, body: Path, rows: int, threads: int, conns: int, secs: int
) -> None:
    assert contender.server is not None
    figures = load.run_wrk_with_cpu(
        contender.server.pid,
        contender.port,
        body,
        rows,
        threads=threads,
        connections=conns,
        seconds=secs,
    )
    contender.figures.setdefault(key + "_rounds", []).append(figures)
    _say(f"    {contender.name:<8} {key:<15} {load.summary(figures)}")


def bench_model(
    key: str, work: Path, seconds: int, startups: int, rounds: int, with_deployml: bool
) -> Any:
    """Every figure for one reference model; both servers are stopped on the way out."""
    ref = models.BUILDERS[key]()
    directory = work / key
    bodies = models.write_bodies(ref, directory / "bodies")
    pickle_path = models.write_pickle(ref, directory / "model.pkl")
    _say(f"\n{ref.title}: in-process predict")
    figures: dict[str, Any] = {
        "title": ref.title,
        "inprocess": inprocess.time_model(ref, ref.one_row(), ref.batch()),
        "loadavg_before": machine.loadavg(),
    }
    env = dict(os.environ)
    contenders = [Contender("minimal", lambda p: minimal_argv(pickle_path, p), env, directory)]
    if with_deployml:
        artefact = artefacts.package(ref, directory / "artefact")
        contenders.append(
            Contender(
                "deployml", lambda p: artefacts.serve_argv(artefact, p), artefacts.env(), directory
            )
        )
    probe = bodies.one_row.read_bytes()
    try:
        _say(f"{ref.title}: start-up, {startups} alternated starts each")
        for round_ in range(startups):
            order = contenders if round_ % 2 == 0 else contenders[::-1]
            for contender in order:
                contender.start(probe)
                if round_ < startups - 1:
                    contender.stop()
        if with_deployml:
            figures["same_predictions"] = _same_predictions(contenders, bodies)
        _say(f"{ref.title}: warm-up ({WARMUP_S} s single-row and 10,000-row each)")
        for contender in contenders:
            load.run_wrk(
                contender.port, bodies.one_row, 1, threads=1, connections=2, seconds=WARMUP_S
            )
            load.run_wrk(
                contender.port,
                bodies.batch,
                models.BATCH_ROWS,
                threads=1,
                connections=2,
                seconds=WARMUP_S,
            )
        _say(f"{ref.title}: load, {seconds} s per measurement, servers alternated")
        plan = [
            ("latency_c1", bodies.one_row, 1, 1, 1),
            ("throughput_c8", bodies.one_row, 1, 2, 8),
            ("batch", bodies.batch, models.BATCH_ROWS, 2, 2),
        ]
        for round_ in range(rounds):
            _say(f"  round {round_ + 1} of {rounds}")
            for index, (name, body, rows, threads, conns) in enumerate(plan):
                order = contenders if (index + round_) % 2 == 0 else contenders[::-1]
                for contender in order:
                    _measure(contender, name, body, rows, threads, conns, seconds)
            if with_deployml:
                _measure(
                    contenders[1],
                    "batch_columnar",
                    bodies.batch_columnar,
                    models.BATCH_ROWS,
                    2,
                    2,
                    seconds,
                )
        for contender in contenders:
            load.keep_median_rounds(contender.figures)
            assert contender.server is not None
            contender.figures["memory"] = memory.tree_memory(contender.server.pid)
            contender.figures["startup_s"] = statistics.median(contender.figures["startups_s"])
            _say(f"    {contender.name:<8} PSS {contender.figures['memory']['pss_mib']:.1f} MiB")
    finally:
        for contender in contenders:
            contender.stop()
    figures["loadavg_after"] = machine.loadavg()
    for contender in contenders:
        figures[contender.name] = contender.figures
    return figures


def _same_predictions(contenders: list[Contender], bodies: models.Bodies) -> bool:
    """Whether both servers predict the same for the single-row and 10,000-row bodies."""
    same = True
    for body in (bodies.one_row, bodies.batch):
        answers = []
        for contender in contenders:
            status, raw = servers.post(contender.port, body.read_bytes())
            answers.append(json.loads(raw).get("predictions") if status == 200 else None)
        minimal, deployml = answers
        if minimal is None or deployml is None or len(minimal) != len(deployml):
            same = False
        elif isinstance(minimal[0], float):
            same = same and bool(np.allclose(minimal, deployml, rtol=1e-9, atol=1e-12))
        else:
            same = same and minimal == deployml
    if not same:
        _say("    WARNING: the servers predict differently; this is not like for like")
    return same


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 2 if wrk is missing, 1 if a server fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    parser.add_argument("--startups", type=int, default=3, help="starts per server (median)")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds (median)")
    parser.add_argument("--models", nargs="+", choices=list(models.BUILDERS), default=None)
    parser.add_argument(
        "--minimal-only", action="store_true", help="skip deployml (checks the harness alone)"
    )
    args = parser.parse_args(argv)
    if min(args.seconds, args.startups, args.rounds) < 1:
        parser.error("--seconds, --startups and --rounds must be at least 1")
    try:
        load.require_wrk()
    except load.LoadError as error:
        _say(f"Error: {error}")
        return 2
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    results: dict[str, Any] = {
        "started": stamp,
        "command": " ".join(["python", "bench/run.py", *(argv or sys.argv[1:])]),
        "seconds_per_measurement": args.seconds,
        "rounds": args.rounds,
        "environment": machine.describe(HERE),
        "models": {},
    }
    try:
        with tempfile.TemporaryDirectory(prefix="deployml-bench-") as work:
            for key in args.models or list(models.BUILDERS):
                results["models"][key] = bench_model(
                    key,
                    Path(work),
                    args.seconds,
                    args.startups,
                    args.rounds,
                    not args.minimal_only,
                )
    except (servers.ServerError, load.LoadError, artefacts.PackagingError) as error:
        _say(f"Error: {error}")
        return 1
    results["targets"] = report.judge(results["models"])
    print(report.table(results["models"], results["targets"]))
    path = report.write(results, RESULTS, stamp)
    print(f"\nFigures written to {path.relative_to(HERE.parent)}")
    print(json.dumps({v["model"] + " " + v["target"]: v["verdict"] for v in results["targets"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
