"""The BankID RP API client, provider and collect loop against the real simulator.

Every test here talks HTTPS with mutual TLS to a simulator listening on a free port; the person
holding the phone is played through the simulator's ``/sim`` control API (scan a QR code, open an
autostart link, choose an ID, approve, cancel) or by forcing its error answers.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from identity.bankid import errors
from identity.bankid.client import (
    AppDevice,
    AuthRequest,
    BankIdClient,
    BankIdConfig,
    CallInitiator,
    CollectStatus,
    HintCode,
    PhoneAuthRequest,
    Requirement,
    RetryPolicy,
    SignRequest,
    WebDevice,
)
from identity.bankid.collector import CollectLoop
from identity.bankid.provider import BankIdProvider
from identity.bankid.simulator import TEST_PERSONS, RunningSimulator
from identity.base import OrderState, OrderStatus, PollingIdentityProvider, StartRequest

PERSON = TEST_PERSONS[0]
OTHER = TEST_PERSONS[1]
FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.01, factor=2.0, max_delay=0.05, jitter=0.0)


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


class SimControl:
    """The simulator's /sim API: what the person in front of the BankID app does."""

    def __init__(self, simulator: RunningSimulator, session: aiohttp.ClientSession) -> None:
        self._base = simulator.control_url
        self._session = session

    async def post(self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200) -> Any:
        async with self._session.post(self._base + path, json=body or {}) as response:
            data = await response.json(content_type=None)
            assert response.status == expect, (path, response.status, data)
            return data

    async def scan(self, qr_data: str, *, expect: int = 200) -> Any:
        return await self.post("scan", {"qrData": qr_data}, expect=expect)

    async def autostart(self, token: str) -> Any:
        return await self.post("autostart", {"autoStartToken": token})

    async def identify(self, order_ref: str, personal_number: str) -> Any:
        return await self.post(f"orders/{order_ref}/identify", {"personalNumber": personal_number})

    async def confirm(self, order_ref: str) -> Any:
        return await self.post(f"orders/{order_ref}/confirm")

    async def complete(self, order_ref: str, personal_number: str | None = None) -> Any:
        body = {"personalNumber": personal_number} if personal_number else {}
        return await self.post(f"orders/{order_ref}/complete", body)

    async def fail(self, order_ref: str, hint_code: str) -> Any:
        return await self.post(f"orders/{order_ref}/fail", {"hintCode": hint_code})

    async def fault(self, error_code: str, times: int = 1, endpoint: str | None = None) -> Any:
        body: dict[str, Any] = {"errorCode": error_code, "times": times}
        if endpoint:
            body["endpoint"] = endpoint
        return await self.post("faults", body)


def config_for(simulator: RunningSimulator, **overrides: Any) -> BankIdConfig:
    config = BankIdConfig(
        client_cert=simulator.client_cert_path,
        client_key=simulator.client_key_path,
        ca_cert=simulator.ca_path,
        base_url=simulator.api_url,
        request_timeout=5.0,
        retry=FAST_RETRY,
    )
    return replace(config, **overrides)


@pytest.fixture
async def control(bankid_simulator: RunningSimulator) -> AsyncIterator[SimControl]:
    async with aiohttp.ClientSession() as session:
        yield SimControl(bankid_simulator, session)


@pytest.fixture
async def client(bankid_simulator: RunningSimulator) -> AsyncIterator[BankIdClient]:
    async with await BankIdClient.open(config_for(bankid_simulator)) as opened:
        yield opened


@pytest.fixture
def provider(client: BankIdClient) -> BankIdProvider:
    return BankIdProvider(client, referring_domain="meetsvc.example", return_risk=True)


def now_utc() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------
# starting orders
# --------------------------------------------------------------------------------------------


async def test_auth_returns_tokens_and_starts_pending(client: BankIdClient) -> None:
    order = await client.auth(AuthRequest(end_user_ip="192.0.2.10"))
    for value in (order.order_ref, order.auto_start_token, order.qr_start_token, order.qr_start_secret):
        uuid.UUID(value)
    assert order.qr_start_secret not in repr(order)

    status = await client.collect(order.order_ref)
    assert status.status is CollectStatus.PENDING
    assert status.hint_code == "outstandingTransaction"
    assert status.known_hint_code is HintCode.OUTSTANDING_TRANSACTION
    assert status.completion_data is None


