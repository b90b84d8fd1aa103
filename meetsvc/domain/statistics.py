"""What SIP statistics count, and who may read them.

The unit counted is the individual per year, not the meeting: a person with three SIP meetings
in a year counts once. Nobody is kept to make that possible: at booking the individual's legal
gender and age band are derived from the personal identity number, and a keyed pseudonym (an
HMAC under a key of that year only) tells two meetings of one person apart from two people.
When the year is closed its key is destroyed and its pseudonyms erased; only counts remain.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date

from meetsvc.domain.errors import Violation


class Gender(str, enum.Enum):
    """Legal gender as the personal identity number states it, or as the leader records it."""

    WOMAN = "woman"
    MAN = "man"
    OTHER = "other"  # other or unknown


class AgeBand(str, enum.Enum):
    CHILD = "0-17"
    YOUNG = "18-24"
    ADULT = "25-64"
    OLDER = "65+"


class Outcome(str, enum.Enum):
    ESTABLISHED = "established"
    FOLLOWED_UP = "followed_up"
    NOT_ESTABLISHED = "not_established"
    NOT_HELD = "not_held"


class Reason(str, enum.Enum):
    """Why a held meeting established no SIP."""

    DECLINED = "declined"
    DID_NOT_ATTEND = "did_not_attend"
    NEEDS_NOT_SHARED = "needs_not_shared"
    OTHER = "other"


def legal_gender(normal_form: str) -> Gender:
    """The second-to-last digit of a personal identity number: odd for men, even for women."""
    return Gender.MAN if int(normal_form[-2]) % 2 else Gender.WOMAN


def age_band(birth_date: date, on: date) -> AgeBand:
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    if age < 18:
        return AgeBand.CHILD
    if age < 25:
        return AgeBand.YOUNG
    if age < 65:
        return AgeBand.ADULT
    return AgeBand.OLDER


def pseudonym(year_key: bytes, subject: str) -> str:
    """The individual as that year's statistics know them: the same person gives the same value
    all year, and without the year's key nobody can tell whose it is."""
    return hmac.new(year_key, subject.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    outcome: Outcome
    reason: Reason | None
    individual_took_part: bool | None
    child_took_part: bool | None


def check_outcome(record: OutcomeRecord, band: AgeBand | None) -> list[Violation]:
    """A reason is given exactly when no SIP was established at a held meeting; whether the
    child took part only for a child (0–17), and nobody took part in a meeting not held."""
    violations: list[Violation] = []
    if (record.outcome is Outcome.NOT_ESTABLISHED) != (record.reason is not None):
        violations.append(Violation("/reason", "reason", "give a reason exactly when the SIP was not established"))
    if record.child_took_part is not None and band is not AgeBand.CHILD:
        violations.append(Violation("/child_took_part", "child", "only for an individual aged 0–17"))
    if record.outcome is Outcome.NOT_HELD and (record.individual_took_part or record.child_took_part):
        violations.append(Violation("/individual_took_part", "not_held", "nobody took part in a meeting not held"))
    return violations
