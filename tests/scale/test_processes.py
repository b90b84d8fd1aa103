"""Several real service processes, as production runs them: ``meetsvc serve`` with
``server.processes = 2`` supervising two workers on one PostgreSQL database and one Redis.

A participant waits on one process while hosts act on the other: what one side does reaches
the other through the database and Redis alone. The supervisor starts a worker that dies again,
stops all workers with itself, and leaves none behind when it is killed.
"""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import psutil
import pytest

from tests.scale.processes import (
    ServiceProcess,
    Shared,
    add_participant,
    book,
    build_deployment,
    free_ports,
    host_socket,
    identify,
    lobby_ticket,
    open_invitation,
    participant_socket,
    running,
    wait_ready,
)
from tests.support.lobby import PERSONS
from tests.support.timing import WAIT_SECONDS

# Several service processes (or a Redis of their own): slow; `-m "not slow"` leaves them out.
pytestmark = pytest.mark.slow


def supervisor(shared: Shared, tmp_path: Path, processes: int = 2) -> ServiceProcess:
    """``meetsvc serve`` with ``server.processes``; no ``server.public_url``, so the workers rely
    on the supervisor to give them one address (else a ticket from one is refused by another)."""
    config = shared.config(free_ports(processes), None, server={"processes": processes})
    return ServiceProcess(config, tmp_path, "supervisor")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not [pid for pid in pids if _alive(pid)]:
            return True
        await asyncio.sleep(0.1)
    return False


async def test_a_participant_on_one_process_is_seen_admitted_messaged_and_removed_by_hosts_on_the_other(
    shared: Shared, tmp_path: Path
):
    service = supervisor(shared, tmp_path)
    async with running(service):
        a, b = service.urls
        deployment = await build_deployment(shared)
        meeting = await book(deployment, b, datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=10))
        host_on_b = await host_socket(b, deployment.host_cookie, meeting["id"])
        host_on_a = await host_socket(a, deployment.host_cookie, meeting["id"])
        participant = await add_participant(deployment, b, meeting["id"], personal_number=PERSONS[0])
        page = await open_invitation(deployment, a, participant)
        sockets = [host_on_a, host_on_b]
        try:
            await identify(page, PERSONS[0])
            # The ticket comes from B, the socket goes to A: a proxy may send each anywhere.
            kim = await participant_socket(a, await lobby_ticket(page, b))
            sockets.append(kim)
            await kim.wait_for("state", lambda s: s["state"] == "waiting")

            # Arrived on A: the host on B hears of it, with the name BankID vouched for.
            entry = await host_on_b.wait_for("participant", lambda e: e["participant_id"] == page.participant_id)
            assert entry["state"] == "waiting" and entry["verified_name"] == "Erik Lindqvist"
            assert entry["matches_invitation"] is True
            for host in (host_on_b, host_on_a):
                listing = await host.call("list")
                assert [p["participant_id"] for p in listing["participants"]] == [page.participant_id]

            # A message from B reaches the participant on A.
            assert (
                await host_on_b.call("message", {"participant_id": page.participant_id, "text": "Strax börjar vi"})
            )["ok"]
            await kim.wait_for("state", lambda s: s["message"] == "Strax börjar vi")

            # Admitted on B: the participant on A is let in, with a video credential of its own, and
            # the host on A sees the new state too.
            admitted_at = time.monotonic()
            assert (await host_on_b.call("admit", {"participant_id": page.participant_id}))["ok"] is True
            await kim.wait_for("state", lambda s: s["state"] == "admitted")
            took = time.monotonic() - admitted_at
            credential = await kim.wait_for("credential")
            assert credential["join_url"] and credential["expires_at"]
            await host_on_a.wait_for(
                "participant",
                lambda e: e["participant_id"] == page.participant_id and e["state"] == "admitted",
            )
            # How fast is for bench/ to measure; here it is enough that the notice crossed.
            print(f"admit reached the participant on the other process in {took * 1000:.0f} ms")

            # Removed on B: the participant on A hears it and is out.
            assert (await host_on_b.call("remove", {"participant_id": page.participant_id}))["ok"] is True
            await kim.wait_for("state", lambda s: s["state"] == "removed")
            await host_on_a.wait_for(
                "participant",
                lambda e: e["participant_id"] == page.participant_id and e["state"] == "removed",
            )
            listing = await host_on_a.call("list")
            assert [p["state"] for p in listing["participants"]] == ["removed"]
        finally:
            for socket in sockets:
                await socket.close()
            await page.close()


async def test_the_supervisor_restarts_a_dead_worker_and_stops_every_worker_on_sigterm(shared: Shared, tmp_path: Path):
    service = supervisor(shared, tmp_path)
    async with running(service):
        workers = service.workers()
        assert len(workers) == 2
        first_pids = sorted(w.pid for w in workers)

        victim = workers[1]
        victim.send_signal(signal.SIGKILL)
        assert await gone([victim.pid], WAIT_SECONDS)
        async with aiohttp.ClientSession() as http:
            for url in service.urls:  # both ports answer again: the dead worker was started anew
                await wait_ready(http, url, time.monotonic() + 4 * WAIT_SECONDS, service)
        workers = service.workers()
        assert len(workers) == 2 and victim.pid not in {w.pid for w in workers}
        assert "exited unexpectedly (killed by SIGKILL); starting it again" in service.log_path.read_text()

        service.signal(signal.SIGTERM)
        assert await service.wait(timeout=4 * WAIT_SECONDS) == 0
        assert await gone([w.pid for w in workers] + first_pids, WAIT_SECONDS), "a worker outlived its supervisor"


async def test_workers_do_not_outlive_a_supervisor_killed_without_warning(shared: Shared, tmp_path: Path):
    service = supervisor(shared, tmp_path)
    async with running(service):
        pids = [w.pid for w in service.workers()]
        assert len(pids) == 2
        service.signal(signal.SIGKILL)
        await service.wait(timeout=WAIT_SECONDS)
        assert await gone(pids, 2 * WAIT_SECONDS), "orphaned workers still run"
        async with aiohttp.ClientSession() as http:
            for url in service.urls:  # nothing listens on the workers' ports any more
                with pytest.raises((aiohttp.ClientError, OSError)):
                    await http.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=1))
