"""Whole journeys through the pages, a leader and a participant each in their own browser:
from the invitation link through BankID (the simulator) and the waiting room to the video page,
at phone, tablet and desktop sizes; and the ways a wait can end otherwise — denied, removed,
or the connection lost and found again.

Each step is checked by what the person sees (roles, labels, the words on the page), and a
screenshot of each is kept under test-artifacts/screenshots/<test>/.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.conftest import SV, WAIT_MS, OpenTab, Tab, approve_in_simulator, staff_session
from tests.support.lobby import PERSONS, book, identify, invite, participant_socket, ticket

WAIT = WAIT_MS  # every wait ends as soon as the page is there
NAMES = {PERSONS[0]: "Erik Lindqvist", PERSONS[1]: "Karin Johansson"}  # as the simulator's BankID vouches


async def wait_in_lobby(world, meeting_id: str, tab: Tab, person: str, *, name: str = "Kim Andersson") -> None:  # type: ignore[no-untyped-def]
    """Invited by the leader, the participant opens their link, identifies with BankID on
    another device and goes to the waiting room."""
    invited = await invite(world, meeting_id, name=name, personal_number=person)
    await invited.close()
    page = tab.page
    await page.goto(invited.link.replace(world.service.base_url, ""))
    # The link's own page: one button, which a mail system's link scanner never presses.
    await expect(page.get_by_role("heading", level=1)).to_have_text(SV["link.heading"])
    await tab.shot("0-link")
    await page.get_by_role("button", name=SV["link.open"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(SV["invite.heading"])
    await tab.shot("1-invitation")
    await page.get_by_role("button", name=SV["invite.other_device"]).click()
    await expect(page.get_by_role("img", name=SV["identify.qr_alt"])).to_be_visible(timeout=WAIT)
    await tab.shot("2-identify")
    await approve_in_simulator(world, page, person)
    # Back on the invitation page, which now says who BankID vouched for.
    await expect(page.get_by_role("status")).to_have_text(
        SV["invite.identified"].format(name=NAMES[person]), timeout=WAIT
    )
    await tab.shot("3-identified")
    await page.get_by_role("link", name=SV["invite.to_waiting_room"]).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(SV["lobby.heading"])
    await expect(page.get_by_role("status")).to_have_text(SV["lobby.state.waiting"], timeout=WAIT)
    await tab.shot("4-waiting")


async def open_console(world, meeting_id: str, open_tab: OpenTab, size: str) -> Tab:  # type: ignore[no-untyped-def]
    """The leader's host console for the meeting, once it has its live list."""
    host = await open_tab("leader", size, [await staff_session(world)])
    await host.page.goto(f"/staff/meetings/{meeting_id}")
    await expect(host.page.get_by_role("heading", level=1)).to_have_text(SV["host.heading"])
    # The meeting's settings become usable when the console has its answer from the server.
    await expect(host.page.get_by_label(SV["host.lock"])).to_be_enabled(timeout=WAIT)
    return host


def section(host: Tab, heading: str):  # type: ignore[no-untyped-def]
    """A section of the host console by its heading ("Väntar (2)" is found by "Väntar")."""
    return host.page.get_by_role("region", name=re.compile("^" + re.escape(heading) + r"\b"))


def person(host: Tab, heading: str, name: str):  # type: ignore[no-untyped-def]
    """One person's entry in a section of the host console, found by the name shown."""
    return section(host, heading).get_by_role("listitem").filter(has=host.page.get_by_role("heading", name=name))


async def handed_to_video(tab: Tab) -> None:
    """The participant's page has gone on to the video page, and the credential left the address."""
    page = tab.page
    await expect(page).to_have_url(re.compile(r"/video/[^#]*$"), timeout=WAIT)
    await expect(page.get_by_role("heading", level=1)).to_have_text(SV["video.heading"])
    await expect(page.get_by_role("button", name=SV["video.leave"])).to_be_enabled()


def went_to_video(tab: Tab) -> bool:
    return any("/video/" in url for url in tab.visited)


@pytest_asyncio.fixture
async def meeting_id(world) -> str:  # type: ignore[no-untyped-def]
    """A meeting booked five minutes from now: its waiting room is open."""
    return (await book(world, starts_in=timedelta(minutes=5)))["id"]


# --- the whole journey, at each size ----------------------------------------------------------


