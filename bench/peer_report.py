"""The issue's targets table from one bench/peers.py run, and every figure, as Markdown.

Every cell is a ratio (or, for cold start, a difference) of two servers measured in the same
run, from the median of its rounds, so machine speed cancels out; load from other work on
the machine does not. A cell whose measurements saw errors, or whose server could not be
measured, is INVALID or "-", never a number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from contenders import COMPILED, DEPLOYML, FLOOR, MINIMAL, PEER

Figures = dict[str, Any]
COLUMNS = (("lr", "logreg"), ("rf", "random forest"), ("hgb", "HistGradientBoosting"))


class NotRun(LookupError):
    """A server a cell needs was not part of this run (not chosen with --peers)."""


def _server(model: Figures, name: str) -> Figures:
    if name not in model["contenders"]:
        raise NotRun(name)
    found: Figures = model["contenders"][name]
    return found


def _valid(server: Figures | None, measurement: str) -> Figures | None:
    """The median figures of ``measurement``, or None if it failed or saw errors."""
    found = (server or {}).get(measurement)
    if not found or found["errors"] or not found["requests"]:
        return None
    return dict(found)


def best(model: Figures, roles: tuple[str, ...], measurement: str) -> tuple[str, Figures] | None:
    """The contender of ``roles`` with the highest req/s in ``measurement``, and its figures."""
    run = [(n, s) for n, s in model["contenders"].items() if s["role"] in roles]
    if not run:
        raise NotRun(roles)
    found = [(n, fig) for n, s in run if (fig := _valid(s, measurement)) is not None]
    return max(found, key=lambda item: item[1]["requests_per_s"]) if found else None


@dataclass(frozen=True)
class Row:
    """One row of the targets table: how a model's cell is computed, and its bound."""

    label: str
    cell: Callable[[Figures], tuple[float, str] | None]  # (value, against whom) or None
    compare: str  # ">=", "<=", "diff<=" or "" (shown, not judged)
    bound: float = 0.0
    models: tuple[str, ...] = ("lr", "rf", "hgb")

    def judge(self, key: str, model: Figures) -> dict[str, Any]:
        """The cell for ``key``: value, text and verdict."""
        try:
            found = self.cell(model)
        except NotRun:
            return {"value": None, "shown": "not run", "verdict": ""}
        except (KeyError, ZeroDivisionError, TypeError):
            found = None
        if found is None:
            return {"value": None, "shown": "-", "verdict": "INVALID"}
        value, whom = found
        judged = self.compare and key in self.models
        ok = value <= self.bound if self.compare in ("<=", "diff<=") else value >= self.bound
        text = f"{value:+.2f} s" if self.compare == "diff<=" else f"{value:.2f}x"
        verdict = ("PASS" if ok else "FAIL") if judged else ""
        return {"value": value, "shown": f"{text}{' ' + whom if whom else ''}", "verdict": verdict}

    @property
    def target(self) -> str:
        """The bound as the issue states it."""
        if not self.compare:
            return ""
        shown = f"+{self.bound:g} s" if self.compare == "diff<=" else f"{self.bound:g}x"
        only = "" if len(self.models) == 3 else f" ({', '.join(self.models)})"
        return f"{'≤' if '<=' in self.compare else '≥'} {shown}{only}"


def _ratio(
    measurement: str, figure: str, against: Callable[[Figures], Any], ours: str = DEPLOYML
) -> Any:
    """deployml's (or ``ours``') ``figure`` ÷ the same figure of the server ``against`` picks."""

    def cell(model: Figures) -> tuple[float, str] | None:
        mine = _valid(_server(model, ours), measurement)
        other = against(model)
        if mine is None or other is None:
            return None
        name, theirs = other
        return mine[figure] / theirs[figure], f"({name})" if name else ""

    return cell


def _named(name: str, measurement: str) -> Callable[[Figures], Any]:
    def pick(model: Figures) -> tuple[str, Figures] | None:
        fig = _valid(_server(model, name), measurement)
        return None if fig is None else ("", fig)

    return pick


def _batch(label: str) -> Callable[[Figures], tuple[float, str] | None]:
    def cell(model: Figures) -> tuple[float, str] | None:
        mine = _valid(_server(model, DEPLOYML), f"batch_{label}")
        theirs = _valid(_server(model, "mlserver"), "batch_natural")
        if mine is None or theirs is None:
            return None
        return mine["rows_per_s"] / theirs["rows_per_s"], ""

    return cell


def _versus_minimal(figure: Callable[[Figures], float], diff: bool) -> Any:
    def cell(model: Figures) -> tuple[float, str] | None:
        mine, theirs = (_server(model, n) for n in (DEPLOYML, "minimal"))
        if "startup_s" not in mine or "startup_s" not in theirs:
            return None  # a server that never started
        a, b = figure(mine), figure(theirs)
        return (a - b if diff else a / b), ""

    return cell


