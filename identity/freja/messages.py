"""What the person reads while identifying with Freja eID, in Swedish and English.

Freja publishes no fixed sentences as BankID does, so these say plainly what happened and what
to do, keyed by Freja's status (``STARTED``, ``DELIVERED_TO_MOBILE``, ``CANCELED``,
``RP_CANCELED``, ``EXPIRED``, ``REJECTED``), our own ``registrationLevelTooLow`` and
``cancelled``, and the text codes of :mod:`identity.freja.errors` for a start that failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


def _texts(sv: str, en: str) -> Mapping[str, str]:
    return MappingProxyType({"sv": sv, "en": en})


_SCAN = _texts(
    "Starta Freja-appen och skanna QR-koden.",
    "Start the Freja app and scan the QR code.",
)
_OPEN = _texts(
    "Öppna Freja-appen och godkänn identifieringen.",
    "Open the Freja app and approve the identification.",
)
_IN_APP = _texts(
    "Godkänn identifieringen i Freja-appen.",
    "Approve the identification in the Freja app.",
)
_CANCELLED = _texts("Identifieringen avbröts.", "The identification was cancelled.")
_EXPIRED = _texts(
    "Tiden för identifieringen gick ut. Försök igen.",
    "The identification timed out. Try again.",
)
_REJECTED = _texts(
    "Freja eID kunde inte identifiera dig. Försök igen eller använd BankID.",
    "Freja eID could not identify you. Try again or use BankID.",
)
_LEVEL = _texts(
    "Din Freja eID har inte den nivå som krävs. Uppgradera till Freja eID+ i appen, eller använd BankID.",
    "Your Freja eID does not have the level required. Upgrade to Freja eID+ in the app, or use BankID.",
)
_UNAVAILABLE = _texts(
    "Freja eID kan inte nås just nu. Försök igen om en stund eller använd BankID.",
    "Freja eID cannot be reached right now. Try again in a while or use BankID.",
)
_IN_PROGRESS = _texts(
    "Du har redan en identifiering på gång i Freja-appen. Avsluta den och försök igen.",
    "You already have an identification in progress in the Freja app. Finish it and try again.",
)

_DONE = _texts("Klart, du är identifierad.", "Done, you are identified.")

_FINAL = {
    "CANCELED": _CANCELLED,
    "RP_CANCELED": _CANCELLED,
    "cancelled": _CANCELLED,
    "EXPIRED": _EXPIRED,
    "REJECTED": _REJECTED,
    "registrationLevelTooLow": _LEVEL,
    "alreadyInProgress": _IN_PROGRESS,
}


def hint_message(hint_code: str | None, *, pending: bool, same_device: bool, language: str) -> str:
    if pending and hint_code == "DELIVERED_TO_MOBILE":
        texts = _IN_APP
    elif pending:
        texts = _OPEN if same_device else _SCAN
    elif hint_code is None:
        texts = _DONE
    else:
        texts = _FINAL.get(hint_code, _REJECTED)
    return texts.get(language, texts["sv"])


def error_message(error_code: str | None, language: str) -> str:
    texts = _FINAL.get(error_code or "", _UNAVAILABLE)
    return texts.get(language, texts["sv"])
