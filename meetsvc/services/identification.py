"""Identifying a participant or a staff member with eID, bound to their browser session.

Start an order, show its live status (the hint code's recommended message, this second's QR
code or the autostart link), cancel it, and — when the collect loop sees it complete — bind the
verified identity to the session's participant (recording whether it is the person the
invitation expected) or find the staff member in the directory.

All of it is in the database: any process can answer a browser's status poll, compute the next
QR frame (the QR secret is stored encrypted) and see the outcome. Only the collecting itself
happens in the process that started the order (one collect loop per process).

Starts are rate-limited per invitation (or per sign-in session) and per client address, counted
in the database so the limit holds across processes. Every identification is an audit event;
no personal identity number appears in clear anywhere.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from identity.base import IdentityError, Order, OrderState, OrderStatus, StartRequest, VerifiedIdentity
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.domain.errors import Conflict, DomainError
from meetsvc.services.audit import AuditLog
from meetsvc.services.eid import EidRuntime
from meetsvc.services.sessions import BrowserSession, BrowserSessions, IssuedSession
from meetsvc.services.waiting_room import bind_session
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import identifications, participants
from meetsvc.storage.queries.identifications import (
    CANCELLED,
    COMPLETE,
    PENDING,
    IdentificationRecord,
    NewIdentification,
)
from meetsvc.storage.queries.participants import VerifiedPerson

log = logging.getLogger(__name__)


class TooManyAttempts(DomainError):
    code = "too-many-attempts"
    status = 429
    title = "Too many identifications were started; wait a few minutes and try again."


class UnknownMethod(DomainError):
    code = "unknown-identification-method"
    status = 400
    title = "This way of identifying is not offered here."


class IdentificationUnavailable(DomainError):
    code = "identification-unavailable"
    status = 503
    title = "Identification is not available right now."

    def __init__(self, detail: str, error_code: str | None) -> None:
        super().__init__(detail)
        self.error_code = error_code


@dataclass(frozen=True, slots=True)
class IdentificationView:
    """What the person's page shows about their identification, this second."""

    state: str
    hint_code: str | None
    message: str
    same_device: bool
    outcome: str | None
    qr_data: str | None = None
    autostart_url: str | None = None
    provider: str = "bankid"


@dataclass(frozen=True, slots=True)
class RateLimits:
    per_subject: int
    per_address: int
    window: timedelta


