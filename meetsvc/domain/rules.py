"""Rules a meeting and its participants must keep, as pure functions returning violations.

Each function returns every violation it finds rather than stopping at the first, so a client
that sends a bad request learns all it must fix in one answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from identity.personnummer import is_valid
from meetsvc.domain.errors import Violation
from meetsvc.domain.model import Organisation, ParticipantRole

# What a personal identity number looks like in free text, once its digits are ASCII: ten or
# twelve digits, the date and the serial parted by at most one character that is neither letter
# nor digit ("-", "+", " ", "–", "_", ".", "/"), and the date's own parts parted alike, by the
# same character both times ("1992-07-31-9840"). Each variant is a lookahead, so every digit run
# is tried even where an earlier reading failed the number's checks. In machine text (ids,
# tokens) a run inside a UUID or another token is no number, so that variant also requires no
# letter, "-" or "_" around it.
_SEPARATOR = r"[\W_]"
_SPELLED = (
    rf"(?P<date>(?:[0-9]{{2}})?[0-9]{{2}}(?P<inner>{_SEPARATOR}?)[0-9]{{2}}(?P=inner)[0-9]{{2}})"
    rf"(?P<separator>{_SEPARATOR}?)(?P<serial>[0-9]{{4}})"
)
_PERSONAL_NUMBER_IN_PROSE = re.compile(rf"(?<![0-9])(?=(?P<number>{_SPELLED})(?![0-9]))")
_PERSONAL_NUMBER_AMONG_IDS = re.compile(rf"(?<![0-9A-Za-z_-])(?=(?P<number>{_SPELLED})(?![0-9A-Za-z_-]))")


def _ascii_digits(text: str) -> str:
    """``text`` with every decimal digit written in ASCII: NFKC turns full-width digits into
    ASCII ones, and other scripts' digits (Arabic-Indic, Devanagari, …) are mapped by value, so
    no spelling of the digits slips past the pattern."""
    return "".join(
        str(unicodedata.decimal(ch)) if not ch.isascii() and unicodedata.category(ch) == "Nd" else ch
        for ch in unicodedata.normalize("NFKC", text)
    )


def _canonical(match: re.Match[str]) -> str:
    """The found number as :func:`identity.personnummer.is_valid` reads it: digits only, keeping
    a "+" between date and serial, the one separator that changes the number's meaning (100 or older)."""
    date = match["date"].replace(match["inner"], "") if match["inner"] else match["date"]
    return date + ("+" if match["separator"] == "+" else "") + match["serial"]


def contains_personal_number(text: str, *, among_ids: bool = False) -> bool:
    """Whether ``text`` holds a valid personal identity or coordination number.

    Only runs that pass the number's own checks (date, Luhn) count, so a phone number or an
    order number is rarely mistaken for one. ``among_ids`` is for text full of UUIDs (the audit
    log's details), where a digit run inside an id is not a number.
    """
    pattern = _PERSONAL_NUMBER_AMONG_IDS if among_ids else _PERSONAL_NUMBER_IN_PROSE
    return any(is_valid(_canonical(match)) for match in pattern.finditer(_ascii_digits(text)))


