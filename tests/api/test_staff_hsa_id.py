"""Staff members' HSA-id: what a SITHS sign-in through OpenID Connect is matched by."""

from __future__ import annotations

from tests.api.helpers import Api


async def test_an_hsa_id_is_set_at_creation_changed_and_removed(api: Api) -> None:
    created = await api.post(
        "/api/v1/staff", json={"display_name": "Ulla Sjuksköterska", "hsa_id": "SE2321000016-1003"}
    )
    assert created.status == 201, created
    assert created.json["hsa_id"] == "SE2321000016-1003"
    staff_id = created.json["id"]

    changed = await api.patch(f"/api/v1/staff/{staff_id}", json={"hsa_id": "SE2321000016-2004"})
    assert changed.status == 200, changed
    assert changed.json["hsa_id"] == "SE2321000016-2004"
    assert (await api.get(f"/api/v1/staff/{staff_id}")).json["hsa_id"] == "SE2321000016-2004"

    removed = await api.patch(f"/api/v1/staff/{staff_id}", json={"hsa_id": None})
    assert removed.status == 200, removed
    assert removed.json["hsa_id"] is None


async def test_a_malformed_or_taken_hsa_id_is_refused_and_changes_nothing(api: Api) -> None:
    first = await api.post("/api/v1/staff", json={"display_name": "A", "hsa_id": "SE2321000016-1003"})
    second = await api.post("/api/v1/staff", json={"display_name": "B"})
    malformed = await api.patch(f"/api/v1/staff/{second.json['id']}", json={"hsa_id": "SE23210000161003"})
    assert malformed.status == 422, malformed
    assert [(e["field"], e["rule"]) for e in malformed.json["errors"]] == [("/hsa_id", "hsa_id")]
    taken = await api.patch(f"/api/v1/staff/{second.json['id']}", json={"hsa_id": "SE2321000016-1003"})
    assert taken.status == 422, taken
    assert [(e["field"], e["rule"]) for e in taken.json["errors"]] == [("/hsa_id", "unique")]
    duplicate = await api.post("/api/v1/staff", json={"display_name": "C", "hsa_id": "SE2321000016-1003"})
    assert duplicate.status == 422, duplicate
    assert (await api.get(f"/api/v1/staff/{second.json['id']}")).json["hsa_id"] is None
    assert (await api.get(f"/api/v1/staff/{first.json['id']}")).json["hsa_id"] == "SE2321000016-1003"


async def test_another_organisations_staff_member_cannot_be_changed(api: Api) -> None:
    created = await api.post("/api/v1/staff", json={"display_name": "A"})
    other = await api.patch(
        f"/api/v1/staff/{created.json['id']}", org=api.world.region, json={"hsa_id": "SE2321000016-1003"}
    )
    assert other.status == 404, other
    assert (await api.get(f"/api/v1/staff/{created.json['id']}")).json["hsa_id"] is None
