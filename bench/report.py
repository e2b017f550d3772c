"""The targets of the server issue, judged from one run's figures, and the printed table.

Every target is a ratio (or, for start-up, a difference) between deployml and the minimal
app measured in the same run, so machine speed cancels out; noise from other load does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Figures = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One speed target: which figure, compared how, against what bound."""

    models: tuple[str, ...]
    name: str
    figure: Callable[[Figures], float]
    compare: str  # "ratio>=", "ratio<=" or "diff<="
    bound: float
    measurement: str | None = None  # the wrk run behind the figure, checked for errors

    def judge(self, minimal: Figures, deployml: Figures) -> dict[str, Any]:
        """The two figures, their ratio or difference, and PASS/FAIL."""
        m, d = self.figure(minimal), self.figure(deployml)
        if self.compare == "diff<=":
            value, ok, shown = d - m, d - m <= self.bound, f"{d - m:+.2f} s (<= +{self.bound} s)"
        else:
            value = d / m if m else float("inf")
            ok = value >= self.bound if self.compare == "ratio>=" else value <= self.bound
            sign = ">=" if self.compare == "ratio>=" else "<="
            shown = f"{value:.2f}x ({sign} {self.bound}x)"
        # A run with errors, or in which no request finished, measured nothing.
        failed = self.measurement is not None and any(
            f[self.measurement]["errors"] or not f[self.measurement]["requests"]
            for f in (minimal, deployml)
        )
        return {
            "target": self.name,
            "minimal": m,
            "deployml": d,
            "value": value,
            "shown": shown,
            "verdict": "INVALID" if failed else "PASS" if ok else "FAIL",
            "cpu_ratio": self._cpu_ratio(minimal, deployml),
        }

    def _cpu_ratio(self, minimal: Figures, deployml: Figures) -> float | None:
        """Minimal's server CPU per request over deployml's: a steadier view of a rate."""
        if self.measurement not in ("throughput_c8", "batch"):
            return None
        d = _cpu(deployml, self.measurement)
        return _cpu(minimal, self.measurement) / d if d else None


def _c8(f: Figures) -> float:
    return float(f["throughput_c8"]["requests_per_s"])


def _p50(f: Figures) -> float:
    return float(f["latency_c1"]["p50_ms"])


def _batch(f: Figures) -> float:
    return float(f["batch"]["rows_per_s"])


def _startup(f: Figures) -> float:
    return float(f["startup_s"])


def _pss(f: Figures) -> float:
    return float(f["memory"]["pss_mib"])


def _worker_pss(f: Figures) -> float:
    # The first process is the one started (the gunicorn master); the rest are its workers.
    workers = f["memory"]["processes"][1:]
    return sum(p["pss_kib"] for p in workers) / len(workers) / 1024


def _cpu(f: Figures, measurement: str) -> float:
    return float(f[measurement]["server_cpu_ms_per_request"])


ALL = ("lr", "rf", "hgb")
TARGETS = (
    Target(("lr",), "single-row throughput c8", _c8, "ratio>=", 1.5, "throughput_c8"),
    Target(("lr",), "single-row p50 latency c1", _p50, "ratio<=", 1.0, "latency_c1"),
    Target(("rf",), "single-row throughput c8", _c8, "ratio>=", 1.0, "throughput_c8"),
    Target(("hgb",), "single-row throughput c8", _c8, "ratio>=", 3.0, "throughput_c8"),
    Target(ALL, "10,000-row rows/s", _batch, "ratio>=", 2.0, "batch"),
    Target(ALL, "start-up to first prediction", _startup, "diff<=", 1.0),
    Target(ALL, "memory PSS master+workers", _pss, "ratio<=", 1.2),
)


def judge(models: dict[str, Figures]) -> list[dict[str, Any]]:
    """Every target that applies to a measured model, judged."""
    verdicts = []
    for target in TARGETS:
        for key in target.models:
            if key in models and "deployml" in models[key]:
                entry = models[key]
                verdict = target.judge(entry["minimal"], entry["deployml"])
                verdicts.append({"model": key, **verdict})
    return verdicts


