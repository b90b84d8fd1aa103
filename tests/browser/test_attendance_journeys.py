"""Journeys where one invitation meets more than one browser, or a person is sent out and let in
again: a leader's console and participants' pages, each in a browser of its own (Chromium).

Checked by what people see: the words on each page (from the Swedish catalogue), the console's
lines, and what each page was sent (the socket.io frames it received). Each journey runs with the
participants on a cheap Android phone (360x640) and on a desktop; the leader's console is always on
a desktop. At each main state the participant's page must fit the screen: no sideways scrolling, no
control in view under something else.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import pytest_asyncio
from playwright.async_api import expect

from tests.browser.conftest import SV, WAIT_MS, OpenTab, Tab, approve_in_simulator
from tests.browser.test_journeys import NAMES, handed_to_video, open_console, person, wait_in_lobby
from tests.support.lobby import PERSONS, book, invite

WAIT = WAIT_MS


@pytest.fixture(params=["small-phone", "desktop"], ids=["360x640", "desktop"])
def size(request: pytest.FixtureRequest) -> str:
    """The participant's screen (see SIZES)."""
    return str(request.param)


async def seen(tab: Tab, step: str) -> None:
    """A main state of a participant's page: it fits the screen, and is kept as a screenshot."""
    await tab.fits_the_screen(step)
    await tab.shot(step)


@pytest_asyncio.fixture
async def meeting_id(world) -> str:
    """A meeting booked five minutes from now: its waiting room is open."""
    return (await book(world, starts_in=timedelta(minutes=5)))["id"]


async def identify_on(world, tab: Tab, link: str, person_number: str) -> None:
    """Open the link in this browser, identify with BankID on another device, go to the waiting room."""
    page = tab.page
    await page.goto(link.replace(world.service.base_url, ""))
    await page.get_by_role("button", name=SV["link.open"]).click()
    await page.get_by_role("button", name=SV["invite.other_device"]).click()
    await expect(page.get_by_role("img", name=SV["identify.qr_alt"])).to_be_visible(timeout=WAIT)
    await approve_in_simulator(world, page, person_number)
    await expect(page.get_by_role("status")).to_have_text(
        SV["invite.identified"].format(name=NAMES[person_number]), timeout=WAIT
    )
    await page.get_by_role("link", name=SV["invite.to_waiting_room"]).click()


async def test_a_second_person_on_the_same_link_is_shown_apart_and_never_let_in_by_the_others_admit(
    world, meeting_id, open_tab: OpenTab, size: str
):
    invited = await invite(world, meeting_id, personal_number=PERSONS[0])
    await invited.close()
    host = await open_console(world, meeting_id, open_tab, "desktop")
    attacker = await open_tab("attacker", size)
    await identify_on(world, attacker, invited.link, PERSONS[1])
    await expect(attacker.page.get_by_role("status")).to_have_text(SV["lobby.state.waiting"], timeout=WAIT)
    genuine = await open_tab("genuine", size)
    await identify_on(world, genuine, invited.link, PERSONS[0])
    await expect(genuine.page.get_by_role("status")).to_have_text(SV["lobby.state.waiting"], timeout=WAIT)

    # Two lines, each with its own verified name and badge; the later one marked plainly.
    first = person(host, SV["host.waiting"], NAMES[PERSONS[1]])
    second = person(host, SV["host.waiting"], NAMES[PERSONS[0]])
    await expect(first).to_contain_text(SV["host.mismatch"], timeout=WAIT)
    await expect(second).to_contain_text(SV["host.match"])
    await expect(second).to_contain_text(SV["host.second_person"])
    await expect(first).not_to_contain_text(SV["host.second_person"])
    await seen(genuine, "1-genuine-waiting")
    await host.shot("1-two-people-one-link")

    await second.get_by_role("button", name=SV["host.admit"]).click()
    await handed_to_video(genuine)
    await seen(genuine, "2-genuine-in-the-video")
    await expect(person(host, SV["host.inside"], NAMES[PERSONS[0]])).to_be_visible(timeout=WAIT)
    await expect(first).to_be_visible()
    await seen(attacker, "3-attacker-still-waiting")
    await expect(attacker.page.get_by_role("status")).to_have_text(SV["lobby.state.waiting"])
    # The attacker's page never got a credential nor the genuine person's name.
    assert attacker.received("credential") == []
    assert not any(NAMES[PERSONS[0]] in frame for frame in attacker.frames)
    await expect(attacker.page.get_by_text(NAMES[PERSONS[0]])).to_have_count(0)
    assert attacker.problems == [] and genuine.problems == [] and host.problems == []


