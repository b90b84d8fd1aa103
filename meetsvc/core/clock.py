"""The one notion of "now" in the service.

Every operation that depends on the time takes a :data:`Clock` instead of reading the system
clock itself, so tests move time forward on purpose instead of waiting for it, and a busy
machine cannot change what a test sees.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""A function that answers the current time, timezone-aware, in UTC."""


def utc_now() -> datetime:
    """The system clock, in UTC: the production :data:`Clock`."""
    return datetime.now(UTC)
