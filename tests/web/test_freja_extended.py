"""A deployment that accepts Freja eID at the EXTENDED level: a person registered only at that
level is identified, recorded as "extended" (not level 3), and the hosts are told so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.lobby import book, host_cookie, host_socket, invite
from tests.web.test_freja_identification import Phone
from tests.web.test_identification import wait_for

EXTENDED = "199005229811"  # Mohammed Al-Rashid: Freja eID at EXTENDED only


@pytest.fixture
def service_overrides(keys_dir: Path) -> dict[str, Any]:
    return {
        "freja": {"enabled": True, "use_simulator": True, "min_registration_level": "EXTENDED"},
        "freja_simulator": {"certs_dir": str(keys_dir.parent / "freja-simulator"), "app_port": 0},
    }


async def test_an_extended_identification_reaches_the_hosts_as_extended(world):
    meeting = await book(world, starts_in=timedelta(minutes=5))
    invited = await invite(world, meeting["id"], name="Mohammed Al-Rashid", personal_number=EXTENDED)
    phone = Phone(world.service)
    data = {"csrf": invited.csrf, "device": "other", "method": "freja"}
    async with invited.page.post("/identify", data=data) as response:
        assert response.status == 200, await response.text()
    auth_ref = await phone.scan(invited.page)
    await phone.post(f"orders/{auth_ref}/approve", {"ssn": EXTENDED})
    await wait_for(invited.page, "complete")
    await invited.close()

    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    try:
        listing = await host.call("list")
    finally:
        await host.close()
    [entry] = [p for p in listing["participants"] if p["participant_id"] == invited.participant_id]
    assert entry["verified"] is True and entry["matches_invitation"] is True
    assert (entry["identified_with"], entry["level_of_assurance"]) == ("freja", "extended")