async def test_sent_back_waits_with_the_right_words_and_is_let_in_again(
    world, meeting_id, open_tab: OpenTab, size: str
):
    participant = await open_tab("participant", size)
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    host = await open_console(world, meeting_id, open_tab, "desktop")
    await person(host, SV["host.waiting"], NAMES[PERSONS[0]]).get_by_role("button", name=SV["host.admit"]).click()
    await handed_to_video(participant)
    await seen(participant, "0-in-the-video")

    inside = person(host, SV["host.inside"], NAMES[PERSONS[0]])
    await inside.get_by_label(SV["host.send_back_reason"]).fill("Vi pratar internt en kort stund")
    await inside.get_by_role("button", name=SV["host.send_back"]).click()
    page = participant.page
    # Back on the waiting room page by itself, told to wait (not that it is over), with the
    # leader's reason.
    await expect(page).to_have_url(re.compile(r"/lobby$"), timeout=WAIT)
    await expect(page.get_by_role("status")).to_have_text(SV["lobby.state.sent_back"], timeout=WAIT)
    await expect(page.get_by_text("Vi pratar internt en kort stund")).to_be_visible()
    await seen(participant, "1-sent-back")
    waiting = person(host, SV["host.waiting"], NAMES[PERSONS[0]])
    await expect(waiting).to_be_visible(timeout=WAIT)
    await host.shot("2-console-sent-back")

    await waiting.get_by_role("button", name=SV["host.admit"]).click()
    await handed_to_video(participant)
    await seen(participant, "3-let-in-again")
    assert participant.problems == [] and host.problems == []


async def test_removed_from_the_video_is_told_it_is_final(world, meeting_id, open_tab: OpenTab, size: str):
    participant = await open_tab("participant", size)
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    host = await open_console(world, meeting_id, open_tab, "desktop")
    await person(host, SV["host.waiting"], NAMES[PERSONS[0]]).get_by_role("button", name=SV["host.admit"]).click()
    await handed_to_video(participant)
    await person(host, SV["host.inside"], NAMES[PERSONS[0]]).get_by_role("button", name=SV["host.remove"]).click()
    page = participant.page
    await expect(page).to_have_url(re.compile(r"/lobby$"), timeout=WAIT)
    await expect(page.get_by_role("status")).to_have_text(SV["lobby.not_admitted"], timeout=WAIT)
    # No note form that would send nowhere: there is no one left to write to.
    await expect(page.get_by_role("heading", name=SV["note.heading"])).to_be_hidden()
    await seen(participant, "1-removed")
    await expect(person(host, SV["host.others"], NAMES[PERSONS[0]])).to_contain_text(SV["state.removed"])
    assert len(participant.received("credential")) == 1
    assert participant.problems == [] and host.problems == []


async def test_a_closed_tab_is_no_longer_shown_as_waiting(world, meeting_id, open_tab: OpenTab, size: str):
    participant = await open_tab("participant", size)
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    host = await open_console(world, meeting_id, open_tab, "desktop")
    await expect(person(host, SV["host.waiting"], NAMES[PERSONS[0]])).to_contain_text(SV["host.presence.waiting"])
    await seen(participant, "0-waiting")
    await participant.page.close()
    lost = person(host, SV["host.waiting"], NAMES[PERSONS[0]])
    await expect(lost).to_contain_text(SV["host.presence.connection_lost"].split("{")[0], timeout=WAIT)
    await host.shot("1-tab-closed")
    # The page does not come back within the grace (on the service's clock): it is gone.
    world.service.clock.advance(seconds=11)
    gone = person(host, SV["host.others"], NAMES[PERSONS[0]])
    await expect(gone).to_contain_text(SV["host.presence.gone"], timeout=WAIT)
    await expect(host.page.get_by_text(SV["host.none_waiting"])).to_be_visible()
    await host.shot("2-gone")
    assert host.problems == []


async def test_locked_arrival_knocks_and_moves_on_when_unlocked(world, meeting_id, open_tab: OpenTab, size: str):
    host = await open_console(world, meeting_id, open_tab, "desktop")
    await host.page.get_by_label(SV["host.lock"]).check()
    await expect(host.page.get_by_label(SV["host.lock"])).to_be_checked()
    participant = await open_tab("participant", size)
    invited = await invite(world, meeting_id, personal_number=PERSONS[0])
    await invited.close()
    await identify_on(world, participant, invited.link, PERSONS[0])
    status = participant.page.get_by_role("status")
    await expect(status).to_have_text(SV["lobby.state.knocking"], timeout=WAIT)
    await seen(participant, "1-knocking")
    knocking = person(host, SV["host.waiting"], NAMES[PERSONS[0]])
    await expect(knocking).to_contain_text(SV["host.presence.knocking"], timeout=WAIT)
    await host.shot("2-console-knocking")
    # The leader reloads the console: the person is still knocking, with the way to let them in.
    await host.page.reload()
    await expect(knocking).to_contain_text(SV["host.presence.knocking"], timeout=WAIT)
    await expect(knocking.get_by_role("button", name=SV["host.admit"])).to_be_visible()
    await expect(host.page.get_by_label(SV["host.lock"])).to_be_checked()

    await host.page.get_by_label(SV["host.lock"]).uncheck()
    await expect(status).to_have_text(SV["lobby.state.waiting"], timeout=WAIT)
    await expect(knocking).to_contain_text(SV["host.presence.waiting"], timeout=WAIT)
    await seen(participant, "3-unlocked")
    assert participant.problems == [] and host.problems == []


