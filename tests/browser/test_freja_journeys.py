"""Freja eID+ in a real browser: a participant chooses it on their invitation, reads the QR code
off the screen with the 'phone' (the Freja simulator's app), waits in the waiting room, and the
leader's console shows that Freja eID+ at level 3 vouched for them; a staff member signs in
with Freja eID+. The service runs the Freja simulator beside the BankID one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest_asyncio
from playwright.async_api import expect

from identity.freja import messages as freja_messages
from meetsvc.http.appkeys import FREJA
from tests.browser.conftest import SV, WAIT_MS, qr_on_screen
from tests.browser.test_accessibility import View, walk_everywhere
from tests.browser.test_journeys import open_console, person
from tests.support.databases import SqliteTemplate
from tests.support.lobby import book, invite
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.web.test_staff_sign_in import add_staff

PLUS = "198112189876"  # Erik Lindqvist: Freja eID+ in the simulator
STAFF_PLUS = "196809059832"  # Per-Olof Öberg: Freja eID+


@pytest_asyncio.fixture
async def service(
    sqlite_template: SqliteTemplate, keys_dir: Path, clock: SettableClock
) -> AsyncIterator[RunningService]:
    """The service with Freja eID enabled through its simulator."""
    settings = make_settings(
        sqlite_template.clone(),
        keys_dir,
        freja={"enabled": True, "use_simulator": True},
        freja_simulator={"certs_dir": str(keys_dir.parent / "freja-simulator"), "app_port": 0},
    )
    running = await start_service(settings, clock)
    yield running
    await running.close()


async def approve_with_freja(world, page, ssn: str) -> None:
    """The phone: read the QR code on the screen with the Freja app and approve as ``ssn``."""
    qr = await qr_on_screen(page)
    assert qr.startswith("frejaeid://bindUserToTransaction?transactionReference=")
    control = world.service.app[FREJA].simulator_app_url + "sim/"
    async with aiohttp.ClientSession() as phone:
        async with phone.post(control + "scan", json={"qrData": qr}) as response:
            assert response.status == 200, await response.text()
            auth_ref = (await response.json())["authRef"]
        async with phone.post(control + f"orders/{auth_ref}/approve", json={"ssn": ssn}) as response:
            assert response.status == 200, await response.text()


@pytest_asyncio.fixture
async def meeting_id(world) -> str:
    """A meeting booked five minutes from now: its waiting room is open."""
    return (await book(world, starts_in=timedelta(minutes=5)))["id"]


async def test_a_participant_identifies_with_freja_and_the_leader_sees_how(world, meeting_id, open_tab):
    participant = await open_tab("participant", "phone")
    invited = await invite(world, meeting_id, name="Kim Andersson", personal_number=PLUS)
    await invited.close()
    page = participant.page
    await page.goto(invited.link.replace(world.service.base_url, ""))
    await page.get_by_role("button", name=SV["link.open"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(SV["invite.heading"])
    await expect(page.get_by_role("button", name=SV["invite.same_device"])).to_be_visible()
    await participant.shot("1-invitation-with-freja")
    await page.get_by_role("button", name=SV["invite.freja_other_device"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(SV["identify.heading_freja"])
    await expect(page.get_by_role("img", name=SV["identify.qr_alt_freja"])).to_be_visible(timeout=WAIT_MS)
    await participant.shot("2-identify-freja")
    assert PLUS not in page.url
    await approve_with_freja(world, page, PLUS)
    await expect(page.get_by_role("status")).to_have_text(
        SV["invite.identified"].format(name="Erik Lindqvist"), timeout=WAIT_MS
    )
    await page.get_by_role("link", name=SV["invite.to_waiting_room"]).click()
    await expect(page.get_by_role("status")).to_have_text(SV["lobby.state.waiting"], timeout=WAIT_MS)
    await participant.shot("3-waiting")

    host = await open_console(world, meeting_id, open_tab, "desktop")
    waiting = person(host, SV["host.waiting"], "Erik Lindqvist")
    await expect(waiting).to_be_visible(timeout=WAIT_MS)
    await expect(waiting).to_contain_text(SV["host.match"])
    badge = waiting.locator("[data-eid]")
    await expect(badge).to_have_text(f"{SV['host.method.freja']} · {SV['host.loa.loa3']}")
    await expect(badge).to_have_attribute("data-eid", "freja")
    await host.shot("4-console-freja-badge")
    assert participant.problems == [] and host.problems == []


async def test_a_staff_member_signs_in_with_freja(world, open_tab):
    await add_staff(world, STAFF_PLUS)
    staff = await open_tab("staff", "desktop")
    page = staff.page
    await page.goto("/staff/login")
    await expect(page.get_by_text(SV["staff.login_lead_freja"])).to_be_visible()
    await page.get_by_role("button", name=SV["invite.freja_other_device"]).click()
    await expect(page.get_by_role("img", name=SV["identify.qr_alt_freja"])).to_be_visible(timeout=WAIT_MS)
    await staff.shot("1-sign-in-freja")
    await approve_with_freja(world, page, STAFF_PLUS)
    await expect(page.get_by_role("heading", level=1)).to_have_text(SV["staff.home_heading"], timeout=WAIT_MS)
    await staff.shot("2-signed-in")
    assert staff.problems == []


async def test_the_freja_pages_are_accessible_in_both_languages_at_every_size(world, browser):
    """axe-core at WCAG 2.1 AA, as for every page: the invitation offering Freja eID+, its QR
    code, a declined identification and the sign-in page offering it."""
    meeting = await book(world, starts_in=timedelta(minutes=5))
    control = world.service.app[FREJA].simulator_app_url + "sim/"

    async def walk(view: View) -> None:
        invited = await invite(world, meeting["id"], name="Kim Andersson", personal_number=PLUS)
        await invited.close()
        await view.goto(invited.link.replace(view.base, ""))
        await view.page.get_by_role("button", name=view.t["link.open"]).click()
        await view.page.wait_for_url("**/m")
        await view.check("freja-invitation")
        await view.page.get_by_role("button", name=view.t["invite.freja_other_device"]).click()
        await view.page.locator("img#qr").wait_for()
        await view.check("freja-identify-qr")
        qr = await qr_on_screen(view.page)
        async with aiohttp.ClientSession() as phone:
            async with phone.post(control + "scan", json={"qrData": qr}) as response:
                auth_ref = (await response.json())["authRef"]
            async with phone.post(control + f"orders/{auth_ref}/decline", json={}) as response:
                assert response.status == 200
        await view.page.get_by_role("link", name=view.t["identify.retry"]).wait_for(timeout=WAIT_MS)
        await view.text(freja_messages.hint_message("CANCELED", pending=False, same_device=False, language=view.lang))
        await view.check("freja-identify-declined")
        await view.goto("/staff/login")
        await view.page.get_by_role("button", name=view.t["invite.freja_same_device"]).wait_for()
        await view.check("freja-staff-sign-in")

    await walk_everywhere(browser, world.service.base_url, walk)
