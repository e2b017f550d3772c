"""Open-connection counts shared by gunicorn's workers, so that kept-alive connections spread.

Every worker accepts from the one listening socket, and a worker keeps each connection it
accepts for as long as the client keeps it alive. Left alone, whichever worker's event loop
runs first when a client opens its pool (wrk's 8 connections, a load balancer's, a
``requests.Session``'s) often takes all of them, and the other workers idle for the pool's
life.

So the workers share a small table: one slot per worker holding its open connections and
when it last looked (its heartbeat). The master makes the table (anonymous shared memory,
before the first fork), gives each new worker a free slot in ``pre_fork`` and frees a dead
worker's slot in ``child_exit``; each worker writes only its own slot. A worker with more
connections than the least loaded live sibling does not accept a waiting connection at once:
it takes the listener out of its selector for :data:`DEFER_SECONDS`, leaving the connection to
that sibling, and then accepts the next one whatever the counts. A stopped or stuck sibling
therefore delays a new connection by that much at most, and once its heartbeat is older than
:data:`STALE_SECONDS` it is not waited for at all; a stopping worker frees its slot itself.
The least loaded worker listens even while its threads are busy (the request waits in its
event loop), since under steady load it is seldom idle at the moment a connection arrives.

Counts can still end uneven: a sibling may hold, for a moment, a connection its client has
already closed (it learns so when it next reads), and a pool opened just then all goes to
the other worker. So a worker holding :data:`SHED_MARGIN` or more connections than the least
loaded live sibling answers its next request with ``Connection: close``: the client opens a
new connection, which the deferral above leaves to that sibling. Uneven pools even out within
a request per extra connection, at the cost of one reconnect each.

Not per-worker ``SO_REUSEPORT`` sockets: the kernel hashes each connection to a socket
whatever the load, the master's own listener stays in the group (connections hashed to it
wait for ever), and a worker's restart drops the connections queued on its socket. Not more
threads: one process holds one GIL, so the worker that took the connections still uses one
core. Works on any OS with ``mmap`` and ``fork``.
"""

from __future__ import annotations

import mmap
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

__all__ = [
    "DEFER_SECONDS",
    "SHED_MARGIN",
    "STALE_SECONDS",
    "BalancedWorker",
    "Balancer",
    "ConnectionTable",
    "assign_slot",
    "free_slot",
]

# How long a worker leaves a waiting connection to a less loaded sibling before taking it.
DEFER_SECONDS = 0.025
# A sibling that has not looked at its table slot for this long is not waited for: stopped,
# stuck or dying. Workers look at least once a second (gunicorn's event-loop timeout).
STALE_SECONDS = 2.0
# A worker holding this many more connections than its least loaded sibling closes one after
# its next answer (two: moving one connection then makes the counts more even, never less).
SHED_MARGIN = 2
# Slots for more workers than a machine runs; gunicorn can add workers at run time (TTIN).
_SLOTS = 256
_FREE = -1


class ConnectionTable:
    """Per slot: open connections (``_FREE`` when no worker holds the slot), heartbeat in ms."""

    def __init__(self, slots: int = _SLOTS) -> None:
        # Anonymous and shared (MAP_SHARED is mmap's default): forked workers see one memory.
        # After the slots, one more value: how many slots have ever been claimed (scanned).
        self._memory = mmap.mmap(-1, 16 * slots + 8)
        self.values = memoryview(self._memory).cast("q")
        for slot in range(slots):
            self.values[2 * slot] = _FREE
        self.slots = slots

    def claim(self, taken: set[int]) -> int | None:
        """A slot not in ``taken``, marked live with no connections; None when all are taken."""
        for slot in range(self.slots):
            if slot not in taken:
                self.publish(slot, 0, time.monotonic())
                self.values[2 * self.slots] = max(self.values[2 * self.slots], slot + 1)
                return slot
        return None

    def publish(self, slot: int, connections: int, now: float) -> None:
        """The worker in ``slot`` holds ``connections`` and is looking at ``now``."""
        self.values[2 * slot + 1] = int(now * 1000)
        self.values[2 * slot] = connections

    def release(self, slot: int) -> None:
        """No worker holds ``slot`` any more."""
        self.values[2 * slot] = _FREE

    def least_other(self, slot: int, now: float) -> int | None:
        """The fewest connections a live sibling of ``slot`` holds (None: no live sibling)."""
        fresh_since = int((now - STALE_SECONDS) * 1000)
        values = self.values
        least: int | None = None
        for other in range(values[2 * self.slots]):
            count = values[2 * other]
            if other == slot or count == _FREE or values[2 * other + 1] < fresh_since:
                continue
            least = count if least is None else min(least, count)
        return least


