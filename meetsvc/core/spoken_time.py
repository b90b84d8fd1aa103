"""A meeting's time as people say it, in Swedish or English: one wording for the pages and the
messages alike, so the hour that happens twice in October reads the same wherever it is shown."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

SWEDEN = "Europe/Stockholm"

_WEEKDAYS = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "sv": (
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


@dataclass(frozen=True, slots=True)
class SpokenTime:
    date: str
    start: str
    end: str
    when: str


def spoken_time(starts_at: datetime, ends_at: datetime, language: str, zone: str = SWEDEN) -> SpokenTime:
    """The meeting's time as people say it, in the meeting's zone (Swedish time unless told):
    "tisdag 14 juli 2026 kl. 10.00–11.00" or "Tuesday 14 July 2026, 10:00–11:00" (Swedish writes
    the hour with a full stop)."""
    language = language if language in _WEEKDAYS else "sv"
    local = ZoneInfo(zone)
    start, end = starts_at.astimezone(local), ends_at.astimezone(local)
    date = f"{_WEEKDAYS[language][start.weekday()]} {start.day} {_MONTHS[language][start.month - 1]} {start.year}"
    start_text, end_text = _clock_time(start, language), _clock_time(end, language)
    when = f"{date} kl. {start_text}–{end_text}" if language == "sv" else f"{date}, {start_text}–{end_text}"
    return SpokenTime(date=date, start=start_text, end=end_text, when=when)


_SEASON = {"sv": ("vintertid", "sommartid"), "en": ("winter time", "summer time")}


def _clock_time(local: datetime, language: str) -> str:
    """ "13.30" (Swedish) or "13:30". In the hour that happens twice, when summer time ends
    (02:00–02:59 on the last Sunday of October), the time alone names two moments: it then says
    which, "02.30 sommartid" and "02.15 vintertid", so a meeting never reads "02.30–02.15"."""
    separator = "." if language == "sv" else ":"
    text = f"{local.hour:02d}{separator}{local.minute:02d}"
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        text += " " + _SEASON[language][1 if local.dst() else 0]
    return text