async def test_every_documented_start_field_is_accepted(
    client: BankIdClient, bankid_simulator: RunningSimulator, control: SimControl
) -> None:
    request = AuthRequest(
        end_user_ip="2001:db8::1",
        requirement=Requirement(
            pin_code=True,
            mrtd=False,
            card_reader="class2",
            certificate_policies=("1.2.3.4.25", "1.2.752.78.*"),
            personal_number=PERSON.personal_number,
        ),
        user_visible_data="Logga in till **SIP-möte**",
        user_visible_data_format="simpleMarkdownV1",
        user_non_visible_data=b"\x00\x01binary",
        return_url="https://meetsvc.example/return?nonce=abc",
        return_risk=True,
        web=WebDevice("meetsvc.example", "Mozilla/5.0 (X11)", "cookie-hash-1"),
    )
    order = await client.auth(request)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{bankid_simulator.control_url}orders/{order.order_ref}") as response:
            view = await response.json()
    assert view["userVisibleData"] == "Logga in till **SIP-möte**"  # base64 round trip, UTF-8
    assert view["userVisibleDataFormat"] == "simpleMarkdownV1"
    assert view["requirement"] == {
        "pinCode": True,
        "mrtd": False,
        "cardReader": "class2",
        "certificatePolicies": ["1.2.3.4.25", "1.2.752.78.*"],
    }
    assert view["personalNumber"] == PERSON.personal_number
    assert view["returnUrl"] == "https://meetsvc.example/return?nonce=abc"

    app_order = await client.auth(
        AuthRequest(
            end_user_ip="192.0.2.1",
            app=AppDevice("se.example.meetsvc", "IOS 17.4", "Apple iPhone14,3", "device-1"),
        )
    )
    assert (await client.collect(app_order.order_ref)).status is CollectStatus.PENDING


async def test_sign_requires_and_sends_visible_data(client: BankIdClient, control: SimControl) -> None:
    order = await client.sign(
        SignRequest(end_user_ip="192.0.2.1", user_visible_data="Jag godkänner planen", user_non_visible_data=b"doc")
    )
    await control.complete(order.order_ref, PERSON.personal_number)
    done = await client.collect(order.order_ref)
    assert done.status is CollectStatus.COMPLETE
    assert done.completion_data is not None and done.completion_data.signature


def test_web_and_app_together_are_refused_before_sending() -> None:
    with pytest.raises(ValueError):
        AuthRequest(
            end_user_ip="192.0.2.1",
            web=WebDevice("a.example", "ua", "d"),
            app=AppDevice("a", "b", "c", "d"),
        ).to_json()
    with pytest.raises(ValueError):
        AuthRequest(end_user_ip="192.0.2.1", user_visible_data="x", user_visible_data_format="html").to_json()  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# collect: every outcome and hint code
# --------------------------------------------------------------------------------------------


async def test_qr_flow_through_started_usersign_complete(
    client: BankIdClient, provider: BankIdProvider, control: SimControl
) -> None:
    order = await provider.start(StartRequest(end_user_ip="192.0.2.7"))
    assert (await client.collect(order.order_ref)).hint_code == "outstandingTransaction"

    await control.scan(provider.qr_data(order, now_utc()) or "")
    assert (await client.collect(order.order_ref)).hint_code == "started"

    await control.identify(order.order_ref, PERSON.personal_number)
    assert (await client.collect(order.order_ref)).hint_code == "userSign"

    await control.complete(order.order_ref)
    answer = await client.collect(order.order_ref)
    assert answer.status is CollectStatus.COMPLETE and answer.hint_code is None
    data = answer.completion_data
    assert data is not None
    assert data.user.personal_number == PERSON.personal_number
    assert (data.user.name, data.user.given_name, data.user.surname) == (PERSON.name, PERSON.given_name, PERSON.surname)
    assert data.device.ip_address and data.device.uhi
    assert data.bank_id_issue_date == PERSON.bank_id_issue_date.isoformat()
    assert data.signature and data.ocsp_response
    assert data.risk == "low"  # returnRisk was set by the provider
    assert data.step_up is None
    assert PERSON.personal_number not in repr(answer)

    # A final status is handed out once (errors table, invalidParameters).
    with pytest.raises(errors.InvalidParameters):
        await client.collect(order.order_ref)


