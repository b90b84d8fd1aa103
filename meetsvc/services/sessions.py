"""Browser sessions for participants and staff, kept in the database.

A session starts when a participant opens their invitation link (the token then leaves the URL
for a cookie) or when staff start to sign in. Only the hash of the cookie's token is stored.
Sessions end after ``idle`` without a request and in any case after ``absolute``; a staff
session gets a *new* token when sign-in succeeds, so a token planted before sign-in (session
fixation) is worthless after it. Sessions nobody has used for ``retain`` are deleted by
:meth:`BrowserSessions.purge`, which the schedule runs.

Each session has a CSRF token that every state-changing form and API call from a page must echo.
The staff sign-in page is shown before any session exists, and merely showing it must store
nothing (anyone can ask for it, as often as they like): its form carries a stateless token
instead, the HMAC of a random value the browser holds in a cookie (:meth:`sign_in_form`), and
the session is created only when that form is posted.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.tokens import looks_like_token, token_hash
from meetsvc.domain.model import Language
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import sessions as stored
from meetsvc.storage.queries.sessions import NewSession, SessionCheck, SessionRecord

COOKIE_NAME = "meetsvc_session"
#: Holds the random value the staff sign-in form's token is the HMAC of; not a session.
SIGN_IN_COOKIE = "meetsvc_sign_in"
TOUCH_EVERY = timedelta(seconds=30)


class SessionKind(str, enum.Enum):
    PARTICIPANT = "participant"
    STAFF = "staff"


@dataclass(frozen=True, slots=True)
class BrowserSession:
    id: str
    kind: SessionKind
    participant_id: str | None
    staff_id: str | None
    csrf_token: str = field(repr=False)
    language: Language
    expires_at: datetime

    @property
    def signed_in_staff(self) -> bool:
        return self.kind is SessionKind.STAFF and self.staff_id is not None

    def csrf_ok(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(self.csrf_token, offered or "")


@dataclass(frozen=True, slots=True)
class IssuedSession:
    session: BrowserSession
    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SignInForm:
    """What the staff sign-in page needs: the cookie's value (new when the browser had none)
    and the token its form echoes."""

    nonce: str = field(repr=False)
    csrf_token: str = field(repr=False)


def _from_record(row: SessionRecord) -> BrowserSession:
    return BrowserSession(
        id=row.id,
        kind=SessionKind(row.kind),
        participant_id=row.participant_id,
        staff_id=row.staff_id,
        csrf_token=row.csrf_token,
        language=Language(row.language),
        expires_at=row.expires_at,
    )


class BrowserSessions:
    """``form_key`` signs the sign-in form's token; it must be the same in every process (a
    random one only suits a single process). ``retain`` is how long an unused session's row is
    kept (at least ``idle``); keeping it as long as the eID rate window means the purge never
    forgets an attempt that still counts against a limit."""

    def __init__(
        self,
        engine: Engine,
        *,
        idle: timedelta,
        absolute: timedelta,
        clock: Clock = utc_now,
        form_key: bytes | None = None,
        retain: timedelta | None = None,
    ) -> None:
        self._engine = engine
        self._idle = idle
        self._absolute = absolute
        self._clock = clock
        self._form_key = form_key or secrets.token_bytes(32)
        self._retain = max(idle, retain or idle)

    def _sign_in_token(self, nonce: str) -> str:
        digest = hmac.new(self._form_key, f"staff sign-in form:{nonce}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def sign_in_form(self, nonce: str | None) -> SignInForm:
        """The sign-in form's token for the browser's cookie value, or for a new one when it has
        none (or a malformed one). Stores nothing."""
        if not nonce or not looks_like_token(nonce):
            nonce = secrets.token_urlsafe(32)
        return SignInForm(nonce, self._sign_in_token(nonce))

    def sign_in_form_ok(self, nonce: str | None, offered: str | None) -> bool:
        """Whether a posted sign-in form came from a page this browser was shown (double submit:
        another site can make a browser post, but cannot read the cookie to make the token)."""
        if not nonce or not offered or not looks_like_token(nonce):
            return False
        return hmac.compare_digest(self._sign_in_token(nonce), offered)

    async def create(
        self,
        connection: Connection,
        kind: SessionKind,
        *,
        language: Language,
        participant_id: str | None = None,
        staff_id: str | None = None,
    ) -> IssuedSession:
        now = self._clock()
        token = secrets.token_urlsafe(32)
        new = NewSession(
            id=str(uuid.uuid4()),
            token_hash=token_hash(token),
            kind=kind.value,
            participant_id=participant_id,
            staff_id=staff_id,
            csrf_token=secrets.token_urlsafe(32),
            language=language.value,
            created_at=now,
            expires_at=now + self._absolute,
        )
        await stored.insert_session(connection, new)
        session = BrowserSession(new.id, kind, participant_id, staff_id, new.csrf_token, language, new.expires_at)
        return IssuedSession(session, token)

    async def start(self, kind: SessionKind, *, language: Language, participant_id: str | None = None) -> IssuedSession:
        async with self._engine.begin() as connection:
            return await self.create(connection, kind, language=language, participant_id=participant_id)

    async def resume(self, token: str | None) -> BrowserSession | None:
        """The live session for a cookie, touching its idle clock; None if absent or over."""
        if not token or not looks_like_token(token):
            return None
        async with self._engine.connect() as connection:
            row = await stored.by_token_hash(connection, token_hash(token))
        if row is None or not await self._still_live(row):
            return None
        return _from_record(row)

    async def end_reason(self, token: str | None) -> str | None:
        """Why the cookie's session was ended, when something ended it (not mere expiry)."""
        if not token or not looks_like_token(token):
            return None
        async with self._engine.connect() as connection:
            row = await stored.by_token_hash(connection, token_hash(token))
        return row.end_reason if row is not None and row.ended_at is not None else None

    async def ended_participant(self, token: str | None) -> str | None:
        """The participant whose session the cookie held, when something ended it."""
        if not token or not looks_like_token(token):
            return None
        async with self._engine.connect() as connection:
            row = await stored.by_token_hash(connection, token_hash(token))
        return row.participant_id if row is not None and row.ended_at is not None else None

    def check(self, session_id: str, staff_id: str) -> SessionCheck:
        """What checks a staff member's session inside another statement (a host's decision),
        as :meth:`alive` would, with no round trip of its own."""
        now = self._clock()
        return SessionCheck(
            id=session_id, staff_id=staff_id, now=now, seen_after=now - self._idle, touch_before=now - TOUCH_EVERY
        )

    async def alive(self, session_id: str) -> bool:
        """Whether a session (known by id, e.g. behind a socket) is still live; touches its idle clock."""
        async with self._engine.connect() as connection:
            row = await stored.by_id(connection, session_id)
        return row is not None and await self._still_live(row)

    async def _still_live(self, row: SessionRecord) -> bool:
        """End an expired session; otherwise move its idle clock — at most every TOUCH_EVERY,
        so a page polling each second does not turn every poll into a database write."""
        now = self._clock()
        if row.ended_at is not None:
            return False
        if now >= row.expires_at or now - row.last_seen_at >= self._idle:
            async with self._engine.begin() as connection:
                await stored.end_session(connection, row.id, now=now)
            return False
        if now - row.last_seen_at >= TOUCH_EVERY:
            async with self._engine.begin() as connection:
                await stored.touch_session(connection, row.id, now=now)
        return True

    async def sign_in_staff(self, connection: Connection, session_id: str, staff_id: str) -> IssuedSession:
        """End the anonymous session and open a fresh one for the signed-in staff member."""
        now = self._clock()
        language = await stored.session_language(connection, session_id)
        await stored.end_session(connection, session_id, now=now)
        return await self.create(connection, SessionKind.STAFF, language=Language(language), staff_id=staff_id)

    async def end(self, session_id: str) -> None:
        async with self._engine.begin() as connection:
            await stored.end_session(connection, session_id, now=self._clock())

    async def purge(self) -> int:
        """Delete the sessions nobody has used for ``retain`` (with their identification
        orders); how many. Such a session is over whatever else it says: idle is shorter."""
        async with self._engine.begin() as connection:
            return await stored.delete_unused_sessions(connection, last_seen_before=self._clock() - self._retain)
