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

# Ten or twelve digits with an optional separator: what a personal identity number looks like in
# free text. In machine text (ids, tokens) a run inside a UUID or another token is no number, so
# that variant also requires no letter or hyphen around it.
_PERSONAL_NUMBER_IN_PROSE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+ ]?\d{4}(?!\d)")
_PERSONAL_NUMBER_AMONG_IDS = re.compile(r"(?<![0-9A-Za-z-])(?:\d{2})?\d{6}[-+ ]?\d{4}(?![0-9A-Za-z-])")


def contains_personal_number(text: str, *, among_ids: bool = False) -> bool:
    """Whether ``text`` holds a valid personal identity or coordination number.

    Only runs that pass the number's own checks (date, Luhn) count, so a phone number or an
    order number is rarely mistaken for one. ``among_ids`` is for text full of UUIDs (the audit
    log's details), where a digit run inside an id is not a number.
    """
    pattern = _PERSONAL_NUMBER_AMONG_IDS if among_ids else _PERSONAL_NUMBER_IN_PROSE
    return any(is_valid(match.group(0)) for match in pattern.finditer(text))


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