async def test_mrtd_step_up(client: BankIdClient, control: SimControl) -> None:
    order = await client.auth(AuthRequest(end_user_ip="192.0.2.1", requirement=Requirement(mrtd=True)))
    await control.autostart(order.auto_start_token)
    await control.identify(order.order_ref, PERSON.personal_number)
    assert (await client.collect(order.order_ref)).known_hint_code is HintCode.USER_MRTD
    await control.confirm(order.order_ref)
    assert (await client.collect(order.order_ref)).known_hint_code is HintCode.USER_SIGN
    await control.complete(order.order_ref)
    answer = await client.collect(order.order_ref)
    assert answer.completion_data is not None and answer.completion_data.step_up is not None
    assert answer.completion_data.step_up.mrtd is True
    assert answer.completion_data.risk is None  # not asked for


async def test_phone_auth_with_call_initiator(client: BankIdClient, control: SimControl) -> None:
    request = PhoneAuthRequest(PERSON.personal_number, CallInitiator.RP, user_visible_data="Samtal från kommunen")
    assert PERSON.personal_number not in repr(request)
    order = await client.phone_auth(request)
    await control.identify(order.order_ref, PERSON.personal_number)
    assert (await client.collect(order.order_ref)).known_hint_code is HintCode.USER_CALL_CONFIRM
    await control.confirm(order.order_ref)
    await control.complete(order.order_ref)
    answer = await client.collect(order.order_ref)
    assert answer.status is CollectStatus.COMPLETE
    assert answer.completion_data is not None
    assert answer.completion_data.user.personal_number == PERSON.personal_number
    with pytest.raises(ValueError):
        PhoneAuthRequest(
            PERSON.personal_number, CallInitiator.USER, requirement=Requirement(personal_number=PERSON.personal_number)
        ).to_json()


@pytest.mark.parametrize(
    "hint_code", ["userCancel", "expiredTransaction", "startFailed", "certificateErr", "cancelled", "userDeclinedCall"]
)
async def test_failed_hint_codes(client: BankIdClient, control: SimControl, hint_code: str) -> None:
    order = await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
    await control.fail(order.order_ref, hint_code)
    answer = await client.collect(order.order_ref)
    assert answer.status is CollectStatus.FAILED
    assert answer.hint_code == hint_code
    assert answer.known_hint_code is HintCode(hint_code)


async def test_order_nobody_starts_fails_with_start_failed_then_expires(bankid_simulator_factory, manual_clock) -> None:  # type: ignore[no-untyped-def]
    simulator = await bankid_simulator_factory(clock=manual_clock, start_timeout=30, order_ttl=180)
    async with await BankIdClient.open(config_for(simulator)) as client:
        never_started = await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
        started = await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
        async with aiohttp.ClientSession() as session:
            await SimControl(simulator, session).autostart(started.auto_start_token)
        manual_clock.advance(31)
        first = await client.collect(never_started.order_ref)
        assert (first.status, first.hint_code) == (CollectStatus.FAILED, "startFailed")
        assert (await client.collect(started.order_ref)).hint_code == "started"
        manual_clock.advance(150)
        expired = await client.collect(started.order_ref)
        assert (expired.status, expired.hint_code) == (CollectStatus.FAILED, "expiredTransaction")


async def test_cancel(client: BankIdClient, provider: BankIdProvider) -> None:
    order = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
    await provider.cancel(order.order_ref)
    with pytest.raises(errors.InvalidParameters):
        await client.collect(order.order_ref)
    with pytest.raises(errors.InvalidParameters):  # "cancelling an orderRef that is already cancelled"
        await client.cancel(order.order_ref)


