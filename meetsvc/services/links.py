"""Personal join links: what each participant's invitation, update and reminder carries.

A link's token is derived from its invitation's id under the link key (see
:mod:`meetsvc.core.tokens`), so any process that holds the key can write a participant's link into
a message at any time, while the database keeps only the token's hash. Reissuing an invitation
makes a new invitation id, hence a new link, and revokes the old one.
"""

from __future__ import annotations

import secrets

from meetsvc.core.tokens import invitation_token
from meetsvc.storage.engine import Connection
from meetsvc.storage.queries.invitations import current_invitation_id


class JoinLinks:
    def __init__(self, link_key: bytes, public_url: str) -> None:
        self._key = link_key
        self._public_url = public_url.rstrip("/")

    @classmethod
    def ephemeral(cls, public_url: str = "") -> JoinLinks:
        """Links under a key that lives only in this process: for tools that hand the link out
        once and never write it into a later message."""
        return cls(secrets.token_bytes(32), public_url)

    def token(self, invitation_id: str) -> str:
        return invitation_token(self._key, invitation_id)

    def url(self, invitation_id: str) -> str:
        return f"{self._public_url}/j/{self.token(invitation_id)}"

    async def current(self, connection: Connection, participant_id: str) -> str | None:
        """The participant's working link, or None when they have none (revoked, removed)."""
        invitation_id = await current_invitation_id(connection, participant_id)
        return self.url(invitation_id) if invitation_id is not None else None
