"""The realtime vocabulary: namespace names and room names.

A leaf module (it imports nothing of meetsvc), so every part that emits — the courier, the
namespaces, the fan-out watch, the schedule through the courier — names the same rooms without
importing one another. A room name is the only address a notice has: a socket joins its rooms on
connect, and whoever emits to that name reaches it on whichever process it lives.
"""

from __future__ import annotations

PARTICIPANT_NS = "/participant"
HOST_NS = "/host"
VIDEO_NS = "/video"


def participant_room(participant_id: str) -> str:
    """One participant's own pages: their state and their video credential, nobody else's."""
    return f"p:{participant_id}"


def attendance_room(attendance_id: str) -> str:
    """One entry's lobby pages (one person, one browser session, one invitation): their state
    and their video credential, nobody else's — not even another person's on the same link."""
    return f"a:{attendance_id}"


def host_room(meeting_id: str) -> str:
    """Every host console of a meeting: the waiting list and the meeting's settings."""
    return f"h:{meeting_id}"


def staff_room(staff_id: str) -> str:
    """Every host console one staff member has open: told when they are signed out."""
    return f"s:{staff_id}"


def lobby_room(meeting_id: str) -> str:
    """Every participant page of a meeting: told when its waiting room opens."""
    return f"l:{meeting_id}"


def video_room(meeting_id: str) -> str:
    """Every peer in a meeting's built-in video (``/video``): told when a peer comes or goes."""
    return f"v:{meeting_id}"


def video_peer_room(peer_id: str) -> str:
    """One peer's video sockets (``/video``): signalling addressed to them, and their revocation."""
    return f"vp:{peer_id}"