# --------------------------------------------------------------------------------------------
# error answers
# --------------------------------------------------------------------------------------------


async def test_already_in_progress_cancels_the_first_order(client: BankIdClient) -> None:
    bound = Requirement(personal_number=PERSON.personal_number)
    first = await client.auth(AuthRequest(end_user_ip="192.0.2.1", requirement=bound))
    with pytest.raises(errors.AlreadyInProgress) as raised:
        await client.auth(AuthRequest(end_user_ip="192.0.2.1", requirement=bound))
    assert raised.value.http_status == 400 and raised.value.rfa == "RFA4"
    assert not raised.value.retryable
    assert PERSON.personal_number not in str(raised.value)
    answer = await client.collect(first.order_ref)
    assert (answer.status, answer.hint_code) == (CollectStatus.FAILED, "cancelled")


async def test_invalid_parameters_unknown_order_and_bad_ip(client: BankIdClient) -> None:
    with pytest.raises(errors.InvalidParameters) as raised:
        await client.collect(str(uuid.uuid4()))
    assert raised.value.error_code == "invalidParameters" and raised.value.details
    with pytest.raises(errors.InvalidParameters):
        await client.auth(AuthRequest(end_user_ip="not-an-address"))


async def test_not_found_for_a_wrong_api_path(bankid_simulator: RunningSimulator) -> None:
    wrong = bankid_simulator.api_url.replace("/rp/v6.0/", "/rp/v5.1/")
    async with await BankIdClient.open(config_for(bankid_simulator, base_url=wrong)) as client:
        with pytest.raises(errors.NotFound) as raised:
            await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
    assert raised.value.http_status == 404


@pytest.mark.parametrize(
    "code, cls, status",
    [
        ("alreadyInProgress", errors.AlreadyInProgress, 400),
        ("invalidParameters", errors.InvalidParameters, 400),
        ("unauthorized", errors.Unauthorized, 401),
        ("notFound", errors.NotFound, 404),
        ("methodNotAllowed", errors.MethodNotAllowed, 405),
        ("requestTimeout", errors.RequestTimeout, 408),
        ("unsupportedMediaType", errors.UnsupportedMediaType, 415),
        ("internalError", errors.InternalError, 500),
        ("maintenance", errors.Maintenance, 503),
    ],
)
async def test_each_error_code_is_its_exception(
    client: BankIdClient, control: SimControl, code: str, cls: type[errors.BankIdApiError], status: int
) -> None:
    # Enough forced answers to outlast any retries, so every class is raised in the end.
    await control.fault(code, times=FAST_RETRY.attempts, endpoint="auth")
    with pytest.raises(cls) as raised:
        await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
    assert raised.value.error_code == code
    assert raised.value.http_status == status
    assert isinstance(raised.value, errors.BankIdError)


async def test_maintenance_is_retried_until_it_passes(client: BankIdClient, control: SimControl) -> None:
    await control.fault("maintenance", times=FAST_RETRY.attempts - 1, endpoint="auth")
    order = await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
    assert order.order_ref


async def test_maintenance_is_retried_a_bounded_number_of_times(
    client: BankIdClient, control: SimControl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="identity.bankid.client")
    await control.fault("maintenance", times=10, endpoint="auth")
    with pytest.raises(errors.Maintenance):
        await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
    answers = [record for record in caplog.records if "503 maintenance" in record.getMessage()]
    assert len(answers) == FAST_RETRY.attempts


@pytest.mark.parametrize(
    "code, cls", [("internalError", errors.InternalError), ("requestTimeout", errors.RequestTimeout)]
)
async def test_errors_bankid_forbids_retrying_are_raised_at_once(
    client: BankIdClient, control: SimControl, code: str, cls: type[errors.BankIdApiError]
) -> None:
    # "RP must not automatically try again": one call uses exactly one forced answer.
    await control.fault(code, times=2, endpoint="collect")
    order = await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
    with pytest.raises(cls) as raised:
        await client.collect(order.order_ref)
    assert not raised.value.retryable and raised.value.rfa == "RFA5"
    with pytest.raises(cls):
        await client.collect(order.order_ref)
    assert (await client.collect(order.order_ref)).status is CollectStatus.PENDING


