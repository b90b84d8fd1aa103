"""What a staff member may do inside their organisation, by role.

The threat model gives each organisation's people no more than their work needs: organisers see
the meetings they booked or lead, not every meeting of the organisation; only administrators keep
the staff directory and the API clients; reading statistics is a role of its own, because figures
about care, however aggregated, are not every host's business.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Role(str, enum.Enum):
    #: Keeps the staff directory (adds, changes, deactivates staff) and the API clients; sees
    #: every meeting of the organisation.
    ADMINISTRATOR = "administrator"
    #: Books meetings and changes those they booked or lead.
    ORGANISER = "organiser"
    #: May be named a meeting's host and lead its waiting room.
    HOST = "host"
    #: Reads the organisation's statistics.
    STATISTICS_READER = "statistics_reader"


#: What "may organise" meant before roles: book, and lead.
ORGANISING = frozenset({Role.ORGANISER, Role.HOST})


def parse_roles(values: Iterable[str]) -> frozenset[Role]:
    """Roles from their names; raises ValueError on an unknown one."""
    return frozenset(Role(value) for value in values)


def roles_text(roles: Iterable[Role]) -> str:
    """Roles as stored: sorted names, comma-separated (empty: none)."""
    return ",".join(sorted(role.value for role in roles))


def roles_from_text(text: str | None) -> frozenset[Role]:
    """Stored roles back; a name this version does not know is skipped, never widened."""
    known = {role.value for role in Role}
    return frozenset(Role(name) for name in (text or "").split(",") if name in known)


def may_administer(roles: frozenset[Role]) -> bool:
    return Role.ADMINISTRATOR in roles


def may_book(roles: frozenset[Role]) -> bool:
    return Role.ORGANISER in roles


def may_host(roles: frozenset[Role]) -> bool:
    """Who may be named a host: a host, or an organiser (who leads what they book)."""
    return bool(roles & ORGANISING)


def may_use_staff_pages(roles: frozenset[Role]) -> bool:
    """Whether the organiser pages and the organiser API answer this person at all."""
    return bool(roles & (ORGANISING | {Role.ADMINISTRATOR}))


def may_read_statistics(roles: frozenset[Role]) -> bool:
    """The statistics module's one question: administrators and statistics readers may read."""
    return bool(roles & {Role.STATISTICS_READER, Role.ADMINISTRATOR})
