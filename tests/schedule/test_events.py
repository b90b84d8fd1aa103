"""Which timed events a meeting has, computed from its row alone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from meetsvc.schedule.events import Event, EventKind, Rules, events_of, still_due

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
RULES = Rules(
    reminders_before=(timedelta(hours=24), timedelta(hours=1)),
    opens_before=timedelta(minutes=15),
    close_after=timedelta(hours=1),
    purge_after=timedelta(days=30),
)


@dataclass(frozen=True)
class Row:
    id: str = "m1"
    status: str = "scheduled"
    starts_at: datetime = T0 + timedelta(days=3)
    ends_at: datetime = T0 + timedelta(days=3, hours=1)
    purged_at: datetime | None = None


def kinds(events: list[Event]) -> list[tuple[EventKind, datetime]]:
    return [(event.kind, event.due) for event in events]


def test_a_scheduled_meeting_has_reminders_opening_close_and_purge():
    row = Row()
    assert kinds(events_of(row, RULES, now=T0)) == [
        (EventKind.REMIND, row.starts_at - timedelta(hours=24)),
        (EventKind.REMIND, row.starts_at - timedelta(hours=1)),
        (EventKind.OPEN, row.starts_at - timedelta(minutes=15)),
        (EventKind.CLOSE, row.ends_at + timedelta(hours=1)),
        (EventKind.PURGE, row.ends_at + timedelta(days=30)),
    ]


def test_once_it_has_started_only_close_and_purge_remain():
    row = Row(status="in_progress")
    assert [e.kind for e in events_of(row, RULES, now=row.starts_at)] == [EventKind.CLOSE, EventKind.PURGE]
    # A meeting whose start has passed without anyone starting it: no reminders any more.
    assert [e.kind for e in events_of(Row(), RULES, now=Row().starts_at)] == [EventKind.CLOSE, EventKind.PURGE]


def test_a_cancelled_or_ended_meeting_only_waits_for_its_purge_and_a_purged_one_for_nothing():
    for status in ("cancelled", "ended", "not_held"):
        assert [e.kind for e in events_of(Row(status=status), RULES, now=T0)] == [EventKind.PURGE]
    assert events_of(Row(status="ended", purged_at=T0), RULES, now=T0) == []


def test_a_planned_job_for_an_old_time_is_no_longer_due_after_a_move():
    row = Row()
    (day_before, *_) = events_of(row, RULES, now=T0)
    assert still_due(day_before, row, RULES, now=T0)
    moved = replace(row, starts_at=row.starts_at + timedelta(days=1), ends_at=row.ends_at + timedelta(days=1))
    assert not still_due(day_before, moved, RULES, now=T0)
    assert not still_due(day_before, replace(row, status="cancelled"), RULES, now=T0)
    assert not still_due(day_before, None, RULES, now=T0)


def test_job_ids_name_the_kind_meeting_lead_and_time_and_nothing_personal():
    event = events_of(Row(), RULES, now=T0)[1]
    assert event.job_id == "remind:m1:60:20270304T080000"