def test_unknown_error_codes_and_bare_statuses_are_mapped() -> None:
    unknown = errors.error_from_answer(400, "somethingNew", "details")
    assert isinstance(unknown, errors.UnknownErrorCode)
    assert (unknown.error_code, unknown.rfa, unknown.retryable) == ("somethingNew", "RFA22", False)
    assert isinstance(errors.error_from_answer(503, None, None), errors.Maintenance)
    assert isinstance(errors.error_from_answer(403, None, None), errors.Unauthorized)
    assert isinstance(errors.error_from_answer(400, None, None), errors.UnknownErrorCode)
    assert [cls.error_code for cls in errors.KNOWN_ERRORS if cls.retryable] == ["maintenance"]
    masked = errors.InvalidParameters("Incorrect personalNumber 198112189876")
    assert "198112189876" not in str(masked) and "198112189876" not in repr(masked)


# --------------------------------------------------------------------------------------------
# mutual TLS
# --------------------------------------------------------------------------------------------


async def test_client_with_a_foreign_certificate_is_refused(bankid_simulator: RunningSimulator) -> None:
    pki = bankid_simulator.pki
    config = config_for(bankid_simulator, client_cert=pki.foreign_client_cert, client_key=pki.foreign_client_key)
    async with await BankIdClient.open(config) as client:
        with pytest.raises(errors.BankIdTransportError):
            await client.auth(AuthRequest(end_user_ip="192.0.2.1"))


async def test_client_pinning_another_ca_refuses_the_server(bankid_simulator: RunningSimulator) -> None:
    config = config_for(bankid_simulator, ca_cert=bankid_simulator.pki.foreign_ca_cert)
    async with await BankIdClient.open(config) as client:
        with pytest.raises(errors.BankIdTransportError) as raised:
            await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
    assert "Certificate" in str(raised.value) or "SSL" in str(raised.value)


async def test_nothing_listening_is_a_transport_error(bankid_simulator: RunningSimulator) -> None:
    await bankid_simulator.close()
    async with await BankIdClient.open(config_for(bankid_simulator)) as client:
        with pytest.raises(errors.BankIdTransportError):
            await client.collect(str(uuid.uuid4()))


async def test_every_call_has_a_timeout(bankid_simulator: RunningSimulator) -> None:
    async with await BankIdClient.open(config_for(bankid_simulator, request_timeout=1e-6)) as client:
        with pytest.raises(errors.BankIdTransportError) as raised:
            await client.auth(AuthRequest(end_user_ip="192.0.2.1"))
    assert "timeout" in str(raised.value)


def test_plain_http_base_url_is_refused(bankid_simulator: RunningSimulator) -> None:
    with pytest.raises(ValueError):
        config_for(bankid_simulator, base_url=bankid_simulator.api_url.replace("https", "http"))


# --------------------------------------------------------------------------------------------
# the provider
# --------------------------------------------------------------------------------------------


def test_provider_is_a_polling_identity_provider(provider: BankIdProvider) -> None:
    assert isinstance(provider, PollingIdentityProvider)
    assert (provider.name, provider.level_of_assurance) == ("bankid", "loa3")


async def test_provider_same_device_flow_yields_verified_identity(
    provider: BankIdProvider, bankid_simulator: RunningSimulator, control: SimControl
) -> None:
    request = StartRequest(
        end_user_ip="192.0.2.44",
        same_device=True,
        return_url="https://meetsvc.example/join/abc?nonce=n1",
        user_visible_data="SIP-möte",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148",
    )
    order = await provider.start(request, device_identifier="browser-cookie-hash")
    assert order.qr_start_secret and order.qr_start_secret not in repr(order)
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{bankid_simulator.control_url}orders/{order.order_ref}") as response:
            view = await response.json()
    assert view["returnUrl"] == request.return_url

    await control.autostart(order.auto_start_token or "")
    pending = await provider.collect(order.order_ref)
    assert (pending.state, pending.hint_code) == (OrderState.PENDING, "started")

    await control.identify(order.order_ref, OTHER.personal_number)
    await control.complete(order.order_ref)
    done = await provider.collect(order.order_ref)
    assert done.state is OrderState.COMPLETE and done.identity is not None
    identity = done.identity
    assert identity.personal_number == OTHER.personal_number
    assert (identity.given_name, identity.surname) == (OTHER.given_name, OTHER.surname)
    assert (identity.provider, identity.level_of_assurance) == ("bankid", "loa3")
    assert identity.verified_at.tzinfo is not None
    assert OTHER.personal_number not in repr(done)


