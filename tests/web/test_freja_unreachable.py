"""Freja eID out of reach: the person gets a readable page in their language (503, never 500),
the failed start is audited, and nothing is left pending. The service is configured for a real
Freja (its certificates and pinned signing certificate are the simulator's) at an address where
nothing listens."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from identity.bankid.testpki import ensure_test_pki
from identity.freja import messages as freja_messages
from identity.freja.simulator.signing import ensure_signing_key
from meetsvc.http.appkeys import ENGINE
from meetsvc.storage.tables import audit_log, identifications
from tests.support.service import free_port
from tests.web.test_identification import browser, csrf_of, invite


@pytest.fixture
def service_overrides(keys_dir: Path) -> dict[str, Any]:
    certs = keys_dir.parent / "freja-unreachable"
    pki = ensure_test_pki(certs)
    signing = ensure_signing_key(certs)
    return {
        "freja": {
            "enabled": True,
            "url": f"https://127.0.0.1:{free_port()}",
            "client_cert": str(pki.client_cert),
            "client_key": str(pki.client_key),
            "ca_cert": str(pki.ca_cert),
            "signing_cert": str(signing.certificate_path),
            "request_timeout_seconds": 5.0,
        }
    }


@pytest.mark.parametrize("language", ["sv", "en"])
async def test_freja_out_of_reach_gives_a_readable_page_and_an_audit_entry(world, language):
    link = await invite(world, "198112189876")
    async with browser(world.service) as page:
        page.cookie_jar.update_cookies({"meetsvc_lang": language})
        async with page.post(link.replace(world.service.base_url, "")) as response:
            html = await response.text()
        data = {"csrf": csrf_of(html), "device": "other", "method": "freja"}
        async with page.post("/identify", data=data) as response:
            assert response.status == 503
            assert response.content_type == "text/html"
            assert freja_messages.error_message("transportError", language) in await response.text()
    async with world.service.app[ENGINE].connect() as connection:
        assert (await connection.execute(select(identifications))).first() is None
        rows = (await connection.execute(select(audit_log.c.action, audit_log.c.details))).all()
    failed = [json.loads(row.details) for row in rows if row.action == "identification.start_failed"]
    assert failed == [{"provider": "freja", "error_code": "transportError"}]
