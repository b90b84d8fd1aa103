"""An asyncio client for the BankID Relying Party API v6.0, over mutual TLS.

Why its own client: the RP API is small (auth, sign, phone/auth, collect, cancel), but its rules
matter for security and for BankID's service terms — mutual TLS with the RP certificate, BankID's
own CA pinned, ``application/json`` without a charset, base64 for user-visible text, retries only
where BankID allows them. Each request and answer field is a typed attribute spelled after the
specification (``endUserIp`` → ``end_user_ip``), so a reader can hold this file next to the
specification.

Privacy: personal identity numbers pass through this module (``requirement.personalNumber``,
``/phone/auth``, ``completionData.user``). They are never logged and hidden from every ``repr``.

Specification: BankID Relying Party API v6.0 (developers.bankid.com, "API references — Auth &
Sign": /auth, /sign, /phone/auth, /collect, /cancel, "Errors"; "Getting started — Environments").
"""

from __future__ import annotations

import asyncio
import base64
import enum
import json
import logging
import random
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import aiohttp

from identity.bankid.errors import (
    BankIdError,
    BankIdProtocolError,
    BankIdTransportError,
    error_from_answer,
)

log = logging.getLogger(__name__)

# "Getting started — Environments": the two public base URLs of RP API v6.0.
TEST_BASE_URL = "https://appapi2.test.bankid.com/rp/v6.0"
PRODUCTION_BASE_URL = "https://appapi2.bankid.com/rp/v6.0"

# "Errors", 415 unsupportedMediaType: a charset parameter after application/json is refused,
# so the header is written out rather than left to the HTTP library.
_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}

USER_VISIBLE_DATA_FORMAT = "simpleMarkdownV1"


# --------------------------------------------------------------------------------------------
# Configuration and TLS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential back-off for the errors BankID allows to retry (``maintenance``).

    ``attempts`` counts every try, the first included. Delays grow from ``first_delay`` by
    ``factor`` up to ``max_delay``, with up to ``jitter`` (a fraction) added at random so that
    many processes do not retry in step.
    """

    attempts: int = 3
    first_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 4.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        base = min(self.max_delay, self.first_delay * self.factor ** (retry_number - 1))
        return base * (1.0 + random.uniform(0.0, self.jitter))  # noqa: S311  # jitter spreads retries; no secret


@dataclass(frozen=True, slots=True)
class BankIdConfig:
    """Everything the client needs to reach one BankID environment.

    ``client_cert`` and ``client_key`` are PEM files of the RP certificate the bank issued
    (converted from the PKCS#12 file BankID delivers; see docs/identity.md). ``ca_cert`` is the
    PEM of BankID's own root CA for that environment: the only CA trusted for the server.
    ``key_password`` protects an encrypted key; its repr is hidden.
    """

    client_cert: Path
    client_key: Path
    ca_cert: Path
    base_url: str = TEST_BASE_URL
    key_password: str | None = field(default=None, repr=False)
    request_timeout: float = 10.0
    max_connections: int = 100
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if not self.base_url.startswith("https://"):
            raise ValueError("BankID is reached over HTTPS only (mutual TLS)")
        if self.request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")


def create_ssl_context(
    client_cert: Path | str,
    client_key: Path | str,
    ca_cert: Path | str,
    key_password: str | None = None,
) -> ssl.SSLContext:
    """A TLS client context: our RP certificate offered, only BankID's CA trusted.

    The system trust store is deliberately not loaded: a certificate from any public CA must
    not be able to impersonate BankID. Host names are checked against the server certificate.
    This reads files, so call it off the event loop (see :meth:`BankIdClient.open`).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verify_mode=CERT_REQUIRED, check_hostname
    # "Information regarding the web service API — TLS versions": TLS 1.2 or later.
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=str(ca_cert))
    context.load_cert_chain(str(client_cert), str(client_key), password=key_password)
    return context


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


