"""The ``meetsvc`` command: serve, migrate, and the operator's tasks.

    meetsvc serve                          start the service (applies no migrations); with
                                           server.processes > 1, that many supervised workers
    meetsvc migrate                        bring the database schema up to date
    meetsvc organisation create NAME --kind municipality|region [--public-name TEXT]
    meetsvc organisation set-public-name ID_OR_NAME [TEXT]
                                           what citizens' messages call it (none: the default)
    meetsvc organisation list
    meetsvc api-client create --organisation ID_OR_NAME --name NAME
    meetsvc audit verify                   check the audit log's hash chain
    meetsvc keys init                      create the key files (production set-up)
    meetsvc keys rotate                    add a new signing key; older ones still verify

Every command reads the same configuration as the service (``--config`` or ``MEETSVC_CONFIG``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from meetsvc.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from aiohttp import web

    from meetsvc.domain.model import Organisation, StaffMember
    from meetsvc.services.audit import Verification
    from meetsvc.wiring import Services

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]
T = TypeVar("T")


def _print(message: str = "", *, err: bool = False) -> None:
    print(message, file=sys.stderr if err else sys.stdout, flush=True)


async def _with_services(settings: Settings, work: Callable[[Services], Awaitable[T]]) -> T:
    """Open the services the way the server does (:mod:`meetsvc.wiring`), for one command.
    Imported here, like every command's own imports, so ``meetsvc --help`` loads none of them."""
    from meetsvc.wiring import open_services

    async with open_services(settings) as services:
        return await work(services)


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from meetsvc.core.secrets import load_keys
    from meetsvc.storage.migrate import upgrade

    # First start in development: the keys appear with the database.
    await asyncio.to_thread(
        load_keys,
        settings.security.keys_dir,
        create_missing=settings.security.create_missing_keys,
        development=settings.is_development,
    )
    done = await upgrade(settings.database.url)
    _print(done.describe())
    return 0


async def cmd_keys_init(args: argparse.Namespace, settings: Settings) -> int:
    from meetsvc.core.secrets import load_keys
    from meetsvc.core.signing import load_signing_keys

    # Keys made under a development configuration are marked so, and production refuses them.
    development = settings.is_development
    await asyncio.to_thread(load_keys, settings.security.keys_dir, create_missing=True, development=development)
    await asyncio.to_thread(
        load_signing_keys, settings.security.keys_dir / "signing", create_missing=True, development=development
    )
    _print(
        f"keys are in {settings.security.keys_dir} (back them up: without them stored personal numbers cannot be read)"
    )
    return 0


async def cmd_keys_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from meetsvc.core.signing import create_key, load_signing_keys

    folder = settings.security.keys_dir / "signing"
    development = settings.is_development
    key = await asyncio.to_thread(create_key, folder, development=development)
    keys = await asyncio.to_thread(load_signing_keys, folder, create_missing=False, development=development)
    _print(f"new signing key {key.kid}; {len(keys.keys)} keys verify. Restart the service processes to sign with it;")
    _print("remove an old key file only after every ticket it signed has expired (waiting_room.ticket_minutes).")
    return 0


async def cmd_organisation_create(args: argparse.Namespace, settings: Settings) -> int:
    from meetsvc.domain.model import OrganisationKind

    async def work(services: Services) -> Organisation:
        return await services.directory.create_organisation(
            args.name, OrganisationKind(args.kind), public_name=args.public_name
        )

    organisation = await _with_services(settings, work)
    _print(f"{organisation.id}  {organisation.kind.value}  {organisation.name}")
    _print(f"citizens' messages say: {organisation.citizens_see}")
    return 0


