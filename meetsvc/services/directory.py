"""Organisations, their staff and their API clients: who may organise meetings, and for whom.

Organisations and API clients are created by operators from the command line; staff members are
managed by each organisation's administrators (or its API clients, the organisation's own
systems) through the API, the admin page and the command line. Deactivating a staff member ends
their sessions in the same transaction, and then tells the listeners (the waiting room closes
their open consoles); a revoked API key is refused from the next request on.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Awaitable, Callable

from identity.personnummer import InvalidPersonalNumber, PersonalNumber
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.tokens import looks_like_token, new_api_key, token_hash
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import Conflict, Forbidden, NotFound, RuleViolation, Violation
from meetsvc.domain.model import Organisation, OrganisationKind, StaffMember
from meetsvc.domain.roles import ORGANISING, Role, may_administer, may_host, roles_text
from meetsvc.domain.rules import check_email, check_hsa_id, check_text, contains_personal_number
from meetsvc.services.audit import AuditLog
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import organisations as queries, sessions as stored_sessions
from meetsvc.storage.queries.organisations import ApiClientRecord, StaffChanges

log = logging.getLogger(__name__)

#: Told a staff member's id after their sessions were ended (they were deactivated).
SignedOutListener = Callable[[str], Awaitable[None]]


def require_administrator(caller: OrganisationCaller) -> None:
    """The staff directory and API clients are administrators' (an API client is its
    organisation's own system and keeps the directory too)."""
    if not caller.is_api_client and not may_administer(caller.roles):
        raise Forbidden("only an administrator may do this")


def parse_personal_number(field: str, text: str) -> PersonalNumber:
    try:
        return PersonalNumber.parse(text)
    except InvalidPersonalNumber as exc:
        raise RuleViolation.single(field, f"personal_number_{exc.reason}", str(exc)) from None


async def load_organisation(connection: Connection, organisation_id: str) -> Organisation | None:
    """An organisation by id inside the caller's transaction; other use cases check a meeting's
    organisations with it."""
    return await queries.organisation(connection, organisation_id)


#: A phone number as people write it: digits, spaces, hyphens, an optional leading +.
CONTACT_PHONE = re.compile(r"\+?[0-9][0-9 -]{4,28}[0-9]")


