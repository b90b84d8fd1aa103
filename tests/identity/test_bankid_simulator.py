"""The BankID simulator over real HTTPS with real mutual TLS, driven with plain aiohttp.

Each test plays the relying party (``/rp/v6.0``) and, where the story needs one, the person
holding the phone (``/sim``). Expected answers are those of the BankID RP API v6.0
specification, so a test failing here means the simulator has drifted from BankID.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import ssl
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from identity.bankid.simulator import TEST_PERSONS, ManualClock, RunningSimulator
from identity.bankid.simulator.persons import is_valid_personal_number, luhn_check_digit
from identity.bankid.testpki import ensure_test_pki

ERIK = TEST_PERSONS[0]  # 198112189876
KARIN = TEST_PERSONS[1]


# --- talking to the simulator --------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    headers: Any = None


class RelyingParty:
    """The RP side: POSTs JSON to ``<api_url><endpoint>`` over mutual TLS."""

    def __init__(self, session: aiohttp.ClientSession, api_url: str) -> None:
        self.session = session
        self.api_url = api_url

    async def call(self, endpoint: str, body: Any, *, content_type: str = "application/json") -> Reply:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self.session.post(
            self.api_url + endpoint, data=data, headers={"Content-Type": content_type}
        ) as response:
            return Reply(response.status, await response.json(content_type=None), response.headers)

    async def auth(self, **fields: Any) -> Reply:
        return await self.call("auth", {"endUserIp": "192.0.2.10", **fields})

    async def collect(self, order_ref: str) -> Reply:
        return await self.call("collect", {"orderRef": order_ref})


class App:
    """The person's side: the simulator's ``/sim`` control API."""

    def __init__(self, session: aiohttp.ClientSession, app_url: str) -> None:
        self.session = session
        self.app_url = app_url

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Reply:
        async with self.session.post(self.app_url + path, json=body or {}) as response:
            return Reply(response.status, await response.json(content_type=None), response.headers)

    async def get(self, path: str) -> Reply:
        async with self.session.get(self.app_url + path) as response:
            return Reply(response.status, await response.json(content_type=None), response.headers)


@dataclass
class World:
    simulator: RunningSimulator
    rp: RelyingParty
    app: App


@pytest.fixture
async def connect(bankid_client_ssl: ssl.SSLContext) -> AsyncIterator[Callable[[RunningSimulator], World]]:
    sessions: list[aiohttp.ClientSession] = []

    def make(simulator: RunningSimulator) -> World:
        rp_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=bankid_client_ssl))
        app_session = aiohttp.ClientSession()
        sessions.extend([rp_session, app_session])
        return World(simulator, RelyingParty(rp_session, simulator.api_url), App(app_session, simulator.app_url))

    yield make
    for session in sessions:
        await session.close()


@pytest.fixture
async def world(bankid_simulator: RunningSimulator, connect: Callable[[RunningSimulator], World]) -> World:
    return connect(bankid_simulator)


@pytest.fixture
async def timed(bankid_simulator_factory, connect, manual_clock: ManualClock) -> World:
    """A simulator whose time moves only with ``manual_clock.advance``."""
    return connect(await bankid_simulator_factory(clock=manual_clock))


def qr_data(start: dict[str, str], seconds: int, secret: str | None = None) -> str:
    """The animated QR content as a relying party computes it (BankID "QR code" guide)."""
    key = (secret or start["qrStartSecret"]).encode()
    code = hmac.new(key, str(seconds).encode(), hashlib.sha256).hexdigest()
    return f"bankid.{start['qrStartToken']}.{seconds}.{code}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


async def started_auth(world: World, **fields: Any) -> dict[str, str]:
    reply = await world.rp.auth(**fields)
    assert reply.status == 200, reply.body
    return reply.body


# --- the identification a participant makes: QR on another device -------------------------


@pytest.mark.parametrize("seconds", [0, 1, 7, 29])
async def test_auth_with_animated_qr_code_runs_to_completion(
    timed: World, manual_clock: ManualClock, seconds: int
) -> None:
    start = await started_auth(timed, returnRisk=True)
    assert set(start) == {"orderRef", "autoStartToken", "qrStartToken", "qrStartSecret"}
    for value in start.values():
        assert uuid.UUID(value).version == 4

    pending = await timed.rp.collect(start["orderRef"])
    assert pending.status == 200
    assert pending.body == {"orderRef": start["orderRef"], "status": "pending", "hintCode": "outstandingTransaction"}

    manual_clock.advance(seconds + 0.4)
    scanned = await timed.app.post("sim/scan", {"qrData": qr_data(start, seconds)})
    assert scanned.status == 200, scanned.body
    assert (await timed.rp.collect(start["orderRef"])).body["hintCode"] == "started"

    order_path = f"sim/orders/{start['orderRef']}"
    identified = await timed.app.post(f"{order_path}/identify", {"personalNumber": ERIK.personal_number})
    assert identified.status == 200, identified.body
    assert (await timed.rp.collect(start["orderRef"])).body["hintCode"] == "userSign"

    approved = await timed.app.post(f"{order_path}/complete", {"ipAddress": "198.51.100.7"})
    assert approved.status == 200, approved.body

    done = await timed.rp.collect(start["orderRef"])
    assert done.status == 200
    assert done.body["status"] == "complete"
    assert "hintCode" not in done.body
    data = done.body["completionData"]
    assert data["user"] == {
        "personalNumber": "198112189876",
        "name": "Erik Lindqvist",
        "givenName": "Erik",
        "surname": "Lindqvist",
    }
    assert data["device"]["ipAddress"] == "198.51.100.7"
    assert len(base64.b64decode(data["device"]["uhi"], validate=True)) == 32
    assert data["bankIdIssueDate"] == ERIK.bank_id_issue_date.isoformat()
    assert data["risk"] == "low"
    assert "stepUp" not in data  # no passport check was required
    signature = ET.fromstring(base64.b64decode(data["signature"], validate=True))
    assert signature.tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    func_id = signature.find(".//{http://www.bankid.com/signature/v1.0.0/types}funcId")
    assert func_id is not None and func_id.text == "Identification"
    assert base64.b64decode(data["ocspResponse"], validate=True)

    # A final status is handed out once (errors table: "cannot be collected twice").
    again = await timed.rp.collect(start["orderRef"])
    assert again.status == 400
    assert again.body == {"errorCode": "invalidParameters", "details": "No such order"}


async def test_a_qr_code_for_the_wrong_second_or_with_the_wrong_code_is_refused(
    timed: World, manual_clock: ManualClock
) -> None:
    start = await started_auth(timed)
    manual_clock.advance(10.2)

    wrong_time = await timed.app.post("sim/scan", {"qrData": qr_data(start, 3)})
    assert wrong_time.status == 422
    assert "second 3" in wrong_time.body["detail"]

    forged = await timed.app.post("sim/scan", {"qrData": qr_data(start, 10, secret=str(uuid.uuid4()))})
    assert forged.status == 422
    assert "qrAuthCode" in forged.body["detail"]

    malformed = await timed.app.post("sim/scan", {"qrData": f"bankid.{start['qrStartToken']}.10.nothex"})
    assert malformed.status == 400

    unknown = await timed.app.post("sim/scan", {"qrData": qr_data({**start, "qrStartToken": str(uuid.uuid4())}, 10)})
    assert unknown.status == 404

    # None of that moved the order; the right frame still works, once.
    assert (await timed.rp.collect(start["orderRef"])).body["hintCode"] == "outstandingTransaction"
    assert (await timed.app.post("sim/scan", {"qrData": qr_data(start, 10)})).status == 200
    assert (await timed.app.post("sim/scan", {"qrData": qr_data(start, 10)})).status == 409


async def test_qr_frames_a_little_off_are_accepted_within_the_tolerance(
    timed: World, manual_clock: ManualClock
) -> None:
    start = await started_auth(timed)
    manual_clock.advance(12.9)  # the page still shows frame 11 when the camera reads it
    assert (await timed.app.post("sim/scan", {"qrData": qr_data(start, 11)})).status == 200


# --- same device: autostart, and signing ---------------------------------------------------


async def test_sign_started_with_the_autostart_token_signs_the_visible_text(world: World) -> None:
    text = "Jag godkänner mötesinbjudan för SIP-möte, tisdag 14:00."
    reply = await world.rp.call(
        "sign",
        {
            "endUserIp": "2001:db8::5",
            "userVisibleData": b64(text),
            "userVisibleDataFormat": "simpleMarkdownV1",
            "userNonVisibleData": b64("meeting:42"),
        },
    )
    assert reply.status == 200, reply.body
    start = reply.body

    opened = await world.app.post("sim/autostart", {"autoStartToken": start["autoStartToken"]})
    assert opened.status == 200
    assert opened.body["userVisibleData"] == text
    assert "qrStartSecret" not in opened.body and "autoStartToken" not in opened.body

    order_path = f"sim/orders/{start['orderRef']}"
    assert (await world.app.post(f"{order_path}/identify", {"personalNumber": KARIN.personal_number})).status == 200
    assert (await world.app.post(f"{order_path}/complete")).status == 200

    done = await world.rp.collect(start["orderRef"])
    data = done.body["completionData"]
    assert data["user"]["personalNumber"] == KARIN.personal_number
    assert data["device"]["ipAddress"] == "127.0.0.1"  # where the approving "phone" was
    assert "risk" not in data  # returnRisk was not asked for
    signed = ET.fromstring(base64.b64decode(data["signature"]))
    ns = "{http://www.bankid.com/signature/v1.0.0/types}"
    visible = signed.find(f".//{ns}usrVisibleData")
    assert visible is not None and base64.b64decode(visible.text or "").decode("utf-8") == text
    assert signed.find(f".//{ns}usrNonVisibleData").text == b64("meeting:42")
    assert signed.find(f".//{ns}funcId").text == "Signing"


async def test_the_app_page_stands_in_for_the_bankid_autostart_link(world: World) -> None:
    link = world.simulator.app_link("abc-token", redirect="https://meetsvc.example/lobby")
    assert link.startswith(world.simulator.app_url)
    assert "autostarttoken=abc-token" in link and "redirect=https%3A%2F%2Fmeetsvc.example%2Flobby" in link

    async with world.app.session.get(link) as page:
        assert page.status == 200
        html = await page.text()
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
        assert page.headers["Referrer-Policy"] == "no-referrer"
    assert '<script src="/app.js" defer></script>' in html
    async with world.app.session.get(world.simulator.app_url + "app.js") as script:
        source = await script.text()
    assert "innerHTML" not in source and "textContent" in source


async def test_a_required_passport_check_adds_a_step_and_step_up_data(world: World) -> None:
    start = await started_auth(world, requirement={"mrtd": True, "pinCode": True})
    await world.app.post("sim/autostart", {"autoStartToken": start["autoStartToken"]})
    await world.app.post(f"sim/orders/{start['orderRef']}/identify", {"personalNumber": ERIK.personal_number})
    assert (await world.rp.collect(start["orderRef"])).body["hintCode"] == "userMrtd"
    assert (await world.app.post(f"sim/orders/{start['orderRef']}/confirm")).status == 200
    assert (await world.rp.collect(start["orderRef"])).body["hintCode"] == "userSign"
    await world.app.post(f"sim/orders/{start['orderRef']}/complete")
    assert (await world.rp.collect(start["orderRef"])).body["completionData"]["stepUp"] == {"mrtd": True}


# --- phone orders --------------------------------------------------------------------------


async def test_phone_auth_is_opened_by_the_named_person_who_confirms_the_call(world: World) -> None:
    reply = await world.rp.call("phone/auth", {"personalNumber": KARIN.personal_number, "callInitiator": "RP"})
    assert reply.status == 200, reply.body
    assert set(reply.body) == {"orderRef"}
    order_ref = reply.body["orderRef"]
    assert (await world.rp.collect(order_ref)).body["hintCode"] == "outstandingTransaction"

    other = await world.app.post(f"sim/orders/{order_ref}/identify", {"personalNumber": ERIK.personal_number})
    assert other.status == 409

    await world.app.post(f"sim/orders/{order_ref}/identify", {"personalNumber": KARIN.personal_number})
    assert (await world.rp.collect(order_ref)).body["hintCode"] == "userCallConfirm"
    await world.app.post(f"sim/orders/{order_ref}/confirm")
    assert (await world.rp.collect(order_ref)).body["hintCode"] == "userSign"
    await world.app.post(f"sim/orders/{order_ref}/complete")
    done = await world.rp.collect(order_ref)
    assert done.body["completionData"]["user"]["personalNumber"] == KARIN.personal_number


async def test_phone_sign_needs_the_text_to_sign(world: World) -> None:
    reply = await world.rp.call("phone/sign", {"personalNumber": KARIN.personal_number, "callInitiator": "user"})
    assert reply.status == 400
    assert reply.body == {"errorCode": "invalidParameters", "details": "Missing userVisibleData"}
    ok = await world.rp.call(
        "phone/sign",
        {"personalNumber": KARIN.personal_number, "callInitiator": "user", "userVisibleData": b64("Samtycke")},
    )
    assert ok.status == 200 and set(ok.body) == {"orderRef"}


# --- orders that fail ----------------------------------------------------------------------


@pytest.mark.parametrize("hint_code", ["userCancel", "expiredTransaction", "startFailed", "certificateErr"])
async def test_the_person_or_the_app_can_fail_an_order(world: World, hint_code: str) -> None:
    start = await started_auth(world)
    failed = await world.app.post(f"sim/orders/{start['orderRef']}/fail", {"hintCode": hint_code})
    assert failed.status == 200, failed.body
    reply = await world.rp.collect(start["orderRef"])
    assert reply.body == {"orderRef": start["orderRef"], "status": "failed", "hintCode": hint_code}
    assert (await world.rp.collect(start["orderRef"])).body["errorCode"] == "invalidParameters"


async def test_a_pending_hint_code_is_not_a_failure(world: World) -> None:
    start = await started_auth(world)
    reply = await world.app.post(f"sim/orders/{start['orderRef']}/fail", {"hintCode": "userSign"})
    assert reply.status == 400
    assert (await world.rp.collect(start["orderRef"])).body["status"] == "pending"


async def test_an_order_nobody_picks_up_fails_with_start_failed_after_thirty_seconds(
    timed: World, manual_clock: ManualClock
) -> None:
    start = await started_auth(timed)
    manual_clock.advance(29.9)
    assert (await timed.rp.collect(start["orderRef"])).body["status"] == "pending"
    manual_clock.advance(0.2)
    assert (await timed.rp.collect(start["orderRef"])).body == {
        "orderRef": start["orderRef"],
        "status": "failed",
        "hintCode": "startFailed",
    }
    # and the QR code no longer starts it
    assert (await timed.app.post("sim/scan", {"qrData": qr_data(start, 30)})).status == 404


async def test_a_started_order_left_unfinished_fails_with_expired_transaction(
    timed: World, manual_clock: ManualClock
) -> None:
    start = await started_auth(timed)
    await timed.app.post("sim/scan", {"qrData": qr_data(start, 0)})
    manual_clock.advance(179)
    assert (await timed.rp.collect(start["orderRef"])).body["hintCode"] == "started"
    manual_clock.advance(2)
    assert (await timed.rp.collect(start["orderRef"])).body["hintCode"] == "expiredTransaction"


async def test_a_short_configured_expiry_runs_on_the_real_clock(bankid_simulator_factory, connect) -> None:
    world = connect(await bankid_simulator_factory(order_ttl=0.3, start_timeout=10))
    before = time.monotonic()
    start = await started_auth(world)
    first = (await world.rp.collect(start["orderRef"])).body
    if time.monotonic() - before < 0.3:  # a busy machine may take longer than the order lives
        assert first["status"] == "pending"
    await asyncio.sleep(0.4)  # at least this long passes, however busy the machine
    reply = await world.rp.collect(start["orderRef"])
    assert reply.body["status"] == "failed"
    assert reply.body["hintCode"] == "expiredTransaction"


async def test_a_finished_order_is_collectable_only_for_a_while(timed: World, manual_clock: ManualClock) -> None:
    completed = await started_auth(timed)
    failed = await started_auth(timed)
    await timed.app.post(f"sim/orders/{completed['orderRef']}/complete", {"personalNumber": ERIK.personal_number})
    await timed.app.post(f"sim/orders/{failed['orderRef']}/fail", {"hintCode": "userCancel"})
    manual_clock.advance(181)  # completed orders: 3 minutes; failed orders: 5 minutes
    assert (await timed.rp.collect(completed["orderRef"])).body["errorCode"] == "invalidParameters"
    assert (await timed.rp.collect(failed["orderRef"])).body["hintCode"] == "userCancel"


# --- cancel and alreadyInProgress ----------------------------------------------------------


async def test_a_cancelled_order_is_gone(world: World) -> None:
    start = await started_auth(world)
    cancelled = await world.rp.call("cancel", {"orderRef": start["orderRef"]})
    assert cancelled.status == 200
    assert cancelled.body == {}
    gone = await world.rp.collect(start["orderRef"])
    assert gone.body == {"errorCode": "invalidParameters", "details": "No such order"}
    again = await world.rp.call("cancel", {"orderRef": start["orderRef"]})
    assert again.status == 400 and again.body["errorCode"] == "invalidParameters"
    assert (await world.app.post("sim/autostart", {"autoStartToken": start["autoStartToken"]})).status == 404


async def test_a_second_order_for_the_same_person_is_refused_and_the_first_cancelled(world: World) -> None:
    first = await started_auth(world, requirement={"personalNumber": ERIK.personal_number})
    second = await world.rp.auth(requirement={"personalNumber": ERIK.personal_number})
    assert second.status == 400
    assert second.body["errorCode"] == "alreadyInProgress"
    assert set(second.body) == {"errorCode", "details"}
    assert len(world.simulator.state) == 1  # no order was created for the second request

    assert (await world.rp.collect(first["orderRef"])).body == {
        "orderRef": first["orderRef"],
        "status": "failed",
        "hintCode": "cancelled",
    }
    # With nothing in progress any more, the person can start again.
    assert (await world.rp.auth(requirement={"personalNumber": ERIK.personal_number})).status == 200


async def test_a_person_busy_in_the_app_counts_as_in_progress(world: World) -> None:
    start = await started_auth(world)
    await world.app.post("sim/autostart", {"autoStartToken": start["autoStartToken"]})
    await world.app.post(f"sim/orders/{start['orderRef']}/identify", {"personalNumber": KARIN.personal_number})
    phone = await world.rp.call("phone/auth", {"personalNumber": KARIN.personal_number, "callInitiator": "user"})
    assert phone.body["errorCode"] == "alreadyInProgress"
    assert (await world.rp.collect(start["orderRef"])).body["hintCode"] == "cancelled"


async def test_an_order_bound_to_a_person_cannot_be_approved_by_another(world: World) -> None:
    start = await started_auth(world, requirement={"personalNumber": ERIK.personal_number})
    reply = await world.app.post(f"sim/orders/{start['orderRef']}/complete", {"personalNumber": KARIN.personal_number})
    assert reply.status == 409
    assert (await world.rp.collect(start["orderRef"])).body["status"] == "pending"


# --- request validation --------------------------------------------------------------------

VALID_AUTH: dict[str, Any] = {
    "endUserIp": "192.0.2.10",
    "requirement": {
        "pinCode": True,
        "mrtd": False,
        "cardReader": "class2",
        "certificatePolicies": ["1.2.752.78.*", "1.2.3.4.5"],
        "personalNumber": "198112189876",
    },
    "userVisibleData": b64("Logga in till SIP-mötet"),
    "userVisibleDataFormat": "simpleMarkdownV1",
    "userNonVisibleData": b64("opaque"),
    "returnUrl": "https://meetsvc.example/identify/return#state",
    "returnRisk": True,
    "web": {"deviceIdentifier": "a1b2c3", "referringDomain": "meetsvc.example", "userAgent": "Mozilla/5.0"},
}


async def test_every_documented_auth_parameter_is_accepted(world: World) -> None:
    reply = await world.rp.call("auth", VALID_AUTH)
    assert reply.status == 200, reply.body
    app_variant = {k: v for k, v in VALID_AUTH.items() if k != "web"}
    app_variant["requirement"] = {}
    app_variant["app"] = {
        "appIdentifier": "se.example.meetsvc",
        "deviceOS": "iOS 18.1",
        "deviceModelName": "iPhone15,2",
        "deviceIdentifier": "f00d",
    }
    assert (await world.rp.call("auth", app_variant)).status == 200


def _without(field: str) -> dict[str, Any]:
    return {k: v for k, v in VALID_AUTH.items() if k != field}


def _with(**changes: Any) -> dict[str, Any]:
    return {**VALID_AUTH, **changes}


def _requirement(**changes: Any) -> dict[str, Any]:
    return {**VALID_AUTH, "requirement": {**VALID_AUTH["requirement"], **changes}}


@pytest.mark.parametrize(
    ("endpoint", "body", "details"),
    [
        ("auth", _without("endUserIp"), "Missing endUserIp"),
        ("auth", _with(endUserIp="999.1.1.1"), "Invalid endUserIp"),
        ("auth", _with(endUserIp="localhost"), "Invalid endUserIp"),
        ("auth", _with(endUserIp=3232235777), "Invalid endUserIp"),
        ("auth", _with(personalNumber="198112189876"), "Unknown parameter: personalNumber"),
        ("auth", _with(userVisibleDataFormat="html"), "Invalid userVisibleDataFormat"),
        ("auth", _with(userVisibleData="not base64!"), "Invalid userVisibleData"),
        ("auth", _with(userVisibleData=b64("x" * 1200)), "Invalid userVisibleData"),
        ("auth", _with(userVisibleData=base64.b64encode(b"\xff\xfe").decode()), "Invalid userVisibleData"),
        ("auth", _with(userNonVisibleData=""), "Invalid userNonVisibleData"),
        ("auth", _with(returnRisk="true"), "Invalid returnRisk"),
        ("auth", _with(returnUrl="/relative/path"), "Invalid returnUrl"),
        ("auth", _with(web={"userAgent": "x", "ip": "1.2.3.4"}), "Unknown parameter: web.ip"),
        ("auth", _with(app={"appIdentifier": "x"}), "Invalid parameters: use app or web, not both"),
        ("auth", _with(requirement=["pinCode"]), "Invalid requirement"),
        ("auth", _requirement(allowFingerprint=True), "Unknown parameter: requirement.allowFingerprint"),
        ("auth", _requirement(cardReader="class3"), "Invalid requirement.cardReader"),
        ("auth", _requirement(pinCode="yes"), "Invalid requirement.pinCode"),
        ("auth", _requirement(personalNumber="198112189875"), "Incorrect requirement.personalNumber"),
        ("auth", _requirement(personalNumber="8112189876"), "Incorrect requirement.personalNumber"),
        ("auth", _requirement(certificatePolicies=["1.2.*"]), "Invalid requirement.certificatePolicies"),
        ("auth", _requirement(certificatePolicies=["1.2.752.*.*"]), "Invalid requirement.certificatePolicies"),
        ("auth", _requirement(certificatePolicies=[]), "Invalid requirement.certificatePolicies"),
        ("sign", _without("userVisibleData"), "Missing userVisibleData"),
        ("phone/auth", {"callInitiator": "RP"}, "Missing personalNumber"),
        ("phone/auth", {"personalNumber": "198112189876"}, "Missing callInitiator"),
        ("phone/auth", {"personalNumber": "198112189876", "callInitiator": "rp"}, "Invalid callInitiator"),
        (
            "phone/auth",
            {"personalNumber": "198112189876", "callInitiator": "RP", "endUserIp": "192.0.2.1"},
            "Unknown parameter: endUserIp",
        ),
        (
            "phone/auth",
            {
                "personalNumber": "198112189876",
                "callInitiator": "RP",
                "requirement": {"personalNumber": "198112189876"},
            },
            "Unknown parameter: requirement.personalNumber",
        ),
        ("collect", {}, "Missing orderRef"),
        ("collect", {"orderRef": 42}, "Invalid orderRef"),
        ("collect", {"orderRef": str(uuid.uuid4()), "extra": 1}, "Unknown parameter: extra"),
        ("cancel", ["orderRef"], "Invalid body"),
    ],
)
async def test_invalid_requests_are_refused_with_invalid_parameters(
    world: World, endpoint: str, body: Any, details: str
) -> None:
    reply = await world.rp.call(endpoint, body)
    assert reply.status == 400
    assert reply.body == {"errorCode": "invalidParameters", "details": details}
    assert len(world.simulator.state) == 0


async def test_visible_data_may_be_longer_when_signing(world: World) -> None:
    long_text = b64("x" * 1200)
    assert (await world.rp.call("sign", {"endUserIp": "192.0.2.1", "userVisibleData": long_text})).status == 200


@pytest.mark.parametrize("order_ref", [str(uuid.uuid4()), "not-a-uuid"])
async def test_collect_of_an_unknown_order_ref_is_invalid_parameters(world: World, order_ref: str) -> None:
    reply = await world.rp.collect(order_ref)
    assert reply.status == 400
    assert reply.body == {"errorCode": "invalidParameters", "details": "No such order"}


async def test_http_level_errors_use_the_bankid_error_format(world: World) -> None:
    session, base = world.rp.session, world.simulator.api_url

    async with session.post(base + "identify", json={"endUserIp": "192.0.2.1"}) as response:
        assert response.status == 404
        assert await response.json() == {"errorCode": "notFound", "details": "Not found"}
    async with session.get(base + "collect") as response:
        assert response.status == 405
        assert (await response.json())["errorCode"] == "methodNotAllowed"

    charset = await world.rp.call("auth", {"endUserIp": "192.0.2.1"}, content_type="application/json; charset=utf-8")
    assert charset.status == 415
    assert charset.body["errorCode"] == "unsupportedMediaType"
    not_json = await world.rp.call("auth", b"{endUserIp: 1}")
    assert not_json.status == 400
    assert not_json.body == {"errorCode": "invalidParameters", "details": "Invalid JSON"}
    assert len(world.simulator.state) == 0


# --- forced errors and planned outcomes ----------------------------------------------------


@pytest.mark.parametrize(
    ("error_code", "http_status"), [("maintenance", 503), ("internalError", 500), ("requestTimeout", 408)]
)
async def test_a_forced_error_answers_the_next_call_only(world: World, error_code: str, http_status: int) -> None:
    assert (await world.app.post("sim/faults", {"errorCode": error_code})).status == 200
    refused = await world.rp.auth()
    assert refused.status == http_status
    assert refused.body["errorCode"] == error_code
    assert len(world.simulator.state) == 0
    assert (await world.rp.auth()).status == 200


async def test_a_forced_error_can_target_one_endpoint(world: World) -> None:
    start = await started_auth(world)
    await world.app.post("sim/faults", {"errorCode": "maintenance", "endpoint": "collect", "times": 2})
    assert (await world.rp.auth()).status == 200
    assert (await world.rp.collect(start["orderRef"])).status == 503
    assert (await world.rp.collect(start["orderRef"])).status == 503
    assert (await world.rp.collect(start["orderRef"])).body["hintCode"] == "outstandingTransaction"


async def test_the_next_order_can_be_preset_to_complete(world: World) -> None:
    planned = await world.app.post(
        "sim/next-order", {"outcome": "complete", "personalNumber": KARIN.personal_number, "risk": "moderate"}
    )
    assert planned.status == 200
    start = await started_auth(world, returnRisk=True)
    assert (await world.rp.collect(start["orderRef"])).body["status"] == "pending"
    done = await world.rp.collect(start["orderRef"])
    assert done.body["completionData"]["user"]["personalNumber"] == KARIN.personal_number
    assert done.body["completionData"]["risk"] == "moderate"
    assert done.body["completionData"]["device"]["ipAddress"] == "192.0.2.10"
    # only the next order was planned
    later = await started_auth(world)
    for _ in range(3):
        assert (await world.rp.collect(later["orderRef"])).body["status"] == "pending"


async def test_the_next_order_can_be_preset_to_fail_immediately(world: World) -> None:
    await world.app.post("sim/next-order", {"outcome": "failed", "hintCode": "userCancel", "afterCollects": 0})
    start = await started_auth(world)
    assert (await world.rp.collect(start["orderRef"])).body["hintCode"] == "userCancel"


# --- mutual TLS ----------------------------------------------------------------------------


@pytest.mark.parametrize("context_fixture", ["bankid_ssl_without_client_cert", "bankid_ssl_with_foreign_client_cert"])
async def test_a_client_without_a_certificate_from_the_ca_is_refused_in_the_handshake(
    request: pytest.FixtureRequest, bankid_simulator: RunningSimulator, context_fixture: str
) -> None:
    context: ssl.SSLContext = request.getfixturevalue(context_fixture)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as session:
        with pytest.raises((aiohttp.ClientConnectionError, ssl.SSLError)):
            async with session.post(bankid_simulator.api_url + "auth", json={"endUserIp": "192.0.2.1"}) as response:
                await response.read()
    assert len(bankid_simulator.state) == 0


async def test_the_api_is_not_served_without_tls(bankid_simulator: RunningSimulator) -> None:
    plain = bankid_simulator.api_url.replace("https://", "http://")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            async with session.post(plain + "auth", json={"endUserIp": "192.0.2.1"}) as response:
                await response.read()
    assert len(bankid_simulator.state) == 0


# --- the control side keeps to itself ------------------------------------------------------


async def test_the_control_api_refuses_other_hosts_and_non_json_posts(world: World) -> None:
    orders_url = world.simulator.app_url + "sim/orders"
    async with world.app.session.get(orders_url, headers={"Host": "evil.example"}) as response:
        assert response.status == 421
        assert response.content_type == "application/problem+json"
    async with world.app.session.post(world.simulator.app_url + "sim/reset", data="{}") as response:
        assert response.status == 415  # a cross-site form post cannot send application/json


async def test_the_rp_api_is_not_on_the_control_listener(world: World) -> None:
    wrong_listener = world.simulator.app_url + "rp/v6.0/auth"
    async with world.app.session.post(wrong_listener, json={"endUserIp": "192.0.2.1"}) as response:
        assert response.status == 404
    assert len(world.simulator.state) == 0


async def test_pending_orders_are_listed_without_secrets(world: World) -> None:
    start = await started_auth(world, userVisibleData=b64("Möte <b>kl 10</b>"))
    listing = await world.app.get("sim/orders")
    assert [o["orderRef"] for o in listing.body["orders"]] == [start["orderRef"]]
    order = listing.body["orders"][0]
    assert order["userVisibleData"] == "Möte <b>kl 10</b>"  # the page writes it as text
    serialized = json.dumps(listing.body)
    for secret in (start["qrStartSecret"], start["qrStartToken"], start["autoStartToken"]):
        assert secret not in serialized


# --- data the simulator is built on --------------------------------------------------------


def test_test_persons_have_valid_distinct_numbers_in_the_test_series() -> None:
    numbers = [p.personal_number for p in TEST_PERSONS]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert is_valid_personal_number(number), number
        assert number[8:10] in ("98", "99")
    assert luhn_check_digit("811218987") == 6
    assert not is_valid_personal_number("198113189876")  # no 13th month


def test_the_test_pki_is_reused_and_reissued_when_incomplete(tmp_path) -> None:
    first = ensure_test_pki(tmp_path)
    ca_before = first.ca_cert.read_bytes()
    assert ensure_test_pki(tmp_path).ca_cert.read_bytes() == ca_before
    assert first.client_key.stat().st_mode & 0o077 == 0
    first.client_key.unlink()
    assert ensure_test_pki(tmp_path).ca_cert.read_bytes() != ca_before
    assert first.client_key.is_file()
