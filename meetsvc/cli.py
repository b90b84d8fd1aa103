"""The ``meetsvc`` command: serve, migrate, and the operator's tasks.

    meetsvc serve                          start the service (applies no migrations); with
                                           server.processes > 1, that many supervised workers
    meetsvc migrate                        bring the database schema up to date
    meetsvc organisation create NAME --kind municipality|region [--public-name TEXT]
    meetsvc organisation set-public-name ID_OR_NAME [TEXT]
    meetsvc organisation set-contact-phone ID_OR_NAME [PHONE]
                                           what citizens' messages call it (none: the default)
    meetsvc organisation list
    meetsvc care-area list ORGANISATION    an organisation's areas of care (retired ones marked)
    meetsvc care-area add ORGANISATION CODE NAME_SV NAME_EN
    meetsvc care-area retire|reactivate ORGANISATION CODE
    meetsvc statistics close-year YEAR     fix a past year's counts; destroy its pseudonyms and key
    meetsvc api-client create --organisation ID_OR_NAME --name NAME
    meetsvc api-client list [--organisation ID_OR_NAME]
    meetsvc api-client revoke CLIENT_ID    the key is refused from the next request on
    meetsvc staff create --organisation ID_OR_NAME --name NAME [--email E] [--role R ...]
                         [--personal-number-stdin]
                                           the personal number is read from standard input,
                                           never from the command line (shell history, ps)
    meetsvc staff list --organisation ID_OR_NAME
    meetsvc staff change STAFF_ID [--name NAME] [--email E | --no-email] [--role R ...]
    meetsvc staff deactivate STAFF_ID      no sign-in; their sessions end at once (an open
                                           console is refused at its next event)
    meetsvc audit verify                   check the audit log's hash chain
    meetsvc keys init                      create the key files (production set-up)
    meetsvc keys rotate                    add a new signing key; older ones still verify

Every command reads the same configuration as the service (``--config`` or ``MEETSVC_CONFIG``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
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


async def cmd_organisation_set_contact_phone(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> Organisation:
        return await services.directory.set_contact_phone(args.organisation, args.phone)

    organisation = await _with_services(settings, work)
    _print(f"{organisation.id}  {organisation.name}")
    _print(f"citizens are told to call: {organisation.contact_phone or '(no number)'}")
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


async def cmd_care_area(args: argparse.Namespace, settings: Settings) -> int:
    from meetsvc.domain.callers import OrganisationCaller

    async def work(services: Services) -> list[str]:
        organisation = await services.directory.find_organisation(args.organisation)
        caller = OrganisationCaller(organisation_id=organisation.id, actor="operator")
        if args.action == "add":
            await services.care_areas.add(caller, args.code, args.name_sv, args.name_en)
        elif args.action in ("retire", "reactivate"):
            await services.care_areas.set_active(caller, args.code, args.action == "reactivate")
        areas = await services.care_areas.list(organisation.id)
        return [f"{a.code:<24} {'active ' if a.active else 'retired'}  {a.name_sv} / {a.name_en}" for a in areas]

    for line in await _with_services(settings, work):
        _print(line)
    return 0


async def cmd_statistics_close_year(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> int:
        return await services.statistics.close_year(args.year)

    cells = await _with_services(settings, work)
    _print(f"{args.year} closed: {cells} counts kept; its pseudonyms and key are destroyed")
    return 0


async def cmd_api_client_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> list[Any]:
        organisation_id = None
        if args.organisation:
            organisation_id = (await services.directory.find_organisation(args.organisation)).id
        return await services.directory.list_api_clients(organisation_id)

    for client in await _with_services(settings, work):
        state = f"revoked {client.revoked_at.isoformat()}" if client.revoked_at else "active"
        _print(f"{client.id}  {client.organisation_id}  {state:<32}  {client.name}")
    return 0


async def cmd_api_client_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> Any:
        return await services.directory.revoke_api_client(args.client_id, organisation_id=None, actor="operator")

    revoked = await _with_services(settings, work)
    _print(f"API client {revoked.id} revoked")
    return 0


def _roles(names: list[str] | None) -> Any:
    from meetsvc.domain.roles import parse_roles

    return parse_roles(names) if names is not None else None


def _staff_line(member: Any) -> str:
    roles = ",".join(sorted(role.value for role in member.roles)) or "-"
    state = "active" if member.active else "deactivated"
    sign_in = "can sign in" if member.has_personal_number else "cannot sign in"
    return f"{member.id}  {state:<11}  {roles:<40}  {sign_in:<14}  {member.display_name}"


async def cmd_staff_create(args: argparse.Namespace, settings: Settings) -> int:
    personal_number = sys.stdin.readline().strip() or None if args.personal_number_stdin else None

    async def work(services: Services) -> Any:
        caller = await services.directory.operator_caller(args.organisation)
        return await services.directory.add_staff_member(
            caller,
            display_name=args.name,
            email=args.email,
            personal_number=personal_number,
            roles=_roles(args.role) if args.role is not None else frozenset(),
        )

    _print(_staff_line(await _with_services(settings, work)))
    return 0


async def cmd_staff_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> list[Any]:
        return await services.directory.list_staff(await services.directory.operator_caller(args.organisation))

    for member in await _with_services(settings, work):
        _print(_staff_line(member))
    return 0


async def _operator_for_staff(services: Services, staff_id: str) -> Any:
    from meetsvc.domain.callers import OrganisationCaller
    from meetsvc.domain.errors import NotFound

    member = await services.directory.staff_member(staff_id)
    if member is None:
        raise NotFound("no such staff member")
    return OrganisationCaller(member.organisation_id, "operator")


async def cmd_staff_change(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> Any:
        caller = await _operator_for_staff(services, args.staff_id)
        return await services.directory.change_staff_member(
            caller,
            args.staff_id,
            display_name=args.name,
            roles=_roles(args.role),
            email=None if args.no_email else args.email,
            set_email=args.no_email or args.email is not None,
        )

    _print(_staff_line(await _with_services(settings, work)))
    return 0


async def cmd_staff_deactivate(args: argparse.Namespace, settings: Settings) -> int:
    async def work(services: Services) -> Any:
        return await services.directory.deactivate_as_operator(args.staff_id)

    _print(_staff_line(await _with_services(settings, work)))
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
    app.on_startup.append(_freeze_start_up_heap)  # last: after every start-up hook made its objects
    app.cleanup_ctx.append(_full_collections)

    def announce(_: str) -> None:
        for line in banner(app):
            _print(line)

    web.run_app(app, host=settings.server.host, port=settings.server.port, print=announce, access_log=None)
    return 0


async def _freeze_start_up_heap(_app: web.Application) -> None:
    """See :mod:`meetsvc.core.heap` (only here, in the server: tests start many services in one
    process, and freezing there would keep each one's objects forever)."""
    from meetsvc.core.heap import freeze_start_up_heap

    frozen = freeze_start_up_heap()
    logging.getLogger("meetsvc.cli").debug("start-up heap frozen: %d objects", frozen)


async def _full_collections(app: web.Application) -> AsyncIterator[None]:
    """Full garbage collections when the service chooses, not when CPython would (see
    :mod:`meetsvc.core.heap`; here for the same reason as the freeze): looked at every minute."""
    from meetsvc.core.heap import FullCollections, hold_full_collections
    from meetsvc.http.appkeys import SOCKETS

    sockets = app[SOCKETS]
    collections = FullCollections(lambda: len(sockets.eio.sockets))
    hold_full_collections()

    async def every_minute() -> None:
        while True:
            await asyncio.sleep(60)
            collections.run_if_due()

    task = asyncio.create_task(every_minute())
    yield
    task.cancel()


def banner(app: web.Application) -> list[str]:
    """What a person reads when the service has started: where to go, and in development the
    BankID and Freja simulators, the outbox and the demo meeting's links. Nothing else is printed at start
    unless something happened."""
    from zoneinfo import ZoneInfo

    from meetsvc.http.appkeys import DEMO, EID, FREJA, SETTINGS

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
    freja = app[FREJA]
    if freja is not None and freja.simulator_app_url:
        lines.append(f"  Freja simulator   {freja.simulator_app_url}  (the same for Freja eID+)")
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
    set_phone = organisation.add_parser(
        "set-contact-phone", help="the number invitations and refusal pages give citizens to call"
    )
    set_phone.add_argument("organisation", help="organisation id or exact name")
    set_phone.add_argument("phone", nargs="?", help="leave out to remove the number")
    organisation.add_parser("list", help="list organisations, with what citizens' messages call each")

    client = sub.add_parser("api-client", help="keys for integrating systems").add_subparsers(
        dest="action", required=True
    )
    create_client = client.add_parser("create", help="create an API client key for one organisation")
    create_client.add_argument("--organisation", required=True, help="organisation id or exact name")
    create_client.add_argument("--name", required=True, help="what the client is, e.g. 'Treserva'")
    list_clients = client.add_parser("list", help="list API clients, revoked ones too")
    list_clients.add_argument("--organisation", help="organisation id or exact name (default: all)")
    revoke_client = client.add_parser("revoke", help="revoke an API client's key at once")
    revoke_client.add_argument("client_id")

    role_names = ["administrator", "organiser", "host", "statistics_reader"]
    staff = sub.add_parser("staff", help="an organisation's staff directory").add_subparsers(
        dest="action", required=True
    )
    create_staff = staff.add_parser("create", help="add a staff member")
    create_staff.add_argument("--organisation", required=True, help="organisation id or exact name")
    create_staff.add_argument("--name", required=True)
    create_staff.add_argument("--email")
    create_staff.add_argument("--role", action="append", choices=role_names, help="repeat for several roles")
    create_staff.add_argument(
        "--personal-number-stdin",
        action="store_true",
        help="read their personal identity number (for eID sign-in) from standard input",
    )
    list_staff = staff.add_parser("list", help="list an organisation's staff")
    list_staff.add_argument("--organisation", required=True, help="organisation id or exact name")
    change_staff = staff.add_parser("change", help="change a staff member's name, e-mail or roles")
    change_staff.add_argument("staff_id")
    change_staff.add_argument("--name")
    email = change_staff.add_mutually_exclusive_group()
    email.add_argument("--email")
    email.add_argument("--no-email", action="store_true", help="remove the e-mail address")
    change_staff.add_argument(
        "--role", action="append", choices=role_names, help="the new roles (all of them; repeat for several)"
    )
    deactivate_staff = staff.add_parser("deactivate", help="deactivate a staff member and end their sessions")
    deactivate_staff.add_argument("staff_id")
    set_hsa = staff.add_parser("set-hsa-id", help="set or remove the HSA-id a SITHS sign-in is matched by")
    set_hsa.add_argument("organisation", help="the organisation's id or name")
    set_hsa.add_argument("staff_id", help="the staff member's id")
    set_hsa.add_argument("hsa_id", nargs="?", help="the HSA-id, e.g. SE2321000016-1003")
    set_hsa.add_argument("--remove", action="store_true", help="remove the staff member's HSA-id")

    care = sub.add_parser("care-area", help="an organisation's areas of care").add_subparsers(
        dest="action", required=True
    )
    care.add_parser("list", help="list the areas, retired ones marked").add_argument("organisation")
    care_add = care.add_parser("add", help="add an area of care")
    for name in ("organisation", "code", "name_sv", "name_en"):
        care_add.add_argument(name)
    for verb, text in (("retire", "no new meetings in it; history keeps it"), ("reactivate", "use it again")):
        parser_for = care.add_parser(verb, help=text)
        parser_for.add_argument("organisation")
        parser_for.add_argument("code")

    statistics = sub.add_parser("statistics", help="SIP statistics").add_subparsers(dest="action", required=True)
    close = statistics.add_parser(
        "close-year", help="fix a past year's counts of individuals and destroy its pseudonyms and key"
    )
    close.add_argument("year", type=int)

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
    ("organisation", "set-contact-phone"): cmd_organisation_set_contact_phone,
    ("organisation", "list"): cmd_organisation_list,
    ("api-client", "create"): cmd_api_client_create,
    ("care-area", "list"): cmd_care_area,
    ("care-area", "add"): cmd_care_area,
    ("care-area", "retire"): cmd_care_area,
    ("care-area", "reactivate"): cmd_care_area,
    ("statistics", "close-year"): cmd_statistics_close_year,
    ("staff", "set-hsa-id"): cmd_staff_set_hsa_id,
    ("api-client", "list"): cmd_api_client_list,
    ("api-client", "revoke"): cmd_api_client_revoke,
    ("staff", "create"): cmd_staff_create,
    ("staff", "list"): cmd_staff_list,
    ("staff", "change"): cmd_staff_change,
    ("staff", "deactivate"): cmd_staff_deactivate,
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
