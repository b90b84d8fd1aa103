"""Electronic identification (eID) for Swedish services, independent of any one application.

`identity` knows nothing of meetings: it verifies who a person is through a pluggable provider
(BankID first) and returns a :class:`~identity.base.VerifiedIdentity`. It must never import
``meetsvc`` so that it can ship on its own.
"""

from identity.base import (
    IdentityError,
    IdentityProvider,
    Order,
    OrderState,
    OrderStatus,
    PollingIdentityProvider,
    RedirectIdentityProvider,
    StartRequest,
    VerifiedIdentity,
)

__all__ = [
    "IdentityError",
    "IdentityProvider",
    "Order",
    "OrderState",
    "OrderStatus",
    "PollingIdentityProvider",
    "RedirectIdentityProvider",
    "StartRequest",
    "VerifiedIdentity",
]