class Balancer:
    """One worker's side of the table: it publishes its count and decides when to accept."""

    def __init__(self, table: ConnectionTable, slot: int) -> None:
        self.table = table
        self.slot = slot
        self.deferred_until = 0.0  # while in the future, the listener is out of the selector
        self.grace = False  # after a deferral: accept the next waiting connection regardless

    def listening(self, connections: int, now: float, free: bool) -> bool:
        """Publish ``connections``; whether the listener belongs in the selector now.

        A worker with no thread ``free`` still listens while it holds no more connections than
        any sibling: it reads the request in its event loop and queues it, whereas left to the
        free workers, the connection would stay with them for as long as it is kept alive.
        """
        self.table.publish(self.slot, connections, now)
        if self.deferred_until:
            if now < self.deferred_until:
                return False
            self.deferred_until = 0.0
            self.grace = True  # for the next select only: see selected()
        if free:
            return True
        least = self.table.least_other(self.slot, now)
        return least is not None and connections <= least

    def timeout(self, timeout: float, now: float) -> float:
        """The event loop's wait, cut short to end a deferral on time."""
        if self.deferred_until:
            return max(0.0, min(timeout, self.deferred_until - now))
        return timeout

    def may_accept(self, connections: int, now: float) -> bool:
        """A connection is waiting: accept it now, or (False) defer to a less loaded sibling."""
        if self.grace:
            self.grace = False
            return True
        least = self.table.least_other(self.slot, now)
        if least is None or connections <= least:
            return True
        self.deferred_until = now + DEFER_SECONDS
        return False

    def crowded(self, connections: int, now: float) -> bool:
        """Whether this worker holds SHED_MARGIN or more connections than a live sibling."""
        least = self.table.least_other(self.slot, now)
        return least is not None and connections - least >= SHED_MARGIN

    def accepted(self, connections: int, now: float) -> None:
        """Publish at once, so that siblings woken by the same burst see this connection."""
        self.table.publish(self.slot, connections, now)

    def selected(self) -> None:
        """A select is over: the grace after a deferral covered that one only (if the listener
        was not readable then, a sibling took the connection)."""
        self.grace = False


_table: ConnectionTable | None = None
_SLOT_ATTRIBUTE = "deployml_balance_slot"


def assign_slot(server: Any, worker: Any) -> None:
    """gunicorn's ``pre_fork`` (in the master): ``worker`` gets a slot no live worker holds."""
    global _table
    if _table is None:
        _table = ConnectionTable()
    taken = {getattr(w, _SLOT_ATTRIBUTE, None) for w in server.WORKERS.values()}
    setattr(worker, _SLOT_ATTRIBUTE, _table.claim({s for s in taken if s is not None}))


def free_slot(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` (in the master): the dead worker's slot is free again."""
    slot = getattr(worker, _SLOT_ATTRIBUTE, None)
    if _table is not None and slot is not None:
        _table.release(slot)


class BalancedWorker(ThreadWorker):
    """A ``gthread`` worker that leaves a new connection to a less loaded sibling."""

    balance: Balancer | None = None

    def init_process(self) -> None:
        """In the worker, after the fork: its side of the table, if the master gave it a slot."""
        slot = getattr(self, _SLOT_ATTRIBUTE, None)
        if _table is not None and slot is not None:
            self.balance = Balancer(_table, slot)
        super().init_process()

    def accepting(self, free: bool, timeout: float) -> float:
        """Listen when a thread is ``free`` or this worker holds the fewest connections (and
        it is not deferring to a sibling); the event loop's wait."""
        now = time.monotonic()
        listen = free and self.alive
        if self.balance is not None and not self.alive:
            self.balance.table.release(self.balance.slot)  # stopping: not to be waited for
        elif self.balance is not None:
            listen = self.balance.listening(self.nr_conns, now, free)
            timeout = self.balance.timeout(timeout, now)
        self.set_accept_enabled(listen and self.nr_conns < self.worker_connections)
        return timeout

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        """gunicorn's select and dispatch; a deferral's grace ends with it."""
        super().wait_for_and_dispatch_events(timeout)
        if self.balance is not None:
            self.balance.selected()

    def handle_request(self, req: Any, conn: Any) -> Any:
        """Answer ``req``; with ``Connection: close`` when this worker is crowded, so that
        its client reconnects to a less loaded sibling."""
        if self.balance is not None and self.balance.crowded(self.nr_conns, time.monotonic()):
            req.must_close = True  # gunicorn then answers "Connection: close" and closes
        return super().handle_request(req, conn)

    def accept(self, listener: Any) -> None:
        """Accept a waiting connection, unless a less loaded sibling should have it."""
        now = time.monotonic()
        if self.balance is not None and not self.balance.may_accept(self.nr_conns, now):
            self.set_accept_enabled(False)
            return
        super().accept(listener)
        if self.balance is not None:
            self.balance.accepted(self.nr_conns, now)
