"""How much of the client process N BankID identifications in flight cost, through ONE CollectLoop.

For each N (100, 1,000, 5,000 by default) the benchmark starts N auth orders against the BankID
simulator, watches them all in one :class:`~identity.bankid.collector.CollectLoop` at BankID's
pace (one collect per order every 2 s), and lets each complete at a random moment: before the
round, the simulator's control API is told how many pending answers each order gives before it
completes (1–4, at random), so completions land at random collects without the benchmark
process doing anything at that moment.

It reports the client process's CPU seconds per identification (``time.process_time``: the auth
call, every collect, the loop's bookkeeping) and the collect loop's lag (how late each collect
started versus its due time, p50/p90/p99). The simulator runs in a subprocess
(``python -m identity.bankid.simulator``) so its CPU is not counted.

The floor is measured in the same run, interleaved round by round with the subject: as many
plain HTTPS round trips (POST /collect of one pending order, body read, nothing parsed) as the
identification round made, over the same connection pool at the same concurrency. CPU per
identification divided by round trips per identification, against the floor per request, shows
what the client and the loop add on top of the transport.

Usage::

    .venv/bin/python bench/identify.py            # N = 100, 1000, 5000
    .venv/bin/python bench/identify.py --quick    # N = 100, 1000, one round each
    .venv/bin/python bench/identify.py --n 2000,3000 --rounds 3

The last line printed is a JSON array, one object per N.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from identity.bankid.client import AuthRequest, BankIdClient, BankIdConfig, RetryPolicy
from identity.bankid.collector import CollectLoop
from identity.bankid.provider import BankIdProvider
from identity.bankid.simulator import TEST_PERSONS
from identity.base import OrderState, StartRequest

INTERVAL = 2.0  # BankID: collect every two seconds
LOOP_CONCURRENCY = 64
START_CONCURRENCY = 64
MAX_CONNECTIONS = 128
ROUND_TIMEOUT = 120.0


@dataclass(slots=True)
class SimulatorProcess:
    process: asyncio.subprocess.Process
    api_url: str
    control_url: str
    ca: Path
    client_cert: Path
    client_key: Path

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_simulator(certs: Path) -> SimulatorProcess:
    """Run ``python -m identity.bankid.simulator`` on free ports and read where it listens."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "identity.bankid.simulator",
        "--certs",
        str(certs),
        "--port",
        "0",
        "--app-port",
        "0",
        "--order-ttl",
        "600",
        cwd=str(ROOT),
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    lines: list[str] = []
    while True:
        raw = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        if not raw:
            raise RuntimeError("the simulator exited early:\n" + "".join(lines))
        line = raw.decode()
        lines.append(line)
        if line.startswith("Press Ctrl+C"):
            break
    text = "".join(lines)

    def find(pattern: str) -> str:
        match = re.search(pattern, text, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"cannot read {pattern!r} from the simulator's banner:\n{text}")
        return match.group(1)

    cert_line = find(r"client cert/key\s*:\s*(.+)$").split()
    return SimulatorProcess(
        process=process,
        api_url=find(r"BankID RP API v6\.0\s*:\s*(\S+)"),
        control_url=find(r"control API\s*:\s*(\S+)"),
        ca=Path(find(r"trust this CA\s*:\s*(\S+)")),
        client_cert=Path(cert_line[0]),
        client_key=Path(cert_line[1]),
    )


class Control:
    """The simulator's plain-HTTP /sim API."""

    def __init__(self, base: str, session: aiohttp.ClientSession) -> None:
        self._base = base
        self._session = session

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self._session.post(self._base + path, json=body) as response:
            data = await response.json(content_type=None)
            if response.status != 200:
                raise RuntimeError(f"/sim/{path}: {response.status} {data}")
            return data


@dataclass(slots=True)
class RoundResult:
    identifications: int
    cpu_s: float
    wall_s: float
    round_trips: int
    floor_cpu_s: float
    floor_requests: int


async def plan_outcomes(control: Control, n: int, rng: random.Random) -> None:
    """Each next order answers pending 1–4 times, then completes for a random test person."""
    semaphore = asyncio.Semaphore(32)

    async def plan() -> None:
        async with semaphore:
            await control.post(
                "next-order",
                {
                    "outcome": "complete",
                    "personalNumber": rng.choice(TEST_PERSONS).personal_number,
                    "afterCollects": rng.randint(1, 4),
                },
            )

    await asyncio.gather(*(plan() for _ in range(n)))


async def identification_round(provider: BankIdProvider, collect_loop: CollectLoop, n: int) -> tuple[float, float, int]:
    """Start n orders and wait until the loop saw each complete. Returns CPU, wall, round trips."""
    semaphore = asyncio.Semaphore(START_CONCURRENCY)
    collects_before = collect_loop.collects

    async def identify(index: int) -> None:
        async with semaphore:
            order = await provider.start(StartRequest(end_user_ip=f"192.0.2.{index % 250 + 1}"))
        status = await collect_loop.watch(order.order_ref)
        if status.state is not OrderState.COMPLETE or status.identity is None:
            raise RuntimeError(f"order ended {status.state.value} ({status.hint_code})")

    cpu0, wall0 = time.process_time(), time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(identify(i) for i in range(n))), timeout=ROUND_TIMEOUT)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    round_trips = n + (collect_loop.collects - collects_before)
    return cpu1 - cpu0, wall1 - wall0, round_trips


