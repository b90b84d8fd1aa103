"""Every page works with the keyboard alone: Tab reaches every control in reading order, the
focused control is always visibly marked, and the journeys that matter can be done by keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.http.appkeys import DIRECTORY, EID
from tests.browser.conftest import WAIT_MS
from tests.support.lobby import PERSONS, book, host_cookie, host_socket, identify, invite, participant_socket, ticket

DESKTOP = {"width": 1440, "height": 900}
TABLET = {"width": 820, "height": 1180}

# Marks, in DOM order, every control a keyboard user should be able to reach on the page as it
# stands; returns how many. Disabled controls, hidden ones and those inside a closed <details>
# are not expected.
MARK_TAB_STOPS = """
() => {
  const candidates = document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])');
  let n = 0;
  for (const e of candidates) {
    delete e.dataset.stop;
    if (e.disabled) continue;
    const closedDetails = e.closest('details:not([open])');
    if (closedDetails && e.tagName !== 'SUMMARY') continue;
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden' || e.getClientRects().length === 0) continue;
    e.dataset.stop = String(n++);
  }
  return n;
}
"""

# What the keyboard focus is on, and how it is shown.
FOCUSED = """
() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) return null;
  const s = getComputedStyle(e);
  const r = e.getBoundingClientRect();
  return {
    stop: e.dataset.stop === undefined ? null : Number(e.dataset.stop),
    tag: e.tagName.toLowerCase(), id: e.id,
    text: (e.innerText || (e.labels && e.labels[0] && e.labels[0].innerText) || e.value ||
           e.getAttribute('aria-label') || '').trim().replace(/\\s+/g, ' '),
    outline: s.outlineStyle, outlineWidth: parseFloat(s.outlineWidth) || 0,
    onScreen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 &&
              r.top < window.innerHeight && r.left < window.innerWidth,
  };
}
"""


def shown(focus: dict[str, Any] | None, where: str) -> dict[str, Any]:
    """The focused element, asserted to be marked so that a sighted keyboard user sees it."""
    assert focus is not None, f"{where}: the focus fell off the page"
    assert focus["outline"] != "none" and focus["outlineWidth"] >= 2, f"{where}: focus on {focus} is not visible"
    assert focus["onScreen"], f"{where}: the focused {focus} is off screen"
    return focus


async def tab(page, where: str) -> dict[str, Any]:
    await page.keyboard.press("Tab")
    return shown(await page.evaluate(FOCUSED), where)


async def tab_to(page, text: str, where: str, limit: int = 40) -> dict[str, Any]:
    """Press Tab until a control whose text starts with ``text`` has the focus; each stop is checked."""
    for _ in range(limit):
        focus = await tab(page, where)
        if focus["text"].startswith(text):
            return focus
    raise AssertionError(f"{where}: {text!r} was not reached in {limit} presses of Tab")


async def skip_link_first(page, where: str) -> None:
    """On a page just opened, the first Tab stop is the skip link; Enter on it puts the focus on
    the main content."""
    first = await tab(page, where)
    assert first["text"] == "Hoppa till innehållet", f"{where}: the first Tab stop is {first}"
    await page.keyboard.press("Enter")
    assert shown(await page.evaluate(FOCUSED), where)["id"] == "main", (
        f"{where}: the skip link did not move focus to main"
    )


async def tab_order(page, where: str) -> None:
    """On a page just opened, Tab visits every control once, in reading order, and then leaves."""
    expected = await page.evaluate(MARK_TAB_STOPS)
    seen: list[int | None] = []
    for _ in range(expected * 5 + 5):
        await page.keyboard.press("Tab")
        focus = await page.evaluate(FOCUSED)
        if focus is None or (seen and focus["stop"] == seen[0]):
            break  # past the last control: out of the page, or round to the first again
        shown(focus, f"{where}, Tab stop {len(seen) + 1}")
        if not seen or seen[-1] != focus["stop"]:  # a date field takes a Tab for each of its parts
            seen.append(focus["stop"])
    assert seen == list(range(expected)), f"{where}: Tab visited {seen}, the page has controls {list(range(expected))}"


async def new_page(browser, base: str, viewport: dict[str, int], cookies: list[dict[str, Any]] = ()):  # type: ignore[assignment]
    context = await browser.new_context(viewport=viewport, base_url=base)
    if cookies:
        await context.add_cookies(list(cookies))
    page = await context.new_page()
    dialogs: list[str] = []

    async def refuse(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", refuse)
    return context, page, dialogs


async def approve(world, page, personal_number: str) -> None:
    """The 'phone' scans what the page shows and approves as a test person."""
    status = await (await page.request.get(world.service.base_url + "/identify/status")).json()
    app_url = world.service.app[EID].simulator_app_url
    async with aiohttp.ClientSession() as phone:
        async with phone.post(f"{app_url}sim/scan", json={"qrData": status["qr_data"]}) as response:
            order_ref = (await response.json())["orderRef"]
        async with phone.post(
            f"{app_url}sim/orders/{order_ref}/complete", json={"personalNumber": personal_number}
        ) as response:
            assert response.status == 200


def session_of(invited, base: str) -> dict[str, Any]:
    value = next(c.value for c in invited.page.cookie_jar if c.key == "meetsvc_session")
    return {"name": "meetsvc_session", "value": value, "url": base}


async def test_invitation_by_keyboard_alone(world, browser):
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    invited = await invite(world, meeting["id"], personal_number=PERSONS[0])
    await invited.close()
    context, page, dialogs = await new_page(browser, base, TABLET)
    try:
        await page.goto(invited.link.replace(base, ""))
        # The link's page: its one button, by keys.
        await skip_link_first(page, "link page")
        await tab_to(page, "Öppna inbjudan", "link page")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/m")
        await skip_link_first(page, "invitation")
        await tab_to(page, "BankID på en annan enhet", "invitation")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/identify")
        await page.locator("img#qr").wait_for()

        # Cancelling and trying again, by keys.
        await skip_link_first(page, "identification")
        await tab_to(page, "Avbryt", "identification")
        await page.keyboard.press("Enter")
        await page.get_by_role("link", name="Försök igen").wait_for()
        await tab_to(page, "Försök igen", "identification cancelled")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/m")

        # "I cannot use BankID" opens with the keyboard and shows its way on.
        await tab_to(page, "Jag kan inte använda BankID", "invitation")
        await page.keyboard.press("Enter")
        await tab_to(page, "Gå till väntrummet", "invitation, without BankID")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/lobby?unverified=1")
        await page.locator("#status").filter(has_text="Mötesledaren vet att du är här").wait_for(timeout=WAIT_MS)
        assert dialogs == []
    finally:
        await context.close()


async def test_host_admits_by_keyboard_alone(world, browser):
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    invited = await invite(world, meeting["id"], name="Kim Andersson", personal_number=PERSONS[0])
    await identify(world, invited, PERSONS[0])
    participant = await participant_socket(world, await ticket(invited))
    cookie = {
        "name": "meetsvc_session",
        "value": await host_cookie(world, world.hosts[world.municipality.id]),
        "url": base,
    }
    context, page, dialogs = await new_page(browser, base, DESKTOP, [cookie])
    try:
        await page.goto(f"/staff/meetings/{meeting['id']}")
        await page.locator("#waiting li").first.wait_for(timeout=WAIT_MS)
        await skip_link_first(page, "host console")
        focus = await tab_to(page, "Släpp in", "host console")
        assert "Erik Lindqvist" in focus["text"], "the button says whom it admits"
        await page.keyboard.press("Enter")
        await participant.wait_for("state", lambda s: s["state"] == "admitted")
        await participant.wait_for("credential")
        await page.locator("#inside li").first.wait_for()
        # The keyboard stays with the person just let in, now under "In the meeting".
        await page.wait_for_function("() => document.activeElement.closest('#inside') !== null")
        focus = shown(await page.evaluate(FOCUSED), "host console after admitting")
        assert focus["tag"] == "h3" and focus["text"] == "Erik Lindqvist"
        await page.locator("#announce").filter(has_text="Erik Lindqvist: Insläppt").wait_for()
        assert dialogs == []
    finally:
        await context.close()
        await participant.close()
        await invited.close()


async def test_host_keeps_a_half_written_message_when_someone_arrives(world, browser):
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    first = await invite(world, meeting["id"], name="Kim Andersson")
    second = await invite(world, meeting["id"], name="Alex Berg")
    sockets = [await participant_socket(world, await ticket(first, unverified=True))]
    cookie = {
        "name": "meetsvc_session",
        "value": await host_cookie(world, world.hosts[world.municipality.id]),
        "url": base,
    }
    context, page, _ = await new_page(browser, base, DESKTOP, [cookie])
    try:
        await page.goto(f"/staff/meetings/{meeting['id']}")
        await page.locator("#waiting li").first.wait_for(timeout=WAIT_MS)
        await tab_to(page, "Meddelande till Kim Andersson", "host console")
        await page.keyboard.type("Vi börjar om")
        sockets.append(await participant_socket(world, await ticket(second, unverified=True)))
        await page.locator("#waiting li").nth(1).wait_for(timeout=WAIT_MS)
        await page.keyboard.type(" fem minuter.")
        assert await page.get_by_label("Meddelande till Kim Andersson").input_value() == "Vi börjar om fem minuter."
        shown(await page.evaluate(FOCUSED), "message field after an arrival")
    finally:
        await context.close()
        for s in sockets:
            await s.close()
        await first.close()
        await second.close()


async def test_staff_sign_in_by_keyboard_alone(world, browser):
    base = world.service.base_url
    member = await world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(world.municipality.id, "test"), display_name="Maria Svensson", personal_number=PERSONS[3]
    )
    context, page, _ = await new_page(browser, base, TABLET)
    try:
        await page.goto("/")
        await tab_to(page, "Logga in som personal", "start page")
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/staff/login")
        await tab_to(page, "BankID på en annan enhet", "staff sign-in")
        await page.keyboard.press("Enter")
        await page.locator("img#qr").wait_for()
        await approve(world, page, PERSONS[3])
        # The page finishes the sign-in by itself and lands on the signed-in home page.
        await page.wait_for_url("**/staff", timeout=WAIT_MS)
        await page.get_by_role("heading", name="Mina möten").wait_for()
        assert member.display_name in await page.locator("main").inner_text()
        await tab_to(page, "Logga ut", "staff home")
    finally:
        await context.close()


async def test_video_controls_by_keyboard_alone(world, browser):
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    invited = await invite(world, meeting["id"], name="Kim Andersson")
    participant = await participant_socket(world, await ticket(invited, unverified=True))
    await host.call("admit", {"participant_id": invited.participant_id})
    join_url = (await participant.wait_for("credential"))["join_url"]
    context, page, _ = await new_page(browser, base, TABLET)
    try:
        await page.goto(join_url)
        await page.locator("#mute:enabled").wait_for(timeout=WAIT_MS)
        await tab_to(page, "Stäng av mikrofonen", "video page")
        await page.keyboard.press("Space")
        assert (await page.evaluate(FOCUSED))["text"] == "Slå på mikrofonen"
        assert await page.evaluate(
            "() => window.meetsvcVideo.localTracks().filter(t => t.kind === 'audio').every(t => !t.enabled)"
        )
        await tab_to(page, "Stäng av kameran", "video page")
        await page.keyboard.press("Enter")
        assert (await page.evaluate(FOCUSED))["text"] == "Slå på kameran"
        await tab_to(page, "Lämna mötet", "video page")
        await page.keyboard.press("Enter")
        await page.locator("#video-status").filter(has_text="Du har lämnat mötet").wait_for()
        # The pressed button is gone; the keyboard is on the news of what happened.
        assert shown(await page.evaluate(FOCUSED), "video page after leaving")["id"] == "video-status"
    finally:
        await context.close()
        await participant.close()
        await host.close()
        await invited.close()


async def test_every_page_can_be_tabbed_through(world, browser):
    """Each page a person can reach: the skip link first, then every control once, in order."""
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    waiting = await invite(world, meeting["id"], name="Kim Andersson", personal_number=PERSONS[0])
    await identify(world, waiting, PERSONS[0])
    guest = await invite(world, meeting["id"], name="Alex Berg")
    inside = await invite(world, meeting["id"], name="Sam Tolk", role="interpreter")
    sockets = [
        host,
        await participant_socket(world, await ticket(guest, unverified=True)),
        await participant_socket(world, await ticket(inside, unverified=True)),
    ]
    await host.call("admit", {"participant_id": inside.participant_id})
    join_url = (await sockets[2].wait_for("credential"))["join_url"]
    staff = {
        "name": "meetsvc_session",
        "value": await host_cookie(world, world.hosts[world.municipality.id]),
        "url": base,
    }
    pages: list[tuple[str, str, list[dict[str, Any]], str]] = [
        ("start page", "/", [], "h1"),
        ("error page", "/j/no-such-invitation", [], "h1"),
        ("invitation", "/m", [session_of(guest, base)], "h1"),
        ("invitation, identified", "/m", [session_of(waiting, base)], "h1"),
        ("waiting room", "/lobby", [session_of(waiting, base)], "#status:has-text('Mötesledaren vet')"),
        ("staff sign-in", "/staff/login", [], "h1"),
        ("staff home", "/staff", [staff], "ul.meetings"),
        ("host console", f"/staff/meetings/{meeting['id']}", [staff], "#lock:enabled"),
        ("new meeting", "/staff/meetings/new", [staff], "h1"),
        ("organising a meeting", f"/staff/meetings/{meeting['id']}/organise", [staff], "h1"),
        ("video", join_url.replace(base, ""), [], "#mute:enabled"),
    ]
    try:
        for name, path, cookies, ready in pages:
            context, page, dialogs = await new_page(browser, base, DESKTOP, cookies)
            try:
                await page.goto(path)
                await page.locator(ready).first.wait_for(timeout=WAIT_MS)
                if name == "host console":
                    await page.locator("#waiting li").nth(1).wait_for(timeout=WAIT_MS)
                await tab_order(page, name)
                await page.goto("about:blank")  # opened afresh (a video link's token is in its fragment)
                await page.goto(path)
                await page.locator(ready).first.wait_for(timeout=WAIT_MS)
                await skip_link_first(page, name)
                assert dialogs == [], f"{name}: a dialog opened"
            finally:
                await context.close()
    finally:
        for s in sockets:
            await s.close()
        for invited in (waiting, guest, inside):
            await invited.close()


async def test_the_language_can_be_switched_by_keyboard(world, browser):
    context, page, _ = await new_page(browser, world.service.base_url, TABLET)
    try:
        await page.goto("/")
        await tab_to(page, "In English", "start page")
        await page.keyboard.press("Enter")
        await page.wait_for_function("() => document.documentElement.lang === 'en'")
        await page.get_by_role("heading", name="SIP meeting at a distance").wait_for()
        focus = await tab_to(page, "På svenska", "start page in English")
        assert focus["tag"] == "a"
        assert await page.locator("a.lang").get_attribute("lang") == "sv"
    finally:
        await context.close()
