"""The Freja eID client and provider against the real Freja simulator: HTTPS with mutual TLS,
form bodies of base64 JSON, signed JWS results checked against the pinned certificate.

The person with the Freja app is played through the simulator's ``/sim`` control API (scan the
QR code, approve as a test person, decline); the simulator's time is a manual clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from identity.bankid.collector import CollectLoop
from identity.bankid.simulator import ManualClock
from identity.bankid.testpki import ensure_test_pki
from identity.base import OrderState, PollingIdentityProvider, StartRequest
from identity.freja.client import (
    AuthRequest,
    AuthStatus,
    FrejaClient,
    FrejaConfig,
    RegistrationLevel,
    UserInfoType,
    form_body,
)
from identity.freja.errors import FrejaApiError, FrejaProtocolError, FrejaTransportError
from identity.freja.provider import LEVEL_TOO_LOW, FrejaProvider
from identity.freja.simulator.app import RunningFrejaSimulator, start_freja_simulator
from identity.freja.simulator.persons import TEST_PERSONS
from identity.freja.simulator.signing import ensure_signing_key
from identity.freja.simulator.state import SimulatorSettings

PLUS_PERSON = TEST_PERSONS[0]  # Erik Lindqvist, PLUS
EXTENDED_PERSON = TEST_PERSONS[2]  # EXTENDED only
BASIC_PERSON = TEST_PERSONS[4]  # BASIC only


@pytest.fixture(scope="session")
def freja_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("freja-simulator")
    ensure_test_pki(directory)
    ensure_signing_key(directory)
    ensure_signing_key(directory, "foreign-signing")
    return directory


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def simulator(freja_certs: Path, clock: ManualClock) -> AsyncIterator[RunningFrejaSimulator]:
    async with await start_freja_simulator(
        freja_certs, settings=SimulatorSettings(order_ttl=120.0, clock=clock)
    ) as running:
        yield running


def config_for(simulator: RunningFrejaSimulator, **changes: Any) -> FrejaConfig:
    values: dict[str, Any] = {
        "client_cert": simulator.client_cert_path,
        "client_key": simulator.client_key_path,
        "ca_cert": simulator.ca_path,
        "signing_cert": simulator.signing_cert_path,
        "base_url": simulator.api_url,
    }
    values.update(changes)
    return FrejaConfig(**values)


@pytest.fixture
async def client(simulator: RunningFrejaSimulator) -> AsyncIterator[FrejaClient]:
    async with await FrejaClient.open(config_for(simulator)) as opened:
        yield opened


@pytest.fixture
async def phone(simulator: RunningFrejaSimulator) -> AsyncIterator[Phone]:
    async with aiohttp.ClientSession() as session:
        yield Phone(simulator.app_url, session)


class Phone:
    """What the person with the Freja app does, through the simulator's control API."""

    def __init__(self, app_url: str, session: aiohttp.ClientSession) -> None:
        self._base = app_url + "sim/"
        self._session = session

    async def post(self, path: str, body: dict[str, Any] | None = None, *, expect: int = 200) -> Any:
        async with self._session.post(self._base + path, json=body or {}) as response:
            data = await response.json()
            assert response.status == expect, (path, response.status, data)
            return data

    async def scan(self, qr_data: str) -> str:
        return str((await self.post("scan", {"qrData": qr_data}))["authRef"])

    async def approve(self, auth_ref: str, ssn: str, *, expect: int = 200, level: str | None = None) -> Any:
        body = {"ssn": ssn} | ({"registrationLevel": level} if level else {})
        return await self.post(f"orders/{auth_ref}/approve", body, expect=expect)


START = StartRequest(end_user_ip="192.0.2.10")


# --- the happy path, and what it records ----------------------------------------------------


async def test_a_plus_person_scans_and_approves_and_is_vouched_for_at_loa3(
    client: FrejaClient, phone: Phone, simulator: RunningFrejaSimulator
) -> None:
    provider = FrejaProvider(client)
    order = await provider.start(START)
    assert (await provider.collect(order.order_ref)).hint_code == "STARTED"
    qr = provider.qr_data(order, order.started_at)
    assert qr is not None and qr.startswith("frejaeid://bindUserToTransaction?transactionReference=")
    assert await phone.scan(qr) == order.order_ref
    status = await provider.collect(order.order_ref)
    assert (status.state, status.hint_code) == (OrderState.PENDING, "DELIVERED_TO_MOBILE")
    await phone.approve(order.order_ref, PLUS_PERSON.ssn)
    status = await provider.collect(order.order_ref)
    assert status.state is OrderState.COMPLETE and status.identity is not None
    identity = status.identity
    assert (identity.personal_number, identity.given_name, identity.surname) == (
        PLUS_PERSON.ssn,
        PLUS_PERSON.given_name,
        PLUS_PERSON.surname,
    )
    assert (identity.provider, identity.level_of_assurance) == ("freja", "loa3")
    assert PLUS_PERSON.ssn not in repr(identity)
    # The simulator saw what Freja sees: INFERRED, the required level, the three attributes.
    seen = simulator.state.orders[order.order_ref]
    assert (seen.user_info_type, seen.min_level) == ("INFERRED", RegistrationLevel.PLUS)
    assert seen.attributes == ("BASIC_USER_INFO", "SSN", "REGISTRATION_LEVEL")


