"""One collect loop per process for every pending poll-style order.

Why a loop and not a collect per browser poll: BankID asks the RP to call ``/collect`` every two
seconds while an order is pending, and no more often ("Collect"). Browsers poll our server as
they like (every second, from several tabs); if each poll collected, the rate to BankID would
follow the browsers. Here the browser reads :meth:`CollectLoop.latest` and only this loop talks
to BankID, at the documented pace, for thousands of orders at once.

How: a heap of (due time, order) entries, a dispatcher that sleeps until the earliest one is
due, and a fixed pool of worker coroutines (the concurrency bound) that collect and reschedule.

* Each order's next collect is due ``interval`` seconds after its previous collect *started*,
  so no order is ever collected faster than the interval, however late the loop runs.
* Due times are rounded up to ``tick`` boundaries (25 ms by default), so the dispatcher wakes at
  most once per tick and sends everything due then together: with thousands of orders a wakeup
  costs more than the few milliseconds it moves a collect, and rounding *up* never makes a gap
  shorter than the interval. An order is thus collected every ``interval`` to
  ``interval + tick`` seconds.
* New orders get a first due time spread over the interval (a golden-ratio sequence), so a
  burst of starts does not become a burst of collects every two seconds ever after.

Lag — how late each collect started versus its (rounded) due time: the time spent waiting for
the event loop and for a free worker — is recorded so a benchmark (or a metrics endpoint) can
report p50/p99.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from identity.base import IdentityError, IdentityTransportError, OrderState, OrderStatus, PollingIdentityProvider

log = logging.getLogger(__name__)

StatusCallback = Callable[[OrderStatus], None]

_GOLDEN = 0.6180339887498949


@dataclass(frozen=True, slots=True)
class LagStats:
    """Collect start lateness versus due time, in milliseconds, over the recorded window."""

    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


class _Watch:
    """Bookkeeping for one watched order: a few slots, nothing per poll."""

    __slots__ = ("callbacks", "future", "generation", "latest", "order_ref", "transport_failures")

    def __init__(self, order_ref: str, generation: int, future: asyncio.Future[OrderStatus]) -> None:
        self.order_ref = order_ref
        self.generation = generation
        self.future = future
        self.callbacks: list[StatusCallback] = []
        self.latest: OrderStatus | None = None
        self.transport_failures = 0


class CollectLoop:
    """Collect every watched order every ``interval`` seconds until it completes or fails.

    ``concurrency`` bounds the collects in flight (the worker pool). ``tick`` is the dispatch
    granularity. ``max_transport_failures`` is how many consecutive failures to reach BankID an
    order tolerates before its watchers get the error; BankID's own error answers end the watch
    at once, since the client has already retried the ones BankID allows to retry.
    """

    def __init__(
        self,
        provider: PollingIdentityProvider,
        *,
        interval: float = 2.0,
        concurrency: int = 64,
        tick: float = 0.025,
        max_transport_failures: int = 3,
        lag_window: int = 200_000,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if not 0 <= tick < interval:
            raise ValueError("tick must be at least 0 and less than the interval")
        self._provider = provider
        self._interval = interval
        self._tick = tick
        self._concurrency = concurrency
        self._max_transport_failures = max_transport_failures
        self._watches: dict[str, _Watch] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._generations = itertools.count(1)
        self._spread_index = itertools.count()
        self._queue: asyncio.Queue[tuple[_Watch, float]] = asyncio.Queue()
        self._lag: deque[float] = deque(maxlen=lag_window)
        self._tasks: list[asyncio.Task[None]] = []
        self._wake: asyncio.Future[None] | None = None
        self._wake_at = math.inf
        self._loop: asyncio.AbstractEventLoop | None = None
        self.collects = 0
        self.collect_errors = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def interval(self) -> float:
        return self._interval

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    async def start(self) -> None:
        if self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._tasks.append(asyncio.create_task(self._dispatch(), name="bankid-collect-dispatch"))
        for number in range(self._concurrency):
            self._tasks.append(asyncio.create_task(self._work(), name=f"bankid-collect-worker-{number}"))

    async def stop(self) -> None:
        """Stop collecting; watchers still waiting see their futures cancelled."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for watch in self._watches.values():
            if not watch.future.done():
                watch.future.cancel()
        self._watches.clear()
        self._heap.clear()
        while not self._queue.empty():
            self._queue.get_nowait()

    async def __aenter__(self) -> CollectLoop:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- watching ----------------------------------------------------------------------------

    def watch(self, order_ref: str, on_status: StatusCallback | None = None) -> asyncio.Future[OrderStatus]:
        """Collect ``order_ref`` until it ends; the future resolves with the final status.

        ``on_status`` is called with every status collected, pending ones included (to show
        the hint code's message). An error that ends the watch (BankID's error answer, or
        BankID out of reach too many times in a row) is set on the future only. Watching an
        order twice returns the same future.
        """
        existing = self._watches.get(order_ref)
        if existing is not None:
            if on_status is not None:
                existing.callbacks.append(on_status)
            return existing.future
        loop = self._loop or asyncio.get_running_loop()
        future: asyncio.Future[OrderStatus] = loop.create_future()
        # Watchers may follow an order by callback only; mark a failure as seen so the loop
        # does not report "exception was never retrieved" for it.
        future.add_done_callback(_consume)
        watch = _Watch(order_ref, next(self._generations), future)
        if on_status is not None:
            watch.callbacks.append(on_status)
        self._watches[order_ref] = watch
        offset = ((next(self._spread_index) * _GOLDEN) % 1.0) * self._interval
        self._schedule(watch, loop.time() + offset)
        return watch.future

    def on_status(self, order_ref: str, callback: StatusCallback) -> None:
        """Add a status callback to an order already watched."""
        watch = self._watches.get(order_ref)
        if watch is None:
            raise KeyError(order_ref)
        watch.callbacks.append(callback)

    def unwatch(self, order_ref: str) -> None:
        """Stop collecting ``order_ref`` (it does not cancel the order at BankID)."""
        watch = self._watches.pop(order_ref, None)
        if watch is not None and not watch.future.done():
            watch.future.cancel()

    def latest(self, order_ref: str) -> OrderStatus | None:
        """The last status collected for an order still pending, for browser polls to read.

        A finished order is no longer watched: its final status comes through the future and
        the callbacks, which the application records where its pages can find it.
        """
        watch = self._watches.get(order_ref)
        return watch.latest if watch is not None else None

    @property
    def pending(self) -> int:
        return len(self._watches)

    # -- lag -----------------------------------------------------------------------------------

    def lag_stats(self) -> LagStats:
        samples = sorted(self._lag)
        if not samples:
            return LagStats(0, 0.0, 0.0, 0.0, 0.0)

        def pct(fraction: float) -> float:
            index = min(len(samples) - 1, round(fraction * (len(samples) - 1)))
            return samples[index] * 1000.0

        return LagStats(len(samples), pct(0.50), pct(0.90), pct(0.99), samples[-1] * 1000.0)

    def reset_lag(self) -> None:
        self._lag.clear()

    # -- internals -------------------------------------------------------------------------------

    def _schedule(self, watch: _Watch, earliest: float) -> None:
        """Queue the next collect at the first tick boundary not before ``earliest``."""
        due = self._align(earliest)
        heapq.heappush(self._heap, (due, watch.generation, watch.order_ref))
        wake = self._wake
        if wake is not None and not wake.done() and due < self._wake_at:
            wake.set_result(None)  # due before the dispatcher means to wake: wake it now

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        heap = self._heap
        while True:
            now = loop.time()
            while heap and heap[0][0] <= now:
                due, generation, order_ref = heapq.heappop(heap)
                watch = self._watches.get(order_ref)
                if watch is None or watch.generation != generation:
                    continue  # unwatched since it was scheduled
                self._queue.put_nowait((watch, due))
            wake: asyncio.Future[None] = loop.create_future()
            self._wake = wake
            timer = None
            self._wake_at = math.inf
            if heap:
                self._wake_at = heap[0][0]
                timer = loop.call_at(self._wake_at, _resolve, wake)
            try:
                await wake
            finally:
                if timer is not None:
                    timer.cancel()
                self._wake = None

    def _align(self, earliest: float) -> float:
        """The tick boundary at or after ``earliest``: never early, at most one tick late."""
        if self._tick == 0:
            return earliest
        return math.ceil(earliest / self._tick) * self._tick

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            watch, due = await self._queue.get()
            if self._watches.get(watch.order_ref) is not watch:
                continue
            started = loop.time()
            self._lag.append(started - due)
            self.collects += 1
            try:
                status = await self._provider.collect(watch.order_ref)
            except IdentityTransportError as error:
                self.collect_errors += 1
                watch.transport_failures += 1
                if watch.transport_failures > self._max_transport_failures:
                    self._fail(watch, error)
                elif self._watches.get(watch.order_ref) is watch:
                    self._schedule(watch, started + self._interval)
                continue
            except IdentityError as error:
                self.collect_errors += 1
                self._fail(watch, error)
                continue
            except Exception as error:  # a provider bug must not stall its watchers forever
                self.collect_errors += 1
                log.exception("collect raised an unexpected error")
                self._fail(watch, error)
                continue
            if self._watches.get(watch.order_ref) is not watch:
                continue  # unwatched while the collect was in flight
            watch.transport_failures = 0
            watch.latest = status
            self._notify(watch, status)
            if status.state is OrderState.PENDING:
                # Never faster than the interval: the next collect is due an interval after
                # this one started, however late this one was.
                self._schedule(watch, started + self._interval)
            else:
                del self._watches[watch.order_ref]
                if not watch.future.done():
                    watch.future.set_result(status)

    def _notify(self, watch: _Watch, status: OrderStatus) -> None:
        for callback in tuple(watch.callbacks):
            try:
                callback(status)
            except Exception:
                log.exception("status callback raised")

    def _fail(self, watch: _Watch, error: BaseException) -> None:
        if self._watches.get(watch.order_ref) is watch:
            del self._watches[watch.order_ref]
        if not watch.future.done():
            watch.future.set_exception(error)


def _consume(future: asyncio.Future[OrderStatus]) -> None:
    if not future.cancelled():
        future.exception()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
