"""Calendar files read alike by two parsers: same UID, SEQUENCE, METHOD, wall-clock time and
UTC instant, summer and winter; and a VTIMEZONE whose rules agree with the tz database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from meetsvc.notify.calendar import CalendarEvent, calendar_file, meeting_uid, stockholm_timezone
from tests.notify.calendars import both, utc, with_vobject

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def event(starts_at: datetime, *, method: str = "REQUEST", sequence: int = 0) -> CalendarEvent:
    return CalendarEvent(
        uid=meeting_uid("6f1c0d7e-2a44-4d0b-9a51-0b8f3e3c9f10", "https://sip-mote.example.se/base"),
        sequence=sequence,
        method=method,  # type: ignore[arg-type]
        starts_at=starts_at,
        ends_at=starts_at.astimezone(UTC) + timedelta(minutes=90),
        summary="SIP-möte",
        description="Din personliga länk:\nhttps://sip-mote.example.se/i/abc, giltig; till mötet",
        organizer_name="Exempelstads kommun",
        organizer_address="no-reply@sip-mote.example.se",
        stamp=datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC),
        url="https://sip-mote.example.se/i/abc",
        attendee_address="kim@example.se",
    )


@pytest.mark.parametrize(
    "local, utc_start",
    [
        (datetime(2027, 7, 13, 10, 0), datetime(2027, 7, 13, 8, 0, tzinfo=UTC)),
        (datetime(2027, 12, 14, 10, 0), datetime(2027, 12, 14, 9, 0, tzinfo=UTC)),
        # The days of the changes themselves, on either side of the jump.
        (datetime(2027, 3, 28, 1, 30), datetime(2027, 3, 28, 0, 30, tzinfo=UTC)),
        (datetime(2027, 3, 28, 3, 30), datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
        (datetime(2027, 10, 31, 1, 30), datetime(2027, 10, 30, 23, 30, tzinfo=UTC)),
        (datetime(2027, 10, 31, 4, 0), datetime(2027, 10, 31, 3, 0, tzinfo=UTC)),
    ],
)
def test_summer_and_winter_read_as_the_same_wall_clock_time_and_the_right_instant(local, utc_start):
    text = calendar_file(event(local.replace(tzinfo=STOCKHOLM)))
    for read in both(text):
        assert read.tzid == "Europe/Stockholm"
        assert read.start.replace(tzinfo=None) == local
        assert utc(read) == (utc_start, utc_start + timedelta(minutes=90))


@pytest.mark.parametrize(
    "moment",
    [datetime(2027, 10, 31, 0, 30, tzinfo=UTC), datetime(2027, 10, 31, 1, 30, tzinfo=UTC)],
    ids=["02.30 summer time", "02.30 winter time"],
)
def test_the_hour_that_happens_twice_is_written_as_the_instant(moment):
    """On the night summer time ends, 02:30 happens twice; both meetings read as what they are."""
    text = calendar_file(event(moment))
    assert f"DTSTART:{moment:%Y%m%dT%H%M%S}Z" in text
    for read in both(text):
        assert utc(read) == (moment, moment + timedelta(minutes=90))


def test_vobject_reads_the_files_own_vtimezone():
    """vobject builds its zone from the file, so the test above checks the rules we wrote."""
    read = with_vobject(calendar_file(event(datetime(2027, 7, 13, 10, 0, tzinfo=STOCKHOLM))))
    assert type(read.start.tzinfo).__module__.startswith("dateutil.tz")


def test_the_checks_would_catch_a_vtimezone_written_as_rdate_lists():
    """The form icalendar generates by itself lists transitions as RDATEs; vobject misreads it and
    moves a summer meeting by an hour. If that ever stops, the reason for our rules is gone."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//test//")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    generated = icalendar.Event()
    generated.add("uid", "control@test")
    generated.add("dtstamp", datetime(2027, 1, 1, tzinfo=UTC))
    generated.add("dtstart", datetime(2027, 7, 13, 10, 0, tzinfo=STOCKHOLM))
    generated.add("dtend", datetime(2027, 7, 13, 11, 0, tzinfo=STOCKHOLM))
    calendar.add_component(generated)
    calendar.add_missing_timezones()
    text = calendar.to_ical().decode()
    assert "RDATE" in text
    start = with_vobject(text).start
    if start.astimezone(UTC) == datetime(2027, 7, 13, 8, 0, tzinfo=UTC):
        pytest.skip("this vobject reads RDATE lists correctly")
    assert start.astimezone(UTC) == datetime(2027, 7, 13, 9, 0, tzinfo=UTC)


def test_the_vtimezone_is_written_as_yearly_rules_not_rdate_lists():
    text = stockholm_timezone().to_ical().decode()
    assert "RDATE" not in text
    rules = [line for line in text.splitlines() if line.startswith("RRULE:")]
    assert sorted(rules) == sorted(
        ["RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3", "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10"]
    )


@pytest.mark.parametrize("year", range(2024, 2046))
def test_the_rules_agree_with_the_tz_database(year):
    """The rules say when summer time starts and ends; the tz database is the authority. Should
    Sweden ever change its rules, this fails before a calendar file is wrong."""
    zone = (
        icalendar.Calendar.from_ical(
            "BEGIN:VCALENDAR\r\n" + stockholm_timezone().to_ical().decode() + "END:VCALENDAR\r\n"
        )
        .walk("VTIMEZONE")[0]
        .to_tz()
    )
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        assert moment.astimezone(zone).utcoffset() == moment.astimezone(STOCKHOLM).utcoffset(), moment
        moment += timedelta(hours=1)


def test_invitation_update_and_cancellation_share_the_uid_and_raise_the_sequence():
    first = calendar_file(event(datetime(2027, 7, 13, 10, 0, tzinfo=STOCKHOLM), sequence=0))
    moved = calendar_file(event(datetime(2027, 12, 14, 13, 30, tzinfo=STOCKHOLM), sequence=1))
    cancelled = calendar_file(event(datetime(2027, 12, 14, 13, 30, tzinfo=STOCKHOLM), method="CANCEL", sequence=2))
    for reads, method, sequence, status in (
        (both(first), "REQUEST", 0, "CONFIRMED"),
        (both(moved), "REQUEST", 1, "CONFIRMED"),
        (both(cancelled), "CANCEL", 2, "CANCELLED"),
    ):
        for read in reads:
            assert read.uid == "6f1c0d7e-2a44-4d0b-9a51-0b8f3e3c9f10@sip-mote.example.se"
            assert (read.method, read.sequence, read.status) == (method, sequence, status)


def test_the_event_names_no_one_and_carries_the_link():
    for read in both(calendar_file(event(datetime(2027, 7, 13, 10, 0, tzinfo=STOCKHOLM)))):
        assert read.summary == "SIP-möte"
        assert read.url == "https://sip-mote.example.se/i/abc"
        assert "https://sip-mote.example.se/i/abc, giltig; till mötet" in read.description
        assert read.organizer == "mailto:no-reply@sip-mote.example.se"
        assert read.organizer_name == "Exempelstads kommun"
        # The recipient's own address, and no name with it.
        assert read.attendees == ("mailto:kim@example.se",)
    assert (
        "CN="
        not in calendar_file(event(datetime(2027, 7, 13, 10, 0, tzinfo=STOCKHOLM)))
        .split("ATTENDEE", 1)[1]
        .split(":", 1)[0]
    )
