"""Check RP API request bodies the way BankID does, field by field.

Every rule below comes from the v6.0 API reference (developers.bankid.com, "Auth", "Sign",
"Phone auth", "Phone sign", "Collect", "Cancel"); a body that breaks one is answered
``400 invalidParameters`` with a ``details`` text naming the field, and creates nothing.
Unknown fields are refused too, so a client that misspells a parameter finds out here rather
than in production, where the parameter would silently have no effect.
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from identity.bankid.simulator.codes import ApiError, ErrorCode
from identity.bankid.simulator.persons import is_valid_personal_number


class OrderKind(str, enum.Enum):
    """Which start endpoint created an order; the value is the path below ``/rp/v6.0/``."""

    AUTH = "auth"
    SIGN = "sign"
    PHONE_AUTH = "phone/auth"
    PHONE_SIGN = "phone/sign"

    @property
    def is_phone(self) -> bool:
        return self in (OrderKind.PHONE_AUTH, OrderKind.PHONE_SIGN)

    @property
    def is_sign(self) -> bool:
        return self in (OrderKind.SIGN, OrderKind.PHONE_SIGN)


@dataclass(frozen=True, slots=True)
class StartParameters:
    """A valid start request, decoded. ``personal_number`` is ``requirement.personalNumber``
    for auth/sign and the top-level ``personalNumber`` for the phone endpoints."""

    kind: OrderKind
    end_user_ip: str | None = None
    personal_number: str | None = None
    call_initiator: str | None = None
    pin_code: bool = False
    mrtd: bool = False
    card_reader: str | None = None
    certificate_policies: tuple[str, ...] = ()
    user_visible_data: str | None = None
    user_visible_data_format: str | None = None
    user_non_visible_data: str | None = None
    return_url: str | None = None
    return_risk: bool = False
    web: Mapping[str, str] | None = None
    app: Mapping[str, str] | None = None


# Lengths are counted on the base64 text, as the specification states them.
_VISIBLE_DATA_MAX = {
    OrderKind.AUTH: 1_500,
    OrderKind.PHONE_AUTH: 1_500,
    OrderKind.SIGN: 40_000,
    OrderKind.PHONE_SIGN: 40_000,
}
_NON_VISIBLE_DATA_MAX = 200_000

_COMMON_FIELDS = frozenset({"requirement", "userVisibleData", "userNonVisibleData", "userVisibleDataFormat"})
_FIELDS = {
    OrderKind.AUTH: _COMMON_FIELDS | {"endUserIp", "returnUrl", "returnRisk", "web", "app"},
    OrderKind.SIGN: _COMMON_FIELDS | {"endUserIp", "returnUrl", "returnRisk", "web", "app"},
    OrderKind.PHONE_AUTH: _COMMON_FIELDS | {"personalNumber", "callInitiator"},
    OrderKind.PHONE_SIGN: _COMMON_FIELDS | {"personalNumber", "callInitiator"},
}
_REQUIREMENT_FIELDS = frozenset({"pinCode", "mrtd", "cardReader", "certificatePolicies", "personalNumber"})
# The phone endpoints take the personal number at the top level, not in the requirement.
_PHONE_REQUIREMENT_FIELDS = _REQUIREMENT_FIELDS - {"personalNumber"}
_WEB_FIELDS = frozenset({"deviceIdentifier", "referringDomain", "userAgent"})
_APP_FIELDS = frozenset({"appIdentifier", "deviceOS", "deviceModelName", "deviceIdentifier"})
_CARD_READERS = frozenset({"class1", "class2"})
_CALL_INITIATORS = frozenset({"user", "RP"})
_VISIBLE_DATA_FORMATS = frozenset({"simpleMarkdownV1"})
_OID_COMPONENT = re.compile(r"^(0|[1-9][0-9]*)$")


def parse_start(kind: OrderKind, body: object) -> StartParameters:
    """Validate the body of an auth, sign, phone/auth or phone/sign call."""
    fields = _object(body, "body")
    _refuse_unknown(fields, _FIELDS[kind], prefix="")

    end_user_ip: str | None = None
    personal_number: str | None = None
    call_initiator: str | None = None
    if kind.is_phone:
        personal_number = _personal_number(_required(fields, "personalNumber"), "personalNumber")
        call_initiator = _required(fields, "callInitiator")
        if call_initiator not in _CALL_INITIATORS:
            raise _invalid("callInitiator")
    else:
        end_user_ip = _end_user_ip(_required(fields, "endUserIp"))

    requirement = _requirement(fields.get("requirement"), phone=kind.is_phone)
    if requirement.get("personalNumber") is not None:
        personal_number = requirement["personalNumber"]

    visible_b64 = fields.get("userVisibleData")
    if kind.is_sign and visible_b64 is None:
        raise _missing("userVisibleData")
    user_visible_data = None
    if visible_b64 is not None:
        user_visible_data = _base64_text(visible_b64, "userVisibleData", _VISIBLE_DATA_MAX[kind])
    non_visible_b64 = fields.get("userNonVisibleData")
    if non_visible_b64 is not None:
        _base64_bytes(non_visible_b64, "userNonVisibleData", _NON_VISIBLE_DATA_MAX)
    visible_format = fields.get("userVisibleDataFormat")
    if visible_format is not None and visible_format not in _VISIBLE_DATA_FORMATS:
        raise _invalid("userVisibleDataFormat")

    return_url = fields.get("returnUrl")
    if return_url is not None:
        _return_url(return_url)
    return_risk = fields.get("returnRisk", False)
    if not isinstance(return_risk, bool):
        raise _invalid("returnRisk")

    web = _device(fields.get("web"), "web", _WEB_FIELDS)
    app = _device(fields.get("app"), "app", _APP_FIELDS)
    if web is not None and app is not None:
        # A start comes either from a browser or from an app, never both.
        raise ApiError(ErrorCode.INVALID_PARAMETERS, "Invalid parameters: use app or web, not both")

    return StartParameters(
        kind=kind,
        end_user_ip=end_user_ip,
        personal_number=personal_number,
        call_initiator=call_initiator,
        pin_code=requirement.get("pinCode", False),
        mrtd=requirement.get("mrtd", False),
        card_reader=requirement.get("cardReader"),
        certificate_policies=tuple(requirement.get("certificatePolicies", ())),
        user_visible_data=user_visible_data,
        user_visible_data_format=visible_format,
        user_non_visible_data=non_visible_b64,
        return_url=return_url,
        return_risk=return_risk,
        web=web,
        app=app,
    )


def parse_order_ref(body: object) -> str:
    """Validate the body of a collect or cancel call: exactly ``{"orderRef": "<uuid>"}``."""
    fields = _object(body, "body")
    _refuse_unknown(fields, frozenset({"orderRef"}), prefix="")
    order_ref = _required(fields, "orderRef")
    if not isinstance(order_ref, str):
        raise _invalid("orderRef")
    try:
        uuid.UUID(order_ref)
    except ValueError:
        # The specification has no separate code for a malformed reference; BankID answers it
        # like an unknown one.
        raise ApiError(ErrorCode.INVALID_PARAMETERS, "No such order") from None
    return order_ref


# --- field rules ---------------------------------------------------------------------------


def _object(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(name)
    return value


def _refuse_unknown(fields: Mapping[str, Any], allowed: frozenset[str], *, prefix: str) -> None:
    for key in fields:
        if key not in allowed:
            raise ApiError(ErrorCode.INVALID_PARAMETERS, f"Unknown parameter: {prefix}{key}")


def _required(fields: Mapping[str, Any], name: str) -> Any:
    value = fields.get(name)
    if value is None:
        raise _missing(name)
    return value


def _end_user_ip(value: object) -> str:
    """``endUserIp``: the user's address as the RP sees it, IPv4 or IPv6."""
    if not isinstance(value, str):
        raise _invalid("endUserIp")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise _invalid("endUserIp") from None


