"""The API's handlers for the caller's organisation's areas of care."""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.care_areas import CODE, CareArea
from meetsvc.domain.errors import NotFound
from meetsvc.http.api import schemas
from meetsvc.http.api.auth import api_caller
from meetsvc.http.api.handlers import json_response
from meetsvc.http.api.requests import read_model
from meetsvc.http.appkeys import SERVICES


def care_area_out(area: CareArea) -> schemas.CareAreaOut:
    return schemas.CareAreaOut(
        id=area.id, code=area.code, name_sv=area.name_sv, name_en=area.name_en, active=area.active
    )


async def list_care_areas(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    areas = await request.app[SERVICES].care_areas.list(caller.organisation_id)
    return json_response(schemas.CareAreaList(items=[care_area_out(a) for a in areas]))


async def create_care_area(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    body = await read_model(request, schemas.CareAreaCreate)
    area = await request.app[SERVICES].care_areas.add(caller, body.code, body.name_sv, body.name_en)
    return json_response(care_area_out(area), status=201)


async def update_care_area(request: web.Request) -> web.Response:
    caller = await api_caller(request)
    code = request.match_info["code"]
    if not CODE.fullmatch(code):
        raise NotFound("no such area of care")
    body = await read_model(request, schemas.CareAreaUpdate)
    area = await request.app[SERVICES].care_areas.set_active(caller, code, body.active)
    return json_response(care_area_out(area))
