"""deployml side by side with the servers users would pick instead, in one run.

    python bench/peers.py setup                     # once: each peer in bench/.venvs/<peer>/
    python bench/peers.py                           # every peer and model, 3 rounds of 10 s
    python bench/peers.py --seconds 2 --rounds 1 --peers mlserver minimal --models lr

For each reference model, in every round (the order of the servers reversed every other
round): each server is started (cold start to its first good answer), its answers to the
single row and the 10,000 rows are checked against the model's own predictions, it is warmed
up, then measured: single-row req/s, p99 and server CPU per request at 8 connections with a
one-thread and a two-thread wrk, and rows/s of each of its 10,000-row bodies; then its PSS,
and it is stopped. The median round of each figure is kept. Prints the issue's targets table
and writes JSON and Markdown to bench/results/peers-<UTC time>.*.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import artefacts
import contenders
import load
import machine
import memory
import models
import peer_envs
import peer_report
import peer_servers
import report
import servers

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WARMUP_S = 2
# Not peers: deployml, and the floors, always run; "minimal" selects both minimal apps.
CHOICES = (*peer_servers.NAMES, "minimal", "floor", "compiled")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build(
    space: contenders.Workspace, chosen: list[str], peers_omp1: bool = False
) -> list[contenders.Contender]:
    """deployml and the chosen servers for one model (a peer that fails to build is left out)."""
    artefact = artefacts.package(space.ref, space.directory / "artefact")
    found = [
        c
        for c in contenders.ours(space, artefact)
        if c.role == contenders.DEPLOYML or c.role in chosen
    ]
    if "compiled" in chosen:
        try:
            onnx = artefacts.package(space.ref, space.directory / "compiled", compile_onnx=True)
            found.append(contenders.compiled(space, onnx))
        except (ImportError, artefacts.PackagingError) as error:
            _say(f"  deployml-onnx left out: {error}")
    for name in [n for n in peer_servers.NAMES if n in chosen]:
        try:
            peer_envs.installed(name)
            peer = peer_servers.BUILDERS[name](space)
            if peers_omp1:
                peer.env["OMP_NUM_THREADS"] = "1"
                peer.describe += ", with OMP_NUM_THREADS=1"
            found.append(peer)
        except (peer_envs.PeerMissing, servers.ServerError) as error:
            _say(f"  {name} left out: {error}")
    return found


def _measure_one(
    contender: contenders.Contender, figures: dict[str, Any], server: servers.Server, secs: int
) -> None:
    """Warm-up, then every load measurement of one server in one round."""
    one = contender.one_row
    plan = [("one_t1", one, 1, 1, 8), ("one_t2", one, 1, 2, 8)]
    plan += [(f"batch_{k}", r, models.BATCH_ROWS, 2, 2) for k, r in contender.batches.items()]
    for _, request, rows, _, _ in [plan[0], *plan[2:]]:  # each body once
        load.run_wrk(
            server.port,
            request.body,
            rows,
            threads=1,
            connections=2,
            seconds=WARMUP_S,
            path=request.path,
        )
    for key, request, rows, threads, conns in plan:
        found = load.run_wrk_with_cpu(
            server.pid,
            server.port,
            request.body,
            rows,
            threads=threads,
            connections=conns,
            seconds=secs,
            path=request.path,
        )
        figures.setdefault(f"{key}_rounds", []).append(found)
        _say(f"    {contender.name:<13} {key:<16} {load.summary(found)}")


def _check(contender: contenders.Contender, port: int, ref: models.Reference) -> str:
    """Return "ok", or why the server's answers are not the model's own predictions."""
    cases = [("1 row", contender.one_row, ref.one_row())]
    cases += [(f"10k {k}", r, ref.batch()) for k, r in contender.batches.items()]
    for label, request, rows in cases:
        status, answer = servers.post(port, request.body.read_bytes(), 120.0, request.path)
        problem = f"HTTP {status}" if status != 200 else None
        problem = problem or contenders.check(contender, answer, ref.estimator.predict(rows))
        if problem:
            return f"{label}: {problem}"
    return "ok"


def _round(
    contender: contenders.Contender,
    figures: dict[str, Any],
    ref: models.Reference,
    logs: Path,
    secs: int,
) -> None:
    """Start, check, measure, read memory, stop: one server's share of one round."""
    port = servers.free_port()
    request = contender.one_row
    try:
        server = servers.start(
            contender.name,
            contender.argv_for(port),
            port,
            request.body.read_bytes(),
            logs / f"{contender.name}.log",
            contender.env,
            request.path,
            contender.cwd,
        )
    except servers.ServerError as error:
        figures["error"] = f"did not start: {str(error)[:2000]}"
        _say(f"    {contender.name}: {figures['error'][:400]}")
        return
    try:
        figures["startups_s"].append(server.startup_s)
        figures["check"] = _check(contender, port, ref)
        ready = f"ready in {server.startup_s:.2f} s, answers {figures['check']}"
        _say(f"    {contender.name:<13} {ready}")
        if figures["check"] != "ok":
            return  # never measure a server answering errors or other predictions
        _measure_one(contender, figures, server, secs)
        figures["memories"].append(memory.tree_memory(server.pid))
    except load.LoadError as error:
        figures["error"] = str(error)
        _say(f"    {contender.name}: {error}")
    finally:
        servers.stop(server)


