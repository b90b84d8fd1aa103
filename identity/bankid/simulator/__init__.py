"""A local stand-in for BankID: the RP API v6.0 over mutual TLS, plus a page that plays the app.

Development, demos and tests run the whole identification — animated QR code, autostart, collect,
cancel, every hint and error code — with no BankID agreement and no phone. Start it with
``python -m identity.bankid.simulator`` or, in-process, with :func:`start_simulator`.
"""

from identity.bankid.simulator.app import RunningSimulator, start_simulator
from identity.bankid.simulator.persons import TEST_PERSONS, TestPerson
from identity.bankid.simulator.state import ManualClock, PlannedOutcome, SimulatorSettings, SimulatorState

__all__ = [
    "TEST_PERSONS",
    "ManualClock",
    "PlannedOutcome",
    "RunningSimulator",
    "SimulatorSettings",
    "SimulatorState",
    "TestPerson",
    "start_simulator",
]
