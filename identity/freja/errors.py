"""What can go wrong talking to Freja eID, as :class:`identity.base.IdentityError` subclasses.

::

    identity.base.IdentityError
      └── FrejaError
          ├── FrejaApiError            Freja answered with an error object {"code": …, "message": …}
          ├── FrejaTransportError      no answer: connection or TLS failure, or our timeout
          └── FrejaProtocolError       an answer that breaks the specification, or a result whose
                                       signature does not verify against the pinned certificate

``error_code`` is a short text code every failure carries, so the application can choose a
message and an audit entry without knowing Freja's numbers.
"""

from __future__ import annotations

import re

from identity.base import IdentityError, IdentityTransportError

# Freja's free-text messages may quote what we sent; digit runs that could be a personal
# identity number are masked before they reach a log line or a traceback.
_PERSONAL_NUMBER_LIKE = re.compile(r"\d{6,8}[-+]?\d{4}")


def _mask(text: str) -> str:
    return _PERSONAL_NUMBER_LIKE.sub("<hidden>", text)


class FrejaError(IdentityError):
    """Base of every Freja failure."""

    error_code: str | None = "internalError"

    def __init__(self, details: str = "") -> None:
        super().__init__(_mask(details))


class FrejaTransportError(FrejaError, IdentityTransportError):
    """No answer from Freja: connection refused, TLS handshake failed, or our timeout passed."""

    error_code = "transportError"


class FrejaProtocolError(FrejaError):
    """Freja answered, but not as specified; or a signed result did not verify."""

    error_code = "protocolError"


class FrejaApiError(FrejaError):
    """Freja's error answer: ``{"code": 1100, "message": "Invalid reference …"}``.

    ``code`` is Freja's number. Only a few matter to the application; they get a text code of
    their own (``invalidReference`` for an order Freja no longer knows, for example).
    """

    def __init__(self, code: int, message: str, http_status: int) -> None:
        super().__init__(f"Freja error {code} (HTTP {http_status}): {message}")
        self.code = code
        self.http_status = http_status
        self.error_code = _TEXT_CODES.get(code, "apiError")  # per instance


# "Error codes" of the relying-party API that the application tells apart.
_TEXT_CODES = {
    1002: "invalidUserInfo",
    1004: "notAllowed",
    1008: "unknownRelyingParty",
    1100: "invalidReference",
    2000: "alreadyInProgress",
}
