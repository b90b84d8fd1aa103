"""The one interface every eID provider offers, and the identity it returns.

Two families of eID exist in Sweden and both must fit:

* *poll-style* (BankID, Freja eID): the service starts an order, shows a QR code or hands over to
  an app on the same device, then collects the order's status until it completes or fails;
* *redirect-style* (OIDC or SAML, e.g. SITHS eID for health-care staff): the browser is sent to
  the identity provider and comes back with an assertion.

Both end in the same :class:`VerifiedIdentity`, so the application never needs to know which
provider a person used beyond the ``provider`` and ``level_of_assurance`` it records.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable


class IdentityError(Exception):
    """Base of every error an eID provider raises; transports map subclasses to answers."""


class IdentityTransportError(IdentityError):
    """The provider could not be reached (connection, TLS, timeout): worth trying again later,
    unlike an answer the provider gave. A collect loop tolerates a few of these in a row."""


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """A person as an eID provider vouched for them.

    ``personal_number`` is the 12-digit normal form (YYYYMMDDNNNC). The repr hides it, so a
    traceback or a log line that prints this object cannot leak it.
    """

    personal_number: str
    given_name: str
    surname: str
    provider: str
    level_of_assurance: str
    verified_at: datetime

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.surname}".strip()

    def __repr__(self) -> str:  # never print the personal number
        return (
            f"VerifiedIdentity(provider={self.provider!r}, "
            f"level_of_assurance={self.level_of_assurance!r}, personal_number=<hidden>)"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class StartRequest:
    """What the application knows when a person asks to identify.

    ``end_user_ip`` is the address the person's request came from (BankID requires it).
    ``same_device`` chooses autostart on this device over a QR code scanned with another one.
    ``return_url`` is where the eID app sends the person back on the same device.
    ``user_visible_data`` is a short text the app shows; it must never hold sensitive data.
    """

    end_user_ip: str
    same_device: bool = False
    return_url: str | None = None
    user_visible_data: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Order:
    """A started poll-style identification.

    ``qr_start_secret`` is provider state that must stay on the server (BankID computes each
    QR frame from it); ``provider_state`` holds anything else the provider needs to resume the
    order in another process. Neither is ever sent to a browser.
    """

    order_ref: str
    started_at: datetime
    auto_start_token: str | None = None
    qr_start_token: str | None = None
    qr_start_secret: str | None = field(default=None, repr=False)
    provider_state: Mapping[str, str] = field(default_factory=dict, repr=False)


class OrderState(str, enum.Enum):
    PENDING = "pending"
    COMPLETE = "complete"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OrderStatus:
    """The answer to one collect.

    ``hint_code`` is the provider's own code, spelled as in its specification (BankID's
    ``outstandingTransaction``, ``userCancel`` …), so the application can show the message the
    provider recommends for it.
    """

    order_ref: str
    state: OrderState
    hint_code: str | None = None
    identity: VerifiedIdentity | None = None


@runtime_checkable
class PollingIdentityProvider(Protocol):
    """A poll-style eID: start, collect until done, cancel."""

    name: str

    async def start(self, request: StartRequest) -> Order: ...

    async def collect(self, order_ref: str) -> OrderStatus: ...

    async def cancel(self, order_ref: str) -> None: ...

    def qr_data(self, order: Order, now: datetime) -> str | None:
        """The string to render as this second's QR code, or None if the provider has none."""
        ...

    def autostart_url(self, order: Order, return_url: str | None) -> str | None:
        """The link that opens the eID app on this device, or None if the provider has none."""
        ...


@runtime_checkable
class RedirectIdentityProvider(Protocol):
    """A redirect-style eID (OIDC/SAML, e.g. SITHS): send the browser away, verify what comes back.

    Not implemented yet; the shape is fixed here so that adding one changes no caller.
    """

    name: str

    async def authorization_url(self, state: str, return_url: str) -> str: ...

    async def complete(self, state: str, params: Mapping[str, str]) -> VerifiedIdentity: ...


IdentityProvider = PollingIdentityProvider | RedirectIdentityProvider
