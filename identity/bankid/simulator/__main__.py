"""``python -m identity.bankid.simulator``: run the BankID simulator until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from identity.bankid.simulator.app import start_simulator
from identity.bankid.simulator.state import SimulatorSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m identity.bankid.simulator",
        description="Serve a simulated BankID RP API v6.0 (HTTPS, mutual TLS) and a page that plays the BankID app.",
    )
    parser.add_argument(
        "--certs",
        type=Path,
        default=Path("var/bankid-simulator"),
        help="directory for the test CA and certificates (created if missing, reused if valid)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address of the RP API listener")
    parser.add_argument(
        "--port", type=int, default=8443, help="port of the RP API (HTTPS, client certificate required)"
    )
    parser.add_argument(
        "--app-host",
        default="127.0.0.1",
        help="address of the app page and /sim control API (plain HTTP; keep it on loopback)",
    )
    parser.add_argument("--app-port", type=int, default=8444, help="port of the app page and /sim control API")
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=30.0,
        help="seconds an order may wait to be picked up before it fails with startFailed",
    )
    parser.add_argument(
        "--order-ttl",
        type=float,
        default=180.0,
        help="seconds after which a pending order fails with expiredTransaction",
    )
    parser.add_argument("--verbose", action="store_true", help="log every order transition")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    settings = SimulatorSettings(start_timeout=args.start_timeout, order_ttl=args.order_ttl)
    asyncio.run(_serve(args, settings))


async def _serve(args: argparse.Namespace, settings: SimulatorSettings) -> None:
    simulator = await start_simulator(
        args.certs, args.host, args.port, args.app_port, app_host=args.app_host, settings=settings
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"BankID RP API v6.0 : {simulator.api_url}  (HTTPS, client certificate required)")
    print(f"  trust this CA    : {simulator.ca_path}")
    print(f"  client cert/key  : {simulator.client_cert_path}  {simulator.client_key_path}")
    print(f"BankID app page    : {simulator.app_url}  (autostart: {simulator.app_url}?autostarttoken=<token>)")
    print(f"control API        : {simulator.control_url}")
    print("Press Ctrl+C to stop.", flush=True)
    try:
        await stop.wait()
    finally:
        await simulator.close()


if __name__ == "__main__":
    main()
