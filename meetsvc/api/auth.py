"""API client authentication: ``Authorization: Bearer msk_…``, one organisation per key."""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import Unauthenticated
from meetsvc.state import DIRECTORY


async def api_caller(request: web.Request) -> OrganisationCaller:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("send an API client key as 'Authorization: Bearer <key>'")
    caller = await request.app[DIRECTORY].authenticate_api_key(key.strip())
    if caller is None:
        raise Unauthenticated("the API client key is not valid")
    return caller
