"""Staff sign-in through OpenID Connect, end to end: Chromium, the service, and a real OpenID
provider (the npm package `oidc-provider`, run with node by tests/oidc/provider.mjs).

Three providers are configured on the one test IdP: SITHS for Region Exempel (matched by
HSA-id, loa3 only), SITHS for Grannby kommun (matched by personal number, temporary cards with
loa2 accepted) and Exempelstads kommun's own IdP (matched by personal number in a generic claim).
Each attack is made where it would be made: on the browser's way to the provider (nonce), on its
way back (state, a replayed answer, a late answer), or at the provider's key publication.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import select

from meetsvc.config import StaffSignInSettings
from meetsvc.domain.callers import OrganisationCaller
from meetsvc.http.appkeys import DIRECTORY, ENGINE
from meetsvc.storage.tables import audit_log, browser_sessions, oidc_sign_ins
from tests.browser.conftest import IN_CI, SV, OpenTab, Tab
from tests.support.databases import SqliteTemplate
from tests.support.lobby import book
from tests.support.service import RunningService, SettableClock, make_settings, start_service
from tests.support.timing import WAIT_SECONDS

PROVIDER_SCRIPT = Path(__file__).resolve().parents[1] / "oidc" / "provider.mjs"
CLIENT_ID = "meetsvc-test"
CLIENT_SECRET = "test-client-secret"
LOA2 = "http://id.sambi.se/loa/loa2"
LOA3 = "http://id.sambi.se/loa/loa3"
ULLA_HSA_ID = "SE2321000016-1003"
# The people the test IdP knows; "okand" is in no staff directory.
ACCOUNTS: dict[str, dict[str, str]] = {
    "ulla": {
        "given_name": "Ulla",
        "family_name": "Sjöström",
        "employeeHsaId": ULLA_HSA_ID,
        "credentialPersonalIdentityNumber": "196809059832",
    },
    "karin": {
        "given_name": "Karin",
        "family_name": "Johansson",
        "employeeHsaId": "SE2321000016-2004",
        "credentialPersonalIdentityNumber": "197503179827",
    },
    "erik": {"given_name": "Erik", "family_name": "Lindqvist", "personal_identity_number": "198112189876"},
    "okand": {
        "given_name": "Okänd",
        "family_name": "Person",
        "employeeHsaId": "SE2321000016-9999",
        "credentialPersonalIdentityNumber": "200502149800",
    },
}
SITHS_REGION = f"{SV['staff.oidc.inera-siths']} (Region Exempel)"
SITHS_GRANNBY = f"{SV['staff.oidc.inera-siths']} (Grannby kommun)"
MUNICIPAL_IDP = f"{SV['staff.oidc.organisation-idp']} (Exempelstads kommun)"


@dataclass
class OpenIdProvider:
    issuer: str
    process: asyncio.subprocess.Process

    async def publish_other_keys(self) -> None:
        async with aiohttp.ClientSession() as http, http.post(f"{self.issuer}/test/publish-other-keys") as answer:
            assert answer.status == 204


async def start_idp(redirect_uri: str) -> OpenIdProvider:
    """Start the test IdP and wait for its ready line.

    A start that does not answer within the bound is stopped and tried once more; the provider's
    own error output is kept and shown if it never answers, so a failure says why.
    """
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is not installed; CI must run the OpenID Connect tests")
        pytest.skip("node is not installed")
    options = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": redirect_uri,
        "accounts": ACCOUNTS,
    }
    failures: list[str] = []
    for _attempt in range(2):
        with tempfile.TemporaryFile() as errors:
            process = await asyncio.create_subprocess_exec(
                node, str(PROVIDER_SCRIPT), json.dumps(options), stdout=asyncio.subprocess.PIPE, stderr=errors
            )
            assert process.stdout is not None
            try:
                line = await asyncio.wait_for(process.stdout.readline(), WAIT_SECONDS)
            except TimeoutError:
                line = b""
            if line:
                return OpenIdProvider(json.loads(line)["issuer"], process)
            if process.returncode is None:
                process.kill()
            status = await process.wait()
            errors.seek(0)
            said = errors.read().decode(errors="replace").strip() or "(nothing on stderr)"
            failures.append(f"exit status {status}: {said}")
    pytest.fail("the test IdP did not start:\n" + "\n".join(failures))


def providers(issuer: str) -> StaffSignInSettings:
    common = {"issuer": issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    return StaffSignInSettings.model_validate(
        {
            "oidc": [
                {
                    "name": "siths-region",
                    "organisation": "Region Exempel",
                    "profile": "inera-siths",
                    "match_by": "hsa_id",
                    **common,
                },
                {
                    "name": "siths-grannby",
                    "organisation": "Grannby kommun",
                    "profile": "inera-siths",
                    "match_by": "personal_number",
                    "accept_loa2": True,
                    **common,
                },
                {
                    "name": "exempelstad",
                    "organisation": "Exempelstads kommun",
                    "profile": "organisation-idp",
                    "match_by": "personal_number",
                    **common,
                },
            ]
        }
    )


@pytest_asyncio.fixture
async def idp_and_service(
    sqlite_template: SqliteTemplate, keys_dir: Path, clock: SettableClock
) -> AsyncIterator[tuple[OpenIdProvider, RunningService]]:
    base = make_settings(sqlite_template.clone(), keys_dir)
    idp = await start_idp(f"{base.server.base_url}/staff/oidc/callback")
    try:
        running = await start_service(base.model_copy(update={"staff_sign_in": providers(idp.issuer)}), clock)
        try:
            yield idp, running
        finally:
            await running.close()
    finally:
        idp.process.terminate()
        await idp.process.wait()


@pytest.fixture
def service(idp_and_service: tuple[OpenIdProvider, RunningService]) -> RunningService:
    return idp_and_service[1]


@pytest.fixture
def idp(idp_and_service: tuple[OpenIdProvider, RunningService]) -> OpenIdProvider:
    return idp_and_service[0]


@dataclass
class Staff:
    ulla: str
    karin: str
    erik: str


@pytest_asyncio.fixture
async def staff(world: Any) -> Staff:
    directory = world.service.app[DIRECTORY]

    async def add(organisation: Any, name: str, **fields: str) -> str:
        member = await directory.add_staff_member(
            OrganisationCaller(organisation.id, "test"), display_name=name, **fields
        )
        return str(member.id)

    return Staff(
        ulla=await add(world.region, "Ulla Sjöström", hsa_id=ULLA_HSA_ID),
        karin=await add(world.other_municipality, "Karin Johansson", personal_number="197503179827"),
        erik=await add(world.municipality, "Erik Lindqvist", personal_number="198112189876"),
    )


@dataclass
class Answer:
    """How the provider's answer to the service was received: its URL and the status."""

    callback_url: str
    status: int


