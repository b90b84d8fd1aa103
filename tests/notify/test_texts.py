"""Message templates: the built-in ones in both languages, IT's own folder overriding them file by
file, and mistakes caught when the service starts instead of when a message is sent."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from meetsvc.core.spoken_time import spoken_time
from meetsvc.domain.messages import MessageKind
from meetsvc.notify.texts import BUILT_IN, LANGUAGES, VARIABLES, MessageTexts, TemplateProblem, parts_of


def test_every_built_in_template_exists_and_renders(texts: MessageTexts):
    for language in LANGUAGES:
        for kind in MessageKind:
            for part in parts_of(kind):
                assert (BUILT_IN / language / f"{kind.value}.{part}").is_file()
            rendered = texts.render(language, kind, VARIABLES)
            assert "\n" not in rendered.subject
            if not kind.cancels_calendar_entry:
                assert VARIABLES["link"] in rendered.body and VARIABLES["link"] in rendered.sms
            else:
                assert VARIABLES["link"] not in rendered.body + rendered.sms


@pytest.mark.parametrize(
    "starts, ends, language, when",
    [
        (datetime(2027, 7, 13, 8, 0), datetime(2027, 7, 13, 9, 0), "sv", "tisdag 13 juli 2027 kl. 10.00–11.00"),
        (
            datetime(2027, 12, 14, 12, 30),
            datetime(2027, 12, 14, 13, 15),
            "sv",
            "tisdag 14 december 2027 kl. 13.30–14.15",
        ),
        (datetime(2027, 7, 13, 8, 0), datetime(2027, 7, 13, 9, 0), "en", "Tuesday 13 July 2027, 10:00–11:00"),
        (datetime(2028, 1, 2, 7, 5), datetime(2028, 1, 2, 8, 0), "en", "Sunday 2 January 2028, 08:05–09:00"),
    ],
)
def test_the_time_is_spoken_in_swedish_time(starts, ends, language, when):
    spoken = spoken_time(starts.replace(tzinfo=UTC), ends.replace(tzinfo=UTC), language)
    assert spoken.when == when


def test_sms_texts_use_plain_hyphens(texts: MessageTexts):
    rendered = texts.render("sv", MessageKind.INVITATION, {**VARIABLES, "when": "tisdag kl. 10.00–11.00"})
    assert "10.00-11.00" in rendered.sms
    assert "10.00–11.00" in rendered.body


def override(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return tmp_path


def test_its_own_folder_replaces_a_template_and_keeps_the_rest(tmp_path: Path):
    folder = override(tmp_path, "sv/invitation.sms", "{{ organisation }}: {{ meeting }} {{ when }}. {{ link }}\n")
    texts = MessageTexts.load(folder)
    rendered = texts.render("sv", MessageKind.INVITATION, VARIABLES)
    assert (
        rendered.sms
        == f"Exempelstads kommun: {VARIABLES['meeting']} {VARIABLES['when'].replace('–', '-')}. {VARIABLES['link']}"
    )
    assert rendered.subject.startswith("Inbjudan:")
    assert texts.sources["sv/invitation.sms"] == folder / "sv/invitation.sms"
    assert texts.sources["sv/invitation.txt"] == BUILT_IN / "sv/invitation.txt"


def test_a_template_asking_for_what_it_is_not_given_stops_the_start(tmp_path: Path):
    folder = override(tmp_path, "en/update.txt", "Your meeting {{ title }} moved to {{ when }}.\n")
    with pytest.raises(TemplateProblem, match=r"update\.txt.*'title' is undefined"):
        MessageTexts.load(folder)


def test_a_misnamed_file_stops_the_start(tmp_path: Path):
    folder = override(tmp_path, "sv/invitaton.txt", "Hej\n")
    with pytest.raises(TemplateProblem, match=r"unknown template file.*sv/invitaton\.txt"):
        MessageTexts.load(folder)


def test_a_syntax_error_names_the_file(tmp_path: Path):
    folder = override(tmp_path, "sv/reminder.subject", "Påminnelse {{ when \n")
    with pytest.raises(TemplateProblem, match=r"sv/reminder\.subject"):
        MessageTexts.load(folder)


def test_an_sms_too_long_for_three_parts_stops_the_start(tmp_path: Path):
    folder = override(tmp_path, "en/reminder.sms", "{{ link }} " + "word " * 100)
    with pytest.raises(TemplateProblem, match=r"en/reminder\.sms: renders to \d+ characters"):
        MessageTexts.load(folder)


def test_a_missing_folder_stops_the_start(tmp_path: Path):
    with pytest.raises(TemplateProblem, match="is not a folder"):
        MessageTexts.load(tmp_path / "nowhere")


@pytest.mark.parametrize(
    "starts, ends, language, when",
    [
        # 02:30 summer time to 02:15 winter time: 45 minutes in the hour that happens twice.
        (
            datetime(2024, 10, 27, 0, 30),
            datetime(2024, 10, 27, 1, 15),
            "sv",
            "söndag 27 oktober 2024 kl. 02.30 sommartid–02.15 vintertid",
        ),
        (
            datetime(2024, 10, 27, 0, 30),
            datetime(2024, 10, 27, 1, 15),
            "en",
            "Sunday 27 October 2024, 02:30 summer time–02:15 winter time",
        ),
        # Only the time inside that hour needs naming; the spring night has no such hour.
        (
            datetime(2024, 10, 27, 1, 30),
            datetime(2024, 10, 27, 2, 30),
            "sv",
            "söndag 27 oktober 2024 kl. 02.30 vintertid–03.30",
        ),
        (datetime(2024, 3, 31, 0, 30), datetime(2024, 3, 31, 1, 15), "sv", "söndag 31 mars 2024 kl. 01.30–03.15"),
    ],
)
def test_finding_15b_a_time_in_the_repeated_october_hour_says_which(starts, ends, language, when):
    spoken = spoken_time(starts.replace(tzinfo=UTC), ends.replace(tzinfo=UTC), language)
    assert spoken.when == when


def test_finding_15d_no_template_breaks_a_line_in_mid_sentence(texts: MessageTexts):
    """Mail clients wrap lines themselves; a break inside a sentence shows as a ragged short line
    on a phone. A line followed by another in the same paragraph ends a sentence or a label."""
    for language in LANGUAGES:
        for kind in MessageKind:
            body = texts.render(language, kind, VARIABLES).body
            lines = body.splitlines()
            for line, following in pairwise(lines):
                if line.strip() and following.strip():
                    assert line.rstrip().endswith((".", "!", "?", ":")), f"{language}/{kind.value}: {line!r}"
