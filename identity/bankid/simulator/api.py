"""The simulated RP API: ``/rp/v6.0/{auth,sign,phone/auth,phone/sign,collect,cancel}``.

Served only over HTTPS with a required client certificate (see ``testpki.server_ssl_context``);
the TLS handshake is where a relying party without a certificate from the CA is refused, exactly
as at BankID. Requests are ``POST`` with a JSON body and ``Content-Type: application/json``
without parameters; every error is a JSON ``{"errorCode", "details"}`` with the HTTP status
from the specification's errors table (see ``codes.ErrorCode``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web

from identity.bankid.simulator.codes import ApiError, ErrorCode
from identity.bankid.simulator.state import SimulatorState
from identity.bankid.simulator.validation import OrderKind, parse_order_ref, parse_start

API_PREFIX = "/rp/v6.0"
STATE = web.AppKey("bankid_simulator_state", SimulatorState)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_api_app(state: SimulatorState) -> web.Application:
    app = web.Application(middlewares=[_bankid_errors, _require_client_certificate])
    app[STATE] = state
    for kind in OrderKind:
        app.router.add_route("*", f"{API_PREFIX}/{kind.value}", _start_handler(kind))
    app.router.add_route("*", f"{API_PREFIX}/collect", _collect)
    app.router.add_route("*", f"{API_PREFIX}/cancel", _cancel)
    app.cleanup_ctx.append(_purge_periodically)
    return app


def _start_handler(kind: OrderKind) -> Handler:
    async def start(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        body = await _call_body(request, kind.value)
        order = state.start(parse_start(kind, body))
        answer: dict[str, Any] = {"orderRef": order.order_ref}
        if not kind.is_phone:
            answer.update(
                autoStartToken=order.auto_start_token,
                qrStartToken=order.qr_start_token,
                qrStartSecret=order.qr_start_secret,
            )
        return web.json_response(answer)

    return start


async def _collect(request: web.Request) -> web.StreamResponse:
    body = await _call_body(request, "collect")
    return web.json_response(request.app[STATE].collect(parse_order_ref(body)))


async def _cancel(request: web.Request) -> web.StreamResponse:
    body = await _call_body(request, "cancel")
    request.app[STATE].cancel(parse_order_ref(body))
    return web.json_response({})


async def _call_body(request: web.Request, endpoint: str) -> object:
    """The checks every endpoint shares, in the order BankID applies them: method, forced
    faults (maintenance and the like answer before the body is looked at), media type, JSON."""
    if request.method != hdrs.METH_POST:
        # Errors table, 405: only http method POST is allowed.
        raise ApiError(ErrorCode.METHOD_NOT_ALLOWED)
    fault = request.app[STATE].take_fault(endpoint)
    if fault is not None:
        raise fault
    # Errors table, 415: the type must be exactly application/json; a "charset" parameter is
    # refused because that MIME type has neither optional nor required parameters.
    if request.headers.get(hdrs.CONTENT_TYPE, "").strip().lower() != "application/json":
        raise ApiError(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
    raw = await request.read()
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(ErrorCode.INVALID_PARAMETERS, "Invalid JSON") from None


@web.middleware
async def _bankid_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every failure in BankID's error format, including aiohttp's own 404/405/413."""
    try:
        return await handler(request)
    except ApiError as refused:
        return web.json_response(refused.body(), status=refused.code.http_status)
    except web.HTTPException as exc:
        if exc.status == 404:
            error = ApiError(ErrorCode.NOT_FOUND)
        elif exc.status == 405:
            error = ApiError(ErrorCode.METHOD_NOT_ALLOWED)
        elif exc.status == 413:
            error = ApiError(ErrorCode.INVALID_PARAMETERS, "Request too large")
        else:
            raise
        return web.json_response(error.body(), status=error.code.http_status)


@web.middleware
async def _require_client_certificate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Second line behind the TLS handshake: never serve a connection that carries no verified
    client certificate, even if this app were mounted behind a server with no client auth."""
    transport = request.transport
    peer_certificate = transport.get_extra_info("peercert") if transport is not None else None
    if not peer_certificate:
        raise ApiError(ErrorCode.UNAUTHORIZED)
    return await handler(request)


async def _purge_periodically(app: web.Application) -> AsyncIterator[None]:
    """Drop orders that can no longer be collected, so memory stays flat under load."""
    state = app[STATE]

    async def run() -> None:
        while True:
            await asyncio.sleep(state.settings.purge_interval)
            state.purge()

    task = asyncio.create_task(run(), name="bankid-simulator-purge")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
