"""Participants and staff identify with BankID through their pages, against the real simulator.

The test plays both sides as a person would: the browser (cookies, forms, status polls) and the
phone (scanning the QR string the page shows, approving in the simulator's app as a test person).
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import aiohttp
import pytest
from sqlalchemy import select

from identity.bankid.messages import Rfa, message
from meetsvc.http.appkeys import EID, ENGINE
from meetsvc.storage.tables import audit_log, identifications, participant_identities
from tests.support.timing import WAIT_SECONDS

EXPECTED = "198112189876"  # a simulator test person
SOMEONE_ELSE = "197503179827"  # another test person


async def create_meeting(world) -> dict:
    starts = world.service.clock() + timedelta(days=2)
    body = {
        "partner_organisation_id": world.region.id,
        "title": "SIP-möte",
        "care_area": "barn_och_unga",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=1)).isoformat(),
        "host_ids": [world.hosts[world.municipality.id]],
    }
    async with world.service.http.post(
        "/api/v1/meetings", json=body, headers=world.auth(world.municipality)
    ) as response:
        assert response.status == 201, await response.text()
        return await response.json()


def browser(service) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def invite(world, personal_number: str | None) -> str:
    meeting = await create_meeting(world)
    body = {"role": "individual", "display_name": "Kim Andersson", "mobile": "0701234567"}
    if personal_number:
        body["personal_number"] = personal_number
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting['id']}/participants", json=body, headers=world.auth(world.municipality)
    ) as response:
        assert response.status == 201
        return (await response.json())["invitation_url"]


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def start(page: aiohttp.ClientSession, path: str, device: str = "other") -> None:
    async with page.get(path) as response:
        html = await response.text()
    async with page.post("/identify", data={"csrf": csrf_of(html), "device": device}) as response:
        assert response.status == 200, await response.text()
        assert str(response.url).endswith("/identify")


async def status(page: aiohttp.ClientSession) -> dict:
    async with page.get("/identify/status", headers={"Accept": "application/json"}) as response:
        return await response.json()


async def wait_for(page: aiohttp.ClientSession, state: str, timeout: float = WAIT_SECONDS) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            current = await status(page)
            if current["state"] == state:
                return current
            await asyncio.sleep(0.05)


async def phone_scans_and_approves(service, page, personal_number: str) -> None:
    current = await status(page)
    assert current["state"] == "pending" and current["qr_data"].startswith("bankid.")
    app_url = service.app[EID].simulator_app_url
    async with aiohttp.ClientSession() as phone:
        async with phone.post(f"{app_url}sim/scan", json={"qrData": current["qr_data"]}) as response:
            assert response.status == 200, await response.text()
            order_ref = (await response.json())["orderRef"]
        async with phone.post(
            f"{app_url}sim/orders/{order_ref}/complete", json={"personalNumber": personal_number}
        ) as response:
            assert response.status == 200, await response.text()


@pytest.mark.parametrize(
    "invited, verified, outcome",
    [
        (EXPECTED, EXPECTED, True),
        (EXPECTED, SOMEONE_ELSE, False),
        (None, SOMEONE_ELSE, None),
    ],
    ids=["match", "mismatch", "no-expected-person"],
)
async def test_a_participant_identifies_through_their_link(world, invited, verified, outcome):
    link = await invite(world, invited)
    token = link.rsplit("/", 1)[1]
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")) as response:
            assert response.status == 200
            # The token left the address bar: the page lives at /m.
            assert response.url.path == "/m"
            assert token not in await response.text()
        await start(page, "/m")
        await phone_scans_and_approves(world.service, page, verified)
        done = await wait_for(page, "complete")
        assert done["qr_data"] is None
        async with page.get("/m") as response:
            html = await response.text()
    engine = world.service.app[ENGINE]
    async with engine.connect() as connection:
        identity = (await connection.execute(select(participant_identities))).one()
        events = (await connection.execute(select(audit_log.c.action, audit_log.c.details))).all()
    assert identity.matches_invitation is outcome
    assert f"{identity.given_name} {identity.surname}" in html
    identified = [e for e in events if e.action == "participant.identified"]
    assert len(identified) == 1
    assert {True: "matched", False: "mismatch", None: "unexpected"}[outcome] in identified[0].details
    assert verified not in "".join(e.details for e in events)


async def test_the_qr_code_changes_every_second_and_is_drawn_on_the_server(world):
    link = await invite(world, EXPECTED)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")):
            pass
        await start(page, "/m")
        first = (await status(page))["qr_data"]
        async with page.get("/identify/qr.svg") as response:
            assert response.status == 200
            assert response.content_type == "image/svg+xml"
            assert "<svg" in await response.text()
        world.service.clock.advance(seconds=1)
        second = (await status(page))["qr_data"]
    token_part = lambda qr: qr.split(".")[1]  # noqa: E731
    assert token_part(first) == token_part(second)
    assert first.split(".")[2] == "0" and second.split(".")[2] == "1"
    assert first != second


async def test_a_user_who_cancels_in_the_app_sees_bankids_message_and_can_retry(world):
    link = await invite(world, EXPECTED)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")):
            pass
        await start(page, "/m")
        app_url = world.service.app[EID].simulator_app_url
        async with aiohttp.ClientSession() as phone:
            async with phone.post(f"{app_url}sim/scan", json={"qrData": (await status(page))["qr_data"]}) as r:
                order_ref = (await r.json())["orderRef"]
            async with phone.post(f"{app_url}sim/orders/{order_ref}/fail", json={"hintCode": "userCancel"}) as r:
                assert r.status == 200
        failed = await wait_for(page, "failed")
        # userCancel is shown with BankID's recommended message RFA6, in the page's language.
        assert failed["message"] == message(Rfa.RFA6, "sv")
        async with page.get("/identify") as response:
            assert 'href="/m"' in await response.text()


async def test_cancelling_on_the_page_cancels_the_order(world):
    link = await invite(world, EXPECTED)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")):
            pass
        await start(page, "/m")
        async with page.get("/identify") as response:
            html = await response.text()
        async with page.post("/identify/cancel", data={"csrf": csrf_of(html)}) as response:
            assert response.status == 200
        assert (await status(page))["state"] == "cancelled"
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(identifications.c.state))).scalar_one() == "cancelled"


async def test_starts_are_rate_limited_per_invitation(world):
    link = await invite(world, EXPECTED)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")):
            pass
        for _ in range(world.service.settings.identity.starts_per_invitation):
            await start(page, "/m")
        async with page.get("/m") as response:
            html = await response.text()
        async with page.post("/identify", data={"csrf": csrf_of(html), "device": "other"}) as response:
            assert response.status == 429
            assert "Vänta några minuter" in await response.text()


async def test_a_form_without_the_sessions_csrf_token_is_refused(world):
    link = await invite(world, EXPECTED)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")):
            pass
        async with page.post("/identify", data={"csrf": "forged", "device": "other"}) as response:
            assert response.status == 403
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(identifications))).first() is None


@pytest.mark.parametrize("path", ["/j/not-a-token", "/j/" + "A" * 43])
async def test_an_invalid_link_gets_a_readable_page(world, path):
    async with browser(world.service) as page, page.get(path) as response:
        assert response.status == 404
        assert response.content_type == "text/html"
        assert "Länken gäller inte längre" in await response.text()


async def test_a_revoked_link_stops_working(world):
    link = await invite(world, EXPECTED)
    async with world.service.http.get("/api/v1/meetings", headers=world.auth(world.municipality)) as response:
        meeting_id = (await response.json())["items"][0]["id"]
    async with world.service.http.get(
        f"/api/v1/meetings/{meeting_id}/participants", headers=world.auth(world.municipality)
    ) as response:
        participant_id = (await response.json())["items"][0]["id"]
    async with world.service.http.delete(
        f"/api/v1/meetings/{meeting_id}/participants/{participant_id}/invitation",
        headers=world.auth(world.municipality),
    ) as response:
        assert response.status == 200
    async with browser(world.service) as page, page.get(link.replace(world.service.base_url, "")) as response:
        assert response.status == 404
