"""The simulated relying-party API: the three authentication calls, shaped as Freja shapes them.

Each request is a form with one field holding base64 JSON; anything else is refused with Freja's
error object ``{"code": …, "message": …}``. An APPROVED result carries the person in
``details``, a JWS signed with the simulator's key (or, when a fault asks for it, a stranger's
key or a tampered payload), and again in plain ``requestedAttributes``, as Freja does.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aiohttp import web

from identity.freja.client import AuthStatus
from identity.freja.simulator.signing import SigningKey
from identity.freja.simulator.state import SimOrder, SimulatorError, SimulatorState

STATE: web.AppKey[SimulatorState] = web.AppKey("state", SimulatorState)
SIGNING: web.AppKey[SigningKey] = web.AppKey("signing", SigningKey)
FOREIGN: web.AppKey[SigningKey] = web.AppKey("foreign", SigningKey)


def create_api_app(state: SimulatorState, signing: SigningKey, foreign: SigningKey) -> web.Application:
    app = web.Application(middlewares=[_errors])
    app[STATE] = state
    app[SIGNING] = signing
    app[FOREIGN] = foreign
    app.router.add_post("/authentication/1.0/initAuthentication", _init)
    app.router.add_post("/authentication/1.0/getOneResult", _get_one_result)
    app.router.add_post("/authentication/1.0/cancel", _cancel)
    return app


@web.middleware
async def _errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except SimulatorError as error:
        return web.json_response({"code": error.code, "message": error.message}, status=error.http_status)


async def _field(request: web.Request, name: str) -> dict[str, Any]:
    if request.content_type != "application/x-www-form-urlencoded":
        raise SimulatorError(1002, "Invalid request body.", 400)
    form = await request.post()
    value = form.get(name)
    if not isinstance(value, str):
        raise SimulatorError(1002, f"Missing {name}.", 400)
    try:
        decoded = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        raise SimulatorError(1002, f"{name} is not base64 JSON.", 400) from None
    if not isinstance(decoded, dict):
        raise SimulatorError(1002, f"{name} is not a JSON object.", 400)
    return decoded


async def _init(request: web.Request) -> web.Response:
    order = request.app[STATE].init(await _field(request, "initAuthRequest"))
    return web.json_response({"authRef": order.auth_ref})


async def _get_one_result(request: web.Request) -> web.Response:
    body = await _field(request, "getOneAuthResultRequest")
    order = request.app[STATE].order(body.get("authRef"))
    answer: dict[str, Any] = {"authRef": order.auth_ref, "status": order.status.value}
    if order.status is AuthStatus.APPROVED:
        attributes = _attributes(order)
        payload = {
            "authRef": order.auth_ref,
            "status": order.status.value,
            "userInfoType": order.user_info_type,
            # Freja echoes the person asked for: "N/A" for INFERRED, the SSN object as JSON text.
            "userInfo": "N/A"
            if order.user_info_type == "INFERRED"
            else json.dumps({"country": "SE", "ssn": order.expected_ssn}),
            "minRegistrationLevel": order.min_level.value,
            "requestedAttributes": attributes,
            "timestamp": int((order.finished_at or 0) * 1000),
        }
        state = request.app[STATE]
        key = request.app[FOREIGN] if state.faults.sign_with_foreign else request.app[SIGNING]
        details = key.sign(payload, x5t=request.app[SIGNING].thumbprint)
        if state.faults.tamper_payload:
            details = _tampered(details)
        answer["details"] = details
        answer["requestedAttributes"] = attributes
    return web.json_response(answer)


async def _cancel(request: web.Request) -> web.Response:
    body = await _field(request, "cancelAuthRequest")
    request.app[STATE].rp_cancel(body.get("authRef"))
    return web.json_response({})


def _attributes(order: SimOrder) -> dict[str, Any]:
    person = order.person
    assert person is not None  # an APPROVED order has its person
    level = order.level_override or person.level
    attributes: dict[str, Any] = {}
    if "BASIC_USER_INFO" in order.attributes:
        attributes["basicUserInfo"] = {"name": person.given_name, "surname": person.surname}
    if "SSN" in order.attributes:
        attributes["ssn"] = {"ssn": person.ssn, "country": "SE"}
    if "REGISTRATION_LEVEL" in order.attributes:
        attributes["registrationLevel"] = level.value
    return attributes


def _tampered(compact: str) -> str:
    """The same JWS with one more attribute in its payload: the signature no longer fits."""
    header, payload, signature = compact.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data["requestedAttributes"]["basicUserInfo"] = {"name": "Mallory", "surname": "Intruder"}
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"
