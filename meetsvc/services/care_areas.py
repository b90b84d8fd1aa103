"""Managing an organisation's own areas of care: list, add, retire and bring back.

Retiring never deletes: meetings and statistics recorded under an area keep it, only new
meetings can no longer choose it. Every change is audited.
"""

from __future__ import annotations

from meetsvc.core.clock import Clock, utc_now
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.care_areas import CareArea, check_new_area
from meetsvc.domain.errors import Conflict, NotFound, RuleViolation
from meetsvc.services.audit import AuditLog
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import care_areas as queries


class CareAreas:
    def __init__(self, engine: Engine, audit: AuditLog, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._audit = audit
        self._clock = clock

    async def list(self, organisation_id: str, *, active_only: bool = False) -> list[CareArea]:
        async with self._engine.connect() as connection:
            areas = await queries.of_organisation(connection, organisation_id)
        return [a for a in areas if a.active or not active_only]

    async def add(self, caller: OrganisationCaller, code: str, name_sv: str, name_en: str) -> CareArea:
        violations = check_new_area(code, name_sv, name_en)
        if violations:
            raise RuleViolation(violations)
        try:
            async with self._engine.begin() as connection:
                area = await queries.insert(
                    connection, caller.organisation_id, code, name_sv.strip(), name_en.strip(), self._clock()
                )
                await self._audit.append(
                    connection,
                    actor=caller.actor,
                    action="care_area.added",
                    subject_type="care_area",
                    subject_id=area.id,
                    details={"code": code},
                )
        except queries.DuplicateCareArea:
            raise Conflict("the organisation has an area of care with that code already") from None
        return area

    async def set_active(self, caller: OrganisationCaller, code: str, active: bool) -> CareArea:
        """Retire an area (``active`` False) or bring a retired one back."""
        async with self._engine.begin() as connection:
            area = await queries.by_code(connection, caller.organisation_id, code)
            if area is None:
                raise NotFound("no such area of care")
            if area.active != active:
                await queries.set_active(connection, area.id, active, self._clock())
                await self._audit.append(
                    connection,
                    actor=caller.actor,
                    action="care_area.reactivated" if active else "care_area.retired",
                    subject_type="care_area",
                    subject_id=area.id,
                    details={"code": code},
                )
        return CareArea(area.id, area.organisation_id, area.code, area.name_sv, area.name_en, active)
