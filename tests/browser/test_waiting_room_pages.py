"""A participant and a host, each in their own browser context, through the waiting room."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from meetsvc.state import EID
from tests.support.lobby import PERSONS, book, host_cookie, invite


async def approve_in_simulator(world, page, personal_number: str) -> None:
    """The 'phone': read the QR string the page is showing and approve it as a test person."""
    status = await (await page.request.get(world.service.base_url + "/identify/status")).json()
    app_url = world.service.app[EID].simulator_app_url
    async with aiohttp.ClientSession() as phone:
        async with phone.post(f"{app_url}sim/scan", json={"qrData": status["qr_data"]}) as response:
            order_ref = (await response.json())["orderRef"]
        async with phone.post(f"{app_url}sim/orders/{order_ref}/complete", json={"personalNumber": personal_number}):
            pass


async def test_participant_waits_and_is_let_in_by_the_host(world, browser, screenshots):
    meeting = await book(world, starts_in=timedelta(minutes=5))
    invited = await invite(world, meeting["id"], name="Kim <script>alert(1)</script>", personal_number=PERSONS[0])
    await invited.close()
    base = world.service.base_url

    participant_context = await browser.new_context(viewport={"width": 390, "height": 844}, base_url=base)
    host_context = await browser.new_context(viewport={"width": 1440, "height": 900}, base_url=base)
    await host_context.add_cookies([{"name": "meetsvc_session", "value": await host_cookie(world, world.hosts[world.municipality.id]), "url": base}])
    try:
        participant = await participant_context.new_page()
        dialogs = []
        participant.on("dialog", lambda d: dialogs.append(d))
        await participant.goto(invited.link.replace(base, ""))
        await participant.screenshot(path=screenshots / "1-invitation.png", full_page=True)
        await participant.get_by_role("button", name="BankID på en annan enhet").click()
        await participant.wait_for_url("**/identify")
        await participant.locator("img#qr").wait_for()
        await participant.screenshot(path=screenshots / "2-identify.png", full_page=True)
        await approve_in_simulator(world, participant, PERSONS[0])
        await participant.wait_for_url("**/m", timeout=10000)
        await participant.get_by_role("link", name="Gå till väntrummet").click()
        await participant.wait_for_url("**/lobby")
        status = participant.locator("#status")
        await status.filter(has_text="Mötesledaren vet att du är här").wait_for(timeout=10000)
        await participant.screenshot(path=screenshots / "3-waiting.png", full_page=True)

        host = await host_context.new_page()
        await host.goto(f"/staff/meetings/{meeting['id']}")
        waiting = host.locator("#waiting li")
        await waiting.first.wait_for(timeout=10000)
        # The name shown is the one BankID vouched for; the invited name (with markup) is text.
        assert "Erik Lindqvist" in await waiting.first.inner_text()
        assert "<script>alert(1)</script>" in await waiting.first.inner_text()
        assert await host.locator("#waiting script").count() == 0
        await host.screenshot(path=screenshots / "4-host-console.png", full_page=True)
        await waiting.first.get_by_role("button", name="Släpp in").click()
        # Admitted: the page goes on to the video backend (the built-in one here).
        await participant.wait_for_url("**/video/**", timeout=10000)
        assert "#token" not in participant.url  # the credential left the address bar
        await host.locator("#inside li").first.wait_for()
        await participant.screenshot(path=screenshots / "5-admitted.png", full_page=True)
        assert dialogs == []
    finally:
        await participant_context.close()
        await host_context.close()
