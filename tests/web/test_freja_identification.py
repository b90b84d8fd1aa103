"""Participants and staff identify with Freja eID+ through their pages, against the real Freja
simulator (HTTPS, mutual TLS, signed results) that the service starts beside the BankID one.

As in test_identification: the test is the browser (cookies, forms, status polls) and the phone
(reading the QR string the page shows, approving in the simulator's app as a test person).
Unlike the other page tests these run on SQLite and PostgreSQL: they are what writes the
provider and level columns that migration 0010 added.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from identity.freja import messages as freja_messages
from meetsvc.http.appkeys import ENGINE, FREJA
from meetsvc.storage.tables import audit_log, identifications, participant_identities
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS
from tests.web.test_identification import browser, csrf_of, invite, status, wait_for
from tests.web.test_staff_sign_in import add_staff

PLUS = "198112189876"  # Erik Lindqvist, Freja eID+ (PLUS) in the simulator
STAFF_PLUS = "196809059832"  # Per-Olof Öberg, PLUS
EXTENDED = "199005229811"  # Freja eID at EXTENDED only


@pytest_asyncio.fixture
async def service(database_url: str, keys_dir: Path, clock: SettableClock) -> AsyncIterator[RunningService]:
    """The service with Freja eID enabled through its simulator, on each database."""
    settings = make_settings(
        database_url,
        keys_dir,
        freja={"enabled": True, "use_simulator": True},
        freja_simulator={"certs_dir": str(keys_dir.parent / "freja-simulator"), "app_port": 0},
    )
    running = await start_service(settings, clock)
    yield running
    await running.close()


async def start_with_freja(page: aiohttp.ClientSession, path: str, *, expect: int = 200) -> str:
    """Open ``path`` (invitation or sign-in page), choose "Freja eID+ on another device"."""
    async with page.get(path) as response:
        html = await response.text()
    assert 'name="method" value="freja"' in html
    async with page.post("/identify", data={"csrf": csrf_of(html), "device": "other", "method": "freja"}) as response:
        assert response.status == expect, await response.text()
        return await response.text()


class Phone:
    """The person's phone with the Freja app: the simulator's control API."""

    def __init__(self, service) -> None:
        runtime = service.app[FREJA]
        assert runtime is not None and runtime.simulator_app_url
        self.base = runtime.simulator_app_url + "sim/"

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with aiohttp.ClientSession() as phone, phone.post(self.base + path, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def scan(self, page: aiohttp.ClientSession) -> str:
        current = await status(page)
        assert current["state"] == "pending"
        assert current["qr_data"].startswith("frejaeid://bindUserToTransaction?transactionReference=")
        return str((await self.post("scan", {"qrData": current["qr_data"]}))["authRef"])


async def hint_seen(page: aiohttp.ClientSession, hint_code: str) -> dict[str, Any]:
    """The status once the service's collect loop has seen ``hint_code`` (bounded by WAIT_SECONDS)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while (current := await status(page))["hint_code"] != hint_code:
            await asyncio.sleep(0.05)
    return current


async def audit_of(service) -> list[tuple[str, dict[str, Any]]]:
    async with service.app[ENGINE].connect() as connection:
        rows = (await connection.execute(select(audit_log.c.action, audit_log.c.details))).all()
    return [(row.action, json.loads(row.details)) for row in rows]


async def test_a_participant_identifies_with_freja_and_the_level_is_recorded(world):
    link = await invite(world, PLUS)
    phone = Phone(world.service)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")):
            pass
        html = await start_with_freja(page, "/m")
        assert "Legitimera dig med Freja eID+" in html and "QR-kod för Freja eID+" in html
        auth_ref = await phone.scan(page)
        assert (await status(page))["qr_data"].endswith(auth_ref)
        await phone.post(f"orders/{auth_ref}/approve", {"ssn": PLUS})
        await wait_for(page, "complete")
        async with page.get("/m") as response:
            assert "Erik Lindqvist" in await response.text()
    async with world.service.app[ENGINE].connect() as connection:
        identity = (await connection.execute(select(participant_identities))).one()
        order = (await connection.execute(select(identifications))).one()
    assert (identity.provider, identity.level_of_assurance, identity.matches_invitation) == ("freja", "loa3", True)
    assert (order.provider, order.level_of_assurance, order.outcome) == ("freja", "loa3", "matched")
    identified = [details for action, details in await audit_of(world.service) if action == "participant.identified"]
    assert identified == [{"provider": "freja", "level_of_assurance": "loa3", "outcome": "matched"}]


