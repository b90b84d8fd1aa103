"""The pages word a meeting's time as the messages do, the repeated October hour included."""

from __future__ import annotations

from datetime import UTC, datetime

from meetsvc.core.spoken_time import spoken_time as message_time
from meetsvc.domain.model import Language
from meetsvc.http.pages.participant import spoken_time


def test_a_page_and_a_message_word_a_meeting_alike():
    starts, ends = datetime(2026, 7, 14, 8, 0, tzinfo=UTC), datetime(2026, 7, 14, 9, 0, tzinfo=UTC)
    assert spoken_time(starts, ends, "Europe/Stockholm", Language.SV) == "tisdag 14 juli 2026 kl. 10.00–11.00"
    assert spoken_time(starts, ends, "Europe/Stockholm", Language.EN) == "Tuesday 14 July 2026, 10:00–11:00"
    assert spoken_time(starts, ends, "Europe/Stockholm", Language.SV) == message_time(starts, ends, "sv").when


def test_a_page_names_the_season_in_the_hour_that_happens_twice():
    # 2026-10-25: 02:30 summer time is 00:30 UTC, and 02:15 winter time is 01:15 UTC.
    starts, ends = datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 15, tzinfo=UTC)
    assert spoken_time(starts, ends, "Europe/Stockholm", Language.SV).endswith("kl. 02.30 sommartid–02.15 vintertid")