async def sign_in(tab: Tab, button: str, person: str, *, card: str = LOA3) -> Answer:
    """What a person does: press their organisation's button, sign in at the provider."""
    page = tab.page
    await page.goto("/staff/login")
    await page.get_by_role("button", name=button).click()
    await page.get_by_role("heading", name="Test identity provider").wait_for()
    await page.get_by_role("radio", name=person, exact=True).check()
    await page.get_by_role("radio", name="loa3" if card == LOA3 else "loa2").check()
    async with page.expect_response(lambda r: "/staff/oidc/callback" in r.url) as answered:
        await page.get_by_role("button", name="Sign in").click()
    response = await answered.value
    await page.wait_for_load_state()
    return Answer(response.url, response.status)


async def refusals(service: RunningService) -> list[dict[str, Any]]:
    async with service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(audit_log.c.details)
                .where(audit_log.c.action == "staff.sign_in_refused")
                .order_by(audit_log.c.seq)
            )
        ).all()
    return [json.loads(row.details) for row in rows]


async def signed_in_staff(service: RunningService) -> list[str]:
    async with service.app[ENGINE].connect() as connection:
        rows = (
            await connection.execute(
                select(browser_sessions.c.staff_id).where(
                    browser_sessions.c.staff_id.is_not(None), browser_sessions.c.ended_at.is_(None)
                )
            )
        ).all()
    return [row.staff_id for row in rows]


async def assert_refused(tab: Tab, answer: Answer, status: int, text_key: str) -> None:
    assert answer.status == status, answer
    page = tab.page
    await page.get_by_role("heading", name=SV["oidc.refused_heading"]).wait_for()
    assert SV[text_key] in await page.locator("main").inner_text()
    await page.goto("/staff")
    assert urlsplit(page.url).path == "/staff/login"
    assert not tab.problems