def bench_model(key: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Every server's figures for one reference model."""
    ref = models.BUILDERS[key]()
    _say(f"\n{ref.title}: preparing every server")
    space = contenders.workspace(ref, work / key)
    line_up = build(space, args.peers, args.peers_omp1)
    all_figures: dict[str, dict[str, Any]] = {
        c.name: {"role": c.role, "describe": c.describe, "startups_s": [], "memories": []}
        for c in line_up
    }
    began = machine.loadavg()
    for round_ in range(args.rounds):
        _say(f"{ref.title}: round {round_ + 1} of {args.rounds}")
        order = line_up if round_ % 2 == 0 else line_up[::-1]
        for contender in order:
            figures = all_figures[contender.name]
            if "error" not in figures and figures.get("check", "ok") == "ok":
                _round(contender, figures, ref, space.directory, args.seconds)
    for figures in all_figures.values():
        load.keep_median_rounds(figures)
        if figures["startups_s"]:
            figures["startup_s"] = statistics.median(figures["startups_s"])
        if figures["memories"]:
            figures["pss_mib"] = statistics.median(m["pss_mib"] for m in figures["memories"])
    return {
        "title": ref.title,
        "loadavg_before": began,
        "loadavg_after": machine.loadavg(),
        "contenders": all_figures,
    }


def run(args: argparse.Namespace) -> int:
    """The measured run: every model, the targets table, results written."""
    load.require_wrk()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    results: dict[str, Any] = {
        "started": stamp,
        "command": " ".join(["python", "bench/peers.py", *sys.argv[1:]]),
        "seconds_per_measurement": args.seconds,
        "rounds": args.rounds,
        "peers_omp_num_threads_1": args.peers_omp1,
        "environment": machine.describe(HERE),
        "peer_versions": peer_servers.versions([p for p in args.peers if p in peer_servers.NAMES]),
        "models": {},
    }
    with tempfile.TemporaryDirectory(prefix="deployml-peers-") as work:
        for key in args.models:
            results["models"][key] = bench_model(key, Path(work), args)
    results["targets"] = peer_report.targets(results["models"])
    table = peer_report.targets_markdown(results["models"], results["targets"])
    figures = "\n".join(peer_report.figures_markdown(k, m) for k, m in results["models"].items())
    title = f"**Targets** (ratios of this run, medians of {args.rounds} rounds)"
    text = f"{figures}\n\n{title}\n\n{table}\n"
    print(text)
    path = report.write(results, RESULTS, stamp, prefix="peers", text=text)
    print(f"Figures written to {path.relative_to(HERE.parent)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``setup`` makes the peers' environments; otherwise measure."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["setup"]:
        parser = argparse.ArgumentParser(prog="peers.py setup", description=peer_envs.__doc__)
        parser.add_argument("--peers", nargs="+", choices=peer_servers.NAMES, default=None)
        parser.add_argument("--force", action="store_true", help="make them anew")
        args = parser.parse_args(argv[1:])
        outcome = peer_envs.setup(args.peers or list(peer_servers.NAMES), args.force)
        for peer, said in outcome.items():
            print(f"{peer}: {said}")
        return 0 if all(s.startswith("ready") for s in outcome.values()) else 1
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternated rounds (median)")
    parser.add_argument("--models", nargs="+", choices=list(models.BUILDERS), default=None)
    parser.add_argument(
        "--peers",
        nargs="+",
        choices=CHOICES,
        default=list(CHOICES),
        help="servers beside deployml (default: all)",
    )
    parser.add_argument(
        "--peers-omp1",
        action="store_true",
        help="run MLServer, BentoML, vetiver and MLflow with OMP_NUM_THREADS=1 too",
    )
    args = parser.parse_args(argv)
    args.models = args.models or list(models.BUILDERS)
    if min(args.seconds, args.rounds) < 1:
        parser.error("--seconds and --rounds must be at least 1")
    try:
        return run(args)
    except (load.LoadError, artefacts.PackagingError) as error:
        _say(f"Error: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
