"""Freja eID as an :class:`identity.base.PollingIdentityProvider`, beside BankID.

The seam between the application (start, collect, cancel, a QR code and an app link) and the
Freja client: it decides what an ``initAuthRequest`` asks for, turns a result into an
:class:`~identity.base.OrderStatus`, and checks the signed person before vouching for anyone —
a Swedish personal identity number, and a registration level no lower than required.

Level of assurance: Freja eID+ (registration level PLUS) is approved by DIGG under Svensk
e-legitimation at *tillitsnivå 3*, recorded as ``"loa3"`` as for BankID. EXTENDED is Freja's
own level (identity document checked remotely, not approved at level 3), recorded as
``"extended"`` so hosts can see the difference.

Hint codes are Freja's status names (``STARTED``, ``DELIVERED_TO_MOBILE``, ``CANCELED`` …),
plus ``registrationLevelTooLow`` when a signed result falls short of the required level.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

from identity.base import Order, OrderState, OrderStatus, StartRequest, VerifiedIdentity
from identity.freja.client import (
    AuthRequest,
    AuthResult,
    AuthStatus,
    FrejaClient,
    RegistrationLevel,
    UserInfoType,
)
from identity.freja.errors import FrejaProtocolError
from identity.personnummer import PersonalNumber

# "QR code" / "app switch": the link the Freja app opens, carrying the authRef.
APP_LINK = "frejaeid://bindUserToTransaction?transactionReference="

LEVEL_TOO_LOW = "registrationLevelTooLow"
INITIAL_HINT = AuthStatus.STARTED.value

LEVELS_OF_ASSURANCE = {RegistrationLevel.PLUS: "loa3", RegistrationLevel.EXTENDED: "extended"}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def app_link(auth_ref: str) -> str:
    return APP_LINK + quote(auth_ref, safe="")


class FrejaProvider:
    """Start, collect and cancel Freja eID identifications (whoever scans: ``INFERRED``)."""

    name = "freja"

    def __init__(
        self,
        client: FrejaClient,
        *,
        min_registration_level: RegistrationLevel = RegistrationLevel.PLUS,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if min_registration_level is RegistrationLevel.BASIC:
            raise ValueError("BASIC does not identify a person: use EXTENDED or PLUS")
        self._client = client
        self._min_level = min_registration_level
        self._clock = clock

    @property
    def min_registration_level(self) -> RegistrationLevel:
        return self._min_level

    async def start(self, request: StartRequest, *, ssn: str | None = None) -> Order:
        """Start an authentication; with ``ssn`` only that person can approve it (SSN, country SE)."""
        auth_ref = await self._client.init_authentication(
            AuthRequest(
                min_registration_level=self._min_level,
                user_info_type=UserInfoType.SSN if ssn else UserInfoType.INFERRED,
                ssn=ssn,
            )
        )
        return Order(order_ref=auth_ref, started_at=self._clock())

    async def collect(self, order_ref: str) -> OrderStatus:
        return self.status_from_result(await self._client.get_one_result(order_ref))

    def status_from_result(self, result: AuthResult) -> OrderStatus:
        if not result.status.final:
            return OrderStatus(result.auth_ref, OrderState.PENDING, result.status.value)
        if result.status is not AuthStatus.APPROVED:
            return OrderStatus(result.auth_ref, OrderState.FAILED, result.status.value)
        signed = result.signed
        if signed is None:
            raise FrejaProtocolError("APPROVED without a signed result")
        level = signed.registration_level
        if level is None or level.rank < self._min_level.rank:
            return OrderStatus(result.auth_ref, OrderState.FAILED, LEVEL_TOO_LOW)
        if signed.country != "SE":
            raise FrejaProtocolError("the signed personal identity number is not Swedish")
        try:
            normal = PersonalNumber.parse(signed.ssn).normal
        except (ValueError, TypeError):
            raise FrejaProtocolError("the signed personal identity number is not valid") from None
        identity = VerifiedIdentity(
            personal_number=normal,
            given_name=signed.given_name,
            surname=signed.surname,
            provider=self.name,
            level_of_assurance=LEVELS_OF_ASSURANCE[level],
            verified_at=self._clock(),
        )
        return OrderStatus(result.auth_ref, OrderState.COMPLETE, None, identity)

    async def cancel(self, order_ref: str) -> None:
        await self._client.cancel(order_ref)

    def qr_data(self, order: Order, now: datetime) -> str | None:
        """Freja's QR code is the app link itself; it does not change by the second."""
        return app_link(order.order_ref)

    def autostart_url(self, order: Order, return_url: str | None) -> str | None:
        return app_link(order.order_ref)
