"""BankID RP API v6.0 vocabulary as the simulator speaks it: statuses, hint codes, error codes.

Spelled exactly as in the specification (developers.bankid.com, API reference "Collect" and
"Errors"), because a relying party switches on these strings. The client side keeps its own
types in ``identity.bankid``; the simulator does not import them so that each side is written
against the specification, not against the other.
"""

from __future__ import annotations

import enum


class Status(str, enum.Enum):
    """``status`` in a collect response."""

    PENDING = "pending"
    FAILED = "failed"
    COMPLETE = "complete"


class HintCode(str, enum.Enum):
    """``hintCode`` in a collect response (pending and failed orders)."""

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


FAILED_HINT_CODES = frozenset(
    {
        HintCode.EXPIRED_TRANSACTION,
        HintCode.CERTIFICATE_ERR,
        HintCode.USER_CANCEL,
        HintCode.CANCELLED,
        HintCode.START_FAILED,
        HintCode.USER_DECLINED_CALL,
    }
)


class ErrorCode(str, enum.Enum):
    """``errorCode`` in an error response, with the HTTP status BankID sends it with."""

    ALREADY_IN_PROGRESS = "alreadyInProgress"
    INVALID_PARAMETERS = "invalidParameters"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "notFound"
    METHOD_NOT_ALLOWED = "methodNotAllowed"
    REQUEST_TIMEOUT = "requestTimeout"
    UNSUPPORTED_MEDIA_TYPE = "unsupportedMediaType"
    INTERNAL_ERROR = "internalError"
    MAINTENANCE = "maintenance"

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS[self]


# Errors table of the specification: 400 alreadyInProgress/invalidParameters, 401/403
# unauthorized (401 used here), 404 notFound, 405 methodNotAllowed, 408 requestTimeout,
# 415 unsupportedMediaType, 500 internalError, 503 maintenance.
_HTTP_STATUS = {
    ErrorCode.ALREADY_IN_PROGRESS: 400,
    ErrorCode.INVALID_PARAMETERS: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.MAINTENANCE: 503,
}

DEFAULT_DETAILS = {
    ErrorCode.ALREADY_IN_PROGRESS: "Order already in progress for pno",
    ErrorCode.INVALID_PARAMETERS: "Invalid parameters",
    ErrorCode.UNAUTHORIZED: "Unauthorized",
    ErrorCode.NOT_FOUND: "Not found",
    ErrorCode.METHOD_NOT_ALLOWED: "Method not allowed",
    ErrorCode.REQUEST_TIMEOUT: "Request timed out",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
    ErrorCode.INTERNAL_ERROR: "Internal error",
    ErrorCode.MAINTENANCE: "Service unavailable due to maintenance",
}


class ApiError(Exception):
    """An RP API call answered with a BankID error body ``{"errorCode", "details"}``."""

    def __init__(self, code: ErrorCode, details: str | None = None) -> None:
        super().__init__(f"{code.value}: {details or DEFAULT_DETAILS[code]}")
        self.code = code
        self.details = details or DEFAULT_DETAILS[code]

    def body(self) -> dict[str, str]:
        return {"errorCode": self.code.value, "details": self.details}