def _b64_text(text: str) -> str:
    """userVisibleData: "the text must be encoded as UTF-8 and then base 64 encoded"."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _b64_bytes(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in mapping.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Requirement:
    """``requirement``: conditions the BankID app must meet for the order to complete.

    ``pin_code``: the user must use the security code even with biometrics enabled.
    ``mrtd``: the user must also present a Swedish passport or national ID card (NFC).
    ``card_reader``: "class1" or "class2", for BankID on smart card.
    ``certificate_policies``: OIDs of accepted BankID types (one trailing ``*`` allowed).
    ``personal_number``: only this person (12 digits) may complete the order; hidden in repr.
    """

    pin_code: bool | None = None
    mrtd: bool | None = None
    card_reader: Literal["class1", "class2"] | None = None
    certificate_policies: tuple[str, ...] | None = None
    personal_number: str | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "pinCode": self.pin_code,
                "mrtd": self.mrtd,
                "cardReader": self.card_reader,
                "certificatePolicies": (
                    list(self.certificate_policies) if self.certificate_policies is not None else None
                ),
                "personalNumber": self.personal_number,
            }
        )


@dataclass(frozen=True, slots=True)
class WebDevice:
    """``web``: the browser the person uses, which sharpens BankID's fraud checks.

    ``referring_domain`` is our own domain (the one that starts the app), ``user_agent`` the
    browser's User-Agent, ``device_identifier`` a stable id of that browser (a cookie or a
    hash of one) that the RP keeps.
    """

    referring_domain: str
    user_agent: str
    device_identifier: str

    def to_json(self) -> dict[str, Any]:
        return {
            "referringDomain": self.referring_domain,
            "userAgent": self.user_agent,
            "deviceIdentifier": self.device_identifier,
        }


@dataclass(frozen=True, slots=True)
class AppDevice:
    """``app``: our native app that starts BankID (package name or bundle id, OS, model)."""

    app_identifier: str
    device_os: str
    device_model_name: str
    device_identifier: str

    def to_json(self) -> dict[str, Any]:
        return {
            "appIdentifier": self.app_identifier,
            "deviceOS": self.device_os,
            "deviceModelName": self.device_model_name,
            "deviceIdentifier": self.device_identifier,
        }


def _order_body(
    *,
    end_user_ip: str,
    requirement: Requirement | None,
    user_visible_data: str | None,
    user_visible_data_format: str | None,
    user_non_visible_data: bytes | None,
    return_url: str | None,
    return_risk: bool | None,
    web: WebDevice | None,
    app: AppDevice | None,
) -> dict[str, Any]:
    if web is not None and app is not None:
        raise ValueError("an order carries either web or app device data, not both")
    if user_visible_data_format not in (None, USER_VISIBLE_DATA_FORMAT):
        raise ValueError(f"userVisibleDataFormat must be {USER_VISIBLE_DATA_FORMAT!r}")
    if user_visible_data_format is not None and user_visible_data is None:
        raise ValueError("userVisibleDataFormat needs userVisibleData")
    requirement_json = requirement.to_json() if requirement is not None else None
    return _drop_none(
        {
            "endUserIp": end_user_ip,
            "requirement": requirement_json or None,
            "userVisibleData": _b64_text(user_visible_data) if user_visible_data is not None else None,
            "userVisibleDataFormat": user_visible_data_format,
            "userNonVisibleData": (_b64_bytes(user_non_visible_data) if user_non_visible_data is not None else None),
            "returnUrl": return_url,
            "returnRisk": return_risk,
            "web": web.to_json() if web is not None else None,
            "app": app.to_json() if app is not None else None,
        }
    )


def _own_fields(request: Any) -> dict[str, Any]:
    """An order request's fields by name: auth and sign carry exactly what ``_order_body`` takes."""
    return {f.name: getattr(request, f.name) for f in fields(request)}


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """``/auth``: identify a person.

    ``end_user_ip`` is the person's address as the RP sees it (IPv4 or IPv6). The client
    base64-encodes ``user_visible_data`` (plain text, or simpleMarkdownV1 when
    ``user_visible_data_format`` says so) and ``user_non_visible_data``. ``return_url`` is
    where the app sends the person back when the order was started on the same device;
    ``return_risk`` asks for BankID's risk indication in the completion data.
    """

    end_user_ip: str
    requirement: Requirement | None = None
    user_visible_data: str | None = None
    user_visible_data_format: Literal["simpleMarkdownV1"] | None = None
    user_non_visible_data: bytes | None = field(default=None, repr=False)
    return_url: str | None = None
    return_risk: bool | None = None
    web: WebDevice | None = None
    app: AppDevice | None = None

    def to_json(self) -> dict[str, Any]:
        return _order_body(**_own_fields(self))


