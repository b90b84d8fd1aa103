"""Redis goes away under two real service processes logging JSON: the log stays one JSON object
a line, and notices flow again about a second after Redis is back.

Each process runs ``meetsvc serve`` with ``logging.format = "json"`` at INFO, the schedule on, and
its log stream (stderr) in a file of its own; the host's console is on one process and the
participants' pages on the other, so every notice between them crosses Redis. While Redis is away
the host admits one person and messages the waiting room ten times a second. Every line each
process logged must parse as a JSON object, none with a traceback, and the outage is reported in
a few WARNING lines rather than one (or two) per lost notice.

It prints how long after Redis came back a new admission reached the other process's page.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.scale.faults import REDIS_SERVER, RedisServer
from tests.scale.processes import (
    ServiceProcess,
    Shared,
    add_participant,
    book,
    build_deployment,
    free_ports,
    host_socket,
    open_invitation,
    participant_socket,
    running,
)

pytestmark = pytest.mark.slow

#: How long Redis stays away: as long as the outage the fault run reported figures for.
OUTAGE_SECONDS = 10.0


async def unverified_ticket(page: Any) -> str:
    async with page.http.post(f"{page.url}/lobby/ticket?unverified=1", headers={"X-CSRF-Token": page.csrf}) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["ticket"]


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of a log stream as a JSON object; fails naming the first line that is not one."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"{path.name} line {number} is not JSON: {line!r}")
        assert isinstance(record, dict), f"{path.name} line {number} is not an object: {line!r}"
        found.append(record)
    return found


@pytest.mark.timeout(240)
async def test_a_redis_outage_keeps_the_log_json_and_notices_flow_again_within_a_second_or_two(
    postgres_database: str, tmp_path: Path
) -> None:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    redis = RedisServer(tmp_path / "redis")
    await redis.start()
    shared = Shared(
        database_url=postgres_database,
        keys_dir=tmp_path / "keys",
        certs_dir=tmp_path / "bankid-simulator",
        redis_url=redis.url,
        redis_channel=f"meetsvc-test-{uuid.uuid4().hex}",
    )
    await asyncio.to_thread(shared.prepare)
    deployment = await build_deployment(shared)
    port = free_ports(2)
    json_logs = {
        "logging": {"level": "INFO", "format": "json"},
        "schedule": {"enabled": True, "sync_seconds": 1.0, "leader_retry_seconds": 1.0},
    }
    hosts_side = ServiceProcess(shared.config(port, None, **json_logs), tmp_path, "hosts", separate_stderr=True)
    pages_side = ServiceProcess(shared.config(port + 1, None, **json_logs), tmp_path, "pages", separate_stderr=True)
    sockets = []
    pages = []
    try:
        async with running(hosts_side, pages_side):
            host_url, page_url = hosts_side.urls[0], pages_side.urls[0]
            meeting = await book(deployment, host_url, datetime.now(UTC) + timedelta(minutes=10))
            host = await host_socket(host_url, deployment.host_cookie, meeting["id"])
            sockets.append(host)
            people = []
            for index in range(3):
                person = await add_participant(deployment, host_url, meeting["id"], display_name=f"Deltagare {index}")
                page = await open_invitation(deployment, page_url, person)
                pages.append(page)
                socket = await participant_socket(page_url, await unverified_ticket(page))
                sockets.append(socket)
                await socket.wait_for("state", lambda d: d["state"] == "waiting")
                people.append((person["id"], socket))
            for participant_id, _ in people:  # arrivals crossed Redis to the host's process
                await host.wait_for("participant", lambda e, p=participant_id: e["participant_id"] == p)

            await redis.stop()
            (first, first_page), (second, second_page), _ = people
            assert (await host.call("admit", {"participant_id": first})) == {"ok": True}
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            messages = 0
            while time.monotonic() < outage_ends:  # ten notices a second, each lost with Redis
                assert (await host.call("message", {"text": "Vi börjar strax."})) == {"ok": True}
                messages += 1
                await asyncio.sleep(0.1)  # the pace of the load, not a wait for anything

            await redis.start()
            back = time.monotonic()
            # The admission made during the outage reaches its page (caught up from the
            # database), and a new one crosses between the processes live.
            await first_page.wait_for("state", lambda d: d["state"] == "admitted")
            await first_page.wait_for("credential")
            caught_up = time.monotonic() - back
            assert (await host.call("admit", {"participant_id": second})) == {"ok": True}
            await second_page.wait_for("state", lambda d: d["state"] == "admitted")
            flowing = time.monotonic() - back
            print(
                f"after a {OUTAGE_SECONDS:.0f} s Redis outage ({messages} notices lost meanwhile): the admission made "
                f"during it reached its page {caught_up:.1f} s after Redis was back, and notices flowed again "
                f"(a new admission reached the other process's page) {flowing:.1f} s after"
            )
    finally:
        for socket in sockets:
            await socket.close()
        for page in pages:
            await page.close()
        await redis.stop()

    for process in (hosts_side, pages_side):
        assert process.stderr_path is not None
        logged = records(process.stderr_path)
        assert logged, f"{process.stderr_path.name} is empty"
        assert not [r for r in logged if "exc_info" in r], "a traceback was logged for an outage"
        assert not [r for r in logged if r["level"] in ("ERROR", "CRITICAL")], [
            r for r in logged if r["level"] in ("ERROR", "CRITICAL")
        ]
        warnings = Counter(r["message"] for r in logged if r["level"] == "WARNING")
        assert sum(warnings.values()) <= 5, f"an outage is a few WARNING lines, not one a notice: {warnings}"
        assert not [r for r in logged if r["logger"].startswith("apscheduler") and r["level"] == "INFO"]