def _cells(entry: Figures) -> list[tuple[str, str, str, str]]:
    """(figure, in-process, minimal, deployml) for one model, formatted; "-" where absent."""
    ip, mini, dep = entry["inprocess"], entry["minimal"], entry.get("deployml", {})

    def cell(server: Figures, pick: Callable[[Figures], float], fmt: str) -> str:
        try:
            return format(pick(server), fmt)
        except (KeyError, TypeError, ZeroDivisionError):
            return "-"

    rows: list[tuple[str, str, Callable[[Figures], float], str]] = [
        ("p50 latency c1 (ms)", f"{ip['one_row_with_proba_ms']:.2f}", _p50, ".2f"),
        ("p99 latency c1 (ms)", "", lambda f: f["latency_c1"]["p99_ms"], ".2f"),
        ("single-row req/s c8", f"{ip['one_row_per_s']:.0f}", _c8, ".0f"),
        ("10k-row rows/s (instances)", f"{ip['batch_rows_per_s']:.0f}", _batch, ".0f"),
        ("10k-row rows/s (columnar)", "", lambda f: f["batch_columnar"]["rows_per_s"], ".0f"),
        ("server CPU per request c8 (ms)", "", lambda f: _cpu(f, "throughput_c8"), ".2f"),
        ("server CPU per 10k-row request (ms)", "", lambda f: _cpu(f, "batch"), ".1f"),
        ("start-up to first prediction (s)", "", _startup, ".2f"),
        ("PSS master+workers (MiB)", "", _pss, ".1f"),
        ("PSS per worker, mean (MiB)", "", _worker_pss, ".1f"),
        ("RSS master+workers (MiB)", "", lambda f: f["memory"]["rss_mib"], ".1f"),
    ]
    return [
        (label, inproc or "", cell(mini, pick, fmt), cell(dep, pick, fmt))
        for label, inproc, pick, fmt in rows
    ]


def _warning(entry: Figures) -> str | None:
    if entry.get("same_predictions") is False:
        return "WARNING: the servers' predictions differ; figures are not like for like"
    return None


def table(models: dict[str, Figures], verdicts: list[dict[str, Any]]) -> str:
    """A plain-text table of every figure, then the targets with PASS/FAIL."""
    out = []
    for key, entry in models.items():
        out.append(f"\n{entry['title']} ({key})")
        if _warning(entry):
            out.append(f"  {_warning(entry)}")
        for label, *cells in [("", "in-process", "minimal", "deployml"), *_cells(entry)]:
            out.append(f"  {label:<36}" + "".join(f"{c:>14}" for c in cells))
    if verdicts:
        out.append("\nTargets (deployml against the minimal app, same run)")
        for v in verdicts:
            cpu = f"   CPU/request {v['cpu_ratio']:.2f}x" if v["cpu_ratio"] else ""
            out.append(
                f"  {v['verdict']:<7} {v['model']:<4} {v['target']:<32} {v['shown']:<22}{cpu}"
            )
    return "\n".join(out)


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def markdown(models: dict[str, Figures], verdicts: list[dict[str, Any]]) -> str:
    """The same figures and verdicts as Markdown tables, for bench/README.md."""
    out = []
    for key, entry in models.items():
        out += [f"\n**{entry['title']}** (`{key}`)\n"]
        if _warning(entry):
            out.append(f"{_warning(entry)}\n")
        out += ["| figure | in-process | minimal | deployml |", "| --- | ---: | ---: | ---: |"]
        out += [f"| {label} | {ip} | {m} | {d} |" for label, ip, m, d in _cells(entry)]
    if verdicts:
        out += ["\n| model | target | minimal | deployml | ratio | verdict | CPU/request |"]
        out += ["| --- | --- | ---: | ---: | --- | --- | ---: |"]
        out += [
            f"| {v['model']} | {v['target']} | {_num(v['minimal'])} | {_num(v['deployml'])} "
            f"| {v['shown']} | {v['verdict']} "
            f"| {format(v['cpu_ratio'], '.2f') + 'x' if v['cpu_ratio'] else ''} |"
            for v in verdicts
        ]
    return "\n".join(out) + "\n"


def write(
    results: Figures, directory: Path, stamp: str, prefix: str = "bench", text: str | None = None
) -> Path:
    """Write the run's figures as JSON, and Markdown (``text``, else this run's tables) beside
    it, as ``<prefix>-<stamp>.json`` and ``.md``; return the JSON path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{prefix}-{stamp}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    if text is None:
        text = markdown(results["models"], results.get("targets", []))
    path.with_suffix(".md").write_text(text)
    return path
