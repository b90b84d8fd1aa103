"""Staff sign-ins through OpenID Connect between the redirect and the provider's answer.

A sign-in is taken at most once: :func:`take` marks it used with a conditional update, so two
requests carrying the same ``state`` (a replayed answer, a double click) cannot both go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from meetsvc.storage.engine import Connection
from meetsvc.storage.tables import oidc_sign_ins


@dataclass(frozen=True, slots=True)
class OidcSignIn:
    id: str
    state_hash: str
    session_id: str
    provider: str
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


async def insert_sign_in(connection: Connection, sign_in: OidcSignIn) -> None:
    await connection.execute(
        oidc_sign_ins.insert().values(
            id=sign_in.id,
            state_hash=sign_in.state_hash,
            session_id=sign_in.session_id,
            provider=sign_in.provider,
            nonce=sign_in.nonce,
            code_verifier=sign_in.code_verifier,
            created_at=sign_in.created_at,
            expires_at=sign_in.expires_at,
        )
    )


async def by_state_hash(connection: Connection, state_hash: str) -> OidcSignIn | None:
    row = (await connection.execute(select(oidc_sign_ins).where(oidc_sign_ins.c.state_hash == state_hash))).first()
    if row is None:
        return None
    return OidcSignIn(
        id=row.id,
        state_hash=row.state_hash,
        session_id=row.session_id,
        provider=row.provider,
        nonce=row.nonce,
        code_verifier=row.code_verifier,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
    )


async def take(connection: Connection, sign_in_id: str, *, now: datetime) -> bool:
    """Mark the sign-in used; False when it was used already (by a request that came first)."""
    result = await connection.execute(
        update(oidc_sign_ins)
        .where(oidc_sign_ins.c.id == sign_in_id, oidc_sign_ins.c.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount)
