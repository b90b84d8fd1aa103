"""The organiser API under schemathesis: requests generated from the served OpenAPI document.

A real meetsvc serves on a loopback port (SQLite, and PostgreSQL where one answers) with a real
API client key. Schemathesis (its command line, in a subprocess, so this test's event loop keeps
serving) reads ``/api/v1/openapi.json`` and runs its phases against every operation: boundary
values of each schema (coverage), valid and invalid requests built from it (fuzzing), and chains
that follow the ``Location`` of what was created (stateful). Every answer must be documented:

- never a 5xx (``not_a_server_error``);
- a status code the operation lists, with the content type and body schema listed for it;
- invalid input refused with a 4xx (``negative_data_rejection``).

Generated path ids would only ever meet 404, so schemathesis also draws, half of the time, from
the ids of meetings, participants and staff that exist, and from times a meeting may be booked
at: the requests reach the rules behind the 404.

The run is bounded and reproducible: a fixed number of examples per operation and phase, and
Hypothesis derandomized, with no example database and no cache carried between runs (the
stateful chains still follow whatever ids the service hands out). To look harder locally:
``MEETSVC_SCHEMATHESIS_EXAMPLES=500 .venv/bin/python -m pytest tests/api/test_schemathesis.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from meetsvc.http.appkeys import AUDIT, ENGINE, METRICS, OPENAPI
from meetsvc.storage.tables import audit_head
from tests.api.helpers import Api, TestNumber, local_time, rfc3339
from tests.conftest import World

EXAMPLES = int(os.environ.get("MEETSVC_SCHEMATHESIS_EXAMPLES", "40"))
# About ten seconds a run at 40 examples on two cores for the first 14 operations (twice that with
# the statistics' 22 on a busy machine); the limits grow with the count asked for.
RUN_TIMEOUT = 180 + EXAMPLES
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
# How often a parameter bound to a dictionary takes one of its values instead of a generated one.
REAL_DATA = 0.5
CHANGING = ("POST", "PATCH", "PUT", "DELETE")


def toml(value: Any) -> str:
    """The few TOML values the configuration needs (JSON strings are valid TOML basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(key)} = {toml(item)}" for key, item in value.items()) + "}"
    raise TypeError(value)


def write_config(path: Path, tables: dict[str, Any]) -> None:
    lines = [f"{json.dumps(key)} = {toml(value)}" for key, value in tables.items() if not isinstance(value, dict)]
    for name, table in tables.items():
        if isinstance(table, dict):
            lines.append(f"\n[{name}]")
            lines += [f"{json.dumps(key)} = {toml(value)}" for key, value in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def seed(api: Api) -> dict[str, list[str]]:
    """Meetings with participants to aim at, and the values that reach past the first rule."""
    world = api.world
    now = api.service.clock()
    meetings, participants = [], []
    for days in (3, 5, 8):
        meeting = await api.create_meeting(starts_at=local_time(now, days=days))
        meetings.append(meeting["id"])
        for index, extra in enumerate(({}, {"personal_number": TestNumber.make("19811218", "987").normal})):
            invited = await api.add_participant(meeting["id"], email=f"deltagare{days}{index}@example.se", **extra)
            participants.append(invited["id"])
    return {
        "meetings": meetings,
        "participants": participants,
        "hosts": [world.hosts[world.municipality.id]],
        "partners": [world.region.id],
        "organisations": [world.municipality.id, world.region.id],
        # Starts and ends a meeting may have: most pairs drawn from these last 15 minutes to 8 hours.
        "times": [rfc3339(local_time(now, days=days, hour=hour)) for days in (10, 11) for hour in (9, 10, 12)],
    }


def schemathesis_config(key: str, data: dict[str, list[str]]) -> dict[str, Any]:
    def drawn(dictionary: str) -> dict[str, Any]:
        return {"dictionary": dictionary, "probability": REAL_DATA}

    return {
        "headers": {"Authorization": f"Bearer {key}"},
        "generation": {"max-examples": EXAMPLES, "deterministic": True},
        "cache": {"enabled": False},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "dictionaries": {name: {"values": values} for name, values in data.items()},
        "parameters": {
            "path.meeting_id": drawn("meetings"),
            "path.participant_id": drawn("participants"),
            "path.staff_id": drawn("hosts"),
            "body.partner_organisation_id": drawn("partners"),
            "body.host_ids[*]": drawn("hosts"),
            "body.organisation_id": drawn("organisations"),
            "body.starts_at": drawn("times"),
            "body.ends_at": drawn("times"),
        },
    }


def accepted_changes(world: World) -> int:
    """2xx answers to changing API requests so far, from the service's own metrics."""
    total = 0.0
    for metric in world.service.app[METRICS].registry.collect():
        for sample in metric.samples:
            labels = sample.labels
            if (
                sample.name == "meetsvc_http_requests_total"
                and labels["method"] in CHANGING
                and labels["route"].startswith("/api/v1/")
                and labels["status"].startswith("2")
            ):
                total += sample.value
    return int(total)


async def audit_entries(world: World) -> int:
    async with world.service.app[ENGINE].connect() as connection:
        return (await connection.execute(select(audit_head.c.seq))).scalar_one()


@pytest.mark.timeout(RUN_TIMEOUT + 30)
async def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(world: World, tmp_path: Path) -> None:
    api = Api(world)
    data = await seed(api)
    config = tmp_path / "schemathesis.toml"
    write_config(config, schemathesis_config(world.keys[world.municipality.id], data))
    entries_before, accepted_before = await audit_entries(world), accepted_changes(world)

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{world.service.base_url}/api/v1/openapi.json",
        "--no-color",
        cwd=tmp_path,  # its working files (reports, Hypothesis' directory) stay out of the tree
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=RUN_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    report = output.decode(errors="replace")

    assert process.returncode == 0, report
    operations = sum(len(item) for item in world.service.app[OPENAPI]["paths"].values())
    assert f"{operations} selected / {operations} total" in report, report
    # Every change the log recorded came from a request the service accepted, and the log's chain holds.
    written = await audit_entries(world) - entries_before
    assert 0 < written <= accepted_changes(world) - accepted_before
    async with world.service.app[ENGINE].connect() as connection:
        verification = await world.service.app[AUDIT].verify(connection)
    assert verification.ok, verification
