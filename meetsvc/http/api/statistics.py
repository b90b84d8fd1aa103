"""The API's statistics report: the same figures as the statistics page, after suppression."""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.model import Language
from meetsvc.http.api import schemas
from meetsvc.http.api.auth import api_caller
from meetsvc.http.api.handlers import json_response
from meetsvc.http.api.requests import read_query
from meetsvc.http.appkeys import SERVICES
from meetsvc.http.pages.statistics_exports import to_jsonstat
from meetsvc.services.statistics_report import MEASURES, Report


async def _report(request: web.Request) -> tuple[Report, Language]:
    caller = await api_caller(request)
    query = read_query(request, schemas.ReportQuery)
    report = await request.app[SERVICES].reports.report(
        caller, query.year, query.organisation_id, gender=query.gender, band=query.age_band
    )
    return report, Language(query.language)


async def get_report(request: web.Request) -> web.Response:
    report, language = await _report(request)
    return json_response(
        schemas.ReportOut(
            year=report.year,
            organisation_id=report.organisation_id,
            organisation_name=report.organisation_name,
            gender=report.gender,
            age_band=report.age_band,
            rule=schemas.RuleOut(
                hide_from=report.rule.low,
                hide_to=report.rule.high,
                min_base=report.rule.min_base,
                text=report.rule.describe(language.value),
            ),
            measures=list(MEASURES),
            rows=[
                schemas.ReportRowOut(
                    area=row.area.code if row.area else None,
                    name=row.name(language.value),
                    values=dict(row.values),
                    hidden=sorted(row.hidden),
                )
                for row in report.rows
            ],
        )
    )


async def get_jsonstat(request: web.Request) -> web.Response:
    report, language = await _report(request)
    return json_response(schemas.JsonStatOut(**to_jsonstat(report, language)))
