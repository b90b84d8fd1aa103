"""Moving the start-up heap out of the garbage collector's sight.

By the time the service answers its first request, the interpreter holds a few hundred thousand
objects that live as long as the process: modules, classes, functions, the templates and
catalogues, SQLAlchemy's tables and compiled statements, the OpenAPI document. None of them
will ever be garbage, yet every full (generation 2) collection walks all of them again, and
with thousands of people waiting that walk is a pause every socket feels.

:func:`freeze_start_up_heap` collects once (so nothing already garbage is kept forever) and
then ``gc.freeze()``s what is left: the collector moves those objects to a permanent generation
and never looks at them again, so a full collection walks only what the service allocated
since. It is called once, after start-up, when the long-lived objects are all made. In a
process that forks after it (the supervisor does not), frozen objects are also not written to
by the collector, which keeps copy-on-write pages shared.

What the service allocates afterwards, the sockets of thousands of people waiting above all, is
walked by every full collection that CPython starts by itself; :func:`hold_full_collections` and
:class:`FullCollections` move those to moments the service chooses (see ``bench/README.md`` for
the pauses measured with and without).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import timedelta

from meetsvc.core.clock import Clock, utc_now


def freeze_start_up_heap() -> int:
    """Collect, then freeze every object alive now; how many are frozen in all."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


#: The oldest generation's threshold while the service holds its full collections: never reached.
_NEVER = 1_000_000_000


def hold_full_collections() -> None:
    """Leave the young generations to the collector as CPython sets them, but take the full
    (generation 2) collections away from it: CPython runs one whenever a quarter more objects
    have survived into the oldest generation, and with thousands of sockets open that is a
    pause of hundreds of milliseconds at a moment nobody chose, in the middle of admissions.
    :class:`FullCollections` runs them instead."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, _NEVER)


class FullCollections:
    """When the service runs the full collections it took from the collector
    (:func:`hold_full_collections`): when nobody is connected, so the pause reaches no one, and
    in any case once ``at_least_every`` has passed since the last one, which bounds what cyclic
    garbage (objects that only refer to each other) the oldest generation keeps meanwhile.

    Young objects are still collected as they always were: what waits for a full collection is
    only garbage that first survived two younger ones, such as a socket's own reference cycles
    after it closed."""

    def __init__(
        self, connected: Callable[[], int], *, clock: Clock = utc_now, at_least_every: timedelta = timedelta(hours=1)
    ) -> None:
        self._connected = connected
        self._clock = clock
        self._at_least_every = at_least_every
        self._last = clock()

    def due(self) -> bool:
        return self._connected() == 0 or self._clock() - self._last >= self._at_least_every

    def run_if_due(self) -> int | None:
        """Run a full collection if one is due; how many unreachable objects it found, or None."""
        if not self.due():
            return None
        found = gc.collect()
        self._last = self._clock()
        return found
