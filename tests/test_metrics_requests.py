"""Requests kept in the process and counted a flush at a time end as if counted one by one."""

from __future__ import annotations

import random

from prometheus_client import CollectorRegistry, Counter, Histogram

from server.metrics.requests import MAX_WAITING_REQUESTS, RequestCounts

BUCKETS = (0.001, 0.01, 0.1, 1.0)


def metric_pair() -> tuple[Counter, Histogram, CollectorRegistry]:
    registry = CollectorRegistry()
    requests = Counter("requests", "r", ["endpoint", "method", "status"], registry=registry)
    duration = Histogram("duration", "d", ["endpoint"], buckets=BUCKETS, registry=registry)
    return requests, duration, registry


def samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): round(s.value, 12)
        for metric in registry.collect()
        for s in metric.samples
        if not s.name.endswith("_created")
    }


def test_flushed_requests_give_the_counts_buckets_and_sums_of_counting_each_at_once() -> None:
    rng = random.Random(3)
    answered = [
        (
            rng.choice(["/predict", "/metadata", "unmatched"]),
            rng.choice(["GET", "POST"]),
            rng.choice([200, 400, 503]),
            rng.choice([0.0005, 0.001, 0.004, 0.3, 2.0, rng.random()]),
        )
        for _ in range(2_000)
    ]
    requests, duration, one_by_one = metric_pair()
    for endpoint, method, status, seconds in answered:
        requests.labels(endpoint, method, str(status)).inc()
        duration.labels(endpoint).observe(seconds)
    requests, duration, waited = metric_pair()
    counts = RequestCounts(requests, duration)
    for request in answered[:1500]:
        counts.add(*request)
    counts.flush()
    for request in answered[1500:]:
        counts.add(*request)
    assert samples(waited) != samples(one_by_one)  # the last ones still wait
    counts.flush()
    assert samples(waited) == samples(one_by_one)


def test_adding_says_when_enough_requests_wait_to_be_flushed() -> None:
    requests, duration, _ = metric_pair()
    counts = RequestCounts(requests, duration)
    full = [counts.add("/predict", "POST", 200, 0.001) for _ in range(MAX_WAITING_REQUESTS)]
    assert full == [False] * (MAX_WAITING_REQUESTS - 1) + [True]
    counts.flush()
    assert not counts.add("/predict", "POST", 200, 0.001)
