"""Bad input across the organiser API: a clear 4xx problem+json, never a 500, and nothing changed.

Each row of the table is one request a careless or hostile client could send. The answer must
name the problem (status, type, and for 422 each field as a JSON pointer with its rule), and every
table in the database, the audit log among them, must be exactly as it was before.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from meetsvc.http.middleware import problems
from tests.api.helpers import (
    PROBLEM_JSON,
    Api,
    TestNumber,
    assert_problem,
    local_time,
    rfc3339,
    snapshot,
)
from tests.conftest import World

NUMBER = TestNumber.make(date(1981, 12, 18), "987")
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class Target:
    """What the table's requests aim at: one meeting with one participant (reachable by e-mail only)."""

    world: World
    api: Api
    meeting_id: str
    participant_id: str

    @property
    def now(self) -> datetime:
        return self.world.service.clock()

    @property
    def start(self) -> datetime:
        return local_time(self.now, days=7)

    def host(self, organisation: str = "municipality") -> str:
        return self.world.hosts[getattr(self.world, organisation).id]

    def meeting(self, *, drop: tuple[str, ...] = (), **changes: Any) -> dict[str, Any]:
        body = self.api.meeting_body(starts_at=self.start)
        body.update(changes)
        return {k: v for k, v in body.items() if k not in drop}

    def times(self, starts: datetime, minutes: float) -> dict[str, str]:
        return {"starts_at": rfc3339(starts), "ends_at": rfc3339(starts + timedelta(minutes=minutes))}

    def participant(self, **changes: Any) -> dict[str, Any]:
        return self.api.participant_body(**changes)


Body = Callable[[Target], Any]
M = "/api/v1/meetings/{meeting}"
P = M + "/participants/{participant}"


