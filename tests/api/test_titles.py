"""A meeting's title never holds a personal identity number, however it is spelled, while the
numbers titles ordinarily carry (dates, times, phone and case numbers) pass."""

from __future__ import annotations

import pytest

from meetsvc.domain.rules import check_title, contains_personal_number
from tests.api.helpers import Api, assert_problem, snapshot

# 920731-9840 and 19920731-9840 are valid (date and check digit); each row is one spelling people
# write or paste.
SPELLINGS = [
    "920731 9840",
    "19920731 9840",
    "1992-07-31-9840",
    "92-07-31-9840",
    "1992.07.31.9840",
    "920731–9840",  # en dash
    "920731—9840",  # em dash
    "920731_9840",
    "920731.9840",
    "920731/9840",
    "920731+9840",
    "920731-9840",
    "9207319840",
    "199207319840",
    "９２０７３１-９８４０",  # full-width digits
    "１９９２０７３１９８４０",
    "٩٢٠٧٣١-٩٨٤٠",  # Arabic-Indic digits
    "920731\u00a09840",  # no-break space
]

# What titles hold that is not a personal number: each passes.
ORDINARY = [
    "Uppföljning 2027-05-13 kl. 10.00",
    "Möte 13/5 kl 10:30",
    "Ring 070-123 45 67 vid förhinder",
    "Ärende 2027-1234",
    "Dnr SN 2027/0457",
    "920731-9841",  # the check digit is wrong
    "1992-07-31-9841",
    "921331-9840",  # no thirteenth month
    "1992-07/31-9840",  # two different separators in one date is a date and a time, not a number
    "19920731 98400",  # one digit too many
    "Ref 0701234567",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_finding_5_a_personal_number_in_any_spelling_is_refused_in_a_title(spelling: str) -> None:
    for title in (spelling, f"SIP för {spelling}", f"Uppföljning ({spelling}), skola"):
        violations = check_title(title)
        assert [(v.field, v.rule) for v in violations] == [("/title", "no_personal_number")], title


@pytest.mark.parametrize("title", ORDINARY)
def test_finding_5_ordinary_numbers_in_a_title_are_not_mistaken_for_one(title: str) -> None:
    assert check_title(title) == []


def test_finding_5_in_machine_text_a_number_inside_an_id_is_no_number() -> None:
    # The audit log's details: a UUID or token whose digits happen to spell a number is left alone…
    assert not contains_personal_number('{"id": "19920731-9840-4abc-8def-0123456789ab"}', among_ids=True)
    assert not contains_personal_number('{"token": "Ab_920731_9840_x"}', among_ids=True)
    # …while a number standing on its own is caught in every spelling.
    for spelling in SPELLINGS:
        assert contains_personal_number(f'{{"note": "{spelling}"}}', among_ids=True), spelling


async def test_finding_5_the_api_refuses_a_title_with_a_number_and_changes_nothing(api: Api) -> None:
    before = await snapshot(api.service)
    for spelling in ("1992-07-31-9840", "920731–9840", "９２０７３１_９８４０"):
        answer = await api.post("/api/v1/meetings", json=api.meeting_body(title=f"SIP {spelling}"))
        assert_problem(answer, 422, "validation-failed", [("/title", "no_personal_number")])
    assert await snapshot(api.service) == before
