"""Who is asking: every operation is told, and checks it against the thing it touches."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrganisationCaller:
    """Someone acting for one organisation: an integrating system's API client or a staff member.

    ``actor`` is the pseudonymous label the audit log records (``api-client:<id>``,
    ``staff:<id>``); it never holds a name or a personal identity number.
    """

    organisation_id: str
    actor: str
