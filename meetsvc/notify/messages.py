"""What one notice says: subject, e-mail text, SMS text and calendar file for one participant.

The input is a :class:`NoticeView`, a deliberately small picture of the meeting: its id and
sequence, its time, the inviting organisation's name and the recipient's own link and address.
The meeting's title, its area of care, anyone's name and any personal identity number are not
in the view, so no template, however IT edits it, can put them in a message. The builder does
not touch the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meetsvc.core.spoken_time import spoken_time
from meetsvc.domain.messages import MessageKind
from meetsvc.domain.rules import contains_personal_number
from meetsvc.notify.calendar import CalendarEvent, calendar_file, calendar_method, meeting_uid
from meetsvc.notify.texts import MessageTexts

#: What staff messages call the meeting, and its calendar title for them.
MEETING_WORD = {"sv": "SIP-möte", "en": "SIP meeting"}
#: What citizens' messages call it: a family member reading a shared phone's lock screen learns
#: nothing of which help someone gets.
CITIZEN_MEETING_WORD = {"sv": "möte", "en": "meeting"}
CITIZEN_TITLE = {"sv": "Möte med {organisation}", "en": "Meeting with {organisation}"}


@dataclass(frozen=True, slots=True)
class NoticeView:
    """Everything a notice may say, and therefore nothing it must not.

    ``organisation_name`` is what the message calls the convening organisation: for a citizen
    its public name, for staff its full name (``for_staff``), who also read "SIP-möte"."""

    kind: MessageKind
    meeting_id: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    organisation_name: str
    language: str
    stamp: datetime
    join_url: str | None = None
    recipient_email: str | None = None
    for_staff: bool = False
    #: The convening organisation's number for questions, when it has one.
    contact_phone: str | None = None


@dataclass(frozen=True, slots=True)
class RenderedNotice:
    subject: str
    body: str
    sms: str
    calendar: str


class MessageBuilder:
    """Turns a view into the four texts of a notice; pure CPU, safe on the event loop."""

    def __init__(self, texts: MessageTexts, *, public_url: str, organizer_address: str) -> None:
        self._texts = texts
        self._public_url = public_url
        self._organizer = organizer_address

    def build(self, view: NoticeView) -> RenderedNotice:
        language = view.language if view.language in MEETING_WORD else "sv"
        spoken = spoken_time(view.starts_at, view.ends_at, language)
        link = "" if view.kind.cancels_calendar_entry else (view.join_url or "")
        meeting = (MEETING_WORD if view.for_staff else CITIZEN_MEETING_WORD)[language]
        heading = (
            MEETING_WORD[language]
            if view.for_staff
            else CITIZEN_TITLE[language].format(organisation=view.organisation_name)
        )
        values = {
            "meeting": meeting,
            "heading": heading,
            "organisation": view.organisation_name,
            "date": spoken.date,
            "start": spoken.start,
            "end": spoken.end,
            "when": spoken.when,
            "link": link,
            "contact_phone": view.contact_phone or "",
        }
        texts = self._texts.render(language, view.kind, values)
        calendar = calendar_file(
            CalendarEvent(
                uid=meeting_uid(view.meeting_id, self._public_url),
                sequence=view.sequence,
                method=calendar_method(view.kind),
                starts_at=view.starts_at,
                ends_at=view.ends_at,
                summary=heading,
                description=texts.body,
                organizer_name=view.organisation_name,
                organizer_address=self._organizer,
                stamp=view.stamp,
                url=link or None,
                attendee_address=view.recipient_email,
            )
        )
        _refuse_personal_numbers((texts.subject, texts.body, texts.sms, view.organisation_name), link)
        return RenderedNotice(subject=texts.subject, body=texts.body, sms=texts.sms, calendar=calendar)


def _refuse_personal_numbers(texts: tuple[str, ...], link: str) -> None:
    """Defence in depth: no text that leaves the service may hold a personal identity number.

    The calendar file is made of these texts and of ids, times and addresses, so checking the
    texts covers it. The link is left out of the check: it is random, and a run of its
    characters that happened to pass the number's checks would block the message for nothing.
    """
    for text in texts:
        if contains_personal_number(text.replace(link, " ") if link else text):
            raise ValueError("a notice must not contain a personal identity number")
