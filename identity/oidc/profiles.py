"""Which claims of an ID token say who the person is, per kind of identity provider.

Inera's IdP (SITHS cards) names its claims after the HSA catalogue: ``employeeHsaId`` and
``credentialPersonalIdentityNumber``, and states the card's level of assurance in ``acr``
(``http://id.sambi.se/loa/loa3`` for an ordinary card, ``…/loa2`` for a temporary one). An
organisation's own IdP (Entra ID, Active Directory FS, Keycloak…) has no common names for a
personal number or an HSA-id: the organisation says which claim carries them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LOA2 = "http://id.sambi.se/loa/loa2"
LOA3 = "http://id.sambi.se/loa/loa3"

ProfileName = Literal["inera-siths", "organisation-idp"]


@dataclass(frozen=True, slots=True)
class ClaimProfile:
    """The claims one kind of provider puts in its ID tokens, and what it is asked for."""

    name: ProfileName
    personal_number_claim: str
    hsa_id_claim: str
    given_name_claim: str
    family_name_claim: str
    scopes: tuple[str, ...]
    #: The ``acr`` values accepted when the organisation chose nothing else.
    default_acr: tuple[str, ...]


INERA_SITHS = ClaimProfile(
    name="inera-siths",
    personal_number_claim="credentialPersonalIdentityNumber",
    hsa_id_claim="employeeHsaId",
    given_name_claim="given_name",
    family_name_claim="family_name",
    scopes=("openid", "profile"),
    default_acr=(LOA3,),
)

ORGANISATION_IDP = ClaimProfile(
    name="organisation-idp",
    personal_number_claim="personal_identity_number",
    hsa_id_claim="hsa_id",
    given_name_claim="given_name",
    family_name_claim="family_name",
    scopes=("openid", "profile"),
    default_acr=(),
)

PROFILES: dict[str, ClaimProfile] = {profile.name: profile for profile in (INERA_SITHS, ORGANISATION_IDP)}