async def cmd_organisation_set_public_name(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> Organisation:
        return await services.directory.set_public_name(args.organisation, args.public_name)

    organisation = await _with_services(settings, work)
    _print(f"{organisation.id}  {organisation.name}")
    _print(f"citizens' messages say: {organisation.citizens_see}")
    return 0


async def cmd_organisation_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> list[Organisation]:
        return await services.directory.list_organisations()

    for organisation in await _with_services(settings, work):
        _print(f"{organisation.id}  {organisation.kind.value:<12}  {organisation.name}  ({organisation.citizens_see})")
    return 0


async def cmd_api_client_create(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> tuple[Organisation, str, str]:
        organisation = await services.directory.find_organisation(args.organisation)
        client_id, key = await services.directory.create_api_client(organisation.id, args.name)
        return organisation, client_id, key

    organisation, client_id, key = await _with_services(settings, work)
    _print(f"API client {client_id} for {organisation.name}")
    _print("key (shown once; only its hash is stored):")
    _print(key)
    return 0


async def cmd_staff_set_hsa_id(args: argparse.Namespace, settings: Settings) -> int:
    from meetsvc.domain.callers import OrganisationCaller

    async def work(services: Services) -> StaffMember:
        organisation = await services.directory.find_organisation(args.organisation)
        caller = OrganisationCaller(organisation_id=organisation.id, actor="operator")
        return await services.directory.set_hsa_id(caller, args.staff_id, None if args.remove else args.hsa_id)

    if args.remove == (args.hsa_id is not None):
        _print("meetsvc: give either an HSA-id or --remove", err=True)
        return 2
    member = await _with_services(settings, work)
    _print(f"{member.id}  {member.display_name}  HSA-id: {member.hsa_id or '(none)'}")
    return 0


async def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> Verification:
        return await services.audit.verify_stored(services.engine)

    result = await _with_services(settings, work)
    if result.ok:
        _print(f"audit log intact: {result.entries} entries, head {result.head_hash}")
        return 0
    _print(f"audit log BROKEN at entry {result.broken_seq}: {result.reason}", err=True)
    _print(f"{result.entries} entries before it verified", err=True)
    return 1


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from meetsvc.core.logs import configure_logging

    configure_logging(settings.logging.level, settings.logging.format)
    if settings.server.processes > 1:
        from meetsvc.core.secrets import MissingKeyError
        from meetsvc.supervisor import supervise

        try:
            return supervise(settings, config=args.config)
        except (MissingKeyError, FileNotFoundError) as exc:
            _print(f"meetsvc: {exc}", err=True)
            return 1

    from meetsvc.core.secrets import MissingKeyError, load_keys
    from meetsvc.core.signing import load_signing_keys

    # The keys are read (or made, where the settings allow) before the app starts, so that a
    # missing key, or a development key in production, stops it with one line naming the setting.
    security, development = settings.security, settings.is_development
    try:
        load_keys(security.keys_dir, create_missing=security.create_missing_keys, development=development)
        load_signing_keys(
            security.keys_dir / "signing", create_missing=security.create_missing_keys, development=development
        )
    except (MissingKeyError, FileNotFoundError, ValueError) as exc:
        _print(f"meetsvc: {exc}", err=True)
        return 1

    from aiohttp import web

    from meetsvc.app import create_app

    app = create_app(settings)

    def announce(_: str) -> None:
        for line in banner(app):
            _print(line)

    web.run_app(app, host=settings.server.host, port=settings.server.port, print=announce, access_log=None)
    return 0


def banner(app: web.Application) -> list[str]:
    """What a person reads when the service has started: where to go, and in development the
    BankID simulator, the outbox and the demo meeting's links. Nothing else is printed at start
    unless something happened."""
    from zoneinfo import ZoneInfo

    from meetsvc.http.appkeys import DEMO, EID, SETTINGS

    settings = app[SETTINGS]
    base = settings.server.base_url
    lines = [
        f"meetsvc is running: open {base}/",
        f"  API document      {base}/api/v1/openapi.json",
        f"  health            {base}/healthz",
    ]
    simulator = app[EID].simulator_app_url
    if simulator:
        lines.append(f"  BankID simulator  {simulator}  (approve identifications here as a test person)")
    if settings.is_development and "outbox" in (settings.notify.email, settings.notify.sms):
        lines.append(f"  outbox            {base}/dev/outbox  (the messages the service would have sent)")
    demo = app.get(DEMO)
    if demo is not None:
        starts = demo.starts_at.astimezone(ZoneInfo(settings.meetings.time_zone)).strftime("%H:%M")
        lines += [
            f"A demo meeting starts at {starts}; its waiting room is open now.",
            f"  Host: sign in at {base}/staff/login as {demo.leader} (or the co-host {demo.co_host}),",
            f"        then open the host console {base}/staff/meetings/{demo.meeting_id}",
            "  Participants (open a link in another browser window and identify as that person):",
        ]
        width = max(len(link.name) for link in demo.links) if demo.links else 0
        lines += [f"    {link.name:<{width}}  {link.url}" for link in demo.links]
    lines.append("press Ctrl+C to stop")
    return lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meetsvc", description="Confidential SIP meetings at a distance.")
    parser.add_argument(
        "--config", type=Path, help="TOML configuration file (default: MEETSVC_CONFIG or config/development.toml)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("serve", help="start the service")
    sub.add_parser("migrate", help="bring the database schema up to date")

    organisation = sub.add_parser("organisation", help="municipalities and regions").add_subparsers(
        dest="action", required=True
    )
    create = organisation.add_parser("create", help="add an organisation")
    create.add_argument("name")
    create.add_argument("--kind", required=True, choices=["municipality", "region"])
    create.add_argument(
        "--public-name", help="what citizens' messages call it (default: the name up to its first comma)"
    )
    set_public = organisation.add_parser(
        "set-public-name", help="what citizens' messages (subject, SMS, calendar) call the organisation"
    )
    set_public.add_argument("organisation", help="organisation id or exact name")
    set_public.add_argument("public_name", nargs="?", help="leave out to go back to the default")
    organisation.add_parser("list", help="list organisations, with what citizens' messages call each")

    client = sub.add_parser("api-client", help="keys for integrating systems").add_subparsers(
        dest="action", required=True
    )
    create_client = client.add_parser("create", help="create an API client key for one organisation")
    create_client.add_argument("--organisation", required=True, help="organisation id or exact name")
    create_client.add_argument("--name", required=True, help="what the client is, e.g. 'Treserva'")

    staff = sub.add_parser("staff", help="an organisation's staff members").add_subparsers(dest="action", required=True)
    set_hsa = staff.add_parser("set-hsa-id", help="set or remove the HSA-id a SITHS sign-in is matched by")
    set_hsa.add_argument("organisation", help="the organisation's id or name")
    set_hsa.add_argument("staff_id", help="the staff member's id")
    set_hsa.add_argument("hsa_id", nargs="?", help="the HSA-id, e.g. SE2321000016-1003")
    set_hsa.add_argument("--remove", action="store_true", help="remove the staff member's HSA-id")
    audit = sub.add_parser("audit", help="the audit log").add_subparsers(dest="action", required=True)
    audit.add_parser("verify", help="check the hash chain and name the first broken entry")

    keys = sub.add_parser("keys", help="the service's keys").add_subparsers(dest="action", required=True)
    keys.add_parser("init", help="create missing key files in security.keys_dir")
    keys.add_parser("rotate", help="add a new signing key (older keys keep verifying)")
    return parser


COMMANDS: dict[tuple[str, str | None], Command] = {
    ("migrate", None): cmd_migrate,
    ("organisation", "create"): cmd_organisation_create,
    ("organisation", "set-public-name"): cmd_organisation_set_public_name,
    ("organisation", "list"): cmd_organisation_list,
    ("api-client", "create"): cmd_api_client_create,
    ("staff", "set-hsa-id"): cmd_staff_set_hsa_id,
    ("audit", "verify"): cmd_audit_verify,
    ("keys", "init"): cmd_keys_init,
    ("keys", "rotate"): cmd_keys_rotate,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        _print(f"meetsvc: {exc}", err=True)
        return 2
    if args.command == "serve":
        return cmd_serve(args, settings)
    command = COMMANDS[(args.command, getattr(args, "action", None))]
    from meetsvc.core.secrets import MissingKeyError
    from meetsvc.domain.errors import DomainError

    try:
        return asyncio.run(command(args, settings))
    except (DomainError, MissingKeyError) as exc:
        _print(f"meetsvc: {exc}", err=True)
        return 1