_PEERS = (PEER, MINIMAL)
ROWS = (
    Row(
        "1-row req/s, deployml ÷ best peer (wrk -t1 -c8)",
        _ratio("one_t1", "requests_per_s", lambda m: best(m, _PEERS, "one_t1")),
        ">=",
        1.5,
    ),
    Row(
        "1-row p99, deployml ÷ that peer (wrk -t1 -c8)",
        _ratio("one_t1", "p99_ms", lambda m: best(m, _PEERS, "one_t1")),
        "<=",
        1.0,
    ),
    Row(
        "1-row server CPU per request, deployml ÷ that peer",
        _ratio("one_t1", "server_cpu_ms_per_request", lambda m: best(m, _PEERS, "one_t1")),
        "",
    ),
    Row(
        "1-row req/s, deployml ÷ best peer (wrk -t2 -c8)",
        _ratio("one_t2", "requests_per_s", lambda m: best(m, _PEERS, "one_t2")),
        ">=",
        1.5,
    ),
    Row(
        "1-row req/s, ÷ minimal app with OMP_NUM_THREADS=1 (wrk -t1)",
        _ratio("one_t1", "requests_per_s", _named("minimal-omp1", "one_t1")),
        ">=",
        1.5,
    ),
    Row("10k-row rows/s, `instances` body, ÷ MLServer", _batch("instances"), ">=", 1.0),
    Row("10k-row rows/s, columnar body, ÷ MLServer", _batch("columnar"), ">=", 1.5),
    Row(
        "1-row req/s ÷ HTTP floor (hello-world gunicorn, the better of two; wrk -t1)",
        _ratio("one_t1", "requests_per_s", lambda m: best(m, (FLOOR,), "one_t1")),
        ">=",
        0.4,
        ("lr",),
    ),
    Row(
        "1-row req/s with --compile onnx ÷ best peer (wrk -t1 -c8)",
        _ratio("one_t1", "requests_per_s", lambda m: best(m, _PEERS, "one_t1"), COMPILED),
        ">=",
        5.0,
        ("rf",),
    ),
    Row(
        "cold start, deployml - minimal app",
        _versus_minimal(lambda f: float(f["startup_s"]), diff=True),
        "diff<=",
        1.0,
    ),
    Row(
        "PSS master+workers, deployml ÷ minimal app",
        _versus_minimal(lambda f: float(f["pss_mib"]), diff=False),
        "<=",
        1.2,
    ),
)


def targets(models: dict[str, Figures]) -> list[dict[str, Any]]:
    """Each row of the targets table with a judged cell per measured model."""
    return [
        {
            "row": row.label,
            "target": row.target,
            "cells": {key: row.judge(key, model) for key, model in models.items()},
        }
        for row in ROWS
    ]


def targets_markdown(models: dict[str, Figures], rows: list[dict[str, Any]]) -> str:
    """The targets table: one column per model, as the issue lays it out."""
    keys = [(key, title) for key, title in COLUMNS if key in models]
    out = [
        "| | " + " | ".join(title for _, title in keys) + " | target |",
        "|---|" + "---|" * len(keys) + "---|",
    ]
    for row in rows:
        cells = [row["cells"][key] for key, _ in keys]
        shown = [f"{c['shown']} {c['verdict']}".strip() for c in cells]
        out.append(f"| {row['row']} | " + " | ".join(shown) + f" | {row['target']} |")
    return "\n".join(out)


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def figures_markdown(key: str, model: Figures) -> str:
    """Every contender's median figures for one model."""
    out = [
        f"\n**{model['title']}** (`{key}`)\n",
        "| server | start s | 1-row req/s t1 | p99 ms | CPU ms/req | 1-row req/s t2 | p99 ms "
        "| 10k body | 10k rows/s | CPU ms/10k req | PSS MiB | check |",
        "|---|" + "---:|" * 10 + "---|",
    ]
    for name, server in model["contenders"].items():
        t1, t2 = (_valid(server, m) or {} for m in ("one_t1", "one_t2"))
        batches = [k for k in server if k.startswith("batch_") and not k.endswith("_rounds")]
        first = True
        for batch in batches or [None]:
            b = (_valid(server, batch) or {}) if batch else {}
            lead = [
                _fmt(server.get("startup_s"), ".2f"),
                _fmt(t1.get("requests_per_s"), ".0f"),
                _fmt(t1.get("p99_ms"), ".2f"),
                _fmt(t1.get("server_cpu_ms_per_request"), ".2f"),
                _fmt(t2.get("requests_per_s"), ".0f"),
                _fmt(t2.get("p99_ms"), ".2f"),
            ]
            tail = [
                batch.removeprefix("batch_") if batch else "",
                _fmt(b.get("rows_per_s"), ",.0f"),
                _fmt(b.get("server_cpu_ms_per_request"), ".1f"),
                _fmt(server.get("pss_mib"), ".1f"),
                server.get("check", ""),
            ]
            cells = lead if first else [""] * len(lead)
            out.append(f"| {name if first else ''} | " + " | ".join([*cells, *tail]) + " |")
            first = False
    return "\n".join(out)
