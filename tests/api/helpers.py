"""Talking to a running meetsvc over HTTP, as an integrating system would.

:class:`Api` sends requests and keeps every answer, so a test can look through all bodies it was
shown (a personal identity number must never be among them). Every answer is also checked against
the OpenAPI document the service serves: a 2xx body must match the documented schema for that
operation and status, and a problem answer must have the documented Problem shape.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from jsonschema import Draft202012Validator, FormatChecker
from multidict import CIMultiDictProxy
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import func, select

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import Organisation, OrganisationKind
from meetsvc.http.appkeys import DIRECTORY, ENGINE, NOTIFY
from meetsvc.storage.tables import metadata, outbox_messages
from tests.conftest import World
from tests.support.service import RunningService
from tests.support.timing import WAIT_SECONDS

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:meetsvc:problem:"
DOCUMENT_URI = "urn:meetsvc:openapi"

_DEFAULT: Any = object()
_NO_BODY: Any = object()


# Building the world ---------------------------------------------------------------------------


async def build_world(service: RunningService) -> World:
    """Two municipalities and a region, an API key and a host each, on ``service``."""
    directory = service.app[DIRECTORY]
    municipality = await directory.create_organisation("Exempelstads kommun", OrganisationKind.MUNICIPALITY)
    region = await directory.create_organisation("Region Exempel", OrganisationKind.REGION)
    other = await directory.create_organisation("Grannby kommun", OrganisationKind.MUNICIPALITY)
    keys, hosts = {}, {}
    for organisation in (municipality, region, other):
        _, keys[organisation.id] = await directory.create_api_client(organisation.id, "case management")
        member = await directory.add_staff_member(
            OrganisationCaller(organisation.id, "test"), display_name=f"Ledare {organisation.name}"
        )
        hosts[organisation.id] = member.id
    return World(service, municipality, region, other, keys, hosts)


# Times and numbers ----------------------------------------------------------------------------


def local_time(now: datetime, *, days: int, hour: int = 10, minute: int = 0) -> datetime:
    """``days`` after ``now``, at a wall-clock time in Stockholm."""
    day = (now.astimezone(STOCKHOLM) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM)


def next_local_date(now: datetime, month: int, day: int, hour: int = 10) -> datetime:
    """The next ``month``/``day`` at ``hour`` Stockholm time that is at least two days after ``now``."""
    earliest = now + timedelta(days=2)
    for year in (earliest.year, earliest.year + 1):
        candidate = datetime(year, month, day, hour, tzinfo=STOCKHOLM)
        if candidate > earliest:
            return candidate
    raise AssertionError("unreachable")


def rfc3339(moment: datetime) -> str:
    return moment.isoformat()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def luhn_digit(nine_digits: str) -> int:
    total = 0
    for position, character in enumerate(nine_digits):
        product = int(character) * (2 if position % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


@dataclass(frozen=True)
class TestNumber:
    """A personal identity number with a correct check digit, in its spellings."""

    __test__ = False  # not a test class, despite its name

    century: str
    yymmdd: str
    serial: str

    @classmethod
    def make(cls, birth: date | str, serial: str = "238", *, coordination: bool = False) -> TestNumber:
        """From a real date, or from raw ``YYYYMMDD`` digits (which may be an impossible date)."""
        digits = birth.strftime("%Y%m%d") if isinstance(birth, date) else birth
        if coordination:
            digits = digits[:6] + f"{int(digits[6:]) + 60:02d}"
        nine = digits[2:] + serial
        return cls(digits[:2], digits[2:], serial + str(luhn_digit(nine)))

    @property
    def normal(self) -> str:
        return self.century + self.yymmdd + self.serial

    @property
    def ten(self) -> str:
        return self.yymmdd + "-" + self.serial

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.normal, self.yymmdd + self.serial, self.ten, self.century + self.ten)


# The OpenAPI document -------------------------------------------------------------------------


class OpenApi:
    """The served OpenAPI document, able to find an operation and validate a body against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._registry = Registry().with_resource(
            DOCUMENT_URI, Resource.from_contents(document, default_specification=DRAFT202012)
        )
        self._operations: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for path, item in document["paths"].items():
            literal_parts = re.split(r"\{\w+\}", path)
            pattern = re.compile("^" + "[^/]+".join(map(re.escape, literal_parts)) + "$")
            for method, operation in item.items():
                self._operations.append((method.upper(), pattern, operation))

    def operation(self, operation_id: str) -> dict[str, Any]:
        for _, _, operation in self._operations:
            if operation["operationId"] == operation_id:
                return operation
        raise KeyError(operation_id)

    def match(self, method: str, path: str) -> dict[str, Any] | None:
        for op_method, pattern, operation in self._operations:
            if op_method == method and pattern.match(path):
                return operation
        return None

    def schema_errors(self, schema: dict[str, Any], body: Any) -> list[str]:
        validator = Draft202012Validator(
            {"$ref": DOCUMENT_URI + schema["$ref"]} if "$ref" in schema else schema,
            registry=self._registry,
            format_checker=FormatChecker(),
        )
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator.iter_errors(body)]

    def check_response(self, operation_id: str, status: int, content_type: str, body: Any) -> None:
        """Fail unless ``status`` is documented for the operation and ``body`` matches its schema."""
        operation = self.operation(operation_id)
        documented = operation["responses"].get(str(status))
        assert documented is not None, f"{operation_id} answered {status}, which its document does not list"
        content = documented.get("content")
        if content is None:
            assert body is None, f"{operation_id} {status} is documented without a body but has one"
            return
        assert content_type in content, f"{operation_id} {status} answered {content_type}, documented {list(content)}"
        errors = self.schema_errors(content[content_type]["schema"], body)
        assert not errors, f"{operation_id} {status} body does not match its schema: {errors}"

    def check_problem(self, body: Any) -> None:
        errors = self.schema_errors({"$ref": "#/components/schemas/Problem"}, body)
        assert not errors, f"problem body does not match the Problem schema: {errors}"


