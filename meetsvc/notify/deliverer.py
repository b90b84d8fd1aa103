"""The delivery loop: one per process, sending what the outbox holds when it falls due.

Each pass claims a batch under a lease (:func:`meetsvc.notify.outbox.claim`), sends the batch's
messages concurrently through their channels, and marks each one as soon as its send returns:

* sent → ``sent``;
* :class:`~meetsvc.notify.channels.TemporaryDeliveryError` (or a timeout) → ``pending`` again
  after an exponential back-off (``first_retry_seconds`` doubled per try, at most
  ``max_retry_seconds``, never earlier than a ``Retry-After``), or ``failed`` after the last try;
* :class:`~meetsvc.notify.channels.PermanentDeliveryError` → ``failed`` at once.

What "exactly once" can and cannot mean here: if the process dies after a send and before its
mark, the message stays ``sending`` until its lease runs out and is then sent again, with the
same Message-ID (e-mail) or idempotency key (SMS). Neither SMTP nor an SMS gateway can tell us
atomically that a message was accepted *and* record it in our database, so delivery is at least
once, deduplicable by that id. While the process lives it never sends a message twice: a pass
never overlaps another, a send is bounded by ``send_timeout_seconds`` (the lease is at least
twice that), and a message whose mark failed (the database was away) is remembered and marked,
not resent, when it comes round again.

A stored message holds a placeholder where the participant's link goes; the link is written in
just before the channel sends (:mod:`meetsvc.notify.links`), so the outbox never holds one. A
message whose participant has no working link any more (removed, link revoked) fails instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Mapping
from datetime import timedelta

from meetsvc.core.clock import Clock, utc_now
from meetsvc.domain.messages import ChannelName, OutgoingMessage
from meetsvc.notify import outbox
from meetsvc.notify.channels import Channel, DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from meetsvc.notify.config import DeliverySettings
from meetsvc.notify.links import PersonalLinks, needs_link, with_link
from meetsvc.storage.availability import unavailable_dependency
from meetsvc.storage.engine import Engine

log = logging.getLogger("meetsvc.notify")


def worker_name() -> str:
    """Unique per process start: host, pid and a random part (a pid is reused after a restart)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def backoff(settings: DeliverySettings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try: doubling from the first, up to the cap."""
    seconds = settings.first_retry_seconds * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, settings.max_retry_seconds))


class Deliverer:
    """One per process: :meth:`start` at start-up, :meth:`wake` after committing new notices,
    :meth:`stop` at shut-down. :meth:`run_once` is one pass, for tests and tools."""

    def __init__(
        self,
        engine: Engine,
        channels: Mapping[ChannelName, Channel],
        settings: DeliverySettings,
        *,
        clock: Clock = utc_now,
        worker: str | None = None,
        links: PersonalLinks | None = None,
    ) -> None:
        self._engine = engine
        self._links = links
        self._channels = dict(channels)
        self._settings = settings
        self._clock = clock
        self.worker = worker or worker_name()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        # Sent, but the mark did not reach the database: never send these again in this process.
        self._sent_unmarked: set[str] = set()
        self._failing = False  # the last pass found the database away

    def wake(self) -> None:
        """Look for due messages now (call after committing a transaction that enqueued some)."""
        self._wakeup.set()

    async def run_once(self) -> int:
        """One pass: claim a batch and deliver it; how many messages were claimed."""
        settings = self._settings
        batch = await outbox.claim(
            self._engine,
            worker=self.worker,
            now=self._clock(),
            lease=timedelta(seconds=settings.lease_seconds),
            limit=settings.batch_size,
            max_attempts=settings.max_attempts,
        )
        if batch:
            links = await self._current_links(batch)
            results = await asyncio.gather(
                *(self._deliver(message, links) for message in batch), return_exceptions=True
            )
            for message, result in zip(batch, results, strict=False):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                if isinstance(result, BaseException):
                    log.error(
                        "recording the outcome of outbox message %s failed: %s", message.id, type(result).__name__
                    )
        return len(batch)

    async def _deliver(self, message: OutgoingMessage, links: Mapping[str, str | None]) -> None:
        settings = self._settings
        channel = self._channels.get(message.channel)
        if message.id in self._sent_unmarked:
            await self._mark_sent(
                message, channel.name if channel else "unknown", channel.retains_content if channel else False
            )
            return
        if channel is None:
            await outbox.mark_failed(
                self._engine,
                message.id,
                worker=self.worker,
                reason=f"no {message.channel.value} channel is configured (notify.{message.channel.value})",
            )
            return
        ready = self._with_link(message, links)
        if ready is None:
            await outbox.mark_failed(
                self._engine, message.id, worker=self.worker, reason="the personal link was revoked before sending"
            )
            return
        try:
            async with asyncio.timeout(settings.send_timeout_seconds):
                await channel.deliver(ready)
        except PermanentDeliveryError as exc:
            log.warning("outbox message %s (%s) failed for good: %s", message.id, message.kind.value, exc.reason)
            await outbox.mark_failed(self._engine, message.id, worker=self.worker, reason=exc.reason)
            return
        except TimeoutError:
            await self._temporary(
                message, TemporaryDeliveryError(f"sending took longer than {settings.send_timeout_seconds:g} s")
            )
            return
        except TemporaryDeliveryError as exc:
            await self._temporary(message, exc)
            return
        except Exception as exc:  # a channel's bug must not stop the loop; the text may hold an address
            log.error("channel %s raised %s for outbox message %s", channel.name, type(exc).__name__, message.id)
            await self._temporary(
                message, TemporaryDeliveryError(f"unexpected error in channel {channel.name}: {type(exc).__name__}")
            )
            return
        self._sent_unmarked.add(message.id)
        await self._mark_sent(message, channel.name, channel.retains_content)

    async def _current_links(self, batch: list[OutgoingMessage]) -> dict[str, str | None]:
        """Each participant's working link, for the messages of a batch that give one: read on
        one connection, just before sending."""
        wanted = {message.participant_id for message in batch if message.participant_id and needs_link(message)}
        if not wanted or self._links is None:
            return {}
        async with self._engine.connect() as connection:
            return {participant_id: await self._links.current(connection, participant_id) for participant_id in wanted}

    @staticmethod
    def _with_link(message: OutgoingMessage, links: Mapping[str, str | None]) -> OutgoingMessage | None:
        """The message with the participant's working link written in; None if they have none."""
        if not needs_link(message):
            return message
        link = links.get(message.participant_id) if message.participant_id else None
        return with_link(message, link) if link is not None else None

    async def _mark_sent(self, message: OutgoingMessage, via: str, keep_content: bool) -> None:
        marked = await outbox.mark_sent(
            self._engine, message.id, worker=self.worker, now=self._clock(), via=via, keep_content=keep_content
        )
        self._sent_unmarked.discard(message.id)
        if not marked:
            log.warning("outbox message %s was sent after its lease ran out", message.id)

    async def _temporary(self, message: OutgoingMessage, error: DeliveryError) -> None:
        settings = self._settings
        if message.attempts >= settings.max_attempts:
            log.warning("outbox message %s failed after %d attempts: %s", message.id, message.attempts, error.reason)
            await outbox.mark_failed(
                self._engine,
                message.id,
                worker=self.worker,
                reason=f"gave up after {message.attempts} attempts: {error.reason}",
            )
            return
        wait = backoff(settings, message.attempts)
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        log.info("outbox message %s will be retried in %s: %s", message.id, wait, error.reason)
        await outbox.mark_retry(
            self._engine, message.id, worker=self.worker, at=self._clock() + wait, reason=error.reason
        )

    async def run(self) -> None:
        """Deliver until stopped: a full batch is followed at once by the next, otherwise the loop
        sleeps until woken or ``poll_seconds`` pass (which also brings reminders due by time)."""
        while not self._stopping:
            self._wakeup.clear()
            try:
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database may be away for a moment; keep going
                self._note_failure(exc)
                claimed = 0
            else:
                if self._failing:
                    self._failing = False
                    log.info("outbox delivery works again")
            if self._stopping:
                break
            if claimed >= self._settings.batch_size:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._settings.poll_seconds)

    def _note_failure(self, exc: Exception) -> None:
        """One WARNING line for an outage the loop expects and survives (the database away), not
        one a pass; anything else is an ERROR each time."""
        dependency = unavailable_dependency(exc)
        if dependency is None:
            log.error("outbox delivery pass failed: %s", type(exc).__name__)
        elif not self._failing:
            log.warning("outbox delivery: %s unavailable (%s); trying again", dependency, type(exc).__name__)
        self._failing = dependency is not None

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name="meetsvc-outbox-deliverer")

    async def stop(self, *, grace_seconds: float | None = None) -> None:
        """Let the pass in progress finish and record its outcomes, then end the loop.

        Past the grace period the loop is cancelled; a message it was sending then stays
        ``sending`` and is retried when its lease runs out.
        """
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        grace = self._settings.send_timeout_seconds if grace_seconds is None else grace_seconds
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=grace)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
