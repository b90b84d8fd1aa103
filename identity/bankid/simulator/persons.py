"""The people who hold a BankID in the simulator.

Their personal identity numbers are Luhn-correct and use birth numbers 980–999, the series
Skatteverket uses for its published test personal identity numbers, so they can never belong to
a real person. Names include Swedish letters and a hyphen on purpose: they exercise the same
encoding paths a real name does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TestPerson:
    """One simulated BankID holder (``bank_id_issue_date`` is what collect reports as
    ``bankIdIssueDate``)."""

    __test__ = False  # a data class, not a pytest test class

    personal_number: str
    given_name: str
    surname: str
    bank_id_issue_date: dt.date

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.surname}"


def luhn_check_digit(nine_digits: str) -> int:
    """The check digit of a personal identity number (Skatteverket SKV 704: weights 2,1,2,…
    over YYMMDDNNN, digits of the products summed, then the complement to the next ten)."""
    total = 0
    for index, char in enumerate(nine_digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def is_valid_personal_number(value: str) -> bool:
    """Whether ``value`` is a 12-digit personal identity number (or coordination number, day +
    60) with a real date and a correct check digit — the form BankID requires."""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return False
    year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
    if day > 60:
        day -= 60
    try:
        dt.date(year, month, day)
    except ValueError:
        return False
    return luhn_check_digit(value[2:11]) == int(value[11])


TEST_PERSONS: tuple[TestPerson, ...] = (
    TestPerson("198112189876", "Erik", "Lindqvist", dt.date(2021, 3, 15)),
    TestPerson("197503179827", "Karin", "Johansson", dt.date(2019, 11, 2)),
    TestPerson("199005229811", "Mohammed", "Al-Rashid", dt.date(2022, 6, 20)),
    TestPerson("196809059832", "Per-Olof", "Öberg", dt.date(2018, 1, 9)),
    TestPerson("200502149800", "Elin", "Nyström", dt.date(2023, 8, 30)),
    TestPerson("199207319840", "Amina", "Yusuf", dt.date(2020, 4, 14)),
    TestPerson("195402269855", "Gunnar", "Åkesson", dt.date(2017, 10, 5)),
)


def person_by_number(personal_number: str, persons: tuple[TestPerson, ...] = TEST_PERSONS) -> TestPerson | None:
    for person in persons:
        if person.personal_number == personal_number:
            return person
    return None