@dataclass
class Bad:
    id: str
    method: str
    path: str
    status: int
    code: str
    # (field, rule) pairs a 422 must list, exactly; a rule of None accepts any rule for that field.
    errors: list[tuple[str, str | None]] | None = None
    json: Body | None = None
    data: bytes | Callable[[Target], bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: list[tuple[str, str]] | Callable[[Target], list[tuple[str, str]]] | None = None

    def param(self) -> Any:
        return pytest.param(self, id=self.id)


def pn(text: str) -> Body:
    return lambda t: t.participant(personal_number=text)


def with_check_digit(yyyymmdd: str, serial: str = "123") -> str:
    return TestNumber.make(yyyymmdd, serial).normal


def duplicate_key(body: str, key: str, value: str) -> bytes:
    """``body`` (a JSON object) naming ``key`` once more, first, with ``value``."""
    return ("{" + json.dumps(key) + ": " + json.dumps(value) + ", " + body[1:]).encode()


def bad_luhn(number: TestNumber) -> str:
    return number.normal[:-1] + str((int(number.normal[-1]) + 1) % 10)


JSON = {"Content-Type": "application/json"}

CASES = [
    # Creating a meeting: types, presence, unknown fields.
    Bad(
        "create/title-is-a-number",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "string_type")],
        json=lambda t: t.meeting(title=5),
    ),
    Bad(
        "create/title-is-a-boolean",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "string_type")],
        json=lambda t: t.meeting(title=True),
    ),
    Bad(
        "create/host-ids-is-a-string",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/host_ids", "list_type")],
        json=lambda t: t.meeting(host_ids=t.host()),
    ),
    Bad(
        "create/starts-at-is-a-number",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/starts_at", "datetime_type")],
        json=lambda t: t.meeting(starts_at=int(t.start.timestamp())),
    ),
    Bad(
        "create/title-missing",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "required")],
        json=lambda t: t.meeting(drop=("title",)),
    ),
    Bad(
        "create/empty-object",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [
            (f"/{name}", "required")
            for name in ("partner_organisation_id", "title", "care_area", "starts_at", "ends_at", "host_ids")
        ],
        json=lambda t: {},
    ),
    Bad(
        "create/unknown-field",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/subject", "unknown_field")],
        json=lambda t: t.meeting(subject="Psykiatri"),
    ),
    Bad(
        "create/several-mistakes-at-once",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "string_too_short"), ("/care_area", "string_pattern_mismatch")],
        json=lambda t: t.meeting(title="", care_area="Ej giltig"),
    ),
    # Creating a meeting: the schedule.
    Bad(
        "create/ends-before-start",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/ends_at", "after_start")],
        json=lambda t: t.meeting(**t.times(t.start, -30)),
    ),
    Bad(
        "create/zero-duration",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/ends_at", "after_start")],
        json=lambda t: t.meeting(**t.times(t.start, 0)),
    ),
    Bad(
        "create/too-short",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/ends_at", "min_duration")],
        json=lambda t: t.meeting(**t.times(t.start, 10)),
    ),
    Bad(
        "create/too-long",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/ends_at", "max_duration")],
        json=lambda t: t.meeting(**t.times(t.start, 9 * 60)),
    ),
    Bad(
        "create/in-the-past",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/starts_at", "in_future")],
        json=lambda t: t.meeting(**t.times(t.now - timedelta(hours=2), 60)),
    ),
    Bad(
        "create/starting-now",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/starts_at", "in_future")],
        json=lambda t: t.meeting(**t.times(t.now, 60)),
    ),
    Bad(
        "create/too-far-ahead",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/starts_at", "max_ahead")],
        json=lambda t: t.meeting(**t.times(t.now + timedelta(days=401), 60)),
    ),
    Bad(
        "create/year-9999",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/starts_at", "max_ahead"), ("/ends_at", "max_duration")],
        json=lambda t: t.meeting(starts_at="9999-12-31T10:00:00-12:00", ends_at="9999-12-31T23:59:59-12:00"),
    ),
    Bad(
        "create/no-utc-offset",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/starts_at", "timezone_aware")],
        json=lambda t: t.meeting(starts_at=t.start.replace(tzinfo=None).isoformat()),
    ),
    Bad(
        "create/february-30",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/starts_at", "datetime_parsing")],
        json=lambda t: t.meeting(starts_at=f"{t.now.year + 1}-02-30T10:00:00+01:00"),
    ),
    Bad(
        "create/month-13",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/ends_at", "datetime_parsing")],
        json=lambda t: t.meeting(ends_at=f"{t.now.year}-13-01T10:00:00+01:00"),
    ),
    Bad(
        "create/time-in-words",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/starts_at", "datetime_parsing")],
        json=lambda t: t.meeting(starts_at="next tuesday at ten"),
    ),
    # Creating a meeting: the title.
    Bad(
        "create/title-with-personal-number",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "no_personal_number")],
        json=lambda t: t.meeting(title=f"SIP för {NUMBER.ten}"),
    ),
    Bad(
        "create/title-with-twelve-digit-number",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "no_personal_number")],
        json=lambda t: t.meeting(title=f"SIP {NUMBER.normal}"),
    ),
    Bad(
        "create/title-with-number-after-a-hyphen",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "no_personal_number")],
        json=lambda t: t.meeting(title=f"SIP-{NUMBER.ten}"),
    ),
    Bad(
        "create/title-with-number-in-parentheses",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "no_personal_number")],
        json=lambda t: t.meeting(title=f"Uppföljning ({NUMBER.century}{NUMBER.ten})"),
    ),
    Bad(
        "create/title-with-control-character",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "printable")],
        json=lambda t: t.meeting(title="SIP\u0007möte"),
    ),
    Bad(
        "create/title-with-zero-width-space",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "printable")],
        json=lambda t: t.meeting(title="SIP\u200bmöte"),
    ),
    Bad(
        "create/title-with-nul",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "printable")],
        json=lambda t: t.meeting(title="SIP\u0000"),
    ),
    Bad(
        "create/title-blank",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "not_blank")],
        json=lambda t: t.meeting(title=" \t "),
    ),
    Bad(
        "create/title-empty",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "string_too_short")],
        json=lambda t: t.meeting(title=""),
    ),
    Bad(
        "create/title-too-long",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/title", "string_too_long")],
        json=lambda t: t.meeting(title="S" * 121),
    ),
    Bad(
        "create/unknown-care-area",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        # Well formed, but not one of the organisation's areas of care.
        [("/care_area", "care_area")],
        json=lambda t: t.meeting(care_area="tandvard"),
    ),
    # Creating a meeting: the partner and the hosts.
    Bad(
        "create/partner-of-the-same-kind",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/partner_organisation_id", "other_kind")],
        json=lambda t: t.meeting(partner_organisation_id=t.world.other_municipality.id),
    ),
    Bad(
        "create/partner-is-itself",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/partner_organisation_id", "other_kind")],
        json=lambda t: t.meeting(partner_organisation_id=t.world.municipality.id),
    ),
    Bad(
        "create/partner-unknown",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/partner_organisation_id", "exists")],
        json=lambda t: t.meeting(partner_organisation_id=UNKNOWN_ID),
    ),
    Bad(
        "create/partner-not-a-uuid",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/partner_organisation_id", "string_pattern_mismatch")],
        json=lambda t: t.meeting(partner_organisation_id="Region Exempel"),
    ),
    Bad(
        "create/host-does-not-exist",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/host_ids/0", "staff_member")],
        json=lambda t: t.meeting(host_ids=[UNKNOWN_ID]),
    ),
    Bad(
        "create/host-from-unrelated-organisation",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/host_ids/1", "staff_member")],
        json=lambda t: t.meeting(host_ids=[t.host(), t.host("other_municipality")]),
    ),
    Bad(
        "create/no-hosts",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/host_ids", "too_short")],
        json=lambda t: t.meeting(host_ids=[]),
    ),
    Bad(
        "create/host-twice",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/host_ids", "unique")],
        json=lambda t: t.meeting(host_ids=[t.host(), t.host()]),
    ),
    Bad(
        "create/six-hosts",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/host_ids", "too_long")],
        json=lambda t: t.meeting(host_ids=[t.host()] * 6),
    ),
    # Creating a meeting: the body itself.
    Bad("create/not-json", "POST", "/api/v1/meetings", 400, "bad-request", data=b"title=SIP", headers=JSON),
    Bad("create/truncated-json", "POST", "/api/v1/meetings", 400, "bad-request", data=b'{"title": "SIP"', headers=JSON),
    Bad("create/empty-body", "POST", "/api/v1/meetings", 400, "bad-request", data=b"", headers=JSON),
    Bad(
        "create/not-utf-8", "POST", "/api/v1/meetings", 400, "bad-request", data=b'{"title": "\xff\xfe"}', headers=JSON
    ),
    Bad(
        "create/nested-too-deep",
        "POST",
        "/api/v1/meetings",
        400,
        "bad-request",
        data=b"[" * 20000 + b"]" * 20000,
        headers=JSON,
    ),
    # What json.loads takes but RFC 8259 (or the model's own parser) does not: malformed, not a 422.
    Bad(
        "create/lone-surrogate-escape",
        "POST",
        "/api/v1/meetings",
        400,
        "bad-request",
        data=b'{"title": "SIP\\ud800"}',
        headers=JSON,
    ),
    Bad(
        "create/byte-order-mark",
        "POST",
        "/api/v1/meetings",
        400,
        "bad-request",
        data=lambda t: b"\xef\xbb\xbf" + json.dumps(t.meeting()).encode(),
        headers=JSON,
    ),
    Bad(
        "create/utf-16",
        "POST",
        "/api/v1/meetings",
        400,
        "bad-request",
        data=lambda t: json.dumps(t.meeting()).encode("utf-16"),
        headers=JSON,
    ),
    Bad("create/nan", "POST", "/api/v1/meetings", 400, "bad-request", data=b'{"title": NaN}', headers=JSON),
    Bad("create/infinity", "POST", "/api/v1/meetings", 400, "bad-request", data=b'{"title": -Infinity}', headers=JSON),
    Bad(
        "create/nested-300-deep",
        "POST",
        "/api/v1/meetings",
        400,
        "bad-request",
        data=b'{"title": ' + b"[" * 300 + b"]" * 300 + b"}",
        headers=JSON,
    ),
    # An object naming a member twice: parsers disagree on which value counts, so none is guessed.
    Bad(
        "create/duplicate-key",
        "POST",
        "/api/v1/meetings",
        400,
        "bad-request",
        data=lambda t: duplicate_key(json.dumps(t.meeting()), "title", "Något annat"),
        headers=JSON,
    ),
    Bad(
        "create/duplicate-key-same-value",
        "POST",
        "/api/v1/meetings",
        400,
        "bad-request",
        data=lambda t: duplicate_key(json.dumps(t.meeting()), "title", t.meeting()["title"]),
        headers=JSON,
    ),
    Bad(
        "patch/duplicate-key",
        "PATCH",
        M,
        400,
        "bad-request",
        data=b'{"title": "Nytt", "title": "Annat"}',
        headers=JSON,
    ),
    Bad(
        "participant/duplicate-key-nested-in-a-value",
        "POST",
        M + "/participants",
        400,
        "bad-request",
        data=b'{"role": "individual", "display_name": "Kim", "email": "kim@example.se", "x": {"a": 1, "a": 2}}',
        headers=JSON,
    ),
    # Bodies are read as sent: any Content-Encoding but identity is refused before anything reads
    # the body, whether or not it matches the body, and whether or not aiohttp could decode it.
    Bad(
        "create/gzip",
        "POST",
        "/api/v1/meetings",
        415,
        "unsupported-media-type",
        data=lambda t: gzip.compress(json.dumps(t.meeting()).encode()),
        headers={**JSON, "Content-Encoding": "gzip"},
    ),
    Bad(
        "create/gzip-that-is-not-gzip",
        "POST",
        "/api/v1/meetings",
        415,
        "unsupported-media-type",
        data=lambda t: json.dumps(t.meeting()).encode(),
        headers={**JSON, "Content-Encoding": "gzip"},
    ),
    Bad(
        "create/deflate-that-is-not-deflate",
        "POST",
        "/api/v1/meetings",
        415,
        "unsupported-media-type",
        data=lambda t: json.dumps(t.meeting()).encode(),
        headers={**JSON, "Content-Encoding": "deflate"},
    ),
    *[
        Bad(
            f"create/content-encoding-{coding.replace(' ', '').replace(',', '+')}",
            "POST",
            "/api/v1/meetings",
            415,
            "unsupported-media-type",
            data=lambda t: json.dumps(t.meeting()).encode(),
            headers={**JSON, "Content-Encoding": coding},
        )
        for coding in ("br", "zstd", "bogus", "x-gzip", "compress", "gzip, br", "identity, gzip")
    ],
    Bad(
        "patch/gzip-that-is-not-gzip",
        "PATCH",
        M,
        415,
        "unsupported-media-type",
        data=b'{"title": "Nytt"}',
        headers={**JSON, "Content-Encoding": "gzip"},
    ),
    Bad(
        "patch/br",
        "PATCH",
        M,
        415,
        "unsupported-media-type",
        data=b'{"title": "Nytt"}',
        headers={**JSON, "Content-Encoding": "br"},
    ),
    Bad(
        "participant/deflate-that-is-not-deflate",
        "POST",
        M + "/participants",
        415,
        "unsupported-media-type",
        data=lambda t: json.dumps(t.participant()).encode(),
        headers={**JSON, "Content-Encoding": "deflate"},
    ),
    Bad(
        "participant/zstd",
        "POST",
        M + "/participants",
        415,
        "unsupported-media-type",
        data=lambda t: json.dumps(t.participant()).encode(),
        headers={**JSON, "Content-Encoding": "zstd"},
    ),
    Bad(
        "staff/lone-surrogate-escape",
        "POST",
        "/api/v1/staff",
        400,
        "bad-request",
        data=b'{"display_name": "\\udc00Kim"}',
        headers=JSON,
    ),
    Bad(
        "create/json-array",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/", "type")],
        data=lambda t: json.dumps([t.meeting()]).encode(),
        headers=JSON,
    ),
    Bad(
        "create/json-null",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/", "type")],
        data=b"null",
        headers=JSON,
    ),
    Bad(
        "create/json-string",
        "POST",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/", "type")],
        data=b'"SIP"',
        headers=JSON,
    ),
    Bad(
        "create/text-plain",
        "POST",
        "/api/v1/meetings",
        415,
        "unsupported-media-type",
        data=lambda t: json.dumps(t.meeting()).encode(),
        headers={"Content-Type": "text/plain"},
    ),
    Bad(
        "create/form-encoded",
        "POST",
        "/api/v1/meetings",
        415,
        "unsupported-media-type",
        data=b"title=SIP",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    Bad(
        "create/no-content-type",
        "POST",
        "/api/v1/meetings",
        415,
        "unsupported-media-type",
        data=lambda t: json.dumps(t.meeting()).encode(),
    ),
    Bad(
        "create/oversized",
        "POST",
        "/api/v1/meetings",
        413,
        "payload-too-large",
        data=lambda t: json.dumps(t.meeting(title="S" * 70_000)).encode(),
        headers=JSON,
    ),
    # Changing a meeting.
    Bad(
        "patch/title-null",
        "PATCH",
        M,
        422,
        "validation-failed",
        [("/title", "string_type")],
        json=lambda t: {"title": None},
    ),
    Bad(
        "patch/care-area-null",
        "PATCH",
        M,
        422,
        "validation-failed",
        [("/care_area", "string_type")],
        json=lambda t: {"care_area": None},
    ),
    Bad(
        "patch/host-ids-null",
        "PATCH",
        M,
        422,
        "validation-failed",
        [("/host_ids", "list_type")],
        json=lambda t: {"host_ids": None},
    ),
    Bad(
        "patch/times-belong-to-reschedule",
        "PATCH",
        M,
        422,
        "validation-failed",
        [("/starts_at", "unknown_field"), ("/ends_at", "unknown_field")],
        json=lambda t: t.times(t.start + timedelta(days=1), 60),
    ),
    Bad(
        "patch/status-cannot-be-set",
        "PATCH",
        M,
        422,
        "validation-failed",
        [("/status", "unknown_field")],
        json=lambda t: {"status": "cancelled"},
    ),
    Bad(
        "patch/host-from-unrelated-organisation",
        "PATCH",
        M,
        422,
        "validation-failed",
        [("/host_ids/0", "staff_member")],
        json=lambda t: {"host_ids": [t.host("other_municipality")]},
    ),
    Bad(
        "patch/title-with-personal-number",
        "PATCH",
        M,
        422,
        "validation-failed",
        [("/title", "no_personal_number")],
        json=lambda t: {"title": f"Uppföljning {NUMBER.yymmdd}{NUMBER.serial}"},
    ),
    Bad(
        "patch/merge-patch-content-type",
        "PATCH",
        M,
        415,
        "unsupported-media-type",
        data=b'{"title": "Nytt"}',
        headers={"Content-Type": "application/merge-patch+json"},
    ),
    Bad(
        "patch/meeting-id-not-a-uuid",
        "PATCH",
        "/api/v1/meetings/not-a-meeting",
        404,
        "not-found",
        json=lambda t: {"title": "Nytt"},
    ),
    Bad(
        "patch/meeting-id-sql",
        "PATCH",
        "/api/v1/meetings/1'%20OR%20'1'='1",
        404,
        "not-found",
        json=lambda t: {"title": "Nytt"},
    ),
    Bad(
        "patch/meeting-unknown",
        "PATCH",
        "/api/v1/meetings/" + UNKNOWN_ID,
        404,
        "not-found",
        json=lambda t: {"title": "Nytt"},
    ),
    # Moving a meeting.
    Bad(
        "reschedule/ends-missing",
        "POST",
        M + "/reschedule",
        422,
        "validation-failed",
        [("/ends_at", "required")],
        json=lambda t: {"starts_at": rfc3339(t.start)},
    ),
    Bad(
        "reschedule/ends-before-start",
        "POST",
        M + "/reschedule",
        422,
        "validation-failed",
        [("/ends_at", "after_start")],
        json=lambda t: t.times(t.start, -60),
    ),
    Bad(
        "reschedule/into-the-past",
        "POST",
        M + "/reschedule",
        422,
        "validation-failed",
        [("/starts_at", "in_future")],
        json=lambda t: t.times(t.now - timedelta(days=1), 60),
    ),
    Bad(
        "reschedule/no-utc-offset",
        "POST",
        M + "/reschedule",
        422,
        "validation-failed",
        [("/ends_at", "timezone_aware")],
        json=lambda t: {
            "starts_at": rfc3339(t.start),
            "ends_at": (t.start + timedelta(hours=1)).replace(tzinfo=None).isoformat(),
        },
    ),
    # Inviting a participant: personal identity numbers.
    Bad(
        "participant/personal-number-bad-check-digit",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "personal_number_checksum")],
        json=pn(bad_luhn(NUMBER)),
    ),
    Bad(
        "participant/personal-number-february-30",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "personal_number_date")],
        json=pn(with_check_digit("19990230")),
    ),
    Bad(
        "participant/personal-number-month-13",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "personal_number_date")],
        json=pn(with_check_digit("19801301")),
    ),
    Bad(
        "participant/coordination-number-day-92",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "personal_number_date")],
        json=pn(with_check_digit("19701092")),
    ),
    Bad(
        "participant/coordination-number-day-60",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "personal_number_date")],
        json=pn(with_check_digit("19701060")),
    ),
    Bad(
        "participant/personal-number-born-next-year",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "personal_number_future")],
        json=pn(with_check_digit(f"{date.today().year + 1}0101")),
    ),
    Bad(
        "participant/personal-number-with-letters",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "personal_number_format")],
        json=pn(NUMBER.century + NUMBER.ten[:-2] + "AB"),
    ),
    Bad(
        "participant/personal-number-too-short",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "string_too_short")],
        json=pn(NUMBER.yymmdd),
    ),
    Bad(
        "participant/personal-number-as-a-number",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personal_number", "string_type")],
        json=lambda t: t.participant(personal_number=int(NUMBER.normal)),
    ),
    # Inviting a participant: contact, names, enums, organisations.
    Bad(
        "participant/invalid-email",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/email", "email")],
        json=lambda t: t.participant(email="kim@"),
    ),
    Bad(
        "participant/email-with-nul",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/email", "email")],
        json=lambda t: t.participant(email="kim\u0000@example.se"),
    ),
    Bad(
        "participant/email-too-long",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/email", "string_too_long")],
        json=lambda t: t.participant(email="k" * 250 + "@example.se"),
    ),
    Bad(
        "participant/invalid-mobile",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/mobile", "mobile")],
        json=lambda t: t.participant(email=None, mobile="12345"),
    ),
    Bad(
        "participant/landline-not-mobile",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/mobile", "mobile")],
        json=lambda t: t.participant(email=None, mobile="08-123 456 78"),
    ),
    Bad(
        "participant/no-contact",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/email", "contact_required")],
        json=lambda t: t.participant(email=None),
    ),
    Bad(
        "participant/unknown-role",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/role", "enum")],
        json=lambda t: t.participant(role="host"),
    ),
    Bad(
        "participant/unknown-language",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/language", "enum")],
        json=lambda t: t.participant(language="fi"),
    ),
    Bad(
        "participant/blank-name",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/display_name", "not_blank")],
        json=lambda t: t.participant(display_name="   "),
    ),
    Bad(
        "participant/name-with-control-character",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/display_name", "printable")],
        json=lambda t: t.participant(display_name="Kim\u001b[31m"),
    ),
    Bad(
        "participant/name-too-long",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/display_name", "string_too_long")],
        json=lambda t: t.participant(display_name="K" * 201),
    ),
    Bad(
        "participant/region-staff-from-the-municipality",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/organisation_id", "role_organisation")],
        json=lambda t: t.participant(role="region_staff", organisation_id=t.world.municipality.id),
    ),
    Bad(
        "participant/organisation-unknown",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/organisation_id", "exists")],
        json=lambda t: t.participant(organisation_id=UNKNOWN_ID),
    ),
    Bad(
        "participant/unknown-field",
        "POST",
        M + "/participants",
        422,
        "validation-failed",
        [("/personnummer", "unknown_field")],
        json=lambda t: t.participant(personnummer=NUMBER.ten),
    ),
    Bad(
        "participant/meeting-unknown",
        "POST",
        "/api/v1/meetings/" + UNKNOWN_ID + "/participants",
        404,
        "not-found",
        json=lambda t: t.participant(),
    ),
    # Changing a participant.
    Bad(
        "participant-patch/name-null",
        "PATCH",
        P,
        422,
        "validation-failed",
        [("/display_name", "string_type")],
        json=lambda t: {"display_name": None},
    ),
    Bad(
        "participant-patch/role-null",
        "PATCH",
        P,
        422,
        "validation-failed",
        [("/role", "enum")],
        json=lambda t: {"role": None},
    ),
    Bad(
        "participant-patch/language-null",
        "PATCH",
        P,
        422,
        "validation-failed",
        [("/language", "enum")],
        json=lambda t: {"language": None},
    ),
    Bad(
        "participant-patch/removing-the-only-contact",
        "PATCH",
        P,
        422,
        "validation-failed",
        [("/email", "contact_required")],
        json=lambda t: {"email": None},
    ),
    Bad(
        "participant-patch/personal-number-bad-check-digit",
        "PATCH",
        P,
        422,
        "validation-failed",
        [("/personal_number", "personal_number_checksum")],
        json=lambda t: {"personal_number": bad_luhn(NUMBER)},
    ),
    Bad(
        "participant-patch/participant-id-not-a-uuid",
        "PATCH",
        M + "/participants/kim",
        404,
        "not-found",
        json=lambda t: {"display_name": "Kim"},
    ),
    Bad(
        "participant-patch/participant-unknown",
        "PATCH",
        M + "/participants/" + UNKNOWN_ID,
        404,
        "not-found",
        json=lambda t: {"display_name": "Kim"},
    ),
    Bad("participant-delete/participant-unknown", "DELETE", M + "/participants/" + UNKNOWN_ID, 404, "not-found"),
    Bad("invitation/participant-unknown", "POST", M + "/participants/" + UNKNOWN_ID + "/invitation", 404, "not-found"),
    # Staff.
    Bad(
        "staff/personal-number-bad-check-digit",
        "POST",
        "/api/v1/staff",
        422,
        "validation-failed",
        [("/personal_number", "personal_number_checksum")],
        json=lambda t: {"display_name": "Handläggare", "personal_number": bad_luhn(NUMBER)},
    ),
    Bad(
        "staff/invalid-email",
        "POST",
        "/api/v1/staff",
        422,
        "validation-failed",
        [("/email", "email")],
        json=lambda t: {"display_name": "Handläggare", "email": "not an address"},
    ),
    Bad(
        "staff/can-organise-as-string",
        "POST",
        "/api/v1/staff",
        422,
        "validation-failed",
        [("/can_organise", "bool_type")],
        json=lambda t: {"display_name": "Handläggare", "can_organise": "yes"},
    ),
    Bad("staff/id-not-a-uuid", "GET", "/api/v1/staff/admin", 404, "not-found"),
    # Listing meetings: query parameters.
    Bad(
        "list/limit-zero",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/limit", "greater_than_equal")],
        params=[("limit", "0")],
    ),
    Bad(
        "list/limit-not-a-number",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/limit", "int_parsing")],
        params=[("limit", "abc")],
    ),
    Bad(
        "list/limit-too-large",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/limit", "less_than_equal")],
        params=[("limit", "201")],
    ),
    Bad(
        "list/offset-negative",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/offset", "greater_than_equal")],
        params=[("offset", "-1")],
    ),
    Bad(
        "list/status-unknown",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/status", "enum")],
        params=[("status", "bogus")],
    ),
    Bad(
        "list/from-without-offset",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/from", "timezone_aware")],
        params=[("from", "2030-01-01T10:00:00")],
    ),
    Bad(
        "list/to-not-a-time",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/to", None)],
        params=[("to", "tomorrow")],
    ),
    Bad(
        "list/from-year-9999",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/from", None)],
        params=[("from", "9999-12-31T23:00:00-05:00")],
    ),
    Bad(
        "list/to-year-1",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/to", None)],
        params=[("to", "0001-01-01T00:00:00+05:00")],
    ),
    Bad(
        "list/limit-repeated",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/limit", "single_value")],
        params=[("limit", "1"), ("limit", "2")],
    ),
    Bad(
        "list/unknown-parameter",
        "GET",
        "/api/v1/meetings",
        422,
        "validation-failed",
        [("/sort", "unknown_field")],
        params=[("sort", "title")],
    ),
    # Routes and methods.
    Bad("route/unknown", "GET", "/api/v1/meeting", 404, "not-found"),
    Bad("route/unknown-below-a-meeting", "GET", M + "/minutes", 404, "not-found"),
    Bad("route/unknown-version", "GET", "/api/v2/meetings", 404, "not-found"),
    Bad("method/delete-the-collection", "DELETE", "/api/v1/meetings", 405, "method-not-allowed"),
    Bad("method/put-a-meeting", "PUT", M, 405, "method-not-allowed", json=lambda t: t.meeting()),
    Bad("method/get-cancel", "GET", M + "/cancel", 405, "method-not-allowed"),
    Bad("method/delete-a-meeting", "DELETE", M, 405, "method-not-allowed"),
]


