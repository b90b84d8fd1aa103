"""What falls due for a meeting, and when: pure functions of the meeting's row and the rules.

The database is the only record of the schedule. Every timed job is an :class:`Event` computed
from a meeting (its status, start, end, whether its personal data is gone), so the schedule
can be rebuilt from the database at any time, and a job that fires re-computes its meeting's
events and acts only if it is still among them: a meeting moved or cancelled after a job was
planned makes that job a no-op, without any bookkeeping of stale jobs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from meetsvc.domain.model import MeetingStatus


class EventKind(str, enum.Enum):
    #: Record the reminders due now for the participants invited by then.
    REMIND = "remind"
    #: The waiting room opens: tell those who arrived early.
    OPEN = "open"
    #: After the end: a meeting never started is marked not held, one still running ended.
    CLOSE = "close"
    #: The retention rule: erase the meeting's personal data.
    PURGE = "purge"


class MeetingTimes(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def purged_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Rules:
    reminders_before: tuple[timedelta, ...]
    opens_before: timedelta
    close_after: timedelta
    purge_after: timedelta

    @property
    def longest_lead(self) -> timedelta:
        """How long before its start a meeting's first event can fall due."""
        return max((*self.reminders_before, self.opens_before, timedelta(0)))


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    meeting_id: str
    due: datetime
    #: For a reminder: how long before the start it goes out.
    before: timedelta | None = None

    @property
    def job_id(self) -> str:
        minutes = "" if self.before is None else str(int(self.before.total_seconds() // 60))
        stamp = self.due.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        return f"{self.kind.value}:{self.meeting_id}:{minutes}:{stamp}"


def events_of(meeting: MeetingTimes, rules: Rules, *, now: datetime) -> list[Event]:
    """The meeting's events that can still matter at ``now`` (some may be past due: those run
    at once). Reminders and the opening matter only before the start."""
    status = MeetingStatus(meeting.status)
    found: list[Event] = []
    if status is MeetingStatus.SCHEDULED and now < meeting.starts_at:
        found += [
            Event(EventKind.REMIND, meeting.id, meeting.starts_at - before, before) for before in rules.reminders_before
        ]
        found.append(Event(EventKind.OPEN, meeting.id, meeting.starts_at - rules.opens_before))
    if status.is_open:
        found.append(Event(EventKind.CLOSE, meeting.id, meeting.ends_at + rules.close_after))
    if meeting.purged_at is None:
        found.append(Event(EventKind.PURGE, meeting.id, meeting.ends_at + rules.purge_after))
    return found


def still_due(event: Event, meeting: MeetingTimes | None, rules: Rules, *, now: datetime) -> bool:
    """Whether a planned job should still act: its event is among the meeting's events now."""
    return meeting is not None and event in events_of(meeting, rules, now=now)
