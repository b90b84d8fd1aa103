"""Personal identity and coordination numbers: spellings, century, checksum, dates, privacy.

Every number in the table has its check digit computed by the Luhn rule; 811218-9876 and
121212-1212 are well-known test numbers, 701063-2391 is Skatteverket's own example of a
coordination number (SKV 707).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, strategies as st

from identity.base import IdentityError
from identity.personnummer import (
    InvalidPersonalNumber,
    PersonalNumber,
    is_valid,
    normalise,
)

TODAY = date(2025, 6, 15)

VALID = [
    # the four accepted spellings of one number, and surrounding whitespace
    ("811218-9876", "198112189876"),
    ("8112189876", "198112189876"),
    ("19811218-9876", "198112189876"),
    ("198112189876", "198112189876"),
    ("  811218-9876\n", "198112189876"),
    ("\t198112189876 ", "198112189876"),
    # century inference: "-" takes the latest century that is not in the future
    ("121212-1212", "201212121212"),
    ("121212+1212", "191212121212"),
    ("19121212-1212", "191212121212"),
    ("191212121212", "191212121212"),
    ("250614-1239", "202506141239"),  # born yesterday
    ("250615-1238", "202506151238"),  # born today
    ("250616-1237", "192506161237"),  # tomorrow would be the future: a century back
    ("991231-1231", "199912311231"),
    # "+" from the calendar year of the 100th birthday, not from the birthday itself
    ("251231+1230", "192512311230"),
    ("250101+1239", "192501011239"),
    ("991231+1231", "189912311231"),
    # leap years
    ("000229-1235", "200002291235"),  # 2000 is a leap year (divisible by 400)
    ("040229-1231", "200402291231"),
    ("200229-1231", "202002291231"),
    ("240229-1237", "202402291237"),
    ("840229-1234", "198402291234"),
    # coordination numbers: day + 60
    ("701063-2391", "197010632391"),
    ("19701063-2391", "197010632391"),
    ("850361-1231", "198503611231"),  # 1 March
    ("850391-1235", "198503911235"),  # 31 March
    ("840289-1231", "198402891231"),  # 29 February in a leap year
]

INVALID = [
    # checksum
    ("811218-9875", "checksum"),
    ("198112189877", "checksum"),
    ("811218-9867", "checksum"),  # two neighbouring digits swapped
    ("121212-1213", "checksum"),
    # dates
    ("801301-1237", "date"),  # month 13
    ("800100-1232", "date"),  # month 00
    ("800132-1234", "date"),  # day 32
    ("800200-1231", "date"),  # day 00
    ("810231-1233", "date"),  # 31 February
    ("800230-1235", "date"),  # 30 February
    ("010229-1234", "date"),  # 2001 is not a leap year
    ("030229-1232", "date"),
    ("830229-1235", "date"),
    ("000229+1235", "date"),  # "+" makes it 1900, which is not a leap year
    ("17991231-1231", "date"),  # before any living person
    # coordination numbers whose real day is not a real date
    ("800260-1238", "date"),  # day 60: real day 00
    ("880292-1232", "date"),  # day 92: real day 32
    ("850491-1234", "date"),  # 31 April
    ("830289-1232", "date"),  # 29 February in a common year
    # twelve digits in the future
    ("20250616-1237", "future"),
    ("202506161237", "future"),
    # format
    ("", "format"),
    ("   ", "format"),
    ("81121B-9876", "format"),
    ("abcdefghij", "format"),
    ("811218-987", "format"),  # too short
    ("81121898760", "format"),  # eleven digits
    ("1981121898760", "format"),  # thirteen digits
    ("19811218-98760", "format"),
    ("811218/9876", "format"),
    ("811218 9876", "format"),
    ("811218--9876", "format"),
    ("8112-18-9876", "format"),
    ("19811218+9876", "format"),  # "+" contradicts a written century
    ("٨١١٢١٨-٩٨٧٦", "format"),  # Arabic-Indic digits
    ("811218-9876" * 100, "format"),
]


@pytest.mark.parametrize(("text", "normal"), VALID)
def test_valid_numbers_reduce_to_one_normal_form(text: str, normal: str) -> None:
    number = PersonalNumber.parse(text, today=TODAY)

    assert number.normal == normal
    assert normalise(text, today=TODAY) == normal
    assert is_valid(text, today=TODAY)


@pytest.mark.parametrize(("text", "reason"), INVALID)
def test_invalid_numbers_name_the_rule_that_failed(text: str, reason: str) -> None:
    with pytest.raises(InvalidPersonalNumber) as caught:
        PersonalNumber.parse(text, today=TODAY)

    assert caught.value.reason == reason
    assert not is_valid(text, today=TODAY)


@pytest.mark.parametrize("value", [198112189876, None, b"198112189876"])
def test_a_value_that_is_not_text_is_a_format_error(value: object) -> None:
    with pytest.raises(InvalidPersonalNumber) as caught:
        PersonalNumber.parse(value, today=TODAY)  # type: ignore[arg-type]

    assert caught.value.reason == "format"


def test_the_error_is_an_identity_error_and_a_value_error() -> None:
    with pytest.raises(IdentityError):
        normalise("811218-9875", today=TODAY)
    with pytest.raises(ValueError):
        normalise("811218-9875", today=TODAY)


def test_the_error_survives_pickling_with_its_reason() -> None:
    error = InvalidPersonalNumber("checksum", "the check digit does not match")

    copy = pickle.loads(pickle.dumps(error))

    assert copy.reason == "checksum"
    assert str(copy) == str(error)


def test_coordination_numbers_carry_the_real_birth_date() -> None:
    number = PersonalNumber.parse("701063-2391", today=TODAY)

    assert number.is_coordination_number
    assert number.birth_date == date(1970, 10, 3)
    assert number.normal == "197010632391"


def test_personal_numbers_carry_their_birth_date() -> None:
    number = PersonalNumber.parse("811218-9876", today=TODAY)

    assert not number.is_coordination_number
    assert number.birth_date == date(1981, 12, 18)


def test_the_current_date_is_the_default() -> None:
    assert normalise("19121212-1212") == "191212121212"
    tomorrow = date.today() + timedelta(days=1)
    nine = f"{tomorrow:%y%m%d}123"
    with pytest.raises(InvalidPersonalNumber) as caught:
        normalise(f"{tomorrow.year}{nine[2:]}{_luhn(nine)}")
    assert caught.value.reason == "future"


def test_today_may_be_given_as_a_datetime() -> None:
    moment = datetime(2025, 6, 15, 23, 59)

    assert normalise("250615-1238", today=moment) == "202506151238"
    with pytest.raises(InvalidPersonalNumber) as caught:
        normalise("20250616-1237", today=moment)
    assert caught.value.reason == "future"


# -- privacy -----------------------------------------------------------------------------


def test_repr_and_str_show_only_the_masked_form() -> None:
    number = PersonalNumber.parse("811218-9876", today=TODAY)

    assert number.masked() == "19811218-****"
    for shown in (repr(number), str(number), f"{number}", f"{number}", str([number])):
        assert "9876" not in shown
        assert "198112189876" not in shown
        assert "19811218-****" in shown


@pytest.mark.parametrize("text", [text for text, _ in INVALID if text.strip()])
def test_error_messages_never_contain_digits(text: str) -> None:
    with pytest.raises(InvalidPersonalNumber) as caught:
        PersonalNumber.parse(text, today=TODAY)

    message = str(caught.value)
    assert message
    assert not any(character.isdigit() for character in message)
    assert not any(character.isdigit() for character in repr(caught.value))


# -- properties --------------------------------------------------------------------------


def _luhn(nine_digits: str) -> int:
    total = 0
    for position, character in enumerate(nine_digits):
        product = int(character) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


@st.composite
def numbers(draw: st.DrawFn) -> tuple[date, bool, str]:
    """A real number: (birth date, is coordination number, ten-digit form without separator)."""
    born = draw(st.dates(min_value=date(1830, 1, 1), max_value=TODAY))
    coordination = draw(st.booleans())
    serial = draw(st.integers(min_value=1, max_value=999))
    day = born.day + 60 if coordination else born.day
    nine = f"{born:%y%m}{day:02d}{serial:03d}"
    return born, coordination, f"{nine}{_luhn(nine)}"


@given(numbers())
def test_every_spelling_of_a_valid_number_has_the_same_normal_form(
    number: tuple[date, bool, str],
) -> None:
    born, coordination, ten = number
    normal = f"{born.year:04d}{ten[2:]}"
    separator = "+" if TODAY.year - born.year >= 100 else "-"
    spellings = [
        normal,
        f"{normal[:8]}-{normal[8:]}",
        f"{ten[:6]}{separator}{ten[6:]}",
        f" {ten[:6]}{separator}{ten[6:]}\n",
    ]
    if separator == "-":
        spellings.append(ten)

    for spelling in spellings:
        parsed = PersonalNumber.parse(spelling, today=TODAY)
        assert parsed.normal == normal
        assert parsed.birth_date == born
        assert parsed.is_coordination_number == coordination


@given(numbers(), st.integers(min_value=0, max_value=9), st.integers(min_value=1, max_value=9))
def test_changing_one_digit_breaks_the_checksum_or_the_date(
    number: tuple[date, bool, str], position: int, shift: int
) -> None:
    _, _, ten = number
    changed_digit = (int(ten[position]) + shift) % 10
    changed = f"{ten[:position]}{changed_digit}{ten[position + 1 :]}"

    with pytest.raises(InvalidPersonalNumber) as caught:
        PersonalNumber.parse(changed, today=TODAY)

    assert caught.value.reason in {"checksum", "date"}


# -- isolation ---------------------------------------------------------------------------


def test_the_module_imports_nothing_of_the_service_or_its_transports() -> None:
    code = (
        "import sys, identity.personnummer\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'meetsvc', 'aiohttp', 'socketio', 'engineio'})\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
