"""The meeting on a cheap phone and on larger screens, in a real Chromium with a fake camera and
microphone: everyone sees the others without scrolling and nothing covers a face; the device
check in the waiting room (also with the permission refused); a note from the waiting room
reaching the host; the leader admitting a late arrival from inside the video page.

Geometry is measured from the page's own bounding boxes; axe-core checks each state in both
languages (through :func:`tests.browser.test_accessibility.walk_everywhere` where it is run at
every size). Screenshots go under test-artifacts/screenshots/<test>/.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from tests.browser.conftest import CHROMIUM_FLAGS, SV, WAIT_MS, chromium_path
from tests.browser.test_accessibility import AXE, AXE_OPTIONS, RUN_AXE, TEXTS, View, readable, walk_everywhere
from tests.support.lobby import Invited, book, csrf_of, host_cookie, host_socket, participant_socket, ticket
from tests.support.timing import WAIT_SECONDS

#: A common cheap Android, a current iPhone, a tablet and a desktop.
SCREENS = {
    "360x640": {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True},
    "390x844": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "820x1180": {"viewport": {"width": 820, "height": 1180}, "is_mobile": True, "has_touch": True},
    "1440x900": {"viewport": {"width": 1440, "height": 900}},
}
assert "--use-fake-device-for-media-stream" in CHROMIUM_FLAGS

GEOMETRY = """
() => {
  const box = el => { const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, w: r.width, h: r.height}; };
  return {
    viewport: {w: window.innerWidth, h: window.innerHeight},
    scroll: {h: document.documentElement.scrollHeight - window.innerHeight,
             w: document.documentElement.scrollWidth - window.innerWidth},
    controls: box(document.getElementById("controls")),
    self: box(document.getElementById("self")),
    tiles: Array.from(document.querySelectorAll("#videos figure")).map(f => ({
      box: box(f), name: f.querySelector(".who").textContent, cameraOff: f.classList.contains("camera-off")
    })),
  };
}
"""


async def invite_in(world, meeting_id: str, name: str, language: str = "sv") -> Invited:
    body = {"role": "individual", "display_name": name, "email": "kim@example.se", "language": language}
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting_id}/participants", json=body, headers=world.auth(world.municipality)
    ) as response:
        assert response.status == 201, await response.text()
        data = await response.json()
    page = aiohttp.ClientSession(base_url=world.service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with page.post(data["invitation_url"].replace(world.service.base_url, "")) as response:
        csrf = csrf_of(await response.text())
    return Invited(data["id"], data["invitation_url"], page, csrf)


def session_of(invited: Invited, base: str) -> dict[str, Any]:
    for cookie in invited.page.cookie_jar:
        if cookie.key == "meetsvc_session":
            return {"name": cookie.key, "value": cookie.value, "url": base}
    raise AssertionError("no session")


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]
    )


def inside(a: dict[str, float], viewport: dict[str, float]) -> bool:
    return (
        a["x"] >= 0
        and a["y"] >= 0
        and a["x"] + a["w"] <= viewport["w"] + 0.5
        and a["y"] + a["h"] <= viewport["h"] + 0.5
    )


async def axe_clean(page, where: str) -> None:
    violations = await page.evaluate(RUN_AXE, AXE_OPTIONS)
    assert not violations, readable(where, violations)


@pytest.mark.parametrize("screen", list(SCREENS))
async def test_three_people_see_each_other_without_scrolling(world, browser, screenshots, screen):
    """Two people are already in the meeting; the third joins on this screen and sees both.

    One test per screen size, each with a meeting of its own: a screen's failure names its size,
    and no test carries four meetings' worth of browsers.
    """
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    sockets, invited, contexts = [host], [], []

    async def join(name: str, size: str, language: str = "sv"):
        person = await invite_in(world, meeting["id"], name, language)
        invited.append(person)
        socket = await participant_socket(world, await ticket(person, unverified=True))
        sockets.append(socket)
        await host.call("admit", {"participant_id": person.participant_id})
        join_url = (await socket.wait_for("credential"))["join_url"]
        context = await browser.new_context(base_url=base, **SCREENS[size])
        contexts.append(context)
        await context.add_init_script(path=AXE)
        await context.add_cookies([session_of(person, base)])
        page = await context.new_page()
        await page.goto(join_url)
        return page, context

    try:
        for name in ("Alex Berg", "Sam Ek"):
            await join(name, "390x844")
        english = screen == "390x844"
        page, context = await join(f"Kim {screen}", screen, "en" if english else "sv")
        # Both others' pictures are playing (not name tiles waiting for video).
        await expect(page.locator("#videos figure:not(.camera-off)")).to_have_count(2, timeout=WAIT_MS)
        shape = await page.evaluate(GEOMETRY)
        viewport, controls = shape["viewport"], shape["controls"]
        assert shape["scroll"] == {"h": 0, "w": 0}, (screen, shape["scroll"])
        assert len(shape["tiles"]) == 2
        for tile in shape["tiles"]:
            assert inside(tile["box"], viewport), (screen, tile)
            assert not overlaps(tile["box"], controls), (screen, "the controls cover a face", tile)
            # Large: each other person gets at least a fifth of the screen.
            assert tile["box"]["w"] * tile["box"]["h"] >= viewport["w"] * viewport["h"] / 5, (screen, tile)
        assert inside(controls, viewport) and controls["h"] <= 0.15 * viewport["h"], (screen, controls)
        own = shape["self"]
        assert own["w"] * own["h"] <= 0.1 * viewport["w"] * viewport["h"], (screen, "own picture is small", own)
        # Invited in English: the meeting speaks English, without anyone choosing it again.
        language = await page.evaluate("document.documentElement.lang")
        assert language == ("en" if english else "sv"), screen
        leave = TEXTS["en" if english else "sv"]["video.leave"]
        await expect(page.get_by_role("button", name=leave)).to_be_enabled()
        await axe_clean(page, f"meeting [{screen}]")
        await page.screenshot(path=screenshots / f"three-people-{screen}.png")

        # Speaker view: one person large, the other still whole and clear of the controls.
        words = TEXTS["en" if english else "sv"]
        await page.locator("#videos figure").first.get_by_role("button", name=words["video.pin"]).click()
        await expect(page.locator("#videos figure.pinned")).to_have_count(1)
        speaker = await page.evaluate(GEOMETRY)
        big, small = (t["box"] for t in speaker["tiles"])
        assert big["w"] * big["h"] > 2 * small["w"] * small["h"], (screen, "speaker view", speaker["tiles"])
        for tile in speaker["tiles"]:
            assert inside(tile["box"], viewport) and not overlaps(tile["box"], controls), (screen, tile)
        await page.screenshot(path=screenshots / f"speaker-view-{screen}.png")
        await page.get_by_role("button", name=words["video.unpin"]).click()
        await expect(page.locator("#videos figure.pinned")).to_have_count(0)

        # Changing language in the meeting keeps the person in it, now in Swedish.
        if english:
            await page.get_by_role("link", name=TEXTS["en"]["lang.switch"]).click()
            await expect(page.locator("html")).to_have_attribute("lang", "sv")
            await expect(page.locator("#videos figure:not(.camera-off)")).to_have_count(2, timeout=WAIT_MS)
            await expect(page.get_by_role("button", name=SV["video.leave"])).to_be_enabled()
            leave = SV["video.leave"]

        # Muting and turning the camera off show on the others' tiles: a mark and the name.
        if screen == "360x640":
            await page.get_by_role("button", name=SV["video.mute"]).click()
            await page.get_by_role("button", name=SV["video.camera_off"]).click()
            other = contexts[0].pages[0]
            tile = other.locator("#videos figure").filter(has_text="Kim 360x640")
            await expect(tile).to_have_class(re.compile(r"\bcamera-off\b"), timeout=WAIT_MS)
            await expect(tile).to_have_class(re.compile(r"\bmuted\b"))
            await expect(tile.locator(".name-tile")).to_be_visible()
            await expect(tile.locator(".muted-mark")).to_be_visible()
            await other.screenshot(path=screenshots / "camera-off-name-tile.png")
            # The own picture moves out of the way, by its button.
            before = (await page.evaluate(GEOMETRY))["self"]
            await page.get_by_role("button", name=SV["video.move_self"]).click()
            after = (await page.evaluate(GEOMETRY))["self"]
            assert after["x"] < before["x"], "moved to the other corner"
        await page.get_by_role("button", name=leave).click()
        await context.close()
        contexts.remove(context)
    finally:
        for context in contexts:
            await context.close()
        for s in sockets:
            await s.close()
        for person in invited:
            await person.close()


async def lobby_page(world, browser, meeting_id: str, screen: str, name: str = "Kim Andersson"):
    person = await invite_in(world, meeting_id, name)
    context = await browser.new_context(base_url=world.service.base_url, **SCREENS[screen])
    await context.add_init_script(path=AXE)
    await context.add_cookies([session_of(person, world.service.base_url)])
    page = await context.new_page()
    await page.goto("/lobby?unverified=1")
    await expect(page.get_by_role("status")).to_have_text(SV["lobby.state.waiting"], timeout=WAIT_MS)
    return person, context, page


async def test_device_check_before_admission_carries_into_the_meeting(world, browser, screenshots):
    meeting = await book(world, starts_in=timedelta(minutes=5))
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    person, context, page = await lobby_page(world, browser, meeting["id"], "360x640")
    try:
        assert "(svensk tid)" in await page.locator("main").inner_text(), "the zone is named"
        await page.get_by_role("button", name=SV["devices.start"]).click()
        await expect(page.locator("#preview")).to_be_visible()
        async with asyncio.timeout(WAIT_SECONDS):  # the fake camera's picture arrives
            while await page.evaluate("document.getElementById('preview').videoWidth") == 0:
                await asyncio.sleep(0.1)
        async with asyncio.timeout(WAIT_SECONDS):  # the fake microphone beeps now and then
            while await page.evaluate("window.meetsvcDevices.level()") == 0:
                await asyncio.sleep(0.05)
        assert await page.get_by_label(SV["devices.camera"]).locator("option").count() >= 1
        assert await page.get_by_label(SV["devices.microphone"]).locator("option").count() >= 1
        await page.get_by_role("button", name=SV["devices.speaker_test"]).click()
        await expect(page.locator("#speaker-said")).to_have_text(SV["devices.speaker_played"])
        chosen = await page.evaluate("JSON.parse(sessionStorage.getItem('meetsvc.devices'))")
        assert chosen["camera"] and chosen["microphone"]
        await axe_clean(page, "device check [360x640]")
        await page.screenshot(path=screenshots / "device-check-360x640.png", full_page=True)

        # Let in: the same tab goes on to the meeting with the devices chosen while waiting.
        await host.call("admit", {"participant_id": person.participant_id})
        await expect(page).to_have_url(re.compile(r"/video/"), timeout=WAIT_MS)
        await page.locator("#mute:enabled").wait_for(timeout=WAIT_MS)
        used = await page.evaluate("window.meetsvcVideo.localTracks().map(t => [t.kind, t.getSettings().deviceId])")
        assert dict(used) == {"video": chosen["camera"], "audio": chosen["microphone"]}
    finally:
        await context.close()
        await host.close()
        await person.close()


async def test_refused_camera_permission_gets_plain_guidance(world, browser, screenshots):
    """A browser that refuses the camera and microphone: Chromium as the suite runs it, but without
    the flag that accepts every permission prompt, so the prompt is refused as a person's "Block"."""
    from playwright.async_api import async_playwright

    meeting = await book(world, starts_in=timedelta(minutes=5))
    flags = [f for f in CHROMIUM_FLAGS if f != "--use-fake-ui-for-media-stream"]
    async with async_playwright() as playwright:
        refusing = await playwright.chromium.launch(executable_path=chromium_path(), args=flags, headless=True)
        try:
            person, context, page = await lobby_page(world, refusing, meeting["id"], "390x844")
            try:
                await page.get_by_role("button", name=SV["devices.start"]).click()
                guidance = page.get_by_role("alert")
                await expect(guidance).to_contain_text(SV["devices.refused"])
                await expect(guidance).to_contain_text("iPhone (Safari)")
                await expect(guidance).to_contain_text("Android (Chrome)")
                await expect(page.locator("#devices")).to_be_hidden()
                await axe_clean(page, "device check refused [390x844]")
                await page.screenshot(path=screenshots / "device-check-refused-390x844.png", full_page=True)
            finally:
                await context.close()
                await person.close()
        finally:
            await refusing.close()


