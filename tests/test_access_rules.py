"""The pure rules of who reaches which part of a meeting, and what each role allows."""

from __future__ import annotations

import pytest

from meetsvc.domain.access import (
    MeetingParties,
    Side,
    host_change_allowed,
    listing_scope,
    may_change_meeting,
    may_invite_role,
    may_manage_participant,
    side_of,
)
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.domain.model import ParticipantRole
from meetsvc.domain.roles import Role, may_administer, may_host, may_read_statistics, roles_from_text, roles_text

TOWN, REGION, ELSEWHERE = "town", "region", "elsewhere"
PARTIES = MeetingParties(TOWN, REGION, booked_by="staff:anna", host_ids=("bo", "rita"))
ORGANISING = frozenset({Role.ORGANISER, Role.HOST})


def staff(organisation: str, staff_id: str, *roles: Role) -> OrganisationCaller:
    return OrganisationCaller.staff(organisation, staff_id, frozenset(roles) or ORGANISING)


@pytest.mark.parametrize(
    ("caller", "side"),
    [
        (OrganisationCaller(TOWN, "api-client:1"), Side.BOOKING),
        (OrganisationCaller(REGION, "api-client:2"), Side.PARTNER),
        (OrganisationCaller(ELSEWHERE, "api-client:3"), None),
        (staff(TOWN, "anna"), Side.BOOKING),  # booked it
        (staff(TOWN, "bo"), Side.BOOKING),  # leads it
        (staff(TOWN, "cia"), None),  # an organiser of the town with no part in it
        (staff(TOWN, "dan", Role.ADMINISTRATOR), Side.BOOKING),
        (staff(REGION, "rita"), Side.PARTNER),  # the region's co-host
        (staff(REGION, "sven"), None),
        (staff(REGION, "anna"), None),  # "booked by" counts only on the booking side
        (staff(REGION, "ulla", Role.ADMINISTRATOR), Side.PARTNER),
        (staff(ELSEWHERE, "bo"), None),  # the same id in another organisation is someone else
    ],
)
def test_who_reaches_which_side(caller: OrganisationCaller, side: Side | None) -> None:
    assert side_of(caller, PARTIES) is side


def test_a_staff_members_list_is_their_own_unless_they_administer() -> None:
    assert listing_scope(staff(TOWN, "anna")).staff_id == "anna"
    assert listing_scope(staff(TOWN, "dan", Role.ADMINISTRATOR)).staff_id is None
    assert listing_scope(OrganisationCaller(REGION, "api-client:2")).staff_id is None


def test_what_stays_with_the_booking_organisation() -> None:
    assert may_change_meeting(Side.BOOKING) and not may_change_meeting(Side.PARTNER)
    for role in ParticipantRole:
        assert may_invite_role(Side.BOOKING, role)
        assert may_invite_role(Side.PARTNER, role) is (
            role not in (ParticipantRole.INDIVIDUAL, ParticipantRole.GUARDIAN)
        )
    assert may_manage_participant(Side.BOOKING, REGION, TOWN)
    assert may_manage_participant(Side.PARTNER, REGION, REGION)
    assert not may_manage_participant(Side.PARTNER, TOWN, REGION)
    assert not may_manage_participant(Side.PARTNER, None, REGION)


def test_the_partner_changes_only_its_own_hosts() -> None:
    before = {"bo": TOWN, "rita": REGION}
    assert host_change_allowed(Side.PARTNER, before, {"bo": TOWN, "rita": REGION, "sven": REGION}, REGION)
    assert host_change_allowed(Side.PARTNER, before, {"bo": TOWN}, REGION)
    assert host_change_allowed(Side.PARTNER, before, {"rita": REGION, "bo": TOWN}, REGION)  # order only
    assert not host_change_allowed(Side.PARTNER, before, {"rita": REGION}, REGION)
    assert not host_change_allowed(Side.PARTNER, before, {**before, "cia": TOWN}, REGION)
    assert host_change_allowed(Side.BOOKING, before, {"cia": TOWN}, TOWN)


def test_roles() -> None:
    assert may_read_statistics(frozenset({Role.STATISTICS_READER}))
    assert may_read_statistics(frozenset({Role.ADMINISTRATOR}))
    assert not may_read_statistics(ORGANISING)
    assert may_host(frozenset({Role.ORGANISER})) and may_host(frozenset({Role.HOST}))
    assert not may_host(frozenset({Role.ADMINISTRATOR, Role.STATISTICS_READER}))
    assert may_administer(frozenset({Role.ADMINISTRATOR})) and not may_administer(ORGANISING)
    assert roles_text(ORGANISING) == "host,organiser"
    assert roles_from_text("host,organiser,unknown_future_role") == ORGANISING
    assert roles_from_text("") == frozenset()