@dataclass(frozen=True, slots=True)
class SignRequest:
    """``/sign``: the person signs ``user_visible_data`` (required here) and, unseen,
    ``user_non_visible_data``. Other fields as in :class:`AuthRequest`."""

    end_user_ip: str
    user_visible_data: str
    requirement: Requirement | None = None
    user_visible_data_format: Literal["simpleMarkdownV1"] | None = None
    user_non_visible_data: bytes | None = field(default=None, repr=False)
    return_url: str | None = None
    return_risk: bool | None = None
    web: WebDevice | None = None
    app: AppDevice | None = None

    def to_json(self) -> dict[str, Any]:
        return _order_body(**_own_fields(self))


class CallInitiator(str, enum.Enum):
    """``callInitiator`` of ``/phone/auth``: who placed the phone call."""

    USER = "user"  # the person called the RP
    RP = "RP"  # the RP called the person


@dataclass(frozen=True, slots=True)
class PhoneAuthRequest:
    """``/phone/auth``: identify a person the RP is talking to on the phone.

    There is no QR code and no autostart: BankID pushes the order to the app of
    ``personal_number`` (12 digits, hidden in repr), who confirms the call.
    """

    personal_number: str = field(repr=False)
    call_initiator: CallInitiator
    requirement: Requirement | None = None
    user_visible_data: str | None = None
    user_visible_data_format: Literal["simpleMarkdownV1"] | None = None
    user_non_visible_data: bytes | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        if self.user_visible_data_format not in (None, USER_VISIBLE_DATA_FORMAT):
            raise ValueError(f"userVisibleDataFormat must be {USER_VISIBLE_DATA_FORMAT!r}")
        if self.requirement is not None and self.requirement.personal_number is not None:
            # "Phone auth": the person is named by the top-level personalNumber; the
            # requirement object of the phone endpoints has no personalNumber.
            raise ValueError("phone/auth names the person in personal_number, not in the requirement")
        requirement_json = self.requirement.to_json() if self.requirement is not None else None
        return _drop_none(
            {
                "personalNumber": self.personal_number,
                "callInitiator": CallInitiator(self.call_initiator).value,
                "requirement": requirement_json or None,
                "userVisibleData": (_b64_text(self.user_visible_data) if self.user_visible_data is not None else None),
                "userVisibleDataFormat": self.user_visible_data_format,
                "userNonVisibleData": (
                    _b64_bytes(self.user_non_visible_data) if self.user_non_visible_data is not None else None
                ),
            }
        )


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


def _required_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BankIdProtocolError(f"{where}: missing or empty {key!r}")
    return value


def _optional_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BankIdProtocolError(f"{where}: {key!r} is not a string")
    return value