async def test_an_extended_person_is_recorded_as_extended_where_extended_suffices(
    client: FrejaClient, phone: Phone
) -> None:
    provider = FrejaProvider(client, min_registration_level=RegistrationLevel.EXTENDED)
    order = await provider.start(START)
    await phone.approve(order.order_ref, EXTENDED_PERSON.ssn)
    status = await provider.collect(order.order_ref)
    assert status.identity is not None and status.identity.level_of_assurance == "extended"


def test_basic_is_refused_as_a_minimum_level() -> None:
    with pytest.raises(ValueError, match="EXTENDED or PLUS"):
        FrejaProvider(object(), min_registration_level=RegistrationLevel.BASIC)  # type: ignore[arg-type]  # any client will do: the constructor refuses the level first


async def test_a_named_person_order_carries_the_ssn_and_only_that_person_can_approve(
    client: FrejaClient, phone: Phone, simulator: RunningFrejaSimulator
) -> None:
    auth_ref = await client.init_authentication(
        AuthRequest(user_info_type=UserInfoType.SSN, ssn=PLUS_PERSON.ssn, min_registration_level=RegistrationLevel.PLUS)
    )
    assert simulator.state.orders[auth_ref].expected_ssn == PLUS_PERSON.ssn
    await phone.approve(auth_ref, TEST_PERSONS[1].ssn, expect=409)
    # A second order for the same person while one is active: Freja's 2000.
    with pytest.raises(FrejaApiError) as error:
        await client.init_authentication(AuthRequest(user_info_type=UserInfoType.SSN, ssn=PLUS_PERSON.ssn))
    assert (error.value.code, error.value.error_code) == (2000, "alreadyInProgress")
    assert PLUS_PERSON.ssn not in str(error.value)
    await phone.approve(auth_ref, PLUS_PERSON.ssn)
    result = await client.get_one_result(auth_ref)
    assert result.status is AuthStatus.APPROVED and result.signed is not None
    assert result.signed.ssn == PLUS_PERSON.ssn and PLUS_PERSON.ssn not in repr(result)


# --- every other final status -----------------------------------------------------------------


async def test_the_person_declining_ends_canceled(client: FrejaClient, phone: Phone) -> None:
    provider = FrejaProvider(client)
    order = await provider.start(START)
    await phone.post(f"orders/{order.order_ref}/decline")
    status = await provider.collect(order.order_ref)
    assert (status.state, status.hint_code) == (OrderState.FAILED, "CANCELED")


async def test_freja_rejecting_ends_rejected(client: FrejaClient, phone: Phone) -> None:
    provider = FrejaProvider(client)
    order = await provider.start(START)
    await phone.post(f"orders/{order.order_ref}/reject")
    status = await provider.collect(order.order_ref)
    assert (status.state, status.hint_code) == (OrderState.FAILED, "REJECTED")


async def test_our_cancel_ends_rp_canceled_and_a_second_cancel_is_an_invalid_reference(
    client: FrejaClient,
) -> None:
    provider = FrejaProvider(client)
    order = await provider.start(START)
    await provider.cancel(order.order_ref)
    status = await provider.collect(order.order_ref)
    assert (status.state, status.hint_code) == (OrderState.FAILED, "RP_CANCELED")
    with pytest.raises(FrejaApiError) as error:
        await provider.cancel(order.order_ref)
    assert (error.value.code, error.value.error_code) == (1100, "invalidReference")


async def test_an_order_nobody_answers_expires(client: FrejaClient, clock: ManualClock) -> None:
    provider = FrejaProvider(client)
    order = await provider.start(START)
    clock.advance(119)
    assert (await provider.collect(order.order_ref)).state is OrderState.PENDING
    clock.advance(1)
    status = await provider.collect(order.order_ref)
    assert (status.state, status.hint_code) == (OrderState.FAILED, "EXPIRED")


