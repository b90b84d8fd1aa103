"""The administrator's page: the organisation's staff directory and its API clients.

The forms call the same directory operations as the API and the command line, so the rules
(administrators only, nobody deactivates themselves, every change audited) live in one place; a
broken rule re-renders the page with what to correct and changes nothing.
"""

from __future__ import annotations

from aiohttp import web

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.errors import DomainError, RuleViolation
from meetsvc.domain.roles import Role, may_administer
from meetsvc.http.appkeys import DIRECTORY
from meetsvc.http.pages.context import current_session, require_form
from meetsvc.http.pages.i18n import request_language
from meetsvc.http.pages.render import error_page, render
from meetsvc.services.sessions import BrowserSession

_PAGE = "/staff/admin"


async def _administrator(request: web.Request) -> tuple[BrowserSession, OrganisationCaller]:
    session = await current_session(request)
    if session is None or not session.signed_in_staff or session.staff_id is None:
        raise web.HTTPSeeOther("/staff/login")
    member = await request.app[DIRECTORY].staff_member(session.staff_id)
    if member is None or not member.active:
        raise web.HTTPSeeOther("/staff/login")
    if not may_administer(member.roles):
        raise web.HTTPForbidden()
    return session, OrganisationCaller.staff(member.organisation_id, member.id, member.roles)


def _roles(form: dict[str, str]) -> frozenset[Role]:
    """The checked roles: one checkbox per role, named ``role_<name>``."""
    return frozenset(role for role in Role if form.get(f"role_{role.value}") == "on")


def _messages(error: DomainError) -> list[str]:
    if isinstance(error, RuleViolation):
        return [f"{v.field.strip('/').replace('_', ' ')}: {v.message}" for v in error.violations]
    return [error.detail]


async def _render(
    request: web.Request,
    session: BrowserSession,
    caller: OrganisationCaller,
    *,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    directory = request.app[DIRECTORY]
    staff = await directory.list_staff(caller)
    clients = await directory.list_api_clients(caller.organisation_id)
    return render(
        request,
        "admin.html",
        {
            "csrf": session.csrf_token,
            "staff": staff,
            "clients": clients,
            "roles": [role.value for role in Role],
            "me": caller.staff_id,
            "errors": errors or [],
            "form": {"display_name": "", "email": "", **(form or {})},
            "saved": request.query.get("saved") == "1",
        },
        status=status,
        language=request_language(request, session.language),
    )


async def admin_page(request: web.Request) -> web.StreamResponse:
    session, caller = await _administrator(request)
    return await _render(request, session, caller)


def _staff_id(request: web.Request) -> str:
    value = request.match_info["staff_id"]
    if len(value) != 36:
        raise web.HTTPNotFound()
    return value


async def _answer(request: web.Request, session: BrowserSession, caller: OrganisationCaller, work, form=None):
    """Run one change; a refused one re-renders the page (a 404 is a readable 404 page)."""
    try:
        await work
    except DomainError as error:
        if error.status == 404:
            return error_page(request, 404, "error.not_found")
        if form is not None:
            form.pop("personal_number", None)  # never echoed back into a page
        return await _render(request, session, caller, errors=_messages(error), form=form, status=error.status)
    raise web.HTTPSeeOther(f"{_PAGE}?saved=1")


async def add_staff(request: web.Request) -> web.StreamResponse:
    session, caller = await _administrator(request)
    form = await require_form(request, session)
    work = request.app[DIRECTORY].add_staff_member(
        caller,
        display_name=form.get("display_name", ""),
        email=form.get("email") or None,
        personal_number=form.get("personal_number") or None,
        roles=_roles(form),
    )
    return await _answer(request, session, caller, work, form)


async def change_staff(request: web.Request) -> web.StreamResponse:
    session, caller = await _administrator(request)
    staff_id = _staff_id(request)
    form = await require_form(request, session)
    work = request.app[DIRECTORY].change_staff_member(
        caller,
        staff_id,
        display_name=form.get("display_name", ""),
        roles=_roles(form),
        email=form.get("email") or None,
        set_email=True,
    )
    return await _answer(request, session, caller, work)


async def deactivate_staff(request: web.Request) -> web.StreamResponse:
    session, caller = await _administrator(request)
    staff_id = _staff_id(request)
    await require_form(request, session)
    return await _answer(request, session, caller, request.app[DIRECTORY].deactivate_staff_member(caller, staff_id))


async def revoke_client(request: web.Request) -> web.StreamResponse:
    session, caller = await _administrator(request)
    client_id = request.match_info["client_id"]
    if len(client_id) != 36:
        raise web.HTTPNotFound()
    await require_form(request, session)
    work = request.app[DIRECTORY].revoke_api_client(
        client_id, organisation_id=caller.organisation_id, actor=caller.actor
    )
    return await _answer(request, session, caller, work)
