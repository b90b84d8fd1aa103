"""Fixtures that run the BankID simulator for real: HTTPS with mutual TLS on a free port.

Any test under ``tests/identity`` can use them, e.g. a client test::

    async def test_something(bankid_simulator, bankid_client_ssl):
        ...  # talk to bankid_simulator.api_url with bankid_client_ssl

The test PKI is issued once per session (key generation is the slow part); each test gets its
own simulator, so no state leaks between tests.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from identity.bankid.simulator import ManualClock, RunningSimulator, SimulatorSettings, start_simulator
from identity.bankid.testpki import PkiFiles, client_ssl_context, ensure_test_pki, relying_party_ssl_context

SimulatorFactory = Callable[..., Awaitable[RunningSimulator]]


@pytest.fixture(scope="session")
def bankid_pki(tmp_path_factory: pytest.TempPathFactory) -> PkiFiles:
    return ensure_test_pki(tmp_path_factory.mktemp("bankid-pki"))


@pytest.fixture(scope="session")
def bankid_certs_dir(bankid_pki: PkiFiles) -> Path:
    return bankid_pki.directory


@pytest.fixture(scope="session")
def bankid_client_ssl(bankid_pki: PkiFiles) -> ssl.SSLContext:
    """A relying party's TLS: trusts the test CA, presents the test client certificate."""
    return relying_party_ssl_context(bankid_pki)


@pytest.fixture(scope="session")
def bankid_ssl_without_client_cert(bankid_pki: PkiFiles) -> ssl.SSLContext:
    return client_ssl_context(bankid_pki.ca_cert)


@pytest.fixture(scope="session")
def bankid_ssl_with_foreign_client_cert(bankid_pki: PkiFiles) -> ssl.SSLContext:
    return client_ssl_context(bankid_pki.ca_cert, bankid_pki.foreign_client_cert, bankid_pki.foreign_client_key)


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def bankid_simulator_factory(bankid_certs_dir: Path) -> AsyncIterator[SimulatorFactory]:
    """Start simulators with custom settings: ``await factory(clock=manual_clock, order_ttl=5)``."""
    started: list[RunningSimulator] = []

    async def start(**settings: Any) -> RunningSimulator:
        simulator = await start_simulator(bankid_certs_dir, settings=SimulatorSettings(**settings))
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        await simulator.close()


@pytest.fixture
async def bankid_simulator(bankid_simulator_factory: SimulatorFactory) -> RunningSimulator:
    """A simulator with BankID's own time limits and the real clock."""
    return await bankid_simulator_factory()
