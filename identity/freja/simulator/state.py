"""The simulator's orders and how they move, shared by its API and its control side.

An order is STARTED when created, DELIVERED_TO_MOBILE once the 'app' has it (QR code scanned or
app link opened), then ends APPROVED (a test person confirms), CANCELED (the person declines),
RP_CANCELED (the relying party's ``cancel``), REJECTED (Freja refuses, for example a person
below ``minRegistrationLevel``) or EXPIRED (``order_ttl`` seconds without an answer; Freja's
own default is two minutes). Time comes from ``clock`` so tests can move it.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from identity.freja.client import AuthStatus, RegistrationLevel
from identity.freja.simulator.persons import FrejaPerson, person_by_ssn


class SimulatorError(Exception):
    """An error answer of the API: Freja's numeric code and message."""

    def __init__(self, code: int, message: str, http_status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


@dataclass
class SimulatorSettings:
    order_ttl: float = 120.0
    clock: Callable[[], float] = time.time


@dataclass
class Faults:
    """Misbehaviour on request, so the relying party's checks can be seen to work.

    ``sign_with_foreign``: sign results with a key the relying party does not pin.
    ``tamper_payload``: change the payload after signing (the signature no longer fits).
    """

    sign_with_foreign: bool = False
    tamper_payload: bool = False


@dataclass
class SimOrder:
    auth_ref: str
    user_info_type: str
    expected_ssn: str | None = field(repr=False)
    min_level: RegistrationLevel
    attributes: tuple[str, ...]
    created_at: float
    status: AuthStatus = AuthStatus.STARTED
    person: FrejaPerson | None = None
    level_override: RegistrationLevel | None = None
    finished_at: float | None = None


class SimulatorState:
    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self.orders: dict[str, SimOrder] = {}
        self.faults = Faults()

    def now(self) -> float:
        return self.settings.clock()

    # The API side ----------------------------------------------------------------------------

    def init(self, request: dict[str, Any]) -> SimOrder:
        user_info_type = request.get("userInfoType")
        if user_info_type not in ("INFERRED", "SSN"):
            raise SimulatorError(1001, "Invalid or missing userInfoType.")
        expected = None
        if user_info_type == "SSN":
            expected = _ssn_of(request.get("userInfo"))
            for order in self.orders.values():
                if order.expected_ssn == expected and not self._status(order).final:
                    raise SimulatorError(2000, "User has an active authentication request.")
        elif request.get("userInfo") != "N/A":
            raise SimulatorError(1002, "Invalid or missing userInfo.")
        try:
            level = RegistrationLevel(request.get("minRegistrationLevel", "BASIC"))
        except ValueError:
            raise SimulatorError(1003, "Invalid minRegistrationLevel.") from None
        attributes = request.get("attributesToReturn", [])
        if not isinstance(attributes, list) or not all(
            isinstance(item, dict) and isinstance(item.get("attribute"), str) for item in attributes
        ):
            # (1003 is this simulator's choice; 1004 is Freja's "access denied", not a bad request.)
            raise SimulatorError(1003, "Invalid attributesToReturn.")
        order = SimOrder(
            auth_ref=secrets.token_urlsafe(32),
            user_info_type=user_info_type,
            expected_ssn=expected,
            min_level=level,
            attributes=tuple(item["attribute"] for item in attributes),
            created_at=self.now(),
        )
        self.orders[order.auth_ref] = order
        return order

    def order(self, auth_ref: object) -> SimOrder:
        order = self.orders.get(auth_ref) if isinstance(auth_ref, str) else None
        if order is None:
            raise SimulatorError(1100, "Invalid reference (for example, nonexistent or expired).")
        self._status(order)
        return order

    def rp_cancel(self, auth_ref: object) -> None:
        order = self.order(auth_ref)
        if order.status.final:
            raise SimulatorError(1100, "Invalid reference (for example, nonexistent or expired).")
        self._finish(order, AuthStatus.RP_CANCELED)

    # The 'app' side --------------------------------------------------------------------------

    def deliver(self, auth_ref: str) -> SimOrder:
        order = self._pending(auth_ref)
        order.status = AuthStatus.DELIVERED_TO_MOBILE
        return order

    def approve(self, auth_ref: str, ssn: str, level_override: RegistrationLevel | None = None) -> SimOrder:
        order = self._pending(auth_ref)
        person = person_by_ssn(ssn)
        if person is None:
            raise SimulatorError(0, "no such test person", 404)
        if order.expected_ssn is not None and order.expected_ssn != person.ssn:
            raise SimulatorError(0, "this order is for another person", 409)
        order.person = person
        if level_override is not None:
            order.level_override = level_override
        elif person.level.rank < order.min_level.rank:
            # Freja does not let a person approve below the required level.
            self._finish(order, AuthStatus.REJECTED)
            return order
        self._finish(order, AuthStatus.APPROVED)
        return order

    def decline(self, auth_ref: str) -> SimOrder:
        order = self._pending(auth_ref)
        self._finish(order, AuthStatus.CANCELED)
        return order

    def reject(self, auth_ref: str) -> SimOrder:
        order = self._pending(auth_ref)
        self._finish(order, AuthStatus.REJECTED)
        return order

    # Plumbing --------------------------------------------------------------------------------

    def _pending(self, auth_ref: str) -> SimOrder:
        order = self.orders.get(auth_ref)
        if order is None:
            raise SimulatorError(0, "no such order", 404)
        if self._status(order).final:
            raise SimulatorError(0, f"the order is {order.status.value}", 409)
        return order

    def _status(self, order: SimOrder) -> AuthStatus:
        if not order.status.final and self.now() - order.created_at >= self.settings.order_ttl:
            self._finish(order, AuthStatus.EXPIRED)
        return order.status

    def _finish(self, order: SimOrder, status: AuthStatus) -> None:
        order.status = status
        order.finished_at = self.now()


def _ssn_of(user_info: object) -> str:
    if not isinstance(user_info, str):
        raise SimulatorError(1002, "Invalid or missing userInfo.")
    try:
        value = json.loads(base64.b64decode(user_info, validate=True))
    except (binascii.Error, ValueError):
        raise SimulatorError(1002, "Invalid or missing userInfo.") from None
    if not isinstance(value, dict) or value.get("country") != "SE" or not isinstance(value.get("ssn"), str):
        raise SimulatorError(1002, "Invalid or missing userInfo.")
    return str(value["ssn"])