def _object(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BankIdProtocolError(f"{where}: {key!r} is not an object")
    return value


@dataclass(frozen=True, slots=True)
class OrderResponse:
    """Answer to ``/auth`` and ``/sign``.

    ``qr_start_secret`` keys the animated QR code; it never leaves the server (hidden in repr).
    """

    order_ref: str
    auto_start_token: str
    qr_start_token: str
    qr_start_secret: str = field(repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrderResponse:
        where = "order answer"
        return cls(
            order_ref=_required_str(data, "orderRef", where),
            auto_start_token=_required_str(data, "autoStartToken", where),
            qr_start_token=_required_str(data, "qrStartToken", where),
            qr_start_secret=_required_str(data, "qrStartSecret", where),
        )


@dataclass(frozen=True, slots=True)
class PhoneOrderResponse:
    """Answer to ``/phone/auth``: only the order reference (no QR code, no autostart)."""

    order_ref: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PhoneOrderResponse:
        return cls(order_ref=_required_str(data, "orderRef", "phone order answer"))


class CollectStatus(str, enum.Enum):
    """``status`` in a collect answer."""

    PENDING = "pending"
    FAILED = "failed"
    COMPLETE = "complete"


class HintCode(str, enum.Enum):
    """The documented ``hintCode`` values ("Collect": pending and failed orders).

    BankID may add codes without notice, so answers keep the code as a string and
    :attr:`CollectResponse.known_hint_code` maps it here only when it is one of these.
    """

    # pending
    OUTSTANDING_TRANSACTION = "outstandingTransaction"
    NO_CLIENT = "noClient"
    STARTED = "started"
    USER_MRTD = "userMrtd"
    USER_CALL_CONFIRM = "userCallConfirm"
    USER_SIGN = "userSign"
    # failed
    EXPIRED_TRANSACTION = "expiredTransaction"
    CERTIFICATE_ERR = "certificateErr"
    USER_CANCEL = "userCancel"
    CANCELLED = "cancelled"
    START_FAILED = "startFailed"
    USER_DECLINED_CALL = "userDeclinedCall"


@dataclass(frozen=True, slots=True)
class User:
    """``completionData.user``. ``personal_number`` is 12 digits and hidden in repr."""

    personal_number: str = field(repr=False)
    name: str
    given_name: str
    surname: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> User:
        where = "completionData.user"
        return cls(
            personal_number=_required_str(data, "personalNumber", where),
            name=_optional_str(data, "name", where) or "",
            given_name=_optional_str(data, "givenName", where) or "",
            surname=_optional_str(data, "surname", where) or "",
        )


@dataclass(frozen=True, slots=True)
class Device:
    """``completionData.device``: the address BankID saw the app at, and ``uhi``, a unique
    hardware identifier of the user's device."""

    ip_address: str | None
    uhi: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Device:
        where = "completionData.device"
        return cls(
            ip_address=_optional_str(data, "ipAddress", where),
            uhi=_optional_str(data, "uhi", where),
        )


@dataclass(frozen=True, slots=True)
class StepUp:
    """``completionData.stepUp``: extra checks done; ``mrtd`` is true if the travel-document
    check was required and passed."""

    mrtd: bool | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StepUp:
        mrtd = data.get("mrtd")
        if mrtd is not None and not isinstance(mrtd, bool):
            raise BankIdProtocolError("completionData.stepUp: 'mrtd' is not a boolean")
        return cls(mrtd=mrtd)


@dataclass(frozen=True, slots=True)
class CompletionData:
    """``completionData`` of a complete order.

    ``signature`` (base64 XML signature) and ``ocsp_response`` (base64) are the evidence the RP
    should keep for audit; ``risk`` is "low", "moderate" or "high" when ``returnRisk`` was set.
    Personal data and the evidence blobs are hidden from repr.
    """

    user: User
    device: Device
    bank_id_issue_date: str | None
    step_up: StepUp | None
    signature: str = field(repr=False)
    ocsp_response: str = field(repr=False)
    risk: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CompletionData:
        where = "completionData"
        user = _object(data, "user", where)
        if user is None:
            raise BankIdProtocolError("completionData: missing 'user'")
        device = _object(data, "device", where)
        step_up = _object(data, "stepUp", where)
        return cls(
            user=User.from_json(user),
            device=Device.from_json(device or {}),
            bank_id_issue_date=_optional_str(data, "bankIdIssueDate", where),
            step_up=StepUp.from_json(step_up) if step_up is not None else None,
            signature=_required_str(data, "signature", where),
            ocsp_response=_required_str(data, "ocspResponse", where),
            risk=_optional_str(data, "risk", where),
        )


@dataclass(frozen=True, slots=True)
class CollectResponse:
    """Answer to ``/collect``.

    ``hint_code`` is present for pending and failed orders, ``completion_data`` only for
    complete ones. The hint code is kept as sent, so a code added by BankID later still
    reaches the caller (which then shows the generic message, as BankID asks).
    """

    order_ref: str
    status: CollectStatus
    hint_code: str | None = None
    completion_data: CompletionData | None = None

    @property
    def known_hint_code(self) -> HintCode | None:
        if self.hint_code is None:
            return None
        try:
            return HintCode(self.hint_code)
        except ValueError:
            return None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CollectResponse:
        where = "collect answer"
        raw_status = _required_str(data, "status", where)
        try:
            status = CollectStatus(raw_status)
        except ValueError:
            raise BankIdProtocolError(f"collect answer: unknown status {raw_status!r}") from None
        completion = _object(data, "completionData", where)
        if status is CollectStatus.COMPLETE and completion is None:
            raise BankIdProtocolError("collect answer: complete without completionData")
        return cls(
            order_ref=_required_str(data, "orderRef", where),
            status=status,
            hint_code=_optional_str(data, "hintCode", where),
            completion_data=(
                CompletionData.from_json(completion)
                if status is CollectStatus.COMPLETE and completion is not None
                else None
            ),
        )


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


class BankIdClient:
    """One connection pool to one BankID environment, shared by every order in the process.

    Open it with :meth:`open` (which builds the TLS context off the event loop) and close it
    with :meth:`close`, or use ``async with``. Every call has a timeout; only errors BankID
    marks retryable are retried, with :class:`RetryPolicy`'s bounded back-off.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str = TEST_BASE_URL,
        request_timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        owns_session: bool = True,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._retry = retry or RetryPolicy()
        self._owns_session = owns_session

    @classmethod
    async def open(cls, config: BankIdConfig) -> BankIdClient:
        """A client with its own session: mutual TLS, pinned CA, a bounded connection pool."""
        context = await asyncio.to_thread(
            create_ssl_context,
            config.client_cert,
            config.client_key,
            config.ca_cert,
            config.key_password,
        )
        connector = aiohttp.TCPConnector(
            ssl=context,
            limit=config.max_connections,
            limit_per_host=config.max_connections,
        )
        session = aiohttp.ClientSession(connector=connector)
        return cls(
            session,
            base_url=config.base_url,
            request_timeout=config.request_timeout,
            retry=config.retry,
            owns_session=True,
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session; shared so that other callers reuse its TLS connections."""
        return self._session

    async def close(self) -> None:
        if self._owns_session and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> BankIdClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- API methods ---------------------------------------------------------------------------

    async def auth(self, request: AuthRequest) -> OrderResponse:
        return OrderResponse.from_json(await self._call("auth", request.to_json()))

    async def sign(self, request: SignRequest) -> OrderResponse:
        return OrderResponse.from_json(await self._call("sign", request.to_json()))

    async def phone_auth(self, request: PhoneAuthRequest) -> PhoneOrderResponse:
        return PhoneOrderResponse.from_json(await self._call("phone/auth", request.to_json()))

    async def collect(self, order_ref: str) -> CollectResponse:
        """One status check. BankID asks for one every two seconds while pending, no faster."""
        return CollectResponse.from_json(await self._call("collect", {"orderRef": order_ref}))

    async def cancel(self, order_ref: str) -> None:
        """Cancel a pending order ("Cancel": the answer is an empty object)."""
        await self._call("cancel", {"orderRef": order_ref})

    # -- transport -----------------------------------------------------------------------------

    async def _call(self, method: str, body: Mapping[str, Any]) -> dict[str, Any]:
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        attempt = 1
        while True:
            try:
                return await self._post_once(method, payload)
            except BankIdError as error:
                if not error.retryable or attempt >= self._retry.attempts:
                    raise
                delay = self._retry.delay(attempt)
                log.info(
                    "bankid %s answered %s; retry %d/%d in %.2fs",
                    method,
                    error.error_code,
                    attempt,
                    self._retry.attempts - 1,
                    delay,
                )
                await asyncio.sleep(delay)
                attempt += 1

    async def _post_once(self, method: str, payload: bytes) -> dict[str, Any]:
        url = f"{self._base_url}/{method}"
        started = time.perf_counter()
        try:
            async with self._session.post(url, data=payload, headers=_JSON_HEADERS, timeout=self._timeout) as response:
                status = response.status
                raw = await response.read()
        except TimeoutError:
            raise BankIdTransportError(f"{method}: no answer within the timeout") from None
        except aiohttp.ClientError as exc:
            # The exception text names host and TLS reason only; no request body is in it.
            raise BankIdTransportError(f"{method}: {exc.__class__.__name__}: {exc}") from exc
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        data = _decode(raw)
        if status == 200:
            if data is None:
                raise BankIdProtocolError(f"{method}: answer is not a JSON object")
            log.debug("bankid %s 200 in %.1f ms", method, elapsed_ms)
            return data
        error_code = data.get("errorCode") if data is not None else None
        details = data.get("details") if data is not None else None
        error = error_from_answer(
            status,
            error_code if isinstance(error_code, str) else None,
            details if isinstance(details, str) else None,
        )
        # Only the code and status are logged: details are BankID's text about our request.
        log.warning("bankid %s answered %d %s in %.1f ms", method, status, error.error_code, elapsed_ms)
        raise error


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