async def test_provider_other_device_does_not_send_return_url(
    provider: BankIdProvider, bankid_simulator: RunningSimulator
) -> None:
    order = await provider.start(
        StartRequest(end_user_ip="192.0.2.44", same_device=False, return_url="https://meetsvc.example/x")
    )
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{bankid_simulator.control_url}orders/{order.order_ref}") as response:
            view = await response.json()
    assert view["returnUrl"] is None


def test_provider_refuses_a_malformed_personal_number() -> None:
    from identity.bankid.client import CollectResponse

    provider = BankIdProvider(client=None)  # type: ignore[arg-type]  # mapping needs no client
    answer = {
        "orderRef": str(uuid.uuid4()),
        "status": "complete",
        "completionData": {
            "user": {"personalNumber": "198112189875", "name": "A B", "givenName": "A", "surname": "B"},
            "device": {"ipAddress": "192.0.2.1"},
            "signature": "c2ln",
            "ocspResponse": "b2NzcA==",
        },
    }
    with pytest.raises(errors.BankIdProtocolError) as raised:
        provider.status_from_collect(CollectResponse.from_json(answer))
    assert "198112189875" not in str(raised.value)
    with pytest.raises(errors.BankIdProtocolError):
        CollectResponse.from_json({"orderRef": "x", "status": "complete"})
    with pytest.raises(errors.BankIdProtocolError):
        CollectResponse.from_json({"orderRef": "x", "status": "done"})
    unknown_hint = CollectResponse.from_json({"orderRef": "x", "status": "pending", "hintCode": "newCode"})
    assert (unknown_hint.hint_code, unknown_hint.known_hint_code) == ("newCode", None)


async def test_provider_failed_order(provider: BankIdProvider, control: SimControl) -> None:
    order = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
    await control.fail(order.order_ref, "userCancel")
    status = await provider.collect(order.order_ref)
    assert (status.state, status.hint_code, status.identity) == (OrderState.FAILED, "userCancel", None)


async def test_provider_qr_frames_are_accepted_by_the_app(provider: BankIdProvider, control: SimControl) -> None:
    order = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
    frame = provider.qr_data(order, now_utc())
    assert frame is not None and frame.startswith(f"bankid.{order.qr_start_token}.")
    view = await control.scan(frame)
    assert view["hintCode"] == "started"


async def test_qr_frame_with_a_wrong_secret_or_time_is_refused(provider: BankIdProvider, control: SimControl) -> None:
    order = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
    forged = replace(order, qr_start_secret=str(uuid.uuid4()))
    await control.scan(provider.qr_data(forged, now_utc()) or "", expect=422)
    stale = provider.qr_data(order, now_utc() + timedelta(seconds=20))
    await control.scan(stale or "", expect=422)
    await control.scan(provider.qr_data(order, now_utc()) or "")  # the honest frame still works


