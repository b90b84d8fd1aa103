"""The leader records a meeting's outcome on the organiser page and on the host console, as a
browser posts the form; bad forms change nothing and get a readable page."""

from __future__ import annotations

from datetime import timedelta

from tests.support.lobby import book, csrf_of, host_cookie, invite

SAVED = "Utfallet är sparat."


async def outcome(world, meeting_id: str) -> dict:
    async with world.service.http.get(
        f"/api/v1/meetings/{meeting_id}/outcome", headers=world.auth(world.municipality)
    ) as answer:
        return await answer.json()


async def test_the_outcome_form_appears_after_the_start_and_records_it(world) -> None:
    meeting = await book(world, starts_in=timedelta(minutes=10))
    await invite(world, meeting["id"], personal_number="198112189876")
    headers = {"Cookie": f"meetsvc_session={await host_cookie(world, world.hosts[world.municipality.id])}"}
    http = world.service.http
    organise = f"/staff/meetings/{meeting['id']}/organise"
    async with http.get(organise, headers=headers) as answer:
        assert "Mötets utfall" not in await answer.text()

    world.service.clock.advance(minutes=15)
    async with http.get(organise, headers=headers) as answer:
        html = await answer.text()
    assert "Mötets utfall" in html and "Kön och åldersgrupp kommer från personnumret." in html
    form = {"csrf": csrf_of(html), "from": "organise", "outcome": "established", "individual_took_part": "yes"}
    async with http.post(
        f"/staff/meetings/{meeting['id']}/outcome", data=form, headers=headers, allow_redirects=False
    ) as answer:
        assert answer.status == 303 and answer.headers["Location"] == organise + "?outcome=saved"
    async with http.get(organise + "?outcome=saved", headers=headers) as answer:
        assert SAVED in await answer.text()
    recorded = await outcome(world, meeting["id"])
    assert (recorded["outcome"], recorded["individual_took_part"], recorded["gender"]) == ("established", True, "man")

    # The host console shows the same form, filled in.
    console = f"/staff/meetings/{meeting['id']}"
    async with http.get(console, headers=headers) as answer:
        html = await answer.text()
    assert 'value="established" selected' in html
    bad = {**form, "from": "console", "outcome": "not_established"}  # no reason
    async with http.post(
        f"/staff/meetings/{meeting['id']}/outcome", data=bad, headers=headers, allow_redirects=False
    ) as answer:
        assert answer.status == 422 and "text/html" in answer.headers["Content-Type"]
    async with http.post(
        f"/staff/meetings/{meeting['id']}/outcome",
        data={**form, "outcome": "kanske"},
        headers=headers,
        allow_redirects=False,
    ) as answer:
        assert answer.status == 400
    assert (await outcome(world, meeting["id"]))["outcome"] == "established"