# Signing in -----------------------------------------------------------------------------------


async def test_a_siths_card_signs_in_by_hsa_id_and_hosts_see_the_hsa_id(
    open_tab: OpenTab, world: Any, staff: Staff
) -> None:
    tab = await open_tab("ulla", "desktop")
    answer = await sign_in(tab, SITHS_REGION, "ulla")
    assert answer.status == 303
    assert urlsplit(tab.page.url).path == "/staff"
    await tab.page.get_by_role("heading", name=SV["staff.home_heading"]).wait_for()
    assert await signed_in_staff(world.service) == [staff.ulla]

    meeting = await book(world, hosts=[world.hosts[world.municipality.id], staff.ulla])
    await tab.page.goto(f"/staff/meetings/{meeting['id']}")
    hosts = tab.page.locator("#hosts li")
    await hosts.nth(1).wait_for()
    assert await hosts.nth(1).inner_text() == f"Ulla Sjöström · {SV['host.hsa_id']} {ULLA_HSA_ID}"
    assert await hosts.nth(0).inner_text() == "Ledare Exempelstads kommun"
    await tab.shot("console-with-hsa-id")
    assert not tab.problems


async def test_a_municipal_idp_signs_in_by_personal_number(open_tab: OpenTab, world: Any, staff: Staff) -> None:
    tab = await open_tab("erik", "phone")
    answer = await sign_in(tab, MUNICIPAL_IDP, "erik")
    assert answer.status == 303
    await tab.page.get_by_role("heading", name=SV["staff.home_heading"]).wait_for()
    assert await signed_in_staff(world.service) == [staff.erik]
    assert not tab.problems


async def test_a_temporary_card_is_refused_where_loa3_is_required(open_tab: OpenTab, world: Any, staff: Staff) -> None:
    tab = await open_tab("ulla", "desktop")
    answer = await sign_in(tab, SITHS_REGION, "ulla", card=LOA2)
    await assert_refused(tab, answer, 403, "oidc.refused_acr")
    assert [r["reason"] for r in await refusals(world.service)] == ["acr"]
    assert await signed_in_staff(world.service) == []


async def test_a_temporary_card_signs_in_where_the_organisation_accepts_loa2(
    open_tab: OpenTab, world: Any, staff: Staff
) -> None:
    tab = await open_tab("karin", "tablet")
    answer = await sign_in(tab, SITHS_GRANNBY, "karin", card=LOA2)
    assert answer.status == 303
    await tab.page.get_by_role("heading", name=SV["staff.home_heading"]).wait_for()
    assert await signed_in_staff(world.service) == [staff.karin]


async def test_a_person_not_in_the_organisations_directory_is_refused(
    open_tab: OpenTab, world: Any, staff: Staff
) -> None:
    # "okand" is nobody's staff; Karin is staff of Grannby, not of the region whose IdP vouches.
    tab = await open_tab("okand", "desktop")
    answer = await sign_in(tab, SITHS_REGION, "okand")
    await assert_refused(tab, answer, 403, "oidc.refused_not_staff")
    other = await open_tab("karin", "desktop")
    answer = await sign_in(other, SITHS_REGION, "karin")
    await assert_refused(other, answer, 403, "oidc.refused_not_staff")
    assert [r["reason"] for r in await refusals(world.service)] == ["not_staff", "not_staff"]
    assert await signed_in_staff(world.service) == []


async def test_deactivated_staff_are_refused_whether_matched_by_hsa_id_or_personal_number(
    open_tab: OpenTab, world: Any, staff: Staff
) -> None:
    directory = world.service.app[DIRECTORY]
    await directory.deactivate_as_operator(staff.ulla)
    await directory.deactivate_as_operator(staff.erik)
    tab = await open_tab("ulla", "desktop")
    answer = await sign_in(tab, SITHS_REGION, "ulla")
    await assert_refused(tab, answer, 403, "oidc.refused_not_staff")
    other = await open_tab("erik", "desktop")
    answer = await sign_in(other, MUNICIPAL_IDP, "erik")
    await assert_refused(other, answer, 403, "oidc.refused_not_staff")
    assert [r["reason"] for r in await refusals(world.service)] == ["not_staff", "not_staff"]
    assert await signed_in_staff(world.service) == []