_documents: dict[str, OpenApi] = {}


async def served_openapi(http: aiohttp.ClientSession, base_url: str) -> OpenApi:
    if base_url not in _documents:
        async with http.get("/api/v1/openapi.json") as response:
            assert response.status == 200
            _documents[base_url] = OpenApi(await response.json())
    return _documents[base_url]


# Talking to the API ---------------------------------------------------------------------------


@dataclass
class Answer:
    method: str
    path: str
    status: int
    headers: CIMultiDictProxy[str]
    text: str
    operation_id: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    def __repr__(self) -> str:
        return f"<{self.method} {self.path} → {self.status} {self.text[:500]}>"


@dataclass
class Api:
    """One integrating system's view of the service: requests as an organisation, answers kept."""

    world: World
    answers: list[Answer] = field(default_factory=list)

    @property
    def service(self) -> RunningService:
        return self.world.service

    async def request(
        self,
        method: str,
        path: str,
        *,
        org: Organisation | None = _DEFAULT,
        json: Any = _NO_BODY,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        params: Any = None,
    ) -> Answer:
        """``org`` defaults to the municipality; ``org=None`` sends no credentials."""
        org = self.world.municipality if org is _DEFAULT else org
        sent = dict(self.world.auth(org)) if org is not None else {}
        sent.update(headers or {})
        kwargs: dict[str, Any] = {"headers": sent, "params": params}
        if json is not _NO_BODY:
            kwargs["json"] = json
        elif data is not None:
            kwargs["data"] = data
        async with self.service.http.request(method, path, **kwargs) as response:
            text = await response.text()
            answer = Answer(method, response.url.path, response.status, response.headers, text)
        self.answers.append(answer)
        await self._check_against_document(answer)
        return answer

    async def _check_against_document(self, answer: Answer) -> None:
        assert answer.status < 500, f"the service failed: {answer!r}"
        document = await served_openapi(self.service.http, self.service.base_url)
        operation = document.match(answer.method, answer.path)
        if answer.content_type == PROBLEM_JSON:
            document.check_problem(answer.json)
        if operation is None:
            return
        answer.operation_id = operation["operationId"]
        if answer.status < 300 or answer.content_type == PROBLEM_JSON:
            body = answer.json if answer.text else None
            document.check_response(answer.operation_id, answer.status, answer.content_type, body)

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("DELETE", path, **kwargs)

    def bodies(self) -> str:
        return "\n".join(answer.text for answer in self.answers)

    # Meetings and participants -----------------------------------------------------------------

    def meeting_body(
        self,
        *,
        org: Organisation | None = None,
        partner: Organisation | None = None,
        starts_at: datetime | None = None,
        minutes: int = 60,
        **fields: Any,
    ) -> dict[str, Any]:
        org = org or self.world.municipality
        partner = partner or (
            self.world.region if org.kind is OrganisationKind.MUNICIPALITY else self.world.municipality
        )
        starts_at = starts_at or local_time(self.service.clock(), days=7)
        body: dict[str, Any] = {
            "partner_organisation_id": partner.id,
            "title": "SIP-möte",
            "care_area": "barn_och_unga",
            "starts_at": rfc3339(starts_at),
            "ends_at": rfc3339(starts_at + timedelta(minutes=minutes)),
            "host_ids": [self.world.hosts[org.id]],
        }
        body.update(fields)
        return body

    async def create_meeting(self, *, org: Organisation | None = None, **overrides: Any) -> dict[str, Any]:
        answer = await self.post(
            "/api/v1/meetings", org=org or self.world.municipality, json=self.meeting_body(org=org, **overrides)
        )
        assert answer.status == 201, answer
        return answer.json

    @staticmethod
    def participant_body(**fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"role": "individual", "display_name": "Kim Exempel", "email": "kim@example.se"}
        body.update(fields)
        return body

    async def add_participant(
        self, meeting_id: str, *, org: Organisation | None = None, **fields: Any
    ) -> dict[str, Any]:
        answer = await self.post(
            f"/api/v1/meetings/{meeting_id}/participants",
            org=org or self.world.municipality,
            json=self.participant_body(**fields),
        )
        assert answer.status == 201, answer
        return answer.json