def test_autostart_url_forms() -> None:
    from identity.base import Order

    provider = BankIdProvider(client=None)  # type: ignore[arg-type]  # links need no client
    started = datetime.now(UTC)
    mobile = Order(
        "ref", started, auto_start_token="tok-1", provider_state={"device": "mobile", "return_url_in_order": "0"}
    )
    desktop = replace(mobile, provider_state={"device": "desktop", "return_url_in_order": "0"})
    in_order = replace(mobile, provider_state={"device": "mobile", "return_url_in_order": "1"})

    assert provider.autostart_url(desktop, "https://x.example/r") == "bankid:///?autostarttoken=tok-1&redirect=null"
    assert provider.autostart_url(mobile, None) == "https://app.bankid.com/?autostarttoken=tok-1&redirect=null"
    assert (
        provider.autostart_url(mobile, "https://x.example/r?a=1&b=2")
        == "https://app.bankid.com/?autostarttoken=tok-1&redirect=https%3A%2F%2Fx.example%2Fr%3Fa%3D1%26b%3D2"
    )
    # The v6 returnUrl in the order wins; the launch link then carries redirect=null.
    assert (
        provider.autostart_url(in_order, "https://x.example/r")
        == "https://app.bankid.com/?autostarttoken=tok-1&redirect=null"
    )
    assert provider.autostart_url(mobile, None, mobile=False).startswith("bankid:///")
    assert provider.autostart_url(replace(mobile, auto_start_token=None), None) is None


async def test_autostart_device_is_guessed_from_the_user_agent(provider: BankIdProvider) -> None:
    android = await provider.start(
        StartRequest(end_user_ip="192.0.2.1", same_device=True, user_agent="Mozilla/5.0 (Linux; Android 14) Mobile")
    )
    windows = await provider.start(
        StartRequest(end_user_ip="192.0.2.1", same_device=True, user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)")
    )
    assert (provider.autostart_url(android, None) or "").startswith("https://app.bankid.com/?autostarttoken=")
    assert (provider.autostart_url(windows, None) or "").startswith("bankid:///?autostarttoken=")


