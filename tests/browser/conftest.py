"""Pages in a real browser: Debian's Chromium driven by Playwright (no browser download).

Chromium is looked up on PATH; where it is absent these tests skip with the reason, except in
CI, where its absence fails the run. Screenshots are kept in test-artifacts/screenshots/.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import zxingcpp
from PIL import Image

from meetsvc.http.appkeys import EID
from tests.support.databases import SqliteTemplate
from tests.support.lobby import host_cookie
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Playwright counts in milliseconds; like every wait in the suite, a bound against hanging only.
WAIT_MS = WAIT_SECONDS * 1000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
LOCALES = Path(__file__).resolve().parents[2] / "meetsvc" / "http" / "pages" / "locales"
# What the pages say in Swedish (the default language), so tests look for the words people read.
SV: dict[str, str] = json.loads((LOCALES / "sv.json").read_text(encoding="utf-8"))
# Phones and tablet are touch devices with a mobile viewport; the desktop is a mouse and a wide window.
# The small phone is a common cheap Android (360x640), the narrowest and shortest screen we serve.
SIZES: dict[str, dict[str, Any]] = {
    "small-phone": {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
    "tablet": {"viewport": {"width": 820, "height": 1180}, "is_mobile": True, "has_touch": True},
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}
# How wide the page is against the screen, and which controls in view a tap on their middle would
# not reach (it lands on another element that covers them).
FITS_THE_SCREEN = """
() => {
  const root = document.documentElement;
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + " " + JSON.stringify((e.textContent || "").trim().slice(0, 40));
  const covered = [];
  for (const control of document.querySelectorAll("a[href], button, input, select, textarea, summary")) {
    const box = control.getBoundingClientRect();
    if (box.width < 2 || box.height < 2 || getComputedStyle(control).visibility !== "visible") { continue; }
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    if (x < 0 || y < 0 || x >= root.clientWidth || y >= window.innerHeight) { continue; }
    const top = document.elementFromPoint(x, y);
    if (top && !control.contains(top)) { covered.push(name(control) + " under " + name(top)); }
  }
  return [root.scrollWidth, root.clientWidth, covered];
}
"""
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Fake camera and microphone, granted without a prompt: the media path is real WebRTC.
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or (shutil.which("chromium-browser"))


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[object]:
    path = chromium_path()
    if path is None:
        reason = "Debian's chromium is not installed (make test installs it where it can)"
        if IN_CI:
            pytest.fail(reason + "; CI must run the browser tests")
        pytest.skip(reason)
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)  # its default, five seconds, is a speed limit under load

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def service(
    sqlite_template: SqliteTemplate, keys_dir: Path, clock: SettableClock
) -> AsyncIterator[RunningService]:
    """The service; its BankID simulator ages orders on the same (the test's) clock."""
    running = await start_service(make_settings(sqlite_template.clone(), keys_dir), clock)
    yield running
    await running.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def qr_on_screen(page) -> str:  # type: ignore[no-untyped-def]
    """What a phone's camera reads off the page: the QR code as the browser shows it, decoded."""
    shot = await page.locator("img#qr").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(found) == 1, f"the page shows {len(found)} readable QR codes"
    return found[0].text


async def approve_in_simulator(world, page, personal_number: str) -> None:  # type: ignore[no-untyped-def]
    """The 'phone': scan the QR code on the page and approve it as a test person."""
    app_url = world.service.app[EID].simulator_app_url
    async with aiohttp.ClientSession() as phone:
        async with phone.post(f"{app_url}sim/scan", json={"qrData": await qr_on_screen(page)}) as response:
            assert response.status == 200, await response.text()
            order_ref = (await response.json())["orderRef"]
        async with phone.post(
            f"{app_url}sim/orders/{order_ref}/complete", json={"personalNumber": personal_number}
        ) as response:
            assert response.status == 200, await response.text()


@dataclass
class Tab:
    """One person's browser (a context of its own, so its own cookies) and the page they look at,
    with a record of what a person would not see but a test should: script errors, dialogs,
    the socket.io frames the page received and the addresses it went to."""

    who: str
    context: Any
    shots: Path
    page: Any = None
    problems: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)

    async def new_page(self) -> Any:
        """Open a (new) page in this browser; it becomes the one the person looks at."""
        self.page = self.watch(await self.context.new_page())
        return self.page

    def watch(self, page: Any) -> Any:
        """Record what ``page`` (of this browser: a new page, or one a page opened) does."""

        async def dialog(d) -> None:  # type: ignore[no-untyped-def]
            self.problems.append(f"dialog: {d.message}")
            await d.dismiss()

        def websocket(ws) -> None:  # type: ignore[no-untyped-def]
            ws.on("framereceived", lambda payload: self.frames.append(payload if isinstance(payload, str) else ""))

        page.on("dialog", dialog)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("websocket", websocket)
        page.on("framenavigated", lambda frame: self.visited.append(frame.url) if frame == page.main_frame else None)
        return page

    async def shot(self, step: str) -> None:
        await self.page.screenshot(path=self.shots / f"{step}-{self.who}.png", full_page=True)

    async def fits_the_screen(self, state: str) -> None:
        """The page needs no sideways scrolling, and no control in view lies under something else.

        Width is measured against the layout viewport (``clientWidth``), not ``innerWidth``: on a
        mobile viewport Chromium zooms out to show a page wider than the screen, and ``innerWidth``
        grows with it, so it could never tell. ``scrollWidth`` counts what a hidden overflow cuts
        off too. A control scrolled out of view is fine (a finger scrolls to it); one in view must
        be what a tap on its middle reaches.
        """
        wide, room, covered = await self.page.evaluate(FITS_THE_SCREEN)
        assert wide <= room, f"{self.who}'s page at {state!r} is {wide}px wide on a {room}px wide screen"
        assert covered == [], f"on {self.who}'s page at {state!r}, controls lie under something: {covered}"

    def received(self, event: str) -> list[str]:
        """socket.io frames received carrying ``event``."""
        return [f for f in self.frames if f'["{event}"' in f]


OpenTab = Callable[..., Awaitable[Tab]]


@pytest_asyncio.fixture
async def open_tab(browser, service: RunningService, screenshots: Path) -> AsyncIterator[OpenTab]:  # type: ignore[no-untyped-def]
    """Opens a person's browser at a size (see SIZES); each one is closed after the test."""
    contexts: list[Any] = []

    async def open_(who: str, size: str, cookies: Iterable[dict[str, Any]] = ()) -> Tab:
        context = await browser.new_context(base_url=service.base_url, **SIZES[size])
        contexts.append(context)
        if cookies:
            await context.add_cookies(list(cookies))
        tab = Tab(who, context, screenshots)
        await tab.new_page()
        return tab

    yield open_
    for context in contexts:
        await context.close()


async def staff_session(world, staff_id: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A signed-in host's session cookie (sign-in itself is tested elsewhere)."""
    token = await host_cookie(world, staff_id or world.hosts[world.municipality.id])
    return {"name": "meetsvc_session", "value": token, "url": world.service.base_url}
