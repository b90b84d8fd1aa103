"""Every page a person can reach, checked by axe-core at WCAG 2.1 AA in both languages and at
phone, tablet and desktop sizes, with a screenshot of each kept under
test-artifacts/screenshots/accessibility/.

Besides axe, each view is checked for what axe cannot see: the page's language is the one
chosen, nothing scrolls sideways (reflow, WCAG 1.4.10), no script error, no Content-Security-
Policy violation. axe is put into each page by the browser itself (an init script) rather than
as an inline <script> tag, which the page's strict Content-Security-Policy rightly refuses: the
pages are checked with that policy in force, as people get them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.roles import Role
from meetsvc.http.appkeys import DIRECTORY, EID
from tests.browser.conftest import WAIT_MS, qr_on_screen
from tests.support.lobby import (
    PERSONS,
    Invited,
    book,
    host_cookie,
    host_socket,
    identify,
    invite,
    participant_socket,
    ticket,
)

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "screenshots" / "accessibility"
LOCALES = ROOT / "meetsvc" / "http" / "pages" / "locales"

LANGUAGES = ("sv", "en")
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
SIZES: dict[str, dict[str, Any]] = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "user_agent": ANDROID},
    "tablet": {"viewport": {"width": 820, "height": 1180}, "is_mobile": True, "has_touch": True, "user_agent": IPAD},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}

# WCAG 2.1 A and AA, as the law asks; and on top, the rules about landmarks, headings and the
# skip link (axe files those under best practice) and WCAG 2.2's minimum target size.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "rules": {
        rule: {"enabled": True}
        for rule in (
            "target-size",
            "region",
            "landmark-one-main",
            "landmark-unique",
            "landmark-no-duplicate-banner",
            "landmark-no-duplicate-main",
            "landmark-banner-is-top-level",
            "landmark-main-is-top-level",
            "landmark-complementary-is-top-level",
            "landmark-contentinfo-is-top-level",
            "page-has-heading-one",
            "heading-order",
            "empty-heading",
            "skip-link",
            "meta-viewport-large",
            "aria-allowed-role",
            "label-title-only",
            "tabindex",
            "duplicate-id-aria",
        )
    },
    "resultTypes": ["violations"],
}

RUN_AXE = "options => axe.run(document, options).then(result => result.violations)"
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def catalogue(language: str) -> dict[str, str]:
    return json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))


TEXTS = {language: catalogue(language) for language in LANGUAGES}


def lead(text: str) -> str:
    """A catalogue text up to its first placeholder: what a page shows whatever is filled in."""
    return text.split("{", 1)[0].strip()


def readable(view: str, violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{view}: {v['id']} ({v.get('impact')}) – {v['help']}")
        for node in v["nodes"][:6]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(
                f"    {', '.join(' '.join(t) if isinstance(t, list) else t for t in node['target'])}  {summary[:240]}"
            )
        if len(v["nodes"]) > 6:
            lines.append(f"    … and {len(v['nodes']) - 6} more")
    return "\n".join(lines)


@dataclass
class View:
    """One browser tab at one size in one language, walking the states of a page."""

    page: Any
    lang: str
    size: str
    base: str
    found: list[str]
    errors: list[str] = field(default_factory=list)

    @property
    def t(self) -> dict[str, str]:
        return TEXTS[self.lang]

    async def goto(self, path: str) -> Any:
        """Open a page; in English through the page's own language switch, as a person would."""
        if self.lang == "sv":
            return await self.page.goto(path)
        return await self.page.goto(f"/language?lang=en&next={quote(path, safe='')}")

    async def text(self, text: str, timeout: float = WAIT_MS) -> None:
        await self.page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)

    async def check(self, name: str) -> None:
        page, where = self.page, f"{name} [{self.lang}, {self.size}]"
        await page.wait_for_load_state("load")
        shown = await page.evaluate("() => document.documentElement.lang")
        if shown != self.lang:
            self.found.append(f"{where}: <html lang> is {shown!r}, the chosen language is {self.lang!r}")
        violations = await page.evaluate(RUN_AXE, AXE_OPTIONS)
        if violations:
            self.found.append(readable(where, violations))
        sideways = await page.evaluate(SIDEWAYS)
        if sideways > 0:
            self.found.append(f"{where}: the page scrolls sideways by {sideways}px")
        if self.errors:
            self.found.append(f"{where}: " + "; ".join(self.errors))
            self.errors.clear()
        SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SHOTS / f"{name}-{self.lang}-{self.size}.png", full_page=True)


