"""Calendar files (RFC 5545, sent as iMIP per RFC 6047) for invitations, updates and cancellations.

One meeting is one calendar event everywhere: its UID is made from the meeting's id and the
service's host and never changes; SEQUENCE is the meeting's ``sequence`` column, raised by every
change people must hear about, so a calendar replaces the old entry instead of adding a second.

Times are written as wall-clock times in Europe/Stockholm with a VTIMEZONE built from yearly
RRULE rules, as Outlook and Google send them. icalendar's own generated VTIMEZONE lists every
transition as comma-separated RDATEs, which some parsers misread (vobject moves summer meetings
by an hour); the rule form is read alike everywhere.

Nothing in the file names the meeting's subject or any person: SUMMARY is "SIP-möte" or "SIP
meeting", ORGANIZER is the inviting organisation's name with the no-reply address, and the only
ATTENDEE is the recipient's own address, without a name (iTIP requires one for a REQUEST).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vRecur

from meetsvc.domain.messages import MessageKind

TZID = "Europe/Stockholm"
# Loaded at import, never on the event loop: the first lookup reads the tzdata file.
STOCKHOLM = ZoneInfo(TZID)
PRODID = "-//meetsvc//SIP meetings//SV"

Method = Literal["REQUEST", "CANCEL"]


def calendar_method(kind: MessageKind) -> Method:
    return "CANCEL" if kind.cancels_calendar_entry else "REQUEST"


def meeting_uid(meeting_id: str, public_url: str) -> str:
    """The event's UID: stable for the meeting's life, unique to this installation."""
    return f"{meeting_id}@{urlsplit(public_url).hostname or 'localhost'}"


@dataclass(frozen=True, slots=True)
class CalendarEvent:
    uid: str
    sequence: int
    method: Method
    starts_at: datetime
    ends_at: datetime
    summary: str
    description: str
    organizer_name: str
    organizer_address: str
    stamp: datetime
    url: str | None = None
    attendee_address: str | None = None


def stockholm_timezone() -> Timezone:
    """Europe/Stockholm as EU summer time rules: last Sunday of March 02:00 → CEST, last Sunday
    of October 03:00 → CET (in force since 1996; tests compare them with the tz database)."""
    zone = Timezone()
    zone.add("tzid", TZID)
    daylight = TimezoneDaylight()
    # A VTIMEZONE's DTSTART is local time in the zone it defines (RFC 5545 3.6.5), so naive on purpose.
    daylight.add("dtstart", datetime(1970, 3, 29, 2, 0, 0))  # noqa: DTZ001
    daylight.add("tzoffsetfrom", timedelta(hours=1))
    daylight.add("tzoffsetto", timedelta(hours=2))
    daylight.add("tzname", "CEST")
    daylight.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))
    standard = TimezoneStandard()
    standard.add("dtstart", datetime(1970, 10, 25, 3, 0, 0))  # noqa: DTZ001  # local time, as above
    standard.add("tzoffsetfrom", timedelta(hours=2))
    standard.add("tzoffsetto", timedelta(hours=1))
    standard.add("tzname", "CET")
    standard.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))
    zone.add_component(daylight)
    zone.add_component(standard)
    return zone


def _calendar_time(moment: datetime) -> datetime:
    """Stockholm wall-clock time, except in the hour that happens twice when summer time ends
    (02:00–02:59 on the last Sunday of October): there a wall-clock time names two instants and
    parsers take the first, so the instant is written in UTC instead."""
    local = moment.astimezone(STOCKHOLM)
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return moment.astimezone(UTC)
    return local


def calendar_file(event: CalendarEvent) -> str:
    """The event as the text of an .ics file (CRLF line ends, folded as RFC 5545 wants)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", event.method)
    calendar.add_component(stockholm_timezone())

    vevent = Event()
    vevent.add("uid", event.uid)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstamp", event.stamp.astimezone(UTC))
    vevent.add("dtstart", _calendar_time(event.starts_at))
    vevent.add("dtend", _calendar_time(event.ends_at))
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    if event.url:
        vevent.add("url", event.url)
    organizer = vCalAddress(f"mailto:{event.organizer_address}")
    organizer.params["cn"] = event.organizer_name
    vevent.add("organizer", organizer)
    if event.attendee_address:
        attendee = vCalAddress(f"mailto:{event.attendee_address}")
        attendee.params["role"] = "REQ-PARTICIPANT"
        attendee.params["partstat"] = "NEEDS-ACTION"
        # Replies would go to a no-reply address: ask for none.
        attendee.params["rsvp"] = "FALSE"
        vevent.add("attendee", attendee)
    vevent.add("status", "CANCELLED" if event.method == "CANCEL" else "CONFIRMED")
    vevent.add("transp", "OPAQUE")
    calendar.add_component(vevent)
    return calendar.to_ical().decode("utf-8")


def _warm_up() -> None:
    """icalendar loads its UTC zone from the tz database lazily, from disk, on first use. Write
    one file at import, which happens at start and off the event loop, so no send ever pays
    that file I/O on the loop."""
    moment = datetime(2000, 1, 1, tzinfo=UTC)
    calendar_file(
        CalendarEvent(
            uid="warm-up@localhost",
            sequence=0,
            method="REQUEST",
            starts_at=moment,
            ends_at=moment,
            summary="",
            description="",
            organizer_name="",
            organizer_address="no-reply@localhost",
            stamp=moment,
        )
    )


_warm_up()
