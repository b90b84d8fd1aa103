"""Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer).

People type their number in many spellings — ``811218-9876``, ``8112189876``,
``19811218-9876``, ``198112189876`` — and BankID returns yet another. Matching a participant
to an invitation, hashing a number for lookup or comparing it with what BankID vouched for
only works if every spelling becomes the same string first, so this module reduces each
valid spelling to one *normal form*: twelve digits, no separator (``YYYYMMDDNNNC``), the form
BankID uses.

The rules, after Skatteverket (SKV 704 *Personnummer*, SKV 707 *Samordningsnummer*):

* Ten digits are ``YYMMDD``, a separator, a three-digit serial ``NNN`` and a check digit
  ``C``. The separator is ``-`` until the calendar year the person turns 100, then ``+``;
  it is what tells the century when only two year digits are written.
* The check digit is the Luhn (mod 10) digit of the nine digits before it, computed on the
  ten-digit form: the century never takes part.
* The first six digits are a real birth date. A coordination number adds 60 to the day
  (3 October 1970 becomes ``701063``), so days 61–91 mark a coordination number and the
  real day is the written day minus 60. Skatteverket's descriptions of coordination
  numbers (SKV 707, its legal guidance) define only that rule and say nothing of a number
  for someone whose day of birth is unknown, so the real day must make a real date too:
  a written day of 60 (real day 00) is rejected like any impossible date.
* A twelve-digit number states its century, so it needs no separator (``-`` is
  tolerated, ``+`` is not); one whose birth date lies in the future, or before 1800 (the
  earliest century Skatteverket stores), is not a real number.
* A ten-digit number with ``-`` or no separator belongs to the latest century in which
  its date is not in the future; with ``+`` to the latest year at least 100 calendar years
  ago, since the separator changes at the start of the year of the 100th birthday.

The numbers are personal data. Nothing here puts the digits into an exception message or
a ``repr``: both may end up in a log line or an API response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from identity.base import IdentityError

__all__ = ["InvalidPersonalNumber", "PersonalNumber", "Reason", "is_valid", "normalise"]

Reason = Literal["format", "checksum", "date", "future"]

# ASCII digits only: ``\d`` would also accept Arabic-Indic and other Unicode digits.
_SPELLING = re.compile(r"(?P<century>[0-9]{2})?(?P<date>[0-9]{6})(?P<separator>[-+]?)(?P<serial>[0-9]{4})")
_LONGEST_SPELLING = 13  # YYYYMMDD-NNNC; anything longer is rejected before matching.
_COORDINATION_DAY_OFFSET = 60
# Skatteverket stores numbers with the century 18, 19 or 20; nobody alive was born earlier.
_EARLIEST_YEAR = 1800


class InvalidPersonalNumber(IdentityError, ValueError):
    """The text is not a valid personal identity or coordination number.

    ``reason`` names the rule that failed — ``"format"``, ``"checksum"``, ``"date"`` or
    ``"future"`` — so a caller can choose its answer without reading the message. The
    message says which rule failed and never repeats the input.
    """

    reason: Reason

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[type[InvalidPersonalNumber], tuple[Reason, str]]:
        return (type(self), (self.reason, str(self)))


@dataclass(frozen=True, slots=True, repr=False)
class PersonalNumber:
    """A valid personal identity or coordination number. Build it with :meth:`parse`.

    ``normal`` is the twelve-digit normal form. ``birth_date`` is the real date of birth,
    also for a coordination number, whose written day is 60 more. ``repr`` and ``str``
    show only the masked form, so printing the object cannot leak the number.
    """

    normal: str
    is_coordination_number: bool
    birth_date: date

    @classmethod
    def parse(cls, text: str, *, today: date | None = None) -> PersonalNumber:
        """Parse any accepted spelling; raise :class:`InvalidPersonalNumber` otherwise.

        Accepted: ``YYMMDD-NNNC``, ``YYMMDD+NNNC``, ``YYMMDDNNNC``, ``YYYYMMDDNNNC`` and
        ``YYYYMMDD-NNNC``, with surrounding whitespace. ``today`` fixes the date used to
        infer the century of a ten-digit number (and to reject future birth dates); it
        defaults to the current local date.
        """
        if today is None:
            today = date.today()  # noqa: DTZ011  # the century is inferred from the local calendar date
        elif isinstance(today, datetime):  # a datetime does not compare with a date
            today = today.date()
        if not isinstance(text, str) or len(text.strip()) > _LONGEST_SPELLING:
            raise _format_error()
        match = _SPELLING.fullmatch(text.strip())
        if match is None:
            raise _format_error()

        century, yymmdd, separator = match["century"], match["date"], match["separator"]
        ten_digits = yymmdd + match["serial"]
        if century is not None and separator == "+":
            # "+" only says "100 or older" where the century is missing; with the century
            # written it is contradictory, and Skatteverket never writes it that way.
            raise _format_error()
        if _luhn_check_digit(ten_digits[:9]) != int(ten_digits[9]):
            raise InvalidPersonalNumber("checksum", "the check digit does not match the other digits")

        month, written_day = int(yymmdd[2:4]), int(yymmdd[4:6])
        is_coordination_number = written_day > _COORDINATION_DAY_OFFSET
        day = written_day - _COORDINATION_DAY_OFFSET if is_coordination_number else written_day
        two_digit_year = int(yymmdd[0:2])
        if century is not None:
            year = int(century) * 100 + two_digit_year
        elif separator == "+":
            year = _year_of_centenarian(two_digit_year, today)
        else:
            year = _most_recent_year(two_digit_year, month, day, today)

        try:
            birth_date = date(year, month, day)
        except ValueError:
            raise InvalidPersonalNumber("date", "the first digits are not a real date of birth") from None
        if year < _EARLIEST_YEAR:
            raise InvalidPersonalNumber("date", "the year of birth is too early to be real")
        if birth_date > today:
            raise InvalidPersonalNumber("future", "the date of birth is in the future")

        return cls(
            normal=f"{year:04d}{ten_digits[2:]}",
            is_coordination_number=is_coordination_number,
            birth_date=birth_date,
        )

    def masked(self) -> str:
        """The number for display with its last four digits hidden: ``19811218-****``."""
        return f"{self.normal[:8]}-****"

    def __repr__(self) -> str:
        return f"PersonalNumber({self.masked()!r})"

    def __str__(self) -> str:
        return self.masked()


def normalise(text: str, *, today: date | None = None) -> str:
    """The twelve-digit normal form of ``text``; raises :class:`InvalidPersonalNumber`."""
    return PersonalNumber.parse(text, today=today).normal


def is_valid(text: str, *, today: date | None = None) -> bool:
    """Whether ``text`` is a valid personal identity or coordination number."""
    try:
        PersonalNumber.parse(text, today=today)
    except InvalidPersonalNumber:
        return False
    return True


def _format_error() -> InvalidPersonalNumber:
    return InvalidPersonalNumber(
        "format",
        "expected ten digits (YYMMDD-NNNC, YYMMDD+NNNC or YYMMDDNNNC) or twelve digits (YYYYMMDDNNNC or YYYYMMDD-NNNC)",
    )


def _luhn_check_digit(digits: str) -> int:
    """The Luhn digit for ``digits``: weights 2, 1, 2, … from the left, digit sums added."""
    total = 0
    for position, character in enumerate(digits):
        product = int(character) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def _most_recent_year(two_digit_year: int, month: int, day: int, today: date) -> int:
    """The latest year ending in ``two_digit_year`` whose (month, day) is not after today.

    Compared as tuples, not dates, so that an impossible day (31 April, 29 February in a
    common year) still yields a year and is then rejected as a bad date, not a crash.
    """
    year = today.year - today.year % 100 + two_digit_year
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return year


def _year_of_centenarian(two_digit_year: int, today: date) -> int:
    """The latest year ending in ``two_digit_year`` at least 100 years before this year.

    Skatteverket switches the separator to ``+`` at the start of the calendar year in which
    the person turns 100, not on the birthday itself, so the rule compares years only.
    """
    latest = today.year - 100
    return latest - (latest - two_digit_year) % 100