Walk = Callable[[View], Awaitable[None]]


async def walk_everywhere(
    browser,
    base: str,
    walk: Walk,
    *,
    cookies: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
    side_by_side: bool = True,
) -> None:
    """Run a walk through some pages in both languages at every size; fail with every finding.

    The six walks run side by side (unless that would overload the machine, as live video
    does), each in its own browser context with its own cookies."""
    found: list[str] = []

    async def one(lang: str, size: str) -> None:
        context = await browser.new_context(base_url=base, **SIZES[size])
        try:
            await context.add_init_script(path=AXE)
            if cookies is not None:
                await context.add_cookies(await cookies())
            page = await context.new_page()
            view = View(page, lang, size, base, found)
            page.on("pageerror", lambda error: view.errors.append(f"script error: {error}"))
            page.on("console", lambda m: view.errors.append(m.text) if "Content Security Policy" in m.text else None)

            async def refuse(dialog) -> None:
                view.errors.append(f"a dialog opened: {dialog.message}")
                await dialog.dismiss()

            page.on("dialog", refuse)
            await walk(view)
        finally:
            await context.close()

    if side_by_side:
        outcomes = await asyncio.gather(
            *(one(lang, size) for lang in LANGUAGES for size in SIZES), return_exceptions=True
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
    else:
        for lang in LANGUAGES:
            for size in SIZES:
                await one(lang, size)
    assert not found, "accessibility problems:\n" + "\n".join(sorted(found))


def session_cookie(invited: Invited, base: str) -> dict[str, Any]:
    for cookie in invited.page.cookie_jar:
        if cookie.key == "meetsvc_session":
            return {"name": cookie.key, "value": cookie.value, "url": base}
    raise AssertionError("the participant has no session")


async def staff_cookie(world, staff_id: str | None = None) -> dict[str, Any]:
    token = await host_cookie(world, staff_id or world.hosts[world.municipality.id])
    return {"name": "meetsvc_session", "value": token, "url": world.service.base_url}


async def phone_action(world, path: str, body: dict[str, Any]) -> dict[str, Any]:
    app_url = world.service.app[EID].simulator_app_url
    async with aiohttp.ClientSession() as phone, phone.post(f"{app_url}{path}", json=body) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def scan(world, view: View) -> str:
    """The 'phone' scans the QR code the page shows; the simulator's order reference."""
    status = await (await view.page.request.get(view.base + "/identify/status")).json()
    return (await phone_action(world, "sim/scan", {"qrData": status["qr_data"]}))["orderRef"]


async def identified_participant(
    world, meeting_id: str, person: str | None, name: str = "Kim Andersson", expected: str | None = None
) -> Invited:
    invited = await invite(world, meeting_id, name=name, personal_number=expected or person)
    if person:
        await identify(world, invited, person)
    return invited


# --- the tests --------------------------------------------------------------------------------


async def test_start_and_staff_sign_in_pages(world, browser):
    async def walk(view: View) -> None:
        await view.goto("/")
        await view.check("start")
        await view.page.get_by_role("link", name=view.t["start.staff"]).click()
        await view.page.wait_for_url("**/staff/login")
        await view.check("staff-sign-in")
        await view.page.get_by_role("button", name=view.t["invite.other_device"]).click()
        await view.page.wait_for_url("**/identify")
        await view.page.locator("img#qr").wait_for()
        await view.check("staff-identify-pending")
        # Someone who is not in the staff directory is turned away with a readable message.
        order = await scan(world, view)
        await phone_action(world, f"sim/orders/{order}/complete", {"personalNumber": PERSONS[2]})
        await view.page.get_by_role("alert").wait_for(timeout=WAIT_MS)
        await view.check("staff-sign-in-refused")

    await walk_everywhere(browser, world.service.base_url, walk)


async def test_invitation_and_identification_pages(world, browser):
    meeting = await book(world, starts_in=timedelta(minutes=5))
    people = iter(PERSONS)  # one test person for each of the six walks

    async def walk(view: View) -> None:
        person = next(people)
        invited = await invite(world, meeting["id"], name="Kim Andersson", personal_number=person)
        await invited.close()
        await view.goto(invited.link.replace(view.base, ""))
        await view.check("invitation-link")
        await view.page.get_by_role("button", name=view.t["link.open"]).click()
        await view.page.wait_for_url("**/m")
        await view.check("invitation")
        await view.page.get_by_text(view.t["invite.no_bankid"]).click()
        await view.check("invitation-no-bankid-open")

        await view.page.get_by_role("button", name=view.t["invite.same_device"]).click()
        await view.page.wait_for_url("**/identify")
        await view.page.locator("#autostart").wait_for()
        await view.check("identify-same-device")

        await view.page.get_by_role("button", name=view.t["identify.cancel"]).click()
        await view.page.get_by_role("link", name=view.t["identify.retry"]).wait_for()
        await view.page.get_by_role("link", name=view.t["identify.retry"]).click()
        await view.page.wait_for_url("**/m")
        # The test clock stands still, so two starts in one session would tie on their start
        # time; the invitation link opened again gives a fresh session.
        await view.page.goto(invited.link.replace(view.base, ""))
        await view.page.get_by_role("button", name=view.t["link.open"]).click()

        await view.page.get_by_role("button", name=view.t["invite.other_device"]).click()
        await view.page.locator("img#qr").wait_for()
        await view.check("identify-qr")
        order = await scan(world, view)
        await phone_action(world, f"sim/orders/{order}/fail", {"hintCode": "userCancel"})
        await view.page.get_by_role("link", name=view.t["identify.retry"]).wait_for()
        await view.check("identify-failed")

        await view.page.get_by_role("link", name=view.t["identify.retry"]).click()
        await view.page.wait_for_url("**/m")
        await view.page.goto(invited.link.replace(view.base, ""))
        await view.page.get_by_role("button", name=view.t["link.open"]).click()
        await view.page.get_by_role("button", name=view.t["invite.other_device"]).click()
        await view.page.locator("img#qr").wait_for()
        order = await scan(world, view)
        await phone_action(world, f"sim/orders/{order}/complete", {"personalNumber": person})
        await view.page.wait_for_url("**/m")
        await view.text(lead(view.t["invite.identified"]))
        await view.check("invitation-identified")

    await walk_everywhere(browser, world.service.base_url, walk)


async def test_a_cancelled_meetings_link(world, browser):
    await world.service.app[DIRECTORY].set_contact_phone(world.municipality.id, "0771-123 456")
    meeting = await book(world, starts_in=timedelta(days=2))
    invited = await invite(world, meeting["id"], name="Kim Andersson")
    await invited.close()
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting['id']}/cancel", headers=world.auth(world.municipality)
    ) as response:
        assert response.status == 200

    async def walk(view: View) -> None:
        answer = await view.goto(invited.link.replace(view.base, ""))
        assert answer.status == 410
        # The meeting leader, the organisation and its number, in the page's language.
        await view.text("Ledare Exempelstads kommun, Exempelstads kommun, 0771-123 456")
        await view.check("cancelled-link")

    await walk_everywhere(browser, world.service.base_url, walk)


