"""BankID's error answers as exception classes, named after the specification's ``errorCode``.

The relying-party API answers an error with an HTTP status and a JSON body
``{"errorCode": "...", "details": "..."}`` (BankID RP API v6.0, "Errors"). Each documented
``errorCode`` is one class here, so callers catch a type, never match a string. Each class says
what BankID tells the relying party (RP) to do: whether it may try again automatically, and
which recommended user message (RFA) applies.

Exception tree::

    identity.base.IdentityError
     └── BankIdError                    every BankID failure; .error_code, .details, .retryable
          ├── BankIdApiError            BankID answered with an errorCode (or an error status)
          │    ├── AlreadyInProgress        400  alreadyInProgress     no retry, RFA4
          │    ├── InvalidParameters        400  invalidParameters     no retry
          │    ├── Unauthorized             401/403 unauthorized       no retry
          │    ├── NotFound                 404  notFound              no retry
          │    ├── MethodNotAllowed         405  methodNotAllowed      no retry
          │    ├── RequestTimeout           408  requestTimeout        no automatic retry, RFA5
          │    ├── UnsupportedMediaType     415  unsupportedMediaType  no retry
          │    ├── InternalError            500  internalError         no automatic retry, RFA5
          │    ├── Maintenance              503  maintenance           retry allowed, RFA5
          │    └── UnknownErrorCode         any code not listed above  no retry, RFA22
          ├── BankIdTransportError      no answer: connection or TLS failure, or our own timeout
          └── BankIdProtocolError       an answer that does not follow the specification

Retry rule, from the specification's "Action by RP" column: only ``maintenance`` says
"RP may try again without informing the user"; ``requestTimeout`` and ``internalError`` say
"RP must not automatically try again" and that the user must be told (RFA5). The client honours
exactly that through :attr:`BankIdError.retryable`.
"""

from __future__ import annotations

import re
from typing import ClassVar

from identity.base import IdentityError, IdentityTransportError

# Digit runs that could be a personal identity number (YYMMDD-NNNN, YYYYMMDDNNNN …). BankID's
# free-text ``details`` is ours to show in logs and tracebacks, so such runs are masked there.
_PERSONAL_NUMBER_LIKE = re.compile(r"\d{6,8}[-+]?\d{4}")


def _mask(text: str | None) -> str | None:
    if text is None:
        return None
    return _PERSONAL_NUMBER_LIKE.sub("<hidden>", text)


class BankIdError(IdentityError):
    """Base of every BankID failure.

    ``error_code`` is BankID's own code when it gave one, ``details`` its free text.
    ``retryable`` says whether BankID allows the RP to repeat the same request automatically.
    ``rfa`` names the recommended user message ("RFA5" …) BankID says to show, if any.
    """

    error_code: ClassVar[str | None] = None
    retryable: ClassVar[bool] = False
    rfa: ClassVar[str | None] = None

    def __init__(self, details: str | None = None) -> None:
        self.details = details
        # args feed repr() and pickling; they get the masked text only.
        super().__init__(_mask(details) or self.__class__.__name__)

    def __str__(self) -> str:
        # The message never carries anything that looks like a personal number.
        code = self.error_code or self.__class__.__name__
        masked = _mask(self.details)
        return f"{code}: {masked}" if masked else code


class BankIdApiError(BankIdError):
    """BankID answered the request with an error status and (normally) an ``errorCode``."""

    http_statuses: ClassVar[tuple[int, ...]] = ()

    def __init__(self, details: str | None = None, *, http_status: int | None = None) -> None:
        super().__init__(details)
        self.http_status = http_status


class AlreadyInProgress(BankIdApiError):
    """An order for this user is already in progress; BankID aborted it and created none.

    The RP must tell the user that an order is already in progress (RFA4).
    """

    error_code = "alreadyInProgress"
    http_statuses = (400,)
    rfa = "RFA4"