async def test_ending_the_meeting_closes_the_console_and_the_hosts_video(
    world, meeting_id, open_tab: OpenTab, size: str
):
    participant = await open_tab("participant", size)
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    host = await open_console(world, meeting_id, open_tab, "desktop")
    await person(host, SV["host.waiting"], NAMES[PERSONS[0]]).get_by_role("button", name=SV["host.admit"]).click()
    await handed_to_video(participant)
    # The leader joins the video too: the console opens it in a page of its own.
    async with host.context.expect_page() as opened:
        await host.page.get_by_role("button", name=SV["host.join_video"]).click()
    video = host.watch(await opened.value)
    await expect(video.get_by_role("button", name=SV["video.leave"])).to_be_enabled(timeout=WAIT)
    # They see each other: the participant's tile is on the leader's stage, and the other way round.
    others = video.get_by_role("group", name=SV["video.others"])
    await expect(others.get_by_role("figure")).to_have_count(1, timeout=WAIT)
    await expect(participant.page.get_by_role("group", name=SV["video.others"]).get_by_role("figure")).to_have_count(
        1, timeout=WAIT
    )
    await seen(participant, "1-in-the-video")

    # The leader answers "yes" to "end the meeting for everyone?".
    await host.page.evaluate("window.confirm = () => true")
    await host.page.get_by_role("button", name=SV["host.end"]).click()
    await expect(host.page.get_by_text(SV["host.meeting_ended"])).to_be_visible(timeout=WAIT)
    await expect(host.page.get_by_role("button", name=SV["host.join_video"])).to_be_disabled()
    await expect(host.page.get_by_role("button", name=SV["host.end"])).to_be_disabled()
    await expect(host.page.get_by_label(SV["host.lock"])).to_be_disabled()
    await host.shot("2-ended")
    # The leader's own video closes as well: said on the page, the controls off, nobody on the stage.
    await expect(video.get_by_text(SV["video.revoked"])).to_be_visible(timeout=WAIT)
    await expect(video.get_by_role("button", name=SV["video.leave"])).to_be_disabled()
    await expect(others.get_by_role("figure")).to_have_count(0)
    # Nor does the stage still say it waits for others, or offer to move a picture that is gone.
    await expect(video.get_by_text(SV["video.alone"])).to_be_hidden()
    await expect(video.get_by_role("button", name=SV["video.move_self"])).to_have_count(0)
    await video.screenshot(path=host.shots / "3-video-ended-leader.png")
    # The participant is taken out of the video to a page that says the meeting is over.
    await expect(participant.page.get_by_text(SV["ended.meeting_ended"])).to_be_visible(timeout=WAIT)
    await seen(participant, "4-ended")
    await expect(host.page.get_by_role("button", name=SV["host.admit"], exact=True)).to_have_count(0)
    assert participant.problems == [] and host.problems == []


async def test_reload_and_language_switch_keep_the_person_in_and_leaving_offers_a_way_back(
    world, meeting_id, open_tab: OpenTab, size: str
):
    participant = await open_tab("participant", size)
    await wait_in_lobby(world, meeting_id, participant, PERSONS[0])
    host = await open_console(world, meeting_id, open_tab, "desktop")
    await person(host, SV["host.waiting"], NAMES[PERSONS[0]]).get_by_role("button", name=SV["host.admit"]).click()
    await handed_to_video(participant)
    page = participant.page
    inside = person(host, SV["host.inside"], NAMES[PERSONS[0]])
    await expect(inside).to_contain_text(SV["host.presence.in_meeting"], timeout=WAIT)

    await page.reload()
    await handed_to_video(participant)
    await expect(inside).to_contain_text(SV["host.presence.in_meeting"], timeout=WAIT)
    await seen(participant, "1-reloaded")
    await page.get_by_role("link", name="In English").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Video meeting", timeout=WAIT)
    await expect(page.get_by_role("button", name="Leave the meeting")).to_be_enabled(timeout=WAIT)
    await expect(inside).to_contain_text(SV["host.presence.in_meeting"], timeout=WAIT)
    await seen(participant, "2-in-english")

    await page.get_by_role("button", name="Leave the meeting").click()
    await expect(inside).to_contain_text(SV["host.presence.left_video"], timeout=WAIT)
    await expect(page.get_by_text("You have left the meeting.")).to_be_visible()
    await expect(page.get_by_text("Waiting for others to join the meeting")).to_be_hidden()
    await expect(page.get_by_role("button", name="Move your picture")).to_have_count(0)
    await seen(participant, "3-left")
    await page.get_by_role("link", name="Join the meeting again").click()
    # Still let in: through the waiting room page straight back into the video.
    await expect(page).to_have_url(re.compile(r"/video/[^#]*$"), timeout=WAIT)
    await expect(inside).to_contain_text(SV["host.presence.in_meeting"], timeout=WAIT)
    await seen(participant, "4-back-in")
    assert participant.problems == [] and host.problems == []
