"""Who is asking: every operation is told, and checks it against the thing it touches."""

from __future__ import annotations

from dataclasses import dataclass, field

from meetsvc.domain.roles import Role


@dataclass(frozen=True, slots=True)
class OrganisationCaller:
    """Someone acting for one organisation: an integrating system's API client or a staff member.

    ``actor`` is the pseudonymous label the audit log records (``api-client:<id>``,
    ``staff:<id>``); it never holds a name or a personal identity number. ``staff_id`` is set for
    a staff member, whose ``roles`` then decide what they reach; an API client (no ``staff_id``)
    acts for its whole organisation, as the integrating system it is.
    """

    organisation_id: str
    actor: str
    staff_id: str | None = None
    roles: frozenset[Role] = field(default_factory=frozenset)

    @classmethod
    def staff(cls, organisation_id: str, staff_id: str, roles: frozenset[Role]) -> OrganisationCaller:
        return cls(organisation_id, f"staff:{staff_id}", staff_id, roles)

    @property
    def is_api_client(self) -> bool:
        return self.staff_id is None
