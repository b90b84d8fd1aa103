"""The 'Freja app' of the simulator: a page for developers and a JSON control API for tests.

Plain HTTP on loopback, never on the relying-party listener. ``POST /sim/scan`` takes what a
phone's camera reads off the QR code (``frejaeid://bindUserToTransaction?transactionReference=…``);
the order is then DELIVERED_TO_MOBILE, and ``approve`` (as a test person), ``decline`` or
``reject`` end it. The page at ``/?authRef=…`` stands in for the app link on this device.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from identity.freja.client import RegistrationLevel
from identity.freja.simulator.persons import TEST_PERSONS
from identity.freja.simulator.state import SimOrder, SimulatorError, SimulatorState

STATE: web.AppKey[SimulatorState] = web.AppKey("state", SimulatorState)


def create_control_app(state: SimulatorState) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[STATE] = state
    app.router.add_get("/", _page)
    app.router.add_get("/sim/persons", _persons)
    app.router.add_get("/sim/orders/{auth_ref}", _order)
    app.router.add_post("/sim/scan", _scan)
    app.router.add_post("/sim/orders/{auth_ref}/approve", _approve)
    app.router.add_post("/sim/orders/{auth_ref}/decline", _decline)
    app.router.add_post("/sim/orders/{auth_ref}/reject", _reject)
    app.router.add_post("/sim/faults", _faults)
    return app


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except SimulatorError as error:
        return web.json_response({"error": error.message}, status=error.http_status)


def _view(order: SimOrder) -> dict[str, Any]:
    return {
        "authRef": order.auth_ref,
        "status": order.status.value,
        "minRegistrationLevel": order.min_level.value,
        "userInfoType": order.user_info_type,
    }


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data = await request.json()
        return data if isinstance(data, dict) else {}
    return {key: value for key, value in (await request.post()).items() if isinstance(value, str)}


def _auth_ref_of(qr_data: object) -> str:
    if not isinstance(qr_data, str) or not qr_data.startswith("frejaeid://bindUserToTransaction?"):
        raise SimulatorError(0, "not a Freja QR code", 400)
    values = parse_qs(urlsplit(qr_data).query).get("transactionReference")
    if not values:
        raise SimulatorError(0, "the QR code has no transactionReference", 400)
    return values[0]


async def _persons(request: web.Request) -> web.Response:
    return web.json_response(
        [{"ssn": p.ssn, "name": p.given_name, "surname": p.surname, "level": p.level.value} for p in TEST_PERSONS]
    )


async def _order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    order = state.orders.get(request.match_info["auth_ref"])
    if order is None:
        raise SimulatorError(0, "no such order", 404)
    state.order(order.auth_ref)  # ages it
    return web.json_response(_view(order))


async def _scan(request: web.Request) -> web.Response:
    order = request.app[STATE].deliver(_auth_ref_of((await _body(request)).get("qrData")))
    return web.json_response(_view(order))


async def _approve(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    override = body.get("registrationLevel")
    try:
        level = RegistrationLevel(override) if override else None
    except ValueError:
        raise SimulatorError(0, "unknown registrationLevel", 400) from None
    auth_ref = request.match_info["auth_ref"]
    order = request.app[STATE].approve(auth_ref, str(body.get("ssn", "")), level)
    return _answer(request, order)


async def _decline(request: web.Request) -> web.StreamResponse:
    return _answer(request, request.app[STATE].decline(request.match_info["auth_ref"]))


async def _reject(request: web.Request) -> web.StreamResponse:
    return _answer(request, request.app[STATE].reject(request.match_info["auth_ref"]))


def _answer(request: web.Request, order: SimOrder) -> web.StreamResponse:
    if request.content_type == "application/json":
        return web.json_response(_view(order))
    raise web.HTTPSeeOther(f"/?authRef={order.auth_ref}")


async def _faults(request: web.Request) -> web.Response:
    body = await _body(request)
    faults = request.app[STATE].faults
    faults.sign_with_foreign = bool(body.get("signWithForeign", False))
    faults.tamper_payload = bool(body.get("tamperPayload", False))
    return web.json_response({"signWithForeign": faults.sign_with_foreign, "tamperPayload": faults.tamper_payload})


async def _page(request: web.Request) -> web.Response:
    """The app on this device: pick a test person to approve the order, or decline it."""
    state = request.app[STATE]
    auth_ref = request.query.get("authRef")
    orders = [state.orders[auth_ref]] if auth_ref in state.orders else list(state.orders.values())
    rows = []
    for order in orders:
        state.order(order.auth_ref)
        ref = html.escape(order.auth_ref)
        line = f"<h2>Order {ref[:8]}… — {order.status.value} (requires {order.min_level.value})</h2>"
        if not order.status.final:
            for person in TEST_PERSONS:
                label = html.escape(f"Approve as {person.given_name} {person.surname} ({person.level.value})")
                line += (
                    f'<form method="post" action="/sim/orders/{ref}/approve">'
                    f'<input type="hidden" name="ssn" value="{person.ssn}"><button>{label}</button></form>'
                )
            line += f'<form method="post" action="/sim/orders/{ref}/decline"><button>Decline</button></form>'
        rows.append(line)
    body = "".join(rows) or "<p>No orders.</p>"
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Freja eID simulator</title></head>'
        f"<body><h1>Freja eID simulator (test only)</h1>{body}</body></html>"
    )
    return web.Response(text=page, content_type="text/html")
