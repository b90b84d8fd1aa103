"""In Chromium: an administrator keeps the staff directory and the API clients on /staff/admin,
and a region co-host finds the municipality's meeting on their pages and hosts it; deactivated,
their open console stops at once."""

from __future__ import annotations

from sqlalchemy import select

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.roles import Role
from meetsvc.http.appkeys import DIRECTORY, ENGINE
from meetsvc.storage.tables import api_clients, audit_log, staff_members
from tests.browser.conftest import SV
from tests.support.lobby import book, host_cookie


async def signed_in(browser, world, staff_id: str):
    base = world.service.base_url
    context = await browser.new_context(viewport={"width": 820, "height": 1180}, base_url=base)
    await context.add_cookies([{"name": "meetsvc_session", "value": await host_cookie(world, staff_id), "url": base}])
    return context


async def administrator(world, organisation_id: str, name: str = "Agnes Admin") -> str:
    member = await world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(organisation_id, "test"), display_name=name, roles=frozenset({Role.ADMINISTRATOR})
    )
    return member.id


async def test_an_administrator_adds_changes_and_deactivates_staff_and_revokes_a_client(world, browser, screenshots):
    admin = await administrator(world, world.municipality.id)
    context = await signed_in(browser, world, admin)
    page = await context.new_page()
    try:
        await page.goto("/staff")
        await page.get_by_role("link", name=SV["admin.heading"]).click()
        await page.wait_for_url("**/staff/admin")
        add = page.locator("form[action='/staff/admin/staff']")
        await add.get_by_label(SV["admin.name"]).fill("Per-Olof Öberg")
        await add.get_by_label(SV["admin.personal_number"]).fill("19680905-9831")  # wrong check digit
        await add.get_by_label(SV["admin.role.organiser"]).check()
        await add.get_by_role("button", name=SV["admin.add"]).click()
        await page.get_by_role("alert").wait_for()
        assert "19680905" not in await page.content()  # never echoed back
        add = page.locator("form[action='/staff/admin/staff']")
        await add.get_by_label(SV["admin.personal_number"]).fill("19680905-9832")
        await add.get_by_label(SV["admin.role.organiser"]).check()
        await add.get_by_label(SV["admin.role.host"]).check()
        await add.get_by_role("button", name=SV["admin.add"]).click()
        await page.get_by_role("status").wait_for()
        added = page.locator("li.staff-member", has_text="Per-Olof Öberg")
        assert SV["admin.can_sign_in"] in await added.inner_text()
        await page.screenshot(path=screenshots / "admin-added.png", full_page=True)

        leader = page.locator(f"li.staff-member[data-staff-id='{world.hosts[world.municipality.id]}']")
        await leader.get_by_label(SV["admin.role.statistics_reader"]).check()
        await leader.get_by_label(SV["admin.role.organiser"]).uncheck()
        await leader.get_by_role("button", name=SV["admin.save"]).click()
        await page.get_by_role("status").wait_for()
        added = page.locator("li.staff-member", has_text="Per-Olof Öberg")
        await added.get_by_role("button", name=SV["admin.deactivate"]).click()
        await page.get_by_role("status").wait_for()
        assert SV["admin.inactive"] in await page.locator("li.staff-member", has_text="Per-Olof Öberg").inner_text()
        client = page.locator("li.api-client").first
        await client.get_by_role("button", name=SV["admin.revoke"]).click()
        await page.get_by_role("status").wait_for()
        assert SV["admin.revoked"] in await page.locator("li.api-client").first.inner_text()
        await page.screenshot(path=screenshots / "admin-done.png", full_page=True)
    finally:
        await context.close()
    async with world.service.app[ENGINE].connect() as connection:
        staff = {row.display_name: row for row in (await connection.execute(select(staff_members))).all()}
        revoked = (await connection.execute(select(api_clients.c.revoked_at))).scalars().all()
        actions = (await connection.execute(select(audit_log.c.action))).scalars().all()
    assert staff["Per-Olof Öberg"].active is False and staff["Per-Olof Öberg"].roles == "host,organiser"
    assert staff[f"Ledare {world.municipality.name}"].roles == "host,statistics_reader"
    assert sum(r is not None for r in revoked) == 1
    assert {"staff.added", "staff.changed", "staff.deactivated", "api_client.revoked"} <= set(actions)


async def test_an_organiser_is_refused_the_admin_page(world, browser):
    context = await signed_in(browser, world, world.hosts[world.municipality.id])
    page = await context.new_page()
    try:
        response = await page.goto("/staff/admin")
        assert response.status == 403
        await page.goto("/staff")
        assert await page.get_by_role("link", name=SV["admin.heading"]).count() == 0
    finally:
        await context.close()


async def test_a_region_co_host_finds_the_meeting_hosts_it_and_is_signed_out_when_deactivated(
    world, browser, screenshots
):
    region_host = world.hosts[world.region.id]
    meeting = await book(world, hosts=[world.hosts[world.municipality.id], region_host])
    context = await signed_in(browser, world, region_host)
    page = await context.new_page()
    try:
        await page.goto("/staff")
        assert SV["staff.no_meetings"] not in await page.content()
        await page.get_by_role("link", name="SIP-möte", exact=True).click()
        await page.wait_for_url("**/organise")
        text = await page.locator("main").inner_text()
        assert world.municipality.name in text and world.region.name in text
        assert await page.get_by_role("button", name=SV["org.cancel_meeting"]).count() == 0
        await page.screenshot(path=screenshots / "partner-organise.png", full_page=True)
        await page.get_by_role("link", name=SV["org.host_console"]).click()
        await page.wait_for_url(f"**/staff/meetings/{meeting['id']}")
        await page.locator("#none-waiting").wait_for()
        assert world.municipality.name in await page.locator("main").inner_text()
        region_admin = await administrator(world, world.region.id, "Regionens administratör")
        await world.service.app[DIRECTORY].deactivate_staff_member(
            OrganisationCaller.staff(world.region.id, region_admin, frozenset({Role.ADMINISTRATOR})), region_host
        )
        await page.get_by_role("alert").filter(has_text=SV["host.signed_out"]).wait_for()
        await page.screenshot(path=screenshots / "partner-signed-out.png", full_page=True)
        await page.goto("/staff", wait_until="load")
        assert "/staff/login" in page.url
    finally:
        await context.close()
