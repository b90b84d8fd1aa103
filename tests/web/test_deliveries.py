"""Where each participant's messages stand, on the organiser's page, and the development outbox
page with the messages themselves (only in development, only with the outbox channel).

E-mail goes to a real SMTP server on loopback; text messages stay in the development outbox.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.helpers import deliveries_settled
from tests.notify.mailserver import MailServer
from tests.support.lobby import book, host_cookie, invite
from tests.support.service import SettableClock, make_settings, start_service


@pytest.fixture
def service_overrides(mail_server: MailServer) -> dict[str, Any]:
    return {"notify": mail_server.notify_settings(sms="outbox")}


async def organise_page(world, meeting_id: str) -> str:  # type: ignore[no-untyped-def]
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    async with world.service.http.get(
        f"/staff/meetings/{meeting_id}/organise", headers={"Cookie": f"meetsvc_session={cookie}"}
    ) as answer:
        assert answer.status == 200
        return await answer.text()


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def add_with_mobile(world, meeting_id: str, name: str) -> dict:  # type: ignore[no-untyped-def]
    body = {"role": "individual", "display_name": name, "mobile": "+46701234567"}
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting_id}/participants", json=body, headers=world.auth(world.municipality)
    ) as answer:
        assert answer.status == 201
        return await answer.json()


async def test_the_organiser_sees_each_message_sent_and_nothing_it_says(world, mail_server: MailServer):
    meeting = await book(world)
    await invite(world, meeting["id"], name="Kim Andersson")
    await deliveries_settled(world.service)
    assert len(mail_server.received) == 1

    page = visible_text(await organise_page(world, meeting["id"]))
    assert re.search(r"E-post: Inbjudan skickat \d{4}-\d\d-\d\d \d\d:\d\d", page), page
    assert "/j/" not in page, "the organiser's page never shows a participant's link again"


async def test_a_refused_message_shows_its_reason_so_the_leader_can_phone(world, mail_server: MailServer):
    mail_server.handler.rcpt_replies[:] = ["550 5.1.1 Mailbox unavailable"]
    meeting = await book(world)
    await invite(world, meeting["id"], name="Kim Andersson")
    await deliveries_settled(world.service)

    page = visible_text(await organise_page(world, meeting["id"]))
    assert re.search(r"E-post: Inbjudan kunde inte skickas \(Orsak: [^)]*550[^)]*\)", page), page
    assert mail_server.received == []


async def test_the_development_outbox_page_shows_the_message_with_a_working_link(world):
    meeting = await book(world)
    invited = await add_with_mobile(world, meeting["id"], "<script>alert(1)</script> Kim")
    await deliveries_settled(world.service)

    async with world.service.http.get("/dev/outbox") as answer:
        assert answer.status == 200
        html = await answer.text()
    link = invited["invitation_url"]
    assert f'<a href="{link}">{link}</a>' in html
    assert "+46701234567" in html
    assert "<script>alert" not in html
    async with world.service.http.get("/") as answer:
        assert 'href="/dev/outbox"' in await answer.text()
    async with world.service.http.post(link.replace(world.service.base_url, ""), allow_redirects=False) as answer:
        assert answer.status == 303, "the link on the page opens the invitation"


async def test_the_outbox_page_does_not_exist_unless_messages_stay_in_the_outbox(sqlite_template, keys_dir: Path):
    settings = make_settings(sqlite_template.clone(), keys_dir, notify={"email": "off", "sms": "off"})
    service = await start_service(settings, SettableClock())
    try:
        async with service.http.get("/dev/outbox") as answer:
            assert answer.status == 404
        async with service.http.get("/") as answer:
            assert "/dev/outbox" not in await answer.text()
    finally:
        await service.close()
