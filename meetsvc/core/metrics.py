"""Prometheus metrics, in a registry of the application's own (so tests can run many apps).

Labels carry route *templates* (``/api/v1/meetings/{meeting_id}``), never concrete paths: a path
can hold an invitation token, and every distinct value would be a new time series.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "meetsvc_http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "meetsvc_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        # A dependency that was away when something needed it: ``dependency`` is "database",
        # "redis" or "network"; ``seen_by`` is "http", "socket", "readyz" or "fanout".
        self.dependency_failures = Counter(
            "meetsvc_dependency_failures",
            "Times a dependency (database, Redis) could not be reached when it was needed.",
            ["dependency", "seen_by"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
