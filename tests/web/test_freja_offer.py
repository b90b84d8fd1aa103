"""Freja eID is offered to a participant only where their meeting's organisation offers it:
here Freja is enabled for another organisation only, so the invitation shows BankID alone and a
forged choice of Freja is refused with a readable page; staff may still sign in with it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import identifications
from tests.web.test_identification import browser, csrf_of, invite

PLUS = "198112189876"


@pytest.fixture
def service_overrides(keys_dir) -> dict[str, Any]:
    return {
        "freja": {"enabled": True, "use_simulator": True, "organisations": ["some-other-organisation"]},
        "freja_simulator": {"certs_dir": str(keys_dir.parent / "freja-simulator"), "app_port": 0},
    }


async def test_a_participant_of_an_organisation_without_freja_is_not_offered_it(world):
    link = await invite(world, PLUS)
    async with browser(world.service) as page:
        async with page.post(link.replace(world.service.base_url, "")) as response:
            html = await response.text()
        assert 'value="freja"' not in html and 'name="device" value="other"' in html
        data = {"csrf": csrf_of(html), "device": "other", "method": "freja"}
        async with page.post("/identify", data=data) as response:
            assert response.status == 400
            assert "Det sättet att legitimera sig finns inte här" in await response.text()
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(identifications))).first() is None


async def test_staff_are_offered_freja_wherever_it_is_enabled(world):
    async with browser(world.service) as page, page.get("/staff/login") as response:
        assert 'name="method" value="freja"' in await response.text()