class Directory:
    def __init__(self, engine: Engine, audit: AuditLog, vault: PersonalNumberVault, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._audit = audit
        self._vault = vault
        self._clock = clock
        self._signed_out: list[SignedOutListener] = []

    def listen_signed_out(self, listener: SignedOutListener) -> None:
        """Call ``listener`` with a staff member's id after their sessions were ended."""
        self._signed_out.append(listener)

    # Organisations ----------------------------------------------------------------------------

    async def create_organisation(
        self, name: str, kind: OrganisationKind, *, public_name: str | None = None, actor: str = "operator"
    ) -> Organisation:
        violations = check_text("/name", name, max_length=200)
        violations += _check_public_name(public_name)
        if violations:
            raise RuleViolation(violations)
        organisation = Organisation(
            id=str(uuid.uuid4()), name=name.strip(), kind=kind, public_name=_public_name(public_name)
        )
        try:
            async with self._engine.begin() as connection:
                await queries.insert_organisation(connection, organisation, self._clock())
                await self._audit.append(
                    connection,
                    actor=actor,
                    action="organisation.created",
                    subject_type="organisation",
                    subject_id=organisation.id,
                    details={"kind": kind.value},
                )
        except queries.DuplicateOrganisation:
            raise Conflict("an organisation with that name exists already") from None
        return organisation

    async def set_public_name(
        self, id_or_name: str, public_name: str | None, *, actor: str = "operator"
    ) -> Organisation:
        """What citizens' messages call the organisation; None or blank goes back to the default
        (the name up to its first comma). Messages already recorded keep their text."""
        violations = _check_public_name(public_name)
        if violations:
            raise RuleViolation(violations)
        async with self._engine.begin() as connection:
            found = await queries.organisation_by_id_or_name(connection, id_or_name)
            if found is None:
                raise NotFound("no such organisation")
            updated = dataclasses.replace(found, public_name=_public_name(public_name))
            await queries.set_public_name(connection, found.id, updated.public_name)
            await self._audit.append(
                connection,
                actor=actor,
                action="organisation.public_name_set",
                subject_type="organisation",
                subject_id=found.id,
            )
        return updated

    async def set_contact_phone(self, id_or_name: str, phone: str | None, *, actor: str = "operator") -> Organisation:
        """The number citizens may call about a meeting (a switchboard or the unit's line, never
        a person's own); None or blank removes it. Messages already recorded keep their text."""
        given = " ".join((phone or "").split()) or None
        if given is not None and (not CONTACT_PHONE.fullmatch(given) or contains_personal_number(given)):
            raise RuleViolation.single("/contact_phone", "phone", "give a phone number, e.g. 0771-123 456")
        async with self._engine.begin() as connection:
            found = await queries.organisation_by_id_or_name(connection, id_or_name)
            if found is None:
                raise NotFound("no such organisation")
            updated = dataclasses.replace(found, contact_phone=given)
            await queries.set_contact_phone(connection, found.id, given)
            await self._audit.append(
                connection,
                actor=actor,
                action="organisation.contact_phone_set",
                subject_type="organisation",
                subject_id=found.id,
            )
        return updated

    async def list_organisations(self) -> list[Organisation]:
        async with self._engine.connect() as connection:
            return await queries.all_organisations(connection)

    async def find_organisation(self, id_or_name: str) -> Organisation:
        async with self._engine.connect() as connection:
            found = await queries.organisation_by_id_or_name(connection, id_or_name)
        if found is None:
            raise NotFound("no such organisation")
        return found

    # API clients ------------------------------------------------------------------------------

    async def create_api_client(self, organisation_id: str, name: str, *, actor: str = "operator") -> tuple[str, str]:
        """Create a client and return ``(client_id, key)``; the key is shown this once only."""
        violations = check_text("/name", name, max_length=200)
        if violations:
            raise RuleViolation(violations)
        key, client_id = new_api_key(), str(uuid.uuid4())
        async with self._engine.begin() as connection:
            if await load_organisation(connection, organisation_id) is None:
                raise NotFound("no such organisation")
            await queries.insert_api_client(
                connection,
                client_id=client_id,
                organisation_id=organisation_id,
                name=name.strip(),
                key_hash=token_hash(key),
                created_at=self._clock(),
            )
            await self._audit.append(
                connection,
                actor=actor,
                action="api_client.created",
                subject_type="api_client",
                subject_id=client_id,
                details={"organisation_id": organisation_id},
            )
        return client_id, key

    async def list_api_clients(self, organisation_id: str | None) -> list[ApiClientRecord]:
        """An organisation's API clients (None: every organisation's, for the operator)."""
        async with self._engine.connect() as connection:
            return await queries.api_clients_of_organisation(connection, organisation_id)

    async def revoke_api_client(self, client_id: str, *, organisation_id: str | None, actor: str) -> ApiClientRecord:
        """Revoke a key at once (the next request with it is refused). ``organisation_id``: only
        one of that organisation's clients (None: the operator, any)."""
        async with self._engine.begin() as connection:
            found = await queries.api_client(connection, client_id)
            if found is None or (organisation_id is not None and found.organisation_id != organisation_id):
                raise NotFound("no such API client")
            if await queries.revoke_api_client(connection, client_id, self._clock()):
                await self._audit.append(
                    connection,
                    actor=actor,
                    action="api_client.revoked",
                    subject_type="api_client",
                    subject_id=client_id,
                    details={"organisation_id": found.organisation_id},
                )
            revoked = await queries.api_client(connection, client_id)
        assert revoked is not None
        return revoked

    async def authenticate_api_key(self, key: str) -> OrganisationCaller | None:
        if not key.startswith("msk_") or not looks_like_token(key[4:]):
            return None
        async with self._engine.connect() as connection:
            client = await queries.api_client_by_key_hash(connection, token_hash(key))
        if client is None:
            return None
        return OrganisationCaller(organisation_id=client.organisation_id, actor=f"api-client:{client.id}")

    # Staff ------------------------------------------------------------------------------------

    async def add_staff_member(
        self,
        caller: OrganisationCaller,
        *,
        display_name: str,
        email: str | None = None,
        personal_number: str | None = None,
        can_organise: bool = True,
        hsa_id: str | None = None,
        roles: frozenset[Role] | None = None,
    ) -> StaffMember:
        """``roles`` None: organiser and host when ``can_organise`` (what the flag meant), else none."""
        require_administrator(caller)
        violations = check_text("/display_name", display_name, max_length=200) + check_email("/email", email)
        violations += check_hsa_id("/hsa_id", hsa_id)
        if violations:
            raise RuleViolation(violations)
        if roles is None:
            roles = ORGANISING if can_organise else frozenset()
        number = parse_personal_number("/personal_number", personal_number) if personal_number else None
        staff_id = str(uuid.uuid4())
        new = queries.NewStaffMember(
            id=staff_id,
            organisation_id=caller.organisation_id,
            display_name=display_name.strip(),
            email=email,
            roles=roles,
            created_at=self._clock(),
            personal_number_enc=self._vault.encrypt(number.normal, "staff") if number else None,
            personal_number_hash=self._vault.keyed_hash(number.normal) if number else None,
            hsa_id=hsa_id,
        )
        try:
            async with self._engine.begin() as connection:
                await queries.insert_staff_member(connection, new)
                await self._audit.append(
                    connection,
                    actor=caller.actor,
                    action="staff.added",
                    subject_type="staff",
                    subject_id=staff_id,
                    details={"roles": roles_text(roles), "hsa_id": hsa_id is not None},
                )
        except queries.DuplicateStaffMember:
            raise RuleViolation(
                [
                    Violation(
                        "/hsa_id" if number is None else "/personal_number",
                        "unique",
                        "a staff member with this personal identity number or HSA-id exists already",
                    )
                ]
            ) from None
        return StaffMember(staff_id, caller.organisation_id, new.display_name, email, roles, number is not None, hsa_id)

    async def set_hsa_id(self, caller: OrganisationCaller, staff_id: str, hsa_id: str | None) -> StaffMember:
        """Set or (with None) remove the HSA-id a SITHS sign-in is matched by; one of the caller's
        organisation's staff only."""
        return await self.change_staff_member(caller, staff_id, hsa_id=hsa_id, set_hsa_id=True)

    async def change_staff_member(
        self,
        caller: OrganisationCaller,
        staff_id: str,
        *,
        display_name: str | None = None,
        roles: frozenset[Role] | None = None,
        email: str | None = None,
        set_email: bool = False,
        hsa_id: str | None = None,
        set_hsa_id: bool = False,
    ) -> StaffMember:
        """Change a staff member's name, roles, e-mail address or HSA-id (``set_email`` and
        ``set_hsa_id``: also to None)."""
        require_administrator(caller)
        violations = check_text("/display_name", display_name, max_length=200) if display_name is not None else []
        violations += check_email("/email", email) if set_email else []
        violations += check_hsa_id("/hsa_id", hsa_id) if set_hsa_id else []
        if violations:
            raise RuleViolation(violations)
        if caller.staff_id == staff_id and roles is not None and Role.ADMINISTRATOR not in roles:
            # Nobody locks their organisation out of its own directory by accident.
            raise RuleViolation.single(
                "/roles", "own_administrator", "you cannot take the administrator role from yourself"
            )
        changes = StaffChanges(
            display_name=display_name.strip() if display_name is not None else None,
            roles=roles,
            set_email=set_email,
            email=email,
            set_hsa_id=set_hsa_id,
            hsa_id=hsa_id,
        )
        try:
            async with self._engine.begin() as connection:
                changed = await self._change(connection, caller, staff_id, changes)
        except queries.DuplicateStaffMember:
            raise RuleViolation([Violation("/hsa_id", "unique", "another staff member has this HSA-id")]) from None
        return changed

    async def _change(
        self, connection: Connection, caller: OrganisationCaller, staff_id: str, changes: StaffChanges
    ) -> StaffMember:
        member = await queries.staff_member(connection, staff_id, organisation_id=caller.organisation_id)
        if member is None:
            raise NotFound("no such staff member")
        await queries.update_staff_member(connection, staff_id, changes)
        fields = sorted(
            name
            for name, given in (
                ("display_name", changes.display_name is not None),
                ("roles", changes.roles is not None),
                ("email", changes.set_email),
                ("hsa_id", changes.set_hsa_id),
            )
            if given
        )
        details: dict[str, object] = {"fields": fields}
        if changes.roles is not None:
            details["roles"] = roles_text(changes.roles)
        if changes.set_hsa_id:
            details["hsa_id"] = changes.hsa_id is not None
        await self._audit.append(
            connection,
            actor=caller.actor,
            action="staff.changed",
            subject_type="staff",
            subject_id=staff_id,
            details=details,
        )
        changed = await queries.staff_member(connection, staff_id)
        assert changed is not None
        return changed

    async def deactivate_staff_member(self, caller: OrganisationCaller, staff_id: str) -> StaffMember:
        """Deactivate them: they can no longer sign in, every session of theirs ends in the same
        transaction, and then the listeners close what is still open (host consoles)."""
        require_administrator(caller)
        if caller.staff_id == staff_id:
            raise RuleViolation.single("/staff_id", "not_self", "you cannot deactivate yourself")
        return await self._deactivate(caller.actor, staff_id, organisation_id=caller.organisation_id)

    async def deactivate_as_operator(self, staff_id: str, *, actor: str = "operator") -> StaffMember:
        return await self._deactivate(actor, staff_id, organisation_id=None)

    async def _deactivate(self, actor: str, staff_id: str, *, organisation_id: str | None) -> StaffMember:
        now = self._clock()
        async with self._engine.begin() as connection:
            member = await queries.staff_member(connection, staff_id, organisation_id=organisation_id)
            if member is None:
                raise NotFound("no such staff member")
            if await queries.deactivate_staff_member(connection, staff_id, now):
                ended = await stored_sessions.end_staff_sessions(connection, staff_id, now=now)
                await self._audit.append(
                    connection,
                    actor=actor,
                    action="staff.deactivated",
                    subject_type="staff",
                    subject_id=staff_id,
                    details={"sessions_ended": ended},
                )
            deactivated = await queries.staff_member(connection, staff_id)
        assert deactivated is not None
        for listener in self._signed_out:
            try:
                await listener(staff_id)
            except Exception:  # the sessions are ended; a page left open is refused on its next event
                log.exception("could not close a deactivated staff member's open pages")
        return deactivated

    async def operator_caller(self, id_or_name: str) -> OrganisationCaller:
        """The operator acting for one organisation from the command line (as its API client would)."""
        organisation = await self.find_organisation(id_or_name)
        return OrganisationCaller(organisation.id, "operator")

    async def list_staff(self, caller: OrganisationCaller) -> list[StaffMember]:
        async with self._engine.connect() as connection:
            return await queries.staff_of_organisation(connection, caller.organisation_id)

    async def hosts_of(self, organisation_id: str) -> list[StaffMember]:
        """Who of an organisation may be named a meeting's host now (active, with a role that may
        host), by name: the booking form offers them as co-hosts, the partner's staff too, since
        a meeting is led by both organisations."""
        async with self._engine.connect() as connection:
            staff = await queries.staff_of_organisation(connection, organisation_id)
        return [member for member in staff if member.active and may_host(member.roles)]

    async def staff_member(self, staff_id: str) -> StaffMember | None:
        """A staff member by id, for their own signed-in session (no organisation scope)."""
        async with self._engine.connect() as connection:
            return await queries.staff_member(connection, staff_id)

    async def get_staff_member(self, caller: OrganisationCaller, staff_id: str) -> StaffMember:
        async with self._engine.connect() as connection:
            member = await queries.staff_member(connection, staff_id, organisation_id=caller.organisation_id)
        if member is None:
            raise NotFound("no such staff member")
        return member


def _public_name(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _check_public_name(value: str | None) -> list[Violation]:
    """Blank means the default; otherwise text people read on a lock screen, never a number."""
    given = _public_name(value)
    if given is None:
        return []
    violations = check_text("/public_name", given, max_length=200)
    if not violations and contains_personal_number(given):
        violations.append(
            Violation("/public_name", "no_personal_number", "must not contain a personal identity number")
        )
    return violations
