"""The waiting room's way back: a participant's ``note`` event, and the hosts' ``notes`` list.

Installed onto the two existing namespaces (their dispatch tables), so the notes' events are
validated, answered and refused exactly like every other event there. A note reaches the
meeting's host room as a ``note`` event at once; a host page that loads later asks ``notes``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from meetsvc.realtime.namespaces import HostNamespace, ParticipantNamespace
from meetsvc.realtime.payloads import Empty, Payload
from meetsvc.realtime.rooms import host_room
from meetsvc.services.notes import MAX_NOTE, WaitingNotes


class NoteText(Payload):
    # A little over the stored limit, so a note that is too long gets the service's readable
    # refusal (the page shows it) rather than the transport's.
    text: Annotated[str, Field(min_length=1, max_length=MAX_NOTE + 50)]


def install_notes(participant: ParticipantNamespace, host: HostNamespace, notes: WaitingNotes) -> None:
    async def send(sid: str, p: NoteText) -> dict[str, Any]:
        lobby = (await participant.get_session(sid))["lobby"]
        note = await notes.send(lobby, p.text)
        await host.emit("note", note.as_payload(), room=host_room(lobby.meeting_id))
        return {"ok": True}

    async def listing(sid: str, _: Empty) -> dict[str, Any]:
        caller, meeting_id = await host._caller(sid)
        return {"ok": True, "notes": [n.as_payload() for n in await notes.for_host(caller, meeting_id)]}

    participant.events["note"] = (NoteText, send)
    host.events["notes"] = (Empty, listing)