def _personal_number(value: object, name: str) -> str:
    """12 digits, century included (YYYYMMDDNNNC), with a correct check digit."""
    if not isinstance(value, str) or not is_valid_personal_number(value):
        raise ApiError(ErrorCode.INVALID_PARAMETERS, f"Incorrect {name}")
    return value


def _requirement(value: object, *, phone: bool) -> dict[str, Any]:
    if value is None:
        return {}
    fields = _object(value, "requirement")
    _refuse_unknown(fields, _PHONE_REQUIREMENT_FIELDS if phone else _REQUIREMENT_FIELDS, prefix="requirement.")
    result: dict[str, Any] = {}
    for flag in ("pinCode", "mrtd"):
        if flag in fields:
            if not isinstance(fields[flag], bool):
                raise _invalid(f"requirement.{flag}")
            result[flag] = fields[flag]
    if "cardReader" in fields:
        if fields["cardReader"] not in _CARD_READERS:
            raise _invalid("requirement.cardReader")
        result["cardReader"] = fields["cardReader"]
    if "certificatePolicies" in fields:
        result["certificatePolicies"] = _certificate_policies(fields["certificatePolicies"])
    if "personalNumber" in fields:
        result["personalNumber"] = _personal_number(fields["personalNumber"], "requirement.personalNumber")
    return result


def _certificate_policies(value: object) -> list[str]:
    """A non-empty list of OIDs; one ``*`` wildcard is allowed, as a whole component from the
    fifth one onwards (e.g. ``1.2.752.78.*``)."""
    if not isinstance(value, list) or not value:
        raise _invalid("requirement.certificatePolicies")
    for policy in value:
        if not isinstance(policy, str):
            raise _invalid("requirement.certificatePolicies")
        components = policy.split(".")
        wildcards = [index for index, part in enumerate(components) if part == "*"]
        if len(components) < 2 or len(wildcards) > 1 or (wildcards and wildcards[0] < 4):
            raise _invalid("requirement.certificatePolicies")
        if not all(part == "*" or _OID_COMPONENT.match(part) for part in components):
            raise _invalid("requirement.certificatePolicies")
    return list(value)


def _base64_bytes(value: object, name: str, max_length: int) -> bytes:
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise _invalid(name)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(name) from None


def _base64_text(value: object, name: str, max_length: int) -> str:
    """``userVisibleData`` is UTF-8 text, base64-encoded."""
    raw = _base64_bytes(value, name, max_length)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(name) from None


def _return_url(value: object) -> None:
    """An absolute URL; apps may use their own scheme, web pages need a host."""
    if not isinstance(value, str) or not value or any(char.isspace() for char in value):
        raise _invalid("returnUrl")
    parts = urlsplit(value)
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
        raise _invalid("returnUrl")


def _device(value: object, name: str, allowed: frozenset[str]) -> Mapping[str, str] | None:
    if value is None:
        return None
    fields = _object(value, name)
    _refuse_unknown(fields, allowed, prefix=f"{name}.")
    for key, item in fields.items():
        if not isinstance(item, str) or not item:
            raise _invalid(f"{name}.{key}")
    return MappingProxyType(dict(fields))


def _invalid(name: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_PARAMETERS, f"Invalid {name}")


def _missing(name: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_PARAMETERS, f"Missing {name}")
