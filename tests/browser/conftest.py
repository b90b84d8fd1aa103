"""Pages in a real browser: Debian's Chromium driven by Playwright (no browser download).

Chromium is looked up on PATH; where it is absent these tests skip with the reason, except in
CI, where its absence fails the run. Screenshots are kept in test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import AsyncIterator

import pytest
import pytest_asyncio

from tests.support.databases import SqliteTemplate
from tests.support.service import Clock, RunningService, make_settings, start_service

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
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
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def service(sqlite_template: SqliteTemplate, keys_dir: Path, clock: Clock) -> AsyncIterator[RunningService]:
    running = await start_service(make_settings(sqlite_template.clone(), keys_dir), clock)
    yield running
    await running.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    folder = ARTIFACTS / request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
