"""Staff sign-in through an organisation's OpenID Connect provider (SITHS at Inera, or the
organisation's own IdP), beside BankID.

The sign-in begins in the browser's (anonymous, staff) session: a fresh state, nonce and PKCE
verifier are stored with that session's id (the state only as a hash) and the browser leaves
for the provider. When it comes back, the state must name a sign-in of *this* session that was
not used yet and has not expired on the service's clock; it is marked used before anything else
happens, so a replayed answer finds it used. The code is then redeemed, the ID token checked
(signature, issuer, audience, times, nonce, exact ``acr``), and the person looked up in the
directory of the organisation the provider speaks for — by personal number or HSA-id, as that
organisation chose — through the same lookup (``staff_id_for_sign_in``) and the same session
swap (:meth:`BrowserSessions.sign_in_staff`) as a BankID sign-in, so a rule about who may sign
in holds for both.

Every outcome is audited; a refusal names the check that failed, never a claim's value.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from identity.oidc.profiles import LOA2, PROFILES, ClaimProfile
from identity.oidc.types import OidcError, RelyingParty, VerifiedClaims
from identity.personnummer import InvalidPersonalNumber, PersonalNumber
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.tokens import token_hash
from meetsvc.domain.errors import DomainError
from meetsvc.services.audit import AuditLog
from meetsvc.services.sessions import BrowserSession, BrowserSessions, IssuedSession, SessionKind
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import identifications, oidc_sign_ins as stored, organisations
from meetsvc.storage.queries.oidc_sign_ins import OidcSignIn

log = logging.getLogger(__name__)

#: How long the sign-in page waits for a provider's discovery document it does not have yet.
FORM_TARGET_WAIT = timedelta(seconds=2)


class SignInRefused(DomainError):
    """A sign-in that does not sign anyone in. ``reason`` is one of :data:`REASONS`."""

    code = "sign-in-refused"
    status = 403
    title = "The sign-in was refused."

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: Why a sign-in can be refused, with the HTTP status its page answers with.
REASONS: dict[str, int] = {
    "unknown_provider": 404,
    "state": 400,  # no sign-in has that state (tampered, or from elsewhere)
    "other_browser": 400,  # the state belongs to another browser's session
    "replayed": 400,  # the answer was used already
    "expired": 400,  # the sign-in (or the ID token) is too old
    "provider_error": 400,  # the provider answered with an error (the person cancelled, …)
    "token_refused": 400,
    "signature": 400,
    "claims": 400,
    "nonce": 400,
    "acr": 403,  # a level of assurance the organisation does not accept
    "no_identifier": 403,  # the token carries no personal number / HSA-id to match by
    "not_staff": 403,
    "unavailable": 503,
}


@dataclass(frozen=True, slots=True)
class StaffProvider:
    """One organisation's provider as configured: the client at it, and how people are matched."""

    name: str
    organisation: str  # id or name, resolved at each sign-in
    profile: ClaimProfile
    match_by: str  # "personal_number" | "hsa_id"
    client: RelyingParty
    personal_number_claim: str
    hsa_id_claim: str


def accepted_acr(profile_name: str, acr_values: tuple[str, ...] | None, accept_loa2: bool) -> tuple[str, ...]:
    """The ``acr`` values a provider's ID tokens may carry: those named, else the profile's
    default, with SITHS loa2 (temporary cards) added only where the organisation chose it."""
    profile = PROFILES[profile_name]
    accepted = tuple(acr_values) if acr_values is not None else profile.default_acr
    if accept_loa2 and LOA2 not in accepted:
        accepted += (LOA2,)
    return accepted


