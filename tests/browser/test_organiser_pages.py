"""A SIP leader books a meeting and invites people through the pages, as the API allows."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import expect
from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import meeting_hosts, meetings, participants
from tests.support.lobby import host_cookie


async def test_a_leader_books_and_invites_through_the_pages(world, browser, screenshots):
    base = world.service.base_url
    context = await browser.new_context(
        viewport={"width": 820, "height": 1180}, base_url=base, permissions=["clipboard-read", "clipboard-write"]
    )
    await context.add_cookies(
        [
            {
                "name": "meetsvc_session",
                "value": await host_cookie(world, world.hosts[world.municipality.id]),
                "url": base,
            }
        ]
    )
    page = await context.new_page()
    try:
        await page.goto("/staff")
        await page.get_by_role("link", name="Boka ett SIP-möte").click()
        when = (world.service.clock() + timedelta(days=7)).astimezone(ZoneInfo("Europe/Stockholm"))
        await page.get_by_label("Samverkande organisation").select_option(label="Region Exempel")
        await page.get_by_label("Verksamhetsområde").select_option(label="Socialpsykiatri")
        await page.get_by_label("Datum").fill(when.strftime("%Y-%m-%d"))
        # End before start: refused with a readable message, nothing booked.
        await page.get_by_label("Börjar (tt:mm)").fill("14:00")
        await page.get_by_label("Slutar (tt:mm)").fill("13:00")
        await page.get_by_role("button", name="Boka mötet").click()
        await page.get_by_role("alert").wait_for()
        refusal = await page.get_by_role("alert").inner_text()
        assert "Slutar: måste vara senare än starttiden" in refusal and "starts_at" not in refusal
        # Changing language on the refused form keeps the person on the form, with what they typed.
        await page.get_by_role("link", name="In English").click()
        await page.wait_for_url("**/staff/meetings/new")
        assert await page.get_by_label("Date").input_value() == when.strftime("%Y-%m-%d")
        assert await page.get_by_label("Area of care").input_value() == "socialpsykiatri"
        await page.get_by_role("link", name="På svenska").click()
        await page.wait_for_url("**/staff/meetings/new")
        await page.get_by_label("Börjar (tt:mm)").fill("14:00")
        async with world.service.app[ENGINE].connect() as connection:
            assert (await connection.execute(select(meetings))).first() is None
        await page.get_by_label("Slutar (tt:mm)").fill("15:00")
        # The partner's own staff lead too: a co-host from the region's group.
        partner_group = page.get_by_role("group", name="Från Region Exempel", exact=False)
        await partner_group.get_by_label("Ledare Region Exempel").check()
        await page.get_by_role("button", name="Boka mötet").click()
        await page.wait_for_url("**/organise")
        await page.screenshot(path=screenshots / "organise-empty.png", full_page=True)

        await page.get_by_label("Namn").fill("Kim Andersson")
        await page.get_by_label("Mobilnummer").fill("070-123 45 67")
        await page.get_by_label("Personnummer", exact=False).fill("19811218-9875")  # wrong check digit
        await page.get_by_role("button", name="Lägg till", exact=True).click()
        await page.get_by_role("alert").wait_for()
        assert "19811218" not in await page.content()  # the number is never echoed back
        await page.get_by_label("Personnummer", exact=False).fill("19811218-9876")
        await page.get_by_role("button", name="Lägg till", exact=True).click()
        link = await page.locator("code.link").inner_text()
        assert link.startswith(base + "/j/")
        assert "Kim Andersson" in await page.locator(".link-once").inner_text(), "the box says whose link it is"
        await page.get_by_role("button", name="Kopiera länken").click()
        await expect(page.locator(".link-once .copied")).to_have_text("Länken är kopierad.")
        assert await page.evaluate("navigator.clipboard.readText()") == link
        await page.screenshot(path=screenshots / "organise-invited.png", full_page=True)
        assert "Länken inte öppnad" in await page.locator(".people").inner_text()
        await page.reload()
        assert await page.locator("code.link").count() == 0  # the link is shown once only
    finally:
        await context.close()
    async with world.service.app[ENGINE].connect() as connection:
        rows = (await connection.execute(select(participants.c.display_name, participants.c.mobile))).all()
    assert [(r.display_name, r.mobile) for r in rows] == [("Kim Andersson", "+46701234567")]
    async with world.service.app[ENGINE].connect() as connection:
        hosts = (
            await connection.execute(select(meeting_hosts.c.staff_id).order_by(meeting_hosts.c.position))
        ).scalars()
        assert list(hosts) == [world.hosts[world.municipality.id], world.hosts[world.region.id]]