async def test_waiting_room_pages(world, browser):
    base = world.service.base_url
    soon = await book(world, starts_in=timedelta(minutes=5))
    queue = await book(world, starts_in=timedelta(minutes=5))
    later = await book(world, starts_in=timedelta(hours=3))
    locked = await book(world, starts_in=timedelta(minutes=5))
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, soon["id"])
    queue_host = await host_socket(world, cookie, queue["id"])
    locked_host = await host_socket(world, cookie, locked["id"])
    sockets = [host, queue_host, locked_host]
    waiting = await identified_participant(world, soon["id"], PERSONS[0])
    first_in_queue = await identified_participant(world, queue["id"], PERSONS[1])
    second_in_queue = await identified_participant(world, queue["id"], PERSONS[2])
    early = await identified_participant(world, later["id"], PERSONS[3])
    shut_out = await identified_participant(world, locked["id"], PERSONS[4])
    everyone = [waiting, first_in_queue, second_in_queue, early, shut_out]
    try:
        await queue_host.call("configure", {"show_queue_position": True})
        for invited in (first_in_queue, second_in_queue):
            sockets.append(await participant_socket(world, await ticket(invited)))
        await locked_host.call("configure", {"locked": True})

        async def as_(view: View, invited: Invited, path: str = "/lobby") -> None:
            await view.page.context.clear_cookies()
            await view.page.context.add_cookies([session_cookie(invited, base)])
            await view.goto(path)

        async def shows(view: View, key: str, locator: str = "#status") -> None:
            await view.page.locator(locator).filter(has_text=lead(view.t[key])).wait_for(timeout=WAIT_MS)

        async def walk(view: View) -> None:
            for name, invited, state in (
                ("lobby-waiting", waiting, "waiting"),
                ("lobby-not-open", early, "not_open"),
                ("lobby-locked", shut_out, "knocking"),  # locked: the page shows the person knocking
            ):
                await as_(view, invited)
                await shows(view, f"lobby.state.{state}")
                await view.check(name)
            await as_(view, second_in_queue)
            await shows(view, "lobby.position", "#position")
            await view.check("lobby-queue-position")

            # Someone without BankID waits; the leader writes to them, then turns them away.
            guest = await invite(world, soon["id"], name="Alex Berg")
            everyone.append(guest)
            await as_(view, guest, "/lobby?unverified=1")
            await shows(view, "lobby.state.waiting")
            await view.check("lobby-unverified")
            await host.call(
                "message", {"participant_id": guest.participant_id, "text": "Vi börjar snart. / We start soon."}
            )
            await view.page.locator("#message").filter(has_text="We start soon").wait_for(timeout=WAIT_MS)
            # Read out on arrival: the message appears inside a live region that was already there.
            assert (
                await view.page.evaluate("() => document.getElementById('message').closest('[aria-live]').id")
                == "updates"
            )
            await view.check("lobby-message")
            await host.call("deny", {"participant_id": guest.participant_id})
            await shows(view, "lobby.state.denied")
            await view.check("lobby-denied")
            await view.page.reload()
            await shows(view, "lobby.not_admitted")
            await view.check("lobby-denied-on-return")

            other = await invite(world, soon["id"], name="Sam Berg")
            everyone.append(other)
            await as_(view, other, "/lobby?unverified=1")
            await shows(view, "lobby.state.waiting")
            await host.call("remove", {"participant_id": other.participant_id})
            await shows(view, "lobby.state.removed_final")
            await view.check("lobby-removed")

        await walk_everywhere(browser, base, walk)
    finally:
        for s in sockets:
            await s.close()
        for invited in everyone:
            await invited.close()


