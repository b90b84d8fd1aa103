"""What the platform running the service sees: health, readiness, metrics, request ids, headers."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.api.helpers import Api, meeting_path, participant_path, token_of
from tests.support.service import RunningService, SettableClock, make_settings, start_service

SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
API_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
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