@pytest_asyncio.fixture(scope="module")
async def target(module_world: World) -> AsyncIterator[Target]:
    api = Api(module_world)
    meeting = await api.create_meeting()
    participant = await api.add_participant(meeting["id"], email="kim@example.se")
    yield Target(module_world, api, meeting["id"], participant["id"])


def test_the_table_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [case.param() for case in CASES])
async def test_bad_input_is_refused_and_changes_nothing(target: Target, case: Bad) -> None:
    api = Api(target.world)
    path = case.path.format(meeting=target.meeting_id, participant=target.participant_id)
    kwargs: dict[str, Any] = {"headers": dict(case.headers)}
    if case.json is not None:
        kwargs["json"] = case.json(target)
    if case.data is not None:
        kwargs["data"] = case.data(target) if callable(case.data) else case.data
    if case.params is not None:
        kwargs["params"] = case.params(target) if callable(case.params) else case.params
    before = await snapshot(target.world.service)

    answer = await api.request(case.method, path, **kwargs)

    assert answer.status < 500, answer
    assert 400 <= answer.status < 500, answer
    assert answer.content_type == PROBLEM_JSON, answer
    expected = case.errors
    body = assert_problem(answer, case.status, case.code)
    if expected is not None:
        found = body.get("errors", [])
        assert len(found) == len(expected), body
        for (field_, rule), error in zip(
            sorted(expected), sorted(found, key=lambda e: (e["field"], e["rule"])), strict=False
        ):
            assert error["field"] == field_, body
            if rule is not None:
                assert error["rule"] == rule, body
            assert error["message"], body
    elif case.status == 422:
        raise AssertionError("a 422 case must say which fields it expects")
    if case.status == 405:
        assert answer.headers.get("Allow"), "a 405 must say which methods are allowed"
    # The answer never repeats a personal identity number the request carried.
    for spelling in NUMBER.spellings:
        assert spelling not in answer.text

    assert await snapshot(target.world.service) == before


