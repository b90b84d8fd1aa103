"""Running the schedule: APScheduler holds the jobs due soon; the database holds the truth.

The process that leads (:mod:`meetsvc.schedule.leader`) builds its jobs from the database:

* **rebuild**, on taking the lead (at start, or when another process stopped): every event due
  within ``horizon_minutes`` becomes a date job; those already past due run at once, which is
  how work missed while no process ran is caught up;
* **advance**, every third of the horizon: the events that came within it since;
* **sync**, every ``sync_seconds``: meetings booked, moved or cancelled since the last look
  (by any process: ``meetings.updated_at``). In the leading process booking also says so at
  once through :meth:`Schedule.changed`.

A job that fails (the database was away) is tried again after a back-off rather than lost.
Jobs beyond the horizon are not held at all, so the memory held and the time to rebuild grow
with the meetings of the next hours, not with everything booked.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from prometheus_client.core import GaugeMetricFamily

from meetsvc.core.clock import Clock
from meetsvc.core.logs import outside_request
from meetsvc.schedule.config import ScheduleSettings
from meetsvc.schedule.events import Event, EventKind, Rules, events_of
from meetsvc.schedule.leader import Leadership
from meetsvc.schedule.work import ScheduledWork
from meetsvc.storage.availability import unavailable_dependency
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import schedule as queries
from meetsvc.storage.queries.schedule import TimedMeeting

log = logging.getLogger("meetsvc.schedule")

_Job = TypeVar("_Job", bound=Callable[..., Awaitable[None]])


def _ends_quietly_when_cancelled(job: _Job) -> _Job:
    """A job cut short by the process stopping ends without an error.

    APScheduler logs a job whose task is cancelled as one that "raised an exception", at ERROR,
    on every stop. Nothing is lost by the cut: a job's work is one transaction (rolled back),
    and the next process to lead runs whatever is still due.
    """

    @functools.wraps(job)
    async def run(*args: Any, **kwargs: Any) -> None:
        try:
            await job(*args, **kwargs)
        except asyncio.CancelledError:
            log.debug("%s was cut short by the stop", job.__name__)

    return run  # type: ignore[return-value]  # same signature: functools.wraps keeps it


def _survives_outages(job: _Job) -> _Job:
    """A periodic job that finds the database away says so once, as a WARNING without a
    traceback, and once more when it works again; it runs again at its next interval anyway.

    Left to APScheduler, every failed run would be an ERROR with a full traceback, every few
    seconds for as long as the outage lasts. Anything else a job raises is a bug and still goes
    to APScheduler, traceback and all.
    """

    @functools.wraps(job)
    async def run(self: Schedule, *args: Any, **kwargs: Any) -> None:
        try:
            await job(self, *args, **kwargs)
        except Exception as exc:
            dependency = unavailable_dependency(exc)
            if dependency is None:
                raise
            if job.__name__ not in self._failing:
                self._failing.add(job.__name__)
                log.warning(
                    "schedule %s: %s unavailable (%s); trying again", job.__name__, dependency, type(exc).__name__
                )
            return
        if job.__name__ in self._failing:
            self._failing.discard(job.__name__)
            log.info("schedule %s works again", job.__name__)

    return run  # type: ignore[return-value]  # same signature: functools.wraps keeps it


#: How far back a sync looks before its last look: a booking whose transaction began before
#: that look but committed after it is still seen.
SYNC_OVERLAP = timedelta(seconds=60)
#: How often unused browser sessions are deleted (and once on taking the lead).
SESSION_PURGE_EVERY = timedelta(minutes=10)
RETRY_FIRST = 5.0
RETRY_MAX = 300.0


@dataclass(frozen=True, slots=True)
class RebuildReport:
    meetings: int
    jobs: int
    reminders: int
    seconds: float


class Schedule:
    def __init__(
        self,
        engine: Engine,
        work: ScheduledWork,
        rules: Rules,
        settings: ScheduleSettings,
        leadership: Leadership,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._work = work
        self._rules = rules
        self._settings = settings
        self._leadership = leadership
        self._clock = clock
        self._horizon = timedelta(minutes=settings.horizon_minutes)
        self._scheduler: AsyncIOScheduler | None = None
        self._task: asyncio.Task[None] | None = None
        self._loaded_until: datetime | None = None
        self._synced_at: datetime | None = None
        self._fired: dict[str, datetime] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failing: set[str] = set()  # jobs whose last run found the database away
        self.last_rebuild: RebuildReport | None = None
        self.leading = asyncio.Event()

    # Life cycle ----------------------------------------------------------------------------

    def start(self) -> None:
        # Outside any request: APScheduler's callbacks and jobs inherit this task's context.
        self._task = outside_request(asyncio.create_task, self._lead_forever(), name="schedule-leadership")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._stand_down()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._leadership.release()

    async def _lead_forever(self) -> None:
        while True:
            if await self._leadership.try_acquire():
                log.info("this process runs the schedule")
                try:
                    await self._take_over()
                    # Holding the lock is re-checked on a period: nothing notifies its loss.
                    while await self._leadership.still_held():  # noqa: ASYNC110
                        await asyncio.sleep(self._settings.leader_retry_seconds)
                    log.warning("the schedule lock was lost; standing by")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.warning("the schedule stopped: %s; standing by", type(exc).__name__)
                finally:
                    self._stand_down()
                    await self._leadership.release()
            await asyncio.sleep(self._settings.leader_retry_seconds)

    async def _take_over(self) -> None:
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        scheduler.start()
        self._scheduler = scheduler
        self.last_rebuild = await self.rebuild()
        # An empty schedule (a new database) is nothing to report.
        log.log(
            logging.INFO if self.last_rebuild.meetings else logging.DEBUG,
            "schedule rebuilt: %d meetings, %d jobs (%d reminders) in %.3f s",
            self.last_rebuild.meetings,
            self.last_rebuild.jobs,
            self.last_rebuild.reminders,
            self.last_rebuild.seconds,
        )
        advance_every = max(60.0, self._horizon.total_seconds() / 3)
        scheduler.add_job(self._advance, IntervalTrigger(seconds=advance_every), id="advance", misfire_grace_time=None)
        scheduler.add_job(
            self._sync, IntervalTrigger(seconds=self._settings.sync_seconds), id="sync", misfire_grace_time=None
        )
        scheduler.add_job(
            self.purge_sessions,
            IntervalTrigger(seconds=SESSION_PURGE_EVERY.total_seconds()),
            id="sessions",
            misfire_grace_time=None,
            next_run_time=datetime.now(UTC),
        )
        self.leading.set()

    def _stand_down(self) -> None:
        self.leading.clear()
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)
        self._loaded_until = None
        self._fired.clear()

    # Building the jobs ---------------------------------------------------------------------

    async def rebuild(self) -> RebuildReport:
        """Every event due within the horizon, from the database; past-due ones run at once."""
        started = time.perf_counter()
        now = self._clock()
        until = now + self._horizon
        if self._scheduler is not None:
            for job in self._scheduler.get_jobs():
                if job.args:  # an event's job; the advance and sync jobs stay
                    job.remove()
        async with self._engine.connect() as connection:
            rows = await queries.meetings_starting_by(connection, until + self._rules.longest_lead)
        self._synced_at = now
        jobs = reminders = 0
        for row in rows:
            for event in events_of(row, self._rules, now=now):
                if event.due <= until and self._plan(event):
                    jobs += 1
                    reminders += event.kind is EventKind.REMIND
        self._loaded_until = until
        return RebuildReport(meetings=len(rows), jobs=jobs, reminders=reminders, seconds=time.perf_counter() - started)

    @_ends_quietly_when_cancelled
    @_survives_outages
    async def _advance(self) -> None:
        """Take in the events that came within the horizon since the last look."""
        if self._loaded_until is None:
            return
        now = self._clock()
        since, until = self._loaded_until, now + self._horizon
        async with self._engine.connect() as connection:
            rows = await queries.meetings_starting_by(connection, until + self._rules.longest_lead)
        for row in rows:
            for event in events_of(row, self._rules, now=now):
                if since < event.due <= until:
                    self._plan(event)
        self._loaded_until = until
        cutoff = now - 2 * SYNC_OVERLAP
        self._fired = {job_id: at for job_id, at in self._fired.items() if at >= cutoff}

    @_ends_quietly_when_cancelled
    async def purge_sessions(self) -> None:
        """Delete the browser sessions nobody has used for a while."""
        try:
            await self._work.purge_sessions()
        except Exception as exc:  # the database may be away; the next run catches up
            log.warning("purging unused browser sessions failed: %s", type(exc).__name__)

    @_ends_quietly_when_cancelled
    @_survives_outages
    async def _sync(self) -> None:
        """Meetings changed since the last look, by this process or another."""
        if self._synced_at is None:
            return
        now = self._clock()
        async with self._engine.connect() as connection:
            rows = await queries.meetings_changed_since(connection, self._synced_at - SYNC_OVERLAP)
        self._synced_at = now
        self._plan_rows(rows, now)

    async def _sync_meetings(self, meeting_ids: Iterable[str]) -> None:
        try:
            async with self._engine.connect() as connection:
                rows = await queries.meetings_by_id(connection, meeting_ids)
        except Exception as exc:
            dependency = unavailable_dependency(exc)
            if dependency is None:
                raise
            # The periodic sync plans the meeting once the database answers again.
            log.warning("schedule: %s unavailable (%s); the next sync plans the change", dependency, type(exc).__name__)
            return
        self._plan_rows(rows, self._clock())

    def _plan_rows(self, rows: Iterable[TimedMeeting], now: datetime) -> None:
        if self._loaded_until is None:
            return
        for row in rows:
            for event in events_of(row, self._rules, now=now):
                if event.due <= self._loaded_until and event.job_id not in self._fired:
                    self._plan(event)

    def changed(self, meeting_id: str) -> None:
        """A meeting was booked, moved or cancelled in this process: plan it now, not at the
        next sync. Does nothing where this process does not lead."""
        if self._scheduler is None or not self.leading.is_set():
            return
        # Called by a request; the jobs this plans must not carry that request's id for ever
        # after (APScheduler's wake-ups inherit the context they were scheduled from).
        task = outside_request(asyncio.create_task, self._sync_meetings([meeting_id]))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _plan(self, event: Event, *, at: datetime | None = None, attempt: int = 0) -> bool:
        """Add the event's job unless it is planned already; whether it was added."""
        scheduler = self._scheduler
        if scheduler is None:
            return False
        if at is None and scheduler.get_job(event.job_id) is not None:
            return False
        # APScheduler waits by the wall clock; the service's clock says what is due. They agree
        # in a running service; the difference is kept so a test's clock still orders the jobs.
        when = at or datetime.now(UTC) + (event.due - self._clock())
        scheduler.add_job(
            self._fire,
            DateTrigger(run_date=when),
            args=(event, attempt),
            id=event.job_id,
            replace_existing=True,
            misfire_grace_time=None,
        )
        return True

    # Running them --------------------------------------------------------------------------

    @_ends_quietly_when_cancelled
    async def _fire(self, event: Event, attempt: int) -> None:
        self._fired[event.job_id] = self._clock()
        try:
            await self._work.run(event)
        except Exception as exc:
            delay = min(RETRY_MAX, RETRY_FIRST * 2**attempt)
            log.warning("scheduled %s failed (%s); trying again in %.0f s", event.kind.value, type(exc).__name__, delay)
            self._fired.pop(event.job_id, None)
            self._plan(event, at=datetime.now(UTC) + timedelta(seconds=delay), attempt=attempt + 1)

    # Looking in ----------------------------------------------------------------------------

    def planned(self) -> list[Event]:
        """The events whose jobs are held now (for tests, the benchmark and operators)."""
        if self._scheduler is None:
            return []
        return [job.args[0] for job in self._scheduler.get_jobs() if job.args]


class ScheduleCollector:
    """The schedule's state for ``/metrics``, read at scrape time: whether this process leads,
    the jobs it holds by kind, and its last rebuild."""

    def __init__(self, schedule: Schedule) -> None:
        self._schedule = schedule

    def collect(self) -> Iterable[Any]:
        schedule = self._schedule
        yield GaugeMetricFamily(
            "meetsvc_schedule_leading",
            "1 where this process runs the schedule.",
            value=float(schedule.leading.is_set()),
        )
        jobs = GaugeMetricFamily("meetsvc_schedule_jobs", "Timed jobs held in memory, by kind.", labels=["kind"])
        counts = dict.fromkeys(EventKind, 0)
        for event in schedule.planned():
            counts[event.kind] += 1
        for kind, count in counts.items():
            jobs.add_metric([kind.value], float(count))
        yield jobs
        report = schedule.last_rebuild
        if report is not None:
            yield GaugeMetricFamily(
                "meetsvc_schedule_rebuild_seconds",
                "Time the last rebuild from the database took.",
                value=report.seconds,
            )
            yield GaugeMetricFamily(
                "meetsvc_schedule_rebuild_meetings", "Meetings the last rebuild read.", value=float(report.meetings)
            )