# Attacks --------------------------------------------------------------------------------------


def with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


async def answer_held_back(tab: Tab, button: str, person: str, *, idp: OpenIdProvider) -> str:
    """Sign in at the provider, but keep its answer (the redirect back, with code and state)
    instead of letting the browser follow it: what someone between the browser and the service
    would hold. Browsers follow redirects without asking page scripts, so the provider's steps
    after the login form are taken with the browser's own cookies, one redirect at a time."""
    page = tab.page
    held: list[str] = []
    done = asyncio.Event()

    async def hold(route: Any) -> None:
        try:
            resumed = await route.fetch(max_redirects=0)
            answer = await tab.context.request.get(urljoin(idp.issuer, resumed.headers["location"]), max_redirects=0)
            held.append(urljoin(idp.issuer, answer.headers.get("location", f"/status/{answer.status}")))
            await route.fulfill(status=204)
        finally:
            done.set()

    await page.goto("/staff/login")
    await page.get_by_role("button", name=button).click()
    await page.get_by_role("heading", name="Test identity provider").wait_for()
    await page.get_by_role("radio", name=person, exact=True).check()
    await page.route(lambda url: url.startswith(f"{idp.issuer}/interaction/"), hold)
    await page.get_by_role("button", name="Sign in").click()
    await asyncio.wait_for(done.wait(), WAIT_SECONDS)
    assert len(held) == 1 and urlsplit(held[0]).path == "/staff/oidc/callback", held
    return held[0]


async def deliver(tab: Tab, callback_url: str) -> Answer:
    response = await tab.page.goto(callback_url)
    assert response is not None
    return Answer(callback_url, response.status)


async def test_a_tampered_state_is_refused(open_tab: OpenTab, world: Any, staff: Staff, idp: OpenIdProvider) -> None:
    tab = await open_tab("ulla", "desktop")
    held = await answer_held_back(tab, SITHS_REGION, "ulla", idp=idp)
    answer = await deliver(tab, with_param(held, "state", "A" * 43))
    await assert_refused(tab, answer, 400, "oidc.refused_invalid")
    assert [r["reason"] for r in await refusals(world.service)] == ["state"]
    assert await signed_in_staff(world.service) == []


async def test_a_replayed_answer_is_refused_in_the_same_and_in_another_browser(
    open_tab: OpenTab, world: Any, staff: Staff
) -> None:
    tab = await open_tab("ulla", "desktop")
    answer = await sign_in(tab, SITHS_REGION, "ulla")
    assert answer.status == 303
    assert await signed_in_staff(world.service) == [staff.ulla]

    again = await tab.page.goto(answer.callback_url)
    assert again is not None and again.status == 400
    await tab.page.get_by_role("heading", name=SV["oidc.refused_heading"]).wait_for()
    thief = await open_tab("thief", "desktop")
    stolen = await thief.page.goto(answer.callback_url)
    assert stolen is not None and stolen.status == 400
    assert [r["reason"] for r in await refusals(world.service)] == ["replayed", "replayed"]
    assert await signed_in_staff(world.service) == [staff.ulla]
    async with world.service.app[ENGINE].connect() as connection:
        assert len((await connection.execute(select(oidc_sign_ins))).all()) == 1


async def test_an_answer_carried_to_another_browser_is_refused(
    open_tab: OpenTab, world: Any, staff: Staff, idp: OpenIdProvider
) -> None:
    """The answer is bound to the browser that began: carried to another one before it was
    used, it signs nobody in there."""
    tab = await open_tab("ulla", "desktop")
    held = await answer_held_back(tab, SITHS_REGION, "ulla", idp=idp)
    thief = await open_tab("thief", "desktop")
    answer = await deliver(thief, held)
    await assert_refused(thief, answer, 400, "oidc.refused_invalid")
    assert [r["reason"] for r in await refusals(world.service)] == ["other_browser"]
    assert await signed_in_staff(world.service) == []


