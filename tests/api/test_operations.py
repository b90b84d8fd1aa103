"""What the platform running the service sees: health, readiness, metrics, request ids, headers."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio

from tests.api.helpers import Api, meeting_path, participant_path, token_of
from tests.support.databases import SqliteTemplate
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
API_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# What every answer carries, whatever it is: page, API answer, redirect, error or file.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), payment=(), usb=(), camera=(self), microphone=(self)",
}


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released, never listened on)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_healthz(api: Api) -> None:
    answer = await api.get("/healthz", org=None)
    assert answer.status == 200
    assert answer.json == {"status": "ok"}


async def test_readyz_with_the_database(api: Api) -> None:
    answer = await api.get("/readyz", org=None)
    assert answer.status == 200
    assert answer.json["status"] == "ok"


@pytest_asyncio.fixture
async def service_without_database(keys_dir: Path) -> AsyncIterator[RunningService]:
    url = f"postgresql+asyncpg://meetsvc@127.0.0.1:{unused_port()}/meetsvc"
    service = await start_service(make_settings(url, keys_dir), SettableClock())
    yield service
    await service.close()


async def test_readyz_is_503_when_the_database_is_unreachable(service_without_database: RunningService) -> None:
    async with service_without_database.http.get("/readyz") as response:
        assert response.status == 503
        body = await response.json()
    assert body["status"] == "unavailable"
    # The process itself is alive: liveness stays green, so the platform does not restart it
    # in a loop while the database is away.
    async with service_without_database.http.get("/healthz") as response:
        assert response.status == 200


@pytest_asyncio.fixture
async def service_on_unmigrated_database(tmp_path: Path, keys_dir: Path) -> AsyncIterator[RunningService]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    service = await start_service(make_settings(url, keys_dir), SettableClock())
    yield service
    await service.close()


async def test_readyz_is_503_while_migrations_are_pending(service_on_unmigrated_database: RunningService) -> None:
    async with service_on_unmigrated_database.http.get("/readyz") as response:
        assert response.status == 503
        assert (await response.json())["status"] == "unavailable"


async def test_metrics_count_requests_by_route_template_only(api: Api) -> None:
    meeting = await api.create_meeting()
    participant = await api.add_participant(meeting["id"])
    token = token_of(participant["invitation_url"])
    await api.get(meeting_path(meeting["id"]))
    await api.get(participant_path(meeting["id"], participant["id"]))
    reissued = await api.post(participant_path(meeting["id"], participant["id"], "invitation"))
    new_token = token_of(reissued.json["invitation_url"])
    # Requests whose paths carry a link token or an id, matched by a route or by none.
    await api.get(f"/j/{token}", org=None)
    await api.get(f"/api/v1/meetings/{meeting['id']}/{new_token}")
    await api.get("/api/v1/meetings/00000000-0000-4000-8000-000000000000")

    answer = await api.get("/metrics", org=None)
    assert answer.status == 200
    assert answer.content_type == "text/plain"
    text = answer.text
    counted = re.search(
        r'^meetsvc_http_requests_total\{method="GET",route="/api/v1/meetings/\{meeting_id\}",status="200"\} (\S+)$',
        text,
        re.MULTILINE,
    )
    assert counted is not None, text
    assert float(counted.group(1)) >= 1
    assert 'route="/api/v1/meetings/{meeting_id}/participants/{participant_id}"' in text
    assert 'route="/api/v1/meetings/{meeting_id}/participants/{participant_id}/invitation"' in text
    for secret in (meeting["id"], participant["id"], token, new_token, "00000000-0000-4000-8000-000000000000"):
        assert secret not in text


async def test_every_answer_carries_a_request_id(api: Api) -> None:
    meeting = await api.create_meeting()
    answers = [
        await api.get("/healthz", org=None),
        await api.get("/readyz", org=None),
        await api.get("/metrics", org=None),
        await api.get("/api/v1/openapi.json", org=None),
        await api.get(meeting_path(meeting["id"])),
        await api.get(meeting_path(meeting["id"]), org=None),
        await api.get("/api/v1/nowhere"),
        await api.delete("/api/v1/meetings"),
        await api.patch(meeting_path(meeting["id"]), json={"title": ""}),
        await api.post("/api/v1/meetings", data=b"{", headers={"Content-Type": "application/json"}),
    ]
    ids = [answer.headers.get("X-Request-Id", "") for answer in answers]
    for answer, request_id in zip(answers, ids, strict=False):
        assert SAFE_REQUEST_ID.match(request_id), answer
        if answer.content_type == "application/problem+json":
            assert answer.json["request_id"] == request_id
    assert len(set(ids)) == len(ids)


async def test_a_safe_incoming_request_id_is_echoed(api: Api) -> None:
    for incoming in ("case-system.4711_abc", "0f8e2c1a9b7d4e3f8a6b5c4d3e2f1a0b", "A" * 64):
        answer = await api.get(
            "/api/v1/meetings/00000000-0000-4000-8000-000000000000", headers={"X-Request-Id": incoming}
        )
        assert answer.status == 404
        assert answer.headers["X-Request-Id"] == incoming
        assert answer.json["request_id"] == incoming


async def test_an_unsafe_incoming_request_id_is_replaced(api: Api) -> None:
    for incoming in (
        "short",
        "A" * 65,
        "<script>alert(1)</script>",
        "id with spaces",
        "../../etc/passwd",
        "abc;def=ghi,jkl",
        "åäöåäöåäö",
    ):
        answer = await api.get("/api/v1/meetings", headers={"X-Request-Id": incoming})
        assert answer.status == 200
        replaced = answer.headers["X-Request-Id"]
        assert replaced != incoming
        assert SAFE_REQUEST_ID.match(replaced)


async def test_api_answers_carry_security_headers(api: Api) -> None:
    meeting = await api.create_meeting()
    answers = [
        await api.get(meeting_path(meeting["id"])),
        await api.post("/api/v1/meetings", json=api.meeting_body()),
        await api.get(meeting_path(meeting["id"]), org=None),
        await api.get("/api/v1/meetings/00000000-0000-4000-8000-000000000000"),
        await api.patch(meeting_path(meeting["id"]), json={"title": None}),
        await api.delete("/api/v1/meetings"),
        await api.get("/api/v1/nowhere"),
        await api.get("/api/v1/openapi.json", org=None),
    ]
    for answer in answers:
        for name, value in API_SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (name, answer)
        policy = answer.headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, answer


# Production: HTTPS, security headers on every answer, metrics and the Server header -------------


@pytest_asyncio.fixture
async def production_like(sqlite_template: SqliteTemplate, keys_dir: Path) -> AsyncIterator[RunningService]:
    """The service as production runs it: reached at an https address, Secure cookies. The test
    talks plain HTTP to it, as the TLS-ending proxy in front of it does."""
    settings = make_settings(
        sqlite_template.clone(),
        keys_dir,
        server={"public_url": "https://sip-mote.example.se"},
        security={"secure_cookies": True},
    )
    service = await start_service(settings, SettableClock())
    yield service
    await service.close()


async def _answers(service: RunningService) -> dict[str, aiohttp.ClientResponse]:
    """One answer of each kind: a page, a redirect, an error page, problem+json (401, 404, 405,
    415), a static file, the figures."""
    requests = {
        "page": ("GET", "/", {}),
        "redirect": ("GET", "/language?lang=en&next=/", {}),
        "error page": ("GET", "/nowhere", {}),
        "form refused": ("POST", "/identify", {"headers": {"Content-Type": "text/plain"}}),
        "api 401": ("GET", "/api/v1/meetings", {}),
        "api 404": ("GET", "/api/v1/nowhere", {}),
        "api 405": ("DELETE", "/api/v1/meetings", {}),
        "api 415": ("POST", "/api/v1/meetings", {"data": b"{}", "headers": {"Content-Encoding": "br"}}),
        "static": ("GET", "/static/app.css", {}),
        "metrics": ("GET", "/metrics", {}),
    }
    answers = {}
    for name, (method, path, kwargs) in requests.items():
        async with service.http.request(method, path, allow_redirects=False, **kwargs) as response:
            await response.read()
            answers[name] = response
    return answers


async def test_production_answers_carry_hsts_and_every_security_header_redirects_and_errors_included(
    production_like: RunningService,
) -> None:
    answers = await _answers(production_like)
    assert answers["redirect"].status == 303
    for name, answer in answers.items():
        for header, value in SECURITY_HEADERS.items():
            assert answer.headers.get(header) == value, (name, header)
        assert answer.headers.get("Strict-Transport-Security") == "max-age=63072000", name
        assert SAFE_REQUEST_ID.match(answer.headers.get("X-Request-Id", "")), name
    for name in ("api 401", "api 404", "api 405", "api 415"):
        assert answers[name].headers["Content-Type"].startswith("application/problem+json"), name
        assert "default-src 'none'" in answers[name].headers["Content-Security-Policy"], name
    # The language cookie, like the session's, is sent over HTTPS only.
    cookie = answers["redirect"].cookies["meetsvc_lang"]
    assert cookie.value == "en"
    assert cookie["secure"] and cookie["httponly"]


async def test_hsts_is_sent_only_where_people_arrive_over_https(service: RunningService) -> None:
    """Over plain HTTP (development) the header would mean nothing, or pin a name to HTTPS."""
    for answer in (await _answers(service)).values():
        assert "Strict-Transport-Security" not in answer.headers
        assert answer.headers["X-Frame-Options"] == "DENY"


async def test_no_answer_names_the_server_software_or_its_version(production_like: RunningService) -> None:
    answers = await _answers(production_like)
    for name, answer in answers.items():
        assert answer.headers.get("Server", "meetsvc") == "meetsvc", name
    # A request aiohttp cannot even parse is answered before the application sees it.
    reader, writer = await asyncio.open_connection(
        production_like.settings.server.host, production_like.settings.server.port
    )
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nBroken header line\r\n\r\n")
    await writer.drain()
    head = (await asyncio.wait_for(reader.read(4096), WAIT_SECONDS)).decode("latin-1")
    writer.close()
    assert head.split("\r\n", 1)[0].endswith(" 400 Bad Request"), head
    assert "aiohttp" not in head.lower() and "python" not in head.lower(), head


async def _metrics_status(service: RunningService, headers: dict[str, str] | None = None) -> int:
    async with service.http.get("/metrics", headers=headers or {}) as response:
        await response.read()
        return response.status


async def test_metrics_are_served_to_the_allowed_addresses_only(
    sqlite_template: SqliteTemplate, keys_dir: Path
) -> None:
    """Loopback by default: where no proxy stands in front to refuse /metrics, the figures (routes,
    error rates, the schedule) are still not for anyone on the network."""
    default = await start_service(make_settings(sqlite_template.clone(), keys_dir), SettableClock())
    elsewhere = await start_service(
        make_settings(sqlite_template.clone(), keys_dir, server={"metrics_allow": ["192.0.2.0/24"]}), SettableClock()
    )
    proxied = await start_service(
        make_settings(
            sqlite_template.clone(),
            keys_dir,
            server={"metrics_allow": ["192.0.2.0/24"], "trusted_proxies": ["127.0.0.1"]},
        ),
        SettableClock(),
    )
    try:
        assert default.settings.server.metrics_allow == ("127.0.0.1", "::1")
        assert await _metrics_status(default) == 200
        # Forwarded by a proxy it does not trust: whoever it came from, not loopback.
        assert await _metrics_status(default, {"X-Forwarded-For": "127.0.0.1"}) == 403
        assert await _metrics_status(default, {"Forwarded": "for=127.0.0.1"}) == 403

        async with elsewhere.http.get("/metrics") as response:
            assert response.status == 403
            assert response.content_type == "application/problem+json"
            body = await response.json(content_type="application/problem+json")
            assert "server.metrics_allow" in body["detail"]
            assert "meetsvc_http_requests_total" not in await response.text()

        # Through a trusted proxy, the address it forwards for is the one judged.
        assert await _metrics_status(proxied, {"X-Forwarded-For": "192.0.2.7"}) == 200
        assert await _metrics_status(proxied, {"X-Forwarded-For": "203.0.113.9"}) == 403
        assert await _metrics_status(proxied) == 403
    finally:
        for service in (default, elsewhere, proxied):
            await service.close()
