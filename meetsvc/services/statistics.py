"""Statistics of SIP meetings: recording what they are counted by, and the year's closing.

:class:`StatisticsRecorder` is called inside other use cases' transactions (booking an
individual, admitting someone), so what statistics keep is written with the change itself.
:class:`Statistics` holds the use cases of their own: a meeting's outcome, the cases reported as
the denominator, and closing a year (its pseudonyms and key are destroyed, counts remain).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from identity.personnummer import PersonalNumber
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import Conflict, Forbidden, NotFound, RuleViolation, Violation
from meetsvc.domain.roles import may_read_statistics
from meetsvc.domain.statistics import (
    AgeBand,
    Gender,
    Outcome,
    OutcomeRecord,
    Reason,
    age_band,
    check_outcome,
    legal_gender,
    pseudonym,
)
from meetsvc.services.audit import AuditLog
from meetsvc.storage.engine import Connection, Engine
from meetsvc.storage.queries import care_areas, meetings, statistics as queries


def _local_year(moment: datetime, time_zone: str) -> int:
    return moment.astimezone(ZoneInfo(time_zone)).year


def _purpose(year: int) -> str:
    return f"statistics-year:{year}"


class StatisticsRecorder:
    def __init__(self, vault: PersonalNumberVault, clock: Clock = utc_now) -> None:
        self._vault = vault
        self._clock = clock

    async def year_key(self, connection: Connection, year: int) -> bytes | None:
        """The year's pseudonym key, made on first use; None once the year is closed."""
        found = await queries.year_key(connection, year)
        if found is None:
            key = os.urandom(32)
            if await queries.insert_year_key(
                connection, year, self._vault.encrypt(key.hex(), _purpose(year)), self._clock()
            ):
                return key
            found = await queries.year_key(connection, year)
        if found is None or found.closed or found.key_enc is None:
            return None
        return bytes.fromhex(self._vault.decrypt(found.key_enc, _purpose(year)))

    async def individual_booked(self, connection: Connection, meeting_id: str, personal_number: PersonalNumber) -> None:
        """The meeting is for this individual: keep their legal gender, age band on the day of
        the meeting and the year's pseudonym, never the number."""
        meeting = await queries.meeting_time(connection, meeting_id)
        if meeting is None:
            return
        year = _local_year(meeting.starts_at, meeting.time_zone)
        key = await self.year_key(connection, year)
        if key is None:
            return
        on = meeting.starts_at.astimezone(ZoneInfo(meeting.time_zone)).date()
        await queries.save(
            connection,
            meeting_id,
            year,
            self._clock(),
            gender=legal_gender(personal_number.normal).value,
            age_band=age_band(personal_number.birth_date, on).value,
            pseudonym=pseudonym(key, "person:" + personal_number.normal),
            derived=True,
        )

    async def admitted(self, connection: Connection, meeting_id: str, waiting_since: datetime | None) -> None:
        """Someone was let in: how long they waited counts, not who it was."""
        meeting = await queries.meeting_time(connection, meeting_id)
        if meeting is None or waiting_since is None:
            return
        await self.admitted_from(connection, meeting_id, meeting.starts_at, meeting.time_zone, [waiting_since])

    async def admitted_from(
        self,
        connection: Connection,
        meeting_id: str,
        starts_at: datetime,
        time_zone: str,
        waiting_since: list[datetime | None],
    ) -> None:
        """People were let in, waiting since these times, at a meeting the caller has read
        (its start and time zone say which year they count in): one statement for them all."""
        now = self._clock()
        waited = [max(0, int((now - since).total_seconds())) for since in waiting_since if since is not None]
        await queries.add_waits(connection, meeting_id, _local_year(starts_at, time_zone), waited)


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    record: OutcomeRecord | None
    gender: Gender | None
    age_band: AgeBand | None
    #: True: gender and age band came from the personal identity number (the leader cannot set them).
    derived: bool