class Identification:
    def __init__(
        self,
        engine: Engine,
        eid: EidRuntime,
        vault: PersonalNumberVault,
        audit: AuditLog,
        limits: RateLimits,
        clock: Clock = utc_now,
        others: Mapping[str, EidRuntime] | None = None,
    ) -> None:
        """``eid`` is the deployment's first provider (BankID); ``others`` the ones offered beside
        it (Freja eID), by name. Each has its own collect loop."""
        self._engine = engine
        self._eid = eid
        self._runtimes = {eid.name: eid, **(others or {})}
        self._vault = vault
        self._audit = audit
        self._limits = limits
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_hint: dict[str, str | None] = {}
        #: Told, after the commit, of entries a newer device of the same person took over
        #: (meeting id, {attendance id: reason}): the server closes their sockets.
        self.on_replaced: Callable[[str, dict[str, str]], Awaitable[None]] | None = None

    @property
    def methods(self) -> tuple[str, ...]:
        """The providers this process offers, the first one first."""
        return tuple(self._runtimes)

    def _runtime(self, name: str) -> EidRuntime:
        # An order of a provider switched off since it started is still shown, in BankID's words.
        return self._runtimes.get(name, self._eid)

    # Starting --------------------------------------------------------------------------------

    async def _check_rate(self, connection: Connection, session: BrowserSession, address_hash: str) -> None:
        since = self._clock() - self._limits.window
        if session.participant_id is not None:
            by_subject = await identifications.started_for_participant_since(connection, session.participant_id, since)
        else:
            by_subject = await identifications.started_in_session_since(connection, session.id, since)
        if by_subject >= self._limits.per_subject:
            raise TooManyAttempts()
        if (
            await identifications.started_from_address_since(connection, address_hash, since)
            >= self._limits.per_address
        ):
            raise TooManyAttempts()

    async def start(
        self,
        session: BrowserSession,
        *,
        same_device: bool,
        client_address: str,
        user_agent: str | None,
        return_url: str | None,
        method: str | None = None,
    ) -> None:
        runtime = self._runtimes.get(method or self._eid.name)
        if runtime is None:
            raise UnknownMethod()
        address_hash = self._vault.keyed_hash(f"address:{client_address}")
        async with self._engine.begin() as connection:
            await self._check_rate(connection, session, address_hash)
            # A new start supersedes an unfinished one of the same session.
            previous = await self._latest(connection, session.id)
        if previous is not None and previous.state == PENDING:
            await self.cancel(session)
        try:
            order = await runtime.provider.start(
                StartRequest(
                    end_user_ip=client_address,
                    same_device=same_device,
                    return_url=return_url,
                    user_agent=user_agent,
                )
            )
        except IdentityError as exc:
            code = getattr(exc, "error_code", None)
            log.warning("eID start failed: %s", code or exc.__class__.__name__)
            async with self._engine.begin() as connection:
                await self._audit.append(
                    connection,
                    actor=self._actor(session),
                    action="identification.start_failed",
                    subject_type="participant" if session.participant_id else "session",
                    subject_id=session.participant_id or session.id,
                    details={"provider": runtime.name, "error_code": code or exc.__class__.__name__},
                    now=self._clock(),
                )
            raise IdentificationUnavailable(runtime.error_message(code, session.language.value), code) from None
        now = self._clock()
        async with self._engine.begin() as connection:
            await identifications.insert_identification(
                connection,
                NewIdentification(
                    id=str(uuid.uuid4()),
                    session_id=session.id,
                    participant_id=session.participant_id,
                    provider=runtime.name,
                    order_ref=order.order_ref,
                    auto_start_token=order.auto_start_token,
                    qr_start_token=order.qr_start_token,
                    qr_start_secret_enc=(
                        self._vault.encrypt(order.qr_start_secret, f"qr:{order.order_ref}")
                        if order.qr_start_secret
                        else None
                    ),
                    provider_state=json.dumps(dict(order.provider_state)),
                    same_device=same_device,
                    client_address_hash=address_hash,
                    state=PENDING,
                    hint_code=runtime.initial_hint,
                    started_at=order.started_at,
                ),
            )
            await self._audit.append(
                connection,
                actor=self._actor(session),
                action="identification.started",
                subject_type="participant" if session.participant_id else "session",
                subject_id=session.participant_id or session.id,
                details={"provider": runtime.name, "same_device": same_device},
                now=now,
            )
        self._watch(runtime, order.order_ref)

    def _watch(self, runtime: EidRuntime, order_ref: str) -> None:
        future = runtime.loop.watch(order_ref, on_status=self._on_status)
        future.add_done_callback(functools.partial(self._on_done, order_ref))

    @staticmethod
    def _actor(session: BrowserSession) -> str:
        if session.participant_id:
            return f"participant:{session.participant_id}"
        return f"session:{session.id}"

    # Status ----------------------------------------------------------------------------------

    async def _latest(self, connection: Connection, session_id: str) -> IdentificationRecord | None:
        return await identifications.latest_in_session(connection, session_id)

    async def view(self, session: BrowserSession, *, mobile: bool, return_url: str | None) -> IdentificationView | None:
        async with self._engine.connect() as connection:
            row = await self._latest(connection, session.id)
        if row is None:
            return None
        language = session.language.value
        pending = row.state == PENDING
        runtime = self._runtime(row.provider)
        if row.state == CANCELLED:
            message = runtime.hint_message(
                "cancelled", pending=False, same_device=row.same_device, mobile=mobile, language=language
            )
        else:
            message = runtime.hint_message(
                row.hint_code, pending=pending, same_device=row.same_device, mobile=mobile, language=language
            )
        view = IdentificationView(
            row.state, row.hint_code, message, row.same_device, row.outcome, provider=runtime.name
        )
        if not pending:
            return view
        order = Order(
            order_ref=row.order_ref,
            started_at=row.started_at,
            auto_start_token=row.auto_start_token,
            qr_start_token=row.qr_start_token,
            qr_start_secret=(
                self._vault.decrypt(row.qr_start_secret_enc, f"qr:{row.order_ref}") if row.qr_start_secret_enc else None
            ),
            provider_state=json.loads(row.provider_state or "{}"),
        )
        if row.same_device:
            return dataclasses.replace(view, autostart_url=runtime.autostart_url(order, return_url, mobile))
        return dataclasses.replace(view, qr_data=runtime.provider.qr_data(order, self._clock()))

    async def verified(self, session: BrowserSession) -> bool:
        """Whether this session completed an identification."""
        async with self._engine.connect() as connection:
            row = await self._latest(connection, session.id)
        return row is not None and row.state == COMPLETE

    async def finish_staff_sign_in(self, session: BrowserSession, sessions: BrowserSessions) -> IssuedSession | None:
        """If this anonymous session's sign-in found a staff member, replace it by a signed-in one."""
        async with self._engine.begin() as connection:
            row = await self._latest(connection, session.id)
            if row is None or row.state != COMPLETE or row.outcome != "staff" or row.staff_id is None:
                return None
            return await sessions.sign_in_staff(connection, session.id, row.staff_id)

    # Cancelling ------------------------------------------------------------------------------

    async def cancel(self, session: BrowserSession) -> None:
        async with self._engine.begin() as connection:
            row = await self._latest(connection, session.id)
            if row is None or row.state != PENDING:
                raise Conflict("there is no identification in progress")
            await identifications.cancel_if_pending(connection, row.id, now=self._clock())
        runtime = self._runtime(row.provider)
        runtime.loop.unwatch(row.order_ref)
        try:
            await runtime.provider.cancel(row.order_ref)
        except IdentityError as exc:  # the order may have ended at the provider already
            log.info("eID cancel: %s", getattr(exc, "error_code", exc.__class__.__name__))

    # Completion (called by the collect loop) -------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_status(self, status: OrderStatus) -> None:
        if status.state is OrderState.PENDING and self._last_hint.get(status.order_ref) != status.hint_code:
            self._last_hint[status.order_ref] = status.hint_code
            self._spawn(self._record_hint(status))

    def _on_done(self, order_ref: str, future: asyncio.Future[OrderStatus]) -> None:
        self._last_hint.pop(order_ref, None)
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            log.warning("collect failed: %s", getattr(error, "error_code", error.__class__.__name__))
            self._spawn(self._record_failure(order_ref, getattr(error, "error_code", None) or "internalError"))
            return
        status = future.result()
        if status.state is OrderState.COMPLETE and status.identity is not None:
            self._spawn(self._record_completion(order_ref, status.identity))
        else:
            self._spawn(self._record_failure(order_ref, status.hint_code))

    async def _record_hint(self, status: OrderStatus) -> None:
        async with self._engine.begin() as connection:
            await identifications.record_hint_if_pending(connection, status.order_ref, status.hint_code)

    async def _record_failure(self, order_ref: str, hint_code: str | None) -> None:
        async with self._engine.begin() as connection:
            row = await identifications.by_order_ref(connection, order_ref)
            if row is None or row.state != PENDING:
                return
            now = self._clock()
            await identifications.mark_failed(connection, row.id, hint_code=hint_code, now=now)
            await self._audit.append(
                connection,
                actor="system",
                action="identification.failed",
                subject_type="participant" if row.participant_id else "session",
                subject_id=row.participant_id or row.session_id,
                details={"provider": row.provider, "hint_code": hint_code},
                now=now,
            )

    async def _record_completion(self, order_ref: str, identity: VerifiedIdentity) -> None:
        verified_hash = self._vault.keyed_hash(identity.personal_number)
        now = self._clock()
        async with self._engine.begin() as connection:
            row = await identifications.by_order_ref(connection, order_ref)
            if row is None or row.state != PENDING:
                return
            staff_id: str | None
            replaced: dict[str, str] = {}
            meeting_id = ""
            if row.participant_id is not None:
                outcome, replaced = await self._bind_participant(
                    connection, row.participant_id, row.session_id, identity, verified_hash, now
                )
                meeting_id = (await participants.meeting_end(connection, row.participant_id)).meeting_id
                staff_id = None
                subject_type, subject_id = "participant", row.participant_id
                action = "participant.identified"
            else:
                staff_id = await identifications.staff_id_for_sign_in(connection, personal_number_hash=verified_hash)
                outcome = "staff" if staff_id else "not_staff"
                subject_type, subject_id = ("staff", staff_id) if staff_id else ("session", row.session_id)
                action = "staff.signed_in" if staff_id else "staff.sign_in_refused"
            await identifications.mark_complete(
                connection,
                row.id,
                outcome=outcome,
                staff_id=staff_id,
                level_of_assurance=identity.level_of_assurance,
                now=now,
            )
            await self._audit.append(
                connection,
                actor=f"participant:{row.participant_id}" if row.participant_id else "system",
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                details={
                    "provider": identity.provider,
                    "level_of_assurance": identity.level_of_assurance,
                    "outcome": outcome,
                },
                now=now,
            )
        if replaced and self.on_replaced is not None:
            await self.on_replaced(meeting_id, replaced)

    async def _bind_participant(
        self,
        connection: Connection,
        participant_id: str,
        session_id: str,
        identity: VerifiedIdentity,
        verified_hash: str,
        now: datetime,
    ) -> tuple[str, dict[str, str]]:
        expected = await participants.expected_personal_number_hash(connection, participant_id)
        matches: bool | None
        if expected is None:
            matches, outcome = None, "unexpected"
        else:
            matches = hmac.compare_digest(expected, verified_hash)
            outcome = "matched" if matches else "mismatch"
        replaced = await bind_session(
            connection,
            self._audit,
            session_id=session_id,
            participant_id=participant_id,
            given_name=identity.given_name,
            surname=identity.surname,
            personal_number_hash=verified_hash,
            matches_invitation=matches,
            provider=identity.provider,
            level_of_assurance=identity.level_of_assurance,
            now=now,
        )
        # The invitation's own record keeps the first person eID vouched for: a later
        # identification through the same link never relabels it (each entry has its own).
        await participants.bind_identity_once(
            connection,
            participant_id,
            VerifiedPerson(
                given_name=identity.given_name,
                surname=identity.surname,
                personal_number_hash=verified_hash,
                matches_invitation=matches,
                provider=identity.provider,
                level_of_assurance=identity.level_of_assurance,
                verified_at=now,
            ),
        )
        return outcome, replaced

    async def drain(self) -> None:
        """Wait for recordings in flight (used at shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*tuple(self._tasks), return_exceptions=True)
