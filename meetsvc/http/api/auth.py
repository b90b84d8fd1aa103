"""Who calls the API: an integrating system (``Authorization: Bearer msk_…``, one organisation
per key), or a signed-in staff member's page (the session cookie, plus the session's CSRF token
in ``X-CSRF-Token`` for anything that changes state, so another site cannot ride the cookie).
"""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import Forbidden, Unauthenticated
from meetsvc.domain.roles import may_use_staff_pages
from meetsvc.http.appkeys import DIRECTORY, SESSIONS
from meetsvc.services.sessions import COOKIE_NAME

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def _staff_caller(request: web.Request) -> OrganisationCaller | None:
    session = await request.app[SESSIONS].resume(request.cookies.get(COOKIE_NAME))
    if session is None or not session.signed_in_staff or session.staff_id is None:
        return None
    if request.method not in _SAFE_METHODS and not session.csrf_ok(request.headers.get("X-CSRF-Token")):
        raise Forbidden("send the session's CSRF token in X-CSRF-Token")
    member = await request.app[DIRECTORY].staff_member(session.staff_id)
    if member is None or not member.active:
        return None
    if not may_use_staff_pages(member.roles):
        raise Forbidden("this staff member may not organise meetings")
    return OrganisationCaller.staff(member.organisation_id, member.id, member.roles)


async def api_caller(request: web.Request) -> OrganisationCaller:
    header = request.headers.get("Authorization")
    if header is None and COOKIE_NAME in request.cookies:
        caller = await _staff_caller(request)
        if caller is not None:
            return caller
    scheme, _, key = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("send an API client key as 'Authorization: Bearer <key>', or sign in as staff")
    caller = await request.app[DIRECTORY].authenticate_api_key(key.strip())
    if caller is None:
        raise Unauthenticated("the API client key is not valid")
    return caller
