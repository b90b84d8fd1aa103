"""Recording notices inside the booking transaction that causes them.

Booking calls these with its own connection, after writing the change and before commit: the
notices and the change are committed together or not at all. Each call picks the participant's
channels (e-mail if they have an address, SMS if they have a mobile number, as far as each
channel is switched on) and writes one outbox message per channel under a dedupe key, so calling
twice for the same change records nothing new:

=============  ================================================================
invitation     ``invitation:<participant>:<sequence>:<channel>[:<revision>]``
update         ``update:<participant>:<sequence>:<channel>``
cancellation   ``cancellation:<participant>:<sequence>:<channel>``
withdrawal     ``withdrawal:<participant>:<sequence>:email``
reminder       ``reminder:<participant>:<channel>:<minutes before>:<starts_at>``
=============  ================================================================

The optional revision sends an invitation again for the same meeting version: a new link
(reissued) or a new address.

A newer notice supersedes older ones still waiting: an update cancels the participant's unsent
invitation, update and reminders (and records fresh reminders for the new time); a cancellation
cancels everything unsent, and is itself only sent on a channel that already carried an
invitation or update, so nobody hears of a meeting only through its cancellation. A withdrawal
is the cancellation of an e-mail address the participant no longer has, under the same rule.

The meeting and participant may be database rows or the domain's dataclasses: only the
attributes in :class:`MeetingLike` and :class:`ParticipantLike` are read.

A notice that carries the participant's link (every kind but a cancellation) is recorded with
:data:`~meetsvc.notify.links.PERSONAL_LINK` where the link goes, never the link: the deliverer
writes the participant's working link in as it sends (:mod:`meetsvc.notify.links`). The
``join_url`` the callers pass says that the participant has a working link to be given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from meetsvc.core.clock import Clock, utc_now
from meetsvc.domain.messages import ChannelName, MessageKind
from meetsvc.domain.model import Organisation, ParticipantRole, name_for_citizens
from meetsvc.notify import outbox
from meetsvc.notify.links import PERSONAL_LINK
from meetsvc.notify.messages import MessageBuilder, NoticeView, RenderedNotice
from meetsvc.notify.outbox import NewMessage
from meetsvc.storage.engine import Connection


class MeetingLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def sequence(self) -> int: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...


class ParticipantLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def mobile(self) -> str | None: ...
    @property
    def language(self) -> object: ...
    @property
    def role(self) -> object: ...


#: The convening organisation, or just its name (then also its public name's default).
Convener = Organisation | str

_STAFF_ROLES = frozenset({ParticipantRole.MUNICIPALITY_STAFF.value, ParticipantRole.REGION_STAFF.value})


def _language(participant: ParticipantLike) -> str:
    value = getattr(participant.language, "value", participant.language)
    return str(value)


def _for_staff(participant: ParticipantLike) -> bool:
    """Staff of the two organisations read "SIP-möte" and the unit; everyone else (the person,
    their family, school, an interpreter) a neutral "Möte med Exempelstads kommun"."""
    return str(getattr(participant.role, "value", participant.role)) in _STAFF_ROLES


def _called(organisation: Convener, participant: ParticipantLike) -> str:
    """What a message to this participant calls the organisation."""
    if isinstance(organisation, Organisation):
        return organisation.name if _for_staff(participant) else organisation.citizens_see
    return organisation if _for_staff(participant) else name_for_citizens(organisation)


_SUPERSEDED_BY_UPDATE = (MessageKind.INVITATION, MessageKind.UPDATE, MessageKind.REMINDER)
#: What a cancellation supersedes: everything to the participant's current addresses. A
#: withdrawal to an address they no longer have is left to go: that calendar must still be told.
_SUPERSEDED_BY_CANCELLATION = tuple(kind for kind in MessageKind if kind is not MessageKind.WITHDRAWAL)


class MessageNotices:
    """The notices API booking calls inside its transactions; one per application.

    ``channels`` are those switched on (a participant's address on a switched-off channel is
    simply not used); ``reminders_before`` are the deployment's reminder times.
    """

    def __init__(
        self,
        builder: MessageBuilder,
        *,
        channels: frozenset[ChannelName] = frozenset(ChannelName),
        reminders_before: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1)),
        clock: Clock = utc_now,
    ) -> None:
        self._builder = builder
        self._channels = channels
        self._reminders_before = reminders_before
        self._clock = clock

    def _addresses(self, participant: ParticipantLike) -> list[tuple[ChannelName, str]]:
        found = []
        if ChannelName.EMAIL in self._channels and participant.email:
            found.append((ChannelName.EMAIL, participant.email))
        if ChannelName.SMS in self._channels and participant.mobile:
            found.append((ChannelName.SMS, participant.mobile))
        return found

    @staticmethod
    def _key(
        kind: MessageKind,
        meeting: MeetingLike,
        participant: ParticipantLike,
        channel: ChannelName,
        revision: str | None = None,
    ) -> str:
        key = f"{kind.value}:{participant.id}:{meeting.sequence}:{channel.value}"
        return f"{key}:{revision}" if revision else key

    @staticmethod
    def _reminder_key(
        meeting: MeetingLike, participant: ParticipantLike, channel: ChannelName, before: timedelta
    ) -> str:
        minutes = int(before.total_seconds() // 60)
        starts = meeting.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"reminder:{participant.id}:{channel.value}:{minutes}:{starts}"

    def _render(
        self,
        kind: MessageKind,
        meeting: MeetingLike,
        participant: ParticipantLike,
        join_url: str | None,
        organisation_name: Convener,
        email: str | None,
        now: datetime,
    ) -> RenderedNotice:
        return self._builder.build(
            NoticeView(
                kind=kind,
                meeting_id=meeting.id,
                sequence=meeting.sequence,
                starts_at=meeting.starts_at,
                ends_at=meeting.ends_at,
                organisation_name=_called(organisation_name, participant),
                language=_language(participant),
                stamp=now,
                # The outbox never holds the link itself: see meetsvc.notify.links.
                join_url=PERSONAL_LINK if join_url else None,
                recipient_email=email,
                for_staff=_for_staff(participant),
                contact_phone=organisation_name.contact_phone if isinstance(organisation_name, Organisation) else None,
            )
        )

    async def _record(
        self,
        connection: Connection,
        kind: MessageKind,
        key: str,
        channel: ChannelName,
        recipient: str,
        notice: RenderedNotice,
        meeting: MeetingLike,
        participant: ParticipantLike,
        organisation_name: Convener,
        now: datetime,
        send_after: datetime | None = None,
    ) -> str | None:
        email = channel is ChannelName.EMAIL
        return await outbox.enqueue(
            connection,
            NewMessage(
                meeting_id=meeting.id,
                participant_id=participant.id,
                channel=channel,
                kind=kind,
                dedupe_key=key,
                recipient=recipient,
                language=_language(participant),
                body=notice.body if email else notice.sms,
                subject=notice.subject if email else None,
                # A reminder changes nothing in the calendar: it carries no calendar file.
                attachment=notice.calendar if email and kind is not MessageKind.REMINDER else None,
                # The sender's name shows on the lock screen too.
                sender_name=_called(organisation_name, participant),
                send_after=send_after,
                # Worth nothing once the meeting is over (reminders: once it has begun).
                expires_at=meeting.starts_at if kind is MessageKind.REMINDER else meeting.ends_at,
            ),
            now=now,
        )

    async def _announce(
        self,
        connection: Connection,
        kind: MessageKind,
        meeting: MeetingLike,
        participant: ParticipantLike,
        join_url: str,
        organisation_name: Convener,
        reminders: bool,
        revision: str | None = None,
        only: frozenset[ChannelName] | None = None,
    ) -> list[str]:
        now = self._clock()
        addresses = [(channel, to) for channel, to in self._addresses(participant) if only is None or channel in only]
        reminders_ahead = (
            [before for before in self._reminders_before if meeting.starts_at - before > now] if reminders else []
        )
        await outbox.cancel_pending(
            connection,
            reason=f"superseded by {kind.value} {meeting.sequence}",
            participant_id=participant.id,
            kinds=_SUPERSEDED_BY_UPDATE,
            # A resend over one channel leaves what waits on the other alone.
            channel=next(iter(only)) if only is not None and len(only) == 1 else None,
            keep_keys=[self._key(kind, meeting, participant, channel, revision) for channel, _ in addresses]
            + [
                self._reminder_key(meeting, participant, channel, before)
                for channel, _ in addresses
                for before in reminders_ahead
            ],
        )
        recorded = []
        for channel, recipient in addresses:
            email = recipient if channel is ChannelName.EMAIL else None
            notice = self._render(kind, meeting, participant, join_url, organisation_name, email, now)
            key = self._key(kind, meeting, participant, channel, revision)
            message_id = await self._record(
                connection, kind, key, channel, recipient, notice, meeting, participant, organisation_name, now
            )
            if message_id is not None:
                recorded.append(message_id)
        for before in reminders_ahead:
            recorded += await self.enqueue_reminder(
                connection, meeting, participant, join_url, organisation_name, before
            )
        return recorded

    async def enqueue_invitation(
        self,
        connection: Connection,
        meeting: MeetingLike,
        participant: ParticipantLike,
        join_url: str,
        organisation_name: Convener,
        *,
        reminders: bool = True,
        revision: str | None = None,
        only: frozenset[ChannelName] | None = None,
    ) -> list[str]:
        """A participant's invitation (with its calendar file) and, unless told not to, the
        configured reminders that still lie ahead. The ids of the messages recorded.

        ``revision`` names a resend of the same meeting version (a new link, a new address);
        ``only`` limits it to some channels (the one whose address changed)."""
        return await self._announce(
            connection,
            MessageKind.INVITATION,
            meeting,
            participant,
            join_url,
            organisation_name,
            reminders,
            revision,
            only,
        )

    async def enqueue_update(
        self,
        connection: Connection,
        meeting: MeetingLike,
        participant: ParticipantLike,
        join_url: str,
        organisation_name: Convener,
        *,
        reminders: bool = True,
    ) -> list[str]:
        """The meeting moved: a new time, the same UID, the meeting's new SEQUENCE; reminders for
        the old time are cancelled and new ones recorded."""
        return await self._announce(
            connection, MessageKind.UPDATE, meeting, participant, join_url, organisation_name, reminders
        )

    async def enqueue_cancellation(
        self, connection: Connection, meeting: MeetingLike, participant: ParticipantLike, organisation_name: Convener
    ) -> list[str]:
        """The meeting is cancelled, or this participant removed from it: METHOD:CANCEL, no link."""
        now = self._clock()
        await outbox.cancel_pending(
            connection,
            reason=f"superseded by cancellation {meeting.sequence}",
            participant_id=participant.id,
            kinds=_SUPERSEDED_BY_CANCELLATION,
        )
        recorded = []
        for channel, recipient in self._addresses(participant):
            if not await outbox.has_reached(
                connection, participant.id, channel, (MessageKind.INVITATION, MessageKind.UPDATE)
            ):
                continue
            email = recipient if channel is ChannelName.EMAIL else None
            notice = self._render(MessageKind.CANCELLATION, meeting, participant, None, organisation_name, email, now)
            key = self._key(MessageKind.CANCELLATION, meeting, participant, channel)
            message_id = await self._record(
                connection,
                MessageKind.CANCELLATION,
                key,
                channel,
                recipient,
                notice,
                meeting,
                participant,
                organisation_name,
                now,
            )
            if message_id is not None:
                recorded.append(message_id)
        return recorded

    async def enqueue_withdrawal(
        self,
        connection: Connection,
        meeting: MeetingLike,
        participant: ParticipantLike,
        address: str,
        organisation_name: Convener,
    ) -> list[str]:
        """The participant's e-mail address changed from ``address``: messages still waiting for
        it are cancelled, and if an invitation or update reached it, it gets METHOD:CANCEL, so
        that calendar drops the meeting. Its text is neutral (the invitation no longer applies
        to this address), as the address may be someone who was never meant to be invited."""
        if ChannelName.EMAIL not in self._channels:
            return []
        now = self._clock()
        await outbox.cancel_pending(
            connection,
            reason="the address changed",
            participant_id=participant.id,
            kinds=_SUPERSEDED_BY_UPDATE,
            channel=ChannelName.EMAIL,
        )
        reached = await outbox.has_reached(
            connection,
            participant.id,
            ChannelName.EMAIL,
            (MessageKind.INVITATION, MessageKind.UPDATE),
            recipient=address,
        )
        if not reached:
            return []
        notice = self._render(MessageKind.WITHDRAWAL, meeting, participant, None, organisation_name, address, now)
        message_id = await self._record(
            connection,
            MessageKind.WITHDRAWAL,
            self._key(MessageKind.WITHDRAWAL, meeting, participant, ChannelName.EMAIL),
            ChannelName.EMAIL,
            address,
            notice,
            meeting,
            participant,
            organisation_name,
            now,
        )
        return [message_id] if message_id is not None else []

    async def enqueue_reminder(
        self,
        connection: Connection,
        meeting: MeetingLike,
        participant: ParticipantLike,
        join_url: str,
        organisation_name: Convener,
        before: timedelta,
    ) -> list[str]:
        """One reminder, sent ``before`` the meeting starts (at once if that time has passed, not
        at all once the meeting has begun). Safe to call again after a restart: the dedupe key
        holds the meeting's start, so the same reminder is never recorded twice."""
        now = self._clock()
        if now >= meeting.starts_at:
            return []
        recorded = []
        for channel, recipient in self._addresses(participant):
            email = recipient if channel is ChannelName.EMAIL else None
            notice = self._render(MessageKind.REMINDER, meeting, participant, join_url, organisation_name, email, now)
            key = self._reminder_key(meeting, participant, channel, before)
            message_id = await self._record(
                connection,
                MessageKind.REMINDER,
                key,
                channel,
                recipient,
                notice,
                meeting,
                participant,
                organisation_name,
                now,
                send_after=meeting.starts_at - before,
            )
            if message_id is not None:
                recorded.append(message_id)
        return recorded
