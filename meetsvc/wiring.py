"""Wiring: every service of meetsvc is built here, once, for the server and the CLI alike.

A newcomer reads this module to learn what depends on what. It mounts no transport (no HTTP
handler, no socket.io namespace): :func:`meetsvc.app.create_app` opens these and mounts the HTTP
and realtime transport on top; ``meetsvc`` commands (:mod:`meetsvc.cli`) open
:func:`open_services` alone.

Each resource is opened and closed by one async context manager, so a failure half-way through
start-up closes what was already opened:

* :func:`open_services` — the key files, the database engine and the use cases over it;
* :func:`open_admission` — the signing keys, lobby tickets, the video backend and the hand-over
  to it (what lets a participant in, and on into the meeting);
* :func:`open_identification` — the eID provider, its collect loop, and identification;
* :func:`open_staff_sign_in` — the clients at organisations' OpenID Connect providers, and
  staff sign-in through them;
* :func:`build_schedule` — the timed work (reminders, opening and closing rooms, purging);
  messages are opened by :func:`meetsvc.notify.runtime.open_notify`;
* :func:`prepare_demo` — in development, a meeting to walk through at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from identity.bankid.client import BankIdClient, BankIdConfig
from identity.bankid.collector import CollectLoop
from identity.bankid.provider import BankIdProvider
from identity.base import Order
from identity.freja.client import FrejaClient, FrejaConfig, RegistrationLevel
from identity.freja.provider import INITIAL_HINT, FrejaProvider
from identity.oidc.profiles import PROFILES
from meetsvc.config import Settings
from meetsvc.core.clock import Clock, utc_now
from meetsvc.core.pii import PersonalNumberVault
from meetsvc.core.secrets import SecretKeys, load_keys
from meetsvc.core.signing import SigningKeys
from meetsvc.domain.disclosure import Rule
from meetsvc.notify.notices import MessageNotices
from meetsvc.notify.runtime import NotifyRuntime
from meetsvc.realtime.tickets import LobbyTickets
from meetsvc.schedule.events import Rules
from meetsvc.schedule.leader import leadership_for
from meetsvc.schedule.runner import Schedule
from meetsvc.schedule.work import Hooks, ScheduledWork
from meetsvc.services.audit import AuditLog
from meetsvc.services.booking import Booking, BookingLimits
from meetsvc.services.care_areas import CareAreas
from meetsvc.services.demo import Demo, DemoCast, DemoPerson, DemoSeed, DemoTiming
from meetsvc.services.directory import Directory
from meetsvc.services.eid import EidRuntime, FrejaMessages
from meetsvc.services.handover import Handover
from meetsvc.services.identification import Identification, RateLimits
from meetsvc.services.invitations import Invitations
from meetsvc.services.links import JoinLinks
from meetsvc.services.notes import WaitingNotes
from meetsvc.services.sessions import BrowserSessions
from meetsvc.services.staff_oidc import StaffOidcSignIn, StaffProvider, accepted_acr
from meetsvc.services.statistics import Statistics, StatisticsRecorder
from meetsvc.services.statistics_report import StatisticsReports
from meetsvc.services.waiting_room import Notices, WaitingRoom
from meetsvc.storage.engine import Engine, create_engine
from meetsvc.video.base import VideoBackend
from meetsvc.video.builtin import AUDIENCE as VIDEO_AUDIENCE
from meetsvc.video.registry import create_backend

log = logging.getLogger(__name__)


def booking_limits(settings: Settings) -> BookingLimits:
    meetings = settings.meetings
    return BookingLimits(
        max_participants=meetings.max_participants,
        min_duration=timedelta(minutes=meetings.min_duration_minutes),
        max_duration=timedelta(minutes=meetings.max_duration_minutes),
        max_ahead=timedelta(days=meetings.max_days_ahead),
        time_zone=meetings.time_zone,
    )


@dataclass(frozen=True)
class Services:
    """The use cases over one database, with the keys and the clock they share."""

    settings: Settings
    clock: Clock
    keys: SecretKeys
    engine: Engine
    audit: AuditLog
    vault: PersonalNumberVault
    directory: Directory
    links: JoinLinks
    sessions: BrowserSessions
    invitations: Invitations
    waiting_room: WaitingRoom
    care_areas: CareAreas
    statistics: Statistics
    reports: StatisticsReports
    notes: WaitingNotes

    def booking(
        self,
        *,
        notices: MessageNotices | None = None,
        on_change: Callable[[str], None] | None = None,
        entries_ended: Callable[[Notices], Awaitable[None]] | None = None,
    ) -> Booking:
        """Booking, recording its messages in ``notices`` when given (the server does; the CLI
        books nothing)."""
        return Booking(
            self.engine,
            self.audit,
            self.vault,
            booking_limits(self.settings),
            self.clock,
            links=self.links,
            notices=notices,
            on_change=on_change,
            statistics=self.statistics.recorder,
            entries_ended=entries_ended,
        )


@asynccontextmanager
async def open_services(settings: Settings, clock: Clock = utc_now) -> AsyncIterator[Services]:
    """Read the key files (creating them only where the settings allow), open the engine and
    build the use cases; dispose of the engine on the way out."""
    security = settings.security
    keys = await asyncio.to_thread(
        load_keys, security.keys_dir, create_missing=security.create_missing_keys, development=settings.is_development
    )
    engine = create_engine(settings.database.url, echo=settings.database.echo)
    try:
        audit = AuditLog(keys.audit_chain)
        vault = PersonalNumberVault(keys.pii_encryption, keys.pii_hash)
        sessions = BrowserSessions(
            engine,
            idle=timedelta(minutes=settings.sessions.idle_minutes),
            absolute=timedelta(hours=settings.sessions.absolute_hours),
            clock=clock,
            form_key=keys.derive("staff sign-in forms").reveal(),
            # An identification order counts against the eID rate limits for the rate window:
            # its session's row (and the order with it) is kept at least that long.
            retain=timedelta(minutes=settings.identity.rate_window_minutes),
        )
        recorder = StatisticsRecorder(vault, clock)
        yield Services(
            settings=settings,
            clock=clock,
            keys=keys,
            engine=engine,
            audit=audit,
            vault=vault,
            directory=Directory(engine, audit, vault, clock),
            links=JoinLinks(keys.derive("invitation links").reveal(), settings.server.base_url),
            sessions=sessions,
            invitations=Invitations(engine, audit, sessions, clock),
            waiting_room=WaitingRoom(
                engine,
                audit,
                opens_before=timedelta(minutes=settings.waiting_room.opens_minutes_before),
                clock=clock,
                statistics=recorder,
            ),
            care_areas=CareAreas(engine, audit, clock),
            statistics=Statistics(engine, audit, recorder, clock),
            reports=StatisticsReports(
                engine,
                Rule(settings.statistics.hide_from, settings.statistics.hide_to, settings.statistics.min_base),
            ),
            notes=WaitingNotes(engine, audit, clock),
        )
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Admission:
    """What lets a participant in: lobby tickets for the waiting room, and after a host's
    decision the hand-over to the video backend."""

    signing: SigningKeys
    tickets: LobbyTickets
    video: VideoBackend
    handover: Handover


@asynccontextmanager
async def open_admission(services: Services) -> AsyncIterator[Admission]:
    """Read the signing keys and open the configured video backend; close the backend on the way out."""
    settings, clock = services.settings, services.clock
    security = settings.security
    signing = await asyncio.to_thread(
        SigningKeys.load,
        security.keys_dir / "signing",
        create_missing=security.create_missing_keys,
        development=settings.is_development,
    )
    issuer = settings.server.base_url
    tickets = LobbyTickets(signing, issuer=issuer, lifetime=timedelta(minutes=settings.waiting_room.ticket_minutes))
    backend = await asyncio.to_thread(
        create_backend,
        settings.video,
        sign=signing.sign,
        verify=lambda token: signing.verify(token, audience=VIDEO_AUDIENCE, issuer=issuer, now=clock()),
        issuer=issuer,
        public_url=issuer,
        clock=clock,
    )
    try:
        handover = Handover(
            services.engine,
            services.audit,
            backend,
            services.keys.derive("video room names"),
            lifetime=timedelta(minutes=settings.waiting_room.video_credential_minutes),
            clock=clock,
        )
        yield Admission(signing=signing, tickets=tickets, video=backend, handover=handover)
    finally:
        await backend.aclose()


async def open_eid(settings: Settings, clock: Clock) -> AsyncIterator[EidRuntime]:
    """Open the configured eID provider and its collect loop; close both on the way out.

    Configuration chooses real BankID over mutual TLS or (development only) the built-in
    simulator, started in-process on loopback with a throw-away PKI. Either way the service
    talks to it through the same BankID client over HTTPS, so development exercises the
    production path. One collect loop per process polls every pending order.
    """
    simulator = None
    if settings.identity.provider == "bankid-simulator":
        from identity.bankid.simulator.app import start_simulator
        from identity.bankid.simulator.state import SimulatorSettings

        sim = settings.simulator
        # The simulator ages its orders on the service's clock, so the second of each QR frame the
        # service draws and the order's age the simulator checks can never drift apart (a test
        # that moves the clock moves both).
        on_our_clock = SimulatorSettings(clock=lambda: clock().timestamp())
        simulator = await start_simulator(
            sim.certs_dir, sim.host, sim.api_port, sim.app_port, app_host=sim.host, settings=on_our_clock
        )
        config = BankIdConfig(
            client_cert=simulator.client_cert_path,
            client_key=simulator.client_key_path,
            ca_cert=simulator.ca_path,
            base_url=simulator.api_url,
        )
        # The start-up lines show the app page; its API's (random) port matters only when debugging.
        log.debug("BankID simulator: API %s, app page %s", simulator.api_url, simulator.app_url)
    else:
        bankid = settings.bankid
        assert bankid.client_cert and bankid.client_key and bankid.ca_cert  # checked by Settings
        config = BankIdConfig(
            client_cert=bankid.client_cert,
            client_key=bankid.client_key,
            ca_cert=bankid.ca_cert,
            base_url=bankid.url,
            key_password=bankid.key_password,
            request_timeout=bankid.request_timeout_seconds,
        )
    client = await BankIdClient.open(config)
    referring_domain = settings.server.base_url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0]
    provider = BankIdProvider(client, referring_domain=referring_domain, clock=clock)
    loop = CollectLoop(provider, interval=settings.identity.collect_interval_seconds)
    await loop.start()

    def autostart(order: Order, return_url: str | None, mobile: bool) -> str | None:
        if simulator is not None and order.auto_start_token:
            # No BankID app exists here: the simulator's app page stands in for it.
            return simulator.app_link(order.auto_start_token, return_url)
        return provider.autostart_url(order, return_url, mobile=mobile)

    try:
        yield EidRuntime(provider, loop, autostart, simulator.app_url if simulator else None)
    finally:
        await loop.stop()
        await client.close()
        if simulator is not None:
            await simulator.close()


async def open_freja(settings: Settings, clock: Clock) -> AsyncIterator[EidRuntime | None]:
    """Open Freja eID and its own collect loop when the deployment enables it, else yield None.

    As for BankID: real Freja over mutual TLS with its signing certificate pinned, or (development
    only) the built-in Freja simulator started in-process on loopback, reached through the same
    client over HTTPS. On this device the simulator's app page stands in for the Freja app.
    """
    freja = settings.freja
    if not freja.enabled:
        yield None
        return
    simulator = None
    if freja.use_simulator:
        from identity.freja.simulator.app import start_freja_simulator
        from identity.freja.simulator.state import SimulatorSettings as FrejaSimulatorSettings

        sim = settings.freja_simulator
        simulator = await start_freja_simulator(
            sim.certs_dir,
            sim.host,
            sim.api_port,
            sim.app_port,
            app_host=sim.host,
            settings=FrejaSimulatorSettings(clock=lambda: clock().timestamp()),
        )
        config = FrejaConfig(
            client_cert=simulator.client_cert_path,
            client_key=simulator.client_key_path,
            ca_cert=simulator.ca_path,
            signing_cert=simulator.signing_cert_path,
            base_url=simulator.api_url,
        )
    else:
        assert freja.client_cert and freja.client_key and freja.ca_cert and freja.signing_cert  # checked by Settings
        config = FrejaConfig(
            client_cert=freja.client_cert,
            client_key=freja.client_key,
            ca_cert=freja.ca_cert,
            signing_cert=freja.signing_cert,
            base_url=freja.url,
            key_password=freja.key_password,
            request_timeout=freja.request_timeout_seconds,
        )
    try:
        client = await FrejaClient.open(config)
    except BaseException:
        if simulator is not None:
            await simulator.close()
        raise
    provider = FrejaProvider(
        client, min_registration_level=RegistrationLevel(freja.min_registration_level), clock=clock
    )
    loop = CollectLoop(provider, interval=settings.identity.collect_interval_seconds)
    await loop.start()

    def app_link(order: Order, return_url: str | None, mobile: bool) -> str | None:
        if simulator is not None:
            return simulator.app_link(order.order_ref)
        return provider.autostart_url(order, return_url)

    try:
        yield EidRuntime(
            provider,
            loop,
            app_link,
            simulator.app_url if simulator else None,
            messages=FrejaMessages(),
            initial_hint=INITIAL_HINT,
        )
    finally:
        await loop.stop()
        await client.close()
        if simulator is not None:
            await simulator.close()


@dataclass(frozen=True)
class EidServices:
    """The eID providers as this process runs them, and the identification built on them.

    ``freja`` is None unless the deployment enables Freja eID."""

    runtime: EidRuntime
    identification: Identification
    freja: EidRuntime | None = None


@asynccontextmanager
async def open_identification(services: Services) -> AsyncIterator[EidServices]:
    """Open the configured eID provider (the simulator in development) and identification;
    on the way out let identifications under way finish, then close the provider."""
    settings = services.settings
    async for runtime, freja in _open_providers(settings, services.clock):
        identity = settings.identity
        identification = Identification(
            services.engine,
            runtime,
            services.vault,
            services.audit,
            RateLimits(
                identity.starts_per_invitation,
                identity.starts_per_address,
                timedelta(minutes=identity.rate_window_minutes),
            ),
            services.clock,
            others={freja.name: freja} if freja is not None else None,
        )
        try:
            yield EidServices(runtime, identification, freja)
        finally:
            await identification.drain()


@asynccontextmanager
async def open_staff_sign_in(services: Services) -> AsyncIterator[StaffOidcSignIn]:
    """A client at each configured OpenID Connect provider (none is contacted before someone
    signs in), and staff sign-in through them; the clients are closed on the way out."""
    from identity.oidc.client import OidcClient
    from identity.oidc.types import OidcClientConfig

    settings = services.settings
    redirect_uri = f"{settings.server.base_url}/staff/oidc/callback"
    providers: dict[str, StaffProvider] = {}
    clients: list[OidcClient] = []
    try:
        for configured in settings.staff_sign_in.oidc:
            profile = PROFILES[configured.profile]
            client = OidcClient.open(
                OidcClientConfig(
                    issuer=configured.issuer,
                    client_id=configured.client_id,
                    client_secret=configured.client_secret,
                    redirect_uri=redirect_uri,
                    scopes=configured.scopes or profile.scopes,
                    acr_values=accepted_acr(configured.profile, configured.acr_values, configured.accept_loa2),
                )
            )
            clients.append(client)
            providers[configured.name] = StaffProvider(
                name=configured.name,
                organisation=configured.organisation,
                profile=profile,
                match_by=configured.match_by,
                client=client,
                personal_number_claim=configured.personal_number_claim or profile.personal_number_claim,
                hsa_id_claim=configured.hsa_id_claim or profile.hsa_id_claim,
            )
        yield StaffOidcSignIn(
            services.engine,
            providers,
            services.sessions,
            services.vault,
            services.audit,
            lifetime=timedelta(minutes=settings.staff_sign_in.oidc_minutes),
            clock=services.clock,
        )
    finally:
        for client in clients:
            await client.close()


async def _open_providers(settings: Settings, clock: Clock) -> AsyncIterator[tuple[EidRuntime, EidRuntime | None]]:
    async for runtime in open_eid(settings, clock):
        async for freja in open_freja(settings, clock):
            yield runtime, freja


def build_schedule(services: Services, notify: NotifyRuntime, hooks: Hooks) -> Schedule | None:
    """The timed work, or None where the settings turn it off. ``hooks`` tell the transport
    (pages, sockets) what the work did; the caller starts and stops the schedule."""
    settings = services.settings
    if not settings.schedule.enabled:
        return None
    rules = Rules(
        reminders_before=tuple(timedelta(minutes=m) for m in settings.notify.reminders_minutes_before),
        opens_before=timedelta(minutes=settings.waiting_room.opens_minutes_before),
        close_after=timedelta(minutes=settings.schedule.close_after_minutes),
        purge_after=timedelta(days=settings.schedule.purge_after_days),
    )
    work = ScheduledWork(
        services.engine,
        services.audit,
        services.waiting_room,
        notify.notices,
        services.links,
        rules,
        hooks,
        services.clock,
        sessions=services.sessions,
    )
    return Schedule(services.engine, work, rules, settings.schedule, leadership_for(services.engine), services.clock)


async def prepare_demo(services: Services, booking: Booking) -> Demo | None:
    """The development demo (``demo.seed``), cast from the BankID simulator's test persons so that
    everyone in it can identify; None where the settings do not ask for it."""
    settings = services.settings
    if not (settings.is_development and settings.demo.seed and settings.identity.provider == "bankid-simulator"):
        return None
    from identity.bankid.simulator.persons import TEST_PERSONS

    def person(index: int) -> DemoPerson:
        return DemoPerson(TEST_PERSONS[index].name, TEST_PERSONS[index].personal_number)

    cast = DemoCast(
        leader=person(0), co_host=person(1), individual=person(2), guardian=person(3), region_staff=person(5)
    )
    meetings = settings.meetings
    # Inside the waiting room's opening, so that it is open now (at its start, if it opens then).
    opens = timedelta(minutes=settings.waiting_room.opens_minutes_before)
    starts_in = max(timedelta(minutes=1), min(timedelta(minutes=5), opens))
    lasts = min(
        max(timedelta(hours=2), timedelta(minutes=meetings.min_duration_minutes)),
        timedelta(minutes=meetings.max_duration_minutes),
    )
    seed = DemoSeed(services.directory, booking, services.links, services.engine)
    return await seed.prepare(cast, DemoTiming(starts_in, lasts))
