"""The statistics page (/staff/statistics), its exports, the cases form, and the outcome form of
the organiser page and host console.

Only figures made safe to publish reach the page: the report is suppressed before it is shown.
The chart is drawn on the server as SVG with the same figures in the table beside it, so a
screen reader gets the numbers and no script is needed.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import DomainError
from meetsvc.domain.model import Language
from meetsvc.domain.statistics import AgeBand, Gender, Outcome, OutcomeRecord, Reason
from meetsvc.http.appkeys import DIRECTORY, SERVICES
from meetsvc.http.pages import statistics_exports as exports
from meetsvc.http.pages.context import current_session, require_form
from meetsvc.http.pages.i18n import request_language
from meetsvc.http.pages.render import error_page, render
from meetsvc.services.sessions import BrowserSession
from meetsvc.services.statistics_report import MEASURES, Report

CHART_WIDTH = 640
BAR_HEIGHT = 28
LABEL_WIDTH = 250


class _BadQuery(Exception):
    pass


async def _reader(request: web.Request) -> tuple[BrowserSession, OrganisationCaller]:
    session = await current_session(request)
    if session is None or not session.signed_in_staff or session.staff_id is None:
        raise web.HTTPSeeOther("/staff/login")
    member = await request.app[DIRECTORY].staff_member(session.staff_id)
    if member is None:
        raise web.HTTPSeeOther("/staff/login")
    if not member.active:
        raise web.HTTPSeeOther("/staff/login")
    # With their roles: the report and the cases are for statistics readers only
    # (meetsvc.domain.roles.may_read_statistics, checked where the figures are read and written).
    return session, OrganisationCaller.staff(member.organisation_id, member.id, member.roles)


def _choice(request: web.Request) -> tuple[int, Gender | None, AgeBand | None]:
    query = request.rel_url.query
    try:
        year = int(query.get("year") or request.app[SERVICES].clock().year - 1)
        gender = Gender(query["gender"]) if query.get("gender") else None
        band = AgeBand(query["age_band"]) if query.get("age_band") else None
    except ValueError:
        raise _BadQuery() from None
    if not 2000 <= year <= 2100:
        raise _BadQuery()
    return year, gender, band


async def _report(request: web.Request) -> tuple[BrowserSession, OrganisationCaller, Report]:
    session, caller = await _reader(request)
    year, gender, band = _choice(request)
    report = await request.app[SERVICES].reports.report(caller, year, gender=gender, band=band)
    return session, caller, report


def chart(report: Report, language: str) -> dict[str, Any]:
    """Bars of the share of cases with an established SIP per area, for the SVG."""
    bars = []
    for row in report.rows:
        value = row.values["share_established"]
        if row.area is None or value is None:
            continue
        bars.append({"name": row.name(language), "share": value, "text": f"{value:.0f} %"})
    plot = CHART_WIDTH - LABEL_WIDTH - 60
    for i, bar in enumerate(bars):
        bar["y"] = 10 + i * BAR_HEIGHT
        bar["width"] = max(1.0, plot * min(float(bar["share"]), 100.0) / 100.0)
    return {
        "bars": bars,
        "width": CHART_WIDTH,
        "height": 20 + max(1, len(bars)) * BAR_HEIGHT,
        "label_width": LABEL_WIDTH,
    }


async def page(request: web.Request) -> web.StreamResponse:
    try:
        session, _, report = await _report(request)
    except _BadQuery:
        return error_page(request, 400, "error.bad_request")
    except DomainError as error:
        if error.status == 403:
            return error_page(request, 403, "stat.not_allowed")
        return error_page(request, error.status, "error.bad_request")
    language = request_language(request, session.language)
    areas = await request.app[SERVICES].care_areas.list(report.organisation_id)
    return render(
        request,
        "statistics.html",
        {
            "report": report,
            "measures": MEASURES,
            "cell": exports.cell_text,
            "chart": chart(report, language.value),
            "rule": report.rule.describe(language.value),
            "genders": [g.value for g in Gender],
            "bands": [b.value for b in AgeBand],
            "areas": [(a.code, a.name(language.value)) for a in areas],
            "csrf": session.csrf_token,
            "query": request.rel_url.query_string,
        },
        language=language,
    )


async def export(request: web.Request) -> web.StreamResponse:
    try:
        session, _, report = await _report(request)
    except _BadQuery:
        return error_page(request, 400, "error.bad_request")
    except DomainError as error:
        return error_page(request, error.status, "stat.not_allowed" if error.status == 403 else "error.bad_request")
    language = request_language(request, session.language)
    kind = request.match_info["kind"]
    name = f"sip-statistik-{report.year}"
    if kind == "csv":
        body, content_type = exports.to_csv(report, language), "text/csv; charset=utf-8"
    elif kind == "xlsx":
        body = exports.to_xlsx(report, language)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = json.dumps(exports.to_jsonstat(report, language), ensure_ascii=False).encode()
        content_type = "application/json; charset=utf-8"
    return web.Response(
        body=body,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{name}.{kind if kind != "json" else "json"}"',
        },
    )


async def save_cases(request: web.Request) -> web.StreamResponse:
    session, caller = await _reader(request)
    form = await require_form(request, session)
    try:
        year, cases = int(form.get("year", "")), int(form.get("cases", ""))
    except ValueError:
        return error_page(request, 400, "error.bad_request")
    try:
        await request.app[SERVICES].statistics.set_cases(
            caller, year, form.get("care_area", ""), form.get("gender", "all"), cases
        )
    except DomainError as error:
        if error.status == 403:
            return error_page(request, 403, "stat.not_allowed")
        return error_page(request, 422, "error.bad_request")
    raise web.HTTPSeeOther(f"/staff/statistics?year={year}")


def _yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


async def save_outcome(request: web.Request) -> web.StreamResponse:
    """The outcome form of the organiser page and the host console; back to where it was sent from."""
    session, caller = await _reader(request)
    form = await require_form(request, session)
    meeting_id = request.match_info["meeting_id"]
    back = "/staff/meetings/" + meeting_id + ("/organise" if form.get("from") == "organise" else "")
    try:
        record = OutcomeRecord(
            Outcome(form.get("outcome", "")),
            Reason(form["reason"]) if form.get("reason") else None,
            _yes_no(form.get("individual_took_part", "")),
            _yes_no(form.get("child_took_part", "")),
        )
        gender = Gender(form["gender"]) if form.get("gender") else None
        band = AgeBand(form["age_band"]) if form.get("age_band") else None
    except ValueError:
        return error_page(request, 400, "error.bad_request")
    try:
        await request.app[SERVICES].statistics.record_outcome(caller, meeting_id, record, gender=gender, band=band)
    except DomainError as error:
        return error_page(request, 404 if error.status == 404 else 422, "error.bad_request")
    raise web.HTTPSeeOther(back + "?outcome=saved")


def outcome_choices() -> dict[str, list[str]]:
    """What the outcome form offers (the organiser page and host console include it)."""
    return {
        "outcomes": [o.value for o in Outcome],
        "reasons": [r.value for r in Reason],
        "genders": [g.value for g in Gender],
        "bands": [b.value for b in AgeBand],
    }


__all__ = ["Language", "export", "outcome_choices", "page", "save_cases", "save_outcome"]
