"""Reading a calendar file with two independent parsers, as two different calendar apps would.

icalendar resolves a known TZID through the tz database, so its reading of DTSTART checks the
wall-clock time; the VTIMEZONE the file carries is checked by turning that component itself into
a time zone (``to_tz``). vobject builds its time zone from the file's VTIMEZONE only: it is the
parser that shifts summer meetings by an hour when a VTIMEZONE is written as RDATE lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import icalendar
import vobject


@dataclass(frozen=True)
class ReadEvent:
    method: str
    uid: str
    sequence: int
    start: datetime
    end: datetime
    tzid: str | None
    status: str
    summary: str
    url: str | None
    description: str
    organizer: str
    organizer_name: str
    attendees: tuple[str, ...]


def with_icalendar(text: str, *, use_file_timezone: bool = False) -> ReadEvent:
    calendar = icalendar.Calendar.from_ical(text)
    (event,) = calendar.walk("VEVENT")
    start, end = event.decoded("DTSTART"), event.decoded("DTEND")
    if use_file_timezone:
        (zone,) = calendar.walk("VTIMEZONE")
        tz = zone.to_tz()
        # Only wall-clock values (with a TZID) take the file's zone; UTC values stay as they are.
        if "TZID" in event["DTSTART"].params:
            start = start.replace(tzinfo=None).replace(tzinfo=tz)
        if "TZID" in event["DTEND"].params:
            end = end.replace(tzinfo=None).replace(tzinfo=tz)
    attendees = event.get("ATTENDEE", [])
    if not isinstance(attendees, list):
        attendees = [attendees]
    return ReadEvent(
        method=str(calendar["METHOD"]),
        uid=str(event["UID"]),
        sequence=int(event.get("SEQUENCE", -1)),
        start=start,
        end=end,
        tzid=event["DTSTART"].params.get("TZID"),
        status=str(event.get("STATUS", "")),
        summary=str(event.get("SUMMARY", "")),
        url=str(event["URL"]) if "URL" in event else None,
        description=str(event.get("DESCRIPTION", "")),
        organizer=str(event.get("ORGANIZER", "")),
        organizer_name=str(event["ORGANIZER"].params["CN"]) if "ORGANIZER" in event else "",
        attendees=tuple(str(a) for a in attendees),
    )


def _forget_vobject_time_zones() -> None:
    """vobject keeps the first VTIMEZONE it ever saw for a TZID, for the whole process, and reads
    every later file with it. A calendar app reads one file with that file's own VTIMEZONE; so
    does this test, by emptying the registry (keeping UTC) before each read."""
    registry = vars(vobject.icalendar)["__tzidMap"]
    utc_zone = registry.get("UTC")
    registry.clear()
    if utc_zone is not None:
        registry["UTC"] = utc_zone


def with_vobject(text: str) -> ReadEvent:
    _forget_vobject_time_zones()
    calendar = vobject.readOne(text)
    event = calendar.vevent
    contents = event.contents
    return ReadEvent(
        method=calendar.method.value,
        uid=event.uid.value,
        sequence=int(event.sequence.value) if "sequence" in contents else -1,
        start=event.dtstart.value,
        end=event.dtend.value,
        # vobject swaps TZID for the time zone it built from the file's VTIMEZONE.
        tzid=event.dtstart.params.get("X-VOBJ-ORIGINAL-TZID", [None])[0],
        status=event.status.value if "status" in contents else "",
        summary=event.summary.value if "summary" in contents else "",
        url=event.url.value if "url" in contents else None,
        description=event.description.value if "description" in contents else "",
        organizer=event.organizer.value if "organizer" in contents else "",
        organizer_name=event.organizer.params["CN"][0] if "organizer" in contents else "",
        attendees=tuple(a.value for a in contents.get("attendee", [])),
    )


def both(text: str) -> list[ReadEvent]:
    return [with_icalendar(text), with_icalendar(text, use_file_timezone=True), with_vobject(text)]


def utc(event: ReadEvent) -> tuple[datetime, datetime]:
    return event.start.astimezone(UTC), event.end.astimezone(UTC)