async def test_host_console_and_staff_home(world, browser):
    meeting = await book(world, starts_in=timedelta(minutes=5))
    quiet = await book(world, starts_in=timedelta(minutes=30))
    await book(world, starts_in=timedelta(days=2), hosts=[world.hosts[world.region.id]])  # listed, not hosted
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    matched = await identified_participant(world, meeting["id"], PERSONS[0], name="Kim Andersson")
    mismatched = await identified_participant(world, meeting["id"], PERSONS[1], name="Robin Ek", expected=PERSONS[4])
    no_expectation = await invite(world, meeting["id"], name="Vera Ek")
    await identify(world, no_expectation, PERSONS[5])
    unverified = await invite(world, meeting["id"], name="Sam Tolk", role="interpreter")
    inside = await identified_participant(world, meeting["id"], PERSONS[2], name="Alex Berg")
    denied = await identified_participant(world, meeting["id"], PERSONS[3], name="Noa Lind")
    everyone = [matched, mismatched, no_expectation, unverified, inside, denied]
    sockets = [host]
    try:
        for invited in (matched, mismatched, no_expectation, inside, denied):
            sockets.append(await participant_socket(world, await ticket(invited)))
        sockets.append(await participant_socket(world, await ticket(unverified, unverified=True)))
        await host.call("admit", {"participant_id": inside.participant_id})
        await host.call("deny", {"participant_id": denied.participant_id})

        async def walk(view: View) -> None:
            await view.goto("/staff")
            await view.page.locator("ul.meetings").wait_for()
            await view.check("staff-home")
            await view.goto(f"/staff/meetings/{meeting['id']}")
            await view.page.locator("#waiting li").nth(3).wait_for(timeout=WAIT_MS)
            await view.page.locator("#inside li").first.wait_for(timeout=WAIT_MS)
            await view.page.locator("#others li").first.wait_for(timeout=WAIT_MS)
            await view.check("host-console")
            await view.goto(f"/staff/meetings/{quiet['id']}")
            await view.page.locator("#none-waiting:visible").wait_for()
            await view.page.locator("#lock:enabled").wait_for()
            await view.check("host-console-empty")
            assert (await view.goto("/staff/meetings/00000000-0000-0000-0000-000000000000")).status == 404
            await view.text(view.t["error.not_found"])
            await view.check("error-not-found")

        async def cookies() -> list[dict[str, Any]]:
            return [await staff_cookie(world)]

        await walk_everywhere(browser, world.service.base_url, walk, cookies=cookies)
    finally:
        for s in sockets:
            await s.close()
        for invited in everyone:
            await invited.close()


