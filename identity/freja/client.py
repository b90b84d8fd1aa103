"""An asyncio client for Freja eID's relying-party REST API (authentication), over mutual TLS.

Why its own client: the API is small — ``initAuthentication``, ``getOneResult``, ``cancel`` —
but shaped unlike a JSON API. Each request is an HTML form with a single field whose value is
base64 of a JSON object (``initAuthRequest=eyJ1c2…``), the relying party is known by its TLS
client certificate, and the result's evidence is the ``details`` JWS, checked here against
Freja's pinned signing certificate (:mod:`identity.freja.jws`) before anything in it is used.

Privacy: personal identity numbers pass through this module (``userInfo`` of type SSN, the
signed ``ssn`` attribute). They are never logged and hidden from every ``repr``.

Specification: Freja eID Relying Party Developers' Documentation, "Authentication Service":
``/authentication/1.0/initAuthentication``, ``/authentication/1.0/getOneResult``,
``/authentication/1.0/cancel``; "Error codes"; "Environments".
"""

from __future__ import annotations

import asyncio
import base64
import enum
import json
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from identity.freja.errors import FrejaApiError, FrejaProtocolError, FrejaTransportError
from identity.freja.jws import ResultVerifier

TEST_BASE_URL = "https://services.test.frejaeid.com"
PRODUCTION_BASE_URL = "https://services.prod.frejaeid.com"

INIT_PATH = "/authentication/1.0/initAuthentication"
RESULT_PATH = "/authentication/1.0/getOneResult"
CANCEL_PATH = "/authentication/1.0/cancel"


class RegistrationLevel(str, enum.Enum):
    """How well Freja knows the person. PLUS is Freja eID+ (checked in person, tillitsnivå 3)."""

    BASIC = "BASIC"
    EXTENDED = "EXTENDED"
    PLUS = "PLUS"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {RegistrationLevel.BASIC: 0, RegistrationLevel.EXTENDED: 1, RegistrationLevel.PLUS: 2}


class UserInfoType(str, enum.Enum):
    """Who is asked: INFERRED (whoever scans the QR code) or SSN (one named person)."""

    INFERRED = "INFERRED"
    SSN = "SSN"


class AuthStatus(str, enum.Enum):
    STARTED = "STARTED"
    DELIVERED_TO_MOBILE = "DELIVERED_TO_MOBILE"
    CANCELED = "CANCELED"
    RP_CANCELED = "RP_CANCELED"
    EXPIRED = "EXPIRED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"

    @property
    def final(self) -> bool:
        return self not in (AuthStatus.STARTED, AuthStatus.DELIVERED_TO_MOBILE)


# The attributes this service asks for: name, personal identity number, registration level.
DEFAULT_ATTRIBUTES = ("BASIC_USER_INFO", "SSN", "REGISTRATION_LEVEL")


@dataclass(frozen=True, slots=True)
class FrejaConfig:
    """Everything the client needs for one Freja environment.

    ``client_cert``/``client_key``: the relying-party certificate Freja issued (PEM, converted
    from the PKCS#12 file). ``ca_cert``: the CA trusted for Freja's server. ``signing_cert``:
    Freja's result-signing certificate for the environment, pinned for the JWS check.
    """

    client_cert: Path
    client_key: Path
    ca_cert: Path
    signing_cert: Path
    base_url: str = TEST_BASE_URL
    key_password: str | None = field(default=None, repr=False)
    request_timeout: float = 10.0
    max_connections: int = 50

    def __post_init__(self) -> None:
        if not self.base_url.startswith("https://"):
            raise ValueError("Freja eID is reached over HTTPS only (mutual TLS)")


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """``initAuthRequest``. ``ssn`` is used only with ``user_info_type`` SSN (hidden from repr)."""

    min_registration_level: RegistrationLevel = RegistrationLevel.EXTENDED
    user_info_type: UserInfoType = UserInfoType.INFERRED
    ssn: str | None = field(default=None, repr=False)
    country: str = "SE"
    attributes: tuple[str, ...] = DEFAULT_ATTRIBUTES

    def to_json(self) -> dict[str, Any]:
        if self.user_info_type is UserInfoType.SSN:
            if not self.ssn:
                raise ValueError("userInfoType SSN needs a personal identity number")
            user_info = _b64_json({"country": self.country, "ssn": self.ssn})
        else:
            user_info = "N/A"
        return {
            "userInfoType": self.user_info_type.value,
            "userInfo": user_info,
            "minRegistrationLevel": self.min_registration_level.value,
            "attributesToReturn": [{"attribute": name} for name in self.attributes],
        }


@dataclass(frozen=True, slots=True)
class SignedResult:
    """What Freja signed in ``details``: the person, only as the JWS says. Repr hides them."""

    auth_ref: str
    status: AuthStatus
    given_name: str = field(repr=False)
    surname: str = field(repr=False)
    ssn: str = field(repr=False)
    country: str
    registration_level: RegistrationLevel | None
    min_registration_level: RegistrationLevel | None
    timestamp_ms: int | None


@dataclass(frozen=True, slots=True)
class AuthResult:
    """One ``getOneResult`` answer. ``signed`` is set, verified, when the status is APPROVED."""

    auth_ref: str
    status: AuthStatus
    signed: SignedResult | None = None


def _b64_json(value: Any) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode("utf-8")).decode("ascii")


def form_body(field_name: str, payload: dict[str, Any]) -> str:
    """The request body Freja expects: one form field carrying base64 JSON."""
    return f"{field_name}={_b64_json(payload)}"


