"""Staff OpenID Connect sign-in when nothing goes as planned: a provider that cannot be reached,
an answer nobody asked for, a provider that does not exist. Each is a readable page, audited,
and never a 500. (The whole flow against a real provider is in
tests/browser/test_staff_oidc_sign_in.py.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import audit_log, oidc_sign_ins
from tests.support.service import free_port

LOCALES = Path(__file__).resolve().parents[2] / "meetsvc" / "http" / "pages" / "locales"
SV = json.loads((LOCALES / "sv.json").read_text(encoding="utf-8"))


@pytest.fixture
def service_overrides() -> dict[str, Any]:
    # Bound but not listening: every connection to it is refused at once.
    dead = f"http://127.0.0.1:{free_port()}"
    entry = {
        "name": "siths",
        "organisation": "Region Exempel",
        "profile": "inera-siths",
        "issuer": dead,
        "client_id": "meetsvc",
        "client_secret": "secret",
    }
    return {"staff_sign_in": {"oidc": [entry]}}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


async def refusals(world: Any) -> list[dict[str, Any]]:
    async with world.service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(audit_log.c.details)
                .where(audit_log.c.action == "staff.sign_in_refused")
                .order_by(audit_log.c.seq)
            )
        ).all()
    return [json.loads(row.details) for row in rows]


async def test_the_sign_in_page_offers_the_provider_even_while_it_cannot_be_reached(world: Any) -> None:
    async with world.service.http.get("/staff/login") as response:
        assert response.status == 200
        html = await response.text()
        policy = response.headers["Content-Security-Policy"]
    assert f"{SV['staff.oidc.inera-siths']} (Region Exempel)" in html
    assert 'action="/staff/oidc/siths"' in html
    issuer = world.service.settings.staff_sign_in.oidc[0].issuer
    assert f"form-action 'self' {issuer}" in policy


async def test_a_provider_that_cannot_be_reached_is_a_readable_503(world: Any) -> None:
    async with aiohttp.ClientSession(
        base_url=world.service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as page:
        async with page.get("/staff/login") as response:
            csrf = csrf_of(await response.text())
        async with page.post("/staff/oidc/siths", data={"csrf": csrf}, allow_redirects=False) as response:
            assert response.status == 503
            assert SV["oidc.refused_unavailable"] in await response.text()
    assert [r["reason"] for r in await refusals(world)] == ["unavailable"]


async def test_an_unknown_provider_is_a_readable_404(world: Any) -> None:
    async with aiohttp.ClientSession(
        base_url=world.service.base_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as page:
        async with page.get("/staff/login") as response:
            csrf = csrf_of(await response.text())
        async with page.post("/staff/oidc/nobody", data={"csrf": csrf}, allow_redirects=False) as response:
            assert response.status == 404
            assert SV["oidc.refused_heading"] in await response.text()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?state=abc&code=def",
        "?error=access_denied&state=" + "x" * 43,
        "?state=" + "y" * 5000,
        "?code=%ff%fe&state=%00",
    ],
)
async def test_an_answer_nobody_asked_for_is_a_readable_400_that_changes_nothing(world: Any, query: str) -> None:
    async with world.service.http.get(f"/staff/oidc/callback{query}", allow_redirects=False) as response:
        assert response.status == 400
        assert SV["oidc.refused_invalid"] in await response.text()
        assert "meetsvc_session" not in response.cookies
    assert [r["reason"] for r in await refusals(world)] == (["state"] if len(query) < 5000 else [])
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(oidc_sign_ins))).all() == []


async def test_a_post_from_elsewhere_starts_nothing(world: Any) -> None:
    async with world.service.http.post("/staff/oidc/siths", data={"csrf": "x" * 43}, allow_redirects=False) as answer:
        assert answer.status == 403
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(oidc_sign_ins))).all() == []
