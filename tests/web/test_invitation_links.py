"""A personal link is opened by a person, not by the mail system's link scanner.

Municipal mail systems fetch every link in a message before the recipient sees it (Microsoft
Defender's Safe Links and the like), with HEAD and GET, often from several addresses. Such a
fetch must not count as "opened" in the organiser's view, must start no session and must spend
nothing a one-time link would need; the participant's own click still gets them in.
"""

from __future__ import annotations

import re

import aiohttp
from sqlalchemy import func, select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import audit_log, browser_sessions, invitations
from tests.web.test_identification import invite

SCANNER = "Mozilla/5.0 (compatible; Microsoft Office/16.0; Safe Links scanner)"


async def stored(world) -> tuple[int, list, list[str]]:
    """Sessions, each invitation's opened_at, and the audit log's actions."""
    async with world.service.app[ENGINE].connect() as connection:
        sessions = (await connection.execute(select(func.count()).select_from(browser_sessions))).scalar_one()
        opened = (await connection.execute(select(invitations.c.opened_at))).scalars().all()
        actions = (await connection.execute(select(audit_log.c.action))).scalars().all()
    return sessions, list(opened), list(actions)


async def opened_in_the_organisers_view(world, link: str) -> list:
    async with world.service.http.get("/api/v1/meetings", headers=world.auth(world.municipality)) as response:
        meeting_id = (await response.json())["items"][0]["id"]
    async with world.service.http.get(
        f"/api/v1/meetings/{meeting_id}/participants", headers=world.auth(world.municipality)
    ) as response:
        return [item["invitation"]["opened_at"] for item in (await response.json())["items"]]


async def test_finding_14_link_scanner_spends_nothing(world):
    link = await invite(world, None)
    path = link.replace(world.service.base_url, "")
    before = await stored(world)

    # The scanner: HEAD and GET, again and again, keeping no cookies.
    async with aiohttp.ClientSession(
        base_url=world.service.base_url, cookie_jar=aiohttp.DummyCookieJar(), headers={"User-Agent": SCANNER}
    ) as scanner:
        for _ in range(3):
            async with scanner.head(path, allow_redirects=False) as response:
                assert response.status == 200
                assert "meetsvc_session" not in response.cookies
            async with scanner.get(path, allow_redirects=False) as response:
                assert response.status == 200
                assert "meetsvc_session" not in response.cookies
                page = await response.text()
    # What it saw is one button, and nothing of the meeting.
    assert re.search(rf'<form method="post" action="{re.escape(path)}">', page), page
    assert "Öppna inbjudan" in page
    assert "Exempelstads kommun" not in page and "Kim" not in page

    assert await stored(world) == before, "no session, no opening, no audit entry"
    sessions, opened, actions = before
    assert (sessions, opened) == (0, [None]) and "invitation.opened" not in actions
    assert await opened_in_the_organisers_view(world, link) == [None]

    # The participant: the same page, then the button.
    async with aiohttp.ClientSession(
        base_url=world.service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as person:
        async with person.get(path) as response:
            assert response.status == 200 and response.url.path == path
        async with person.post(path) as response:
            assert response.status == 200
            assert response.url.path == "/m", "the token left the address bar"
            assert link.rsplit("/", 1)[1] not in await response.text()

    sessions, opened, actions = await stored(world)
    assert sessions == 1 and opened[0] is not None
    assert actions.count("invitation.opened") == 1
    assert (await opened_in_the_organisers_view(world, link))[0] is not None


async def test_finding_14_the_link_page_speaks_the_invitations_language(world):
    link = await invite(world, None)
    path = link.replace(world.service.base_url, "")
    async with world.service.http.get(path, cookies={"meetsvc_lang": "en"}) as response:
        page = await response.text()
    assert '<html lang="en">' in page and "Open the invitation" in page


async def test_finding_14_a_link_that_no_longer_works_says_so_on_both_steps(world):
    async with aiohttp.ClientSession(base_url=world.service.base_url) as page:
        for method in ("GET", "HEAD", "POST"):
            async with page.request(method, "/j/" + "A" * 43, allow_redirects=False) as response:
                assert response.status == 404, method
    assert (await stored(world))[0] == 0


async def test_a_cancelled_meetings_link_says_it_was_cancelled(world):
    link = await invite(world, None)
    path = link.replace(world.service.base_url, "")
    async with world.service.http.get("/api/v1/meetings", headers=world.auth(world.municipality)) as response:
        meeting_id = (await response.json())["items"][0]["id"]
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting_id}/cancel", headers=world.auth(world.municipality)
    ) as response:
        assert response.status == 200
    async with aiohttp.ClientSession(base_url=world.service.base_url) as page:
        for method in ("GET", "POST"):
            async with page.request(method, path, allow_redirects=False) as response:
                assert response.status == 410, method
                assert "Mötet är inställt" in await response.text()
        async with page.get(path, cookies={"meetsvc_lang": "en"}) as response:
            assert "The meeting has been cancelled" in await response.text()
    assert (await stored(world))[0] == 0, "a cancelled meeting's link starts no session"


async def test_the_icon_is_served(world):
    async with aiohttp.ClientSession(base_url=world.service.base_url) as page:
        async with page.get("/favicon.ico") as response:
            assert response.status == 200 and response.content_type == "image/svg+xml"
        async with page.get("/") as response:
            assert 'rel="icon" href="/static/favicon.svg"' in await response.text()
        async with page.get("/static/favicon.svg") as response:
            assert response.status == 200
