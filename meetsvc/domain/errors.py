"""Errors the domain raises; every transport maps them to one answer shape.

Tree::

    DomainError
    ├── NotFound                 404  the thing does not exist *for this caller*
    ├── RuleViolation            422  the request breaks one or more named rules (per field)
    ├── Conflict                 409  valid, but not in the thing's present state
    │   ├── MeetingClosed
    │   └── TooManyParticipants
    ├── Unauthenticated          401
    └── Forbidden                403

``NotFound`` is also what a caller gets for something that exists but belongs to another
organisation: answering 403 there would confirm that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: ``field`` is a JSON pointer into the request, ``rule`` a stable name."""

    field: str
    rule: str
    message: str


class DomainError(Exception):
    code = "error"
    status = 400
    title = "The request cannot be carried out."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title


class NotFound(DomainError):
    code = "not-found"
    status = 404
    title = "Not found."


class RuleViolation(DomainError):
    code = "validation-failed"
    status = 422
    title = "The request breaks one or more rules."

    def __init__(self, violations: list[Violation], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{v.field}: {v.message}" for v in violations))
        self.violations = violations

    @classmethod
    def single(cls, field: str, rule: str, message: str) -> RuleViolation:
        return cls([Violation(field, rule, message)])


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "The request conflicts with the present state."


class MeetingClosed(Conflict):
    code = "meeting-closed"
    title = "The meeting is cancelled or has ended and can no longer be changed."


class TooManyParticipants(Conflict):
    code = "too-many-participants"
    title = "The meeting already has the largest number of participants allowed."


class Unauthenticated(DomainError):
    code = "unauthenticated"
    status = 401
    title = "Credentials are missing or not valid."


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "The caller may not do this."
