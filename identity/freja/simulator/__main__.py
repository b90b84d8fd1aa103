"""``python -m identity.freja.simulator``: run the Freja eID simulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

from identity.freja.simulator.app import start_freja_simulator
from identity.freja.simulator.state import SimulatorSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m identity.freja.simulator", description=__doc__)
    parser.add_argument("--certs", type=Path, default=Path("var/freja-simulator"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8445, help="relying-party API (HTTPS, client certificate)")
    parser.add_argument("--app-port", type=int, default=8082, help="app page and /sim control API (plain HTTP)")
    parser.add_argument("--order-ttl", type=float, default=120.0)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args, SimulatorSettings(order_ttl=args.order_ttl)))


async def _serve(args: argparse.Namespace, settings: SimulatorSettings) -> None:
    simulator = await start_freja_simulator(args.certs, args.host, args.port, args.app_port, settings=settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"Freja eID RP API : {simulator.api_url}  (HTTPS, client certificate required)")
    print(f"  trust this CA  : {simulator.ca_path}")
    print(f"  client cert/key: {simulator.client_cert_path}  {simulator.client_key_path}")
    print(f"  signing cert   : {simulator.signing_cert_path}")
    print(f"app page         : {simulator.app_url}", flush=True)
    try:
        await stop.wait()
    finally:
        await simulator.close()


if __name__ == "__main__":
    main()