class InvalidParameters(BankIdApiError):
    """A parameter was invalid, or the orderRef is unknown, finished or too old to collect.

    An internal error of the RP: must not be repeated nor shown to the user as a BankID error.
    """

    error_code = "invalidParameters"
    http_statuses = (400,)


class Unauthorized(BankIdApiError):
    """The RP has no access to the service (certificate not accepted or agreement ended)."""

    error_code = "unauthorized"
    http_statuses = (401, 403)


class NotFound(BankIdApiError):
    """A wrong URL path was used (for example a wrong API version in the base URL)."""

    error_code = "notFound"
    http_statuses = (404,)


class MethodNotAllowed(BankIdApiError):
    """Only POST is allowed on the RP API."""

    error_code = "methodNotAllowed"
    http_statuses = (405,)


class RequestTimeout(BankIdApiError):
    """The request took too long to transmit.

    BankID: the RP must not automatically try again and must tell the user (RFA5).
    """

    error_code = "requestTimeout"
    http_statuses = (408,)
    rfa = "RFA5"


class UnsupportedMediaType(BankIdApiError):
    """The Content-Type was not exactly ``application/json`` (a charset parameter is refused)."""

    error_code = "unsupportedMediaType"
    http_statuses = (415,)


class InternalError(BankIdApiError):
    """An internal technical error in the BankID system.

    BankID: the RP must not automatically try again and must tell the user (RFA5).
    """

    error_code = "internalError"
    http_statuses = (500,)
    rfa = "RFA5"


class Maintenance(BankIdApiError):
    """The service is temporarily unavailable.

    BankID: the RP may try again without telling the user; if it keeps happening, tell the
    user (RFA5).
    """

    error_code = "maintenance"
    http_statuses = (503,)
    retryable = True
    rfa = "RFA5"


class UnknownErrorCode(BankIdApiError):
    """An ``errorCode`` this client does not know.

    BankID may add error codes without notice; the RP must handle them and show RFA22.
    ``error_code`` holds the code as BankID sent it (None if the answer had none).
    """

    rfa = "RFA22"

    def __init__(
        self,
        details: str | None = None,
        *,
        http_status: int | None = None,
        error_code: str | None = None,
    ) -> None:
        super().__init__(details, http_status=http_status)
        self.error_code = error_code  # type: ignore[misc]  # per instance, not per class


class BankIdTransportError(BankIdError, IdentityTransportError):
    """No answer from BankID: connection refused, TLS handshake failed, or our timeout passed."""


class BankIdProtocolError(BankIdError):
    """BankID answered, but not as the specification says (bad JSON, missing fields …)."""


KNOWN_ERRORS: tuple[type[BankIdApiError], ...] = (
    AlreadyInProgress,
    InvalidParameters,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    UnsupportedMediaType,
    InternalError,
    Maintenance,
)

_BY_CODE: dict[str, type[BankIdApiError]] = {cls.error_code: cls for cls in KNOWN_ERRORS}  # type: ignore[misc]  # every known error has a code

# Statuses that name exactly one error, for answers that arrive without a JSON body
# (a front proxy's 503 page, for instance). 400 is shared by two codes, so it is not here.
_BY_STATUS: dict[int, type[BankIdApiError]] = {
    status: cls for cls in KNOWN_ERRORS for status in cls.http_statuses if status != 400
}


def error_from_answer(http_status: int, error_code: str | None, details: str | None) -> BankIdApiError:
    """The exception for one error answer: by ``errorCode`` first, by HTTP status otherwise."""
    if error_code is not None:
        cls = _BY_CODE.get(error_code)
        if cls is None:
            return UnknownErrorCode(details, http_status=http_status, error_code=error_code)
        return cls(details, http_status=http_status)
    by_status = _BY_STATUS.get(http_status)
    if by_status is not None:
        return by_status(details, http_status=http_status)
    return UnknownErrorCode(details, http_status=http_status, error_code=None)
