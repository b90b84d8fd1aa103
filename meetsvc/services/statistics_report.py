"""The yearly statistics report of one organisation: the figures per area of care, made safe
to publish (:mod:`meetsvc.domain.disclosure`) before anything shows or exports them.

A person counts once per year and area of care (the pseudonym); the total row adds the areas.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.care_areas import CareArea
from meetsvc.domain.disclosure import Rule, share, suppress, with_margins
from meetsvc.domain.errors import Forbidden, NotFound
from meetsvc.domain.roles import may_read_statistics
from meetsvc.domain.statistics import AgeBand, Gender
from meetsvc.storage.engine import Engine
from meetsvc.storage.queries import care_areas, organisations, statistics as queries

GENDERS = (Gender.MAN.value, Gender.WOMAN.value, Gender.OTHER.value)
COUNTS = ("followed_up", "held", "not_held", "individual_took_part", "child_meetings", "child_took_part")
#: Every measure in the order the table, the chart and the exports show them.
MEASURES = (
    "established",
    "established_man",
    "established_woman",
    "established_other",
    "cases",
    "share_established",
    "share_man",
    "share_woman",
    *COUNTS,
    "wait_median_min",
)
SHARES = ("share_established", "share_man", "share_woman")


@dataclass(frozen=True, slots=True)
class Row:
    """One area (``area`` None: the total). ``values`` holds None for a figure not shown;
    ``hidden`` names those hidden by the rule (shown as ".."), the others are not available."""

    area: CareArea | None
    values: dict[str, float | int | None]
    hidden: frozenset[str] = field(default_factory=frozenset)

    def name(self, language: str) -> str:
        if self.area is None:
            return "Totalt" if language == "sv" else "Total"
        return self.area.name(language)


@dataclass(frozen=True, slots=True)
class Report:
    year: int
    organisation_id: str
    organisation_name: str
    gender: Gender | None
    age_band: AgeBand | None
    rule: Rule
    rows: list[Row]

    @property
    def total(self) -> Row:
        return self.rows[-1]


class StatisticsReports:
    def __init__(self, engine: Engine, rule: Rule | None = None) -> None:
        self._engine = engine
        self._rule = rule or Rule()

    @property
    def rule(self) -> Rule:
        return self._rule

    async def report(
        self,
        reader: OrganisationCaller,
        year: int,
        organisation_id: str | None = None,
        *,
        gender: Gender | None = None,
        band: AgeBand | None = None,
    ) -> Report:
        organisation_id = organisation_id or reader.organisation_id
        if not may_read_statistics(
            reader.roles, reader.organisation_id, organisation_id, api_client=reader.is_api_client
        ):
            raise Forbidden("statistics of this organisation are not the caller's to read")
        reports = await self.reports(year, organisation_id, gender=gender, band=band)
        if organisation_id not in reports:
            raise NotFound("no such organisation")
        return reports[organisation_id]

    async def reports(
        self,
        year: int,
        organisation_id: str | None = None,
        *,
        gender: Gender | None = None,
        band: AgeBand | None = None,
    ) -> dict[str, Report]:
        """The year's report of one organisation, or (None) of every one at once: the same few
        GROUP BY queries either way, so the national report is one pass over the year's rows and
        every organisation's report and export is laid out from its few hundred groups. No
        reader check: callers decide who may see what (:meth:`report`).

        Everything but the cells (the organisations, their areas, the cases and the median
        waits, which read a table of their own) is read on a second connection while the first
        counts the cells, the report's largest query."""
        # A plain task, not a TaskGroup: a failure is raised as itself (an unreachable database
        # stays DatabaseUnreachable), and the other query is not left running.
        beside = asyncio.ensure_future(self._beside_cells(year, organisation_id))
        try:
            async with self._engine.connect() as connection:
                only = {"gender": gender.value if gender else None, "age_band": band.value if band else None}
                individuals, meetings = await queries.cells(connection, year, organisation_id, **only)
        except BaseException:
            beside.cancel()
            raise
        everyone, areas, cases, waits = await beside
        by: dict[str, tuple[list[Any], list[Any], list[Any]]] = {o.id: ([], [], []) for o in everyone}
        for k, rows in enumerate((individuals, meetings, cases)):
            for row in rows:
                if row.organisation_id in by:
                    by[row.organisation_id][k].append(row)
        waits_by: dict[str, dict[str | None, float]] = {}
        for (org, area), wait in waits.items():
            waits_by.setdefault(org, {})[area] = wait
        return {
            o.id: build(
                year,
                o.id,
                o.name,
                areas.get(o.id, []),
                *by[o.id],
                waits_by.get(o.id, {}),
                self._rule,
                gender,
                band,
            )
            for o in everyone
        }

    async def _beside_cells(
        self, year: int, organisation_id: str | None
    ) -> tuple[list[Any], dict[str, list[CareArea]], list[Any], dict[tuple[str, str | None], float]]:
        async with self._engine.connect() as connection:
            if organisation_id is not None:
                one = await organisations.organisation(connection, organisation_id)
                everyone = [one] if one is not None else []
            else:
                everyone = list(await organisations.all_organisations(connection))
            areas = await care_areas.of_organisations(
                connection, None if organisation_id is None else [organisation_id]
            )
            cases = await queries.cases(connection, year, organisation_id)
            waits = await queries.median_waits(connection, year, organisation_id)
        return everyone, areas, cases, waits


