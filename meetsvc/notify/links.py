"""Personal links, written into a message only as it is sent.

The outbox keeps a message until it is final (for hours while a mail server is away), and its
rows are in every copy of the database. So the outbox never holds a working link: where a text
or calendar file gives the participant's link, the stored message holds :data:`PERSONAL_LINK`,
and the deliverer writes the link in just before the channel sends. The link is rebuilt then
from what the database may hold (the participant's current invitation id) under the link key,
which the database never holds (:mod:`meetsvc.services.links`). A link revoked meanwhile is
never sent: the participant's current one is, or none.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from icalendar.parser import Contentline

from meetsvc.domain.messages import OutgoingMessage
from meetsvc.storage.engine import Connection

#: Stands for the participant's link in a stored message. Plain characters that neither a text
#: template nor a calendar file escapes, and that no working link contains.
PERSONAL_LINK = "{personal-link}"

_FOLD = "\r\n "


class PersonalLinks(Protocol):
    """Where the deliverer gets a participant's working link (:class:`meetsvc.services.links.JoinLinks`)."""

    async def current(self, connection: Connection, participant_id: str) -> str | None: ...


def needs_link(message: OutgoingMessage) -> bool:
    return PERSONAL_LINK in message.body or PERSONAL_LINK in (message.attachment or "")


def with_link(message: OutgoingMessage, link: str) -> OutgoingMessage:
    """The message as it is sent: the link in its text and in its calendar file."""
    return dataclasses.replace(
        message,
        body=message.body.replace(PERSONAL_LINK, link),
        attachment=calendar_with_link(message.attachment, link) if message.attachment else message.attachment,
    )


def calendar_with_link(calendar: str, link: str) -> str:
    """The calendar file with the link in place of the placeholder.

    A calendar file's long lines are folded at 75 octets (RFC 5545 3.1), and a placeholder may
    straddle a fold. Each content line that holds it is unfolded, filled in and folded again as
    icalendar folds, so the file is the one that would have been written with the link itself.
    The link is a URL of unreserved characters, which neither TEXT nor URI values escape.
    """
    out: list[str] = []
    for line in calendar.split("\r\n"):
        if line.startswith(" ") and out:
            out[-1] += _FOLD + line[1:]
        else:
            out.append(line)
    filled = []
    for content_line in out:
        unfolded = content_line.replace(_FOLD, "")
        filled.append(_fold(unfolded.replace(PERSONAL_LINK, link)) if PERSONAL_LINK in unfolded else content_line)
    return "\r\n".join(filled)


def _fold(content_line: str) -> str:
    """Fold one content line exactly as icalendar folds the lines it writes."""
    return Contentline(content_line).to_ical().decode("utf-8")
