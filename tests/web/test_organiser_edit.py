"""A leader changes a meeting from the organiser page: a new time reaches every participant as
an updated calendar invitation; a new title or area of care reaches nobody; a refused form
changes nothing.

E-mail goes to a real SMTP server on loopback and its calendar file is read with icalendar.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio

from tests.api.helpers import deliveries_settled
from tests.notify.calendars import with_icalendar
from tests.notify.mailserver import MailServer
from tests.support.lobby import book, csrf_of, host_cookie, invite

ZONE = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def service_overrides(mail_server: MailServer) -> dict[str, Any]:
    return {"notify": mail_server.notify_settings(sms="off")}


class Organiser:
    """A signed-in leader using the organiser page as a browser would: GET, then POST its form."""

    def __init__(self, world, meeting_id: str, cookie: str) -> None:
        self.world, self.meeting_id, self.headers = world, meeting_id, {"Cookie": f"meetsvc_session={cookie}"}

    @property
    def path(self) -> str:
        return f"/staff/meetings/{self.meeting_id}/organise"

    async def page(self) -> str:
        async with self.world.service.http.get(self.path, headers=self.headers) as answer:
            assert answer.status == 200
            return await answer.text()

    async def edit(self, **fields: str) -> tuple[int, str]:
        html = await self.page()
        form = {"csrf": csrf_of(html), **current_values(html), **fields}
        async with self.world.service.http.post(
            f"/staff/meetings/{self.meeting_id}/edit", data=form, headers=self.headers, allow_redirects=False
        ) as answer:
            return answer.status, await answer.text()


def current_values(html: str) -> dict[str, str]:
    """What the edit form shows now (the fields a browser would send unchanged)."""
    found = {
        name: re.search(rf'id="edit_{name}"[^>]*value="([^"]*)"', html) for name in ("title", "date", "starts", "ends")
    }
    values = {name: match.group(1) for name, match in found.items() if match}
    area = re.search(r'id="edit_care_area".*?<option value="([^"]+)" selected', html, re.S)
    assert area and len(values) == 4, "the edit form shows the meeting's title, area and times"
    return {**values, "care_area": area.group(1)}


async def meeting_of(world, meeting_id: str) -> dict[str, Any]:
    async with world.service.http.get(
        f"/api/v1/meetings/{meeting_id}", headers=world.auth(world.municipality)
    ) as answer:
        assert answer.status == 200
        return await answer.json()


@pytest_asyncio.fixture
async def organiser(world):
    meeting = await book(world, starts_in=timedelta(days=3))
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    return Organiser(world, meeting["id"], cookie)


async def test_moving_the_meeting_sends_every_participant_an_updated_invitation(
    world, organiser, mail_server: MailServer
):
    await (await invite(world, organiser.meeting_id, name="Kim Andersson")).close()
    await deliveries_settled(world.service)
    (invitation,) = mail_server.received
    first = with_icalendar(invitation.calendar)

    new_day = (first.start.astimezone(ZONE) + timedelta(days=1)).date().isoformat()
    status, _ = await organiser.edit(date=new_day, starts="09:30", ends="10:15")
    assert status == 303

    await deliveries_settled(world.service)
    assert len(mail_server.received) == 2
    update = with_icalendar(mail_server.received[1].calendar)
    assert (update.method, update.uid) == ("REQUEST", first.uid)
    assert update.sequence > first.sequence
    assert update.start == datetime.fromisoformat(f"{new_day}T09:30").replace(tzinfo=ZONE)
    assert update.end == datetime.fromisoformat(f"{new_day}T10:15").replace(tzinfo=ZONE)
    moved = await meeting_of(world, organiser.meeting_id)
    assert datetime.fromisoformat(moved["starts_at"]) == update.start
    assert f'value="{new_day}"' in await organiser.page()


async def test_a_new_title_or_area_is_saved_and_sent_to_nobody(world, organiser, mail_server: MailServer):
    await (await invite(world, organiser.meeting_id, name="Kim Andersson")).close()
    await deliveries_settled(world.service)
    assert len(mail_server.received) == 1

    status, _ = await organiser.edit(title="Uppföljning <b>vår</b>", care_area="socialpsykiatri")
    assert status == 303
    await deliveries_settled(world.service)

    meeting = await meeting_of(world, organiser.meeting_id)
    assert (meeting["title"], meeting["care_area"]) == ("Uppföljning <b>vår</b>", "socialpsykiatri")
    assert len(mail_server.received) == 1, "the title and area of care are never sent to participants"
    assert "Uppföljning &lt;b&gt;vår&lt;/b&gt;" in await organiser.page()


async def test_a_refused_change_says_what_to_correct_and_changes_nothing(world, organiser, mail_server: MailServer):
    before = await meeting_of(world, organiser.meeting_id)

    for fields in (
        {"starts": "14:00", "ends": "13:00", "title": "Annan rubrik"},  # ends before it starts
        {"date": "2020-01-01", "title": "Annan rubrik"},  # in the past
        {"date": "igår", "starts": "25:00"},  # not a date or a time
        {"title": "   "},  # no title
        {"care_area": "inte-ett-område"},
    ):
        status, html = await organiser.edit(**fields)
        assert status == 422, fields
        assert 'role="alert"' in html, "the page says what to correct"

    assert await meeting_of(world, organiser.meeting_id) == before
    await deliveries_settled(world.service)
    assert mail_server.received == []


async def test_a_meeting_that_has_begun_cannot_be_moved_from_the_page(world, mail_server: MailServer):
    meeting = await book(world, starts_in=timedelta(minutes=10))
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    organiser = Organiser(world, meeting["id"], cookie)
    html = await organiser.page()
    form = {"csrf": csrf_of(html), **current_values(html)}
    async with world.service.http.post(
        f"/api/v1/meetings/{meeting['id']}/cancel", headers=world.auth(world.municipality)
    ) as answer:
        assert answer.status == 200, await answer.text()

    assert 'id="edit_title"' not in await organiser.page(), "a cancelled meeting offers no changes"
    async with world.service.http.post(
        f"/staff/meetings/{meeting['id']}/edit",
        data={**form, "starts": "08:00", "ends": "08:30"},
        headers=organiser.headers,
        allow_redirects=False,
    ) as answer:
        assert answer.status == 409
        assert 'role="alert"' in await answer.text()
    assert (await meeting_of(world, meeting["id"]))["starts_at"] == meeting["starts_at"]


async def test_a_refused_change_is_worded_in_the_pages_language(world, organiser):
    status, html = await organiser.edit(starts="14:00", ends="13:00")
    assert status == 422
    assert "Slutar: måste vara senare än starttiden. Ändra sluttiden." in html
    assert "starts_at" not in html and "must be" not in html, "no API wording inside a Swedish page"

    status, html = await organiser.edit(care_area="")
    assert status == 422
    assert "Verksamhetsområde: måste väljas" in html, "no silent default area of care"


async def test_cancel_and_remove_ask_first_saying_who_will_be_told(world, organiser, mail_server: MailServer):
    await (await invite(world, organiser.meeting_id, name="Kim Andersson")).close()
    await deliveries_settled(world.service)
    html = await organiser.page()
    person = re.search(r"/participants/([0-9a-f-]{36})/remove", html).group(1)
    received = len(mail_server.received)

    for action in (f"/participants/{person}/remove", "/cancel"):
        path = f"/staff/meetings/{organiser.meeting_id}{action}"
        async with world.service.http.post(
            path, data={"csrf": csrf_of(html)}, headers=organiser.headers, allow_redirects=False
        ) as answer:
            assert answer.status == 200, action
            asked = await answer.text()
        assert "Kim Andersson" in asked and 'name="confirmed" value="yes"' in asked, action
        assert f'href="/staff/meetings/{organiser.meeting_id}/organise"' in asked, "a way back that changes nothing"
    await deliveries_settled(world.service)
    assert (await meeting_of(world, organiser.meeting_id))["status"] == "scheduled"
    assert "Kim Andersson" in await organiser.page(), "asking removed nobody"
    assert len(mail_server.received) == received, "asking sent nothing"

    async with world.service.http.post(
        f"/staff/meetings/{organiser.meeting_id}/cancel",
        data={"csrf": csrf_of(html), "confirmed": "yes"},
        headers=organiser.headers,
        allow_redirects=False,
    ) as answer:
        assert answer.status == 303
    assert (await meeting_of(world, organiser.meeting_id))["status"] == "cancelled"


async def test_the_invitation_and_the_cancelled_link_give_the_organisations_number(
    world, organiser, mail_server: MailServer
):
    from meetsvc.http.appkeys import DIRECTORY

    await world.service.app[DIRECTORY].set_contact_phone(world.municipality.id, "0771-123 456")
    invited = await invite(world, organiser.meeting_id, name="Kim Andersson")
    await deliveries_settled(world.service)
    assert "på telefon 0771-123 456." in mail_server.received[-1].text
    # The leader is the meeting's first host, named by their work name beside the number.
    leader = f"Mötesledare: Ledare {world.municipality.name}, {world.municipality.citizens_see}, 0771-123 456."
    async with invited.page.get("/m") as answer:
        assert leader in await answer.text(), "the invitation page gives the leader and the number"
    async with invited.page.get("/lobby?unverified=1") as answer:
        assert leader in await answer.text(), "the waiting room, which also says denied or removed, gives them"
    async with invited.page.get("/lobby?unverified=1", cookies={"meetsvc_lang": "en"}) as answer:
        assert "Meeting leader: Ledare " in await answer.text()
    async with world.service.http.post(
        f"/api/v1/meetings/{organiser.meeting_id}/cancel", headers=world.auth(world.municipality)
    ) as answer:
        assert answer.status == 200
    async with invited.page.get("/m") as answer:
        assert leader in await answer.text(), "the invitation page of a cancelled meeting still names them"
    async with world.service.http.get(invited.link.replace(world.service.base_url, "")) as answer:
        assert answer.status == 410
        assert leader in await answer.text()
    async with world.service.http.get(
        invited.link.replace(world.service.base_url, ""), cookies={"meetsvc_lang": "en"}
    ) as answer:
        assert "Meeting leader: Ledare " in await answer.text() and "0771-123 456" in await answer.text()
    await invited.close()


async def test_without_a_number_the_leader_is_named_with_the_organisation(world, organiser):
    invited = await invite(world, organiser.meeting_id, name="Kim Andersson")
    organisation = world.municipality.citizens_see
    async with invited.page.get("/m") as answer:
        html = await answer.text()
    assert f"Mötesledare: Ledare {world.municipality.name}, {organisation}. Kontakta {organisation}" in html
    await invited.close()


async def test_co_hosts_are_chosen_when_booking(world):
    from meetsvc.domain.callers import OrganisationCaller
    from meetsvc.http.appkeys import DIRECTORY

    colleague = await world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(world.municipality.id, "test"), display_name="Kollega Kvist"
    )
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    headers = {"Cookie": f"meetsvc_session={cookie}"}
    async with world.service.http.get("/staff/meetings/new", headers=headers) as answer:
        html = await answer.text()
    assert "Kollega Kvist" in html and f'value="{colleague.id}"' in html
    assert '<option value="" selected>' in html, "no area of care is chosen for the leader"
    day = (world.service.clock() + timedelta(days=3)).astimezone(ZONE).date().isoformat()
    form = {
        "csrf": csrf_of(html),
        "partner_organisation_id": world.region.id,
        "title": "SIP-möte",
        "care_area": "socialpsykiatri",
        "date": day,
        "starts": "10:00",
        "ends": "11:00",
        "co_host": colleague.id,
    }
    async with world.service.http.post(
        "/staff/meetings/new", data=form, headers=headers, allow_redirects=False
    ) as answer:
        assert answer.status == 303, await answer.text()
        meeting_id = answer.headers["Location"].split("/")[3]
    meeting = await meeting_of(world, meeting_id)
    assert set(meeting["host_ids"]) == {world.hosts[world.municipality.id], colleague.id}


async def test_co_hosts_from_the_partner_are_offered_by_organisation_and_refused_from_one_not_chosen(world):
    from meetsvc.domain.callers import OrganisationCaller
    from meetsvc.domain.model import OrganisationKind
    from meetsvc.domain.roles import Role
    from meetsvc.http.appkeys import DIRECTORY

    directory = world.service.app[DIRECTORY]
    region = OrganisationCaller(world.region.id, "test")
    partner_host = await directory.add_staff_member(region, display_name="Regina Regionsdóttir")
    reader = await directory.add_staff_member(
        region, display_name="Siffer Läsare", roles=frozenset({Role.STATISTICS_READER})
    )
    gone = await directory.add_staff_member(region, display_name="Slutat Slutsson")
    await directory.deactivate_staff_member(region, gone.id)
    north = await directory.create_organisation("Region Norr", OrganisationKind.REGION)
    northerner = await directory.add_staff_member(OrganisationCaller(north.id, "test"), display_name="Norr Nordin")
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    headers = {"Cookie": f"meetsvc_session={cookie}"}
    async with world.service.http.get("/staff/meetings/new", headers=headers) as answer:
        html = await answer.text()
    groups = dict(
        re.findall(r'<fieldset class="co-host-group" data-organisation="([^"]+)">(.*?)</fieldset>', html, re.S)
    )
    assert set(groups) == {world.region.id, north.id}, "one group for each organisation that may be the partner"
    assert "Från Region Exempel" in groups[world.region.id] and "Från Region Norr" in groups[north.id]
    assert f'value="{partner_host.id}"' in groups[world.region.id]
    assert f'value="{world.hosts[world.region.id]}"' in groups[world.region.id]
    assert f'value="{northerner.id}"' in groups[north.id]
    assert reader.id not in html and gone.id not in html, "only active staff who may host are offered"
    assert world.hosts[world.other_municipality.id] not in html, "not another municipality's staff"
    assert world.hosts[world.municipality.id] not in html.split('class="co-hosts"', 1)[1], "the leader is not offered"
    async with world.service.http.get("/staff/meetings/new", headers=headers, cookies={"meetsvc_lang": "en"}) as answer:
        assert "From Region Norr (if it is chosen as the partner organisation)" in await answer.text()

    day = (world.service.clock() + timedelta(days=3)).astimezone(ZONE).date().isoformat()
    form = {
        "csrf": csrf_of(html),
        "partner_organisation_id": world.region.id,
        "title": "SIP-möte",
        "care_area": "socialpsykiatri",
        "date": day,
        "starts": "10:00",
        "ends": "11:00",
    }
    # A co-host of a region that is not the chosen partner: refused in words, nothing booked.
    async with world.service.http.post(
        "/staff/meetings/new", data={**form, "co_host": northerner.id}, headers=headers, allow_redirects=False
    ) as answer:
        assert answer.status == 422
        refused = await answer.text()
    assert (
        "Medvärdar: kan bara vara personal i din organisation eller i den samverkande organisation du valt" in refused
    )
    assert "host_ids" not in refused and "staff_member" not in refused
    assert re.search(rf'value="{northerner.id}" checked', refused), "the form keeps what was chosen"
    async with world.service.http.get("/api/v1/meetings", headers=world.auth(world.municipality)) as answer:
        assert (await answer.json())["items"] == []

    async with world.service.http.post(
        "/staff/meetings/new", data={**form, "co_host": partner_host.id}, headers=headers, allow_redirects=False
    ) as answer:
        assert answer.status == 303, await answer.text()
        meeting_id = answer.headers["Location"].split("/")[3]
    meeting = await meeting_of(world, meeting_id)
    assert meeting["host_ids"] == [world.hosts[world.municipality.id], partner_host.id]
