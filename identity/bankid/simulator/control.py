"""The simulator's own side: the BankID "app" page and the ``/sim`` API behind it and tests.

Nothing here is part of BankID's API. It plays the person holding the phone — scanning a QR
code, opening an autostart link, choosing an ID, approving or cancelling — and lets tests decide
outcomes and force errors. It is served on a separate plain-HTTP listener (loopback by default)
because a browser has no client certificate for the mTLS listener; keeping the two apart also
means a relying party's certificate never grants the power to approve its own orders.

Browsers must not be able to drive it from another site: every POST needs
``Content-Type: application/json`` (a cross-site form or ``fetch`` cannot send that without a
CORS preflight, which this app never grants), and the ``Host`` header must name the listener
(refusing DNS-rebinding pages) unless it was deliberately bound to all interfaces.
Errors are ``application/problem+json``.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from identity.bankid.simulator.codes import ErrorCode, HintCode
from identity.bankid.simulator.page import PAGE_CSS, PAGE_HTML, PAGE_JS
from identity.bankid.simulator.state import PlannedOutcome, Refused, SimOrder, SimulatorState

STATE = web.AppKey("bankid_simulator_state", SimulatorState)
ALLOWED_HOSTS = web.AppKey("bankid_simulator_allowed_hosts", frozenset)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104  # recognised, not bound
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # The page URL can carry an autostart token; never hand it to another site.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def create_control_app(state: SimulatorState, bound_host: str) -> web.Application:
    app = web.Application(middlewares=[_problems, _same_site_only])
    app[STATE] = state
    app[ALLOWED_HOSTS] = _allowed_hosts(bound_host)
    app.on_response_prepare.append(_add_security_headers)
    router = app.router
    router.add_get("/", _page)
    router.add_get("/app.js", _script)
    router.add_get("/app.css", _style)
    router.add_get("/sim/persons", _persons)
    router.add_get("/sim/orders", _orders)
    router.add_get("/sim/orders/{order_ref}", _order)
    router.add_post("/sim/scan", _scan)
    router.add_post("/sim/autostart", _autostart)
    router.add_post("/sim/orders/{order_ref}/identify", _identify)
    router.add_post("/sim/orders/{order_ref}/confirm", _confirm)
    router.add_post("/sim/orders/{order_ref}/complete", _complete)
    router.add_post("/sim/orders/{order_ref}/fail", _fail)
    router.add_post("/sim/next-order", _next_order)
    router.add_post("/sim/faults", _faults)
    router.add_post("/sim/reset", _reset)
    return app


def order_view(order: SimOrder, now: float) -> dict[str, Any]:
    """What the app shows of an order. Never the tokens or the QR secret."""
    start = order.start
    return {
        "orderRef": order.order_ref,
        "kind": start.kind.value,
        "status": order.status.value,
        "hintCode": order.hint_code.value if order.hint_code else None,
        "ageSeconds": round(now - order.created_at, 3),
        "pickedUpBy": order.picked_up_by,
        "personalNumber": start.personal_number,
        "person": (
            {"personalNumber": order.person.personal_number, "name": order.person.name} if order.person else None
        ),
        "callInitiator": start.call_initiator,
        "userVisibleData": start.user_visible_data,
        "userVisibleDataFormat": start.user_visible_data_format,
        "requirement": {
            "pinCode": start.pin_code,
            "mrtd": start.mrtd,
            "cardReader": start.card_reader,
            "certificatePolicies": list(start.certificate_policies),
        },
        "returnUrl": start.return_url,
    }


# --- the page ------------------------------------------------------------------------------


async def _page(request: web.Request) -> web.StreamResponse:
    return web.Response(text=PAGE_HTML, content_type="text/html", charset="utf-8")


async def _script(request: web.Request) -> web.StreamResponse:
    return web.Response(text=PAGE_JS, content_type="text/javascript", charset="utf-8")


async def _style(request: web.Request) -> web.StreamResponse:
    return web.Response(text=PAGE_CSS, content_type="text/css", charset="utf-8")


# --- reading -------------------------------------------------------------------------------


async def _persons(request: web.Request) -> web.StreamResponse:
    persons = request.app[STATE].settings.persons
    return web.json_response(
        {
            "persons": [
                {
                    "personalNumber": p.personal_number,
                    "name": p.name,
                    "givenName": p.given_name,
                    "surname": p.surname,
                }
                for p in persons
            ]
        }
    )


async def _orders(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    now = state.now()
    return web.json_response({"orders": [order_view(o, now) for o in state.pending_orders()]})


async def _order(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    order = state.find(request.match_info["order_ref"])
    if order is None:
        raise Refused(404, "no such order")
    return web.json_response(order_view(order, state.now()))


# --- the person's actions ------------------------------------------------------------------


async def _scan(request: web.Request) -> web.StreamResponse:
    body = await _json_object(request)
    state = request.app[STATE]
    order = state.scan(_string(body, "qrData"))
    return web.json_response(order_view(order, state.now()))


async def _autostart(request: web.Request) -> web.StreamResponse:
    body = await _json_object(request)
    state = request.app[STATE]
    order = state.autostart(_string(body, "autoStartToken"))
    return web.json_response(order_view(order, state.now()))


async def _identify(request: web.Request) -> web.StreamResponse:
    body = await _json_object(request)
    state = request.app[STATE]
    order = state.identify(request.match_info["order_ref"], _string(body, "personalNumber"))
    return web.json_response(order_view(order, state.now()))


async def _confirm(request: web.Request) -> web.StreamResponse:
    await _json_object(request)
    state = request.app[STATE]
    order = state.confirm(request.match_info["order_ref"])
    return web.json_response(order_view(order, state.now()))


async def _complete(request: web.Request) -> web.StreamResponse:
    body = await _json_object(request)
    state = request.app[STATE]
    device_ip = _optional_string(body, "ipAddress") or request.remote or "127.0.0.1"
    try:
        device_ip = str(ipaddress.ip_address(device_ip))
    except ValueError:
        raise Refused(400, "ipAddress must be an IPv4 or IPv6 address") from None
    order = state.complete(
        request.match_info["order_ref"],
        device_ip=device_ip,
        personal_number=_optional_string(body, "personalNumber"),
        risk=_optional_string(body, "risk"),
    )
    return web.json_response(order_view(order, state.now()))


async def _fail(request: web.Request) -> web.StreamResponse:
    body = await _json_object(request)
    state = request.app[STATE]
    order = state.fail(request.match_info["order_ref"], _hint_code(_string(body, "hintCode")))
    return web.json_response(order_view(order, state.now()))


# --- test controls -------------------------------------------------------------------------


async def _next_order(request: web.Request) -> web.StreamResponse:
    """``{"outcome": "complete", "personalNumber"?, "risk"?, "afterCollects"?}`` or
    ``{"outcome": "failed", "hintCode": "userCancel", "afterCollects"?}``."""
    body = await _json_object(request)
    outcome = _string(body, "outcome")
    after = body.get("afterCollects", 1)
    if not isinstance(after, int) or isinstance(after, bool):
        raise Refused(400, "afterCollects must be an integer")
    if outcome == "complete":
        plan = PlannedOutcome(
            personal_number=_optional_string(body, "personalNumber"),
            after_collects=after,
            risk=_optional_string(body, "risk"),
        )
    elif outcome == "failed":
        plan = PlannedOutcome(hint_code=_hint_code(_string(body, "hintCode")), after_collects=after)
    else:
        raise Refused(400, 'outcome must be "complete" or "failed"')
    request.app[STATE].plan_next_order(plan)
    return web.json_response({"planned": True})


async def _faults(request: web.Request) -> web.StreamResponse:
    """``{"errorCode": "maintenance", "times"?: 1, "endpoint"?: "collect"}``: the next calls
    answer that error instead of doing their work."""
    body = await _json_object(request)
    try:
        error = ErrorCode(_string(body, "errorCode"))
    except ValueError:
        raise Refused(400, f"errorCode must be one of {[code.value for code in ErrorCode]}") from None
    times = body.get("times", 1)
    if not isinstance(times, int) or isinstance(times, bool):
        raise Refused(400, "times must be an integer")
    endpoint = _optional_string(body, "endpoint")
    if endpoint is not None and endpoint not in {"auth", "sign", "phone/auth", "phone/sign", "collect", "cancel"}:
        raise Refused(400, "endpoint must name an RP API endpoint, e.g. collect or phone/auth")
    request.app[STATE].add_fault(error, times, endpoint)
    return web.json_response({"forced": error.value, "times": times, "endpoint": endpoint})


async def _reset(request: web.Request) -> web.StreamResponse:
    await _json_object(request)
    request.app[STATE].reset()
    return web.json_response({"reset": True})


# --- plumbing ------------------------------------------------------------------------------


async def _json_object(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise Refused(415, "send Content-Type: application/json")
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Refused(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return body


def _string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Refused(400, f"{name} is required and must be a string")
    return value


def _optional_string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise Refused(400, f"{name} must be a string")
    return value


def _hint_code(value: str) -> HintCode:
    try:
        return HintCode(value)
    except ValueError:
        raise Refused(400, f"unknown hintCode {value!r}") from None


def _allowed_hosts(bound_host: str) -> frozenset[str]:
    if bound_host in _WILDCARD_HOSTS:
        return frozenset()  # reachable from the network on purpose: any Host is fine
    return frozenset({"127.0.0.1", "localhost", "::1", bound_host.strip("[]").lower()})


@web.middleware
async def _same_site_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    allowed = request.app[ALLOWED_HOSTS]
    if allowed and (request.url.host or "").lower() not in allowed:
        raise Refused(421, "this simulator only answers to the address it listens on")
    return await handler(request)


@web.middleware
async def _problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refused:
        return _problem(refused.status, refused.detail)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return _problem(exc.status, exc.reason)
        raise


def _problem(status: int, detail: str) -> web.Response:
    titles = {
        400: "Bad request",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        415: "Unsupported media type",
        421: "Misdirected request",
        422: "Refused",
    }
    body = {"type": "about:blank", "title": titles.get(status, "Error"), "status": status, "detail": detail}
    return web.json_response(body, status=status, content_type="application/problem+json")


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