async def test_personal_numbers_never_reach_the_log(
    provider: BankIdProvider, client: BankIdClient, control: SimControl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    order = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
    await control.complete(order.order_ref, PERSON.personal_number)
    done = await provider.collect(order.order_ref)
    assert done.identity is not None
    bound = Requirement(personal_number=OTHER.personal_number)
    await client.auth(AuthRequest(end_user_ip="192.0.2.1", requirement=bound))
    with pytest.raises(errors.AlreadyInProgress):
        await client.auth(AuthRequest(end_user_ip="192.0.2.1", requirement=bound))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert text  # the client did log these calls
    for number in (PERSON.personal_number, OTHER.personal_number, PERSON.personal_number[2:]):
        assert number not in text


# --------------------------------------------------------------------------------------------
# the collect loop
# --------------------------------------------------------------------------------------------


async def test_collect_loop_delivers_many_concurrent_orders(
    provider: BankIdProvider, control: SimControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    interval = 0.2
    rng = random.Random(7)
    seen: dict[str, list[float]] = defaultdict(list)
    loop_clock = asyncio.get_running_loop().time
    collect = provider.collect

    async def timed_collect(order_ref: str) -> OrderStatus:
        # When each collect *starts*: the answers may come back at any pace on a busy machine,
        # but the loop must never start the next collect of an order within the interval.
        seen[order_ref].append(loop_clock())
        return await collect(order_ref)

    monkeypatch.setattr(provider, "collect", timed_collect)

    async with CollectLoop(provider, interval=interval, concurrency=8) as collect_loop:
        orders = [await provider.start(StartRequest(end_user_ip="192.0.2.1")) for _ in range(50)]
        expected: dict[str, tuple[OrderState, str | None]] = {}
        futures = {}
        for index, order in enumerate(orders):
            futures[order.order_ref] = collect_loop.watch(order.order_ref)
            if index % 5 == 4:
                expected[order.order_ref] = (OrderState.FAILED, "userCancel")
            else:
                expected[order.order_ref] = (
                    OrderState.COMPLETE,
                    TEST_PERSONS[index % len(TEST_PERSONS)].personal_number,
                )
        assert collect_loop.pending == 50

        async def person_acts(order_ref: str) -> None:
            await asyncio.sleep(rng.uniform(0.05, 1.0))
            state, detail = expected[order_ref]
            if state is OrderState.FAILED:
                await control.fail(order_ref, detail or "")
            else:
                await control.complete(order_ref, detail)

        await asyncio.gather(*(person_acts(ref) for ref in futures))
        results = await asyncio.wait_for(asyncio.gather(*futures.values()), timeout=60)

    for ref, status in zip(futures, results, strict=False):
        state, detail = expected[ref]
        assert status.state is state
        if state is OrderState.COMPLETE:
            assert status.identity is not None and status.identity.personal_number == detail
        else:
            assert status.hint_code == detail
        # Never collected faster than the interval (a little slack for timer granularity).
        gaps = [b - a for a, b in zip(seen[ref], seen[ref][1:], strict=False)]
        assert all(gap >= interval * 0.95 for gap in gaps), gaps
    assert collect_loop.pending == 0
    stats = collect_loop.lag_stats()
    # A bound against a loop that loses track of orders; how small the lag is, bench/ measures.
    assert stats.count >= 50 and stats.p99_ms < 10_000


async def test_collect_loop_spreads_a_burst_over_the_interval(provider: BankIdProvider) -> None:
    interval = 0.5
    first_seen: dict[str, float] = {}
    loop_clock = asyncio.get_running_loop().time
    orders = [await provider.start(StartRequest(end_user_ip="192.0.2.1")) for _ in range(20)]
    async with CollectLoop(provider, interval=interval, concurrency=4) as collect_loop:
        started = loop_clock()
        for order in orders:
            collect_loop.watch(
                order.order_ref, lambda status, ref=order.order_ref: first_seen.setdefault(ref, loop_clock())
            )
        async with asyncio.timeout(30):
            while len(first_seen) < len(orders):
                await asyncio.sleep(interval / 10)
        assert collect_loop.latest(orders[0].order_ref) is not None
        assert collect_loop.latest(orders[0].order_ref).hint_code == "outstandingTransaction"  # type: ignore[union-attr]
    offsets = sorted(first_seen[order.order_ref] - started for order in orders)
    assert len(offsets) == 20
    # Not one burst: the first collects cover most of the interval.
    assert offsets[-1] - offsets[0] > interval * 0.6


async def test_collect_loop_unwatch_and_errors(provider: BankIdProvider, control: SimControl) -> None:
    async with CollectLoop(provider, interval=0.05, concurrency=2) as collect_loop:
        kept = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
        dropped = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
        future_dropped = collect_loop.watch(dropped.order_ref)
        collect_loop.unwatch(dropped.order_ref)
        assert future_dropped.cancelled()
        assert collect_loop.watch(kept.order_ref) is collect_loop.watch(kept.order_ref)

        # An order BankID no longer knows ends its watch with BankID's error.
        await provider.cancel(kept.order_ref)
        with pytest.raises(errors.InvalidParameters):
            await asyncio.wait_for(collect_loop.watch(kept.order_ref), timeout=30)
        assert collect_loop.pending == 0
        assert collect_loop.collect_errors >= 1


async def test_collect_loop_survives_a_passing_maintenance(provider: BankIdProvider, control: SimControl) -> None:
    statuses: list[OrderStatus] = []
    async with CollectLoop(provider, interval=0.05, concurrency=2) as collect_loop:
        order = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
        await control.fault("maintenance", times=2, endpoint="collect")  # within the client's retries
        future = collect_loop.watch(order.order_ref, statuses.append)
        async with asyncio.timeout(30):  # the loop has collected through the maintenance once
            while not statuses:
                await asyncio.sleep(0.01)
        await control.complete(order.order_ref, PERSON.personal_number)
        final = await asyncio.wait_for(future, timeout=30)
    assert final.state is OrderState.COMPLETE
    assert statuses[0].state is OrderState.PENDING and statuses[-1] is final


async def test_collect_loop_stop_cancels_waiting_watchers(provider: BankIdProvider) -> None:
    collect_loop = CollectLoop(provider, interval=0.05)
    await collect_loop.start()
    order = await provider.start(StartRequest(end_user_ip="192.0.2.1"))
    future = collect_loop.watch(order.order_ref)
    started = time.monotonic()
    await collect_loop.stop()
    assert future.cancelled() and not collect_loop.running
    assert time.monotonic() - started < 2