async def test_video_page(world, browser):
    base = world.service.base_url
    meeting = await book(world, starts_in=timedelta(minutes=5))
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    sockets, everyone = [host], []

    async def admitted(name: str) -> str:
        invited = await invite(world, meeting["id"], name=name)
        everyone.append(invited)
        socket = await participant_socket(world, await ticket(invited, unverified=True))
        sockets.append(socket)
        await host.call("admit", {"participant_id": invited.participant_id})
        return (await socket.wait_for("credential"))["join_url"].replace(base, "")

    # Someone is already in the video meeting, so each page shows a second picture.
    peer_context = await browser.new_context(viewport={"width": 390, "height": 844}, base_url=base)
    try:
        await (await peer_context.new_page()).goto(await admitted("Alex Berg"))

        async def walk(view: View) -> None:
            await view.goto(await admitted("Kim Andersson"))
            await view.page.locator("#videos figure").nth(0).wait_for(timeout=WAIT_MS)
            await view.check("video")
            await view.page.get_by_role("button", name=view.t["video.mute"]).click()
            await view.page.get_by_role("button", name=view.t["video.unmute"]).wait_for()
            await view.page.get_by_role("button", name=view.t["video.leave"]).click()
            await view.page.locator("#video-status").filter(has_text=view.t["video.left"]).wait_for()
            await view.check("video-left")

        await walk_everywhere(browser, base, walk, side_by_side=False)
    finally:
        await peer_context.close()
        for s in sockets:
            await s.close()
        for invited in everyone:
            await invited.close()


