"""BankID's recommended user messages: every documented code maps to the documented message."""

from __future__ import annotations

import subprocess
import sys

import pytest

from identity.bankid.messages import MESSAGES, Rfa, message, rfa_for_error, rfa_for_hint

# (hintCode, same_device, on_mobile, expected) for pending orders, from the v6 /collect
# reference and the user-messages page.
PENDING = [
    ("outstandingTransaction", True, True, Rfa.RFA13),
    ("outstandingTransaction", True, False, Rfa.RFA13),
    ("outstandingTransaction", False, True, Rfa.RFA1),
    ("outstandingTransaction", False, False, Rfa.RFA1),
    ("noClient", True, False, Rfa.RFA1),
    ("noClient", False, True, Rfa.RFA1),
    ("started", True, False, Rfa.RFA15A),
    ("started", True, True, Rfa.RFA15B),
    ("started", False, False, Rfa.RFA15A),
    ("started", False, True, Rfa.RFA15B),
    ("userSign", True, True, Rfa.RFA9),
    ("userSign", False, False, Rfa.RFA9),
    ("userMrtd", True, True, Rfa.RFA23),
    ("userMrtd", False, False, Rfa.RFA23),
    # BankID recommends no text for these: the fallback for any other pending code.
    ("userCallConfirm", False, False, Rfa.RFA21),
    ("somethingNew", True, True, Rfa.RFA21),
    ("", False, False, Rfa.RFA21),
    (None, False, True, Rfa.RFA21),
]

FAILED = [
    ("expiredTransaction", True, True, Rfa.RFA8),
    ("expiredTransaction", False, False, Rfa.RFA8),
    ("certificateErr", True, False, Rfa.RFA16),
    ("certificateErr", False, True, Rfa.RFA16),
    ("userCancel", True, True, Rfa.RFA6),
    ("userCancel", False, False, Rfa.RFA6),
    ("cancelled", True, False, Rfa.RFA3),
    ("cancelled", False, True, Rfa.RFA3),
    ("startFailed", True, True, Rfa.RFA17A),
    ("startFailed", True, False, Rfa.RFA17A),
    ("startFailed", False, True, Rfa.RFA17B),
    ("startFailed", False, False, Rfa.RFA17B),
    # BankID recommends no text for these: the fallback for any other failed code.
    ("userDeclinedCall", False, False, Rfa.RFA22),
    ("notSupportedByUserApp", True, True, Rfa.RFA22),
    ("transactionRiskBlocked", False, True, Rfa.RFA22),
    ("somethingNew", False, False, Rfa.RFA22),
    ("", True, True, Rfa.RFA22),
    (None, True, False, Rfa.RFA22),
]

ERRORS = [
    ("alreadyInProgress", Rfa.RFA4),
    ("requestTimeout", Rfa.RFA5),
    ("maintenance", Rfa.RFA5),
    ("internalError", Rfa.RFA5),
    # the relying party's own faults, never shown as a BankID error
    ("invalidParameters", Rfa.RFA22),
    ("unauthorized", Rfa.RFA22),
    ("notFound", Rfa.RFA22),
    ("methodNotAllowed", Rfa.RFA22),
    ("unsupportedMediaType", Rfa.RFA22),
    ("somethingNew", Rfa.RFA22),
    ("", Rfa.RFA22),
]


@pytest.mark.parametrize(("hint_code", "same_device", "on_mobile", "expected"), PENDING)
def test_pending_hint_codes(hint_code: str | None, same_device: bool, on_mobile: bool, expected: Rfa) -> None:
    rfa = rfa_for_hint(hint_code, pending=True, same_device=same_device, on_mobile=on_mobile)
    assert rfa is expected


@pytest.mark.parametrize(("hint_code", "same_device", "on_mobile", "expected"), FAILED)
def test_failed_hint_codes(hint_code: str | None, same_device: bool, on_mobile: bool, expected: Rfa) -> None:
    rfa = rfa_for_hint(hint_code, pending=False, same_device=same_device, on_mobile=on_mobile)
    assert rfa is expected