class Statistics:
    def __init__(self, engine: Engine, audit: AuditLog, recorder: StatisticsRecorder, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._audit = audit
        self._recorder = recorder
        self._clock = clock

    @property
    def recorder(self) -> StatisticsRecorder:
        return self._recorder

    async def outcome(self, caller: OrganisationCaller, meeting_id: str) -> RecordedOutcome:
        async with self._engine.connect() as connection:
            if await meetings.meeting(connection, meeting_id, organisation_id=caller.organisation_id) is None:
                raise NotFound("no such meeting")
            return _recorded(await queries.statistics_of(connection, meeting_id))

    async def record_outcome(
        self,
        caller: OrganisationCaller,
        meeting_id: str,
        record: OutcomeRecord,
        *,
        gender: Gender | None = None,
        band: AgeBand | None = None,
    ) -> RecordedOutcome:
        """The leader's account of the meeting, once it has started. Gender and age band given
        here count only where no personal identity number gave them."""
        now = self._clock()
        async with self._engine.begin() as connection:
            meeting = await meetings.meeting(connection, meeting_id, organisation_id=caller.organisation_id, lock=True)
            if meeting is None:
                raise NotFound("no such meeting")
            if meeting.starts_at > now:
                raise Conflict("the outcome is recorded after the meeting's start")
            year = _local_year(meeting.starts_at, meeting.time_zone)
            key = await self._recorder.year_key(connection, year)
            if key is None:
                raise Conflict("the meeting's year is closed; its statistics can no longer change")
            before = _recorded(await queries.statistics_of(connection, meeting_id))
            if before.derived:
                gender, band = before.gender, before.age_band
            violations = check_outcome(record, band)
            if violations:
                raise RuleViolation(violations)
            values: dict[str, object] = {
                "outcome": record.outcome.value,
                "reason": record.reason.value if record.reason else None,
                "individual_took_part": record.individual_took_part,
                "child_took_part": record.child_took_part,
                "recorded_at": now,
            }
            if not before.derived:
                values |= {
                    "gender": gender.value if gender else None,
                    "age_band": band.value if band else None,
                    # Without a personal number the meeting's individual counts once, as themself.
                    "pseudonym": pseudonym(key, "meeting:" + meeting_id),
                }
            await queries.save(connection, meeting_id, year, now, **values)
            await self._audit.append(
                connection,
                actor=caller.actor,
                action="meeting.outcome_recorded",
                subject_type="meeting",
                subject_id=meeting_id,
                meeting_id=meeting_id,
                details={"outcome": record.outcome.value},
            )
            return _recorded(await queries.statistics_of(connection, meeting_id))

    async def set_cases(self, caller: OrganisationCaller, year: int, area_code: str, gender: str, cases: int) -> None:
        """The denominator: how many cases the area had that year (all, or of one gender)."""
        if not may_read_statistics(
            caller.roles, caller.organisation_id, caller.organisation_id, api_client=caller.is_api_client
        ):
            raise Forbidden("the organisation's statistics are not the caller's to keep")
        violations: list[Violation] = []
        if not 2000 <= year <= 2100:
            violations.append(Violation("/year", "range", "a year between 2000 and 2100"))
        if gender not in ("all", *(g.value for g in Gender)):
            violations.append(Violation("/gender", "enum", "all, woman, man or other"))
        if not 0 <= cases <= 10_000_000:
            violations.append(Violation("/cases", "range", "0 or more"))
        async with self._engine.begin() as connection:
            area = await care_areas.by_code(connection, caller.organisation_id, area_code)
            if area is None:
                violations.append(Violation("/care_area", "care_area", "not one of the organisation's areas of care"))
            if violations or area is None:
                raise RuleViolation(violations)
            await queries.set_cases(connection, year, caller.organisation_id, area.id, gender, cases, self._clock())
            await self._audit.append(
                connection,
                actor=caller.actor,
                action="statistics.cases_reported",
                subject_type="care_area",
                subject_id=area.id,
                details={"year": year, "gender": gender, "cases": cases},
            )

    async def close_year(self, year: int, *, actor: str = "operator") -> int:
        """Fix the year's counts of individuals, erase its pseudonyms and destroy its key: after
        this nobody, with any key, can tell which meetings were one person's. How many cells."""
        if year >= _local_year(self._clock(), "Europe/Stockholm"):
            raise Conflict("only a past year can be closed")
        async with self._engine.begin() as connection:
            if year in await queries.closed_years(connection):
                raise Conflict("the year is closed already")
            cells = await queries.close_year(connection, year, self._clock())
            await self._audit.append(
                connection,
                actor=actor,
                action="statistics.year_closed",
                subject_type="statistics_year",
                subject_id=str(year),
                details={"cells": cells},
            )
        return cells


def _recorded(row: Any) -> RecordedOutcome:
    if row is None:
        return RecordedOutcome(None, None, None, False)
    record = (
        OutcomeRecord(
            Outcome(row.outcome),
            Reason(row.reason) if row.reason else None,
            row.individual_took_part,
            row.child_took_part,
        )
        if row.outcome
        else None
    )
    return RecordedOutcome(
        record,
        Gender(row.gender) if row.gender else None,
        AgeBand(row.age_band) if row.age_band else None,
        derived=bool(row.derived),
    )
