"""Bad input on the pages: a readable 4xx page (problem+json for a program), nothing changed, no
traceback in the log, and never a way to send a person to another site.

The API's own table of hostile requests is tests/api/test_bad_input.py.
"""

from __future__ import annotations

import logging

import aiohttp
import pytest
from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import identifications
from tests.api.helpers import PROBLEM_JSON, Api

# A ``next`` that must not take the browser off the site, as the query string carries it.
OFF_SITE = [
    "/%09/evil.example/",  # a tab: browsers drop it from a Location, leaving //evil.example/
    "/%0d/evil.example/",
    "/%0a/evil.example/",
    "/%0d%0a/evil.example/",
    "/%5C/evil.example/",  # a backslash reads as a slash
    "/%5C%5Cevil.example/",
    "//evil.example/",
    "///evil.example/",
    "/.//evil.example/",  # // once the dot segment is resolved
    "/%2e%2e//evil.example/",
    "/%252e%252e//evil.example/",
    "/%2F%2Fevil.example/",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "/%E2%80%8B/evil.example/",  # a zero-width space
    "/%E3%80%80/evil.example/",  # an ideographic space
    "evil.example",
    "",
]


def browser(service) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))


@pytest.mark.parametrize("target", OFF_SITE)
async def test_the_language_switch_never_redirects_to_another_site(world, target: str) -> None:
    """An open redirect would lend the service's name to a phishing link."""
    async with world.service.http.get(f"/language?lang=en&next={target}", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/", target


@pytest.mark.parametrize("target", ["/m", "/staff/meetings/new", "/j/abc?x=1", "/identify"])
async def test_the_language_switch_returns_to_the_page_it_came_from(world, target: str) -> None:
    async with world.service.http.get(f"/language?lang=en&next={target}", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == target


# Bodies a careless or hostile client posts as a page's form, each with its Content-Type.
UNREADABLE_FORMS = [
    pytest.param("application/x-www-form-urlencoded; charset=bogus", b"csrf=x&device=other", id="charset-bogus"),
    pytest.param("application/x-www-form-urlencoded; charset=utf-16", b"csrf=x&device=other", id="charset-utf-16"),
    pytest.param("application/x-www-form-urlencoded", b"csrf=\xff\xfe&device=other", id="not-utf-8"),
    pytest.param(
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nx',
        id="multipart-truncated",
    ),
    pytest.param(
        "multipart/form-data; boundary=y",
        b'--x\r\nContent-Disposition: form-data; name="csrf"\r\n\r\nx\r\n--x--\r\n',
        id="multipart-wrong-boundary",
    ),
    pytest.param("multipart/form-data", b"--x\r\n\r\n", id="multipart-no-boundary"),
    pytest.param(
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="csrf"\r\nContent-Transfer-Encoding: bogus\r\n\r\nx\r\n--x--\r\n',
        id="multipart-unknown-transfer-encoding",
    ),
]


async def _participant_browser(world) -> aiohttp.ClientSession:
    """A browser holding a participant's session, as anyone with an invitation link has: no sign-in."""
    api = Api(world)
    meeting = await api.create_meeting()
    participant = await api.add_participant(meeting["id"])
    page = browser(world.service)
    async with page.get(participant["invitation_url"].replace(world.service.base_url, "")) as response:
        assert response.status == 200
    return page


@pytest.mark.parametrize(("content_type", "body"), UNREADABLE_FORMS)
async def test_a_form_body_that_cannot_be_read_is_a_readable_400_without_a_traceback(
    world, caplog: pytest.LogCaptureFixture, content_type: str, body: bytes
) -> None:
    page = await _participant_browser(world)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        async with page:
            async with page.post("/identify", data=body, headers={"Content-Type": content_type}) as response:
                assert response.status == 400
                assert response.content_type == "text/html"
                assert "kunde inte läsas" in await response.text()
            async with page.post(
                "/identify", data=body, headers={"Content-Type": content_type, "Accept": "application/json"}
            ) as response:
                assert response.status == 400
                assert response.content_type == PROBLEM_JSON
                problem = await response.json(content_type=PROBLEM_JSON)
                assert problem["type"] == "urn:meetsvc:problem:bad-request"
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info]
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(identifications))).first() is None