def meeting_path(meeting_id: str, *rest: str) -> str:
    return "/".join(("/api/v1/meetings", meeting_id, *rest))


def participant_path(meeting_id: str, participant_id: str, *rest: str) -> str:
    return meeting_path(meeting_id, "participants", participant_id, *rest)


def token_of(invitation_url: str) -> str:
    return invitation_url.rsplit("/j/", 1)[1]


def assert_problem(
    answer: Answer, status: int, code: str | None = None, errors: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """A problem+json answer with ``status``, type ``code``, and (for 422) exactly these fields/rules."""
    assert answer.status == status, answer
    assert answer.content_type == PROBLEM_JSON, answer
    body = answer.json
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert body["type"].startswith(PROBLEM_TYPE), body
    if code is not None:
        assert body["type"] == PROBLEM_TYPE + code, body
    if errors is not None:
        found = sorted((e["field"], e["rule"]) for e in body.get("errors", []))
        assert found == sorted(errors), body
        for error in body["errors"]:
            assert error["field"].startswith("/"), error
            assert error["message"], error
    return body


# The database, as it is -----------------------------------------------------------------------


async def deliveries_settled(service: RunningService) -> None:
    """Wait until the delivery loop has sent what is due, so two snapshots differ only by what
    a request changed, not by a message going out in between."""
    due = (outbox_messages.c.status == "sending") | (
        (outbox_messages.c.status == "pending") & (outbox_messages.c.next_attempt_at <= service.clock())
    )
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                async with service.app[ENGINE].connect() as connection:
                    busy = (
                        await connection.execute(select(func.count()).select_from(outbox_messages).where(due))
                    ).scalar_one()
                if not busy:
                    return
                await service.app[NOTIFY].deliverer.run_once()
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError("the delivery loop did not settle") from None


async def snapshot(service: RunningService) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the audit log among them), in primary-key order, once the
    delivery loop has settled."""
    await deliveries_settled(service)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with service.app[ENGINE].connect() as connection:
        for table in metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = (await connection.execute(select(table).order_by(*order))).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables


async def rows(service: RunningService, table: Any, *where: Any) -> list[Any]:
    async with service.app[ENGINE].connect() as connection:
        return list((await connection.execute(select(table).where(*where))).all())


def utc(text: str) -> datetime:
    return parse_time(text).astimezone(UTC)
