"""A signed-in staff member's browser, for tests that reach the pages and the API as staff.

The session is created as sign-in creates it (sign-in itself is tested in tests/web); requests
carry the session cookie and, for changes, the session's CSRF token, as the pages do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from meetsvc.domain.model import Language
from meetsvc.http.appkeys import ENGINE, SESSIONS
from meetsvc.services.sessions import COOKIE_NAME, SessionKind


@dataclass
class StaffPage:
    http: aiohttp.ClientSession
    csrf: str
    session_id: str

    async def request(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        headers = {"X-CSRF-Token": self.csrf} if method not in ("GET", "HEAD") else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if json is not None:
            kwargs["json"] = json
        async with self.http.request(method, path, allow_redirects=False, **kwargs) as response:
            text = await response.text()
            body = await response.json(content_type=None) if text and "json" in response.content_type else text
            return response.status, body

    async def get_json(self, path: str) -> Any:
        status, body = await self.request("GET", path)
        assert status == 200, body
        return body

    async def post_json(self, path: str, json: Any) -> tuple[int, Any]:
        return await self.request("POST", path, json)

    async def text(self, path: str) -> str:
        status, body = await self.request("GET", path)
        assert status == 200, (status, body)
        return str(body)

    async def status(self, path: str) -> int:
        return (await self.request("GET", path))[0]


@asynccontextmanager
async def staff_page(world: Any, staff_id: str) -> AsyncIterator[StaffPage]:
    sessions = world.service.app[SESSIONS]
    async with world.service.app[ENGINE].begin() as connection:
        issued = await sessions.create(connection, SessionKind.STAFF, language=Language.SV, staff_id=staff_id)
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(
        base_url=world.service.base_url, cookie_jar=jar, cookies={COOKIE_NAME: issued.token}
    ) as http:
        yield StaffPage(http, issued.session.csrf_token, issued.session.id)
