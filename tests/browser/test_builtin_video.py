"""The built-in video backend in a real browser: media flows between admitted participants,
and stops at once when a host removes one of them."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from meetsvc.http.appkeys import SOCKETS
from meetsvc.realtime.rooms import video_room
from tests.browser.conftest import WAIT_MS
from tests.support.lobby import (
    PERSONS,
    book,
    host_cookie,
    host_socket,
    identify,
    invite,
    participant_socket,
    ticket,
)
from tests.support.timing import WAIT_SECONDS

INBOUND_BYTES = """
async () => {
  let total = 0;
  const peers = (window.meetsvcVideo && window.meetsvcVideo.peers) || {};
  for (const id of Object.keys(peers)) {
    const stats = await peers[id].pc.getStats();
    stats.forEach(r => { if (r.type === "inbound-rtp") { total += r.bytesReceived || 0; } });
  }
  return total;
}
"""
CONNECTED = """
() => Object.values((window.meetsvcVideo && window.meetsvcVideo.peers) || {})
        .filter(p => p.pc.connectionState === "connected").length
"""


async def admitted_page(world, browser, meeting_id, person, name):
    """A participant identified and admitted; their page is opened at the credential's URL."""
    invited = await invite(world, meeting_id, name=name, personal_number=person)
    await identify(world, invited, person)
    socket = await participant_socket(world, await ticket(invited))
    return invited, socket


async def bytes_in(page) -> int:
    return await page.evaluate(INBOUND_BYTES)


async def in_the_room(world, meeting_id: str, pages: int) -> None:
    """Wait until this many video sockets are in the meeting's room on the server."""
    manager = world.service.app[SOCKETS].manager
    async with asyncio.timeout(WAIT_SECONDS):
        while len(list(manager.get_participants("/video", video_room(meeting_id)))) < pages:
            await asyncio.sleep(0.05)


async def test_media_flows_between_two_admitted_participants_and_stops_on_removal(world, browser, screenshots):
    meeting = await book(world, starts_in=timedelta(minutes=5))
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    first, first_socket = await admitted_page(world, browser, meeting["id"], PERSONS[0], "Kim")
    second, second_socket = await admitted_page(world, browser, meeting["id"], PERSONS[1], "Alex")
    contexts = []
    try:
        pages = []
        for invited, socket in ((first, first_socket), (second, second_socket)):
            await host.call("admit", {"participant_id": invited.participant_id})
            credential = await socket.wait_for("credential")
            context = await browser.new_context(viewport={"width": 390, "height": 844})
            contexts.append(context)
            page = await context.new_page()
            await page.goto(credential["join_url"])
            pages.append(page)
            await in_the_room(world, meeting["id"], len(pages))  # the first is in before the second joins
        a, b = pages
        async with asyncio.timeout(WAIT_SECONDS):
            while await a.evaluate(CONNECTED) < 1 or await b.evaluate(CONNECTED) < 1:
                await asyncio.sleep(0.2)
        start_a, start_b = await bytes_in(a), await bytes_in(b)
        # Media is flowing both ways: more bytes arrive on each side, however long that takes.
        async with asyncio.timeout(WAIT_SECONDS):
            while await bytes_in(a) <= start_a or await bytes_in(b) <= start_b:
                await asyncio.sleep(0.2)
        await a.screenshot(path=screenshots / "video-two-peers.png")

        # The host removes the second participant: both sides close that connection at once.
        await host.call("remove", {"participant_id": second.participant_id})
        # The removed participant's page leaves the video (its camera and microphone with it) for
        # the waiting room page, which says where they stand.
        await b.wait_for_url(re.compile(r"/lobby$"), timeout=WAIT_MS)
        async with asyncio.timeout(WAIT_SECONDS):
            while await a.evaluate(CONNECTED) > 0:
                await asyncio.sleep(0.2)
        # The other page has closed its connection to them and dropped their picture.
        assert await a.evaluate("() => Object.keys(window.meetsvcVideo.peers).length") == 0
        assert await a.locator("#videos figure").count() == 0  # nobody else is shown
        # And their credential opens nothing any more.
        again = await contexts[1].new_page()
        await again.goto((await second_socket.wait_for("credential"))["join_url"])
        await again.wait_for_url(re.compile(r"/lobby$"), timeout=WAIT_MS)
    finally:
        for context in contexts:
            await context.close()
        for s in (host, first_socket, second_socket):
            await s.close()
        await first.close()
        await second.close()