def build(  # the figures come from four queries
    year: int,
    organisation_id: str,
    organisation_name: str,
    areas: list[CareArea],
    individuals: list[Any],
    meetings: list[Any],
    cases: list[Any],
    waits: dict[str | None, float],
    rule: Rule,
    gender: Gender | None = None,
    band: AgeBand | None = None,
) -> Report:
    used = {r.care_area_id for r in (*individuals, *meetings, *cases)}
    shown = [a for a in areas if a.active or a.id in used]
    position = {a.id: i for i, a in enumerate(shown)}
    established = [[0, 0, 0] for _ in shown]
    counts = {name: [0] * len(shown) for name in COUNTS}
    for r in individuals:
        if r.care_area_id in position:
            i = position[r.care_area_id]
            established[i][GENDERS.index(r.gender)] += r.established
            counts["followed_up"][i] += r.followed_up
    for r in meetings:
        if r.care_area_id in position:
            i = position[r.care_area_id]
            for name in COUNTS[1:]:
                counts[name][i] += getattr(r, name)
    # The denominator: all cases, or one gender's when the report is of one gender; none by age.
    wanted = gender.value if gender else "all"
    denominator: list[int | None] = [None] * len(shown)
    for r in cases:
        if r.gender == wanted and r.care_area_id in position and band is None:
            denominator[position[r.care_area_id]] = r.cases

    # What may be shown.
    table = with_margins(established)
    hidden_established = suppress(table, rule, paired_columns=(0, 1))
    hidden: dict[int, set[str]] = {i: set() for i in range(len(shown) + 1)}
    names = ("established_man", "established_woman", "established_other", "established")
    for i, j in hidden_established:
        hidden[i].add(names[j])
    columns: dict[str, list[int]] = {name: [*values, sum(values)] for name, values in counts.items()}
    known_cases = [c for c in denominator if c is not None]
    for name, column in columns.items():
        for i, j in suppress(with_margins([[v] for v in column[:-1]]), rule):
            if j == 0:
                hidden[i].add(name)
    case_column = [c or 0 for c in denominator]
    for i, j in suppress(with_margins([[v] for v in case_column]), rule):
        if j == 0 and (i == len(shown) or denominator[i] is not None):
            hidden[i].add("cases")

    rows: list[Row] = []
    for i in range(len(shown) + 1):
        total_row = i == len(shown)
        values: dict[str, float | int | None] = {
            "established_man": table[i][0],
            "established_woman": table[i][1],
            "established_other": table[i][2],
            "established": table[i][3],
            "cases": (sum(known_cases) if known_cases and len(known_cases) == len(shown) else None)
            if total_row
            else denominator[i],
        }
        for name, column in columns.items():
            values[name] = column[i]
        for name in hidden[i]:
            values[name] = None
        values["share_established"] = share(_int(values["established"]), _int(values["cases"]), rule)
        values["share_man"] = share(_int(values["established_man"]), _int(values["established"]), rule)
        values["share_woman"] = share(_int(values["established_woman"]), _int(values["established"]), rule)
        wait = waits.get(None if total_row else shown[i].id)
        values["wait_median_min"] = round(wait / 60, 1) if wait is not None else None
        rows.append(Row(None if total_row else shown[i], values, frozenset(hidden[i])))
    return Report(year, organisation_id, organisation_name, gender, band, rule, rows)


def _int(value: float | int | None) -> int | None:
    return int(value) if value is not None else None
