"""The error answers of every socket.io namespace, and how a dependency that is away is noted.

A leaf module (only the standard library and the metrics it is handed), so the participant,
host and video namespaces answer alike without importing one another. An answer is
``{"ok": False, "error": code, "detail": ...}``; a refused connection carries the code alone.
"""

from __future__ import annotations

import logging
from typing import Any

from meetsvc.core.metrics import Metrics

log = logging.getLogger("meetsvc.realtime")

UNAVAILABLE = "unavailable"
UNAVAILABLE_DETAIL = "the service cannot reach what it depends on just now; try again shortly"
INTERNAL_ERROR = "internal-error"
INTERNAL_DETAIL = "something went wrong on our side; the error has been logged"
UNKNOWN_EVENT = "unknown-event"


def error(code: str, detail: str) -> dict[str, Any]:
    """An event's error answer (the acknowledgement, and the ``error`` event's payload)."""
    return {"ok": False, "error": code, "detail": detail}


def note_unavailable(namespace: str, metrics: Metrics | None, dependency: str, exc: Exception, event: str) -> None:
    """Log and count a socket event or connection that met a dependency that is away."""
    # The class only: a database error's text can quote a statement's parameters.
    log.warning("%s %s: %s unavailable (%s)", namespace, event, dependency, exc.__class__.__name__)
    if metrics is not None:
        metrics.dependency_failures.labels(dependency, "socket").inc()