async def test_a_changed_nonce_is_refused(open_tab: OpenTab, world: Any, staff: Staff, idp: OpenIdProvider) -> None:
    """The nonce is changed on the browser's way to the provider: the provider then signs a
    token for another nonce than the one this sign-in keeps."""
    tab = await open_tab("ulla", "desktop")

    async def change_nonce(route: Any) -> None:
        leaving = await route.fetch(max_redirects=0)
        assert leaving.status == 303, leaving.status
        headers = {"location": with_param(leaving.headers["location"], "nonce", "B" * 43)}
        if "set-cookie" in leaving.headers:
            headers["set-cookie"] = leaving.headers["set-cookie"]
        await route.fulfill(status=303, headers=headers)

    await tab.page.route(lambda url: urlsplit(url).path.startswith("/staff/oidc/siths-"), change_nonce)
    answer = await sign_in(tab, SITHS_REGION, "ulla")
    await assert_refused(tab, answer, 400, "oidc.refused_invalid")
    assert [r["reason"] for r in await refusals(world.service)] == ["nonce"]
    assert await signed_in_staff(world.service) == []


async def test_an_id_token_signed_with_another_key_is_refused(
    open_tab: OpenTab, world: Any, staff: Staff, idp: OpenIdProvider
) -> None:
    await idp.publish_other_keys()
    tab = await open_tab("ulla", "desktop")
    answer = await sign_in(tab, SITHS_REGION, "ulla")
    await assert_refused(tab, answer, 400, "oidc.refused_invalid")
    assert [r["reason"] for r in await refusals(world.service)] == ["signature"]
    assert await signed_in_staff(world.service) == []


async def test_an_expired_id_token_is_refused(open_tab: OpenTab, world: Any, staff: Staff, idp: OpenIdProvider) -> None:
    """The test IdP's ID tokens live 60 seconds; the answer arrives five minutes later on the
    service's clock (the sign-in itself may take ten)."""
    tab = await open_tab("ulla", "desktop")
    held = await answer_held_back(tab, SITHS_REGION, "ulla", idp=idp)
    world.service.clock.advance(minutes=5)
    answer = await deliver(tab, held)
    await assert_refused(tab, answer, 400, "oidc.refused_expired")
    assert [r["reason"] for r in await refusals(world.service)] == ["expired"]


async def test_a_sign_in_left_too_long_is_refused(
    open_tab: OpenTab, world: Any, staff: Staff, idp: OpenIdProvider
) -> None:
    tab = await open_tab("ulla", "desktop")
    held = await answer_held_back(tab, SITHS_REGION, "ulla", idp=idp)
    world.service.clock.advance(minutes=11)
    answer = await deliver(tab, held)
    await assert_refused(tab, answer, 400, "oidc.refused_expired")
    assert [r["reason"] for r in await refusals(world.service)] == ["expired"]


async def test_the_sign_in_page_needs_its_own_form(world: Any, staff: Staff) -> None:
    """A post from elsewhere (no sign-in cookie, no token) starts nothing and stores nothing."""
    async with world.service.http.post("/staff/oidc/siths-region", data={"csrf": "x" * 43}) as response:
        assert response.status == 403
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(oidc_sign_ins))).all() == []


async def test_the_sign_in_choices_and_refusal_pages_pass_axe(
    browser: Any, world: Any, staff: Staff, idp: OpenIdProvider
) -> None:
    """The pages this adds, as axe-core at WCAG 2.1 AA sees them, on a phone. Each view in a
    browser of its own: the provider remembers who signed in, as a real IdP does."""
    from tests.browser.test_accessibility import AXE, AXE_OPTIONS, RUN_AXE, SIZES, readable

    found: list[str] = []
    for view in ("sign-in", "refused", "console"):
        context = await browser.new_context(base_url=world.service.base_url, **SIZES["phone"])
        try:
            await context.add_init_script(path=str(AXE))
            page = await context.new_page()
            tab = Tab(view, context, Path("."), page)
            if view == "sign-in":
                await page.goto("/staff/login")
                assert await page.get_by_role("button", name=SITHS_REGION).count() == 1
            elif view == "refused":
                assert (await sign_in(tab, SITHS_REGION, "okand")).status == 403
            else:
                assert (await sign_in(tab, SITHS_REGION, "ulla")).status == 303
                meeting = await book(world, hosts=[staff.ulla])
                await page.goto(f"/staff/meetings/{meeting['id']}")
                await page.locator("#hosts li").first.wait_for()
            await page.wait_for_load_state("load")
            violations = await page.evaluate(RUN_AXE, AXE_OPTIONS)
            if violations:
                found.append(readable(view, violations))
        finally:
            await context.close()
    assert not found, "\n".join(found)
