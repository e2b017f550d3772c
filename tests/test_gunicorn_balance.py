"""The shared table of open connections, and when a worker leaves a connection to a sibling."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from server.gunicorn_balance import (
    DEFER_SECONDS,
    STALE_SECONDS,
    Balancer,
    ConnectionTable,
    assign_slot,
    free_slot,
)

NOW = 1000.0


def table_with(*counts: int) -> ConnectionTable:
    """A table whose first slots hold live workers with these counts, looked at just now."""
    table = ConnectionTable(slots=8)
    for slot, count in enumerate(counts):
        assert table.claim(set(range(slot))) == slot
        table.publish(slot, count, NOW)
    return table


def test_a_worker_holding_no_more_than_its_least_loaded_sibling_accepts() -> None:
    balance = Balancer(table_with(0, 3, 2), slot=0)
    assert balance.listening(2, NOW, True)
    assert balance.may_accept(2, NOW)


def test_a_worker_holding_more_defers_a_few_milliseconds_then_accepts_whatever_the_counts() -> None:
    balance = Balancer(table_with(0, 1), slot=0)
    assert balance.listening(3, NOW, True)
    assert not balance.may_accept(3, NOW)
    assert not balance.listening(3, NOW + DEFER_SECONDS / 2, True)  # not listening meanwhile
    assert balance.timeout(1.0, NOW + DEFER_SECONDS / 2) == pytest.approx(DEFER_SECONDS / 2)
    assert balance.listening(3, NOW + DEFER_SECONDS, True)
    assert balance.may_accept(3, NOW + DEFER_SECONDS)  # a sibling did not take it: take it


def test_the_grace_after_a_deferral_lasts_one_select_when_a_sibling_took_the_connection() -> None:
    balance = Balancer(table_with(0, 1), slot=0)
    assert not balance.may_accept(3, NOW)
    assert balance.listening(3, NOW + DEFER_SECONDS, True)
    balance.selected()  # the listener was not readable: the sibling accepted
    assert not balance.may_accept(3, NOW + DEFER_SECONDS)


def test_a_worker_with_no_thread_free_listens_only_while_it_holds_the_fewest() -> None:
    table = table_with(2, 3, 2)
    assert Balancer(table, slot=0).listening(2, NOW, False)  # as few as any sibling
    assert not Balancer(table, slot=1).listening(3, NOW, False)
    assert not Balancer(table_with(0), slot=0).listening(0, NOW, False)  # no sibling


def test_a_worker_two_or_more_connections_ahead_of_a_live_sibling_is_crowded() -> None:
    assert Balancer(table_with(5, 3), slot=0).crowded(5, NOW)
    assert not Balancer(table_with(4, 3), slot=0).crowded(4, NOW)  # moving one helps no one
    assert not Balancer(table_with(8, 0), slot=0).crowded(8, NOW + STALE_SECONDS + 1)
    assert not Balancer(table_with(8), slot=0).crowded(8, NOW)  # no sibling


def test_a_worker_publishes_its_count_for_its_siblings() -> None:
    table = table_with(0, 0)
    Balancer(table, slot=0).listening(5, NOW, True)
    Balancer(table, slot=0).accepted(6, NOW)
    assert table.least_other(1, NOW) == 6


def test_free_slots_and_siblings_silent_for_too_long_are_not_waited_for() -> None:
    table = table_with(4, 0, 1)
    table.release(1)
    table.publish(2, 1, NOW - STALE_SECONDS - 0.1)  # stopped or stuck
    assert table.least_other(0, NOW) is None
    assert Balancer(table, slot=0).may_accept(9, NOW)


def test_the_master_gives_each_new_worker_a_free_slot_and_frees_a_dead_ones() -> None:
    workers: dict[int, SimpleNamespace] = {}
    server = SimpleNamespace(WORKERS=workers)
    for pid in (1, 2, 3):
        worker = SimpleNamespace()
        assign_slot(server, worker)
        workers[pid] = worker
    slots = [w.deployml_balance_slot for w in workers.values()]
    assert len(set(slots)) == 3
    dead = workers.pop(2)
    free_slot(server, dead)
    replacement = SimpleNamespace()
    assign_slot(server, replacement)
    assert replacement.deployml_balance_slot == dead.deployml_balance_slot


def test_the_table_is_shared_with_forked_workers() -> None:
    table = table_with(0, 0)
    pid = os.fork()
    if pid == 0:  # the child writes its own slot, as a worker does
        table.publish(1, 7, NOW)
        os._exit(0)
    os.waitpid(pid, 0)
    assert table.least_other(0, NOW) == 7
