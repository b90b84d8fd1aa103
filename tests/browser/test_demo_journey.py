"""A newcomer's first minute: `make run` on an empty `var/`, then the demo meeting walked in
Chromium at phone size from nothing but the links its start-up lines print — the leader signs in
with the BankID simulator and opens the host console, a participant opens their personal link,
identifies and waits, and is let in to the video page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.conftest import SIZES, SV, WAIT_MS, qr_on_screen
from tests.support.make_run import Started, make_run

PARTICIPANT = "Mohammed Al-Rashid"


@pytest_asyncio.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Started]:
    with make_run(tmp_path / "var") as started:
        yield started


async def approve_as(simulator: str, page: Any, name: str) -> None:
    """The phone: choose the test person by the name the start-up lines gave, scan the page's
    QR code and approve, through the simulator's app page's own calls."""
    async with aiohttp.ClientSession() as phone:
        async with phone.get(f"{simulator}sim/persons") as response:
            persons = (await response.json())["persons"]
        number = next(p["personalNumber"] for p in persons if p["name"] == name)
        async with phone.post(f"{simulator}sim/scan", json={"qrData": await qr_on_screen(page)}) as response:
            assert response.status == 200, await response.text()
            order_ref = (await response.json())["orderRef"]
        async with phone.post(
            f"{simulator}sim/orders/{order_ref}/complete", json={"personalNumber": number}
        ) as response:
            assert response.status == 200, await response.text()


def leader_name(demo: Started) -> str:
    match = re.search(r"/staff/login as (.+?) \(", demo.stdout)
    assert match, demo.stdout
    return match.group(1)


async def test_the_demo_meeting_is_walked_from_the_links_make_run_prints(browser, demo):
    simulator = demo.address("BankID simulator")
    phone = {**SIZES["phone"], "viewport": {"width": 390, "height": 844}}
    leader_context = await browser.new_context(**phone)
    participant_context = await browser.new_context(**phone)
    try:
        # The leader opens the host console from the start-up lines and is asked to sign in.
        leader = await leader_context.new_page()
        await leader.goto(demo.host_console)
        await expect(leader).to_have_url(re.compile(r"/staff/login$"), timeout=WAIT_MS)
        await leader.get_by_role("button", name=SV["invite.other_device"]).click()
        await expect(leader.get_by_role("img", name=SV["identify.qr_alt"])).to_be_visible(timeout=WAIT_MS)
        await approve_as(simulator, leader, leader_name(demo))
        await expect(leader).to_have_url(re.compile(r"/staff$"), timeout=WAIT_MS)
        await leader.goto(demo.host_console)
        await expect(leader.get_by_role("heading", level=1)).to_have_text(SV["host.heading"])
        await expect(leader.get_by_label(SV["host.lock"])).to_be_enabled(timeout=WAIT_MS)

        # A participant opens their personal link, identifies, and waits.
        participant = await participant_context.new_page()
        await participant.goto(demo.participant_links()[PARTICIPANT])
        # The link's page spends nothing until its person presses the button (link scanners don't).
        await participant.get_by_role("button", name=SV["link.open"]).click()
        await expect(participant.get_by_role("heading", level=1)).to_have_text(SV["invite.heading"])
        await participant.get_by_role("button", name=SV["invite.other_device"]).click()
        await expect(participant.get_by_role("img", name=SV["identify.qr_alt"])).to_be_visible(timeout=WAIT_MS)
        await approve_as(simulator, participant, PARTICIPANT)
        await expect(participant.get_by_role("status")).to_have_text(
            SV["invite.identified"].format(name=PARTICIPANT), timeout=WAIT_MS
        )
        await participant.get_by_role("link", name=SV["invite.to_waiting_room"]).click()
        await expect(participant.get_by_role("status")).to_have_text(SV["lobby.state.waiting"], timeout=WAIT_MS)

        # The leader sees them, identified as invited, and lets them in: on to the video page.
        waiting = (
            leader.get_by_role("region", name=re.compile("^" + re.escape(SV["host.waiting"]) + r"\b"))
            .get_by_role("listitem")
            .filter(has=leader.get_by_role("heading", name=PARTICIPANT))
        )
        await expect(waiting).to_contain_text(SV["host.match"], timeout=WAIT_MS)
        await waiting.get_by_role("button", name=SV["host.admit"]).click()
        await expect(participant).to_have_url(re.compile(r"/video/[^#]*$"), timeout=WAIT_MS)
        await expect(participant.get_by_role("heading", level=1)).to_have_text(SV["video.heading"])
    finally:
        await leader_context.close()
        await participant_context.close()
