"""Start the simulator in this process: two listeners sharing one :class:`SimulatorState`.

* the RP API (``/rp/v6.0/...``) on HTTPS with a required client certificate — what a relying
  party talks to, configured exactly like BankID (base URL ending in ``/rp/v6.0/``);
* the app page and the ``/sim`` control API on plain HTTP, on loopback unless told otherwise —
  what a developer's browser and the tests talk to.

They are two aiohttp applications on two runners rather than one application on two sites, so
no route of one can ever be reached through the other listener.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import urlencode

from aiohttp import web

from identity.bankid.simulator.api import create_api_app
from identity.bankid.simulator.control import create_control_app
from identity.bankid.simulator.state import SimulatorSettings, SimulatorState
from identity.bankid.testpki import PkiFiles, ensure_test_pki, relying_party_ssl_context, server_ssl_context


@dataclass(slots=True)
class RunningSimulator:
    """A started simulator: where to reach it, the files a relying party needs, its state."""

    api_url: str
    app_url: str
    pki: PkiFiles
    state: SimulatorState
    _runners: tuple[web.AppRunner, ...]

    @property
    def control_url(self) -> str:
        return f"{self.app_url}sim/"

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
    def settings(self) -> SimulatorSettings:
        return self.state.settings

    def relying_party_ssl_context(self) -> ssl.SSLContext:
        """Client TLS with the relying-party certificate. Reads files: call it off the loop."""
        return relying_party_ssl_context(self.pki)

    def app_link(self, auto_start_token: str, redirect: str | None = None) -> str:
        """The page that stands in for ``bankid:///?autostarttoken=…&redirect=…``."""
        query = {"autostarttoken": auto_start_token}
        if redirect is not None:
            query["redirect"] = redirect
        return f"{self.app_url}?{urlencode(query)}"

    async def close(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()

    async def __aenter__(self) -> RunningSimulator:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def start_simulator(
    certs_dir: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    app_port: int = 0,
    *,
    app_host: str = "127.0.0.1",
    settings: SimulatorSettings | None = None,
) -> RunningSimulator:
    """Issue (or reuse) the test PKI in ``certs_dir`` and serve. Port 0 picks a free port."""
    loop = asyncio.get_running_loop()
    pki, server_context = await loop.run_in_executor(None, _prepare_tls, Path(certs_dir))
    state = SimulatorState(settings)

    runners: list[web.AppRunner] = []
    try:
        api_runner = web.AppRunner(create_api_app(state), shutdown_timeout=5.0)
        await api_runner.setup()
        runners.append(api_runner)
        await web.TCPSite(api_runner, host, port, ssl_context=server_context).start()

        control_runner = web.AppRunner(create_control_app(state, app_host), shutdown_timeout=5.0)
        await control_runner.setup()
        runners.append(control_runner)
        await web.TCPSite(control_runner, app_host, app_port).start()
    except BaseException:
        for runner in reversed(runners):
            await runner.cleanup()
        raise

    return RunningSimulator(
        api_url=f"https://{_url_host(host)}:{_bound_port(api_runner)}/rp/v6.0/",
        app_url=f"http://{_url_host(app_host)}:{_bound_port(control_runner)}/",
        pki=pki,
        state=state,
        _runners=tuple(runners),
    )


def _prepare_tls(certs_dir: Path) -> tuple[PkiFiles, ssl.SSLContext]:
    pki = ensure_test_pki(certs_dir)
    return pki, server_ssl_context(pki)


def _bound_port(runner: web.AppRunner) -> int:
    address = runner.addresses[0]
    return int(address[1])


def _url_host(host: str) -> str:
    """A host for URLs: wildcard binds are reached through loopback (the server certificate
    names 127.0.0.1), IPv6 literals need brackets."""
    if host in ("", "0.0.0.0"):  # noqa: S104  # recognises a wildcard bind, does not make one
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