_EMAIL = re.compile(
    r"^[^@\s<>\"(),;:]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


@dataclass(frozen=True, slots=True)
class ScheduleLimits:
    min_duration: timedelta
    max_duration: timedelta
    max_ahead: timedelta


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def check_text(field: str, value: str, *, max_length: int) -> list[Violation]:
    """Free text shown to people: trimmed, not empty, bounded, printable."""
    if not value.strip():
        return [Violation(field, "not_blank", "must not be empty")]
    if len(value) > max_length:
        return [Violation(field, "max_length", f"must be at most {max_length} characters")]
    if _has_control_characters(value):
        return [Violation(field, "printable", "must not contain control characters")]
    return []


def check_title(value: str) -> list[Violation]:
    violations = check_text("/title", value, max_length=120)
    if not violations and contains_personal_number(value):
        violations.append(Violation("/title", "no_personal_number", "must not contain a personal identity number"))
    return violations


def check_schedule(starts_at: datetime, ends_at: datetime, *, now: datetime, limits: ScheduleLimits) -> list[Violation]:
    violations: list[Violation] = []
    for field, value in (("/starts_at", starts_at), ("/ends_at", ends_at)):
        if value.tzinfo is None or value.utcoffset() is None:
            violations.append(Violation(field, "timezone_required", "must include a UTC offset"))
    if violations:
        return violations
    if starts_at <= now:
        violations.append(Violation("/starts_at", "in_future", "must be in the future"))
    elif starts_at - now > limits.max_ahead:
        days = limits.max_ahead.days
        violations.append(Violation("/starts_at", "max_ahead", f"must be at most {days} days ahead"))
    if ends_at <= starts_at:
        violations.append(Violation("/ends_at", "after_start", "must be after starts_at"))
    else:
        duration = ends_at - starts_at
        if duration < limits.min_duration:
            minutes = int(limits.min_duration.total_seconds() // 60)
            violations.append(
                Violation("/ends_at", "min_duration", f"the meeting must last at least {minutes} minutes")
            )
        elif duration > limits.max_duration:
            minutes = int(limits.max_duration.total_seconds() // 60)
            violations.append(Violation("/ends_at", "max_duration", f"the meeting must last at most {minutes} minutes"))
    return violations


def check_partner(owner: Organisation, partner: Organisation | None) -> list[Violation]:
    """A SIP always joins a municipality and a region."""
    if partner is None:
        return [Violation("/partner_organisation_id", "exists", "no such organisation")]
    if partner.kind is not owner.kind.other:
        return [
            Violation(
                "/partner_organisation_id",
                "other_kind",
                f"a SIP meeting joins a municipality and a region: the partner must be a {owner.kind.other.value}",
            )
        ]
    return []


def check_participant_organisation(
    role: ParticipantRole, organisation: Organisation | None, meeting_organisations: dict[str, Organisation]
) -> list[Violation]:
    field = "/organisation_id"
    required = role.required_organisation_kind
    if organisation is None:
        if required is not None:
            return [Violation(field, "required_for_role", f"is required for the role {role.value}")]
        return []
    if organisation.id not in meeting_organisations:
        return [Violation(field, "meeting_organisation", "must be one of the meeting's two organisations")]
    if required is not None and organisation.kind is not required:
        return [Violation(field, "role_organisation", f"the role {role.value} belongs to the {required.value}")]
    return []


def check_contact(email: str | None, mobile: str | None) -> list[Violation]:
    violations: list[Violation] = []
    if email is None and mobile is None:
        violations.append(Violation("/email", "contact_required", "give an e-mail address or a mobile number"))
    violations += check_email("/email", email)
    if mobile is not None and (_has_control_characters(mobile) or normalise_mobile(mobile) is None):
        violations.append(Violation("/mobile", "mobile", "is not a mobile number (e.g. +46701234567 or 070-123 45 67)"))
    return violations


def check_email(field: str, email: str | None) -> list[Violation]:
    if email is not None and (len(email) > 254 or _has_control_characters(email) or not _EMAIL.match(email)):
        return [Violation(field, "email", "is not an e-mail address")]
    return []


# An HSA-id: "SE", the issuing organisation's ten-digit number, a hyphen and the person's part
# (letters and digits), as Inera's HSA catalogue hands them out (e.g. SE2321000016-1003).
_HSA_ID = re.compile(r"SE\d{10}-[A-Za-z0-9]{1,31}")


def check_hsa_id(field: str, hsa_id: str | None) -> list[Violation]:
    if hsa_id is not None and not _HSA_ID.fullmatch(hsa_id):
        return [Violation(field, "hsa_id", "is not an HSA-id (SE, ten digits, a hyphen and letters or digits)")]
    return []


def normalise_mobile(value: str) -> str | None:
    """E.164 form of a mobile number; Swedish national numbers (07…) get +46."""
    compact = re.sub(r"[\s\-()]", "", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif compact.startswith("0"):
        compact = "+46" + compact[1:]
    if not re.fullmatch(r"\+[1-9]\d{7,14}", compact):
        return None
    if compact.startswith("+46") and not re.fullmatch(r"\+467[02369]\d{7}", compact):
        return None  # Swedish mobile numbers are 07x-xxx xx xx
    return compact
