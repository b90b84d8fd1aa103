"""Lobby tickets: the short-lived signed token a participant's socket presents.

Issued over HTTP to a browser session that completed eID (or, on the participant's own word,
to one that cannot use eID — then marked unverified and shown so to the hosts). It names the
participant, the meeting and the session, expires after ``lifetime`` (and never after the
meeting's end plus an hour), and is signed with the service's Ed25519 key (see
:mod:`meetsvc.core.signing`).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from meetsvc.core.signing import InvalidToken, KeySet, SigningKeys
from meetsvc.services.waiting_room import LobbyPass

AUDIENCE = "meetsvc:lobby"


class LobbyTickets:
    def __init__(self, keys: SigningKeys | KeySet, *, issuer: str, lifetime: timedelta) -> None:
        self._keys = keys
        self._issuer = issuer
        self._lifetime = lifetime

    @property
    def keys(self) -> SigningKeys | KeySet:
        return self._keys

    def issue(self, lobby: LobbyPass, *, now: datetime, meeting_ends_at: datetime) -> tuple[str, datetime]:
        expires = min(now + self._lifetime, meeting_ends_at + timedelta(hours=1))
        claims = {
            "iss": self._issuer,
            "aud": AUDIENCE,
            "sub": lobby.participant_id,
            "mid": lobby.meeting_id,
            "sid": lobby.session_id,
            "unv": lobby.unverified,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        return self._keys.sign(claims), expires

    def verify(self, token: object, *, now: datetime) -> LobbyPass:
        if not isinstance(token, str) or len(token) > 4096:
            raise InvalidToken("no ticket")
        claims = self._keys.verify(token, audience=AUDIENCE, issuer=self._issuer, now=now)
        participant, meeting, session = claims.get("sub"), claims.get("mid"), claims.get("sid")
        if not all(isinstance(v, str) and v for v in (participant, meeting, session)):
            raise InvalidToken("incomplete ticket")
        return LobbyPass(participant, meeting, session, unverified=bool(claims.get("unv")))  # type: ignore[arg-type]