@pytest.mark.parametrize(("error_code", "expected"), ERRORS)
def test_error_codes(error_code: str, expected: Rfa) -> None:
    assert rfa_for_error(error_code) is expected


def test_started_defaults_to_the_text_that_fits_every_device() -> None:
    assert rfa_for_hint("started", pending=True, same_device=True) is Rfa.RFA15B


def test_a_pending_code_is_not_read_as_a_failed_one_or_back() -> None:
    assert rfa_for_hint("userCancel", pending=True, same_device=False) is Rfa.RFA21
    assert rfa_for_hint("userSign", pending=False, same_device=False) is Rfa.RFA22


def test_only_the_messages_bankid_lists_exist() -> None:
    assert {rfa.value for rfa in Rfa} == {
        "RFA1", "RFA2", "RFA3", "RFA4", "RFA5", "RFA6", "RFA8", "RFA9", "RFA13",
        "RFA15A", "RFA15B", "RFA16", "RFA17A", "RFA17B", "RFA19", "RFA20", "RFA21",
        "RFA22", "RFA23",
    }  # fmt: skip
    assert all(rfa.name == rfa.value for rfa in Rfa)


@pytest.mark.parametrize("rfa", list(Rfa))
def test_every_message_has_swedish_and_english_text(rfa: Rfa) -> None:
    texts = MESSAGES[rfa]

    assert set(texts) == {"sv", "en"}
    for text in texts.values():
        assert text
        assert text == text.strip()
        assert "  " not in text
    assert texts["sv"] != texts["en"]


def test_the_texts_are_bankids_own() -> None:
    assert MESSAGES[Rfa.RFA1] == {"sv": "Starta BankID-appen.", "en": "Start your BankID app."}
    assert MESSAGES[Rfa.RFA13]["sv"] == "Försöker starta BankID-appen."
    assert MESSAGES[Rfa.RFA6]["en"] == "The action was cancelled."
    assert MESSAGES[Rfa.RFA9]["sv"] == (
        "Skriv in din säkerhetskod i BankID-appen och välj Identifiera eller Skriv under."
    )
    assert MESSAGES[Rfa.RFA21]["sv"] == "En identifiering eller underskrift pågår."
    assert MESSAGES[Rfa.RFA22]["en"] == "Something went wrong. Please try again."


def test_the_messages_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        MESSAGES[Rfa.RFA1] = {"sv": "", "en": ""}  # type: ignore[index]
    with pytest.raises(TypeError):
        MESSAGES[Rfa.RFA1]["sv"] = ""  # type: ignore[index]


def test_message_is_swedish_by_default() -> None:
    assert message(Rfa.RFA6) == "Åtgärden avbröts."


@pytest.mark.parametrize("language", ["en", "EN", "en-GB", "en_US"])
def test_message_in_english(language: str) -> None:
    assert message(Rfa.RFA6, language) == "The action was cancelled."


@pytest.mark.parametrize("language", ["de", "fi", "", "-", "xx-YY"])
def test_an_unknown_language_falls_back_to_swedish(language: str) -> None:
    assert message(Rfa.RFA6, language) == "Åtgärden avbröts."


def test_every_mapped_message_has_a_text() -> None:
    chosen = {
        rfa_for_hint(code, pending=pending, same_device=same, on_mobile=mobile)
        for code, same, mobile, _ in PENDING + FAILED
        for pending in (True, False)
    } | {rfa_for_error(code) for code, _ in ERRORS}

    for rfa in chosen:
        assert message(rfa, "sv")
        assert message(rfa, "en")


def test_the_module_imports_nothing_of_the_service_or_its_transports() -> None:
    code = (
        "import sys, identity.bankid.messages\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'meetsvc', 'aiohttp', 'socketio', 'engineio'})\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
