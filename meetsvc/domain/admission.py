"""Who may be in the meeting: the per-participant state machine and the rules around it.

States::

    invited ──► identifying ──► waiting ──► admitted ──► in_meeting ──► left
                                  │  ▲          │            │
                                  │  └─send_back┴────────────┘
                                  ├──► denied
                                  └──► removed  (also from admitted and in_meeting)

The rules the lobby's known failures teach (see docs/threat-model.md):

* Being verified is not being admitted: the only ways into ``admitted`` are a host's ``admit``
  or the admission policy the host chose for the meeting, applied at arrival.
* A host arriving, leaving or reconnecting changes nobody's state: no transition here is
  triggered by a host's presence.
* ``removed`` and ``denied`` are sticky: reconnecting, arriving again or identifying again does
  not leave them; only a new ``admit`` does.
* Reconnecting in ``waiting``, ``admitted`` or ``in_meeting`` keeps that state (``arrive`` is
  idempotent there), so a phone that slept returns to its place.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from meetsvc.domain.errors import Conflict
from meetsvc.domain.model import ParticipantRole, ParticipantState as S


class Action(str, enum.Enum):
    START_IDENTIFYING = "start_identifying"
    ARRIVE = "arrive"
    ADMIT = "admit"
    DENY = "deny"
    SEND_BACK = "send_back"
    REMOVE = "remove"
    JOIN = "join"
    LEAVE = "leave"
    END = "end"


class Actor(str, enum.Enum):
    PARTICIPANT = "participant"
    HOST = "host"
    POLICY = "policy"
    SYSTEM = "system"


class AdmissionPolicy(str, enum.Enum):
    """How arrivals are let in. Manual is the default; the other is a host's explicit choice."""

    MANUAL = "manual"
    # Staff of the meeting's two organisations whose verified identity matches the invitation.
    MATCHING_STAFF = "matching_staff"


class TransitionRefused(Conflict):
    code = "transition-refused"
    title = "That is not possible in the participant's present state."


# (action, actor) -> {from_state: to_state}. Anything absent is refused.
_TRANSITIONS: dict[tuple[Action, Actor], dict[S, S]] = {
    (Action.START_IDENTIFYING, Actor.PARTICIPANT): {S.INVITED: S.IDENTIFYING, S.IDENTIFYING: S.IDENTIFYING},
    (Action.ARRIVE, Actor.PARTICIPANT): {
        S.INVITED: S.WAITING,
        S.IDENTIFYING: S.WAITING,
        S.LEFT: S.WAITING,
        S.WAITING: S.WAITING,
        S.ADMITTED: S.ADMITTED,
        S.IN_MEETING: S.IN_MEETING,
    },
    (Action.ADMIT, Actor.HOST): {S.WAITING: S.ADMITTED, S.DENIED: S.ADMITTED, S.REMOVED: S.ADMITTED},
    (Action.ADMIT, Actor.POLICY): {S.WAITING: S.ADMITTED},
    (Action.DENY, Actor.HOST): {S.WAITING: S.DENIED},
    (Action.SEND_BACK, Actor.HOST): {S.ADMITTED: S.WAITING, S.IN_MEETING: S.WAITING},
    (Action.REMOVE, Actor.HOST): {S.WAITING: S.REMOVED, S.ADMITTED: S.REMOVED, S.IN_MEETING: S.REMOVED},
    (Action.JOIN, Actor.PARTICIPANT): {S.ADMITTED: S.IN_MEETING, S.IN_MEETING: S.IN_MEETING},
    (Action.LEAVE, Actor.PARTICIPANT): {S.ADMITTED: S.LEFT, S.IN_MEETING: S.LEFT},
    (Action.END, Actor.SYSTEM): {
        S.INVITED: S.INVITED,
        S.IDENTIFYING: S.IDENTIFYING,
        S.WAITING: S.LEFT,
        S.ADMITTED: S.LEFT,
        S.IN_MEETING: S.LEFT,
        S.LEFT: S.LEFT,
        S.DENIED: S.DENIED,
        S.REMOVED: S.REMOVED,
    },
}


def transition(state: S, action: Action, actor: Actor) -> S:
    """The state after ``actor`` does ``action``, or :class:`TransitionRefused`."""
    allowed = _TRANSITIONS.get((action, actor), {})
    if state not in allowed:
        raise TransitionRefused(f"cannot {action.value} a participant who is {state.value}")
    return allowed[state]


def is_inside(state: S) -> bool:
    """Whether the participant may have the meeting's media (a video credential)."""
    return state in (S.ADMITTED, S.IN_MEETING)


@dataclass(frozen=True, slots=True)
class Arrival:
    """What the policy needs to know about someone arriving in the waiting room."""

    role: ParticipantRole
    verified: bool
    matches_invitation: bool | None


def policy_admits(policy: AdmissionPolicy, arrival: Arrival) -> bool:
    if policy is AdmissionPolicy.MANUAL:
        return False
    return (
        arrival.verified
        and arrival.matches_invitation is True
        and arrival.role in (ParticipantRole.MUNICIPALITY_STAFF, ParticipantRole.REGION_STAFF)
    )


def matches_for_admit_all(arrival: Arrival) -> bool:
    """'Admit all whose identity matches': verified, and the person the invitation named."""
    return arrival.verified and arrival.matches_invitation is True