async def floor_round(client: BankIdClient, control: Control, requests: int) -> float:
    """Plain HTTPS round trips over the same pool at the loop's concurrency. Returns CPU seconds."""
    order = await client.auth(_auth_body())
    # Picked up by the app, so it stays pending (and collectable) for the whole round.
    await control.post("autostart", {"autoStartToken": order.auto_start_token})
    url = f"{client.base_url}/collect"
    payload = json.dumps({"orderRef": order.order_ref}).encode()
    headers = {"Content-Type": "application/json"}
    session = client.session
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            async with session.post(url, data=payload, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"floor request answered {response.status}")

    cpu0 = time.process_time()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(LOOP_CONCURRENCY))), timeout=ROUND_TIMEOUT)
    cpu = time.process_time() - cpu0
    await client.cancel(order.order_ref)
    return cpu


def _auth_body() -> AuthRequest:
    return AuthRequest(end_user_ip="192.0.2.1")


async def measure(n: int, rounds: int, client: BankIdClient, control: Control, rng: random.Random) -> dict[str, Any]:
    provider = BankIdProvider(client)
    results: list[RoundResult] = []
    async with CollectLoop(provider, interval=INTERVAL, concurrency=LOOP_CONCURRENCY) as collect_loop:
        for _ in range(rounds):
            await plan_outcomes(control, n, rng)
            cpu, wall, round_trips = await identification_round(provider, collect_loop, n)
            floor_cpu = await floor_round(client, control, round_trips)
            results.append(RoundResult(n, cpu, wall, round_trips, floor_cpu, round_trips))
        lag = collect_loop.lag_stats()

    cpu_per_id = statistics.median(r.cpu_s / r.identifications for r in results)
    floor_per_request = statistics.median(r.floor_cpu_s / r.floor_requests for r in results)
    trips_per_id = statistics.median(r.round_trips / r.identifications for r in results)
    wall = statistics.median(r.wall_s for r in results)
    print(
        f"N={n:>5}: {cpu_per_id * 1000:7.3f} ms CPU/identification "
        f"({trips_per_id:.2f} round trips each, {cpu_per_id / trips_per_id * 1000:.3f} ms/round trip) | "
        f"floor {floor_per_request * 1000:.3f} ms CPU/round trip | "
        f"lag p50 {lag.p50_ms:.1f} p90 {lag.p90_ms:.1f} p99 {lag.p99_ms:.1f} max {lag.max_ms:.1f} ms "
        f"({lag.count} collects) | round wall {wall:.1f} s",
        flush=True,
    )
    return {
        "pending": n,
        "cpu_s_per_identification": round(cpu_per_id, 6),
        "collect_lag_p50_ms": round(lag.p50_ms, 2),
        "collect_lag_p99_ms": round(lag.p99_ms, 2),
        "floor_cpu_s_per_request": round(floor_per_request, 6),
        "collect_lag_p90_ms": round(lag.p90_ms, 2),
        "round_trips_per_identification": round(trips_per_id, 2),
    }


async def main(sizes: list[int], rounds: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-bankid-") as certs:
        simulator = await start_simulator(Path(certs))
        try:
            config = BankIdConfig(
                client_cert=simulator.client_cert,
                client_key=simulator.client_key,
                ca_cert=simulator.ca,
                base_url=simulator.api_url,
                max_connections=MAX_CONNECTIONS,
                retry=RetryPolicy(attempts=1),
            )
            async with await BankIdClient.open(config) as client, aiohttp.ClientSession() as plain:
                control = Control(simulator.control_url, plain)
                print(
                    f"simulator in a subprocess (pid {simulator.process.pid}); client CPU only; "
                    f"interval {INTERVAL}s, loop concurrency {LOOP_CONCURRENCY}",
                    flush=True,
                )
                await measure(min(50, min(sizes)), 1, client, control, rng)  # warm-up, not reported
                return [await measure(n, rounds, client, control, rng) for n in sizes]
        finally:
            await simulator.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", help="comma-separated numbers of identifications in flight (default 100,1000,5000)")
    parser.add_argument("--quick", action="store_true", help="N = 100,1000 and one round each")
    parser.add_argument("--rounds", type=int, help="interleaved subject/floor rounds per N (default 2, quick 1)")
    parser.add_argument("--seed", type=int, default=int(uuid.uuid4().int % 10_000))
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse_args()
    if args.n:
        sizes = [int(part) for part in args.n.split(",") if part.strip()]
    elif args.quick:
        sizes = [100, 1000]
    else:
        sizes = [100, 1000, 5000]
    rounds = args.rounds or (1 if args.quick else 2)
    report = asyncio.run(main(sizes, rounds, args.seed))
    print(json.dumps(report))
