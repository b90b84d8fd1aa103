"""BankID's recommended user messages ("RFA" texts) and which one to show when.

BankID asks every relying party to tell the person what is happening with the texts it
recommends, chosen from the ``hintCode`` of a collect or the ``errorCode`` of a failed
call. People meet the same sentences in every service that uses BankID, so they recognise
them and know what to do; and the texts say nothing about this service that an attacker
could use. The ``details`` BankID sends with an error are meant for developers and are
never shown.

Sources: BankID's developer documentation for the RP API v6 — *User messages*
(https://developers.bankid.com/ui-resources/user-messages), and the API references for
``/collect`` (hint codes) and errors (error codes). Earlier relying-party guidelines
(v3.x) had other wordings and the messages RFA7, RFA10–RFA12, RFA14 and RFA18; they are
not in the current list and not here.

The texts are BankID's word for word, with two misspellings in the published list
corrected: RFA15B in Swedish reads "gitligt" (for "giltigt"), and RFA23 in English reads
"you ID document" (for "your ID document").

Which message fits sometimes depends on how the app was started: ``same_device`` is true
when the page opened BankID on this device (autostart) and false when the person scans a
QR code with another device; ``on_mobile`` says whether the page is shown on a phone or a
tablet rather than a computer.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType

__all__ = ["MESSAGES", "Rfa", "message", "rfa_for_error", "rfa_for_hint"]


class Rfa(str, Enum):
    """The recommended messages that exist, named as BankID names them."""

    RFA1 = "RFA1"  # start the app (QR code, or noClient)
    RFA2 = "RFA2"  # the app seems not to be installed on this device
    RFA3 = "RFA3"  # cancelled: a new order replaced this one
    RFA4 = "RFA4"  # alreadyInProgress
    RFA5 = "RFA5"  # requestTimeout, maintenance, internalError
    RFA6 = "RFA6"  # userCancel
    RFA8 = "RFA8"  # expiredTransaction
    RFA9 = "RFA9"  # userSign
    RFA13 = "RFA13"  # outstandingTransaction after autostart
    RFA15A = "RFA15A"  # started, on a computer
    RFA15B = "RFA15B"  # started, on a mobile device
    RFA16 = "RFA16"  # certificateErr
    RFA17A = "RFA17A"  # startFailed after autostart
    RFA17B = "RFA17B"  # startFailed with a QR code
    RFA19 = "RFA19"  # asking a computer user which BankID to use
    RFA20 = "RFA20"  # asking a mobile user which device to use
    RFA21 = "RFA21"  # pending, any other hint code
    RFA22 = "RFA22"  # failed, any other hint code or error
    RFA23 = "RFA23"  # userMrtd: scan the ID document


def _texts(sv: str, en: str) -> Mapping[str, str]:
    return MappingProxyType({"sv": sv, "en": en})


MESSAGES: Mapping[Rfa, Mapping[str, str]] = MappingProxyType(
    {
        Rfa.RFA1: _texts("Starta BankID-appen.", "Start your BankID app."),
        Rfa.RFA2: _texts(
            "Du verkar inte ha BankID-appen. Installera den och skaffa ett BankID.",
            "You don't seem to have the BankID app. Install the app and get a BankID.",
        ),
        Rfa.RFA3: _texts(
            "Åtgärden avbröts. Försök igen.",
            "The action was cancelled. Please try again.",
        ),
        Rfa.RFA4: _texts(
            "En identifiering eller underskrift pågår redan för ditt personnummer. Försök igen.",
            "An identification or signature is already in progress for your personal "
            "identity number. Please try again.",
        ),
        Rfa.RFA5: _texts(
            "Något gick fel. Försök igen.",
            "Something went wrong. Please try again.",
        ),
        Rfa.RFA6: _texts("Åtgärden avbröts.", "The action was cancelled."),
        Rfa.RFA8: _texts(
            "BankID-appen svarar inte. Kontrollera att den är startad och att du har "
            "internetanslutning. Försök sedan igen.",
            "The BankID app is not responding. Please check that it’s started and that "
            "you have internet access. Try again.",
        ),
        Rfa.RFA9: _texts(
            "Skriv in din säkerhetskod i BankID-appen och välj Identifiera eller Skriv under.",
            "Enter your security code in the BankID app and select Identify or Sign.",
        ),
        Rfa.RFA13: _texts("Försöker starta BankID-appen.", "Trying to start your BankID app."),
        Rfa.RFA15A: _texts(
            "Söker efter BankID. Säkerställ att du har ett giltigt BankID på den här datorn. "
            "Om du har ett BankID på kort, sätt in kortet i kortläsaren.",
            "Searching for BankID. Make sure you have a valid BankID on this computer. "
            "If you have a BankID on card, please insert the card into your card reader.",
        ),
        Rfa.RFA15B: _texts(
            "Söker efter BankID. Säkerställ att du har ett giltigt BankID på den här enheten.",
            "Searching for BankID. Make sure you have a valid BankID on this device.",
        ),
        Rfa.RFA16: _texts(
            "Ditt BankID är för gammalt eller spärrat. Använd ett annat BankID eller skaffa ett nytt hos din bank.",
            "Your BankID is blocked or too old. Please use another BankID or get a new one from your bank.",
        ),
        Rfa.RFA17A: _texts(
            "Du verkar inte ha BankID-appen/programmet. Installera den och skaffa ett BankID hos din bank.",
            "You don't seem to have the BankID app/program. Please install it and get a BankID from your bank.",
        ),
        Rfa.RFA17B: _texts(
            "Misslyckades att läsa av QR-koden. Starta BankID-appen och läs av QR-koden.",
            "Failed to scan the QR code. Start the BankID app and scan the QR code.",
        ),
        Rfa.RFA19: _texts(
            "Vill du använda BankID på den här datorn eller ett Mobilt BankID?",
            "Would you like to use BankID on this computer, or a Mobile BankID?",
        ),
        Rfa.RFA20: _texts(
            "Vill du använda BankID på den här enheten eller på en annan enhet?",
            "Do you want to use BankID on this device or another device?",
        ),
        Rfa.RFA21: _texts(
            "En identifiering eller underskrift pågår.",
            "An identification or signing is in progress.",
        ),
        Rfa.RFA22: _texts(
            "Något gick fel. Försök igen.",
            "Something went wrong. Please try again.",
        ),
        Rfa.RFA23: _texts(
            "Fotografera och läs av din ID-handling med BankID-appen.",
            "Take a photo of, and scan, your ID document with the BankID app.",
        ),
    }
)

# Hint codes whose message does not depend on how the app was started. The ones that do
# (outstandingTransaction, started, startFailed) are decided in rfa_for_hint. BankID gives
# no message for userCallConfirm, userDeclinedCall (phone authentication, which this
# package does not start), notSupportedByUserApp or transactionRiskBlocked (payments):
# they get the fallback BankID prescribes for any other code, RFA21 or RFA22.
_PENDING: Mapping[str, Rfa] = MappingProxyType(
    {
        "noClient": Rfa.RFA1,
        "userSign": Rfa.RFA9,
        "userMrtd": Rfa.RFA23,
    }
)
_FAILED: Mapping[str, Rfa] = MappingProxyType(
    {
        "expiredTransaction": Rfa.RFA8,
        "certificateErr": Rfa.RFA16,
        "userCancel": Rfa.RFA6,
        "cancelled": Rfa.RFA3,
    }
)

# invalidParameters, unauthorized, notFound, methodNotAllowed and unsupportedMediaType are
# faults of the relying party, which BankID says must not be shown as a BankID error: they
# fall back to RFA22 like any unknown code. BankID asks for maintenance to be retried
# before RFA5 is shown; retrying is the caller's job.
_ERRORS: Mapping[str, Rfa] = MappingProxyType(
    {
        "alreadyInProgress": Rfa.RFA4,
        "requestTimeout": Rfa.RFA5,
        "maintenance": Rfa.RFA5,
        "internalError": Rfa.RFA5,
    }
)


def rfa_for_hint(hint_code: str | None, *, pending: bool, same_device: bool, on_mobile: bool = True) -> Rfa:
    """The message for a collect answer: ``pending`` true while the order is pending,
    false once it has failed.

    ``on_mobile`` matters only for ``started``. It defaults to true because RFA15B ("a
    valid BankID on this device") is right on any device, while RFA15A speaks of a
    computer and a card reader.
    """
    if pending:
        if hint_code == "outstandingTransaction":
            return Rfa.RFA13 if same_device else Rfa.RFA1
        if hint_code == "started":
            return Rfa.RFA15B if on_mobile else Rfa.RFA15A
        return _PENDING.get(hint_code or "", Rfa.RFA21)
    if hint_code == "startFailed":
        return Rfa.RFA17A if same_device else Rfa.RFA17B
    return _FAILED.get(hint_code or "", Rfa.RFA22)


def rfa_for_error(error_code: str) -> Rfa:
    """The message for an ``errorCode`` in BankID's answer to auth, sign, collect or cancel."""
    return _ERRORS.get(error_code, Rfa.RFA22)


def message(rfa: Rfa, language: str = "sv") -> str:
    """The text of ``rfa`` in ``language``; Swedish for a language BankID gives no text in.

    A region or script tag is ignored, so ``"en-GB"`` gives the English text.
    """
    texts = MESSAGES[rfa]
    primary = language.replace("_", "-").split("-", 1)[0].lower()
    return texts.get(primary, texts["sv"])
