"""Organisations, their staff and their API clients: who may organise meetings, and for whom.

Organisations and API clients are created by operators from the command line; staff members
are managed by each organisation through the API.
"""

from __future__ import annotations

import dataclasses
import uuid

from identity.personnummer import InvalidPersonalNumber, PersonalNumber
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.tokens import looks_like_token, new_api_key, token_hash
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import Conflict, NotFound, RuleViolation, Violation
from meetsvc.domain.model import Organisation, OrganisationKind, StaffMember
from meetsvc.domain.rules import check_email, check_hsa_id, check_text, contains_personal_number
from meetsvc.services.audit import AuditLog
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import organisations as queries


def parse_personal_number(field: str, text: str) -> PersonalNumber:
    try:
        return PersonalNumber.parse(text)
    except InvalidPersonalNumber as exc:
        raise RuleViolation.single(field, f"personal_number_{exc.reason}", str(exc)) from None


async def load_organisation(connection: Connection, organisation_id: str) -> Organisation | None:
    """An organisation by id inside the caller's transaction; other use cases check a meeting's
    organisations with it."""
    return await queries.organisation(connection, organisation_id)


class Directory:
    def __init__(self, engine: Engine, audit: AuditLog, vault: PersonalNumberVault, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._audit = audit
        self._vault = vault
        self._clock = clock

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
    ) -> StaffMember:
        violations = check_text("/display_name", display_name, max_length=200) + check_email("/email", email)
        violations += check_hsa_id("/hsa_id", hsa_id)
        if violations:
            raise RuleViolation(violations)
        number = parse_personal_number("/personal_number", personal_number) if personal_number else None
        staff_id = str(uuid.uuid4())
        new = queries.NewStaffMember(
            id=staff_id,
            organisation_id=caller.organisation_id,
            display_name=display_name.strip(),
            email=email,
            can_organise=can_organise,
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
                    details={"can_organise": can_organise, "hsa_id": hsa_id is not None},
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
        return StaffMember(
            staff_id, caller.organisation_id, new.display_name, email, can_organise, number is not None, hsa_id
        )

    async def set_hsa_id(self, caller: OrganisationCaller, staff_id: str, hsa_id: str | None) -> StaffMember:
        """Set or (with None) remove the HSA-id a SITHS sign-in is matched by; one of the caller's
        organisation's staff only."""
        violations = check_hsa_id("/hsa_id", hsa_id)
        if violations:
            raise RuleViolation(violations)
        try:
            async with self._engine.begin() as connection:
                if not await queries.set_hsa_id(connection, staff_id, caller.organisation_id, hsa_id):
                    raise NotFound("no such staff member")
                await self._audit.append(
                    connection,
                    actor=caller.actor,
                    action="staff.hsa_id_set" if hsa_id else "staff.hsa_id_removed",
                    subject_type="staff",
                    subject_id=staff_id,
                )
                member = await queries.staff_member(connection, staff_id)
        except queries.DuplicateStaffMember:
            raise RuleViolation([Violation("/hsa_id", "unique", "another staff member has this HSA-id")]) from None
        assert member is not None
        return member

    async def list_staff(self, caller: OrganisationCaller) -> list[StaffMember]:
        async with self._engine.connect() as connection:
            return await queries.staff_of_organisation(connection, caller.organisation_id)

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
