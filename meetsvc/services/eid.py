"""What identification needs of each eID provider this deployment uses.

The providers themselves are opened by :mod:`meetsvc.wiring` (real BankID or Freja eID over
mutual TLS, or in development their built-in simulators); the use cases see only these
runtimes, so they never import an HTTP client or a simulator. Each provider brings its own
collect loop and its own words for what is happening (BankID's recommended messages, Freja's
statuses), so the identification page reads right whichever one a person chose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from identity.bankid import messages as bankid_messages
from identity.bankid.collector import CollectLoop
from identity.base import Order, PollingIdentityProvider
from identity.freja import messages as freja_messages


class AutostartLinks(Protocol):
    def __call__(self, order: Order, return_url: str | None, mobile: bool) -> str | None: ...


class EidMessages(Protocol):
    """What a person reads for a provider's hint codes and error codes, in their language."""

    def hint(self, hint_code: str | None, *, pending: bool, same_device: bool, mobile: bool, language: str) -> str: ...

    def error(self, error_code: str | None, language: str) -> str: ...


class BankIdMessages:
    def hint(self, hint_code: str | None, *, pending: bool, same_device: bool, mobile: bool, language: str) -> str:
        rfa = bankid_messages.rfa_for_hint(hint_code, pending=pending, same_device=same_device, on_mobile=mobile)
        return bankid_messages.message(rfa, language)

    def error(self, error_code: str | None, language: str) -> str:
        return bankid_messages.message(bankid_messages.rfa_for_error(error_code or ""), language)


class FrejaMessages:
    def hint(self, hint_code: str | None, *, pending: bool, same_device: bool, mobile: bool, language: str) -> str:
        return freja_messages.hint_message(hint_code, pending=pending, same_device=same_device, language=language)

    def error(self, error_code: str | None, language: str) -> str:
        return freja_messages.error_message(error_code, language)


@dataclass
class EidRuntime:
    """What the identification operations need from one eID provider.

    ``initial_hint`` is the hint code an order has before its first collect (BankID's
    ``outstandingTransaction``, Freja's ``STARTED``).
    """

    provider: PollingIdentityProvider
    loop: CollectLoop
    autostart_url: AutostartLinks
    simulator_app_url: str | None = None
    messages: EidMessages = field(default_factory=BankIdMessages)
    initial_hint: str = "outstandingTransaction"

    @property
    def name(self) -> str:
        return self.provider.name

    def hint_message(
        self, hint_code: str | None, *, pending: bool, same_device: bool, mobile: bool, language: str
    ) -> str:
        return self.messages.hint(hint_code, pending=pending, same_device=same_device, mobile=mobile, language=language)

    def error_message(self, error_code: str | None, language: str) -> str:
        return self.messages.error(error_code, language)
