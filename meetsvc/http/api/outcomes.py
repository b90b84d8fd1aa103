"""The API's handlers for a meeting's outcome and the cases reported as the denominator."""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.statistics import OutcomeRecord
from meetsvc.http.api import schemas
from meetsvc.http.api.auth import api_caller
from meetsvc.http.api.handlers import _path_id, json_response
from meetsvc.http.api.requests import read_model
from meetsvc.http.appkeys import SERVICES
from meetsvc.services.statistics import RecordedOutcome


def outcome_out(recorded: RecordedOutcome) -> schemas.OutcomeOut:
    record = recorded.record
    return schemas.OutcomeOut(
        outcome=record.outcome if record else None,
        reason=record.reason if record else None,
        individual_took_part=record.individual_took_part if record else None,
        child_took_part=record.child_took_part if record else None,
        gender=recorded.gender,
        age_band=recorded.age_band,
        derived=recorded.derived,
    )


async def get_outcome(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    recorded = await request.app[SERVICES].statistics.outcome(caller, _path_id(request, "meeting_id"))
    return json_response(outcome_out(recorded))


async def put_outcome(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    meeting_id = _path_id(request, "meeting_id")
    body = await read_model(request, schemas.OutcomeIn)
    recorded = await request.app[SERVICES].statistics.record_outcome(
        caller,
        meeting_id,
        OutcomeRecord(body.outcome, body.reason, body.individual_took_part, body.child_took_part),
        gender=body.gender,
        band=body.age_band,
    )
    return json_response(outcome_out(recorded))


async def put_cases(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    body = await read_model(request, schemas.CasesIn)
    await request.app[SERVICES].statistics.set_cases(caller, body.year, body.care_area, body.gender, body.cases)
    return web.Response(status=204)
