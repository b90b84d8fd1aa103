"""The served OpenAPI document: valid 3.1, complete, and true to what the service answers."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import Language
from meetsvc.domain.roles import Role
from meetsvc.http.appkeys import DIRECTORY, ENGINE, SESSIONS
from meetsvc.services.sessions import SessionKind
from tests.api.helpers import Api, OpenApi, meeting_path, participant_path, rfc3339, served_openapi, utc

# The document describes the API; it does not list itself as one of the API's operations.
NOT_AN_OPERATION = {("GET", "/api/v1/openapi.json")}


async def document(api: Api) -> OpenApi:
    return await served_openapi(api.service.http, api.service.base_url)


async def test_the_document_is_valid_openapi_3_1(api: Api) -> None:
    answer = await api.get("/api/v1/openapi.json", org=None)
    assert answer.status == 200
    assert answer.content_type == "application/json"
    spec = answer.json
    assert spec["openapi"].startswith("3.1.")
    validate(spec, cls=OpenAPIV31SpecValidator)
    assert spec["servers"] == [{"url": api.service.settings.server.base_url}]


async def test_a_broken_document_is_caught_by_the_validator(api: Api) -> None:
    # The counterpart of the test above: the validator really looks.
    broken = copy.deepcopy((await document(api)).document)
    first_path = next(iter(broken["paths"].values()))
    next(iter(first_path.values()))["responses"] = "none"
    with pytest.raises(OpenAPIValidationError):
        validate(broken, cls=OpenAPIV31SpecValidator)


async def test_every_route_is_documented_and_every_documented_route_exists(api: Api) -> None:
    app = api.service.app
    routed = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/v1") and route.method not in ("HEAD", "OPTIONS"):
            routed.add((route.method, path))
    spec = (await document(api)).document
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}

    assert routed - NOT_AN_OPERATION == documented
    assert routed >= NOT_AN_OPERATION
    assert len(documented) >= 17


async def test_operations_are_named_once_and_parameters_match_paths(api: Api) -> None:
    spec = (await document(api)).document
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for path, item in spec["paths"].items():
        in_path = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, (path, operation["operationId"])
            # Every operation documents its success, its 401, and problem+json for each error.
            statuses = set(operation["responses"])
            assert any(s.startswith("2") for s in statuses), operation["operationId"]
            assert "401" in statuses and operation["security"] == [{"apiClientKey": []}]
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    assert list(response["content"]) == ["application/problem+json"], (operation["operationId"], status)
    assert spec["components"]["securitySchemes"]["apiClientKey"] == {
        **spec["components"]["securitySchemes"]["apiClientKey"],
        "type": "http",
        "scheme": "bearer",
    }


async def test_every_operation_answers_as_documented(api: Api) -> None:
    """One successful call of every operation; each body is checked against its documented schema."""
    world = api.world
    spec = await document(api)
    meeting = await api.create_meeting()
    participant = await api.add_participant(meeting["id"], personal_number="198112189876")
    start = utc(meeting["starts_at"])
    calls: list[tuple[str, str, Any]] = [
        ("GET", "/api/v1/organisations", None),
        ("GET", "/api/v1/staff", None),
        ("POST", "/api/v1/staff", {"display_name": "Handläggare", "email": "handlaggare@example.se"}),
        ("GET", f"/api/v1/staff/{world.hosts[world.municipality.id]}", None),
        ("PATCH", f"/api/v1/staff/{world.hosts[world.municipality.id]}", {"hsa_id": "SE2321000016-9001"}),
        ("GET", "/api/v1/meetings", None),
        ("GET", meeting_path(meeting["id"]), None),
        ("PATCH", meeting_path(meeting["id"]), {"title": "Uppföljning"}),
        (
            "POST",
            meeting_path(meeting["id"], "reschedule"),
            {"starts_at": rfc3339(start + timedelta(days=1)), "ends_at": rfc3339(start + timedelta(days=1, hours=1))},
        ),
        ("GET", meeting_path(meeting["id"], "participants"), None),
        ("GET", participant_path(meeting["id"], participant["id"]), None),
        ("PATCH", participant_path(meeting["id"], participant["id"]), {"mobile": "0701234567"}),
        ("POST", participant_path(meeting["id"], participant["id"], "invitation"), None),
        ("DELETE", participant_path(meeting["id"], participant["id"], "invitation"), None),
        ("DELETE", participant_path(meeting["id"], participant["id"]), None),
        ("POST", meeting_path(meeting["id"], "cancel"), None),
    ]
    staff = (await api.request("POST", "/api/v1/staff", json={"display_name": "Tillfällig"})).json
    calls += [
        ("PATCH", f"/api/v1/staff/{staff['id']}", {"roles": ["host"]}),
        ("POST", f"/api/v1/staff/{staff['id']}/deactivate", None),
    ]
    for method, path, body in calls:
        answer = await api.request(method, path, **({"json": body} if body is not None else {}))
        assert 200 <= answer.status < 300, answer
        # Checked in Api.request already; repeated here so this test stands on its own.
        spec.check_response(
            answer.operation_id, answer.status, answer.content_type, answer.json if answer.text else None
        )
    # API clients are managed by a signed-in administrator (session cookie and CSRF token).
    admin = await world.service.app[DIRECTORY].add_staff_member(
        OrganisationCaller(world.municipality.id, "test"), display_name="Admin", roles=frozenset({Role.ADMINISTRATOR})
    )
    async with world.service.app[ENGINE].begin() as connection:
        issued = await world.service.app[SESSIONS].create(
            connection, SessionKind.STAFF, language=Language.SV, staff_id=admin.id
        )
    signed_in = {"Cookie": f"meetsvc_session={issued.token}", "X-CSRF-Token": issued.session.csrf_token}
    clients = await api.request("GET", "/api/v1/api-clients", org=None, headers=signed_in)
    assert clients.status == 200, clients
    revoked = await api.request(
        "POST", f"/api/v1/api-clients/{clients.json['items'][0]['id']}/revoke", org=None, headers=signed_in
    )
    assert revoked.status == 200, revoked

    exercised = {a.operation_id for a in api.answers if a.operation_id and 200 <= a.status < 300}
    all_operations = {op["operationId"] for item in spec.document["paths"].values() for op in item.values()}
    assert exercised == all_operations


async def test_the_response_check_rejects_a_body_that_breaks_the_schema(api: Api) -> None:
    spec = await document(api)
    meeting = await api.create_meeting()
    spec.check_response("getMeeting", 200, "application/json", meeting)

    for broken in (
        {k: v for k, v in meeting.items() if k != "sequence"},
        {**meeting, "status": "postponed"},
        {**meeting, "starts_at": "next tuesday"},
        {**meeting, "host_ids": meeting["host_ids"][0]},
    ):
        with pytest.raises(AssertionError):
            spec.check_response("getMeeting", 200, "application/json", broken)
    with pytest.raises(AssertionError):
        spec.check_response("getMeeting", 201, "application/json", meeting)
    with pytest.raises(AssertionError):
        spec.check_problem({"type": "urn:meetsvc:problem:x", "status": "404"})