async def test_organiser_pages(world, browser):
    async def walk(view: View) -> None:
        await view.goto("/staff/meetings/new")
        await view.check("meeting-new")
        await view.page.locator("#date").fill("2020-01-01")
        await view.page.locator("#starts").fill("14:00")
        await view.page.locator("#ends").fill("13:00")
        await view.page.locator("form.stack button[type=submit]").click()
        await view.page.get_by_role("alert").wait_for()
        await view.check("meeting-new-refused")
        await view.page.locator("#date").fill((world.service.clock() + timedelta(days=7)).strftime("%Y-%m-%d"))
        await view.page.locator("#ends").fill("15:00")
        await view.page.locator("#care_area").select_option("socialpsykiatri")
        await view.page.locator("form.stack button[type=submit]").click()
        await view.page.wait_for_url("**/organise")
        await view.check("organise-empty")
        await view.page.locator("#display_name").fill("Kim Andersson")
        await view.page.locator("#mobile").fill("070-123 45 67")
        await view.page.locator("#personal_number").fill("19811218-9875")
        await view.page.locator("section[aria-labelledby=add] button[type=submit]").click()
        await view.page.get_by_role("alert").wait_for()
        await view.check("organise-refused")
        await view.page.locator("#personal_number").fill("")
        await view.page.locator("section[aria-labelledby=add] button[type=submit]").click()
        await view.page.locator("code.link").wait_for()
        await view.check("organise-invited")
        await view.page.locator("#edit_ends").fill("13:30")
        await view.page.locator("#edit_starts").fill("14:00")
        await view.page.get_by_role("button", name=view.t["org.save_changes"]).click()
        await view.page.get_by_role("alert").wait_for()
        await view.check("organise-change-refused")
        # Removing someone and cancelling the meeting first say what will be sent to whom.
        await view.page.get_by_role("button", name=view.t["org.remove"]).first.click()
        await view.page.get_by_role("heading", name=view.t["confirm.remove.heading"]).wait_for()
        await view.check("confirm-remove")
        await view.page.get_by_role("link", name=view.t["confirm.back"]).click()
        await view.page.wait_for_url("**/organise")
        await view.page.get_by_role("button", name=view.t["org.cancel_meeting"]).click()
        await view.page.get_by_role("heading", name=view.t["confirm.cancel.heading"]).wait_for()
        await view.check("confirm-cancel")
        await view.page.get_by_role("link", name=view.t["confirm.back"]).click()
        await view.page.wait_for_url("**/organise")
        # The development outbox, linked from the start page, holds the text message just sent.
        await view.goto("/")
        await view.page.locator('a[href="/dev/outbox"]').click()
        await view.page.locator("li.message").first.wait_for()
        await view.check("dev-outbox")

    async def cookies() -> list[dict[str, Any]]:
        return [await staff_cookie(world)]

    await walk_everywhere(browser, world.service.base_url, walk, cookies=cookies)


async def test_admin_page_and_the_partners_organise_page(world, browser):
    admin = await world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(world.municipality.id, "test"), display_name="Agnes", roles=frozenset({Role.ADMINISTRATOR})
    )
    region_host = world.hosts[world.region.id]
    meeting = await book(world, hosts=[world.hosts[world.municipality.id], region_host])

    async def walk_admin(view: View) -> None:
        await view.goto("/staff/admin")
        await view.check("staff-admin")
        form = view.page.locator("form[action='/staff/admin/staff']")
        await form.locator("#new-name").fill("Ny Person")
        await form.locator("#new-number").fill("19680905-9831")  # wrong check digit: refused, nothing added
        await form.locator("button[type=submit]").click()
        await view.page.get_by_role("alert").wait_for()
        await view.check("staff-admin-refused")

    async def admin_cookies() -> list[dict[str, Any]]:
        return [await staff_cookie(world, admin.id)]

    await walk_everywhere(browser, world.service.base_url, walk_admin, cookies=admin_cookies)

    async def walk_partner(view: View) -> None:
        await view.goto(f"/staff/meetings/{meeting['id']}/organise")
        await view.check("organise-partner")

    async def partner_cookies() -> list[dict[str, Any]]:
        return [await staff_cookie(world, region_host)]

    await walk_everywhere(browser, world.service.base_url, walk_partner, cookies=partner_cookies)


