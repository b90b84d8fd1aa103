"""Lobby tickets over HTTP, and the public keys that verify them."""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.errors import Conflict, Forbidden
from meetsvc.http.appkeys import BOOKING, IDENTIFICATION, TICKETS, WAITING_ROOM
from meetsvc.http.pages.context import require_session
from meetsvc.services.sessions import SessionKind


async def issue_ticket(request: web.Request) -> web.Response:
    """A ticket for this participant session's socket: after eID, or explicitly unverified.

    The session's CSRF token is required in ``X-CSRF-Token``: only our own page may ask.
    """
    session = await require_session(request)
    if session.kind is not SessionKind.PARTICIPANT or session.participant_id is None:
        raise Forbidden("only a participant's session gets a lobby ticket")
    if not session.csrf_ok(request.headers.get("X-CSRF-Token")):
        raise Forbidden("send the session's CSRF token in X-CSRF-Token")
    unverified = request.query.get("unverified") == "1"
    if not unverified and not await request.app[IDENTIFICATION].verified(session):
        raise Conflict("identify with eID first, or ask to wait without eID")
    lobby, meeting_ends_at = await request.app[WAITING_ROOM].lobby_pass(
        session.participant_id, session.id, unverified=unverified
    )
    ticket, expires = request.app[TICKETS].issue(lobby, now=request.app[BOOKING].now(), meeting_ends_at=meeting_ends_at)
    return web.json_response(
        {"ticket": ticket, "expires_at": expires.isoformat()}, headers={"Cache-Control": "no-store"}
    )


async def jwks(request: web.Request) -> web.Response:
    return web.json_response(request.app[TICKETS].keys.jwks(), headers={"Cache-Control": "max-age=300"})
