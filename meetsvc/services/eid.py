"""What identification needs of the eID provider this deployment uses.

The provider itself is opened by :func:`meetsvc.wiring.open_eid` (real BankID over mutual TLS,
or in development the built-in simulator); the use cases see only this runtime, so they never
import an HTTP client or the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from identity.bankid import messages as bankid_messages
from identity.bankid.collector import CollectLoop
from identity.base import Order, PollingIdentityProvider


class AutostartLinks(Protocol):
    def __call__(self, order: Order, return_url: str | None, mobile: bool) -> str | None: ...


@dataclass
class EidRuntime:
    """What the identification operations need from the eID side."""

    provider: PollingIdentityProvider
    loop: CollectLoop
    autostart_url: AutostartLinks
    simulator_app_url: str | None = None

    def hint_message(
        self, hint_code: str | None, *, pending: bool, same_device: bool, mobile: bool, language: str
    ) -> str:
        rfa = bankid_messages.rfa_for_hint(hint_code, pending=pending, same_device=same_device, on_mobile=mobile)
        return bankid_messages.message(rfa, language)

    def error_message(self, error_code: str | None, language: str) -> str:
        return bankid_messages.message(bankid_messages.rfa_for_error(error_code or ""), language)