async def test_a_compressed_body_is_refused_wherever_a_handler_would_read_it() -> None:
    """The problem middleware refuses a compressed body (415) before any handler reads it, for
    handlers that read it themselves (a form) as well: none of them ever meets aiohttp's decoder."""

    async def read_form(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="read")

    app = web.Application(middlewares=[problems], handler_args={"auto_decompress": False})  # as create_app
    app.router.add_post("/api/form", read_form)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            form = {"Content-Type": "application/x-www-form-urlencoded"}
            async with http.post("/api/form", data=b"a=1", headers=form) as response:
                assert response.status == 200
            for body in (b"a=1", gzip.compress(b"a=1")):
                async with http.post("/api/form", data=body, headers={**form, "Content-Encoding": "gzip"}) as response:
                    assert response.status == 415
                    assert response.content_type == PROBLEM_JSON
                    problem = await response.json(content_type=PROBLEM_JSON)
                    assert problem["type"] == "urn:meetsvc:problem:unsupported-media-type"
    finally:
        await runner.cleanup()


async def test_a_member_named_twice_in_a_json_body_is_refused_not_resolved(target: Target) -> None:
    """With "last wins", a checking proxy and the service could read two different requests
    from one body; the service refuses it instead, and creates nothing."""
    api = Api(target.world)
    before = await snapshot(target.world.service)
    body = duplicate_key(json.dumps(target.meeting(title="Planeringsmöte")), "title", "Något annat")

    answer = await api.post("/api/v1/meetings", data=body, headers=JSON)

    problem = assert_problem(answer, 400, "bad-request")
    assert "twice" in problem["detail"]
    assert await snapshot(target.world.service) == before


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip", "deflate", "bogus", "gzip, br"])
async def test_a_compressed_body_gets_a_415_naming_the_encodings_accepted(
    target: Target, coding: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Not aiohttp's plain-text 400 asking for a package to be installed, nor an unknown coding
    read as identity: one problem+json answer that says what to send."""
    api = Api(target.world)
    body = json.dumps(target.meeting()).encode()
    if coding == "gzip":
        body = gzip.compress(body)
    before = await snapshot(target.world.service)

    with caplog.at_level(logging.INFO):
        answer = await api.post("/api/v1/meetings", data=body, headers={**JSON, "Content-Encoding": coding})

    problem = assert_problem(answer, 415, "unsupported-media-type")
    assert "identity" in problem["detail"]
    assert answer.headers["Accept-Encoding"] == "identity"
    assert "install" not in answer.text.lower()
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info]
    assert await snapshot(target.world.service) == before
