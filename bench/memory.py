"""Memory and CPU time of a whole server, summed over a process and its descendants.

PSS (proportional set size) charges each shared page to the processes mapping it in equal
parts, so the sum over the gunicorn master and its workers counts copy-on-write sharing once.
Read from ``/proc/PID/smaps_rollup`` (Linux 4.14+); RSS double-counts shared pages and USS
(private pages only) ignores them, so both are reported beside it.

CPU time (user + system, from ``/proc/PID/stat``) spent by the server per request is steadier
than throughput when other work shares the machine, so it is reported beside the load figures.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

TICKS_PER_S = os.sysconf("SC_CLK_TCK")

PROC = Path("/proc")
_FIELDS = {
    "Rss": "rss_kib",
    "Pss": "pss_kib",
    "Private_Clean": "uss_kib",
    "Private_Dirty": "uss_kib",
}


@dataclass
class ProcessMemory:
    """One process's memory in KiB."""

    pid: int
    command: str
    rss_kib: int = 0
    pss_kib: int = 0
    uss_kib: int = 0


def descendants(root: int) -> list[int]:
    """``root`` and every process below it, parents first."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # the process ended while we listed /proc
        # The command name is in parentheses and may hold spaces; fields follow the last ")".
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    order, queue = [], [root]
    while queue:
        pid = queue.pop(0)
        order.append(pid)
        queue.extend(sorted(children.get(pid, [])))
    return order


def cpu_seconds(root: int) -> float:
    """User plus system CPU seconds used so far by ``root`` and its live descendants."""
    total = 0
    for pid in descendants(root):
        try:
            fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
    return total / TICKS_PER_S


def process_memory(pid: int) -> ProcessMemory:
    """Read one process's RSS, PSS and USS from smaps_rollup."""
    base = PROC / str(pid)
    command = (base / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    memory = ProcessMemory(pid=pid, command=command.strip()[:120])
    for line in (base / "smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        attribute = _FIELDS.get(key)
        if attribute is not None:
            setattr(memory, attribute, getattr(memory, attribute) + int(rest.split()[0]))
    return memory


def tree_memory(root: int) -> dict[str, Any]:
    """Sum of PSS, RSS and USS over ``root`` and its descendants, in MiB, with the parts."""
    parts = []
    for pid in descendants(root):
        try:
            parts.append(process_memory(pid))
        except (OSError, ValueError):
            continue  # a process that ended mid-read holds no memory any more
    return {
        "pss_mib": sum(p.pss_kib for p in parts) / 1024,
        "rss_mib": sum(p.rss_kib for p in parts) / 1024,
        "uss_mib": sum(p.uss_kib for p in parts) / 1024,
        "processes": [asdict(p) for p in parts],
    }
