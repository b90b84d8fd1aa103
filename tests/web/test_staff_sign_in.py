"""Staff sign in with BankID, get a fresh session, and organise meetings through the web."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import aiohttp
from sqlalchemy import select
from yarl import URL

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.http.appkeys import DIRECTORY, EID, ENGINE
from meetsvc.storage.tables import audit_log, browser_sessions, meetings
from tests.support.timing import WAIT_SECONDS

STAFF_NUMBER = "196809059832"  # simulator test person Per-Olof Öberg
STRANGER = "199207319840"  # a simulator test person who is no staff member


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def add_staff(world, personal_number: str) -> str:
    directory = world.service.app[DIRECTORY]
    member = await directory.add_staff_member(
        OrganisationCaller(world.municipality.id, "test"),
        display_name="Per-Olof Öberg",
        personal_number=personal_number,
    )
    return member.id


async def start_sign_in(page: aiohttp.ClientSession) -> None:
    """Open the sign-in page and choose "BankID on another device"."""
    async with page.get("/staff/login") as response:
        html = await response.text()
    async with page.post("/identify", data={"csrf": csrf_of(html), "device": "other"}) as response:
        assert response.status == 200, await response.text()


async def sign_in(
    world, page: aiohttp.ClientSession, personal_number: str, *, started: bool = False
) -> aiohttp.ClientResponse:
    if not started:
        await start_sign_in(page)
    async with page.get("/identify/status") as response:
        qr_data = (await response.json())["qr_data"]
    app_url = world.service.app[EID].simulator_app_url
    async with aiohttp.ClientSession() as phone:
        async with phone.post(f"{app_url}sim/scan", json={"qrData": qr_data}) as response:
            order_ref = (await response.json())["orderRef"]
        async with phone.post(f"{app_url}sim/orders/{order_ref}/complete", json={"personalNumber": personal_number}):
            pass
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            async with page.get("/identify/status") as response:
                if response.status != 200 or (await response.json())["state"] != "pending":
                    break
            await asyncio.sleep(0.05)
    return await page.get("/identify")


def session_cookie(world, page: aiohttp.ClientSession) -> str:
    return page.cookie_jar.filter_cookies(URL(world.service.base_url))["meetsvc_session"].value


def browser(world) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=world.service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def test_a_staff_member_signs_in_with_a_fresh_session(world):
    await add_staff(world, STAFF_NUMBER)
    async with browser(world) as page:
        await start_sign_in(page)
        before = session_cookie(world, page)
        response = await sign_in(world, page, STAFF_NUMBER, started=True)
        assert response.url.path == "/staff"
        html = await response.text()
        assert "Per-Olof Öberg" in html
        after = session_cookie(world, page)
    assert before != after
    # The session from before sign-in is worth nothing now (no session fixation).
    async with aiohttp.ClientSession(base_url=world.service.base_url, cookies={"meetsvc_session": before}) as attacker:
        async with attacker.get("/staff", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/staff/login"
    async with world.service.app[ENGINE].connect() as connection:
        actions = (await connection.execute(select(audit_log.c.action))).scalars().all()
    assert "staff.signed_in" in actions


async def test_someone_not_in_the_directory_is_refused(world):
    await add_staff(world, STAFF_NUMBER)
    async with browser(world) as page:
        response = await sign_in(world, page, STRANGER)
        assert response.status == 403
        assert "personalkatalogen" in await response.text()
        async with page.get("/staff", allow_redirects=False) as home:
            assert home.status == 303
    async with world.service.app[ENGINE].connect() as connection:
        actions = (await connection.execute(select(audit_log.c.action))).scalars().all()
    assert "staff.sign_in_refused" in actions and "staff.signed_in" not in actions


async def test_a_signed_in_staff_member_books_through_the_api_with_the_csrf_token(world):
    await add_staff(world, STAFF_NUMBER)
    async with browser(world) as page:
        html = await (await sign_in(world, page, STAFF_NUMBER)).text()
        csrf = csrf_of(html)
        starts = world.service.clock() + timedelta(days=3)
        body = {
            "partner_organisation_id": world.region.id,
            "title": "SIP-möte",
            "care_area": "socialpsykiatri",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=1)).isoformat(),
            "host_ids": [world.hosts[world.municipality.id]],
        }
        async with page.post("/api/v1/meetings", json=body) as response:
            assert response.status == 403  # no CSRF token: another site could have sent this
        async with page.post("/api/v1/meetings", json=body, headers={"X-CSRF-Token": csrf}) as response:
            assert response.status == 201, await response.text()
        async with page.get("/staff") as response:
            assert "SIP-möte" in await response.text()
    async with world.service.app[ENGINE].connect() as connection:
        assert len((await connection.execute(select(meetings))).all()) == 1
        actors = (
            (await connection.execute(select(audit_log.c.actor).where(audit_log.c.action == "meeting.created")))
            .scalars()
            .all()
        )
    assert actors[0].startswith("staff:")


async def test_an_idle_session_ends(world):
    await add_staff(world, STAFF_NUMBER)
    async with browser(world) as page:
        await sign_in(world, page, STAFF_NUMBER)
        world.service.clock.advance(minutes=world.service.settings.sessions.idle_minutes + 1)
        async with page.get("/staff", allow_redirects=False) as response:
            assert response.status == 303


async def test_signing_out_ends_the_session(world):
    await add_staff(world, STAFF_NUMBER)
    async with browser(world) as page:
        html = await (await sign_in(world, page, STAFF_NUMBER)).text()
        old = session_cookie(world, page)
        async with page.post("/staff/logout", data={"csrf": csrf_of(html)}) as response:
            assert response.url.path == "/"
    async with aiohttp.ClientSession(base_url=world.service.base_url, cookies={"meetsvc_session": old}) as replay:
        async with replay.get("/staff", allow_redirects=False) as response:
            assert response.status == 303


async def session_rows(world) -> int:
    async with world.service.app[ENGINE].connect() as connection:
        return len((await connection.execute(select(browser_sessions))).all())


async def test_finding_6_showing_the_sign_in_page_stores_no_session(world):
    # Cookie-less requests, as a crawler or a flood sends them: each gets a working form…
    jar = aiohttp.DummyCookieJar()
    async with aiohttp.ClientSession(base_url=world.service.base_url, cookie_jar=jar) as crawler:
        for _ in range(200):
            async with crawler.get("/staff/login") as response:
                assert response.status == 200
                assert csrf_of(await response.text())
                assert "meetsvc_session" not in response.cookies
    # …and not one of them left a row behind.
    assert await session_rows(world) == 0

    # The session starts when someone chooses how to sign in.
    async with browser(world) as page:
        await start_sign_in(page)
        assert session_cookie(world, page)
    assert await session_rows(world) == 1


async def test_finding_6_a_sign_in_form_posted_from_elsewhere_starts_nothing(world):
    async with browser(world) as victim, browser(world) as attacker:
        async with attacker.get("/staff/login") as response:
            attackers_token = csrf_of(await response.text())
        async with victim.get("/staff/login") as shown:
            assert shown.status == 200
        # Another site can make the victim's browser post, with a token it fetched itself, but it
        # cannot read the victim's sign-in cookie: the token does not match it.
        async with victim.post("/identify", data={"csrf": attackers_token, "device": "other"}) as response:
            assert response.status == 401
        async with aiohttp.ClientSession(base_url=world.service.base_url) as no_cookie:
            async with no_cookie.post("/identify", data={"csrf": attackers_token, "device": "other"}) as response:
                assert response.status == 401
    assert await session_rows(world) == 0