@pytest.mark.parametrize("ending", ["decline", "expire", "level", "forged"])
async def test_a_freja_identification_that_fails_says_why_and_is_audited(world, ending):
    link = await invite(world, PLUS)
    phone = Phone(world.service)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")):
            pass
        await start_with_freja(page, "/m")
        auth_ref = await phone.scan(page)
        if ending == "decline":
            await phone.post(f"orders/{auth_ref}/decline", {})
            hint = "CANCELED"
        elif ending == "expire":
            # The simulator ages its orders on the service's clock: Freja's two minutes pass.
            world.service.clock.advance(seconds=120)
            hint = "EXPIRED"
        elif ending == "forged":
            # A result whose signature is not Freja's pinned key: nobody is vouched for.
            await phone.post("faults", {"signWithForeign": True})
            await phone.post(f"orders/{auth_ref}/approve", {"ssn": PLUS})
            hint = "protocolError"
        else:
            # Freja approved, but the signed registration level is below the PLUS required.
            await phone.post(f"orders/{auth_ref}/approve", {"ssn": PLUS, "registrationLevel": "EXTENDED"})
            hint = "registrationLevelTooLow"
        failed = await wait_for(page, "failed")
        assert failed["message"] == freja_messages.hint_message(hint, pending=False, same_device=False, language="sv")
        async with page.get("/identify") as response:
            assert response.status == 200
            html = await response.text()
    assert failed["message"] in html.replace("&#39;", "'")
    assert PLUS not in html
    failures = [details for action, details in await audit_of(world.service) if action == "identification.failed"]
    assert failures == [{"provider": "freja", "hint_code": hint}]
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(participant_identities))).first() is None


async def test_a_method_that_is_not_offered_gets_a_readable_page_and_starts_nothing(world):
    link = await invite(world, PLUS)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")) as response:
            html = await response.text()
        async with page.post("/identify", data={"csrf": csrf_of(html), "device": "other", "method": "sms"}) as response:
            assert response.status == 400
            assert "Det sättet att legitimera sig finns inte här" in await response.text()
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(identifications))).first() is None


async def test_staff_sign_in_with_freja_in_english(world):
    await add_staff(world, STAFF_PLUS)
    phone = Phone(world.service)
    async with browser(world.service) as page:
        page.cookie_jar.update_cookies({"meetsvc_lang": "en"})
        html = await start_with_freja(page, "/staff/login")
        assert "Identify yourself with Freja eID+" in html
        auth_ref = await phone.scan(page)
        pending = await hint_seen(page, "DELIVERED_TO_MOBILE")
        assert pending["message"] == "Approve the identification in the Freja app."
        await phone.post(f"orders/{auth_ref}/approve", {"ssn": STAFF_PLUS})
        await wait_for(page, "complete")
        async with page.get("/identify") as response:
            assert response.url.path == "/staff"
    signed_in = [details for action, details in await audit_of(world.service) if action == "staff.signed_in"]
    assert signed_in == [{"provider": "freja", "level_of_assurance": "loa3", "outcome": "staff"}]
    async with world.service.app[ENGINE].connect() as connection:
        order = (await connection.execute(select(identifications))).one()
    assert (order.provider, order.level_of_assurance) == ("freja", "loa3")


async def test_a_staff_member_whose_freja_is_only_extended_is_refused_in_english(world):
    await add_staff(world, EXTENDED)
    phone = Phone(world.service)
    async with browser(world.service) as page:
        page.cookie_jar.update_cookies({"meetsvc_lang": "en"})
        await start_with_freja(page, "/staff/login")
        auth_ref = await phone.scan(page)
        await phone.post(f"orders/{auth_ref}/approve", {"ssn": EXTENDED})
        failed = await wait_for(page, "failed")
        assert failed["message"] == "Freja eID could not identify you. Try again or use BankID."
        async with page.get("/identify") as response:
            assert response.url.path == "/identify" and response.status == 200
    assert ("identification.failed", {"provider": "freja", "hint_code": "REJECTED"}) in await audit_of(world.service)
