"""The simulator's test persons: the BankID simulator's people, each with a Freja registration level.

Most hold Freja eID+ (PLUS); one only EXTENDED and one only BASIC, so that a service requiring
PLUS can be seen refusing them.
"""

from __future__ import annotations

from dataclasses import dataclass

from identity.freja.client import RegistrationLevel


@dataclass(frozen=True, slots=True)
class FrejaPerson:
    ssn: str
    given_name: str
    surname: str
    level: RegistrationLevel

    def __repr__(self) -> str:
        return f"FrejaPerson(level={self.level.value}, ssn=<hidden>)"


TEST_PERSONS: tuple[FrejaPerson, ...] = (
    FrejaPerson("198112189876", "Erik", "Lindqvist", RegistrationLevel.PLUS),
    FrejaPerson("197503179827", "Karin", "Johansson", RegistrationLevel.PLUS),
    FrejaPerson("199005229811", "Mohammed", "Al-Rashid", RegistrationLevel.EXTENDED),
    FrejaPerson("196809059832", "Per-Olof", "Öberg", RegistrationLevel.PLUS),
    FrejaPerson("200502149800", "Elin", "Nyström", RegistrationLevel.BASIC),
    FrejaPerson("199207319840", "Amina", "Yusuf", RegistrationLevel.PLUS),
    FrejaPerson("195402269855", "Gunnar", "Åkesson", RegistrationLevel.PLUS),
)


def person_by_ssn(ssn: str) -> FrejaPerson | None:
    return next((person for person in TEST_PERSONS if person.ssn == ssn), None)
