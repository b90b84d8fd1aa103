"""Staff sign-in through an organisation's OpenID Connect provider: leave for it, come back.

The sign-in form is the staff sign-in page's (its signed token, checked against the browser's
sign-in cookie; a staff session is created only when it is posted), exactly as for BankID. The
provider's answer comes back to one address for every provider: the state names the sign-in.
Whatever goes wrong ends on a page a person can read, with the way back to the sign-in page.
"""

from __future__ import annotations

from aiohttp import web

from meetsvc.http.appkeys import SESSIONS, STAFF_OIDC
from meetsvc.http.pages.context import current_session, read_form, set_session_cookie
from meetsvc.http.pages.i18n import request_language
from meetsvc.http.pages.render import error_page, render
from meetsvc.services.sessions import SIGN_IN_COOKIE, SessionKind
from meetsvc.services.staff_oidc import REASONS, SignInRefused

#: The page text for each refusal (several reasons read the same to a person).
REFUSAL_TEXT = {
    "acr": "oidc.refused_acr",
    "not_staff": "oidc.refused_not_staff",
    "no_identifier": "oidc.refused_not_staff",
    "expired": "oidc.refused_expired",
    "provider_error": "oidc.refused_cancelled",
    "unavailable": "oidc.refused_unavailable",
}


def refusal_page(request: web.Request, reason: str) -> web.Response:
    language = request_language(request)
    return render(
        request,
        "oidc_refused.html",
        {"message_key": REFUSAL_TEXT.get(reason, "oidc.refused_invalid")},
        status=REASONS.get(reason, 400),
        language=language,
    )


async def start(request: web.Request) -> web.StreamResponse:
    """The sign-in page's button for one provider: a staff session (if the browser has none),
    then off to the provider."""
    session = await current_session(request)
    if session is not None and session.signed_in_staff:
        raise web.HTTPSeeOther("/staff")
    posted = await read_form(request)
    csrf = posted.get("csrf")
    sessions = request.app[SESSIONS]
    if not sessions.sign_in_form_ok(request.cookies.get(SIGN_IN_COOKIE), csrf if isinstance(csrf, str) else None):
        return error_page(request, 403, "error.csrf")
    issued = None
    if session is None or session.kind is not SessionKind.STAFF:
        issued = await sessions.start(SessionKind.STAFF, language=request_language(request))
        session = issued.session
    try:
        url = await request.app[STAFF_OIDC].begin(session, request.match_info["provider"])
    except SignInRefused as exc:
        response: web.StreamResponse = refusal_page(request, exc.reason)
    else:
        response = web.HTTPSeeOther(url)
    if issued is not None:
        set_session_cookie(request, response, issued)
    if isinstance(response, web.HTTPException):
        raise response
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    """The provider's answer: a signed-in session, or a page that says why not."""
    query = request.query
    values = {key: query.get(key) for key in ("state", "code", "error", "iss")}
    if any(value is not None and len(value) > 2048 for value in values.values()):
        return refusal_page(request, "state")
    session = await current_session(request)
    try:
        issued = await request.app[STAFF_OIDC].complete(
            session, state=values["state"], code=values["code"], error=values["error"], issuer=values["iss"]
        )
    except SignInRefused as exc:
        return refusal_page(request, exc.reason)
    response = web.HTTPSeeOther("/staff")
    set_session_cookie(request, response, issued)
    raise response
