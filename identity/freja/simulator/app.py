"""Start the Freja simulator in this process: the relying-party API on HTTPS with a required
client certificate, and the 'app' page with its control API on plain HTTP (loopback).

Mutual TLS uses the same throw-away PKI as the BankID simulator (:mod:`identity.bankid.testpki`),
issued in the Freja simulator's own directory; result signing uses :mod:`.signing`.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from aiohttp import web

from identity.bankid.testpki import PkiFiles, ensure_test_pki, relying_party_ssl_context, server_ssl_context
from identity.freja.simulator.api import create_api_app
from identity.freja.simulator.control import create_control_app
from identity.freja.simulator.signing import SigningKey, ensure_signing_key
from identity.freja.simulator.state import SimulatorSettings, SimulatorState


@dataclass(slots=True)
class RunningFrejaSimulator:
    api_url: str
    app_url: str
    pki: PkiFiles
    signing: SigningKey
    foreign_signing: SigningKey
    state: SimulatorState
    _runners: tuple[web.AppRunner, ...]

    @property
    def ca_path(self) -> Path:
        return self.pki.ca_cert

    @property
    def client_cert_path(self) -> Path:
        return self.pki.client_cert

    @property
    def client_key_path(self) -> Path:
        return self.pki.client_key

    @property
    def signing_cert_path(self) -> Path:
        return self.signing.certificate_path

    def relying_party_ssl_context(self) -> ssl.SSLContext:
        return relying_party_ssl_context(self.pki)

    def app_link(self, auth_ref: str) -> str:
        """The page that stands in for the Freja app opened on this device."""
        return f"{self.app_url}?authRef={auth_ref}"

    async def close(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()

    async def __aenter__(self) -> RunningFrejaSimulator:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def start_freja_simulator(
    certs_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    app_port: int = 0,
    *,
    app_host: str = "127.0.0.1",
    settings: SimulatorSettings | None = None,
) -> RunningFrejaSimulator:
    """Issue (or reuse) the test PKI and signing keys in ``certs_dir`` and serve. Port 0: any free port."""
    pki, server_context, signing, foreign = await asyncio.to_thread(_prepare, Path(certs_dir))
    state = SimulatorState(settings)
    runners: list[web.AppRunner] = []
    try:
        api_runner = web.AppRunner(create_api_app(state, signing, foreign), shutdown_timeout=5.0)
        await api_runner.setup()
        runners.append(api_runner)
        await web.TCPSite(api_runner, host, port, ssl_context=server_context).start()
        control_runner = web.AppRunner(create_control_app(state), shutdown_timeout=5.0)
        await control_runner.setup()
        runners.append(control_runner)
        await web.TCPSite(control_runner, app_host, app_port).start()
    except BaseException:
        for runner in reversed(runners):
            await runner.cleanup()
        raise
    return RunningFrejaSimulator(
        api_url=f"https://{host}:{_port(api_runner)}",
        app_url=f"http://{app_host}:{_port(control_runner)}/",
        pki=pki,
        signing=signing,
        foreign_signing=foreign,
        state=state,
        _runners=tuple(runners),
    )


def _prepare(certs_dir: Path) -> tuple[PkiFiles, ssl.SSLContext, SigningKey, SigningKey]:
    pki = ensure_test_pki(certs_dir)
    return pki, server_ssl_context(pki), ensure_signing_key(certs_dir), ensure_signing_key(certs_dir, "foreign-signing")


def _port(runner: web.AppRunner) -> int:
    return int(runner.addresses[0][1])
