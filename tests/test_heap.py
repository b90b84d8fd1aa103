"""The service's full garbage collections run when it chooses: nobody connected, or an interval.

Run against CPython's own collector; its thresholds are process-wide, so each test puts them back.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from meetsvc.core.heap import FullCollections, hold_full_collections


@pytest.fixture(autouse=True)
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Node:
    """Half of a reference cycle: only a collection that reaches its generation frees it."""

    other: Node | None = None


def _cycle_in_the_oldest_generation() -> weakref.ref[Node]:
    first, second = Node(), Node()
    first.other, second.other = second, first
    gc.collect(1)  # survived the two younger generations: now in the oldest
    return weakref.ref(first)


def test_holding_full_collections_keeps_the_young_ones_as_they_were() -> None:
    young, middle, _ = gc.get_threshold()
    hold_full_collections()
    assert gc.get_threshold()[:2] == (young, middle)
    assert gc.get_threshold()[2] >= 1_000_000


def test_a_full_collection_runs_when_nobody_is_connected_and_frees_old_cycles() -> None:
    hold_full_collections()  # or CPython might run one by itself while the test looks
    connected = [3]
    clock = Clock()
    collections = FullCollections(lambda: connected[0], clock=clock, at_least_every=timedelta(hours=1))
    held = _cycle_in_the_oldest_generation()
    gc.collect(1)
    assert held() is not None  # a younger collection does not reach it

    clock.now += timedelta(minutes=59)
    assert collections.run_if_due() is None
    assert held() is not None

    connected[0] = 0
    assert collections.run_if_due() is not None
    assert held() is None


def test_a_full_collection_runs_after_the_interval_even_with_people_connected() -> None:
    hold_full_collections()
    clock = Clock()
    collections = FullCollections(lambda: 5_000, clock=clock, at_least_every=timedelta(hours=1))
    held = _cycle_in_the_oldest_generation()
    assert collections.run_if_due() is None
    before = gc.get_stats()[2]["collections"]

    clock.now += timedelta(hours=1)
    assert collections.run_if_due() is not None
    assert gc.get_stats()[2]["collections"] == before + 1
    assert held() is None
    # And not again until the next interval has passed.
    clock.now += timedelta(minutes=30)
    assert collections.run_if_due() is None
