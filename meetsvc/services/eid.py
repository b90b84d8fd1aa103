"""The eID provider this deployment uses, opened and closed with the application.

Configuration chooses it: real BankID over mutual TLS, or (development only) the built-in BankID
simulator, started in-process on loopback with a throw-away PKI. Either way the service talks to
it through the same BankID client over HTTPS, so development exercises the production path.
One collect loop per process polls every pending order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import AsyncIterator, Callable, Protocol

from identity.base import Order, PollingIdentityProvider
from identity.bankid import messages as bankid_messages
from identity.bankid.client import BankIdClient, BankIdConfig
from identity.bankid.collector import CollectLoop
from identity.bankid.provider import BankIdProvider
from meetsvc.config import Settings

log = logging.getLogger(__name__)


class AutostartLinks(Protocol):
    def __call__(self, order: Order, return_url: str | None, mobile: bool) -> str | None: ...


@dataclass
class EidRuntime:
    """What the identification operations need from the eID side."""

    provider: PollingIdentityProvider
    loop: CollectLoop
    autostart_url: AutostartLinks
    simulator_app_url: str | None = None

    def hint_message(self, hint_code: str | None, *, pending: bool, same_device: bool, mobile: bool, language: str) -> str:
        rfa = bankid_messages.rfa_for_hint(hint_code, pending=pending, same_device=same_device, on_mobile=mobile)
        return bankid_messages.message(rfa, language)

    def error_message(self, error_code: str | None, language: str) -> str:
        return bankid_messages.message(bankid_messages.rfa_for_error(error_code or ""), language)


async def open_eid(settings: Settings, clock: Callable[[], datetime]) -> AsyncIterator[EidRuntime]:
    """Open the configured provider and its collect loop; close both on the way out."""
    simulator = None
    if settings.identity.provider == "bankid-simulator":
        from identity.bankid.simulator.app import start_simulator

        sim = settings.simulator
        simulator = await start_simulator(sim.certs_dir, sim.host, sim.api_port, sim.app_port, app_host=sim.host)
        config = BankIdConfig(
            client_cert=simulator.client_cert_path,
            client_key=simulator.client_key_path,
            ca_cert=simulator.ca_path,
            base_url=simulator.api_url,
        )
        log.info("BankID simulator: API %s, app page %s", simulator.api_url, simulator.app_url)
    else:
        bankid = settings.bankid
        assert bankid.client_cert and bankid.client_key and bankid.ca_cert  # checked by Settings
        config = BankIdConfig(
            client_cert=bankid.client_cert,
            client_key=bankid.client_key,
            ca_cert=bankid.ca_cert,
            base_url=bankid.url,
            key_password=bankid.key_password,
            request_timeout=bankid.request_timeout_seconds,
        )
    client = await BankIdClient.open(config)
    referring_domain = settings.server.base_url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    provider = BankIdProvider(client, referring_domain=referring_domain, clock=clock)
    loop = CollectLoop(provider, interval=settings.identity.collect_interval_seconds)
    await loop.start()

    def autostart(order: Order, return_url: str | None, mobile: bool) -> str | None:
        if simulator is not None and order.auto_start_token:
            # No BankID app exists here: the simulator's app page stands in for it.
            return simulator.app_link(order.auto_start_token, return_url)
        return provider.autostart_url(order, return_url, mobile=mobile)

    try:
        yield EidRuntime(provider, loop, autostart, simulator.app_url if simulator else None)
    finally:
        await loop.stop()
        await client.close()
        if simulator is not None:
            await simulator.close()