async def test_an_unknown_reference_is_freja_error_1100(client: FrejaClient) -> None:
    with pytest.raises(FrejaApiError) as error:
        await client.get_one_result("no-such-order")
    assert (error.value.code, error.value.http_status, error.value.error_code) == (1100, 422, "invalidReference")


# --- registration level ------------------------------------------------------------------------


async def test_a_person_below_the_required_level_cannot_approve(client: FrejaClient, phone: Phone) -> None:
    provider = FrejaProvider(client)  # PLUS required
    for person in (EXTENDED_PERSON, BASIC_PERSON):
        order = await provider.start(START)
        await phone.approve(order.order_ref, person.ssn)
        status = await provider.collect(order.order_ref)
        assert (status.state, status.hint_code, status.identity) == (OrderState.FAILED, "REJECTED", None)


async def test_a_signed_level_below_the_required_one_is_not_vouched_for(client: FrejaClient, phone: Phone) -> None:
    """Even if Freja approved, a signed registration level below ours fails the identification."""
    provider = FrejaProvider(client)
    order = await provider.start(START)
    await phone.approve(order.order_ref, PLUS_PERSON.ssn, level="EXTENDED")
    status = await provider.collect(order.order_ref)
    assert (status.state, status.hint_code, status.identity) == (OrderState.FAILED, LEVEL_TOO_LOW, None)


# --- the signature ---------------------------------------------------------------------------


async def approved(client: FrejaClient, phone: Phone) -> str:
    auth_ref = await client.init_authentication(AuthRequest())
    await phone.approve(auth_ref, PLUS_PERSON.ssn)
    return auth_ref


async def test_a_tampered_result_is_refused(client: FrejaClient, phone: Phone) -> None:
    auth_ref = await approved(client, phone)
    await phone.post("faults", {"tamperPayload": True})
    with pytest.raises(FrejaProtocolError, match="does not verify"):
        await client.get_one_result(auth_ref)


async def test_a_result_signed_by_another_key_is_refused(client: FrejaClient, phone: Phone) -> None:
    auth_ref = await approved(client, phone)
    await phone.post("faults", {"signWithForeign": True})
    with pytest.raises(FrejaProtocolError, match="does not verify"):
        await client.get_one_result(auth_ref)


async def test_a_client_pinning_another_certificate_refuses_freja_s_results(
    simulator: RunningFrejaSimulator, phone: Phone
) -> None:
    config = config_for(simulator, signing_cert=simulator.foreign_signing.certificate_path)
    async with await FrejaClient.open(config) as client:
        auth_ref = await approved(client, phone)
        with pytest.raises(FrejaProtocolError, match="other than the pinned"):
            await client.get_one_result(auth_ref)


# --- mutual TLS and the request shape ---------------------------------------------------------


async def test_without_the_relying_party_certificate_the_handshake_fails(simulator: RunningFrejaSimulator) -> None:
    pki = simulator.pki
    config = config_for(simulator, client_cert=pki.foreign_client_cert, client_key=pki.foreign_client_key)
    async with await FrejaClient.open(config) as client:
        with pytest.raises(FrejaTransportError):
            await client.init_authentication(AuthRequest())


async def test_a_server_outside_the_trusted_ca_is_refused(simulator: RunningFrejaSimulator) -> None:
    pki = simulator.pki
    async with await FrejaClient.open(config_for(simulator, ca_cert=pki.foreign_ca_cert)) as client:
        with pytest.raises(FrejaTransportError):
            await client.init_authentication(AuthRequest())


async def test_the_api_takes_only_form_bodies_of_base64_json(simulator: RunningFrejaSimulator) -> None:
    context = simulator.relying_party_ssl_context()
    url = simulator.api_url + "/authentication/1.0/initAuthentication"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        async with session.post(url, json={"userInfoType": "INFERRED"}) as response:
            assert response.status == 400 and (await response.json())["code"] == 1002
        body = form_body("initAuthRequest", AuthRequest().to_json())
        assert body.startswith("initAuthRequest=ey")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        async with session.post(url, data=body, headers=headers) as response:
            assert response.status == 200 and "authRef" in await response.json()


# --- the collect loop ----------------------------------------------------------------------------


async def test_the_collect_loop_follows_a_freja_order_to_its_end(client: FrejaClient, phone: Phone) -> None:
    provider = FrejaProvider(client)
    assert isinstance(provider, PollingIdentityProvider)
    loop = CollectLoop(provider, interval=0.05)
    await loop.start()
    try:
        order = await provider.start(START)
        watched = loop.watch(order.order_ref)
        await phone.approve(order.order_ref, PLUS_PERSON.ssn)
        status = await watched
        assert status.state is OrderState.COMPLETE and status.identity is not None
    finally:
        await loop.stop()