@pytest.mark.parametrize("size", ["phone", "tablet", "desktop"])
async def test_invitation_to_video_with_the_leader_letting_the_participant_in(world, meeting_id, open_tab, size):
    participant = await open_tab("participant", size)
    # The invited name holds markup: it must show as text in the console, never run.
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0], name="Kim <script>alert(1)</script>")
    await expect(participant.page.get_by_text(SV["lobby.you_are"].format(name=NAMES[PERSONS[0]]))).to_be_visible()

    host = await open_console(world, meeting_id, open_tab, size)
    waiting = person(host, SV["host.waiting"], NAMES[PERSONS[0]])
    await expect(waiting).to_be_visible(timeout=WAIT)
    # The leader sees the name BankID vouched for, that it matches the invitation, and the
    # invited name as plain text.
    await expect(waiting).to_contain_text(SV["host.match"])
    await expect(waiting).to_contain_text(f"{SV['host.invited_as']}: Kim <script>alert(1)</script>")
    await expect(section(host, SV["host.waiting"]).get_by_role("heading", level=2)).to_have_text(
        f"{SV['host.waiting']} (1)"
    )
    await expect(host.page.locator("#host script")).to_have_count(0)
    await host.shot("5-console-waiting")

    await waiting.get_by_role("button", name=SV["host.admit"]).click()
    await handed_to_video(participant)
    await participant.shot("6-video")
    inside = person(host, SV["host.inside"], NAMES[PERSONS[0]])
    await expect(inside).to_contain_text(re.compile(f"{SV['state.admitted']}|{SV['state.in_meeting']}"))
    await expect(host.page.get_by_text(SV["host.none_waiting"])).to_be_visible()
    await host.shot("7-console-inside")
    assert participant.problems == [] and host.problems == []


# --- the other ways a wait ends ---------------------------------------------------------------


async def test_a_denied_participant_is_told_so_and_never_reaches_the_video(world, meeting_id, open_tab):
    participant = await open_tab("participant", "phone")
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    host = await open_console(world, meeting_id, open_tab, "desktop")
    waiting = person(host, SV["host.waiting"], NAMES[PERSONS[0]])
    await waiting.get_by_role("button", name=SV["host.deny"]).click()

    status = participant.page.get_by_role("status")
    await expect(status).to_have_text(SV["lobby.state.denied"], timeout=WAIT)
    await participant.shot("5-denied")
    # The leader sees the decision among the others, with a way to change their mind.
    other = person(host, SV["host.others"], NAMES[PERSONS[0]])
    await expect(other).to_contain_text(SV["state.denied"])
    await expect(other.get_by_role("button", name=SV["host.admit"])).to_be_visible()
    await expect(host.page.get_by_text(SV["host.none_waiting"])).to_be_visible()
    await host.shot("6-console-denied")

    # Trying again by reloading: still turned away, and told so plainly.
    await participant.page.reload()
    await expect(status).to_have_text(SV["lobby.not_admitted"], timeout=WAIT)
    await participant.shot("7-denied-after-reload")
    await expect(participant.page).to_have_url(re.compile(r"/lobby$"))
    await expect(participant.page.get_by_role("link", name=SV["lobby.join"])).to_be_hidden()
    assert participant.received("credential") == [], "a denied participant was sent a video credential"
    assert not went_to_video(participant)
    assert participant.problems == [] and host.problems == []


async def test_a_participant_removed_while_waiting_cannot_come_back_by_reloading(world, meeting_id, open_tab):
    participant = await open_tab("participant", "phone")
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    host = await open_console(world, meeting_id, open_tab, "desktop")
    await person(host, SV["host.waiting"], NAMES[PERSONS[0]]).get_by_role("button", name=SV["host.remove"]).click()

    status = participant.page.get_by_role("status")
    await expect(status).to_have_text(SV["lobby.state.removed_final"], timeout=WAIT)
    await participant.shot("5-removed")
    await expect(person(host, SV["host.others"], NAMES[PERSONS[0]])).to_contain_text(SV["state.removed"])

    await participant.page.reload()
    await expect(status).to_have_text(SV["lobby.not_admitted"], timeout=WAIT)
    await participant.shot("6-removed-after-reload")
    await expect(participant.page.get_by_role("link", name=SV["lobby.join"])).to_be_hidden()
    assert participant.received("credential") == []
    assert not went_to_video(participant)
    assert participant.problems == [] and host.problems == []


