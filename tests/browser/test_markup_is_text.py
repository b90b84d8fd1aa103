"""Names and messages are text. A participant called ``<script>…</script>`` and a leader's
message holding markup show as those very characters, on the host console and on the
participant's waiting-room page; nothing they hold ever runs or becomes an element."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.browser.conftest import WAIT_MS
from tests.support.lobby import PERSONS, book, host_cookie, identify, invite

SCRIPT = "<script>alert('script')</script>"
IMG = "<img src=x onerror=alert('img')>"
SVG = "\"><svg onload=alert('svg')>"
HOSTILE = [SCRIPT, IMG, SVG]

# Anything a payload could have become: an element of its own, or a script we did not write.
INJECTED = """
() => ({
  images: document.querySelectorAll('img').length,
  svgs: document.querySelectorAll('svg').length,
  foreignScripts: [...document.scripts].filter(s => !s.src && s.type !== 'application/json').length,
  handlers: [...document.querySelectorAll('*')]
    .filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
})
"""
NOTHING = {"images": 0, "svgs": 0, "foreignScripts": 0, "handlers": 0}
# An image outside the document with the address the hostile one names: resolves once it failed.
CONTROL_IMAGE_FAILED = """
() => new Promise(resolve => {
  const image = new Image();
  image.onerror = () => resolve(true);
  image.onload = () => resolve(false);
  image.src = "x";
})
"""


def serialised_markup(html: str) -> list[str]:
    """The payloads' tags as they would appear in the DOM had any become an element."""
    return [tag for tag in ("<script>alert", '<img src="x"', "<img src=x", "<svg") if tag in html]


def record_dialogs(page, dialogs: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Note every dialog a page opens (alert, confirm), and dismiss it so the page goes on."""

    async def refuse(dialog) -> None:  # type: ignore[no-untyped-def]
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", refuse)


async def watched_page(browser, base: str, viewport: dict[str, int], cookies: list[dict[str, Any]]):
    context = await browser.new_context(viewport=viewport, base_url=base)
    await context.add_cookies(cookies)
    page = await context.new_page()
    dialogs: list[str] = []
    record_dialogs(page, dialogs)
    return context, page, dialogs


def session_of(invited, base: str) -> dict[str, Any]:
    value = next(c.value for c in invited.page.cookie_jar if c.key == "meetsvc_session")
    return {"name": "meetsvc_session", "value": value, "url": base}


async def test_names_and_messages_with_markup_show_as_text(world, browser):
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    # One of them identifies (the console then shows the BankID name, and the invited one
    # beside it); the others wait without eID, so their invited name is the headline.
    verified = await invite(world, meeting["id"], name=SCRIPT, personal_number=PERSONS[0])
    await identify(world, verified, PERSONS[0])
    unverified = [await invite(world, meeting["id"], name=name) for name in (IMG, SVG)]
    everyone = [verified, *unverified]
    staff = {
        "name": "meetsvc_session",
        "value": await host_cookie(world, world.hosts[world.municipality.id]),
        "url": base,
    }

    host_context, host, host_dialogs = await watched_page(browser, base, {"width": 1440, "height": 900}, [staff])
    contexts = [host_context]
    lobbies = []
    try:
        await host.goto(f"/staff/meetings/{meeting['id']}")
        await host.locator("#lock:enabled").wait_for(timeout=WAIT_MS)
        # The participants arrive while the host watches: the arrival is announced by name.
        for invited, path in (
            (verified, "/lobby"),
            (unverified[0], "/lobby?unverified=1"),
            (unverified[1], "/lobby?unverified=1"),
        ):
            context, page, dialogs = await watched_page(
                browser, base, {"width": 390, "height": 844}, [session_of(invited, base)]
            )
            contexts.append(context)
            await page.goto(path)
            await page.locator("#status").filter(has_text="Mötesledaren vet att du är här").wait_for(timeout=WAIT_MS)
            lobbies.append((page, dialogs))
        await host.locator("#waiting li").nth(2).wait_for(timeout=WAIT_MS)

        waiting = await host.locator("#waiting").inner_text()
        for payload in HOSTILE:
            assert payload in waiting, f"{payload!r} is not shown as text on the host console"
        assert await host.get_by_role("heading", name=IMG, exact=True).count() == 1
        assert await host.get_by_role("heading", name=SVG, exact=True).count() == 1
        assert await host.get_by_label(f"Meddelande till {IMG}").count() == 1
        assert SVG in await host.locator("#announce").text_content()

        # The leader writes markup to one person, by the console's own form, and to everyone.
        personal = f"Hej {SCRIPT} {IMG}"
        await host.get_by_label(f"Meddelande till {SVG}").fill(personal)
        await host.get_by_label(f"Meddelande till {SVG}").press("Enter")
        page, _ = lobbies[2]
        await page.locator("#message").filter(has_text="Hej").wait_for(timeout=WAIT_MS)
        assert await page.locator("#message").inner_text() == personal

        await host.get_by_label("Meddelande till alla som väntar").fill(SVG)
        await host.get_by_role("button", name="Skicka meddelande").last.click()
        for page, _ in lobbies[:2]:
            await page.locator("#message").filter(has_text="svg").wait_for(timeout=WAIT_MS)
            assert await page.locator("#message").inner_text() == SVG

        # The organiser's page lists the same names, rendered by the server.
        organise = await host_context.new_page()
        record_dialogs(organise, host_dialogs)
        await organise.goto(f"/staff/meetings/{meeting['id']}/organise")
        people = await organise.locator(".people").inner_text()
        for payload in HOSTILE:
            assert payload in people

        for page in [host, organise, *(p for p, _ in lobbies)]:
            # A control image with the payload's address, made now, has failed to load: had a
            # payload become an image earlier, its onerror would have run (and been seen) by now.
            assert await page.evaluate(CONTROL_IMAGE_FAILED) is True, page.url
            assert await page.evaluate(INJECTED) == NOTHING, page.url
            assert serialised_markup(await page.content()) == [], page.url
        assert host_dialogs == []
        assert all(dialogs == [] for _, dialogs in lobbies)
    finally:
        for context in contexts:
            await context.close()
        for invited in everyone:
            await invited.close()