async def test_error_pages(world, browser):
    meeting = await book(world, starts_in=timedelta(minutes=5))
    tried = await invite(world, meeting["id"], name="Kim Andersson")
    # Five starts use up this invitation's attempts; the sixth, from the page, is refused.
    for _ in range(5):
        async with tried.page.post("/identify", data={"csrf": tried.csrf, "device": "other"}) as response:
            assert response.status == 200
    await tried.page.post("/identify/cancel", data={"csrf": tried.csrf})

    async def walk(view: View) -> None:
        assert (await view.goto("/j/not-a-real-invitation-token")).status == 404
        await view.text(lead(view.t["error.link_invalid"]))
        await view.check("error-invalid-link")
        assert (await view.goto("/m")).status == 401
        await view.text(view.t["error.session"])
        await view.check("error-session-expired")
        await view.page.context.add_cookies([session_cookie(tried, view.base)])
        await view.goto("/m")
        await view.page.get_by_role("button", name=view.t["invite.other_device"]).click()
        await view.text(view.t["error.too_many"])
        await view.check("error-too-many")
        await view.page.context.clear_cookies()

    try:
        await walk_everywhere(browser, world.service.base_url, walk)
    finally:
        await tried.close()


async def test_the_qr_code_is_drawn(world, browser):
    """The QR code is an image the browser can show (its alt text stands in only for those who
    cannot see it), at every frame the page fetches."""
    meeting = await book(world, starts_in=timedelta(minutes=5))
    invited = await invite(world, meeting["id"], name="Kim Andersson")
    await invited.close()
    context = await browser.new_context(base_url=world.service.base_url, **SIZES["phone"])
    try:
        page = await context.new_page()
        await page.goto(invited.link.replace(world.service.base_url, ""))
        await page.get_by_role("button", name=TEXTS["sv"]["link.open"]).click()
        await page.get_by_role("button", name=TEXTS["sv"]["invite.other_device"]).click()
        qr = page.locator("img#qr")
        await qr.wait_for()
        read = []
        drawn = "() => Number(document.getElementById('qr').dataset.frame || 0)"
        for frame in ("first", "next", "one after"):
            if frame != "first":
                # A second passes (on the service's clock, which this test moves); the page
                # fetches the new string and draws the code itself. Two frames on, the one
                # shown was certainly fetched after the second had passed.
                world.service.clock.advance(seconds=1)
                seen = await page.evaluate(drawn)
                await page.wait_for_function(f"() => ({drawn})() >= {seen + 2}", timeout=WAIT_MS)
            await page.wait_for_function("() => document.getElementById('qr').complete")
            size = await qr.evaluate("img => [img.naturalWidth, img.naturalHeight]")
            assert size[0] > 0 and size[1] > 0, f"the {frame} QR image did not load ({size})"
            box = await qr.bounding_box()
            assert box and box["width"] >= 200 and box["height"] >= 200, box
            read.append(await qr_on_screen(page))
        # Drawn in the browser after the first frame, from the string the server computed.
        assert (await qr.get_attribute("src")).startswith("data:image/svg+xml,")
        # Each a BankID animated QR code of the same order, its time counting up (the phone
        # checks the code against the order's secret: tests/identity covers that).
        parts = [text.split(".") for text in read]
        assert all(len(p) == 4 and p[0] == "bankid" for p in parts), read
        assert len({p[1] for p in parts}) == 1, "one order's start token"
        assert [int(p[2]) for p in parts] == [0, 1, 2]
        assert len({p[3] for p in parts}) == 3, "a new code each second"
    finally:
        await context.close()
