"""Administrators keep the staff directory and the API clients; nobody else does.

Creating, changing and deactivating staff, and listing and revoking API clients, through the
API as a signed-in administrator (and staff through an API client, the organisation's own
system). Deactivation ends the person's access at once: their session is refused, their open host
console hears ``signed_out`` and is closed, and BankID sign-in no longer finds them.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.roles import Role
from meetsvc.http.appkeys import DIRECTORY, ENGINE
from meetsvc.storage.tables import audit_log
from tests.api.helpers import Api, assert_problem, snapshot
from tests.support.lobby import host_socket
from tests.support.staff import staff_page
from tests.support.timing import WAIT_SECONDS
from tests.web.test_staff_sign_in import browser, session_cookie, sign_in

PER_OLOF = "196809059832"  # a simulator test person


async def member(api: Api, name: str, *roles: Role) -> str:
    added = await api.world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(api.world.municipality.id, "test"), display_name=name, roles=frozenset(roles)
    )
    return added.id


async def actions(api: Api) -> list[tuple[str, str]]:
    async with api.world.service.app[ENGINE].connect() as connection:
        found = await connection.execute(select(audit_log.c.action, audit_log.c.actor).order_by(audit_log.c.seq))
        return [(row.action, row.actor) for row in found]


async def test_only_an_administrator_or_the_organisations_client_adds_staff(api: Api) -> None:
    world = api.world
    organiser = await member(api, "Olle", Role.ORGANISER, Role.HOST)
    admin = await member(api, "Agnes", Role.ADMINISTRATOR)
    body = {"display_name": "Ny Person", "personal_number": PER_OLOF}
    async with staff_page(world, organiser) as page:
        before = await snapshot(world.service)
        status, problem = await page.post_json("/api/v1/staff", body)
        assert status == 403 and problem["type"].endswith("forbidden")
        status, _ = await page.request("PATCH", f"/api/v1/staff/{admin}", {"roles": ["organiser"]})
        assert status == 403
        status, _ = await page.post_json(f"/api/v1/staff/{admin}/deactivate", None)
        assert status == 403
        assert await snapshot(world.service) == before
    async with staff_page(world, admin) as page:
        status, added = await page.post_json("/api/v1/staff", {**body, "roles": ["host", "organiser"]})
        assert status == 201, added
        assert added["roles"] == ["host", "organiser"] and added["can_sign_in"] and added["active"]
        assert PER_OLOF not in str(added)
    by_client = await api.post("/api/v1/staff", json={"display_name": "Från systemet", "roles": ["statistics_reader"]})
    assert by_client.status == 201 and by_client.json["roles"] == ["statistics_reader"]
    assert by_client.json["can_organise"] is False
    assert ("staff.added", f"staff:{admin}") in await actions(api)


async def test_an_administrator_changes_name_email_and_roles_and_bad_input_changes_nothing(api: Api) -> None:
    world = api.world
    admin = await member(api, "Agnes", Role.ADMINISTRATOR)
    target = await member(api, "Tove", Role.HOST)
    async with staff_page(world, admin) as page:
        status, changed = await page.request(
            "PATCH",
            f"/api/v1/staff/{target}",
            {"display_name": "Tove B", "email": "tove@example.se", "roles": ["organiser", "host"]},
        )
        assert status == 200, changed
        assert (changed["display_name"], changed["email"], changed["roles"]) == (
            "Tove B",
            "tove@example.se",
            ["host", "organiser"],
        )
        before = await snapshot(world.service)
        for bad in ({"roles": ["chef"]}, {"email": "not an address"}, {"display_name": ""}, {"colour": "red"}):
            status, problem = await page.request("PATCH", f"/api/v1/staff/{target}", bad)
            assert status in (400, 422), (bad, problem)
        # Nobody takes the administrator role from themselves by accident.
        status, _ = await page.request("PATCH", f"/api/v1/staff/{admin}", {"roles": ["organiser"]})
        assert status == 422
        status, _ = await page.post_json(f"/api/v1/staff/{admin}/deactivate", None)
        assert status == 422
        # Another organisation's staff member does not exist for this one.
        other = world.hosts[world.region.id]
        status, _ = await page.request("PATCH", f"/api/v1/staff/{other}", {"display_name": "X"})
        assert status == 404
        assert await snapshot(world.service) == before
        cleared = await page.request("PATCH", f"/api/v1/staff/{target}", {"email": None})
        assert cleared[0] == 200 and cleared[1]["email"] is None
    assert ("staff.changed", f"staff:{admin}") in await actions(api)


async def test_deactivation_ends_the_session_closes_the_console_and_refuses_sign_in(api: Api) -> None:
    world = api.world
    admin = await member(api, "Agnes", Role.ADMINISTRATOR)
    created = await api.post(
        "/api/v1/staff", json={"display_name": "Per-Olof Öberg", "personal_number": PER_OLOF, "roles": ["host"]}
    )
    leaving = created.json["id"]
    meeting = await api.create_meeting(host_ids=[world.hosts[world.municipality.id], leaving])
    # They sign in with BankID, as the README promises of a staff member added with a number.
    async with browser(world) as signed_in:
        response = await sign_in(world, signed_in, PER_OLOF)
        assert response.url.path == "/staff"
        cookie = session_cookie(world, signed_in)
    console = await host_socket(world, cookie, meeting["id"])
    try:
        assert (await console.call("list", {}))["ok"] is True
        async with staff_page(world, admin) as page:
            status, gone = await page.post_json(f"/api/v1/staff/{leaving}/deactivate", None)
            assert status == 200 and gone["active"] is False
        await console.wait_for("signed_out")
        async with asyncio.timeout(WAIT_SECONDS):
            while console.client.connected and "/host" in console.client.namespaces:
                await asyncio.sleep(0.01)
    finally:
        if console.client.connected:
            await console.close()
    async with world.service.http.get("/api/v1/meetings", headers={"Cookie": f"meetsvc_session={cookie}"}) as refused:
        assert refused.status == 401
    async with world.service.http.get(
        f"/staff/meetings/{meeting['id']}", headers={"Cookie": f"meetsvc_session={cookie}"}, allow_redirects=False
    ) as page_refused:
        assert page_refused.status == 303
    async with browser(world) as again:
        response = await sign_in(world, again, PER_OLOF)
        assert response.status == 403
    found = await actions(api)
    assert ("staff.deactivated", f"staff:{admin}") in found
    assert found[-1][0] == "staff.sign_in_refused"


async def test_an_administrator_lists_and_revokes_api_clients_and_a_revoked_key_is_refused_at_once(
    api: Api,
) -> None:
    world = api.world
    admin = await member(api, "Agnes", Role.ADMINISTRATOR)
    organiser = await member(api, "Olle", Role.ORGANISER)
    assert (await api.get("/api/v1/meetings")).status == 200
    # A key does not manage keys, and an organiser does not either.
    assert_problem(await api.get("/api/v1/api-clients"), 403, "forbidden")
    async with staff_page(world, organiser) as page:
        assert (await page.request("GET", "/api/v1/api-clients"))[0] == 403
    async with staff_page(world, admin) as page:
        listed = await page.get_json("/api/v1/api-clients")
        assert [c["organisation_id"] for c in listed["items"]] == [world.municipality.id]
        client = listed["items"][0]
        assert client["revoked_at"] is None and "key" not in str(sorted(client))
        region_client = (await world.service.app[DIRECTORY].list_api_clients(world.region.id))[0]
        status, _ = await page.post_json(f"/api/v1/api-clients/{region_client.id}/revoke", None)
        assert status == 404
        status, revoked = await page.post_json(f"/api/v1/api-clients/{client['id']}/revoke", None)
        assert status == 200 and revoked["revoked_at"] is not None
    assert_problem(await api.get("/api/v1/meetings"), 401, "unauthenticated")
    # The region's key still works.
    assert (await api.get("/api/v1/meetings", org=world.region)).status == 200
    assert ("api_client.revoked", f"staff:{admin}") in await actions(api)