async def test_a_participant_removed_from_the_video_cannot_come_back_by_reloading(world, meeting_id, open_tab):
    participant = await open_tab("participant", "tablet")
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    host = await open_console(world, meeting_id, open_tab, "desktop")
    await person(host, SV["host.waiting"], NAMES[PERSONS[0]]).get_by_role("button", name=SV["host.admit"]).click()
    await handed_to_video(participant)
    credentials = len(participant.received("credential"))
    assert credentials == 1

    inside = person(host, SV["host.inside"], NAMES[PERSONS[0]])
    await inside.get_by_role("button", name=SV["host.remove"]).click()
    page = participant.page
    # The video page closes and goes back to the waiting room page, which says so plainly.
    await expect(page).to_have_url(re.compile(r"/lobby$"), timeout=WAIT)
    await expect(page.get_by_role("status")).to_have_text(SV["lobby.not_admitted"], timeout=WAIT)
    await participant.shot("5-removed-from-video")
    await expect(person(host, SV["host.others"], NAMES[PERSONS[0]])).to_contain_text(SV["state.removed"])
    await expect(host.page.get_by_text(SV["host.none_inside"])).to_be_visible()

    # Back to the video page: it holds no credential any more, and goes back to the waiting room.
    await page.go_back()
    await expect(page).to_have_url(re.compile(r"/lobby$"), timeout=WAIT)
    # Reloading the waiting room: turned away, not handed a new credential.
    await page.reload()
    await expect(page.get_by_role("status")).to_have_text(SV["lobby.not_admitted"], timeout=WAIT)
    await participant.shot("6-lobby-after-removal")
    await expect(page.get_by_role("link", name=SV["lobby.join"])).to_be_hidden()
    assert len(participant.received("credential")) == credentials
    assert participant.problems == [] and host.problems == []


async def test_a_participant_who_loses_the_connection_keeps_their_place(world, meeting_id, open_tab):
    participant = await open_tab("participant", "phone")
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    # Someone else comes a minute later, so "the same place" is first in the queue, ahead of
    # Karin: coming back at the end of the queue would show as number 2.
    world.service.clock.advance(minutes=1)
    second = await invite(world, meeting_id, name="Karin", personal_number=PERSONS[1])
    await identify(world, second, PERSONS[1])
    second_socket = await participant_socket(world, await ticket(second))
    try:
        host = await open_console(world, meeting_id, open_tab, "desktop")
        waiting = section(host, SV["host.waiting"]).get_by_role("listitem")
        await expect(waiting).to_have_count(2, timeout=WAIT)
        await host.page.get_by_label(SV["host.show_positions"]).check()
        page = participant.page
        first_in_queue = SV["lobby.position"].format(position=1)
        await expect(page.get_by_text(first_in_queue)).to_be_visible(timeout=WAIT)

        async def still_first() -> None:
            await expect(waiting).to_have_count(2)
            await expect(waiting.nth(0).get_by_role("heading")).to_have_text(NAMES[PERSONS[0]])
            await expect(waiting.nth(1).get_by_role("heading")).to_have_text(NAMES[PERSONS[1]])

        await still_first()

        # The phone loses its network for a while: the page says so, the leader still sees them.
        world.service.clock.advance(minutes=1)
        await participant.context.set_offline(True)
        await expect(page.get_by_role("status")).to_have_text(SV["lobby.reconnecting"], timeout=WAIT)
        await participant.shot("5-offline")
        await still_first()
        # The network is back: the page finds its way in again, at the same place.
        await participant.context.set_offline(False)
        await expect(page.get_by_role("status")).to_have_text(SV["lobby.state.waiting"], timeout=WAIT)
        await expect(page.get_by_text(first_in_queue)).to_be_visible(timeout=WAIT)
        await participant.shot("6-back-online")
        await still_first()

        # The page closed and the waiting room opened again in the same browser: still first.
        world.service.clock.advance(minutes=1)
        await page.close()
        page = await participant.new_page()
        await page.goto("/lobby")
        await expect(page.get_by_role("status")).to_have_text(SV["lobby.state.waiting"], timeout=WAIT)
        await expect(page.get_by_text(first_in_queue)).to_be_visible(timeout=WAIT)
        await participant.shot("7-reopened")
        await still_first()
        await host.shot("8-console-still-waiting")

        # And the leader lets them in: the reopened page is handed over to the video.
        await waiting.nth(0).get_by_role("button", name=SV["host.admit"]).click()
        await handed_to_video(participant)
        await participant.shot("9-video")
        assert participant.problems == [] and host.problems == []
    finally:
        await second_socket.close()
        await second.close()