class StaffOidcSignIn:
    def __init__(
        self,
        engine: Engine,
        providers: Mapping[str, StaffProvider],
        sessions: BrowserSessions,
        vault: PersonalNumberVault,
        audit: AuditLog,
        *,
        lifetime: timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self._engine = engine
        self._providers = dict(providers)
        self._sessions = sessions
        self._vault = vault
        self._audit = audit
        self._lifetime = lifetime
        self._clock = clock

    @property
    def providers(self) -> list[StaffProvider]:
        return list(self._providers.values())

    async def form_targets(self) -> tuple[str, ...]:
        """The origins the sign-in page's forms lead to (its Content-Security-Policy must allow
        them): each provider's authorization endpoint, or its issuer while the provider cannot be
        asked (the button then ends on a page saying so). The discovery document is fetched once
        and kept; a provider that does not answer delays the page by ``FORM_TARGET_WAIT`` at most."""
        found: list[str] = []
        for provider in self._providers.values():
            try:
                metadata = await asyncio.wait_for(provider.client.metadata(), FORM_TARGET_WAIT.total_seconds())
                url = str(metadata["authorization_endpoint"])
            except (OidcError, TimeoutError):
                url = provider.client.config.issuer
            parts = urlsplit(url)
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in found:
                found.append(origin)
        return tuple(found)

    async def begin(self, session: BrowserSession, provider_name: str) -> str:
        """Store a new sign-in for this (anonymous staff) session; the URL to send the browser to."""
        provider = self._providers.get(provider_name)
        if provider is None or session.kind is not SessionKind.STAFF or session.signed_in_staff:
            raise SignInRefused("unknown_provider")
        try:
            request = await provider.client.authorization_request()
        except OidcError as exc:
            log.warning("OpenID Connect provider %s: %s", provider.name, exc.reason)
            await self._refused(session.id, provider.name, exc.reason)
            raise SignInRefused(exc.reason) from None
        now = self._clock()
        async with self._engine.begin() as connection:
            await stored.insert_sign_in(
                connection,
                OidcSignIn(
                    id=str(uuid.uuid4()),
                    state_hash=token_hash(request.state),
                    session_id=session.id,
                    provider=provider.name,
                    nonce=request.nonce,
                    code_verifier=request.code_verifier,
                    created_at=now,
                    expires_at=now + self._lifetime,
                ),
            )
            await self._audit.append(
                connection,
                actor=f"session:{session.id}",
                action="staff.oidc_sign_in_started",
                subject_type="session",
                subject_id=session.id,
                details={"provider": provider.name},
                now=now,
            )
        return request.url

    async def complete(
        self,
        session: BrowserSession | None,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        issuer: str | None = None,
    ) -> IssuedSession:
        """The provider's answer in this browser: a signed-in staff session, or :class:`SignInRefused`.
        ``issuer`` is the answer's ``iss`` (RFC 9207), which must be the provider's where given."""
        now = self._clock()
        session_id = session.id if session is not None else None
        async with self._engine.begin() as connection:
            found = await stored.by_state_hash(connection, token_hash(state)) if state else None
            reason = self._why_not(found, session, now)
            if reason is None:
                assert found is not None
                if not await stored.take(connection, found.id, now=now):
                    reason = "replayed"
        if reason is not None or found is None:
            await self._refused(session_id, found.provider if found else None, reason or "state")
            raise SignInRefused(reason or "state")
        provider = self._providers.get(found.provider)
        if provider is None:
            await self._refused(session_id, found.provider, "unknown_provider")
            raise SignInRefused("unknown_provider")
        if issuer is not None and issuer != provider.client.config.issuer:
            await self._refused(session_id, provider.name, "claims", check="iss")
            raise SignInRefused("claims")
        if error is not None or not code:
            await self._refused(session_id, provider.name, "provider_error", provider_error=(error or "no code")[:60])
            raise SignInRefused("provider_error")
        try:
            claims = await provider.client.redeem(
                code, nonce=found.nonce, code_verifier=found.code_verifier, now=now.timestamp()
            )
        except OidcError as exc:
            log.info("OpenID Connect sign-in at %s refused: %s", provider.name, exc.reason)
            await self._refused(session_id, provider.name, exc.reason)
            raise SignInRefused(exc.reason) from None
        return await self._sign_in(found, provider, claims)

    @staticmethod
    def _why_not(found: OidcSignIn | None, session: BrowserSession | None, now: datetime) -> str | None:
        if found is None:
            return "state"
        if found.used_at is not None:
            return "replayed"
        if session is None or session.id != found.session_id:
            return "other_browser"
        if now >= found.expires_at:
            return "expired"
        return None

    async def _sign_in(self, found: OidcSignIn, provider: StaffProvider, claims: VerifiedClaims) -> IssuedSession:
        key = self._identifier(provider, claims)
        if key is None:
            await self._refused(found.session_id, provider.name, "no_identifier", acr=claims.acr)
            raise SignInRefused("no_identifier")
        now = self._clock()
        async with self._engine.begin() as connection:
            organisation = await organisations.organisation_by_id_or_name(connection, provider.organisation)
            staff_id = None
            if organisation is not None:
                staff_id = await identifications.staff_id_for_sign_in(
                    connection, organisation_id=organisation.id, **key
                )
            details = {"provider": provider.name, "profile": provider.profile.name, "acr": claims.acr}
            if staff_id is None:
                await self._audit.append(
                    connection,
                    actor="system",
                    action="staff.sign_in_refused",
                    subject_type="session",
                    subject_id=found.session_id,
                    details={**details, "reason": "not_staff"},
                    now=now,
                )
            else:
                issued = await self._sessions.sign_in_staff(connection, found.session_id, staff_id)
                await self._audit.append(
                    connection,
                    actor="system",
                    action="staff.signed_in",
                    subject_type="staff",
                    subject_id=staff_id,
                    details={**details, "outcome": "staff"},
                    now=now,
                )
                return issued
        raise SignInRefused("not_staff")

    def _identifier(self, provider: StaffProvider, claims: VerifiedClaims) -> dict[str, str] | None:
        """What the directory is searched by: the keyed hash of the personal number (as for
        BankID), or the HSA-id."""
        if provider.match_by == "hsa_id":
            hsa_id = claims.text(provider.hsa_id_claim)
            return {"hsa_id": hsa_id} if hsa_id else None
        text = claims.text(provider.personal_number_claim)
        if text is None:
            return None
        try:
            number = PersonalNumber.parse(text)
        except InvalidPersonalNumber:
            return None
        return {"personal_number_hash": self._vault.keyed_hash(number.normal)}

    async def _refused(self, session_id: str | None, provider: str | None, reason: str, **extra: str | None) -> None:
        async with self._engine.begin() as connection:
            await self._audit.append(
                connection,
                actor=f"session:{session_id}" if session_id else "anonymous",
                action="staff.sign_in_refused",
                subject_type="session",
                subject_id=session_id or "none",
                details={"provider": provider, "reason": reason, **extra},
                now=self._clock(),
            )
