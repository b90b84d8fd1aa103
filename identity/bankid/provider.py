"""BankID as an :class:`identity.base.PollingIdentityProvider`.

This is the seam between the application (which only knows start, collect, cancel, a QR frame
and an autostart link) and the BankID RP API client. It decides which BankID fields a start
request fills, turns a collect answer into an :class:`~identity.base.OrderStatus`, and checks
the personal identity number before vouching for anyone.

Level of assurance: BankID is approved by DIGG (Myndigheten för digital förvaltning) under the
Svensk e-legitimation framework at *tillitsnivå 3*, recorded here as ``"loa3"``
(``http://id.elegnamnden.se/loa/1.0/loa3``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote

from identity.bankid import qr
from identity.bankid.client import (
    AuthRequest,
    BankIdClient,
    CollectResponse,
    CollectStatus,
    Requirement,
    WebDevice,
)
from identity.bankid.errors import BankIdProtocolError
from identity.base import (
    Order,
    OrderState,
    OrderStatus,
    StartRequest,
    VerifiedIdentity,
)

# "Autostart" guide: the universal/app link for phones and tablets, the custom scheme for the
# desktop BankID Security Application.
APP_LINK = "https://app.bankid.com/"
DESKTOP_SCHEME = "bankid:///"

# Phones and tablets that announce themselves. iPadOS Safari sends a desktop (Macintosh)
# User-Agent; it then gets the bankid:/// link, which the iPad's BankID app also handles.
_MOBILE_USER_AGENT = re.compile(r"Android|iPhone|iPad|iPod|Mobile", re.IGNORECASE)

_STATE_DEVICE = "device"
_STATE_RETURN_URL_IN_ORDER = "return_url_in_order"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _normal_personal_number(value: str) -> str:
    """The 12-digit normal form, or BankIdProtocolError if BankID sent something else.

    Uses :mod:`identity.personnummer` when it is installed; otherwise checks the shape
    BankID documents (12 digits) and the Luhn check digit.
    """
    try:
        from identity.personnummer import PersonalNumber
    except ImportError:
        if not re.fullmatch(r"\d{12}", value) or not _luhn_ok(value[2:]):
            raise BankIdProtocolError("completionData.user.personalNumber is not valid") from None
        return value
    try:
        normal: str = PersonalNumber.parse(value).normal
    except (ValueError, TypeError) as error:
        raise BankIdProtocolError("completionData.user.personalNumber is not valid") from error
    if not re.fullmatch(r"\d{12}", normal):
        raise BankIdProtocolError("completionData.user.personalNumber is not valid")
    return normal


def _luhn_ok(ten_digits: str) -> bool:
    total = 0
    for index, char in enumerate(ten_digits):
        digit = int(char) * (2 if index % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


class BankIdProvider:
    """Start, collect and cancel BankID identifications for the application.

    ``referring_domain`` (our public domain) is sent as ``web.referringDomain`` together with
    the browser's User-Agent and a device identifier when all three are known; BankID uses them
    in its fraud checks. ``requirement`` applies to every order (for example ``pin_code=True``);
    ``return_risk`` asks BankID for its risk indication.
    """

    name = "bankid"
    level_of_assurance = "loa3"

    def __init__(
        self,
        client: BankIdClient,
        *,
        referring_domain: str | None = None,
        requirement: Requirement | None = None,
        return_risk: bool | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._client = client
        self._referring_domain = referring_domain
        self._requirement = requirement
        self._return_risk = return_risk
        self._clock = clock

    @property
    def client(self) -> BankIdClient:
        return self._client

    async def start(self, request: StartRequest, *, device_identifier: str | None = None) -> Order:
        """Start an auth order.

        The ``returnUrl`` goes into the order only for same-device starts: on another device the
        phone that scanned the QR code must not open our page.
        """
        return_url = request.return_url if request.same_device else None
        web = None
        if self._referring_domain and request.user_agent and device_identifier:
            web = WebDevice(
                referring_domain=self._referring_domain,
                user_agent=request.user_agent[:256],
                device_identifier=device_identifier[:64],
            )
        answer = await self._client.auth(
            AuthRequest(
                end_user_ip=request.end_user_ip,
                requirement=self._requirement,
                user_visible_data=request.user_visible_data,
                return_url=return_url,
                return_risk=self._return_risk,
                web=web,
            )
        )
        # "QR code": time counts from the moment the auth answer was returned.
        started_at = self._clock()
        mobile = request.user_agent is None or bool(_MOBILE_USER_AGENT.search(request.user_agent))
        return Order(
            order_ref=answer.order_ref,
            started_at=started_at,
            auto_start_token=answer.auto_start_token,
            qr_start_token=answer.qr_start_token,
            qr_start_secret=answer.qr_start_secret,
            provider_state={
                _STATE_DEVICE: "mobile" if mobile else "desktop",
                _STATE_RETURN_URL_IN_ORDER: "1" if return_url else "0",
            },
        )

    async def collect(self, order_ref: str) -> OrderStatus:
        return self.status_from_collect(await self._client.collect(order_ref))

    def status_from_collect(self, answer: CollectResponse) -> OrderStatus:
        """Map one collect answer; a complete order becomes a checked VerifiedIdentity."""
        if answer.status is CollectStatus.PENDING:
            return OrderStatus(answer.order_ref, OrderState.PENDING, answer.hint_code)
        if answer.status is CollectStatus.FAILED:
            return OrderStatus(answer.order_ref, OrderState.FAILED, answer.hint_code)
        completion = answer.completion_data
        if completion is None:
            raise BankIdProtocolError("collect answer: complete without completionData")
        identity = VerifiedIdentity(
            personal_number=_normal_personal_number(completion.user.personal_number),
            given_name=completion.user.given_name,
            surname=completion.user.surname,
            provider=self.name,
            level_of_assurance=self.level_of_assurance,
            verified_at=self._clock(),
        )
        return OrderStatus(answer.order_ref, OrderState.COMPLETE, None, identity)

    async def cancel(self, order_ref: str) -> None:
        await self._client.cancel(order_ref)

    def qr_data(self, order: Order, now: datetime) -> str | None:
        """This second's QR content, computed here so the secret stays on the server.

        ``now`` and ``order.started_at`` must both be timezone-aware.
        """
        if not order.qr_start_token or not order.qr_start_secret:
            return None
        elapsed = (now - order.started_at).total_seconds()
        return qr.qr_data(order.qr_start_token, order.qr_start_secret, elapsed)

    def autostart_url(self, order: Order, return_url: str | None, *, mobile: bool | None = None) -> str | None:
        """The link that opens BankID on this device ("Autostart" guide).

        * Desktop: ``bankid:///?autostarttoken=…&redirect=null`` — the desktop app returns by
          itself, so BankID says redirect must be ``null``.
        * Phone or tablet: ``https://app.bankid.com/?autostarttoken=…&redirect=…``. When the
          order was started with a ``returnUrl`` (RP API v6), BankID uses that one and ignores
          ``redirect``, which is then ``null``; otherwise ``return_url`` given here is sent,
          URL-encoded, as ``redirect``.

        ``mobile`` overrides the device kind guessed from the User-Agent at start.
        """
        token = order.auto_start_token
        if not token:
            return None
        state = order.provider_state
        is_mobile = mobile if mobile is not None else state.get(_STATE_DEVICE, "mobile") == "mobile"
        token_q = quote(token, safe="")
        if not is_mobile:
            return f"{DESKTOP_SCHEME}?autostarttoken={token_q}&redirect=null"
        redirect = "null"
        if return_url and state.get(_STATE_RETURN_URL_IN_ORDER) != "1":
            redirect = quote(return_url, safe="")
        return f"{APP_LINK}?autostarttoken={token_q}&redirect={redirect}"