async def test_a_note_from_the_waiting_room_reaches_the_host_console(world, browser, screenshots):
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    person, context, page = await lobby_page(world, browser, meeting["id"], "360x640")
    host_context = await browser.new_context(base_url=base, **SCREENS["1440x900"])
    try:
        await host_context.add_init_script(path=AXE)
        await host_context.add_cookies(
            [
                {
                    "name": "meetsvc_session",
                    "value": await host_cookie(world, world.hosts[world.municipality.id]),
                    "url": base,
                }
            ]
        )
        console = await host_context.new_page()
        await console.goto(f"/staff/meetings/{meeting['id']}")
        await expect(console.get_by_label(SV["host.lock"])).to_be_enabled(timeout=WAIT_MS)

        await page.get_by_label(SV["note.label"].split("{")[0], exact=False).fill("Jag är tolken, jag är här")
        await page.get_by_role("button", name=SV["note.send"]).click()
        await expect(page.locator("#note-status")).to_have_text(SV["note.sent"])
        entry = console.locator("#waiting li").filter(has_text="Kim Andersson")
        await expect(entry.locator(".note-text")).to_have_text("Jag är tolken, jag är här")
        await expect(console.locator("#host-feedback")).to_have_text(
            SV["host.note_arrived"].format(name="Kim Andersson")
        )
        await axe_clean(page, "note sent [360x640]")
        await axe_clean(console, "host with a note [1440x900]")
        await page.screenshot(path=screenshots / "note-sent-360x640.png", full_page=True)
        await console.screenshot(path=screenshots / "host-sees-note.png", full_page=True)

        # A host page opened later still shows it beside the entry.
        await console.reload()
        await expect(entry.locator(".note-text")).to_have_text("Jag är tolken, jag är här", timeout=WAIT_MS)

        # Visible feedback for the host's own actions.
        await console.get_by_label(SV["host.message_to"].format(name="Kim Andersson")).fill("Vi börjar snart")
        await console.get_by_role("button", name=SV["host.message"]).first.click()
        await expect(console.locator("#host-feedback")).to_have_text(SV["host.message_sent"])
        await console.get_by_role("button", name=SV["host.admit_all"]).click()
        await expect(console.locator("#host-feedback")).to_have_text(SV["host.admit_all_none"])
    finally:
        await host_context.close()
        await context.close()
        await person.close()


