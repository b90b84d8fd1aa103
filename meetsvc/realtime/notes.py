"""The waiting room's way back: what a participant's ``note`` event carries, and the two handlers
(sending a note, listing them for a host) that the namespaces in
:mod:`meetsvc.realtime.namespaces` route to, so they are validated, answered and refused exactly
like every other event there. A note reaches the meeting's host room as a ``note`` event at
once; a host page that loads later asks ``notes``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from meetsvc.realtime.payloads import Payload
from meetsvc.services.notes import MAX_NOTE, Note, WaitingNotes
from meetsvc.services.waiting_room import HostCaller, LobbyPass


class NoteText(Payload):
    # A little over the stored limit, so a note that is too long gets the service's readable
    # refusal (the page shows it) rather than the transport's.
    text: Annotated[str, Field(min_length=1, max_length=MAX_NOTE + 50)]


async def send_note(notes: WaitingNotes, lobby: LobbyPass, payload: NoteText) -> Note:
    return await notes.send(lobby, payload.text)


async def list_notes(notes: WaitingNotes, host: HostCaller, meeting_id: str) -> dict[str, Any]:
    return {"ok": True, "notes": [n.as_payload() for n in await notes.for_host(host, meeting_id)]}
