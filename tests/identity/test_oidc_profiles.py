"""Which acr values a staff sign-in provider accepts: loa3 for SITHS unless the organisation
chose to take temporary cards (loa2) too; exactly what is named otherwise."""

from __future__ import annotations

from identity.oidc.profiles import INERA_SITHS, LOA2, LOA3, ORGANISATION_IDP
from meetsvc.services.staff_oidc import accepted_acr


def test_siths_accepts_loa3_only_by_default() -> None:
    assert accepted_acr("inera-siths", None, accept_loa2=False) == (LOA3,)


def test_siths_accepts_loa2_only_where_chosen() -> None:
    assert accepted_acr("inera-siths", None, accept_loa2=True) == (LOA3, LOA2)


def test_named_values_replace_the_default() -> None:
    assert accepted_acr("organisation-idp", ("urn:example:mfa",), accept_loa2=False) == ("urn:example:mfa",)
    assert accepted_acr("inera-siths", (LOA2,), accept_loa2=False) == (LOA2,)


def test_an_organisations_idp_asks_for_no_acr_unless_told() -> None:
    assert accepted_acr("organisation-idp", None, accept_loa2=False) == ()


def test_the_siths_profile_reads_ineras_claims() -> None:
    assert (INERA_SITHS.hsa_id_claim, INERA_SITHS.personal_number_claim) == (
        "employeeHsaId",
        "credentialPersonalIdentityNumber",
    )
    assert (ORGANISATION_IDP.given_name_claim, ORGANISATION_IDP.family_name_claim) == ("given_name", "family_name")