async def test_the_leader_admits_a_late_arrival_from_inside_the_meeting(world, browser, screenshots):
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting["id"])
    late = None
    context = await browser.new_context(base_url=base, **SCREENS["360x640"])
    try:
        await context.add_init_script(path=AXE)
        await context.add_cookies([{"name": "meetsvc_session", "value": cookie, "url": base}])
        host.client.on("credential", lambda c: host.events.append(("credential", c)), namespace="/host")
        await host.call("join_video", {})
        credential = await host.wait_for("credential")
        page = await context.new_page()
        await page.goto(credential["join_url"])
        toggle = page.locator("#drawer-toggle")
        await expect(toggle).to_be_visible(timeout=WAIT_MS)
        await expect(page.locator("#drawer-count")).to_have_text("0")

        late = await invite_in(world, meeting["id"], "Sen Ankomst")
        late_socket = await participant_socket(world, await ticket(late, unverified=True))
        await expect(page.locator("#drawer-count")).to_have_text("1", timeout=WAIT_MS)
        await expect(toggle).to_have_class(re.compile(r"\balert\b"))
        await expect(page.locator("#drawer-alert")).to_have_text(SV["video.count"].format(count=1))
        await toggle.click()
        drawer = page.get_by_role("complementary", name=SV["video.waiting_room"])
        await expect(drawer).to_be_visible()
        await axe_clean(page, "drawer open [360x640]")
        await page.screenshot(path=screenshots / "drawer-360x640.png")
        await (
            drawer.locator("#waiting li")
            .filter(has_text="Sen Ankomst")
            .get_by_role("button", name=SV["host.admit"])
            .click()
        )
        await late_socket.wait_for("credential")
        await expect(page.locator("#drawer-count")).to_have_text("0")
        await drawer.get_by_role("button", name=SV["video.close_drawer"]).click()
        await expect(drawer).to_be_hidden()
        await late_socket.close()
    finally:
        await context.close()
        await host.close()
        if late is not None:
            await late.close()


async def test_meeting_states_pass_axe_in_both_languages_at_every_size(world, browser):
    """The meeting page with the others in it, the device check and the note, everywhere."""
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))

    async def walk(view: View) -> None:
        person = await invite_in(world, meeting["id"], f"Kim {view.lang} {view.size}")
        try:
            await view.page.context.add_cookies([session_of(person, base)])
            await view.goto("/lobby?unverified=1")
            await view.page.locator("#status").filter(has_text=view.t["lobby.state.waiting"]).wait_for(timeout=WAIT_MS)
            await view.page.get_by_role("button", name=view.t["devices.start"]).click()
            await view.page.locator("#devices").wait_for(timeout=WAIT_MS)
            await view.page.get_by_label(view.t["note.label"].split("{")[0], exact=False).fill("Hej")
            await view.page.get_by_role("button", name=view.t["note.send"]).click()
            await view.page.locator("#note-status").filter(has_text=view.t["note.sent"]).wait_for(timeout=WAIT_MS)
            await view.check("lobby-device-check-and-note")
        finally:
            await person.close()

    await walk_everywhere(browser, base, walk)
