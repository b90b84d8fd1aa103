"""A database or Redis that is away is answered clearly, never as a 500, and recovered from.

The database is PostgreSQL reached through a proxy the test cuts (``tests/scale/faults.py``):
the API answers 503 problem+json with ``Retry-After``, pages a readable 503 page in the
person's language, a socket event an ``unavailable`` answer, a socket connection a refusal with
that reason; ``/readyz`` names what is missing and ``/healthz`` stays green. When the proxy
listens again the very next request succeeds. The whole story, with Redis and two processes
during a meeting, is ``tests/scale/test_faults.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import socketio
from sqlalchemy import exc as sa, text

from meetsvc.storage.availability import DatabaseUnreachable, database_unavailable, unavailable_dependency
from meetsvc.storage.engine import create_engine
from tests.conftest import World
from tests.scale.faults import PostgresCut, unused_port
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.lobby import book, host_cookie, host_socket
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

LOCALES = Path(__file__).resolve().parents[1] / "meetsvc" / "http" / "pages" / "locales"


@pytest_asyncio.fixture
async def service(
    postgres_template: PostgresTemplate, postgres_cut: PostgresCut, keys_dir: Path, clock: SettableClock
) -> AsyncIterator[RunningService]:
    """The service on a fresh PostgreSQL database, through the proxy (``world`` is built on it)."""
    url = await postgres_template.clone()
    running = await start_service(make_settings(postgres_cut.url_for(url), keys_dir), clock)
    yield running
    await running.close()
    await postgres_template.drop(url.rsplit("/", 1)[1])


async def answer(service: RunningService, method: str, path: str, **kwargs: Any) -> tuple[int, Any, str]:
    async with service.http.request(method, path, **kwargs) as response:
        return response.status, response.headers, await response.text()


def assert_unavailable(status: int, headers: Any, body: str) -> dict[str, Any]:
    assert status == 503, body
    assert headers["Content-Type"].startswith("application/problem+json")
    assert headers["Retry-After"].isdigit() and int(headers["Retry-After"]) > 0
    problem = json.loads(body)
    assert problem["type"] == "urn:meetsvc:problem:service-unavailable"
    assert problem["status"] == 503 and problem["title"] and problem["detail"]
    assert problem["request_id"] == headers["X-Request-Id"]
    for leak in ("Traceback", "asyncpg", "sqlalchemy", "Refused", "127.0.0.1"):
        assert leak.lower() not in body.lower(), leak
    return problem


async def test_the_api_answers_503_problem_json_and_the_next_request_after_recovery_succeeds(
    world: World, postgres_cut: PostgresCut
) -> None:
    service, auth = world.service, world.auth(world.municipality)
    meeting = await book(world)
    path = f"/api/v1/meetings/{meeting['id']}"
    await postgres_cut.cut()
    assert_unavailable(*await answer(service, "GET", path, headers=auth))
    new_participant = {"role": "guardian", "display_name": "Ny Person", "email": "ny@example.se"}
    assert_unavailable(*await answer(service, "POST", f"{path}/participants", json=new_participant, headers=auth))
    # Even a request the API would refuse as malformed gets 503 when the key cannot be checked.
    assert_unavailable(*await answer(service, "POST", "/api/v1/meetings", data=b"{", headers=auth))

    # As the API's own document says every authenticated operation may answer.
    async with service.http.get("/api/v1/openapi.json") as document:
        operations = (await document.json())["paths"]
    for documented_path, method in (
        ("/api/v1/meetings/{meeting_id}", "get"),
        ("/api/v1/meetings/{meeting_id}/participants", "post"),
    ):
        declared = operations[documented_path][method]["responses"]["503"]
        assert "application/problem+json" in declared["content"] and "Retry-After" in declared["headers"]

    await postgres_cut.restore()
    # The pool's connections were all cut; they are replaced as they are taken, so no request fails.
    status, _, body = await answer(service, "GET", path, headers=auth)
    assert status == 200, body
    status, _, body = await answer(service, "POST", f"{path}/participants", json=new_participant, headers=auth)
    assert status == 201, body


@pytest.mark.parametrize("language", ["sv", "en"])
async def test_a_page_answers_a_readable_503_in_the_persons_language(
    world: World, postgres_cut: PostgresCut, language: str
) -> None:
    texts = json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8"))
    await postgres_cut.cut()
    status, headers, body = await answer(
        world.service, "GET", "/j/" + "x" * 43, headers={"Accept": "text/html", "Cookie": f"meetsvc_lang={language}"}
    )
    assert status == 503
    assert headers["Content-Type"].startswith("text/html")
    assert int(headers["Retry-After"]) > 0
    assert "Content-Security-Policy" in headers
    assert f'<html lang="{language}">' in body
    assert f"<h1>{texts['unavailable.title']}</h1>" in body
    assert texts["unavailable.waiting"] in body
    assert "Traceback" not in body


async def test_readiness_names_the_database_and_liveness_stays_up(world: World, postgres_cut: PostgresCut) -> None:
    await postgres_cut.cut()
    status, _, body = await answer(world.service, "GET", "/readyz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "database": "DatabaseUnreachable"}
    status, _, body = await answer(world.service, "GET", "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    await postgres_cut.restore()
    status, _, body = await answer(world.service, "GET", "/readyz")
    assert status == 200 and json.loads(body) == {"status": "ok", "database": "ok"}


async def test_a_host_gets_an_unavailable_answer_and_the_retry_succeeds(
    world: World, postgres_cut: PostgresCut
) -> None:
    meeting = await book(world)
    cookie = await host_cookie(world, world.hosts[world.municipality.id])
    host = await host_socket(world, cookie, meeting["id"])
    try:
        await postgres_cut.cut()
        answered = await host.call("list")
        assert answered["ok"] is False and answered["error"] == "unavailable" and answered["detail"], answered
        assert host.client.connected, "the console's socket stays up while the database is away"
        # A console that connects now is refused with that reason (and tries again).
        refused = socketio.AsyncClient(reconnection=False)
        reasons: list[Any] = []
        refused.on("connect_error", lambda data=None: reasons.append(data), namespace="/host")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(
                world.service.base_url,
                namespaces=["/host"],
                auth={"meeting_id": meeting["id"]},
                headers={"Cookie": f"meetsvc_session={cookie}"},
                transports=["websocket"],
                wait_timeout=WAIT_SECONDS,
            )
        await refused.disconnect()
        assert reasons == [{"message": "unavailable"}]

        await postgres_cut.restore()
        answered = await host.call("list")
        assert answered["ok"] is True, answered
    finally:
        await host.close()
    async with world.service.http.get("/metrics") as response:
        metrics = await response.text()
    assert re.search(r'meetsvc_dependency_failures_total\{dependency="database",seen_by="socket"\} [1-9]', metrics)


async def test_video_signalling_answers_unavailable_while_the_database_is_away(
    world: World, postgres_cut: PostgresCut
) -> None:
    meeting = await book(world)
    host = await host_socket(world, await host_cookie(world, world.hosts[world.municipality.id]), meeting["id"])
    credentials: list[dict[str, Any]] = []
    host.client.on("credential", credentials.append, namespace="/host")
    video = socketio.AsyncClient(reconnection=False)
    try:
        assert (await host.call("join_video")) == {"ok": True}
        token = credentials[0]["token"]
        await video.connect(
            world.service.base_url,
            namespaces=["/video"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=WAIT_SECONDS,
        )
        signal = {"to": "someone", "data": {"candidate": "x"}}
        await postgres_cut.cut()
        assert await video.call("signal", signal, namespace="/video", timeout=WAIT_SECONDS) == {
            "ok": False,
            "error": "unavailable",
        }
        late = socketio.AsyncClient(reconnection=False)
        reasons: list[Any] = []
        late.on("connect_error", lambda data=None: reasons.append(data), namespace="/video")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await late.connect(
                world.service.base_url,
                namespaces=["/video"],
                auth={"token": token},
                transports=["websocket"],
                wait_timeout=WAIT_SECONDS,
            )
        await late.disconnect()
        assert reasons == [{"message": "unavailable"}]
        await postgres_cut.restore()
        # The database answers again: the check runs, and finds no such peer.
        assert await video.call("signal", signal, namespace="/video", timeout=WAIT_SECONDS) == {
            "ok": False,
            "error": "no-such-peer",
        }
    finally:
        await video.disconnect()
        await host.close()


# Without PostgreSQL ------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def service_with_absent_redis(sqlite_template: SqliteTemplate, keys_dir: Path) -> AsyncIterator[RunningService]:
    redis_url = f"redis://:s3cret-word@127.0.0.1:{unused_port()}/0"
    running = await start_service(
        make_settings(sqlite_template.clone(), keys_dir, realtime={"redis_url": redis_url}), SettableClock()
    )
    yield running
    await running.close()


async def test_readiness_names_redis_without_its_address_or_password(service_with_absent_redis: RunningService) -> None:
    status, _, body = await answer(service_with_absent_redis, "GET", "/readyz")
    assert status == 503
    assert json.loads(body) == {"status": "unavailable", "database": "ok", "redis": "ConnectionError"}
    assert "s3cret" not in body and "127.0.0.1" not in body
    status, _, _ = await answer(service_with_absent_redis, "GET", "/healthz")
    assert status == 200


async def test_connecting_to_an_absent_database_raises_database_unreachable() -> None:
    engine = create_engine(f"postgresql+asyncpg://meetsvc@127.0.0.1:{unused_port()}/meetsvc")
    try:
        with pytest.raises(DatabaseUnreachable) as raised:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert isinstance(raised.value.__cause__, ConnectionRefusedError)
    assert "127.0.0.1" not in str(raised.value)


@pytest.mark.parametrize(
    "error, dependency",
    [
        (DatabaseUnreachable("cannot connect"), "database"),
        (sa.DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True), "database"),
        (sa.OperationalError("SELECT 1", {}, Exception("server closed the connection")), "database"),
        (sa.InterfaceError("SELECT 1", {}, Exception("connection is closed")), "database"),
        (sa.TimeoutError("QueuePool limit reached"), "database"),
        (ConnectionResetError(), "network"),
        (TimeoutError(), "network"),
        # A rule the database enforced, or a bug: not an outage.
        (sa.IntegrityError("INSERT", {}, Exception("duplicate key")), None),
        (sa.ProgrammingError("SELEC 1", {}, Exception("syntax error")), None),
        (FileNotFoundError(), None),
        (ValueError(), None),
    ],
)
def test_which_errors_mean_a_dependency_is_away(error: BaseException, dependency: str | None) -> None:
    assert unavailable_dependency(error) == dependency
    assert database_unavailable(error) is (dependency == "database")


async def test_a_redirect_is_counted_as_a_redirect_not_a_500(sqlite_template: SqliteTemplate, keys_dir: Path) -> None:
    running = await start_service(make_settings(sqlite_template.clone(), keys_dir), SettableClock())
    try:
        async with running.http.get("/language?lang=en&next=/", allow_redirects=False) as response:
            redirect = response.status
        assert 300 <= redirect < 400
        async with running.http.get("/metrics") as response:
            metrics = await response.text()
    finally:
        await running.close()
    assert f'meetsvc_http_requests_total{{method="GET",route="/language",status="{redirect}"}} 1.0' in metrics
    assert 'status="500"' not in metrics