def create_ssl_context(
    client_cert: Path | str, client_key: Path | str, ca_cert: Path | str, key_password: str | None = None
) -> ssl.SSLContext:
    """Our relying-party certificate offered; only the configured CA trusted for Freja's server."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cafile=str(ca_cert))
    context.load_cert_chain(str(client_cert), str(client_key), password=key_password)
    return context


class FrejaClient:
    """One connection pool to one Freja environment, shared by every order in the process."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        verifier: ResultVerifier,
        *,
        base_url: str = TEST_BASE_URL,
        request_timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._verifier = verifier
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)

    @classmethod
    async def open(cls, config: FrejaConfig) -> FrejaClient:
        """A client with its own session; TLS context and pinned certificate read off the loop."""
        context = await asyncio.to_thread(
            create_ssl_context, config.client_cert, config.client_key, config.ca_cert, config.key_password
        )
        verifier = await asyncio.to_thread(ResultVerifier.from_file, config.signing_cert)
        connector = aiohttp.TCPConnector(ssl=context, limit=config.max_connections)
        return cls(
            aiohttp.ClientSession(connector=connector),
            verifier,
            base_url=config.base_url,
            request_timeout=config.request_timeout,
        )

    async def close(self) -> None:
        if not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> FrejaClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # The three calls -------------------------------------------------------------------------

    async def init_authentication(self, request: AuthRequest) -> str:
        """Start an authentication; Freja's ``authRef``."""
        answer = await self._post(INIT_PATH, form_body("initAuthRequest", request.to_json()))
        auth_ref = answer.get("authRef")
        if not isinstance(auth_ref, str) or not auth_ref:
            raise FrejaProtocolError("initAuthentication answer has no authRef")
        return auth_ref

    async def get_one_result(self, auth_ref: str) -> AuthResult:
        """The order's status; for APPROVED, the person as the verified ``details`` JWS says."""
        answer = await self._post(RESULT_PATH, form_body("getOneAuthResultRequest", {"authRef": auth_ref}))
        status = _status(answer.get("status"))
        if answer.get("authRef") != auth_ref:
            raise FrejaProtocolError("getOneResult answered for another authRef")
        if status is not AuthStatus.APPROVED:
            return AuthResult(auth_ref, status)
        details = answer.get("details")
        if not isinstance(details, str):
            raise FrejaProtocolError("an APPROVED result without details")
        return AuthResult(auth_ref, status, self._signed(auth_ref, self._verifier.verify(details)))

    async def cancel(self, auth_ref: str) -> None:
        await self._post(CANCEL_PATH, form_body("cancelAuthRequest", {"authRef": auth_ref}))

    # Plumbing --------------------------------------------------------------------------------

    def _signed(self, auth_ref: str, payload: dict[str, Any]) -> SignedResult:
        if payload.get("authRef") != auth_ref:
            raise FrejaProtocolError("the signed result is for another authRef")
        status = _status(payload.get("status"))
        if status is not AuthStatus.APPROVED:
            raise FrejaProtocolError("the signed result is not APPROVED")
        attributes = payload.get("requestedAttributes")
        if not isinstance(attributes, dict):
            raise FrejaProtocolError("the signed result has no requestedAttributes")
        basic = attributes.get("basicUserInfo")
        ssn = attributes.get("ssn")
        if not isinstance(basic, dict) or not isinstance(ssn, dict):
            raise FrejaProtocolError("the signed result lacks basicUserInfo or ssn")
        name, surname, number, country = basic.get("name"), basic.get("surname"), ssn.get("ssn"), ssn.get("country")
        if not all(isinstance(value, str) and value for value in (name, surname, number, country)):
            raise FrejaProtocolError("the signed result's basicUserInfo or ssn is incomplete")
        timestamp = payload.get("timestamp")
        return SignedResult(
            auth_ref=auth_ref,
            status=status,
            given_name=str(name),
            surname=str(surname),
            ssn=str(number),
            country=str(country),
            registration_level=_level(attributes.get("registrationLevel")),
            min_registration_level=_level(payload.get("minRegistrationLevel")),
            timestamp_ms=timestamp if isinstance(timestamp, int) else None,
        )

    async def _post(self, path: str, body: str) -> dict[str, Any]:
        try:
            async with self._session.post(
                self._base_url + path,
                data=body.encode("ascii"),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
                timeout=self._timeout,
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError, OSError) as error:
            raise FrejaTransportError(f"{path}: {error.__class__.__name__}") from None
        data = _decode(raw)
        if status == 200:
            if data is None:
                raise FrejaProtocolError(f"{path}: answer is not a JSON object")
            if isinstance(data.get("code"), int) and "status" not in data and "authRef" not in data:
                # An error object is an error whatever the HTTP status it came with.
                raise FrejaApiError(data["code"], str(data.get("message", "")), status)
            return data
        if data is not None and isinstance(data.get("code"), int):
            raise FrejaApiError(data["code"], str(data.get("message", "")), status)
        if status >= 500:
            raise FrejaTransportError(f"{path}: HTTP {status} without an error object")
        raise FrejaProtocolError(f"{path}: HTTP {status} without an error object")


def _decode(raw: bytes) -> dict[str, Any] | None:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _status(value: object) -> AuthStatus:
    try:
        return AuthStatus(value)
    except ValueError:
        raise FrejaProtocolError(f"unknown status {value!r}") from None


def _level(value: object) -> RegistrationLevel | None:
    if value is None:
        return None
    try:
        return RegistrationLevel(value)
    except ValueError:
        raise FrejaProtocolError(f"unknown registration level {value!r}") from None
