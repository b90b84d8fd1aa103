"""The BankID simulator a test service starts, on the test's clock.

The service computes the second of each animated QR frame on its clock, which in tests is the
test's and moves only when told. Were the simulator to age orders on the real clock, a machine
slower than the QR tolerance (two seconds) between showing a code and the 'phone' scanning it
would have the scan refused ("QR code is for second 0 but the order is 3 s old"). On one clock
the test decides which second a frame is for, and the order's time limits move with it too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

import pytest

from identity.bankid.simulator import app as simulator_app
from identity.bankid.simulator.state import SimulatorSettings


def simulator_on_clock(monkeypatch: pytest.MonkeyPatch, clock: Callable[[], datetime]) -> None:
    """Simulators started while ``monkeypatch`` holds age their orders on ``clock``."""
    start_simulator = simulator_app.start_simulator

    async def on_the_clock(*args: Any, **kwargs: Any) -> simulator_app.RunningSimulator:
        kwargs.setdefault("settings", SimulatorSettings(clock=lambda: clock().timestamp()))
        return await start_simulator(*args, **kwargs)

    monkeypatch.setattr(simulator_app, "start_simulator", on_the_clock)
