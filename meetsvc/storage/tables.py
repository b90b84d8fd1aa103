"""The schema, in one place. Alembic migrations are written against these definitions.

Personal identity numbers appear only as ``*_enc`` (AES-GCM ciphertext) and ``*_hash`` (keyed
HMAC for matching). Invitation tokens and API keys appear only as hashes.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from meetsvc.storage.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ID = 36  # uuid4 as text: portable between SQLite and PostgreSQL

organisations = Table(
    "organisations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # What citizens' messages call the organisation (subject, SMS, calendar title, sender); NULL:
    # its name up to the first comma, so no unit is named on a lock screen.
    Column("public_name", String(200)),
    # The number citizens may call about a meeting (invitations and refusal pages name it).
    Column("contact_phone", String(30)),
)

staff_members = Table(
    "staff_members",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("organisation_id", String(ID), ForeignKey("organisations.id"), nullable=False, index=True),
    Column("display_name", String(200), nullable=False),
    Column("email", String(254)),
    Column("personal_number_enc", LargeBinary),
    Column("personal_number_hash", String(64), unique=True),
    # Kept in step with ``roles``: true when they may organise or host (older readers use it).
    Column("can_organise", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    # The HSA-id of a SITHS card holder (healthcare's national directory): what Inera's IdP
    # vouches for, matched at sign-in where the organisation chose to match by it.
    Column("hsa_id", String(64), unique=True),
    # What they may do in their organisation (meetsvc.domain.roles), comma-separated names.
    Column("roles", String(200), nullable=False, default="", server_default=""),
    # False once deactivated: no sign-in by any eID, no session, no host role.
    Column("active", Boolean, nullable=False, default=True, server_default="1"),
    Column("deactivated_at", UtcDateTime),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("organisation_id", String(ID), ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

# Each organisation's own areas of care; retired ones stay, so history keeps its names.
care_areas = Table(
    "care_areas",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("organisation_id", String(ID), ForeignKey("organisations.id"), nullable=False),
    Column("code", String(40), nullable=False),
    Column("name_sv", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime),
    UniqueConstraint("organisation_id", "code", name="uq_care_areas_organisation_code"),
)

meetings = Table(
    "meetings",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("organisation_id", String(ID), ForeignKey("organisations.id"), nullable=False),
    Column("partner_organisation_id", String(ID), ForeignKey("organisations.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("care_area", String(40), nullable=False),
    # The organisation's own area (``care_area`` keeps its code, which never changes).
    Column("care_area_id", String(ID), ForeignKey("care_areas.id")),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("time_zone", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    # The waiting room's settings, chosen by a host: no new arrivals when locked; an admission
    # policy other than manual only by explicit choice; queue positions shown or not.
    Column("locked", Boolean, nullable=False, default=False, server_default="0"),
    Column("admission_policy", String(20), nullable=False, default="manual", server_default="manual"),
    Column("show_queue_position", Boolean, nullable=False, default=False, server_default="0"),
    # Raised on every change people must hear about; calendar files carry it as SEQUENCE.
    Column("sequence", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Set when the retention rule erased the meeting's personal data; nothing is due after that.
    Column("purged_at", UtcDateTime),
    # Who booked it (``staff:<id>`` or ``api-client:<id>``, the audit's actor): an organiser
    # reaches the meetings they booked.
    Column("booked_by", String(80)),
    Index("ix_meetings_organisation_starts", "organisation_id", "starts_at"),
    # The schedule loads what falls due soon, and picks up what changed since it last looked.
    Index("ix_meetings_unpurged_starts", "purged_at", "starts_at"),
    Index("ix_meetings_updated", "updated_at"),
    Index("ix_meetings_partner_starts", "partner_organisation_id", "starts_at"),
)

meeting_hosts = Table(
    "meeting_hosts",
    metadata,
    Column("meeting_id", String(ID), ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("staff_id", String(ID), ForeignKey("staff_members.id"), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
)

participants = Table(
    "participants",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("meeting_id", String(ID), ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("role", String(30), nullable=False),
    Column("organisation_id", String(ID), ForeignKey("organisations.id")),
    # Which of the meeting's two organisations invited them: the partner manages only its own.
    Column("invited_by_organisation_id", String(ID), ForeignKey("organisations.id")),
    Column("display_name", String(200), nullable=False),
    Column("email", String(254)),
    Column("mobile", String(20)),
    Column("language", String(5), nullable=False),
    Column("personal_number_enc", LargeBinary),
    Column("personal_number_hash", String(64)),
    Column("state", String(20), nullable=False),
    # In the waiting room since (its order is the queue); without eID if ``unverified``.
    Column("waiting_since", UtcDateTime),
    Column("unverified", Boolean, nullable=False, default=False, server_default="0"),
    # The latest message a host sent this participant, shown again after a reconnect.
    Column("host_message", String(500)),
    Column("removed_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A short note a waiting participant sent the hosts ("I can't get the sound to work"): shown
# beside their entry; its text is never audited or logged, and goes with the personal data purge.
waiting_notes = Table(
    "waiting_notes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("meeting_id", String(ID), ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False),
    Column("participant_id", String(ID), ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("text", String(300), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

# Identity as verified by eID, bound to the participant: what the hosts see and compare.
participant_identities = Table(
    "participant_identities",
    metadata,
    Column("participant_id", String(ID), ForeignKey("participants.id", ondelete="CASCADE"), primary_key=True),
    Column("given_name", String(200), nullable=False),
    Column("surname", String(200), nullable=False),
    Column("personal_number_hash", String(64), nullable=False),
    # True: the verified person is the one the invitation expected; False: someone else;
    # NULL: the invitation expected nobody in particular.
    Column("matches_invitation", Boolean),
    Column("provider", String(40), nullable=False),
    Column("level_of_assurance", String(20), nullable=False),
    Column("verified_at", UtcDateTime, nullable=False),
)

# A browser's session: a participant who opened their link, or a staff member signing in.
# Only the hash of the cookie's token is stored.
browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("kind", String(20), nullable=False),
    Column("participant_id", String(ID), ForeignKey("participants.id", ondelete="CASCADE"), index=True),
    Column("staff_id", String(ID), ForeignKey("staff_members.id", ondelete="CASCADE"), index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("language", String(5), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    # Why it ended, when it did not simply expire: the page tells the person (link revoked,
    # reissued, removed, meeting cancelled or ended, another device took over).
    Column("end_reason", String(30)),
)

# The unit of admission: one person, in one browser session, on one invitation. The verified
# identity belongs to the session that identified, so a second person opening the same link
# becomes a second entry instead of relabelling the first; the host decides about an entry, and
# the video credential and every notice go to that entry's sockets only. ``participants.state``
# summarises the entries of its invitation for the organiser's views.
attendances = Table(
    "attendances",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("meeting_id", String(ID), ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("participant_id", String(ID), ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("session_id", String(ID), nullable=False, unique=True),
    Column("state", String(20), nullable=False),
    Column("waiting_since", UtcDateTime),
    Column("unverified", Boolean, nullable=False, default=False, server_default="0"),
    Column("host_message", String(500)),
    Column("given_name", String(200)),
    Column("surname", String(200)),
    Column("personal_number_hash", String(64)),
    Column("matches_invitation", Boolean),
    Column("provider", String(40)),
    Column("level_of_assurance", String(20)),
    Column("verified_at", UtcDateTime),
    # Another person had already opened this invitation when this one identified.
    Column("second_person", Boolean, nullable=False, default=False, server_default="0"),
    # A host sent this entry back from the meeting: its page says "wait, you will be let in again".
    Column("sent_back", Boolean, nullable=False, default=False, server_default="0"),
    # Presence, from the sockets: how many of the entry's lobby and video sockets are open.
    Column("lobby_sockets", Integer, nullable=False, default=0, server_default="0"),
    Column("video_sockets", Integer, nullable=False, default=0, server_default="0"),
    Column("connection_lost_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("end_reason", String(30)),
)

# One staff sign-in through OpenID Connect between the redirect to the provider and its answer:
# what only the server may know (nonce, PKCE verifier), bound to the browser's session; the state
# is kept as a hash. Used once, and worthless after expires_at.
oidc_sign_ins = Table(
    "oidc_sign_ins",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("state_hash", String(64), nullable=False, unique=True),
    Column("session_id", String(ID), ForeignKey("browser_sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("provider", String(40), nullable=False),
    Column("nonce", String(100), nullable=False),
    Column("code_verifier", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
)

# One eID order in progress or finished. The QR secret is encrypted: it must never reach a
# browser, and any process may be asked for the next QR frame.
identifications = Table(
    "identifications",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("session_id", String(ID), ForeignKey("browser_sessions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("participant_id", String(ID), ForeignKey("participants.id", ondelete="CASCADE"), index=True),
    Column("provider", String(40), nullable=False),
    Column("order_ref", String(100), nullable=False, unique=True),
    Column("auto_start_token", String(100)),
    Column("qr_start_token", String(100)),
    Column("qr_start_secret_enc", LargeBinary),
    Column("provider_state", Text, nullable=False, default="{}"),
    Column("same_device", Boolean, nullable=False),
    Column("client_address_hash", String(64), nullable=False, index=True),
    Column("state", String(20), nullable=False),
    Column("hint_code", String(40)),
    # What the completed identification meant: matched, mismatch, unexpected (no person was
    # expected), staff (a known staff member), not_staff (unknown to the staff directory).
    Column("outcome", String(20)),
    # The level the provider vouched at when it completed (loa3 for BankID and Freja eID+,
    # extended for Freja eID at EXTENDED): staff sign-ins keep it here, participants also on
    # participant_identities.
    Column("level_of_assurance", String(20)),
    Column("staff_id", String(ID), ForeignKey("staff_members.id", ondelete="CASCADE")),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("finished_at", UtcDateTime),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("participant_id", String(ID), ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("opened_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(60), nullable=False),
    Column("subject_type", String(30), nullable=False),
    Column("subject_id", String(ID), nullable=False),
    Column("meeting_id", String(ID), index=True),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row. Appending to the audit log starts with an UPDATE of it, which serialises appenders on
# every database (a row lock on PostgreSQL, the write lock on SQLite), so the chain never forks.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Messages to participants, recorded in the transaction that causes them and sent afterwards by
# the one delivery loop of each process (meetsvc.notify). ``dedupe_key`` makes enqueueing
# idempotent; ``claimed_by``/``claimed_until`` are the lease that lets another process (or this
# one after a restart) retry a message whose sender died. ``recipient``, ``body`` and
# ``attachment`` are personal data: the content is cleared once a message is final and the
# recipient by the retention purge. ``last_error`` holds a reason built from codes, never a
# server's free text (which often echoes the address).
outbox_messages = Table(
    "outbox_messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("meeting_id", String(ID), ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("participant_id", String(ID), ForeignKey("participants.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("channel", String(10), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("recipient", String(254)),
    Column("sender_name", String(200)),
    Column("subject", String(300)),
    Column("body", Text),
    Column("attachment", Text),
    Column("language", String(5), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    # A message not sent by then is cancelled (a reminder after the meeting has started).
    Column("expires_at", UtcDateTime),
    Column("last_error", String(200)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    # Which adapter took it: "smtp", "sms-http", or "outbox" (development: kept for the dev page).
    Column("sent_via", String(20)),
    Column("claimed_by", String(100)),
    Column("claimed_until", UtcDateTime),
    Index("ix_outbox_messages_status_next_attempt", "status", "next_attempt_at"),
)


# What statistics keep of a meeting: its outcome, and who it was for only as legal gender, age
# band and a yearly keyed pseudonym (the person counts once a year; the pseudonym goes when
# the year is closed). Never a name or a personal number: the retention purge leaves it.
meeting_statistics = Table(
    "meeting_statistics",
    metadata,
    Column("meeting_id", String(ID), ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("gender", String(10)),
    Column("age_band", String(10)),
    Column("pseudonym", String(64)),
    # True: gender and age band were derived from the personal identity number at booking.
    Column("derived", Boolean, nullable=False, default=False, server_default="0"),
    Column("outcome", String(20)),
    Column("reason", String(30)),
    Column("individual_took_part", Boolean),
    Column("child_took_part", Boolean),
    Column("recorded_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_meeting_statistics_year_outcome", "year", "outcome"),
)

# How long each admitted person waited, in seconds: no person, only the meeting's year and area.
admission_waits = Table(
    "admission_waits",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("meeting_id", String(ID), ForeignKey("meetings.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("waited_s", Integer, nullable=False),
    Index("ix_admission_waits_year", "year"),
)

# One row a year: the key of its pseudonyms (sealed like personal numbers) until it is closed.
statistics_years = Table(
    "statistics_years",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("key_enc", LargeBinary),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
)

# A closed year's counts of individuals, fixed when its key went (the pseudonyms go with it).
statistics_individuals = Table(
    "statistics_individuals",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("organisation_id", String(ID), ForeignKey("organisations.id"), primary_key=True),
    Column("care_area_id", String(ID), ForeignKey("care_areas.id"), primary_key=True),
    Column("gender", String(10), primary_key=True),
    Column("age_band", String(10), primary_key=True),
    Column("individuals", Integer, nullable=False),
    Column("established", Integer, nullable=False),
    Column("followed_up", Integer, nullable=False),
)

# The denominator: cases ("ärenden") per area and year, as the case system reports them;
# gender "all" or one gender.
case_counts = Table(
    "case_counts",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("organisation_id", String(ID), ForeignKey("organisations.id"), primary_key=True),
    Column("care_area_id", String(ID), ForeignKey("care_areas.id"), primary_key=True),
    Column("gender", String(10), primary_key=True),
    Column("cases", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
